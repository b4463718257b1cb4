/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Files that outlive a daemon's restart: directories made as needed, and
 * JSON documents replaced whole (written aside, synced, renamed over), so a
 * crash leaves the old file or the new one, never half of either; read
 * back, a damaged one is moved aside for a human to look at.
 */
#ifndef WEIR_STATE_FILE_H
#define WEIR_STATE_FILE_H

#include <stdbool.h>
#include <stdint.h>
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

/* How the writes of one state file went, process-wide, for /metrics: a file
 * is known from its first write on, by its name (the path's last
 * component); at most WEIR_STATE_FILES_MAX names are kept.
 */
#define WEIR_STATE_FILES_MAX 8

struct weir_state_file_health {
	char name[64];
	uint64_t failures; /* writes that failed since the process started */
	bool stale;	   /* the last write failed: the file is older than memory */
};

/* Copies what is known of up to max files into out; returns how many. */
size_t weir_state_file_health(struct weir_state_file_health *out, size_t max);

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
