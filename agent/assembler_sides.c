// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The assembler's table of sides: open addressing, linear probing, removal
 * by shifting the rest of a probe run back (no tombstones).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <weir/abi.h>
#include "assembler_sides.h"

#define HUGE_PAGE (2UL << 20)

static uint64_t *hash_of(const struct weir_side_table *t, void *obj)
{
	return (uint64_t *)((char *)obj + t->hash_offset);
}

/* A large slot array, backed by huge pages where it can: a sweep probes it
 * at random, a TLB miss a lookup with 4 KiB pages. calloc() maps a large
 * array fresh and leaves it untouched, so the advice still applies.
 */
static void slots_hugepage(struct weir_side_slot *slots, size_t n)
{
	size_t len = n * sizeof(*slots),
	       skip = (HUGE_PAGE - (uintptr_t)slots % HUGE_PAGE) % HUGE_PAGE;

	/* the whole huge pages inside the array */
	if (len >= skip + HUGE_PAGE)
		madvise((char *)slots + skip, (len - skip) & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
}

static struct weir_side_slot *slots_new(size_t n)
{
	struct weir_side_slot *slots = calloc(n, sizeof(*slots));

	if (slots)
		slots_hugepage(slots, n);
	return slots;
}

/* Whether n objects fit in a table of `slots` slots: a load of 3/4 at most. */
static bool fits(size_t n, size_t slots)
{
	return n <= slots / 4 * 3;
}

int weir_side_table_init(struct weir_side_table *t, size_t expected, size_t key_offset,
			 size_t hash_offset)
{
	size_t n = 16;

	while (!fits(expected, n))
		n <<= 1;
	t->slots = slots_new(n);
	if (!t->slots)
		return -ENOMEM;
	t->mask = n - 1;
	t->n = 0;
	t->key_offset = key_offset;
	t->hash_offset = hash_offset;
	return 0;
}

void weir_side_table_release(struct weir_side_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->n = 0;
}

void *weir_side_table_find(const struct weir_side_table *t, const struct weir_flow_key *key,
			   uint64_t hash)
{
	size_t i = hash & t->mask;

	for (; t->slots[i].obj; i = (i + 1) & t->mask) {
		const struct weir_side_slot *s = &t->slots[i];

		if (s->hash == hash && !memcmp((char *)s->obj + t->key_offset, key, sizeof(*key)))
			return s->obj;
	}
	return NULL;
}

static void slot_put(struct weir_side_slot *slots, size_t mask, void *obj, uint64_t hash)
{
	size_t i = hash & mask;

	while (slots[i].obj)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].obj = obj;
}

static int grow(struct weir_side_table *t)
{
	size_t n = (t->mask + 1) * 2, i;
	struct weir_side_slot *slots = slots_new(n);

	if (!slots)
		return -ENOMEM;
	for (i = 0; i <= t->mask; i++) {
		if (t->slots[i].obj)
			slot_put(slots, n - 1, t->slots[i].obj, t->slots[i].hash);
	}
	free(t->slots);
	t->slots = slots;
	t->mask = n - 1;
	return 0;
}

int weir_side_table_insert(struct weir_side_table *t, void *obj, uint64_t hash)
{
	if (!fits(t->n + 1, t->mask + 1) && grow(t))
		return -ENOMEM;
	*hash_of(t, obj) = hash;
	slot_put(t->slots, t->mask, obj, hash);
	t->n++;
	return 0;
}

/* The slot holding obj, or SIZE_MAX. */
static size_t slot_of(const struct weir_side_table *t, void *obj)
{
	size_t i = *hash_of(t, obj) & t->mask;

	for (; t->slots[i].obj; i = (i + 1) & t->mask) {
		if (t->slots[i].obj == obj)
			return i;
	}
	return SIZE_MAX;
}

void weir_side_table_remove(struct weir_side_table *t, void *obj)
{
	size_t i = slot_of(t, obj), j, home;

	if (i == SIZE_MAX)
		return;
	/* Shift back each later object of the run that may sit in slot i:
	 * one whose home slot is not cyclically in (i, j].
	 */
	for (j = (i + 1) & t->mask; t->slots[j].obj; j = (j + 1) & t->mask) {
		home = t->slots[j].hash & t->mask;
		if (i <= j ? i < home && home <= j : i < home || home <= j)
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].obj = NULL;
	t->slots[i].hash = 0;
	t->n--;
}

void weir_side_table_swap(struct weir_side_table *t, void *a, void *b)
{
	size_t i = slot_of(t, a), j = slot_of(t, b);

	if (i == SIZE_MAX || j == SIZE_MAX)
		return;
	t->slots[i].obj = b;
	t->slots[j].obj = a;
}
