/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The load balancer's TC half: a reply leaving through TC egress whose tuple
 * (backend -> client) has a weir_lb_revnat entry gets its source rewritten
 * back to the service (VIP, port), so the client sees the address it spoke
 * to. The XDP half (lb.h) writes the entry with the conntrack entry. A FIN
 * or RST in the reply moves the conntrack entry to CLOSING.
 *
 * Where: TC egress of the node's uplink (the interface facing the clients),
 * after the stack routed the backend's reply there. The kernel's csum
 * helpers are used here, not csum.h: they handle CHECKSUM_PARTIAL skbs,
 * which replies from a local stack with checksum offload are.
 */
#ifndef WEIR_DP_LB_REVNAT_H
#define WEIR_DP_LB_REVNAT_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <weir/lb.h>
#include "lb.h"

/* A reply's FIN or RST closes the flow's conntrack entry. */
static __always_inline void lb_revnat_ct_close(const struct weir_pkt *p,
					       const struct weir_lb_revnat_value *rn)
{
	struct weir_lb_ct_value *ct;
	struct weir_lb_tuple t = {
		.sport = p->key.dport,
		.dport = rn->vport,
		.proto = p->key.proto,
		.family = p->key.family,
	};

	__builtin_memcpy(t.saddr, p->key.daddr, sizeof(t.saddr));
	__builtin_memcpy(t.daddr, rn->vip, sizeof(t.daddr));
	ct = bpf_map_lookup_elem(&weir_lb_ct, &t);
	if (!ct || ct->backend_id != rn->backend_id)
		return;
	ct->state = WEIR_LB_CT_TCP_CLOSING;
	ct->flags |= p->tcp_flags & WEIR_TCP_RST ? WEIR_LB_CT_F_RST : WEIR_LB_CT_F_FIN_BACKEND;
}

/* Source address and port to the service's, checksums fixed by the kernel.
 * Returns 0 or minus a drop reason (a half-rewritten packet is not sent).
 * A global function: verified once, not on every parser path.
 */
__attribute__((noinline)) int lb_revnat_apply(struct __sk_buff *skb, struct weir_pkt *p,
					      struct weir_lb_revnat_value *rn)
{
	__u32 l3, l4, csum_off, mangled;
	__s64 diff;

	if (!skb || !p || !rn) /* the verifier checks a global function for any pointer */
		return 0;
	l3 = p->l3_off & LB_L3_OFF_MASK;
	l4 = p->l4_off & LB_L4_OFF_MASK;
	if (p->key.proto == IPPROTO_TCP) {
		csum_off = l4 + offsetof(struct tcphdr, check);
		mangled = 0;
	} else {
		csum_off = l4 + offsetof(struct udphdr, check);
		mangled = BPF_F_MARK_MANGLED_0; /* UDP: 0 stays 0, a computed 0 is 0xffff */
	}

	if (p->key.family == 4) {
		if (bpf_l4_csum_replace(skb, csum_off, p->key.saddr[0], rn->vip[0],
					BPF_F_PSEUDO_HDR | mangled | sizeof(__be32)))
			return -WEIR_REASON_ERROR_WHILE_CORRECTING_L4_CHECKSUM;
		if (bpf_l3_csum_replace(skb, l3 + offsetof(struct iphdr, check), p->key.saddr[0],
					rn->vip[0], sizeof(__be32)))
			return -WEIR_REASON_ERROR_WHILE_CORRECTING_L3_CHECKSUM;
		if (bpf_skb_store_bytes(skb, l3 + offsetof(struct iphdr, saddr), rn->vip,
					sizeof(__be32), 0))
			return -WEIR_REASON_ERROR_WRITING_TO_PACKET;
	} else {
		diff = bpf_csum_diff(p->key.saddr, sizeof(p->key.saddr), rn->vip, sizeof(rn->vip),
				     0);
		if (diff < 0 ||
		    bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_PSEUDO_HDR | mangled))
			return -WEIR_REASON_ERROR_WHILE_CORRECTING_L4_CHECKSUM;
		if (bpf_skb_store_bytes(skb, l3 + offsetof(struct ipv6hdr, saddr), rn->vip,
					sizeof(rn->vip), 0))
			return -WEIR_REASON_ERROR_WRITING_TO_PACKET;
	}
	if (bpf_l4_csum_replace(skb, csum_off, p->key.sport, rn->vport, mangled | sizeof(__be16)))
		return -WEIR_REASON_ERROR_WHILE_CORRECTING_L4_CHECKSUM;
	if (bpf_skb_store_bytes(skb, l4, &rn->vport, sizeof(rn->vport), 0)) /* source port */
		return -WEIR_REASON_ERROR_WRITING_TO_PACKET;

	if (p->tcp_flags & (WEIR_TCP_FIN | WEIR_TCP_RST))
		lb_revnat_ct_close(p, rn);
	/* The flow is counted as it leaves: VIP -> client. */
	__builtin_memcpy(p->key.saddr, rn->vip, sizeof(p->key.saddr));
	p->key.sport = rn->vport;
	return 0;
}

/* The TC egress stage: one hash lookup that misses for a packet that is no
 * load-balanced reply.
 */
static __always_inline int lb_tc_revnat(struct __sk_buff *skb, struct weir_pkt *p)
{
	struct weir_lb_revnat_value *rn, copy;
	struct weir_lb_tuple t;

	if (!lb_proto_ok(p->key.proto) || p->is_frag)
		return 0;
	lb_tuple_of(&t, p);
	rn = bpf_map_lookup_elem(&weir_lb_revnat, &t);
	if (!rn)
		return 0;
	copy = *rn;
	return lb_revnat_apply(skb, p, &copy);
}

#endif /* WEIR_DP_LB_REVNAT_H */
