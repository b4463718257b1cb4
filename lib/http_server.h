/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The HTTP read API that agent and relay share, on libmicrohttpd: a server on
 * TCP and/or a unix socket that answers
 *   GET /v1/flows     from a flow store: a JSON array, or ?follow=1 an NDJSON stream
 *   GET /v1/status    the owner's status object (a callback)
 *   GET /metrics      the owner's Prometheus text (a callback)
 * plus the owner's own routes. Bad requests get a 4xx with {"error": "..."}.
 * Over TCP, methods other than GET need the bearer token; the unix socket
 * takes everything (file permissions guard it).
 *
 * Threads: each listener has a thread, and each connection its own, so a
 * follow stream, which waits in its thread for records, never holds up
 * another request.
 */
#ifndef WEIR_HTTP_SERVER_H
#define WEIR_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <microhttpd.h>

#define WEIR_HTTP_JSON_MEDIA	   "application/json"
#define WEIR_HTTP_PROMETHEUS_MEDIA "text/plain; version=0.0.4; charset=utf-8"
#define WEIR_HTTP_BODY_MAX_BYTES   (1 << 20) /* larger request bodies get 413 */

struct weir_store;
struct weir_follower;
struct weir_http_server;
struct weir_flow_request;
struct weir_flow_record;

/* What a route's handler gets: the body is there when the route asked for it. */
struct weir_http_request {
	const char *url;
	const char *method;
	const char *body; /* NUL-terminated, or NULL when empty */
	size_t len;
};

struct weir_http_route {
	const char *path;    /* the whole path, or with prefix the start of it */
	const char *methods; /* "GET", "GET, POST": checked, and the 405's Allow header */
	enum MHD_Result (*handle)(void *ctx, struct MHD_Connection *c,
				  const struct weir_http_request *rq);
	bool prefix;
	bool body; /* collect the request body (up to WEIR_HTTP_BODY_MAX_BYTES) */
};

struct weir_http_server_opts {
	const char *name;	 /* "agent", "relay": in messages */
	const char *listen;	 /* TCP "host:port", "[v6]:port" or ":port"; NULL or "" for none */
	const char *socket_path; /* unix socket; NULL or "" for none */
	const char *token;	 /* bearer token for non-GET calls over TCP; NULL: refused */
	/* GET /v1/flows */
	struct weir_store *store;
	size_t follow_queue; /* records a follow stream may fall behind (0: the store's default) */
	const char *node_name; /* in the lost_events lines of follow streams */
	/* A new follow stream, before its first line: the owner may queue notes
	 * to it (weir_follower_notify). NULL: nothing.
	 */
	void (*follow_open)(void *ctx, struct weir_follower *f);
	/* Optional: the store's answer to a request (oldest first, a reference
	 * each, an array to free()), which the owner may replace with a fuller
	 * one in the same form (the relay adds its history's older records).
	 * 0 or -errno (500). NULL: the store's answer as it is.
	 */
	int (*flows_more)(void *ctx, const struct weir_flow_request *req,
			  struct weir_flow_record ***recs, size_t *n);
	/* GET /v1/status: a new JSON object, or NULL (500). */
	json_t *(*status)(void *ctx);
	/* GET /metrics: 0 and malloc'ed text, or -errno (500). */
	int (*metrics)(void *ctx, char **text, size_t *len);
	/* Tried in order after the three above. */
	const struct weir_http_route *routes;
	size_t n_routes;
	void *ctx;
};

/* Listens and serves; the strings in opts are copied, the store is borrowed. */
int weir_http_server_start(const struct weir_http_server_opts *opts, struct weir_http_server **out);
/* Closes the store (ending follow streams), stops serving, removes the socket file. */
void weir_http_server_stop(struct weir_http_server *s);

/* Responses, for route handlers. Each queues the response and drops it. */
/* resp NULL: out of memory, the connection is closed. */
enum MHD_Result weir_http_queue(struct MHD_Connection *c, unsigned int status,
				struct MHD_Response *resp);
/* Steals j; NULL (out of memory) closes the connection. */
enum MHD_Result weir_http_respond_json(struct MHD_Connection *c, unsigned int status, json_t *j);
/* Takes text (malloc'ed) as the body. */
enum MHD_Result weir_http_respond_text(struct MHD_Connection *c, unsigned int status,
				       const char *media, char *text, size_t len);
enum MHD_Result weir_http_respond_empty(struct MHD_Connection *c, unsigned int status);
/* {"error": "..."}, with one optional extra header (hdr NULL: none). */
enum MHD_Result weir_http_respond_error_hdr(struct MHD_Connection *c, unsigned int status,
					    const char *hdr, const char *hdr_value, const char *fmt,
					    ...) __attribute__((format(printf, 5, 6)));
#define weir_http_respond_error(c, status, ...) \
	weir_http_respond_error_hdr(c, status, NULL, NULL, __VA_ARGS__)

#endif /* WEIR_HTTP_SERVER_H */
