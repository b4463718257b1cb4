/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TC endpoint policy: is this packet, to or from a pod with a policy,
 * allowed? The pod is the packet's source at TC ingress of its host-side
 * veth (the pod's egress) and its destination at TC egress (the pod's
 * ingress); see include/weir/policy.h. The other address is the peer: the
 * ipcache gives its identity and CIDR identity, the pod's policy map (found
 * by the pod's address) the entries for those and for any peer. Deny wins
 * over allow; without a match, the direction's default decides. A reply to
 * a flow the policy let through (policy conntrack) always passes.
 *
 * policy_verdict() returns the packet's reason code: WEIR_REASON_FORWARDED,
 * WEIR_REASON_POLICY_AUDIT (would have been dropped; audit mode) or
 * WEIR_REASON_POLICY_DENIED.
 */
#ifndef WEIR_DP_POLICY_H
#define WEIR_DP_POLICY_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <weir/abi.h>
#include <weir/policy.h>
#include "account.h"
#include "maps.h"
#include "parse.h"

/* An endpoint's policy map. The agent fills a new one and swaps it into
 * weir_policy_eps with one update: the datapath sees the old policy or the
 * new one, never half of either (an A/B set with a selector would do too,
 * at the cost of twice the entries and a second lookup).
 */
struct weir_policy_map {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEIR_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	/* sizes, not types: clang leaves a type seen only here a forward
	 * declaration, which libbpf cannot size
	 */
	__uint(key_size, sizeof(struct weir_policy_key));
	__uint(value_size, sizeof(struct weir_policy_value));
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, WEIR_POLICY_EPS_MAX);
	__type(key, struct weir_policy_ep_key);
	__array(values, struct weir_policy_map);
} weir_policy_eps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEIR_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weir_ipcache_key);
	__type(value, struct weir_ipcache_value);
} weir_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEIR_POLICY_CT_MAX);
	__type(key, struct weir_pct_key);
	__type(value, struct weir_pct_value);
} weir_policy_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weir_policy_state);
} weir_policy_state SEC(".maps");

static __always_inline struct weir_policy_value *policy_find(void *pmap, __u32 identity, __u8 dir,
							     __u8 proto, __be16 dport)
{
	struct weir_policy_key k = {
		.prefixlen = WEIR_POLICY_PREFIX_FULL,
		.identity = bpf_htonl(identity),
		.dir = dir,
		.proto = proto,
		.dport = dport,
	};

	return bpf_map_lookup_elem(pmap, &k);
}

/* Folds one lookup's entry into *deny (1 enforced, 2 audit only), *allow
 * and *def (the default entry, from the any-peer lookup).
 */
static __always_inline void policy_fold(const struct weir_policy_value *v, int *deny, int *allow,
					const struct weir_policy_value **def)
{
	if (!v)
		return;
	if (v->flags & WEIR_POLICY_F_DEFAULT) {
		*def = v;
	} else if (v->action == WEIR_POLICY_DENY) {
		if (!(v->flags & WEIR_POLICY_F_AUDIT))
			*deny = 1;
		else if (!*deny)
			*deny = 2;
	} else {
		*allow = 1;
	}
}

static __always_inline __u8 policy_decide(void *pmap, const __be32 *peer, __u8 family, __u8 dir,
					  __u8 proto, __be16 dport)
{
	struct weir_ipcache_key ik = { .prefixlen = WEIR_IPCACHE_PREFIX_BASE + 128 };
	const struct weir_policy_value *def = NULL;
	struct weir_ipcache_value *iv;
	__u32 id = WEIR_ID_WORLD, cidr_id = 0;
	int deny = 0, allow = 0;

	ik.family = family;
	__builtin_memcpy(ik.addr, peer, sizeof(ik.addr));
	if (family == 4)
		ik.prefixlen = WEIR_IPCACHE_PREFIX_BASE + 32;
	iv = bpf_map_lookup_elem(&weir_ipcache, &ik);
	if (iv) {
		id = iv->identity;
		cidr_id = iv->cidr_identity;
	}
	policy_fold(policy_find(pmap, id, dir, proto, dport), &deny, &allow, &def);
	if (cidr_id && cidr_id != id)
		policy_fold(policy_find(pmap, cidr_id, dir, proto, dport), &deny, &allow, &def);
	policy_fold(policy_find(pmap, WEIR_ID_ANY, dir, proto, dport), &deny, &allow, &def);

	if (deny == 1)
		return WEIR_REASON_POLICY_DENIED;
	if (deny == 2)
		return WEIR_REASON_POLICY_AUDIT;
	if (allow || !def || def->action != WEIR_POLICY_DENY)
		return WEIR_REASON_FORWARDED;
	return def->flags & WEIR_POLICY_F_AUDIT ? WEIR_REASON_POLICY_AUDIT :
						  WEIR_REASON_POLICY_DENIED;
}

/* The ports of a non-first fragment, from its first fragment (account.h
 * records them); without them the policy sees port 0.
 */
static __always_inline void policy_frag_ports(const struct weir_pkt *p, __be16 *sport,
					      __be16 *dport)
{
	struct weir_frag_key fk = {};
	struct weir_frag_value *fv;

	__builtin_memcpy(fk.saddr, p->key.saddr, sizeof(fk.saddr));
	__builtin_memcpy(fk.daddr, p->key.daddr, sizeof(fk.daddr));
	fk.id = p->frag_id;
	fk.proto = p->key.proto;
	fk.family = p->key.family;
	fv = bpf_map_lookup_elem(&weir_frags, &fk);
	if (fv) {
		*sport = fv->sport;
		*dport = fv->dport;
	}
}

static __always_inline __u64 pct_lifetime_ns(__u8 proto, __u8 state)
{
	if (proto != IPPROTO_TCP)
		return WEIR_PCT_OTHER_NS;
	if (state & WEIR_PCT_CLOSING)
		return WEIR_PCT_TCP_CLOSE_NS;
	if (state & WEIR_PCT_ESTAB)
		return WEIR_PCT_TCP_ESTAB_NS;
	return WEIR_PCT_TCP_SYN_NS;
}

static __always_inline void pct_touch(struct weir_pct_value *ct, __u8 proto, __u32 tcp_flags,
				      int reply, __u64 now_ns)
{
	__u8 state = ct->state;

	if (reply)
		state |= WEIR_PCT_ESTAB;
	if (tcp_flags & (WEIR_TCP_FIN | WEIR_TCP_RST))
		state |= WEIR_PCT_CLOSING;
	else if ((tcp_flags & WEIR_TCP_SYN) && !(tcp_flags & WEIR_TCP_ACK) && !reply)
		state = WEIR_PCT_SYN; /* a new connection on an old tuple */
	if (state != ct->state)
		ct->state = state;
	ct->expires_ns = now_ns + pct_lifetime_ns(proto, state);
}

static __always_inline __u8 policy_verdict(struct weir_pkt *p)
{
	__u8 dir = p->key.dir == WEIR_DIR_INGRESS ? WEIR_POLICY_EGRESS : WEIR_POLICY_INGRESS;
	struct weir_policy_ep_key ek = {};
	struct weir_policy_state *st;
	__u32 zero = 0;
	__u64 now_ns;
	struct weir_pct_key ck = {}, rk = {};
	struct weir_pct_value *ct;
	const __be32 *pod, *peer;
	__be16 sport, dport;
	int icmp;
	__u8 reason;
	void *pmap;

	st = bpf_map_lookup_elem(&weir_policy_state, &zero);
	if (!st || !st->endpoints)
		return WEIR_REASON_FORWARDED; /* no policy anywhere */
	pod = dir == WEIR_POLICY_EGRESS ? p->key.saddr : p->key.daddr;
	peer = dir == WEIR_POLICY_EGRESS ? p->key.daddr : p->key.saddr;
	__builtin_memcpy(ek.addr, pod, sizeof(ek.addr));
	ek.family = p->key.family;
	pmap = bpf_map_lookup_elem(&weir_policy_eps, &ek);
	if (!pmap)
		return WEIR_REASON_FORWARDED; /* no policy: everything passes */
	now_ns = bpf_ktime_get_coarse_ns();

	sport = p->key.sport;
	dport = p->key.dport;
	if (p->is_frag && !p->frag_first)
		policy_frag_ports(p, &sport, &dport);
	/* ICMP is tracked by addresses alone: an echo reply's type is not
	 * the request's.
	 */
	icmp = p->key.proto == IPPROTO_ICMP || p->key.proto == IPPROTO_ICMPV6;
	if (icmp)
		sport = dport = 0;

	__builtin_memcpy(rk.saddr, p->key.daddr, sizeof(rk.saddr));
	__builtin_memcpy(rk.daddr, p->key.saddr, sizeof(rk.daddr));
	rk.sport = dport;
	rk.dport = sport;
	rk.proto = p->key.proto;
	rk.family = p->key.family;
	rk.dir = dir == WEIR_POLICY_EGRESS ? WEIR_POLICY_INGRESS : WEIR_POLICY_EGRESS;
	ct = bpf_map_lookup_elem(&weir_policy_ct, &rk);
	if (ct && ct->expires_ns > now_ns) {
		pct_touch(ct, p->key.proto, p->tcp_flags, 1, now_ns);
		return WEIR_REASON_FORWARDED; /* a reply to an allowed flow */
	}

	reason = policy_decide(pmap, peer, p->key.family, dir, p->key.proto, dport);
	if (reason == WEIR_REASON_POLICY_DENIED)
		return reason;

	__builtin_memcpy(ck.saddr, p->key.saddr, sizeof(ck.saddr));
	__builtin_memcpy(ck.daddr, p->key.daddr, sizeof(ck.daddr));
	ck.sport = sport;
	ck.dport = dport;
	ck.proto = p->key.proto;
	ck.family = p->key.family;
	ck.dir = dir;
	ct = bpf_map_lookup_elem(&weir_policy_ct, &ck);
	if (ct) {
		pct_touch(ct, p->key.proto, p->tcp_flags, 0, now_ns);
	} else {
		struct weir_pct_value nv = {
			.state = p->key.proto == IPPROTO_TCP ? WEIR_PCT_SYN : 0,
		};

		pct_touch(&nv, p->key.proto, p->tcp_flags, 0, now_ns);
		if (bpf_map_update_elem(&weir_policy_ct, &ck, &nv, BPF_ANY))
			counter_inc(WEIR_CNT_POLICY_CT_FAILED);
	}
	return reason;
}

#endif /* WEIR_DP_POLICY_H */
