/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The load balancer's XDP half: a TCP or UDP packet to a service (VIP, port,
 * protocol) is pinned to a backend by conntrack, or given one by session
 * affinity or the service's Maglev table, then DNATed to it in place and
 * passed to the stack, which routes it. The ABI and the map contract are in
 * include/weir/lb.h; the reply's reverse NAT is lb_revnat.h.
 *
 * Cost on the common path: a packet to no service pays one hash lookup that
 * misses (TCP and UDP only); a packet of a known flow pays the service, the
 * conntrack and the backend lookups plus the rewrite.
 */
#ifndef WEIR_DP_LB_H
#define WEIR_DP_LB_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <weir/lb.h>
#include "lb_maps.h"
#include "parse.h"
#include "csum.h"

/* Bounds the verifier needs on the parser's offsets (parse.h keeps IPv6
 * extension headers within the first 1 KiB; Ethernet and two tags are 22).
 */
#define LB_L3_OFF_MASK 0x3f
#define LB_L4_OFF_MASK 0x7ff

#define LB_NS_PER_S 1000000000ull

#define LB_MAGLEV_PROBES 4 /* table entries tried for one new flow */

static __always_inline int lb_proto_ok(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* One forwarded packet (of a new flow when new_flow) of a service or backend. */
static __always_inline void lb_stats_add(void *map, __u32 id, __u32 new_flow, __u32 len_bytes)
{
	struct weir_lb_stats *s = bpf_map_lookup_elem(map, &id);

	if (s) { /* per-CPU: no atomics needed */
		s->new_flows += new_flow;
		s->packets += 1;
		s->bytes += len_bytes;
	}
}

static __always_inline void lb_stats_drop(__u32 svc_id)
{
	struct weir_lb_stats *s = bpf_map_lookup_elem(&weir_lb_svc_stats, &svc_id);

	if (s)
		s->drops += 1;
}

static __always_inline void lb_tuple_of(struct weir_lb_tuple *t, const struct weir_pkt *p)
{
	__builtin_memcpy(t->saddr, p->key.saddr, sizeof(t->saddr));
	__builtin_memcpy(t->daddr, p->key.daddr, sizeof(t->daddr));
	t->sport = p->key.sport;
	t->dport = p->key.dport;
	t->proto = p->key.proto;
	t->family = p->key.family;
	t->pad[0] = 0;
	t->pad[1] = 0;
}

/* The backend of id if it may take packets of family: any state but DOWN for
 * a flow it already has, ACTIVE only for a new one.
 */
static __always_inline struct weir_lb_backend *lb_backend(__u32 id, __u8 family, int new_flow)
{
	struct weir_lb_backend *be;

	if (!id)
		return NULL;
	be = bpf_map_lookup_elem(&weir_lb_backends, &id);
	if (!be || be->family != family)
		return NULL;
	if (new_flow ? be->state != WEIR_LB_BACKEND_ACTIVE : be->state == WEIR_LB_BACKEND_DOWN)
		return NULL;
	return be;
}

/* The TCP state a client packet moves an entry to; ct_state 0 for a new entry. */
static __always_inline __u8 lb_ct_next(__u8 state, __u8 proto, __u32 tcp_flags)
{
	if (proto != IPPROTO_TCP)
		return WEIR_LB_CT_ANY;
	if (tcp_flags & (WEIR_TCP_FIN | WEIR_TCP_RST))
		return WEIR_LB_CT_TCP_CLOSING;
	if (state == WEIR_LB_CT_TCP_CLOSING)
		return state;
	if (tcp_flags & WEIR_TCP_SYN)
		return state == WEIR_LB_CT_TCP_EST ? state : WEIR_LB_CT_TCP_SYN;
	return WEIR_LB_CT_TCP_EST; /* an ACK, or a flow picked up mid-stream */
}

static __always_inline __u8 lb_ct_flags(__u32 tcp_flags)
{
	return (tcp_flags & WEIR_TCP_FIN ? WEIR_LB_CT_F_FIN_CLIENT : 0) |
	       (tcp_flags & WEIR_TCP_RST ? WEIR_LB_CT_F_RST : 0);
}

static __always_inline int lb_ct_expired(const struct weir_lb_ct_value *ct, __u64 now_ns)
{
	return now_ns > ct->last_seen_ns &&
	       now_ns - ct->last_seen_ns > weir_lb_ct_timeout_ns(ct->state);
}

/* A live entry keeps its backend; it is written only when its state moves
 * or its last_seen is a refresh interval old, so a hot flow does not bounce
 * its cache line between CPUs.
 */
static __always_inline void lb_ct_touch(struct weir_lb_ct_value *ct, const struct weir_pkt *p,
					__u64 now_ns)
{
	__u8 state = lb_ct_next(ct->state, p->key.proto, p->tcp_flags);
	__u8 flags = lb_ct_flags(p->tcp_flags);

	if (state != ct->state)
		ct->state = state;
	if ((ct->flags | flags) != ct->flags)
		ct->flags |= flags;
	if (now_ns > ct->last_seen_ns + WEIR_LB_CT_REFRESH_NS)
		ct->last_seen_ns = now_ns;
}

/* The backend the service's Maglev table gives this client, or 0. An entry
 * naming a backend that is not active (the agent has yet to rebuild the
 * table) passes the flow to the next entry's backend, up to LB_MAGLEV_PROBES.
 */
static __always_inline __u32 lb_maglev_pick(const struct weir_lb_svc *svc, const struct weir_pkt *p)
{
	struct weir_lb_config *cfg;
	__u32 key = 0, m, entry, slot, *mp, *id;
	void *table;
	int i;

	table = bpf_map_lookup_elem(&weir_lb_maglev, &svc->id);
	if (!table)
		return 0;
	mp = bpf_map_lookup_elem(table, &key); /* slot 0: the table size */
	if (!mp)
		return 0;
	m = *mp;
	if (!m || m > WEIR_LB_MAGLEV_M_MAX)
		return 0;
	cfg = bpf_map_lookup_elem(&weir_lb_config, &key);
	entry = weir_lb_maglev_entry(weir_lb_hash(p->key.saddr,
						  svc->affinity_timeout_s ? 0 : p->key.sport,
						  p->key.proto, cfg ? cfg->seed : 0),
				     m);
#pragma unroll
	for (i = 0; i < LB_MAGLEV_PROBES; i++) {
		slot = 1 + entry;
		id = bpf_map_lookup_elem(table, &slot);
		if (id && lb_backend(*id, p->key.family, 1))
			return *id;
		entry = entry + 1 < m ? entry + 1 : 0;
	}
	return 0;
}

/* A new flow's backend: the client's affinity entry while it lasts and its
 * backend is active, else Maglev (recorded for affinity). 0: none usable.
 */
static __always_inline __u32 lb_choose(const struct weir_lb_svc *svc, const struct weir_pkt *p,
				       __u64 now_ns, __u8 *ct_flags)
{
	struct weir_lb_affinity_key ak = {};
	struct weir_lb_affinity_value *av;
	__u32 id;

	if (!svc->n_backends_usable)
		return 0;
	if (!svc->affinity_timeout_s)
		return lb_maglev_pick(svc, p);

	__builtin_memcpy(ak.client, p->key.saddr, sizeof(ak.client));
	ak.svc_id = svc->id;
	ak.family = p->key.family;
	av = bpf_map_lookup_elem(&weir_lb_affinity, &ak);
	if (av && now_ns - av->last_used_ns <= (__u64)svc->affinity_timeout_s * LB_NS_PER_S &&
	    lb_backend(av->backend_id, p->key.family, 1)) {
		if (now_ns > av->last_used_ns + WEIR_LB_CT_REFRESH_NS)
			av->last_used_ns = now_ns;
		*ct_flags |= WEIR_LB_CT_F_AFFINITY;
		return av->backend_id;
	}
	id = lb_maglev_pick(svc, p);
	if (id) {
		struct weir_lb_affinity_value nv = { .backend_id = id, .last_used_ns = now_ns };

		bpf_map_update_elem(&weir_lb_affinity, &ak, &nv, BPF_ANY);
	}
	return id;
}

/* A new conntrack entry and the reverse-NAT entry its replies will find. */
static __always_inline void lb_ct_create(const struct weir_lb_tuple *t,
					 const struct weir_lb_backend *be, __u32 backend_id,
					 __u32 svc_id, const struct weir_pkt *p, __u64 now_ns,
					 __u8 ct_flags)
{
	struct weir_lb_ct_value ct = {
		.backend_id = backend_id,
		.svc_id = svc_id,
		.created_ns = now_ns,
		.last_seen_ns = now_ns,
		.state = lb_ct_next(WEIR_LB_CT_NONE, p->key.proto, p->tcp_flags),
		.flags = ct_flags | lb_ct_flags(p->tcp_flags),
	};
	struct weir_lb_revnat_value rn = {
		.vport = t->dport,
		.svc_id = svc_id,
		.backend_id = backend_id,
	};
	struct weir_lb_tuple rt = {
		.sport = be->port,
		.dport = t->sport,
		.proto = t->proto,
		.family = t->family,
	};

	__builtin_memcpy(rn.vip, t->daddr, sizeof(rn.vip));
	__builtin_memcpy(rt.saddr, be->addr, sizeof(rt.saddr));
	__builtin_memcpy(rt.daddr, t->saddr, sizeof(rt.daddr));
	/* Failures are not fatal: the flow is forwarded and the next packet
	 * chooses again (the same backend while the table stands).
	 */
	bpf_map_update_elem(&weir_lb_ct, t, &ct, BPF_ANY);
	bpf_map_update_elem(&weir_lb_revnat, &rt, &rn, BPF_ANY);
}

/* DNAT in place: destination address and port to the backend's, with the
 * IPv4 header and the TCP or UDP checksum updated for both.
 */
static __always_inline int lb_dnat(struct xdp_md *ctx, const struct weir_pkt *p,
				   const struct weir_lb_backend *be)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *l3 = data + (p->l3_off & LB_L3_OFF_MASK);
	void *l4 = data + (p->l4_off & LB_L4_OFF_MASK);
	__u64 diff;

	if (p->key.family == 4) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end)
			return -WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER;
		diff = csum_diff32(0, ip->daddr, be->addr[0]);
		ip->check = csum_apply(ip->check, diff);
		ip->daddr = be->addr[0];
	} else {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return -WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER;
		diff = csum_diff_addr(0, ip6->daddr.in6_u.u6_addr32, be->addr, 4);
		__builtin_memcpy(&ip6->daddr, be->addr, sizeof(ip6->daddr));
	}
	if (p->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return -WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER;
		diff = csum_diff16(diff, th->dest, be->port);
		th->check = csum_apply(th->check, diff);
		th->dest = be->port;
	} else {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return -WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER;
		diff = csum_diff16(diff, uh->dest, be->port);
		uh->check = csum_apply_udp(uh->check, diff);
		uh->dest = be->port;
	}
	return 0;
}

/* A packet to a service: its backend from conntrack or a new choice, then
 * DNAT. Returns 0 (forward) or minus a drop reason. A global function, so
 * the verifier checks it once rather than on every parser path.
 */
__attribute__((noinline)) int lb_xdp_forward(struct xdp_md *ctx, struct weir_pkt *p,
					     struct weir_lb_svc *svc)
{
	__u64 now_ns = bpf_ktime_get_coarse_ns();
	struct weir_lb_backend *be = NULL;
	struct weir_lb_ct_value *ct;
	struct weir_lb_tuple t;
	__u32 backend_id = 0, new_flow = 0, len_bytes;
	__u8 ct_flags = 0;
	int err;

	if (!ctx || !p || !svc) /* the verifier checks a global function for any pointer */
		return 0;
	if (p->is_frag) { /* later fragments carry no ports to translate */
		lb_stats_drop(svc->id);
		return -WEIR_REASON_IP_FRAGMENTATION_NOT_SUPPORTED;
	}
	lb_tuple_of(&t, p);
	ct = bpf_map_lookup_elem(&weir_lb_ct, &t);
	if (ct && ct->svc_id == svc->id && !lb_ct_expired(ct, now_ns) &&
	    !(ct->state == WEIR_LB_CT_TCP_CLOSING && (p->tcp_flags & WEIR_TCP_SYN))) {
		backend_id = ct->backend_id;
		be = lb_backend(backend_id, p->key.family, 0);
		if (be)
			lb_ct_touch(ct, p, now_ns);
	}
	if (!be) {
		backend_id = lb_choose(svc, p, now_ns, &ct_flags);
		be = lb_backend(backend_id, p->key.family, 1);
		if (!be) {
			lb_stats_drop(svc->id);
			return -WEIR_REASON_SERVICE_BACKEND_NOT_FOUND;
		}
		lb_ct_create(&t, be, backend_id, svc->id, p, now_ns, ct_flags);
		new_flow = 1;
	}
	err = lb_dnat(ctx, p, be);
	if (err)
		return err;
	len_bytes = ctx->data_end - ctx->data;
	lb_stats_add(&weir_lb_svc_stats, svc->id, new_flow, len_bytes);
	lb_stats_add(&weir_lb_backend_stats, backend_id, new_flow, len_bytes);
	return 0;
}

/* The XDP stage: one hash lookup that misses for a packet to no service. */
static __always_inline int lb_xdp(struct xdp_md *ctx, struct weir_pkt *p)
{
	struct weir_lb_svc_key sk;
	struct weir_lb_svc *svc, copy;

	if (!lb_proto_ok(p->key.proto))
		return 0;
	__builtin_memcpy(sk.addr, p->key.daddr, sizeof(sk.addr));
	sk.port = p->key.dport;
	sk.proto = p->key.proto;
	sk.family = p->key.family;
	svc = bpf_map_lookup_elem(&weir_lb_services, &sk);
	if (!svc)
		return 0;
	copy = *svc;
	return lb_xdp_forward(ctx, p, &copy);
}

#endif /* WEIR_DP_LB_H */
