/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What one line of an agent's flow stream is: a flow (Hubble's
 * GetFlowsResponse with "flow"), the agent's lost events, a node status, or
 * garbage, said with a reason. Flow lines as Weir's agents write them take
 * a fast path (lib/flow_parse.c, ~10x jansson's); every other line, and any
 * line that path is not sure of, goes through jansson.
 */
#ifndef WEIR_RELAY_INGEST_H
#define WEIR_RELAY_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "flow.h"

enum weir_line_kind {
	WEIR_LINE_BAD,	  /* err says why */
	WEIR_LINE_FLOW,	  /* *r: a record to put */
	WEIR_LINE_LOST,	  /* *obj: the line's object; *n_lost: the events lost */
	WEIR_LINE_STATUS, /* a node_status line: nothing to do */
};

/* obj and n_lost are set for WEIR_LINE_LOST only (put obj with json_decref). */
enum weir_line_kind weir_line_parse(const char *line, size_t len, struct weir_flow_record **r,
				    json_t **obj, uint64_t *n_lost, char *err, size_t err_len);
struct weir_endpoint_cache;
/* As weir_line_parse(), with endpoints decoded from the same text shared
 * through cache (flow_parse.h; NULL: none): the relay's peers loop.
 */
enum weir_line_kind weir_line_parse_cached(struct weir_endpoint_cache *cache, const char *line,
					   size_t len, struct weir_flow_record **r, json_t **obj,
					   uint64_t *n_lost, char *err, size_t err_len);

#endif /* WEIR_RELAY_INGEST_H */
