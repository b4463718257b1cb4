// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's HTTP API on libmicrohttpd: one daemon on TCP (read endpoints,
 * mutating ones only with the bearer token), one on the unix socket (all).
 *
 * Threads: each daemon has a listening thread and a thread per connection,
 * so a follow stream, which blocks its connection's thread while it waits
 * for records, never holds up another request.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <jansson.h>
#include <microhttpd.h>
#include "agent.h"
#include "endpoints.h"
#include "http_priv.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

#define HTTP_CONNECTIONS_MAX 128 /* per daemon; each is a thread */
#define HTTP_IDLE_TIMEOUT_S  60	 /* an idle keep-alive connection, or a stalled reader */
#define PROMETHEUS_MEDIA     "text/plain; version=0.0.4; charset=utf-8"
#define ERR_LEN		     256

enum route {
	ROUTE_NONE,
	ROUTE_FLOWS,
	ROUTE_STATUS,
	ROUTE_ENDPOINTS,
	ROUTE_ENDPOINT, /* /v1/endpoints/NAMESPACE/POD */
	ROUTE_METRICS,
};

/* One request, kept in libmicrohttpd's per-request pointer. */
struct request {
	enum route route;
	bool answered;	/* a response was queued before the body was read */
	bool too_large; /* the body passed WEIR_HTTP_BODY_MAX_BYTES: discarded, 413 at its end */
	char *body;
	size_t len;
	size_t cap;
};

/* Responses. */

enum MHD_Result weir_http_queue(struct MHD_Connection *c, unsigned int status,
				struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct MHD_Response *json_response(json_t *j)
{
	struct MHD_Response *resp;
	char *text, *body;
	size_t len;

	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!text)
		return NULL;
	/* A newline at the end, for people reading with curl. */
	len = strlen(text);
	body = realloc(text, len + 2);
	if (!body) {
		free(text);
		return NULL;
	}
	body[len++] = '\n';
	body[len] = '\0';
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, WEIR_HTTP_JSON_MEDIA);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return resp;
}

enum MHD_Result weir_http_respond_json(struct MHD_Connection *c, unsigned int status, json_t *j)
{
	struct MHD_Response *resp = json_response(j);

	json_decref(j);
	return weir_http_queue(c, status, resp);
}

enum MHD_Result weir_http_respond_error_hdr(struct MHD_Connection *c, unsigned int status,
					    const char *hdr, const char *hdr_value, const char *fmt,
					    ...)
{
	struct MHD_Response *resp;
	char msg[512], *p;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote what the client sent, which need not be UTF-8 (JSON
	 * strings must be): keep printable ASCII only.
	 */
	for (p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	j = json_pack("{s:s}", "error", msg);
	resp = json_response(j);
	json_decref(j);
	if (resp && hdr)
		MHD_add_response_header(resp, hdr, hdr_value);
	return weir_http_queue(c, status, resp);
}

static enum MHD_Result respond_empty(struct MHD_Connection *c, unsigned int status)
{
	return weir_http_queue(
		c, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT));
}

/* GET /v1/status: Hubble's ServerStatus fields, then Weir's. */
static enum MHD_Result status_get(struct weir_http *h, struct MHD_Connection *c)
{
	struct weir_agent *a = h->a;
	struct weir_agent_status st;
	struct weir_store_stats ss;
	json_t *j;

	weir_agent_status(a, &st);
	weir_store_stats(a->store, &ss);
	j = json_pack("{s:I,s:I,s:I,s:I,s:s,s:s}", "num_flows", (json_int_t)st.num_flows,
		      "max_flows", (json_int_t)st.max_flows, "seen_flows",
		      (json_int_t)st.seen_flows, "uptime_ns", (json_int_t)st.uptime_ns, "version",
		      WEIR_VERSION, "node_name", a->cfg.node_name ? a->cfg.node_name : "");
	if (!j)
		return MHD_NO;
	json_object_set_new(j, "lost_events", json_integer((json_int_t)st.lost_events));
	json_object_set_new(j, "follower_lost", json_integer((json_int_t)st.follower_lost));
	json_object_set_new(j, "follow_streams", json_integer((json_int_t)ss.followers));
	json_object_set_new(j, "flow_table_entries",
			    json_integer((json_int_t)st.flow_table_entries));
	json_object_set_new(j, "flow_table_max", json_integer((json_int_t)st.flow_table_max));
	json_object_set_new(j, "flow_evictions", json_integer((json_int_t)st.flow_evictions));
	json_object_set_new(j, "flow_insert_failed",
			    json_integer((json_int_t)st.flow_insert_failed));
	json_object_set_new(j, "active_flows", json_integer((json_int_t)st.active_flows));
	json_object_set_new(j, "endpoints", json_integer((json_int_t)st.endpoints));
	json_object_set_new(j, "rss_bytes", json_integer((json_int_t)st.rss_bytes));
	return weir_http_respond_json(c, MHD_HTTP_OK, j);
}

static enum MHD_Result endpoints_get(struct weir_http *h, struct MHD_Connection *c)
{
	json_t *j = weir_endpoints_to_json(h->a->endpoints);

	if (!j)
		return MHD_NO;
	return weir_http_respond_json(c, MHD_HTTP_OK, j);
}

static enum MHD_Result endpoints_post(struct weir_http *h, struct MHD_Connection *c,
				      struct request *rq)
{
	char err[ERR_LEN] = "";
	json_error_t jerr;
	json_t *doc;
	int rc;

	if (!rq->len)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "empty body: POST an endpoint document");
	doc = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "bad JSON at line %d column %d: %s", jerr.line,
					       jerr.column, jerr.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "bad endpoint document: expected a JSON object");
	}
	rc = weir_endpoints_register(h->a->endpoints, doc, err, sizeof(err));
	if (rc == -EINVAL) {
		json_decref(doc);
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "bad endpoint document: %s",
					       err[0] ? err : "invalid");
	}
	if (rc) {
		json_decref(doc);
		log_warn("http: register endpoint: %s", strerror(-rc));
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					       "register endpoint: %s", strerror(-rc));
	}
	return weir_http_respond_json(c, MHD_HTTP_CREATED, doc);
}

/* /v1/endpoints/NAMESPACE/POD: both parts non-empty, nothing after POD. */
static bool endpoint_path(const char *url, char *ns, char *pod, size_t len)
{
	const char *p = url + strlen("/v1/endpoints/"), *slash = strchr(p, '/');
	size_t ns_len;

	if (!slash || slash == p || !slash[1] || strchr(slash + 1, '/'))
		return false;
	ns_len = (size_t)(slash - p);
	if (ns_len >= len || strlen(slash + 1) >= len)
		return false;
	memcpy(ns, p, ns_len);
	ns[ns_len] = '\0';
	snprintf(pod, len, "%s", slash + 1);
	return true;
}

static enum MHD_Result endpoint_delete(struct weir_http *h, struct MHD_Connection *c,
				       const char *url)
{
	char ns[256], pod[256];
	int rc;

	if (!endpoint_path(url, ns, pod, sizeof(ns)))
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "unknown path %s", url);
	rc = weir_endpoints_unregister(h->a->endpoints, ns, pod);
	if (rc == -ENOENT)
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND,
					       "endpoint %s/%s is not registered", ns, pod);
	if (rc)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					       "unregister %s/%s: %s", ns, pod, strerror(-rc));
	return respond_empty(c, MHD_HTTP_NO_CONTENT);
}

static enum MHD_Result metrics_get(struct weir_http *h, struct MHD_Connection *c)
{
	struct MHD_Response *resp;
	char *text;
	size_t len;
	int rc;

	rc = weir_metrics_render(h->a->metrics, h->a, &text, &len);
	if (rc)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics: %s",
					       strerror(-rc));
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, PROMETHEUS_MEDIA);
	return weir_http_queue(c, MHD_HTTP_OK, resp);
}

/* Routing. */

static enum route route_of(const char *url)
{
	if (!strcmp(url, "/v1/flows"))
		return ROUTE_FLOWS;
	if (!strcmp(url, "/v1/status"))
		return ROUTE_STATUS;
	if (!strcmp(url, "/v1/endpoints"))
		return ROUTE_ENDPOINTS;
	if (!strncmp(url, "/v1/endpoints/", strlen("/v1/endpoints/")))
		return ROUTE_ENDPOINT;
	if (!strcmp(url, "/metrics"))
		return ROUTE_METRICS;
	return ROUTE_NONE;
}

/* The methods a route takes, for 405's Allow header. */
static const char *route_allow(enum route r)
{
	switch (r) {
	case ROUTE_ENDPOINTS:
		return "GET, POST";
	case ROUTE_ENDPOINT:
		return "DELETE";
	default:
		return "GET";
	}
}

static bool method_allowed(enum route r, const char *method)
{
	switch (r) {
	case ROUTE_ENDPOINTS:
		return !strcmp(method, "GET") || !strcmp(method, "POST");
	case ROUTE_ENDPOINT:
		return !strcmp(method, "DELETE");
	default:
		return !strcmp(method, "GET");
	}
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

/* Mutating calls over TCP: 403 without the token, 401 with a wrong one. */
static enum MHD_Result check_token(struct weir_http_server *srv, struct MHD_Connection *c, bool *ok)
{
	const char *token = srv->h->a->cfg.token;
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
static enum MHD_Result request_begin(struct weir_http_server *srv, struct MHD_Connection *c,
				     struct request *rq, const char *url, const char *method)
{
	const char *cl;
	enum MHD_Result ret;
	bool ok;

	rq->route = route_of(url);
	if (rq->route == ROUTE_NONE) {
		rq->answered = true;
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "unknown path %s", url);
	}
	if (!method_allowed(rq->route, method)) {
		rq->answered = true;
		return weir_http_respond_error_hdr(c, MHD_HTTP_METHOD_NOT_ALLOWED,
						   MHD_HTTP_HEADER_ALLOW, route_allow(rq->route),
						   "method %s not allowed on %s", method, url);
	}
	if (srv->tcp && strcmp(method, "GET") != 0) {
		ret = check_token(srv, c, &ok);
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
	struct weir_http_server *srv = cls;
	struct weir_http *h = srv->h;
	struct request *rq = *con_cls;
	int rc;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return request_begin(srv, c, rq, url, method);
	}
	if (*upload_data_size) {
		/* libmicrohttpd takes no response in the middle of a body (one
		 * without Content-Length): read the rest, keep none of it.
		 */
		rc = 0;
		if (!rq->answered && !rq->too_large && rq->route == ROUTE_ENDPOINTS)
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

	switch (rq->route) {
	case ROUTE_FLOWS:
		return weir_http_flows_get(h, c);
	case ROUTE_STATUS:
		return status_get(h, c);
	case ROUTE_ENDPOINTS:
		if (!strcmp(method, "POST"))
			return endpoints_post(h, c, rq);
		return endpoints_get(h, c);
	case ROUTE_ENDPOINT:
		return endpoint_delete(h, c, url);
	case ROUTE_METRICS:
		return metrics_get(h, c);
	default:
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "unknown path %s", url);
	}
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

/* Listening sockets. */

/* "host:port", "[v6]:port" or ":port" (every address). */
static int tcp_listen(const char *listen_addr, int *out)
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

static int mkdir_parents(const char *path)
{
	char dir[PATH_MAX];
	char *p;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket file nobody answers on is left from an earlier run: remove it.
 * One that answers belongs to a running agent; anything else is not ours.
 */
static int unix_clear_stale(const char *path, const struct sockaddr_un *sa)
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
		log_err("http: another process serves %s (is an agent running?)", path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT)
		return -errno;
	log_info("http: removed stale socket path=%s", path);
	return 0;
}

static int unix_listen(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("http: socket path too long (max %zu bytes): %s", sizeof(sa.sun_path) - 1,
			path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	err = mkdir_parents(path);
	if (err) {
		log_err("http: create the directory of %s: %s", path, strerror(-err));
		return err;
	}
	err = unix_clear_stale(path, &sa);
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

static int server_start(struct weir_http_server *srv, struct weir_http *h, bool tcp, int fd)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_POLL | MHD_USE_ERROR_LOG;

	srv->h = h;
	srv->tcp = tcp;
	srv->fd = fd;
	srv->d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONNECTIONS_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT_S, MHD_OPTION_END);
	if (!srv->d) {
		log_err("http: start the %s server failed", tcp ? "TCP" : "unix socket");
		return -EIO;
	}
	srv->fd = -1; /* the daemon closes it */
	return 0;
}

static void server_stop(struct weir_http_server *srv)
{
	if (srv->d)
		MHD_stop_daemon(srv->d);
	srv->d = NULL;
	if (srv->fd >= 0)
		close(srv->fd);
	srv->fd = -1;
}

static void http_free(struct weir_http *h)
{
	server_stop(&h->tcp);
	server_stop(&h->unix_sock);
	if (h->socket_path)
		unlink(h->socket_path);
	free(h->socket_path);
	free(h);
}

int weir_http_start(struct weir_agent *a, struct weir_http **out)
{
	const struct weir_agent_config *cfg = &a->cfg;
	struct weir_http *h;
	int fd = -1, err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->a = a;
	h->tcp.fd = -1;
	h->unix_sock.fd = -1;

	if (cfg->socket_path && cfg->socket_path[0]) {
		err = unix_listen(cfg->socket_path, &fd);
		if (err)
			goto err_stop;
		h->socket_path = strdup(cfg->socket_path);
		if (!h->socket_path) {
			close(fd);
			unlink(cfg->socket_path);
			err = -ENOMEM;
			goto err_stop;
		}
		err = server_start(&h->unix_sock, h, false, fd);
		if (err)
			goto err_stop;
		log_info("http: serving the API on unix socket path=%s", cfg->socket_path);
	}
	if (cfg->listen && cfg->listen[0]) {
		err = tcp_listen(cfg->listen, &fd);
		if (err)
			goto err_stop;
		err = server_start(&h->tcp, h, true, fd);
		if (err)
			goto err_stop;
		log_info("http: serving read endpoints on listen=%s%s", cfg->listen,
			 cfg->token && cfg->token[0] ? " (mutating ones with the token)" : "");
	}
	*out = h;
	return 0;

err_stop:
	http_free(h);
	return err;
}

void weir_http_stop(struct weir_http *h)
{
	if (!h)
		return;
	/* Follow streams wait in the daemons' threads: wake them, so that
	 * stopping the daemons (which joins those threads) returns at once.
	 */
	if (h->a->store)
		weir_store_close(h->a->store);
	http_free(h);
}
