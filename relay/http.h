/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The relay's HTTP API: libweir's server (lib/http_server.h) with the relay's
 * store behind /v1/flows, and the relay's own routes:
 *   GET /v1/flows    the merged records of every node; ?follow=1 streams them,
 *                    with node status events as nodes connect, fail or go
 *   GET /v1/status   the nodes' figures summed, connected and unavailable nodes
 *   GET /v1/nodes    every node: state, address, last contact, flows, last error
 *   GET /v1/flows/aggregate  group-by over the history (relay/history.h)
 *   GET /metrics     the relay's health
 */
#ifndef WEIR_RELAY_HTTP_H
#define WEIR_RELAY_HTTP_H

#include <jansson.h>
#include "relay.h"

struct weir_http_server;

int weir_relay_http_start(struct weir_relay *r, struct weir_http_server **out);
/* The JSON of /v1/status and /v1/nodes (new references; NULL when out of memory). */
json_t *weir_relay_status_json(struct weir_relay *r);
json_t *weir_relay_nodes_json(struct weir_relay *r);

#endif /* WEIR_RELAY_HTTP_H */
