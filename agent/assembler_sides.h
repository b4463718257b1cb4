/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The assembler's table of sides (kernel flow entries) by key: open
 * addressing with linear probing, each slot a key's hash and its side. A
 * sweep looks up every kernel entry and, for new ones, their reverse keys:
 * a lookup here reads one slot line (fetched ahead) and a side only when its
 * hash matches, where a chained table walks nodes, a cache miss each.
 *
 * The table stores pointers to the caller's objects, each of which holds
 * its flow key at key_offset and its key's hash (weir_side_table_insert()
 * sets it) at hash_offset. Not thread-safe.
 */
#ifndef WEIR_AGENT_ASSEMBLER_SIDES_H
#define WEIR_AGENT_ASSEMBLER_SIDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct weir_flow_key;

struct weir_side_slot {
	uint64_t hash;
	void *obj; /* NULL: empty */
};

struct weir_side_table {
	struct weir_side_slot *slots;
	size_t mask;	    /* slots - 1; slots is a power of two */
	size_t n;	    /* objects stored */
	size_t key_offset;  /* of the object's struct weir_flow_key */
	size_t hash_offset; /* of the object's uint64_t hash */
};

/* Sized for `expected` objects at a load of at most 3/4; it grows past that. */
int weir_side_table_init(struct weir_side_table *t, size_t expected, size_t key_offset,
			 size_t hash_offset);
void weir_side_table_release(struct weir_side_table *t);
/* The object with this key and hash, or NULL. */
void *weir_side_table_find(const struct weir_side_table *t, const struct weir_flow_key *key,
			   uint64_t hash);
/* Adds obj (whose key is not in the table) under hash; -ENOMEM leaves the
 * table as it was.
 */
int weir_side_table_insert(struct weir_side_table *t, void *obj, uint64_t hash);
/* Removes obj, if it is in the table. */
void weir_side_table_remove(struct weir_side_table *t, void *obj);
/* a and b, both in the table, trade slots: call it right before a and b
 * trade their contents (keys and hashes both), which the caller then does.
 */
void weir_side_table_swap(struct weir_side_table *t, void *a, void *b);

/* The slot line where a lookup of hash starts, into the cache. */
static inline void weir_side_table_prefetch(const struct weir_side_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->slots[hash & t->mask]);
}

/* The object a lookup of hash would compare first, into the cache (its
 * first two lines): reads the slot line, so fetch that first
 * (weir_side_table_prefetch()).
 */
static inline void weir_side_table_prefetch_obj(const struct weir_side_table *t, uint64_t hash)
{
	size_t i = hash & t->mask;

	for (; t->slots[i].obj; i = (i + 1) & t->mask) {
		if (t->slots[i].hash == hash) {
			__builtin_prefetch(t->slots[i].obj);
			__builtin_prefetch((char *)t->slots[i].obj + 64);
			return;
		}
	}
}

#endif /* WEIR_AGENT_ASSEMBLER_SIDES_H */
