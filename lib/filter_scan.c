// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A filter set's answers over a scan of many records, each endpoint's part
 * of them computed once (see filter.h).
 *
 * A 1% query of an agent's full store looks at 65535 records to return 655.
 * Matching a pod name costs each record three dependent cache misses past
 * its own line: the endpoint, then its namespace and its name strings. Here
 * the endpoint's address, read from the record, finds a slot that holds one
 * bit per filter and side, so a record costs a line of this table instead.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "filter.h"
#include "filter_priv.h"

/* Filters (allow and deny together) a scan remembers: a bit each per side. */
#define SCAN_FILTERS_MAX 32
/* Endpoints remembered: open addressing over a power of two slots, 32 KiB
 * (in a core's L1 cache). A node's pods, host and world fill a fraction of it.
 */
#define SCAN_SLOT_BITS	 11
#define SCAN_SLOTS	 (1u << SCAN_SLOT_BITS)
#define SCAN_PROBES	 8
/* Endpoints that found no free slot before the scan stops remembering: its
 * records do not share endpoint objects (the relay's, decoded one by one).
 */
#define SCAN_FULL_MAX	 256

struct slot {
	const struct weir_endpoint *ep; /* NULL: a free slot */
	uint32_t src;			/* bit i: filter i's source endpoint fields match ep */
	uint32_t dst;			/* bit i: its destination endpoint fields do */
};

struct weir_filter_scan {
	const struct weir_filter_set *fs;
	bool remember;
	bool src_fields, dst_fields; /* some filter sets F_SRC_ENDPOINT, F_DST_ENDPOINT */
	unsigned int full;	     /* endpoints that found no free slot */
	struct slot *slots;
};

static const struct weir_filter *filter_at(const struct weir_filter_set *fs, size_t i)
{
	return i < fs->n_allow ? &fs->allow[i] : &fs->deny[i - fs->n_allow];
}

int weir_filter_scan_new(struct weir_filter_scan **out, const struct weir_filter_set *fs)
{
	struct weir_filter_scan *sc;
	size_t i, n = fs ? fs->n_allow + fs->n_deny : 0;

	*out = NULL;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->fs = fs;
	for (i = 0; i < n; i++) {
		sc->src_fields |= !!(filter_at(fs, i)->fields & F_SRC_ENDPOINT);
		sc->dst_fields |= !!(filter_at(fs, i)->fields & F_DST_ENDPOINT);
	}
	/* nothing to remember, or too many filters for a slot's bits */
	if ((sc->src_fields || sc->dst_fields) && n <= SCAN_FILTERS_MAX) {
		sc->slots = calloc(SCAN_SLOTS, sizeof(*sc->slots));
		if (!sc->slots) {
			free(sc);
			return -ENOMEM;
		}
		sc->remember = true;
	}
	*out = sc;
	return 0;
}

void weir_filter_scan_free(struct weir_filter_scan *sc)
{
	if (!sc)
		return;
	free(sc->slots);
	free(sc);
}

void weir_filter_scan_forget(struct weir_filter_scan *sc)
{
	if (sc->slots)
		memset(sc->slots, 0, SCAN_SLOTS * sizeof(*sc->slots));
}

static void endpoint_bits(const struct weir_filter_set *fs, const struct weir_endpoint *ep,
			  uint32_t *src, uint32_t *dst)
{
	size_t i, n = fs->n_allow + fs->n_deny;

	*src = 0;
	*dst = 0;
	for (i = 0; i < n; i++) {
		*src |= (uint32_t)weir_filter_match_src(filter_at(fs, i), ep) << i;
		*dst |= (uint32_t)weir_filter_match_dst(filter_at(fs, i), ep) << i;
	}
}

static inline size_t slot_index(const struct weir_endpoint *ep)
{
	return (uint64_t)(uintptr_t)ep * 0x9e3779b97f4a7c15ULL >> (64 - SCAN_SLOT_BITS);
}

/* ep at its first sight: its bits, in a free slot near its index if there is
 * one (else in *tmp; and too many such and the scan stops remembering).
 */
static __attribute__((noinline)) const struct slot *endpoint_fill(struct weir_filter_scan *sc,
								  const struct weir_endpoint *ep,
								  struct slot *tmp)
{
	struct slot *s = tmp;
	size_t h = slot_index(ep);
	unsigned int i;

	for (i = 0; ep && i < SCAN_PROBES; i++) {
		if (!sc->slots[(h + i) & (SCAN_SLOTS - 1)].ep) {
			s = &sc->slots[(h + i) & (SCAN_SLOTS - 1)];
			break;
		}
	}
	if (s == tmp && ep && ++sc->full >= SCAN_FULL_MAX)
		sc->remember = false;
	s->ep = ep;
	endpoint_bits(sc->fs, ep, &s->src, &s->dst);
	return s;
}

/* ep's slot, or its bits in *tmp. */
static inline const struct slot *endpoint_slot(struct weir_filter_scan *sc,
					       const struct weir_endpoint *ep, struct slot *tmp)
{
	size_t h = slot_index(ep);
	const struct slot *s;
	unsigned int i;

	for (i = 0; i < SCAN_PROBES; i++) {
		s = &sc->slots[(h + i) & (SCAN_SLOTS - 1)];
		if (s->ep == ep && ep)
			return s;
		if (!s->ep)
			break;
	}
	return endpoint_fill(sc, ep, tmp);
}

/* Bit i: filter i's endpoint fields match a record from src to dst. */
static uint32_t endpoints_bits(struct weir_filter_scan *sc, const struct weir_endpoint *src,
			       const struct weir_endpoint *dst)
{
	uint32_t both = UINT32_MAX;
	struct slot tmp;

	if (sc->src_fields)
		both &= endpoint_slot(sc, src, &tmp)->src;
	if (sc->dst_fields)
		both &= endpoint_slot(sc, dst, &tmp)->dst;
	return both;
}

bool weir_filter_scan_may_match(struct weir_filter_scan *sc, const struct weir_endpoint *src,
				const struct weir_endpoint *dst)
{
	const struct weir_filter_set *fs = sc->fs;

	if (!sc->remember || !fs->n_allow)
		return true;
	return endpoints_bits(sc, src, dst) & (UINT32_MAX >> (32 - fs->n_allow));
}

bool weir_filter_scan_match(struct weir_filter_scan *sc, const struct weir_flow_record *r)
{
	const struct weir_filter_set *fs = sc->fs;
	uint32_t both;
	size_t i;

	if (!sc->remember)
		return weir_filter_set_match(fs, r);
	both = endpoints_bits(sc, r->src, r->dst);
	/* weir_filter_set_match()'s rule, each endpoint's part a bit of both */
	for (i = 0; i < fs->n_allow; i++)
		if ((both >> i & 1) && weir_filter_match_fields(&fs->allow[i], r))
			break;
	if (fs->n_allow && i == fs->n_allow)
		return false;
	for (i = 0; i < fs->n_deny; i++)
		if ((both >> (fs->n_allow + i) & 1) && weir_filter_match_fields(&fs->deny[i], r))
			return false;
	return true;
}
