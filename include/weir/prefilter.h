/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The XDP prefilter's ABI: a deny list of source CIDRs, shared by the BPF
 * side (datapath/lib/prefilter.h) and the agent (agent/prefilter.c).
 *
 * Per family, a prefix shorter than the address goes into an LPM trie and a
 * full-length one (/32, /128) into an exact-match hash, so that a list of a
 * million single addresses costs one hash lookup, not a deep trie walk.
 *
 * Atomic updates: the maps come in two sets, A and B. The datapath reads the
 * set weir_pf_state.active names; the agent writes a whole new list into the
 * other set, then flips `active` (one 4-byte store), so a packet sees either
 * the old list or the new one, never a mix. The set that went inactive is
 * emptied only at the start of the next update (never while a packet that
 * read the old selector could still be walking it).
 *
 * Counting: every entry carries an id; weir_pf_hits (per CPU) counts the
 * packets and bytes of each id. Ids 1..WEIR_PF_IDS_MAX-1 belong to one entry
 * each and stay with their CIDR across updates; entries beyond that share id
 * 0 (WEIR_PF_ID_SHARED).
 */
#ifndef WEIR_PREFILTER_H
#define WEIR_PREFILTER_H

#include <linux/types.h>

/* LPM trie keys: the kernel's struct bpf_lpm_trie_key layout. */
struct weir_pf_lpm4_key {
	__u32 prefixlen; /* 0..32, host order */
	__u8 addr[4];	 /* network order */
};
_Static_assert(sizeof(struct weir_pf_lpm4_key) == 8, "weir_pf_lpm4_key ABI");

struct weir_pf_lpm6_key {
	__u32 prefixlen; /* 0..128 */
	__u8 addr[16];
};
_Static_assert(sizeof(struct weir_pf_lpm6_key) == 20, "weir_pf_lpm6_key ABI");

/* Exact-match keys: the address as it is in the packet. */
struct weir_pf_exact4_key {
	__be32 addr;
};
_Static_assert(sizeof(struct weir_pf_exact4_key) == 4, "weir_pf_exact4_key ABI");

struct weir_pf_exact6_key {
	__be32 addr[4];
};
_Static_assert(sizeof(struct weir_pf_exact6_key) == 16, "weir_pf_exact6_key ABI");

/* The value of every list entry, LPM and exact alike. */
struct weir_pf_value {
	__u32 id; /* index into weir_pf_hits */
};
_Static_assert(sizeof(struct weir_pf_value) == 4, "weir_pf_value ABI");

/* weir_pf_hits value: per CPU, summed by the agent. */
struct weir_pf_hits {
	__u64 packets;
	__u64 bytes; /* L2 frame bytes */
};
_Static_assert(sizeof(struct weir_pf_hits) == 16, "weir_pf_hits ABI");

/* weir_pf_state.kinds[set] bits: which maps of a set hold entries, so the
 * datapath skips lookups in empty ones.
 */
#define WEIR_PF_HAS_LPM4   0x01
#define WEIR_PF_HAS_EXACT4 0x02
#define WEIR_PF_HAS_LPM6   0x04
#define WEIR_PF_HAS_EXACT6 0x08

/* weir_pf_state, a one-entry array. */
struct weir_pf_state {
	__u32 active;	/* 0: set A, 1: set B */
	__u32 revision; /* bumped by every update; the API reports it */
	__u8 kinds[2];	/* WEIR_PF_HAS_* of set A and set B */
	__u8 pad[6];
};
_Static_assert(sizeof(struct weir_pf_state) == 16, "weir_pf_state ABI");

/* Drop-event rate limit. weir_pf_evtime is a per-CPU, direct-mapped cache
 * of sources: slot weir_pf_evtime_slot(source) holds the last source that
 * raised an event there and when. A source whose slot still holds it, less
 * than WEIR_PF_EVENT_INTERVAL_NS ago, raises no event: at most one event per
 * source per second on each CPU, and the packets of one flow arrive on one
 * CPU (RSS), so at most one per flow per second. Sources that collide in a
 * slot evict each other and may raise more; WEIR_PF_EVENTS_PER_SEC_CPU caps
 * every CPU's events a second whatever happens, so a flood of spoofed
 * sources cannot flood the ring buffer either. Suppressed events are counted
 * in WEIR_CNT_PREFILTER_EVENTS_SUPPRESSED.
 *
 * Why not an LRU hash keyed by source: its lookup cost 20-25 ns on every
 * dropped packet (bench/prefilter), a quarter of the drop path; an array
 * slot costs 2-3.
 */
struct weir_pf_evslot {
	__be32 addr[4]; /* IPv4 in addr[0], rest zero */
	__u8 family;	/* 4 or 6; 0: empty */
	__u8 pad[7];
	__u64 last_event_ns; /* CLOCK_MONOTONIC_COARSE */
};
_Static_assert(sizeof(struct weir_pf_evslot) == 32, "weir_pf_evslot ABI");

#define WEIR_PF_EVTIME_SLOTS_LOG2 12 /* 4096 slots per CPU, 128 KiB */
#define WEIR_PF_EVTIME_SLOTS	  (1u << WEIR_PF_EVTIME_SLOTS_LOG2)

/* A source's slot: the four address words folded, then a multiplicative
 * hash (Fibonacci hashing), so neighbouring addresses spread out.
 */
static inline __u32 weir_pf_evtime_slot(const __be32 *addr, __u8 family)
{
	__u32 x = addr[0];

	if (family == 6)
		x ^= addr[1] ^ addr[2] ^ addr[3];
	return (x * 0x9e3779b1u) >> (32 - WEIR_PF_EVTIME_SLOTS_LOG2);
}

/* weir_pf_evbudget value: this CPU's event budget in the current second. */
struct weir_pf_evbudget {
	__u64 window_start_ns; /* CLOCK_MONOTONIC_COARSE */
	__u64 events;	       /* raised in this window */
};
_Static_assert(sizeof(struct weir_pf_evbudget) == 16, "weir_pf_evbudget ABI");

#define WEIR_PF_EVENT_INTERVAL_NS  1000000000ULL /* one event per source per second */
#define WEIR_PF_EVENTS_PER_SEC_CPU 1000		 /* and at most this many per CPU */

#define WEIR_PF_ID_SHARED 0 /* the counter of entries beyond WEIR_PF_IDS_MAX - 1 */

/* Map names (pinned as WEIR_PIN_DIR "/" name, like every map). */
#define WEIR_MAP_PF_STATE    "weir_pf_state"
#define WEIR_MAP_PF_HITS     "weir_pf_hits"
#define WEIR_MAP_PF_EVTIME   "weir_pf_evtime"
#define WEIR_MAP_PF_EVBUDGET "weir_pf_evbudget"
/* weir_pf4_lpm_a, weir_pf4_hash_a, weir_pf6_lpm_a, weir_pf6_hash_a, and _b */

/* Sizes. Tries and hashes are not preallocated (the kernel allocates per
 * entry), but a hash's bucket array is, 16 B per slot: the four exact hashes
 * cost 64 B x exact_max up front, so the default is modest and the loader
 * raises it (weir_datapath_opts.pf_exact_max, weir-agent
 * --prefilter-max-addresses).
 */
#define WEIR_PF_LPM_MAX		  16384 /* prefixes per family and set */
#define WEIR_PF_EXACT_MAX_DEFAULT 65536 /* full-length addresses per family and set */
#define WEIR_PF_IDS_MAX		  65536 /* per-entry counters: 16 B per CPU each */

#endif /* WEIR_PREFILTER_H */
