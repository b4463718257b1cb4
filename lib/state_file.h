/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Files that outlive a daemon's restart: directories made as needed, and
 * JSON documents replaced whole (written aside, synced, renamed over), so a
 * crash leaves the old file or the new one, never half of either; read
 * back, a damaged one is moved aside for a human to look at.
 */
#ifndef WEIR_STATE_FILE_H
#define WEIR_STATE_FILE_H

#include <sys/types.h>
#include <jansson.h>

/* mkdir -p dir with mode for what it makes. 0 or -errno. */
int weir_mkdir_p(const char *dir, mode_t mode);

/* mkdir -p of path's directory (mode), if it has one. 0 or -errno. */
int weir_mkdir_parents(const char *path, mode_t mode);

/* Replaces path with root dumped with jansson's flags: its directory made
 * (0700), the text written to path.tmp, fsync'ed, renamed over path, and the
 * directory fsync'ed. 0 or -errno; on failure path is untouched.
 */
int weir_state_file_write(const char *path, const json_t *root, size_t flags);

#define WEIR_STATE_FILE_BAD_SUFFIX ".bad"

/* The document in path into *root: 0, -ENOENT when there is no file, or
 * -errno / -EINVAL (not JSON) with what is wrong in err.
 */
int weir_state_file_read(const char *path, json_t **root, char *err, size_t err_len);

/* Moves a damaged path aside to path.bad, replacing an earlier one, so it
 * can be looked at while the daemon carries on without it. 0 or -errno.
 */
int weir_state_file_set_aside(const char *path);

#endif /* WEIR_STATE_FILE_H */
