// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Listening sockets for the API servers: TCP, and a unix socket whose stale
 * file from an earlier run is removed.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "http_priv.h"
#include "state_file.h"
#include "log.h"

int weir_http_listen_tcp(const char *listen_addr, int *out)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL, *ai;
	const char *addr = listen_addr, *port, *h = NULL;
	char host[256];
	int fd = -1, one = 1, err, gai;
	size_t n;

	if (listen_addr[0] == '[') {
		port = strstr(listen_addr, "]:");
		n = port ? (size_t)(port - listen_addr - 1) : 0;
		if (port)
			port += 2;
		listen_addr++;
	} else {
		port = strrchr(listen_addr, ':');
		n = port ? (size_t)(port - listen_addr) : 0;
		if (port)
			port++;
	}
	if (!port || !port[0] || n >= sizeof(host)) {
		log_err("http: bad listen address '%s': want host:port", addr);
		return -EINVAL;
	}
	memcpy(host, listen_addr, n);
	host[n] = '\0';
	if (n)
		h = host;
	gai = getaddrinfo(h, port, &hints, &res);
	if (gai) {
		log_err("http: listen address %s:%s: %s", host, port, gai_strerror(gai));
		return -EINVAL;
	}
	err = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 64))
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_err("http: listen on %s:%s: %s", host, port, strerror(-err));
		return err;
	}
	*out = fd;
	return 0;
}

/* A socket file nobody answers on is left from an earlier run: remove it.
 * One that answers belongs to a running server; anything else is not ours.
 */
static int unix_clear_stale(const char *path, const char *name, const struct sockaddr_un *sa)
{
	struct stat sb;
	int fd, err;

	if (lstat(path, &sb))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(sb.st_mode)) {
		log_err("http: %s exists and is not a socket; not removing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (!err) {
		log_err("http: another process serves %s (is another %s running?)", path, name);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT)
		return -errno;
	log_info("http: removed stale socket path=%s", path);
	return 0;
}

int weir_http_listen_unix(const char *path, const char *name, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("http: socket path too long (max %zu bytes): %s", sizeof(sa.sun_path) - 1,
			path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	err = weir_mkdir_parents(path, 0755);
	if (err) {
		log_err("http: create the directory of %s: %s", path, strerror(-err));
		return err;
	}
	err = unix_clear_stale(path, name, &sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		log_err("http: bind %s: %s", path, strerror(-err));
		goto err_close;
	}
	if (chmod(path, 0660) || listen(fd, 64)) {
		err = -errno;
		log_err("http: listen on %s: %s", path, strerror(-err));
		unlink(path);
		goto err_close;
	}
	*out = fd;
	return 0;

err_close:
	close(fd);
	return err;
}
