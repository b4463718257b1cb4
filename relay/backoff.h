/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Exponential backoff with jitter for reconnecting to a peer: min, 2 min,
 * 4 min ... up to max, each delay cut by a random 0-25% so that peers that
 * failed together do not all retry together. The random source is injected,
 * so tests are deterministic.
 */
#ifndef WEIR_RELAY_BACKOFF_H
#define WEIR_RELAY_BACKOFF_H

#include <stdint.h>

#define WEIR_BACKOFF_MIN_NS_DEFAULT 1000000000ULL  /* 1 s */
#define WEIR_BACKOFF_MAX_NS_DEFAULT 30000000000ULL /* 30 s */

/* Any 64 random bits. */
typedef uint64_t (*weir_rand_fn)(void *ctx);

struct weir_backoff {
	uint64_t min_ns;
	uint64_t max_ns;
	unsigned int failures; /* since the last success */
	weir_rand_fn rand;
	void *rand_ctx;
};

void weir_backoff_init(struct weir_backoff *b, uint64_t min_ns, uint64_t max_ns, weir_rand_fn rand,
		       void *rand_ctx);
/* A failure: the delay before the next attempt, in ns. */
uint64_t weir_backoff_next(struct weir_backoff *b);
/* A success: the next failure waits min again. */
void weir_backoff_reset(struct weir_backoff *b);

/* A small generator for the relay (xorshift64*); ctx is its uint64_t state, never 0. */
uint64_t weir_rand_xorshift(void *ctx);

#endif /* WEIR_RELAY_BACKOFF_H */
