/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What one line of an agent's flow stream is: a flow (Hubble's
 * GetFlowsResponse with "flow"), the agent's lost events, a node status, or
 * garbage, said with a reason.
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

#endif /* WEIR_RELAY_INGEST_H */
