/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* An intrusive chained hash table: the caller embeds a weir_hnode in its
 * entries and supplies the hash and the comparison. Not thread-safe.
 */
#ifndef WEIR_HASHTAB_H
#define WEIR_HASHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct weir_hnode {
	struct weir_hnode *next;
	uint64_t hash;
};

struct weir_htab {
	struct weir_hnode **buckets;
	size_t n_buckets; /* a power of two */
	size_t n;	  /* entries */
};

int weir_htab_init(struct weir_htab *t, size_t expected);
void weir_htab_release(struct weir_htab *t);
/* Grows the table as needed; -ENOMEM leaves it as it was, entry not added. */
int weir_htab_insert(struct weir_htab *t, struct weir_hnode *node, uint64_t hash);
void weir_htab_remove(struct weir_htab *t, struct weir_hnode *node);

/* Iterates the nodes with this hash; the caller compares the keys. */
#define weir_htab_for_each_possible(t, pos, h)                                        \
	for ((pos) = (t)->n ? (t)->buckets[(h) & ((t)->n_buckets - 1)] : NULL; (pos); \
	     (pos) = (pos)->next)                                                     \
		if ((pos)->hash == (h))

/* Iterates every node; safe against removing pos (tmp holds the next). */
#define weir_htab_for_each_safe(t, i, pos, tmp)                                          \
	for ((i) = 0; (i) < (t)->n_buckets; (i)++)                                       \
		for ((pos) = (t)->buckets[i], (tmp) = (pos) ? (pos)->next : NULL; (pos); \
		     (pos) = (tmp), (tmp) = (pos) ? (pos)->next : NULL)

/* A 64-bit hash of len bytes, eight at a time, well mixed in every bit. */
uint64_t weir_hash_bytes(const void *data, size_t len);

#endif /* WEIR_HASHTAB_H */
