/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The XDP prefilter: drops packets whose source address is on the deny list
 * before anything else runs (no L4 parsing, no flow entry), counts them per
 * list entry and in the metrics (PREFILTER_DENIED), and raises rate-limited
 * drop events. The ABI, the A/B map sets and the rate limit are described in
 * include/weir/prefilter.h.
 */
#ifndef WEIR_DP_PREFILTER_H
#define WEIR_DP_PREFILTER_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <weir/abi.h>
#include <weir/prefilter.h>
#include "ctx.h"
#include "parse.h"
#include "account.h"

/* One map of a set. Tries must be created with BPF_F_NO_PREALLOC; the
 * exact hashes are not preallocated either, so an empty list costs only
 * the hash bucket arrays.
 */
#define PF_MAP(name, map_type, key_type, entries)     \
	struct {                                      \
		__uint(type, map_type);               \
		__uint(max_entries, entries);         \
		__uint(map_flags, BPF_F_NO_PREALLOC); \
		__type(key, key_type);                \
		__type(value, struct weir_pf_value);  \
	} name SEC(".maps")

PF_MAP(weir_pf4_lpm_a, BPF_MAP_TYPE_LPM_TRIE, struct weir_pf_lpm4_key, WEIR_PF_LPM_MAX);
PF_MAP(weir_pf4_lpm_b, BPF_MAP_TYPE_LPM_TRIE, struct weir_pf_lpm4_key, WEIR_PF_LPM_MAX);
PF_MAP(weir_pf6_lpm_a, BPF_MAP_TYPE_LPM_TRIE, struct weir_pf_lpm6_key, WEIR_PF_LPM_MAX);
PF_MAP(weir_pf6_lpm_b, BPF_MAP_TYPE_LPM_TRIE, struct weir_pf_lpm6_key, WEIR_PF_LPM_MAX);
PF_MAP(weir_pf4_hash_a, BPF_MAP_TYPE_HASH, struct weir_pf_exact4_key, WEIR_PF_EXACT_MAX_DEFAULT);
PF_MAP(weir_pf4_hash_b, BPF_MAP_TYPE_HASH, struct weir_pf_exact4_key, WEIR_PF_EXACT_MAX_DEFAULT);
PF_MAP(weir_pf6_hash_a, BPF_MAP_TYPE_HASH, struct weir_pf_exact6_key, WEIR_PF_EXACT_MAX_DEFAULT);
PF_MAP(weir_pf6_hash_b, BPF_MAP_TYPE_HASH, struct weir_pf_exact6_key, WEIR_PF_EXACT_MAX_DEFAULT);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weir_pf_state);
} weir_pf_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_PF_IDS_MAX);
	__type(key, __u32);
	__type(value, struct weir_pf_hits);
} weir_pf_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_PF_EVTIME_SLOTS);
	__type(key, __u32);
	__type(value, struct weir_pf_evslot);
} weir_pf_evtime SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weir_pf_evbudget);
} weir_pf_evbudget SEC(".maps");

/* The map of the active set; the verifier wants a constant map per call. */
#define pf_lookup(set, map_a, map_b, key) \
	((set) ? bpf_map_lookup_elem(&(map_b), key) : bpf_map_lookup_elem(&(map_a), key))

static __always_inline struct weir_pf_value *pf_match4(__u32 set, __u8 kinds, const __be32 *saddr)
{
	struct weir_pf_value *v;

	if (kinds & WEIR_PF_HAS_EXACT4) {
		struct weir_pf_exact4_key k = { .addr = *saddr };

		v = pf_lookup(set, weir_pf4_hash_a, weir_pf4_hash_b, &k);
		if (v)
			return v;
	}
	if (kinds & WEIR_PF_HAS_LPM4) {
		struct weir_pf_lpm4_key k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, saddr, sizeof(k.addr));
		return pf_lookup(set, weir_pf4_lpm_a, weir_pf4_lpm_b, &k);
	}
	return NULL;
}

static __always_inline struct weir_pf_value *pf_match6(__u32 set, __u8 kinds, const __be32 *saddr)
{
	struct weir_pf_value *v;

	if (kinds & WEIR_PF_HAS_EXACT6) {
		struct weir_pf_exact6_key k;

		__builtin_memcpy(k.addr, saddr, sizeof(k.addr));
		v = pf_lookup(set, weir_pf6_hash_a, weir_pf6_hash_b, &k);
		if (v)
			return v;
	}
	if (kinds & WEIR_PF_HAS_LPM6) {
		struct weir_pf_lpm6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, saddr, sizeof(k.addr));
		return pf_lookup(set, weir_pf6_lpm_a, weir_pf6_lpm_b, &k);
	}
	return NULL;
}

/* Whether this drop may raise an event (the rate limit is described in
 * include/weir/prefilter.h). Per CPU throughout: no atomics.
 */
static __always_inline int pf_event_allowed(__u8 family, const __be32 *saddr, __u64 now_ns)
{
	__u32 slot = weir_pf_evtime_slot(saddr, family), zero = 0;
	struct weir_pf_evbudget *b;
	struct weir_pf_evslot *e;
	__be32 a[4] = { saddr[0], 0, 0, 0 };

	/* The budget first: under a flood of new sources it is spent, and the
	 * source's slot (a likely cache miss) is not touched at all.
	 */
	b = bpf_map_lookup_elem(&weir_pf_evbudget, &zero);
	if (!b)
		return 0;
	if (now_ns - b->window_start_ns >= 1000000000ULL) {
		b->window_start_ns = now_ns;
		b->events = 0;
	}
	if (b->events >= WEIR_PF_EVENTS_PER_SEC_CPU)
		return 0;
	if (family == 6) {
		a[1] = saddr[1];
		a[2] = saddr[2];
		a[3] = saddr[3];
	}
	e = bpf_map_lookup_elem(&weir_pf_evtime, &slot);
	if (!e)
		return 0;
	if (e->family == family && e->addr[0] == a[0] && e->addr[1] == a[1] && e->addr[2] == a[2] &&
	    e->addr[3] == a[3] && now_ns - e->last_event_ns < WEIR_PF_EVENT_INTERVAL_NS)
		return 0;
	b->events += 1;
	__builtin_memcpy(e->addr, a, sizeof(a));
	e->family = family;
	e->last_event_ns = now_ns;
	return 1;
}

/* The drop event, fully parsed (ports too): events are rare, so the parse
 * the drop path skips is paid here. A global function, verified once on its
 * own.
 */
__attribute__((noinline)) int prefilter_event(struct xdp_md *ctx, __u64 now_ns)
{
	struct weir_pkt p = {};
	struct pkt_view v;

	if (!ctx)
		return 0;
	xdp_view(ctx, &v);
	p.key.ifindex = v.ifindex;
	p.key.dir = WEIR_DIR_INGRESS;
	p.key.hook = WEIR_HOOK_XDP;
	parse_packet(&v, &p); /* a malformed packet's event keeps what was parsed */
	event_emit(WEIR_EV_DROP, &p, WEIR_REASON_PREFILTER_DENIED, v.len_bytes, now_ns);
	return 0;
}

/* Returns 1 when the packet's source is denied (counted, reported: the
 * caller drops it), 0 otherwise. Only Ethernet, up to two VLAN tags and the
 * IP source address are read; anything it cannot read goes on to the full
 * parse, which judges it.
 */
static __always_inline int prefilter_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct weir_pf_state *st;
	struct weir_pf_value *v;
	struct weir_pf_hits *h;
	const __be32 *saddr;
	__u32 zero = 0, set, id, len_bytes;
	__be16 proto;
	__u8 kinds, family;
	void *l3;
	int i;

	st = bpf_map_lookup_elem(&weir_pf_state, &zero);
	if (!st)
		return 0;
	set = st->active & 1;
	kinds = st->kinds[set];
	if (!kinds)
		return 0; /* empty list: nothing to parse */

	if ((void *)(eth + 1) > end)
		return 0;
	proto = eth->h_proto;
	l3 = eth + 1;
#pragma unroll
	for (i = 0; i < WEIR_VLAN_MAX_DEPTH; i++) {
		struct vlan_tag *tag = l3;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > end)
			return 0;
		proto = tag->encap_proto;
		l3 = tag + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > end)
			return 0;
		saddr = &ip->saddr;
		family = 4;
		v = pf_match4(set, kinds, saddr);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > end)
			return 0;
		saddr = (const __be32 *)&ip6->saddr;
		family = 6;
		v = pf_match6(set, kinds, saddr);
	} else {
		return 0;
	}
	if (!v)
		return 0;

	len_bytes = end - data;
	id = v->id;
	h = bpf_map_lookup_elem(&weir_pf_hits, &id);
	if (!h) { /* an id beyond the array: count it with the shared slot */
		id = WEIR_PF_ID_SHARED;
		h = bpf_map_lookup_elem(&weir_pf_hits, &id);
	}
	if (h) {
		h->packets += 1; /* per CPU: no atomics needed */
		h->bytes += len_bytes;
	}
	metrics_count(WEIR_REASON_PREFILTER_DENIED, WEIR_DIR_INGRESS, WEIR_HOOK_XDP, len_bytes);

	{
		__u64 now_ns = bpf_ktime_get_coarse_ns();

		if (pf_event_allowed(family, saddr, now_ns))
			prefilter_event(ctx, now_ns);
		else
			counter_inc(WEIR_CNT_PREFILTER_EVENTS_SUPPRESSED);
	}
	return 1;
}

#endif /* WEIR_DP_PREFILTER_H */
