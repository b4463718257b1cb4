// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Exponential backoff with jitter. */
#include "backoff.h"

void weir_backoff_init(struct weir_backoff *b, uint64_t min_ns, uint64_t max_ns, weir_rand_fn rand,
		       void *rand_ctx)
{
	b->min_ns = min_ns ? min_ns : WEIR_BACKOFF_MIN_NS_DEFAULT;
	b->max_ns = max_ns >= b->min_ns ? max_ns : b->min_ns;
	b->failures = 0;
	b->rand = rand;
	b->rand_ctx = rand_ctx;
}

uint64_t weir_backoff_next(struct weir_backoff *b)
{
	uint64_t d = b->min_ns, cut;
	unsigned int i;

	/* Doubling stops at max: no shift ever overflows. */
	for (i = 0; i < b->failures && d < b->max_ns; i++)
		d = d > b->max_ns / 2 ? b->max_ns : d * 2;
	if (d > b->max_ns)
		d = b->max_ns;
	if (b->failures < 64)
		b->failures++;
	cut = b->rand ? b->rand(b->rand_ctx) % (d / 4 + 1) : 0;
	return d - cut;
}

void weir_backoff_reset(struct weir_backoff *b)
{
	b->failures = 0;
}

uint64_t weir_rand_xorshift(void *ctx)
{
	uint64_t *s = ctx;
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}
