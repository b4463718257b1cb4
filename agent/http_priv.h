/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by the HTTP API's files (http.c: server, routing, small routes;
 * http_flows.c: /v1/flows): the server state and the response helpers.
 */
#ifndef WEIR_AGENT_HTTP_PRIV_H
#define WEIR_AGENT_HTTP_PRIV_H

#include <stdbool.h>
#include <jansson.h>
#include <microhttpd.h>
#include "http.h"

#define WEIR_HTTP_JSON_MEDIA "application/json"

struct weir_http_server {
	struct weir_http *h;
	bool tcp; /* mutating calls need the bearer token */
	int fd;	  /* listening socket, until the daemon owns it */
	struct MHD_Daemon *d;
};

struct weir_http {
	struct weir_agent *a;
	struct weir_http_server tcp;
	struct weir_http_server unix_sock;
	char *socket_path; /* to remove at stop, once bound */
};

/* Queues resp (NULL: out of memory, the connection is closed) and drops it. */
enum MHD_Result weir_http_queue(struct MHD_Connection *c, unsigned int status,
				struct MHD_Response *resp);
/* Steals j. */
enum MHD_Result weir_http_respond_json(struct MHD_Connection *c, unsigned int status, json_t *j);
/* {"error": "..."}, with one optional extra header (hdr NULL: none). */
enum MHD_Result weir_http_respond_error_hdr(struct MHD_Connection *c, unsigned int status,
					    const char *hdr, const char *hdr_value, const char *fmt,
					    ...) __attribute__((format(printf, 5, 6)));
#define weir_http_respond_error(c, status, ...) \
	weir_http_respond_error_hdr(c, status, NULL, NULL, __VA_ARGS__)

/* GET /v1/flows: a JSON array, or with follow an NDJSON stream. */
enum MHD_Result weir_http_flows_get(struct weir_http *h, struct MHD_Connection *c);

#endif /* WEIR_AGENT_HTTP_PRIV_H */
