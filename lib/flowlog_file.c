// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow log's file: lines through a buffer, size-based rotation as
 * logrotate names it (FILE -> FILE.1 -> ... -> FILE.N), failed writes
 * counted and dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "flowlog.h"
#include "log.h"

struct weir_logfile {
	char *path; /* NULL: stdout */
	int fd;
	uint64_t size; /* of the file, written */
	uint64_t max_size;
	uint32_t max_files;
	char *buf;
	size_t len;
	struct weir_logfile_stats st;
};

static int file_open(struct weir_logfile *lf)
{
	struct stat sb;

	lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (lf->fd < 0)
		return -errno;
	lf->size = fstat(lf->fd, &sb) ? 0 : (uint64_t)sb.st_size;
	return 0;
}

int weir_logfile_open(struct weir_logfile **out, const char *path, uint64_t max_size_bytes,
		      uint32_t max_files)
{
	struct weir_logfile *lf = calloc(1, sizeof(*lf));
	int err = -ENOMEM;

	if (!lf)
		return -ENOMEM;
	lf->fd = -1;
	lf->max_size = max_size_bytes;
	lf->max_files = max_files;
	lf->buf = malloc(WEIR_FLOWLOG_BUFFER_BYTES);
	if (!lf->buf)
		goto err;
	if (!strcmp(path, "-") || !strcmp(path, "stdout")) {
		lf->fd = STDOUT_FILENO;
		lf->max_size = 0;
	} else {
		lf->path = strdup(path);
		if (!lf->path)
			goto err;
		err = file_open(lf);
		if (err)
			goto err; /* the caller says which flow log */
	}
	*out = lf;
	return 0;

err:
	free(lf->buf);
	free(lf->path);
	free(lf);
	return err;
}

void weir_logfile_close(struct weir_logfile *lf)
{
	if (!lf)
		return;
	weir_logfile_flush(lf);
	if (lf->path && lf->fd >= 0)
		close(lf->fd);
	free(lf->buf);
	free(lf->path);
	free(lf);
}

int weir_logfile_flush(struct weir_logfile *lf)
{
	size_t off = 0;
	ssize_t n;
	int err = 0;

	if (!lf->len)
		return 0;
	if (lf->fd < 0 && lf->path)
		err = file_open(lf);
	while (!err && off < lf->len) {
		n = write(lf->fd, lf->buf + off, lf->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
		lf->size += (uint64_t)n;
		lf->st.bytes += (uint64_t)n;
	}
	if (err) {
		/* the lines are lost: a full or failing disk must not grow memory */
		if (!lf->st.write_errors++)
			log_warn("flow log: write path=%s: %s (lines dropped, counted)",
				 lf->path ? lf->path : "stdout", strerror(-err));
	}
	lf->len = 0;
	return err;
}

/* FILE.(N-1) -> FILE.N (replacing it) ... FILE -> FILE.1, then a new FILE. */
static int rotate(struct weir_logfile *lf)
{
	char from[PATH_MAX], to[PATH_MAX];
	uint32_t i;
	int err;

	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
	for (i = lf->max_files; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", lf->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", lf->path, i);
		if (rename(from, to) && errno != ENOENT)
			log_warn("flow log: rotate %s -> %s: %s", from, to, strerror(errno));
	}
	snprintf(to, sizeof(to), "%s.1", lf->path);
	if (rename(lf->path, to) && errno != ENOENT)
		log_warn("flow log: rotate %s -> %s: %s", lf->path, to, strerror(errno));
	lf->st.rotations++;
	err = file_open(lf);
	if (err)
		log_warn("flow log: reopen path=%s: %s", lf->path, strerror(-err));
	return err;
}

int weir_logfile_write(struct weir_logfile *lf, const char *line, size_t len)
{
	int err = 0;

	if (lf->max_size && lf->size + lf->len + len > lf->max_size && lf->size + lf->len > 0) {
		err = weir_logfile_flush(lf);
		rotate(lf);
	}
	if (lf->len + len > WEIR_FLOWLOG_BUFFER_BYTES)
		err = weir_logfile_flush(lf);
	if (len > WEIR_FLOWLOG_BUFFER_BYTES) {
		/* a line longer than the buffer goes out on its own, in pieces */
		while (len) {
			size_t n =
				len > WEIR_FLOWLOG_BUFFER_BYTES ? WEIR_FLOWLOG_BUFFER_BYTES : len;

			memcpy(lf->buf, line, n);
			lf->len = n;
			err = weir_logfile_flush(lf);
			line += n;
			len -= n;
		}
		return err;
	}
	memcpy(lf->buf + lf->len, line, len);
	lf->len += len;
	return err;
}

void weir_logfile_stats(const struct weir_logfile *lf, struct weir_logfile_stats *st)
{
	*st = lf->st;
}
