/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's HTTP API (libweir's server, lib/http_server.h): read endpoints
 * on TCP, everything on the unix socket; mutating endpoints on TCP only with
 * the bearer token.
 *   GET  /v1/flows          JSON array, or ?follow=1 an NDJSON stream
 *   GET  /v1/status
 *   GET  /v1/endpoints      POST /v1/endpoints   DELETE /v1/endpoints/NAMESPACE/POD
 *        (a registration with "interface" gets TC attached there; DELETE takes
 *        ?container_id=; see agent/endpoints.h)
 *   GET  /metrics
 *   GET|PUT|PATCH|DELETE /v1/prefilter   (agent/prefilter_http.c)
 * Bad requests get a 4xx with {"error": "..."}.
 */
#ifndef WEIR_AGENT_HTTP_H
#define WEIR_AGENT_HTTP_H

#include "agent.h"

struct weir_http;

int weir_http_start(struct weir_agent *a, struct weir_http **out);
/* Ends follow streams, stops the daemons, removes the socket file. */
void weir_http_stop(struct weir_http *h);

#endif /* WEIR_AGENT_HTTP_H */
