/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The history's part of the relay's HTTP API:
 *   GET /v1/flows/aggregate   group-by over the history (relay/history.h)
 *   the "history" object of /v1/status, and its /metrics lines
 */
#ifndef WEIR_RELAY_HISTORY_HTTP_H
#define WEIR_RELAY_HISTORY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <microhttpd.h>
#include "http_server.h"

struct weir_history;

enum MHD_Result weir_history_aggregate_get(struct weir_history *h, struct MHD_Connection *c);
/* {"enabled": false} without a history. */
json_t *weir_history_status_json(struct weir_history *h);
/* Appends the weir_relay_history_* series to *text (realloc'ed): 0 or -ENOMEM. */
int weir_history_metrics_append(struct weir_history *h, char **text, size_t *len);

#endif /* WEIR_RELAY_HISTORY_HTTP_H */
