// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "state_file.h"

int weir_mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (i = 1; path[i]; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, mode) && errno != EEXIST)
			return -errno;
		path[i] = '/';
	}
	if (!mkdir(path, mode))
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* there already: fine if it is a directory */
	if (stat(path, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int weir_mkdir_parents(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return weir_mkdir_p(dir, mode);
}

/* fsync of path's directory, so the rename itself is durable. */
static int dir_sync(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, err = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

static struct {
	pthread_mutex_t lock;
	size_t n;
	struct weir_state_file_health files[WEIR_STATE_FILES_MAX];
} health = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Notes a write's outcome (err 0 or -errno) under the path's last component. */
static void health_note(const char *path, int err)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	struct weir_state_file_health *h = NULL;
	size_t i;

	pthread_mutex_lock(&health.lock);
	for (i = 0; i < health.n && !h; i++)
		if (!strcmp(health.files[i].name, name))
			h = &health.files[i];
	if (!h && health.n < WEIR_STATE_FILES_MAX) {
		h = &health.files[health.n++];
		snprintf(h->name, sizeof(h->name), "%s", name);
	}
	if (h) {
		h->failures += err ? 1 : 0;
		h->stale = err != 0;
	}
	pthread_mutex_unlock(&health.lock);
}

size_t weir_state_file_health(struct weir_state_file_health *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&health.lock);
	n = health.n < max ? health.n : max;
	memcpy(out, health.files, n * sizeof(*out));
	pthread_mutex_unlock(&health.lock);
	return n;
}

static int write_whole(const char *path, const json_t *root, size_t flags)
{
	char tmp[PATH_MAX];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	err = weir_mkdir_parents(path, 0700);
	if (err)
		return err;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (json_dumpfd(root, fd, flags))
		err = errno ? -errno : -EIO;
	else if (write(fd, "\n", 1) != 1 || fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return dir_sync(path);
}

int weir_state_file_write(const char *path, const json_t *root, size_t flags)
{
	int err = write_whole(path, root, flags);

	health_note(path, err);
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
