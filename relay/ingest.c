// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One line of an agent's flow stream, judged. */
#include <errno.h>
#include <stdio.h>
#include "flow_parse.h"
#include "ingest.h"

enum weir_line_kind weir_line_parse(const char *line, size_t len, struct weir_flow_record **r,
				    json_t **obj, uint64_t *n_lost, char *err, size_t err_len)
{
	return weir_line_parse_cached(NULL, line, len, r, obj, n_lost, err, err_len);
}

enum weir_line_kind weir_line_parse_cached(struct weir_endpoint_cache *cache, const char *line,
					   size_t len, struct weir_flow_record **r, json_t **obj,
					   uint64_t *n_lost, char *err, size_t err_len)
{
	enum weir_line_kind kind = WEIR_LINE_BAD;
	const json_t *lost, *n;
	json_error_t jerr;
	json_t *j;

	*r = NULL;
	*obj = NULL;
	*n_lost = 0;
	if (!weir_flow_record_parse_line(line, len, cache, r))
		return WEIR_LINE_FLOW;
	j = json_loadb(line, len, 0, &jerr);
	if (!j) {
		snprintf(err, err_len, "invalid JSON at column %d: %s", jerr.column, jerr.text);
		return WEIR_LINE_BAD;
	}
	if (!json_is_object(j)) {
		snprintf(err, err_len, "not a JSON object");
	} else if (json_object_get(j, "flow")) {
		if (!weir_flow_record_from_json(j, r, err, err_len))
			kind = WEIR_LINE_FLOW;
	} else if ((lost = json_object_get(j, "lost_events"))) {
		n = json_object_get(lost, "num_events_lost");
		if (!json_is_object(lost) || (n && !json_is_integer(n)) ||
		    json_integer_value(n) < 0) {
			snprintf(err, err_len, "lost_events: want {\"num_events_lost\": N, ...}");
		} else {
			*n_lost = (uint64_t)json_integer_value(n);
			*obj = json_incref(j);
			kind = WEIR_LINE_LOST;
		}
	} else if (json_object_get(j, "node_status")) {
		kind = WEIR_LINE_STATUS;
	} else {
		snprintf(err, err_len,
			 "not a flows response (no flow, lost_events or node_status)");
	}
	json_decref(j);
	return kind;
}
