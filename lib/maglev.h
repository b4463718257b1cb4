/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights: the
 * lookup table of one service, M slots (M prime), each holding a backend id.
 *
 * Each backend's preference list is the paper's permutation of the slots,
 * offset + j * skip (mod M), with offset and skip from two seeded hashes of
 * the backend's stable name (its address and port, never its id, which each
 * node allocates on its own). Backends take turns claiming their next free
 * preferred slot; with weights (Katran's variant) a backend takes a turn
 * each time its accumulated weight reaches the largest weight, so its share
 * of the table follows its weight's share. Backends are ordered by name
 * first, so the table depends only on the set of (name, weight), the seed
 * and M: the same on every run and every node, whatever order the caller
 * lists them in.
 */
#ifndef WEIR_MAGLEV_H
#define WEIR_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_MAGLEV_NAME_MAX	 32    /* bytes of a backend's stable name */
#define WEIR_MAGLEV_SIZE_DEFAULT 16381 /* a prime (see README: table size) */
#define WEIR_MAGLEV_SIZE_MIN	 7
#define WEIR_MAGLEV_SIZE_MAX	 131071 /* Cilium's largest supported size */
#define WEIR_MAGLEV_WEIGHT_MAX	 65535
#define WEIR_MAGLEV_BACKENDS_MAX 65536

struct weir_maglev_backend {
	uint8_t name[WEIR_MAGLEV_NAME_MAX]; /* stable name, e.g. family, address, port */
	uint8_t name_len;
	uint32_t id;	 /* what the table's slots hold */
	uint32_t weight; /* 0: not in the table (drained, down) */
};

bool weir_maglev_is_prime(uint32_t n);

/* The stable name of backend (family 4 or 6, address in network order,
 * port in host order) into b->name.
 */
void weir_maglev_name(struct weir_maglev_backend *b, uint8_t family, const uint8_t addr[16],
		      uint16_t port);

/* Fills table[0..m) with backend ids. m must be a prime within
 * [WEIR_MAGLEV_SIZE_MIN, WEIR_MAGLEV_SIZE_MAX]; names must be distinct.
 * With no backend of non-zero weight every slot is empty_id. Returns 0,
 * -EINVAL (bad m, duplicate name, weight over WEIR_MAGLEV_WEIGHT_MAX) or
 * -ENOMEM. Costs O(m log m) for equal weights.
 */
int weir_maglev_build(const struct weir_maglev_backend *backends, size_t n, uint32_t m,
		      uint64_t seed, uint32_t empty_id, uint32_t *table);

#endif /* WEIR_MAGLEV_H */
