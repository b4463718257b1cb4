// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Maglev lookup tables with weights: see maglev.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maglev.h"

/* Seeds of the two permutation hashes: any two distinct constants. */
#define OFFSET_SALT 0x6d61676c65763031ULL /* "maglev01" */
#define SKIP_SALT   0x6d61676c65763032ULL /* "maglev02" */

struct turn {
	const struct weir_maglev_backend *b;
	uint32_t slot; /* the next preferred slot to try */
	uint32_t skip;
	uint64_t credit; /* accumulated weight */
};

bool weir_maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

void weir_maglev_name(struct weir_maglev_backend *b, uint8_t family, const uint8_t addr[16],
		      uint16_t port)
{
	size_t alen = family == 4 ? 4 : 16;

	memset(b->name, 0, sizeof(b->name));
	b->name[0] = family;
	memcpy(b->name + 1, addr, alen);
	b->name[1 + alen] = port >> 8; /* network order, on every host */
	b->name[2 + alen] = port & 0xff;
	b->name_len = 3 + alen;
}

/* FNV-1a over the bytes from a seeded basis, then MurmurHash3's fmix64 so
 * every input bit reaches every output bit. Byte at a time: the result does
 * not depend on the host's byte order.
 */
static uint64_t hash_name(const uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static int name_cmp(const void *x, const void *y)
{
	const struct weir_maglev_backend *a = *(const struct weir_maglev_backend *const *)x;
	const struct weir_maglev_backend *b = *(const struct weir_maglev_backend *const *)y;
	int c = memcmp(a->name, b->name, sizeof(a->name));

	return c ? c : (int)a->name_len - (int)b->name_len;
}

/* Claims b's next preferred slot that is still free. */
static void claim(struct turn *t, uint32_t *table, uint8_t *taken, uint32_t m)
{
	while (taken[t->slot]) {
		t->slot += t->skip;
		if (t->slot >= m)
			t->slot -= m;
	}
	taken[t->slot] = 1;
	table[t->slot] = t->b->id;
	t->slot += t->skip;
	if (t->slot >= m)
		t->slot -= m;
}

int weir_maglev_build(const struct weir_maglev_backend *backends, size_t n, uint32_t m,
		      uint64_t seed, uint32_t empty_id, uint32_t *table)
{
	const struct weir_maglev_backend **sorted = NULL;
	struct turn *turns = NULL;
	uint8_t *taken = NULL;
	uint32_t w_max = 0, filled = 0;
	size_t i, n_turns = 0;
	int err = -EINVAL;

	if (m < WEIR_MAGLEV_SIZE_MIN || m > WEIR_MAGLEV_SIZE_MAX || !weir_maglev_is_prime(m))
		return -EINVAL;
	if (n > WEIR_MAGLEV_BACKENDS_MAX)
		return -EINVAL;
	for (i = 0; i < m; i++)
		table[i] = empty_id;
	if (!n)
		return 0;
	sorted = calloc(n, sizeof(const struct weir_maglev_backend *));
	turns = calloc(n, sizeof(*turns));
	taken = calloc(m, 1);
	if (!sorted || !turns || !taken) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (backends[i].weight > WEIR_MAGLEV_WEIGHT_MAX ||
		    backends[i].name_len > WEIR_MAGLEV_NAME_MAX)
			goto out;
		sorted[i] = &backends[i];
	}
	qsort((void *)sorted, n, sizeof(const struct weir_maglev_backend *), name_cmp);
	for (i = 0; i < n; i++) {
		const struct weir_maglev_backend *b = sorted[i];
		struct turn *t;

		if (i && !name_cmp(&sorted[i - 1], &sorted[i]))
			goto out; /* duplicate name */
		if (!b->weight)
			continue;
		t = &turns[n_turns++];
		t->b = b;
		t->slot = hash_name(b->name, b->name_len, seed ^ OFFSET_SALT) % m;
		t->skip = hash_name(b->name, b->name_len, seed ^ SKIP_SALT) % (m - 1) + 1;
		if (b->weight > w_max)
			w_max = b->weight;
	}
	/* Rounds over the backends in name order; a backend's credit grows by
	 * its weight each round and buys a slot each time it reaches w_max, so
	 * the heaviest backends claim once per round and equal weights are the
	 * paper's plain round robin.
	 */
	while (n_turns && filled < m) {
		for (i = 0; i < n_turns && filled < m; i++) {
			struct turn *t = &turns[i];

			t->credit += t->b->weight;
			if (t->credit < w_max)
				continue;
			t->credit -= w_max;
			claim(t, table, taken, m);
			filled++;
		}
	}
	err = 0;
out:
	free(sorted);
	free(turns);
	free(taken);
	return err;
}
