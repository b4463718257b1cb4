/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The peer manager: every agent's flow stream (GET /v1/flows?follow=1, in
 * the compact format when the agent speaks it, else NDJSON) and periodic status (GET /v1/status),
 * on one thread that drives libcurl's multi interface, so a slow, dead or garbage-sending peer
 * never holds up another. Peers come from a static list and from DNS names whose addresses the
 * caller re-resolves. Memory per peer is bounded (a line is at most max_line_bytes); a peer that
 * fails is retried with backoff (peer.h).
 *
 * The owner hears of records, of lines for follow streams (node status
 * events, the peers' lost events) and of the number of peers through
 * callbacks on the peers' thread; other threads read a copy of the peers'
 * state that is at most 100 ms old (at once on a state change).
 */
#ifndef WEIR_RELAY_PEERS_H
#define WEIR_RELAY_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"
#include "peer.h"

#define WEIR_STATUS_INTERVAL_NS_DEFAULT 5000000000ULL /* 5 s, Hubble's health check interval */
#define WEIR_CONNECT_TIMEOUT_NS_DEFAULT 5000000000ULL
#define WEIR_STATUS_BODY_MAX_BYTES	(1 << 20)

struct weir_peers;
struct weir_follower;

struct weir_peers_opts {
	uint64_t status_interval_ns;
	uint64_t connect_timeout_ns; /* connect, and the first answer to each request */
	uint64_t backoff_min_ns;
	uint64_t backoff_max_ns;
	size_t max_line_bytes;
	unsigned int bad_lines_max;
	/* A record from a peer, its node_name set (take a reference to keep it). */
	void (*on_record)(void *ctx, struct weir_flow_record *r, uint64_t now_real_ns);
	/* A line for every follow stream. */
	void (*on_note)(void *ctx, const char *line);
	/* Each turn of the loop: returns how long, at most, until it wants the next. */
	uint64_t (*on_tick)(void *ctx, uint64_t now_real_ns);
	/* The number of peers changed. */
	void (*on_count)(void *ctx, size_t n);
	/* The loop is ending (after every stream is closed). */
	void (*on_stop)(void *ctx);
	void *ctx;
};

/* One node, copied out for the API. Times are CLOCK_REALTIME ns, 0 for never. */
struct weir_node_info {
	char *name;
	char *address;
	bool from_dns;
	enum weir_node_state state;	 /* Hubble's */
	enum weir_peer_state connection; /* the relay's state machine */
	uint64_t last_contact_ns;
	uint64_t connected_since_ns;
	uint64_t next_attempt_ns;
	char last_error[WEIR_PEER_ERROR_LEN];
	uint64_t last_error_ns;
	uint64_t flows_seen;
	double flows_per_second;
	uint64_t parse_errors;
	uint64_t lost_events;
	uint64_t connects;
	uint64_t failures;
	const char *format; /* the open stream's: "compact", "ndjson"; NULL: none */
	bool have_status;
	struct weir_peer_node_status node;
};

int weir_peers_new(struct weir_peers **out, const struct weir_peers_opts *opts);
/* Stops the loop if it runs, then frees. */
void weir_peers_free(struct weir_peers *ps);
/* A peer "host:port" that stays, before weir_peers_start(). -EEXIST when it
 * is one already.
 */
int weir_peers_add(struct weir_peers *ps, const char *address);
/* The addresses a DNS source ("name:port") resolves to now: new ones become
 * peers, ones no longer there are dropped. Any thread.
 */
int weir_peers_set_resolved(struct weir_peers *ps, const char *source, char *const *addrs,
			    size_t n);
int weir_peers_start(struct weir_peers *ps);
/* Closes every stream, calls on_stop, and joins the loop. */
void weir_peers_stop(struct weir_peers *ps);

/* Every node, sorted by name; free with weir_node_info_free(). */
int weir_peers_snapshot(struct weir_peers *ps, struct weir_node_info **out, size_t *n);
void weir_node_info_free(struct weir_node_info *v, size_t n);
/* Queues the nodes' states to a new follow stream, as Hubble Relay starts
 * one: NODE_CONNECTED with the connected nodes, NODE_UNAVAILABLE with the
 * others, NODE_ERROR for each node in error.
 */
void weir_peers_greet(struct weir_peers *ps, struct weir_follower *f);

#endif /* WEIR_RELAY_PEERS_H */
