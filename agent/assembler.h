/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The flow assembler: turns the datapath's ring-buffer events and a periodic
 * sweep of its flow table into flow records with IPFIX semantics — a record
 * at flow start, one every active timeout while the flow lives, one at flow
 * end (TCP FIN both ways or RST, idle timeout, or eviction) — and a record
 * for every drop. The two directions of a connection are paired into one
 * record: the initiator's counters, and the reply's.
 */
#ifndef WEIR_AGENT_ASSEMBLER_H
#define WEIR_AGENT_ASSEMBLER_H

#include <stdbool.h>
#include <stdint.h>
#include "flow.h"
#include "flow_table.h"

struct weir_assembler;
struct weir_endpoints;

/* Receives every record once; takes its own reference if it keeps it. */
typedef void (*weir_record_fn)(void *ctx, struct weir_flow_record *r);

struct weir_assembler_opts {
	const char *node_name;
	uint32_t active_timeout_s;
	uint32_t idle_timeout_s;
	int flows_fd; /* weir_flows */
	/* How sweeps read weir_flows; 0 (AUTO): its iterator where the kernel
	 * has them, else batch lookups.
	 */
	enum weir_flow_table_method table_method;
	int events_fd;	 /* weir_events (ring buffer) */
	int counters_fd; /* weir_counters */
	struct weir_endpoints *endpoints;
	weir_record_fn on_record;
	void *ctx;
	/* Load-balanced flows: fills r's service and backend for key k (may be
	 * NULL). Called with ctx for every record made.
	 */
	int (*lb_of)(void *ctx, const struct weir_flow_key *k, struct weir_flow_record *r);
};

/* After a FIN both ways (or a RST), a flow ends once it has been quiet this
 * long, so the last ACK is counted in it rather than starting a new flow.
 */
#define WEIR_END_LINGER_NS (2ULL * 1000000000ULL)

struct weir_assembler_stats {
	uint64_t active_flows;	/* conversations being tracked */
	uint64_t table_entries; /* kernel flow-table entries at the last sweep */
	uint64_t evictions;	/* entries the kernel evicted before they ended */
	uint64_t records;	/* records made */
	uint64_t bad_events;	/* ring-buffer records of an unknown layout */
	uint64_t last_sweep_ns; /* how long the last sweep took */
};

int weir_assembler_new(struct weir_assembler **out, const struct weir_assembler_opts *opts);
void weir_assembler_free(struct weir_assembler *a);
/* Poll this; then weir_assembler_consume(). */
int weir_assembler_events_fd(struct weir_assembler *a);
int weir_assembler_consume(struct weir_assembler *a);
/* Reads the whole flow table once: new flows, updates, ends. */
int weir_assembler_sweep(struct weir_assembler *a);
/* At exit: a last record (end reason "forced") for every live flow, leaving
 * the kernel entries in place for the next run.
 */
void weir_assembler_flush(struct weir_assembler *a);
/* Interface names for records; unknown indexes are looked up once. A
 * pod-facing interface (the host side of a pod's veth) reports its records'
 * traffic direction from the pod's side, as Hubble does: what the interface
 * receives, the pod sends (EGRESS).
 */
void weir_assembler_set_ifname(struct weir_assembler *a, int ifindex, const char *ifname,
			       bool pod_facing);
void weir_assembler_stats(struct weir_assembler *a, struct weir_assembler_stats *st);

#endif /* WEIR_AGENT_ASSEMBLER_H */
