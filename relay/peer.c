// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A peer's state machine, backoff and figures. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "peer.h"

#define NS_PER_S       1000000000ULL
#define RATE_SLOTS     (WEIR_PEER_RATE_SECONDS + 1)
#define NAME_MAX_BYTES 253 /* a DNS name; a node name is one */

int weir_peer_init(struct weir_peer *p, const char *address, bool from_dns,
		   const struct weir_backoff *backoff, unsigned int bad_lines_max)
{
	memset(p, 0, sizeof(*p));
	p->address = strdup(address);
	p->name = strdup(address);
	if (!p->address || !p->name) {
		weir_peer_release(p);
		return -ENOMEM;
	}
	p->from_dns = from_dns;
	p->state = WEIR_PEER_CONNECTING;
	/* Not connected yet, as Hubble counts it; no event for that until the
	 * first attempt ends: a node that never connects is announced
	 * UNAVAILABLE (or ERROR) then (p->announced).
	 */
	p->node_state = WEIR_NODE_UNAVAILABLE;
	p->backoff = *backoff;
	weir_backoff_reset(&p->backoff);
	p->bad_lines_max = bad_lines_max ? bad_lines_max : WEIR_PEER_BAD_LINES_MAX_DEFAULT;
	return 0;
}

void weir_peer_release(struct weir_peer *p)
{
	free(p->address);
	free(p->name);
	p->address = NULL;
	p->name = NULL;
}

bool weir_peer_due(const struct weir_peer *p, uint64_t now_ns)
{
	return (p->state == WEIR_PEER_UNAVAILABLE || p->state == WEIR_PEER_ERROR) &&
	       now_ns >= p->next_attempt_ns;
}

void weir_peer_attempt(struct weir_peer *p, uint64_t now_ns)
{
	(void)now_ns;
	p->state = WEIR_PEER_CONNECTING;
	p->bad_lines = 0;
}

static uint64_t u64_field(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) :
								 0;
}

int weir_peer_status(struct weir_peer *p, const json_t *status, uint64_t now_ns)
{
	const char *name = json_string_value(json_object_get(status, "node_name"));
	const char *version = json_string_value(json_object_get(status, "version"));
	char *copy;

	if (!json_is_object(status))
		return -EINVAL;
	if (name && name[0] && strlen(name) <= NAME_MAX_BYTES && strcmp(name, p->name) != 0) {
		copy = strdup(name);
		if (!copy)
			return -ENOMEM;
		free(p->name);
		p->name = copy;
	}
	p->node.num_flows = u64_field(status, "num_flows");
	p->node.max_flows = u64_field(status, "max_flows");
	p->node.seen_flows = u64_field(status, "seen_flows");
	p->node.lost_events = u64_field(status, "lost_events");
	p->node.uptime_ns = u64_field(status, "uptime_ns");
	snprintf(p->node.version, sizeof(p->node.version), "%s", version ? version : "");
	p->have_status = true;
	p->last_contact_ns = now_ns;
	return 0;
}

struct weir_peer_event weir_peer_connected(struct weir_peer *p, uint64_t now_ns)
{
	struct weir_peer_event ev = { WEIR_NODE_UNKNOWN, NULL };

	p->state = WEIR_PEER_CONNECTED;
	p->connected_since_ns = now_ns;
	p->last_contact_ns = now_ns;
	p->bad_lines = 0;
	p->connects++;
	if (p->node_state != WEIR_NODE_CONNECTED) {
		p->node_state = WEIR_NODE_CONNECTED;
		p->announced = true;
		ev.state = WEIR_NODE_CONNECTED;
	}
	return ev;
}

struct weir_peer_event weir_peer_failed(struct weir_peer *p, bool error, const char *msg,
					uint64_t now_ns)
{
	enum weir_node_state ns = error ? WEIR_NODE_ERROR : WEIR_NODE_UNAVAILABLE;
	struct weir_peer_event ev = { WEIR_NODE_UNKNOWN, NULL };
	bool new_msg = strncmp(p->last_error, msg ? msg : "", sizeof(p->last_error) - 1) != 0;

	p->state = error ? WEIR_PEER_ERROR : WEIR_PEER_UNAVAILABLE;
	p->connected_since_ns = 0;
	p->failures++;
	snprintf(p->last_error, sizeof(p->last_error), "%s", msg ? msg : "");
	p->last_error_ns = now_ns;
	p->next_attempt_ns = now_ns + weir_backoff_next(&p->backoff);
	/* A new error is news even in the same state; a retry that fails
	 * again the same way is not.
	 */
	if (p->node_state != ns || !p->announced || (error && new_msg)) {
		p->node_state = ns;
		p->announced = true;
		ev.state = ns;
		ev.message = p->last_error;
	}
	return ev;
}

void weir_peer_healthy(struct weir_peer *p)
{
	if (p->state == WEIR_PEER_CONNECTED)
		weir_backoff_reset(&p->backoff);
}

/* Moves the rate ring to the second of now, zeroing the seconds skipped. */
static void rate_advance(struct weir_peer *p, uint64_t sec)
{
	uint64_t s;

	if (sec <= p->rate_second)
		return;
	if (sec - p->rate_second >= RATE_SLOTS) {
		memset(p->rate_counts, 0, sizeof(p->rate_counts));
	} else {
		for (s = p->rate_second + 1; s <= sec; s++)
			p->rate_counts[s % RATE_SLOTS] = 0;
	}
	p->rate_second = sec;
}

void weir_peer_record(struct weir_peer *p, uint64_t time_real_ns, uint64_t now_ns)
{
	uint64_t sec = now_ns / NS_PER_S;

	p->flows_seen++;
	p->last_contact_ns = now_ns;
	if (time_real_ns > p->last_record_real_ns)
		p->last_record_real_ns = time_real_ns;
	rate_advance(p, sec);
	if (sec == p->rate_second)
		p->rate_counts[sec % RATE_SLOTS]++;
}

void weir_peer_contact(struct weir_peer *p, uint64_t now_ns)
{
	p->last_contact_ns = now_ns;
}

bool weir_peer_bad_line(struct weir_peer *p, uint64_t now_ns)
{
	p->parse_errors++;
	p->last_contact_ns = now_ns;
	return ++p->bad_lines >= p->bad_lines_max;
}

double weir_peer_flows_per_second(const struct weir_peer *p, uint64_t now_ns)
{
	uint64_t sec = now_ns / NS_PER_S, s, sum = 0;

	/* The whole seconds before this one that the ring still holds. */
	for (s = sec > WEIR_PEER_RATE_SECONDS ? sec - WEIR_PEER_RATE_SECONDS : 0; s < sec; s++)
		if (s <= p->rate_second && p->rate_second - s < RATE_SLOTS)
			sum += p->rate_counts[s % RATE_SLOTS];
	return (double)sum / WEIR_PEER_RATE_SECONDS;
}

const char *weir_node_state_name(enum weir_node_state s)
{
	switch (s) {
	case WEIR_NODE_CONNECTED:
		return "NODE_CONNECTED";
	case WEIR_NODE_UNAVAILABLE:
		return "NODE_UNAVAILABLE";
	case WEIR_NODE_GONE:
		return "NODE_GONE";
	case WEIR_NODE_ERROR:
		return "NODE_ERROR";
	case WEIR_NODE_UNKNOWN:
	default:
		return "UNKNOWN_NODE_STATE";
	}
}

const char *weir_peer_state_name(enum weir_peer_state s)
{
	switch (s) {
	case WEIR_PEER_CONNECTING:
		return "connecting";
	case WEIR_PEER_CONNECTED:
		return "connected";
	case WEIR_PEER_UNAVAILABLE:
		return "unavailable";
	case WEIR_PEER_ERROR:
	default:
		return "error";
	}
}
