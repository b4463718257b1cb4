/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The flow store: a ring of the most recent records, and followers that
 * receive new records as they are added. A slow follower never stalls the
 * writer: its queue is bounded and what overflows is counted and reported to
 * it as lost. Shared by the agent (records it makes) and the relay (records
 * it merges, and notes: node status events for its follow streams).
 */
#ifndef WEIR_STORE_H
#define WEIR_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "filter.h"
#include "flow.h"

#define WEIR_STORE_CAPACITY_DEFAULT 65535
#define WEIR_FOLLOW_QUEUE_DEFAULT   4096 /* records a follower may fall behind */
#define WEIR_FOLLOW_NOTES_MAX	    256	 /* notes a follower may fall behind */

struct weir_store;
struct weir_follower;

struct weir_store_stats {
	uint64_t seen_flows;	/* records ever added */
	uint64_t num_flows;	/* records held now */
	uint64_t max_flows;	/* capacity */
	uint64_t followers;	/* open follow streams */
	uint64_t follower_lost; /* records dropped from slow followers' queues, all time */
};

int weir_store_new(struct weir_store **out, size_t capacity);
void weir_store_free(struct weir_store *s);
/* Takes a new reference to r; the oldest record falls out when full. Thread-safe. */
void weir_store_add(struct weir_store *s, struct weir_flow_record *r);
/* The records matching req (filters, since/until, number/first), oldest
 * first, each with a reference the caller puts; free the array with free().
 */
int weir_store_query(struct weir_store *s, const struct weir_flow_request *req,
		     struct weir_flow_record ***out, size_t *n);
void weir_store_stats(struct weir_store *s, struct weir_store_stats *st);
/* A new capacity: the newest records stay, the oldest fall out if it shrinks. */
int weir_store_resize(struct weir_store *s, size_t capacity);

/* A follower of records added from now on that match fs (borrowed; it must
 * outlive the follower). queue_max bounds what it may fall behind.
 */
int weir_store_follow(struct weir_store *s, const struct weir_filter_set *fs, size_t queue_max,
		      struct weir_follower **out);
/* Waits up to timeout_ms for the next record: 0 and *r (a reference to put),
 * -EAGAIN on timeout, -EPIPE once the store is closing. *lost is set to the
 * records dropped from this follower's queue since the last call.
 */
int weir_follower_next(struct weir_follower *f, int timeout_ms, struct weir_flow_record **r,
		       uint64_t *lost);
void weir_follower_free(struct weir_follower *f);

/* Notes: lines for follow streams that are not records (a relay's node status
 * events, for one). A note is copied to every follower (or to one), goes past
 * their filters, and is not kept in the ring. A follower with
 * WEIR_FOLLOW_NOTES_MAX notes pending loses its oldest, counted as lost.
 */
void weir_store_notify(struct weir_store *s, const char *line);
int weir_follower_notify(struct weir_follower *f, const char *line);
/* As weir_follower_next, with notes first: 0 and either *r, or *note (a line
 * to free()) with *r NULL. weir_follower_next() leaves notes queued.
 */
int weir_follower_next_note(struct weir_follower *f, int timeout_ms, struct weir_flow_record **r,
			    char **note, uint64_t *lost);
/* Wakes every follower with -EPIPE (at shutdown). */
void weir_store_close(struct weir_store *s);

#endif /* WEIR_STORE_H */
