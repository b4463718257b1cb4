/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Node status events for follow streams, as Hubble Relay sends them in
 * GetFlowsResponse: {"node_status": {"state_change": "NODE_CONNECTED",
 * "node_names": [...], "message": "..."}, "time": "..."}.
 */
#ifndef WEIR_RELAY_EVENTS_H
#define WEIR_RELAY_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include "peer.h"

/* The line (no newline, malloc'ed), or NULL when out of memory. message may
 * be NULL or empty (then left out, as protojson leaves out empty strings).
 */
char *weir_node_status_line(enum weir_node_state state, const char *const *names, size_t n,
			    const char *message, uint64_t now_real_ns);

#endif /* WEIR_RELAY_EVENTS_H */
