/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Delta counters from cumulative records. Flow records carry cumulative
 * counters (every update repeats the flow's totals); an exporter that sums
 * (IPFIX's packetDeltaCount, a flow log's aggregation) needs what is new
 * since the last record of the same flow. A tracker remembers, per flow, the
 * counters it last handed out:
 * - a drop record is one packet: its counters are the delta;
 * - a start record begins the flow afresh;
 * - an update or end record gives the difference to what was remembered, or
 *   its whole counters for a flow not seen before (an exporter that joined
 *   late, a relay) or whose counters went back (a restart);
 * - an end record forgets the flow.
 * A flow is identified by what a record says of it: node, addresses, ports,
 * protocol, interface, hook and direction. Flows whose end record never came
 * (lost on a full queue) are forgotten after max_age_ns without a record.
 * Because the counters are cumulative, a lost update loses nothing: the next
 * record's delta covers it. Not thread-safe: one per consumer thread.
 */
#ifndef WEIR_FLOW_DELTA_H
#define WEIR_FLOW_DELTA_H

#include <stdint.h>
#include "flow.h"

struct weir_flow_delta;

struct weir_flow_counts {
	uint64_t packets; /* source -> destination */
	uint64_t bytes;
	uint64_t reply_packets; /* destination -> source */
	uint64_t reply_bytes;
};

int weir_flow_delta_new(struct weir_flow_delta **out, uint64_t max_age_ns);
void weir_flow_delta_free(struct weir_flow_delta *d);
/* The counters new since the flow's last record, into *out; now_ns (any
 * monotonic clock) dates the flow for expiry. 0, or -ENOMEM (then *out is
 * the whole counters and the flow is not remembered).
 */
int weir_flow_delta_take(struct weir_flow_delta *d, const struct weir_flow_record *r,
			 uint64_t now_ns, struct weir_flow_counts *out);
/* Forgets the record's flow: its next record counts from zero. */
void weir_flow_delta_forget(struct weir_flow_delta *d, const struct weir_flow_record *r);
/* Forgets flows without a record for max_age_ns; returns how many. */
size_t weir_flow_delta_expire(struct weir_flow_delta *d, uint64_t now_ns);
/* Flows remembered now. */
size_t weir_flow_delta_count(const struct weir_flow_delta *d);

#endif /* WEIR_FLOW_DELTA_H */
