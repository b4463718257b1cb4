/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One peer (an agent) as the relay sees it: its state machine, its backoff
 * and its figures. No I/O here: the connection code (peers.c) reports what
 * happened, with the time, and reads back what to do and when, so every
 * transition is testable with a made-up clock.
 *
 *   CONNECTING --status and stream answer--> CONNECTED
 *   CONNECTING, CONNECTED --unreachable, refused, timed out, stream ended--> UNAVAILABLE
 *   CONNECTING, CONNECTED --bad HTTP status, garbage, over-long line--> ERROR
 *   UNAVAILABLE, ERROR --backoff delay over--> CONNECTING
 *
 * Times are CLOCK_MONOTONIC ns unless named _real.
 */
#ifndef WEIR_RELAY_PEER_H
#define WEIR_RELAY_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "backoff.h"

#define WEIR_PEER_BAD_LINES_MAX_DEFAULT 10 /* invalid lines on one connection before ERROR */
#define WEIR_PEER_RATE_SECONDS		10 /* flows/s is averaged over this many seconds */
#define WEIR_PEER_ERROR_LEN		256

enum weir_peer_state {
	WEIR_PEER_CONNECTING,
	WEIR_PEER_CONNECTED,
	WEIR_PEER_UNAVAILABLE,
	WEIR_PEER_ERROR,
};

/* Hubble's relay NodeState, what clients see. */
enum weir_node_state {
	WEIR_NODE_UNKNOWN = 0,
	WEIR_NODE_CONNECTED = 1,
	WEIR_NODE_UNAVAILABLE = 2, /* retrying, no flows for now */
	WEIR_NODE_GONE = 3,	   /* removed (its DNS name no longer resolves to it) */
	WEIR_NODE_ERROR = 4,
};

/* What the node last said in its /v1/status. */
struct weir_peer_node_status {
	uint64_t num_flows;
	uint64_t max_flows;
	uint64_t seen_flows;
	uint64_t lost_events;
	uint64_t uptime_ns;
	char version[64];
};

struct weir_peer {
	char *address; /* "host:port", as configured or resolved */
	char *name;    /* the node's name from its status; the address until then */
	bool from_dns;
	enum weir_peer_state state;
	enum weir_node_state node_state; /* as last announced (UNAVAILABLE before any) */
	bool announced;			 /* an event was raised for this peer */
	struct weir_backoff backoff;
	uint64_t next_attempt_ns; /* when UNAVAILABLE or ERROR */
	uint64_t connected_since_ns;
	uint64_t last_contact_ns; /* 0: never */
	char last_error[WEIR_PEER_ERROR_LEN];
	uint64_t last_error_ns;
	unsigned int bad_lines_max;
	unsigned int bad_lines; /* on this connection */
	/* Counters, all time. */
	uint64_t flows_seen;
	uint64_t parse_errors;
	uint64_t lost_events; /* from the node's lost_events lines */
	uint64_t connects;
	uint64_t failures;
	uint64_t last_record_real_ns; /* to resume after a reconnect */
	bool compact; /* the stream open now is in the compact format (else NDJSON) */
	struct weir_peer_node_status node;
	bool have_status;
	/* flows/s: per-second counts, a ring of WEIR_PEER_RATE_SECONDS + 1. */
	uint64_t rate_counts[WEIR_PEER_RATE_SECONDS + 1];
	uint64_t rate_second; /* the second rate_counts[rate_second % n] counts */
};

/* What a transition means for clients: a node status event, or none. */
struct weir_peer_event {
	enum weir_node_state state; /* WEIR_NODE_UNKNOWN: no event */
	const char *message;	    /* the error, for UNAVAILABLE and ERROR */
};

int weir_peer_init(struct weir_peer *p, const char *address, bool from_dns,
		   const struct weir_backoff *backoff, unsigned int bad_lines_max);
void weir_peer_release(struct weir_peer *p);

/* Whether an attempt is due (UNAVAILABLE or ERROR, backoff over). */
bool weir_peer_due(const struct weir_peer *p, uint64_t now_ns);
/* An attempt begins. */
void weir_peer_attempt(struct weir_peer *p, uint64_t now_ns);
/* The node answered its status: name and figures (a JSON object). */
int weir_peer_status(struct weir_peer *p, const json_t *status, uint64_t now_ns);
/* The stream is open: CONNECTED. */
struct weir_peer_event weir_peer_connected(struct weir_peer *p, uint64_t now_ns);
/* The connection failed or ended: UNAVAILABLE (error false) or ERROR, with
 * a message; the next attempt after the backoff delay.
 */
struct weir_peer_event weir_peer_failed(struct weir_peer *p, bool error, const char *msg,
					uint64_t now_ns);
/* A status answered while CONNECTED: the node is healthy, backoff starts over. */
void weir_peer_healthy(struct weir_peer *p);
/* A flow record arrived, stamped time_real_ns. */
void weir_peer_record(struct weir_peer *p, uint64_t time_real_ns, uint64_t now_ns);
/* Any other valid line: contact. */
void weir_peer_contact(struct weir_peer *p, uint64_t now_ns);
/* An invalid line: true when it makes one too many on this connection. */
bool weir_peer_bad_line(struct weir_peer *p, uint64_t now_ns);
/* Records per second over the last WEIR_PEER_RATE_SECONDS whole seconds. */
double weir_peer_flows_per_second(const struct weir_peer *p, uint64_t now_ns);

const char *weir_node_state_name(enum weir_node_state s);
const char *weir_peer_state_name(enum weir_peer_state s);

#endif /* WEIR_RELAY_PEER_H */
