// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The API servers on libmicrohttpd: a daemon per listener (TCP, unix socket),
 * routing to /v1/flows, /v1/status, /metrics and the owner's routes, request
 * bodies, and the bearer token for non-GET calls over TCP.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>
#include <microhttpd.h>
#include "http_priv.h"
#include "log.h"
#include "store.h"

#define HTTP_CONNECTIONS_MAX 128  /* per daemon; each is a thread */
#define HTTP_IDLE_TIMEOUT_S  60	  /* an idle keep-alive connection, or a stalled reader */
#define HTTP_STOP_WAIT_MS    2000 /* for /v1/flows answers to end cleanly at stop */

enum builtin {
	BUILTIN_NONE,
	BUILTIN_FLOWS,
	BUILTIN_STATUS,
	BUILTIN_METRICS,
};

static const struct weir_http_route builtin_routes[] = {
	[BUILTIN_FLOWS] = { .path = "/v1/flows", .methods = "GET" },
	[BUILTIN_STATUS] = { .path = "/v1/status", .methods = "GET" },
	[BUILTIN_METRICS] = { .path = "/metrics", .methods = "GET" },
};

/* One request, kept in libmicrohttpd's per-request pointer. */
struct request {
	const struct weir_http_route *route;
	enum builtin builtin;
	bool answered;	/* a response was queued before the body was read */
	bool too_large; /* the body passed WEIR_HTTP_BODY_MAX_BYTES: discarded, 413 at its end */
	char *body;
	size_t len;
	size_t cap;
};

static enum MHD_Result status_get(struct weir_http_server *s, struct MHD_Connection *c)
{
	json_t *j = s->o.status(s->o.ctx);

	if (!j)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					       "status: out of memory");
	return weir_http_respond_json(c, MHD_HTTP_OK, j);
}

static enum MHD_Result metrics_get(struct weir_http_server *s, struct MHD_Connection *c)
{
	char *text;
	size_t len;
	int rc;

	rc = s->o.metrics(s->o.ctx, &text, &len);
	if (rc)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics: %s",
					       strerror(-rc));
	return weir_http_respond_text(c, MHD_HTTP_OK, WEIR_HTTP_PROMETHEUS_MEDIA, text, len);
}

/* Routing. */

static bool route_matches(const struct weir_http_route *r, const char *url)
{
	if (r->prefix)
		return !strncmp(url, r->path, strlen(r->path));
	return !strcmp(url, r->path);
}

static void route_of(const struct weir_http_server *s, const char *url, struct request *rq)
{
	size_t i;

	rq->route = NULL;
	rq->builtin = BUILTIN_NONE;
	if (s->o.store && !strcmp(url, "/v1/flows"))
		rq->builtin = BUILTIN_FLOWS;
	else if (s->o.status && !strcmp(url, "/v1/status"))
		rq->builtin = BUILTIN_STATUS;
	else if (s->o.metrics && !strcmp(url, "/metrics"))
		rq->builtin = BUILTIN_METRICS;
	if (rq->builtin != BUILTIN_NONE) {
		rq->route = &builtin_routes[rq->builtin];
		return;
	}
	for (i = 0; i < s->o.n_routes; i++) {
		if (route_matches(&s->o.routes[i], url)) {
			rq->route = &s->o.routes[i];
			return;
		}
	}
}

/* Whether method is one of the route's comma-separated methods. */
static bool method_allowed(const struct weir_http_route *r, const char *method)
{
	const char *p = r->methods;
	size_t n = strlen(method);

	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!strncmp(p, method, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* Compares without an early exit, so the time taken says nothing of the token. */
static bool token_equal(const char *given, const char *token)
{
	size_t n = strlen(given), m = strlen(token), i;
	unsigned char diff = n != m;

	for (i = 0; i < m; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < n ? given[i] : 0);
	return !diff;
}

/* Non-GET calls over TCP: 403 without the token, 401 with a wrong one. */
static enum MHD_Result check_token(struct weir_http_listener *l, struct MHD_Connection *c, bool *ok)
{
	const char *token = l->s->o.token;
	const char *auth;

	*ok = false;
	if (!token || !token[0])
		return weir_http_respond_error(
			c, MHD_HTTP_FORBIDDEN,
			"mutating calls over TCP are refused: use the unix socket "
			"(no token is configured)");
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return weir_http_respond_error(
			c, MHD_HTTP_FORBIDDEN,
			"mutating calls over TCP need 'Authorization: Bearer <token>' "
			"or the unix socket");
	if (!token_equal(auth + 7, token))
		return weir_http_respond_error_hdr(c, MHD_HTTP_UNAUTHORIZED,
						   MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer",
						   "wrong bearer token");
	*ok = true;
	return MHD_YES;
}

/* Called once the headers are in: everything that can be refused before the body. */
static enum MHD_Result request_begin(struct weir_http_listener *l, struct MHD_Connection *c,
				     struct request *rq, const char *url, const char *method)
{
	const char *cl;
	enum MHD_Result ret;
	bool ok;

	route_of(l->s, url, rq);
	if (!rq->route) {
		rq->answered = true;
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "unknown path %s", url);
	}
	if (!method_allowed(rq->route, method)) {
		rq->answered = true;
		return weir_http_respond_error_hdr(c, MHD_HTTP_METHOD_NOT_ALLOWED,
						   MHD_HTTP_HEADER_ALLOW, rq->route->methods,
						   "method %s not allowed on %s", method, url);
	}
	if (l->tcp && strcmp(method, "GET") != 0) {
		ret = check_token(l, c, &ok);
		if (!ok) {
			rq->answered = true;
			return ret;
		}
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > WEIR_HTTP_BODY_MAX_BYTES) {
		rq->answered = true;
		return weir_http_respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
					       "request body over %d bytes",
					       WEIR_HTTP_BODY_MAX_BYTES);
	}
	return MHD_YES;
}

/* Collects the body; 0, or -E2BIG past WEIR_HTTP_BODY_MAX_BYTES. */
static int body_append(struct request *rq, const char *data, size_t n)
{
	size_t cap;
	char *p;

	if (n > WEIR_HTTP_BODY_MAX_BYTES - rq->len)
		return -E2BIG;
	if (rq->len + n + 1 > rq->cap) {
		cap = rq->cap ? rq->cap : 4096;
		while (cap < rq->len + n + 1)
			cap *= 2;
		p = realloc(rq->body, cap);
		if (!p)
			return -ENOMEM;
		rq->body = p;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	rq->body[rq->len] = '\0';
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct weir_http_listener *l = cls;
	struct weir_http_server *s = l->s;
	struct request *rq = *con_cls;
	struct weir_http_request req;
	int rc;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return request_begin(l, c, rq, url, method);
	}
	if (*upload_data_size) {
		/* libmicrohttpd takes no response in the middle of a body (one
		 * without Content-Length): read the rest, keep none of it.
		 */
		rc = 0;
		if (!rq->answered && !rq->too_large && rq->route->body)
			rc = body_append(rq, upload_data, *upload_data_size);
		*upload_data_size = 0;
		if (rc == -E2BIG) {
			rq->too_large = true;
			rc = 0;
		}
		return rc ? MHD_NO : MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	if (rq->too_large)
		return weir_http_respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
					       "request body over %d bytes",
					       WEIR_HTTP_BODY_MAX_BYTES);

	switch (rq->builtin) {
	case BUILTIN_FLOWS:
		return weir_http_flows_get(s, c);
	case BUILTIN_STATUS:
		return status_get(s, c);
	case BUILTIN_METRICS:
		return metrics_get(s, c);
	case BUILTIN_NONE:
	default:
		break;
	}
	req = (struct weir_http_request){
		.url = url,
		.method = method,
		.body = rq->len ? rq->body : NULL,
		.len = rq->len,
	};
	return rq->route->handle(s->o.ctx, c, &req);
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!rq)
		return;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("http: %s", msg);
}

static int listener_start(struct weir_http_listener *l, struct weir_http_server *s, bool tcp,
			  int fd)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_POLL | MHD_USE_ERROR_LOG;

	l->s = s;
	l->tcp = tcp;
	l->fd = fd;
	l->d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, request_done, l,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONNECTIONS_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT_S, MHD_OPTION_END);
	if (!l->d) {
		log_err("http: start the %s server failed", tcp ? "TCP" : "unix socket");
		return -EIO;
	}
	l->fd = -1; /* the daemon closes it */
	return 0;
}

static void listener_stop(struct weir_http_listener *l)
{
	if (l->d)
		MHD_stop_daemon(l->d);
	l->d = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static void server_free(struct weir_http_server *s)
{
	listener_stop(&s->tcp);
	listener_stop(&s->unix_sock);
	if (s->socket_bound && s->o.socket_path)
		unlink(s->o.socket_path);
	free((char *)s->o.name);
	free((char *)s->o.listen);
	free((char *)s->o.socket_path);
	free((char *)s->o.token);
	free((char *)s->o.node_name);
	free(s);
}

/* A copy of an optional string: 0, or -ENOMEM. */
static int dup_opt(const char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int weir_http_server_start(const struct weir_http_server_opts *opts, struct weir_http_server **out)
{
	struct weir_http_server *s;
	int fd = -1, err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *opts;
	s->tcp.fd = -1;
	s->unix_sock.fd = -1;
	err = dup_opt(&s->o.name, opts->name ? opts->name : "server");
	err = err ?: dup_opt(&s->o.listen, opts->listen);
	err = err ?: dup_opt(&s->o.socket_path, opts->socket_path);
	err = err ?: dup_opt(&s->o.token, opts->token);
	err = err ?: dup_opt(&s->o.node_name, opts->node_name);
	if (err) {
		server_free(s);
		return err;
	}

	if (s->o.socket_path && s->o.socket_path[0]) {
		err = weir_http_listen_unix(s->o.socket_path, s->o.name, &fd);
		if (err)
			goto err_stop;
		s->socket_bound = true;
		err = listener_start(&s->unix_sock, s, false, fd);
		if (err)
			goto err_stop;
		log_info("http: serving the API on unix socket path=%s", s->o.socket_path);
	}
	if (s->o.listen && s->o.listen[0]) {
		err = weir_http_listen_tcp(s->o.listen, &fd);
		if (err)
			goto err_stop;
		err = listener_start(&s->tcp, s, true, fd);
		if (err)
			goto err_stop;
		log_info("http: serving read endpoints on listen=%s%s", s->o.listen,
			 s->o.token && s->o.token[0] ? " (mutating ones with the token)" : "");
	}
	*out = s;
	return 0;

err_stop:
	server_free(s);
	return err;
}

void weir_http_server_stop(struct weir_http_server *s)
{
	int i;

	if (!s)
		return;
	/* Follow streams wait in the daemons' threads: wake them, so that
	 * stopping the daemons (which joins those threads) returns at once.
	 */
	if (s->o.store)
		weir_store_close(s->o.store);
	/* Stopping a daemon shuts its connections' sockets at once: a woken
	 * stream must first write its last chunk (the chunked body's "0"
	 * terminator), or its client sees a truncated answer.
	 */
	for (i = 0; i < HTTP_STOP_WAIT_MS && __atomic_load_n(&s->streams, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	server_free(s);
}
