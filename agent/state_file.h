/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Files that outlive a restart of the agent (--state-dir): a JSON document
 * written aside (PATH.tmp), fsynced, renamed over PATH and the directory
 * fsynced, so a crash or a power cut leaves the old file or the new one,
 * never a mix; and read back, a damaged file moved aside to PATH.bad.
 */
#ifndef WEIR_AGENT_STATE_FILE_H
#define WEIR_AGENT_STATE_FILE_H

#include <stddef.h>
#include <jansson.h>

#define WEIR_STATE_FILE_BAD_SUFFIX ".bad"

/* Replaces path with root, creating its directory (0700) if needed. The
 * caller writes one path from one thread at a time. 0 or -errno.
 */
int weir_state_file_write(const char *path, const json_t *root);

/* The document in path into *root: 0, -ENOENT when there is no file, or
 * -errno / -EINVAL (not JSON) with what is wrong in err.
 */
int weir_state_file_read(const char *path, json_t **root, char *err, size_t err_len);

/* Moves a damaged path aside to path.bad, replacing an earlier one, so it
 * can be looked at while the agent carries on without it. 0 or -errno.
 */
int weir_state_file_set_aside(const char *path);

#endif /* WEIR_AGENT_STATE_FILE_H */
