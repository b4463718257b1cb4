// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* State files: write aside, fsync, rename, fsync the directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "state_file.h"

/* The directory part of path into dir ("." when there is none). */
static int dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		snprintf(dir, len, ".");
		return 0;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t i;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (i = 1; path[i]; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		path[i] = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is only durable once the directory is on disk too. */
static int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int weir_state_file_write(const char *path, const json_t *root)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	char *text = NULL;
	int fd = -1, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	err = dir_of(path, dir, sizeof(dir));
	err = err ?: mkdir_p(dir);
	if (err)
		return err;
	text = json_dumps(root, JSON_INDENT(1));
	if (!text)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, text, strlen(text));
	err = err ?: write_all(fd, "\n", 1);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	else
		err = dir_sync(dir);
out:
	free(text);
	return err;
}

int weir_state_file_read(const char *path, json_t **root, char *err, size_t err_len)
{
	json_error_t jerr;
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(-ret));
		return ret;
	}
	*root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!*root) {
		snprintf(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	return 0;
}

int weir_state_file_set_aside(const char *path)
{
	char bad[PATH_MAX];

	if (snprintf(bad, sizeof(bad), "%s" WEIR_STATE_FILE_BAD_SUFFIX, path) >= (int)sizeof(bad))
		return -ENAMETOOLONG;
	return rename(path, bad) ? -errno : 0;
}
