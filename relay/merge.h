/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The time-ordered merge of every peer's records, with a bounded sort window.
 *
 * A record is held until it is older than the window (by the relay's clock),
 * then released in time order, ties in arrival order. A record older than one
 * already released cannot take its place in the order any more: it is
 * released at once and counted late, never dropped. A record stamped in the
 * future (a node whose clock runs ahead) sorts at its arrival time, so it is
 * held no longer than the window. Past max_held records the oldest goes out
 * early, so memory stays bounded when peers flood the relay.
 *
 * Not thread-safe: one thread adds and releases; the stats may be read from
 * any thread.
 */
#ifndef WEIR_RELAY_MERGE_H
#define WEIR_RELAY_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"

#define WEIR_SORT_WINDOW_NS_DEFAULT 1000000000ULL /* 1 s, as Hubble Relay's drain timeout */

struct weir_merge;

/* Called for each record in release order, with a reference the merge keeps
 * (take one to keep the record). late: it came after a newer record was released.
 */
typedef void (*weir_merge_release_fn)(void *ctx, struct weir_flow_record *r, bool late);

struct weir_merge_stats {
	uint64_t held;	       /* records waiting in the window now */
	uint64_t released;     /* records released, late ones included */
	uint64_t late;	       /* released out of order: older than one released before */
	uint64_t early;	       /* released before their time because max_held was reached */
	uint64_t watermark_ns; /* time of the newest record released in order */
};

int weir_merge_new(struct weir_merge **out, uint64_t window_ns, size_t max_held,
		   weir_merge_release_fn release, void *ctx);
/* Puts held records without releasing them. */
void weir_merge_free(struct weir_merge *m);
/* Takes a new reference to r; now_ns is the relay's CLOCK_REALTIME. */
int weir_merge_add(struct weir_merge *m, struct weir_flow_record *r, uint64_t now_ns);
/* Releases every record older than now_ns - window, oldest first; returns how many. */
size_t weir_merge_release(struct weir_merge *m, uint64_t now_ns);
/* Releases everything held, in order (at shutdown). */
void weir_merge_flush(struct weir_merge *m);
/* ns from now_ns until the oldest held record is due; UINT64_MAX when none is held. */
uint64_t weir_merge_due_in(const struct weir_merge *m, uint64_t now_ns);
void weir_merge_stats(const struct weir_merge *m, struct weir_merge_stats *st);

#endif /* WEIR_RELAY_MERGE_H */
