// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-cni's calls to the agent: HTTP/1.0 over the agent's unix socket, one
 * request per connection, every step bounded by one deadline (timeout_ms),
 * so a stuck agent never hangs the container runtime. A client of its own
 * rather than libcurl: weir-cni runs on the host, copied there from the
 * image, so it is linked statically and needs no library the host may lack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "cni.h"

#define REPLY_MAX_BYTES (16 << 20) /* a GET /v1/endpoints of a very full node */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_unix(const char *path, long long deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sa);
	int fd, err = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		/* A full backlog: wait for room, then see how it went. */
		if (errno != EAGAIN && errno != EINPROGRESS) {
			err = -errno;
		} else {
			err = wait_fd(fd, POLLOUT, deadline);
			if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
				err = errno;
			err = err > 0 ? -err : err;
		}
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	ssize_t n;
	int err;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			err = wait_fd(fd, POLLOUT, deadline);
			if (err)
				return err;
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads to end of stream (HTTP/1.0: the server closes after the answer). */
static int recv_all(int fd, char **out, size_t *out_len, long long deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1), *p;
	ssize_t n;
	int err;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= REPLY_MAX_BYTES) {
				free(buf);
				return -E2BIG;
			}
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			err = wait_fd(fd, POLLIN, deadline);
			if (err) {
				free(buf);
				return err;
			}
			continue;
		}
		if (n < 0) {
			err = -errno;
			free(buf);
			return err;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* "HTTP/1.x NNN ...\r\n...\r\n\r\nbody" into reply. */
static int parse_reply(char *raw, size_t len, struct weir_cni_reply *reply)
{
	char *end = strstr(raw, "\r\n\r\n"), *num_end;
	long status;

	if (strncmp(raw, "HTTP/1.", 7) != 0 || !end || raw[8] != ' ')
		return -EPROTO;
	status = strtol(raw + 9, &num_end, 10);
	if (num_end != raw + 12 || status < 100 || status > 599)
		return -EPROTO;
	reply->status = status;
	reply->len = len - (size_t)(end + 4 - raw);
	reply->body = malloc(reply->len + 1);
	if (!reply->body)
		return -ENOMEM;
	memcpy(reply->body, end + 4, reply->len);
	reply->body[reply->len] = '\0';
	return 0;
}

int weir_cni_agent_call(const struct weir_cni_conf *conf, const char *method, const char *path,
			const char *body, struct weir_cni_reply *reply, struct weir_cni_err *e)
{
	long long deadline = now_ms() + conf->timeout_ms;
	size_t body_len = body ? strlen(body) : 0, raw_len = 0;
	char *req = NULL, *raw = NULL;
	const char *hint = "";
	int fd, err, n;

	memset(reply, 0, sizeof(*reply));
	fd = connect_unix(conf->socket_path, deadline);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	n = asprintf(&req,
		     "%s %s HTTP/1.0\r\nHost: agent\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		     method, path, body_len, body ? body : "");
	err = n < 0 ? -ENOMEM : send_all(fd, req, (size_t)n, deadline);
	free(req);
	if (!err)
		err = recv_all(fd, &raw, &raw_len, deadline);
	close(fd);
	if (!err && raw) {
		err = parse_reply(raw, raw_len, reply);
		free(raw);
	}
	if (!err)
		return 0;
fail:
	weir_cni_reply_release(reply);
	if (err == -ENOENT || err == -ECONNREFUSED)
		hint = " (is weir-agent running?)";
	else if (err == -ETIMEDOUT)
		hint = " (is the agent stuck?)";
	if (err == -ETIMEDOUT)
		return weir_cni_fail(e, WEIR_CNI_E_TRY_AGAIN,
				     "weir-agent at %s: no answer within %u ms%s",
				     conf->socket_path, conf->timeout_ms, hint);
	return weir_cni_fail(e, WEIR_CNI_E_TRY_AGAIN, "weir-agent at %s: %s%s", conf->socket_path,
			     err == -EPROTO ? "not an HTTP answer" : strerror(-err), hint);
}

void weir_cni_reply_release(struct weir_cni_reply *reply)
{
	free(reply->body);
	memset(reply, 0, sizeof(*reply));
}

const char *weir_cni_reply_error(const struct weir_cni_reply *reply)
{
	static char msg[WEIR_CNI_MSG_LEN];
	json_t *j;

	if (!reply->body)
		return "(no body)";
	j = json_loads(reply->body, 0, NULL);
	snprintf(msg, sizeof(msg), "%s",
		 json_string_value(json_object_get(j, "error")) ?: reply->body);
	json_decref(j);
	return msg;
}
