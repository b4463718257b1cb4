/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A fast path for the lines agents stream to the relay: a strict parser for
 * the GetFlowsResponse records Weir itself writes, straight into a record,
 * with no jansson tree. Anything it is not sure of (escapes, nulls, unknown
 * fields, duplicates, numbers as strings, any error) it leaves to the general
 * decoder (json_loadb() and weir_flow_record_from_json()), which says what is
 * wrong: a line it takes decodes to the very record the general path makes.
 */
#ifndef WEIR_FLOW_PARSE_H
#define WEIR_FLOW_PARSE_H

#include <stddef.h>
#include "flow.h"

/* Endpoints decoded from the same JSON text shared between records (they
 * are immutable once published): fewer allocations, less memory per record.
 * Not thread-safe: one per thread.
 */
struct weir_endpoint_cache;

int weir_endpoint_cache_new(struct weir_endpoint_cache **out);
void weir_endpoint_cache_free(struct weir_endpoint_cache *c);

/* 0 and *out (a record to put), or -EAGAIN: decode the line the general way
 * (it may be fine, odd, invalid, or not a flow). cache may be NULL.
 */
int weir_flow_record_parse_line(const char *line, size_t len, struct weir_endpoint_cache *cache,
				struct weir_flow_record **out);

#endif /* WEIR_FLOW_PARSE_H */
