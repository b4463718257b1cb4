/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The few context operations the XDP and TC programs differ in, so that
 * parsing and accounting are written once.
 */
#ifndef WEIR_DP_CTX_H
#define WEIR_DP_CTX_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

/* Headers a TC program must see in the linear part of the skb: Ethernet,
 * two VLAN tags, IPv4 with options or IPv6 with a few extension headers, and
 * the L4 header. Only pulled when the linear part is shorter.
 */
#define WEIR_TC_PULL_BYTES 256

struct pkt_view {
	void *data;
	void *data_end;
	__u32 len_bytes; /* whole frame; may exceed data_end - data at TC */
	__u32 ifindex;
	void *ctx; /* the program's struct xdp_md or struct __sk_buff */
};

static __always_inline void xdp_view(struct xdp_md *ctx, struct pkt_view *v)
{
	v->data = (void *)(long)ctx->data;
	v->data_end = (void *)(long)ctx->data_end;
	v->len_bytes = v->data_end - v->data;
	v->ifindex = ctx->ingress_ifindex;
	v->ctx = ctx;
}

static __always_inline void skb_view(struct __sk_buff *skb, struct pkt_view *v)
{
	__u32 want = skb->len < WEIR_TC_PULL_BYTES ? skb->len : WEIR_TC_PULL_BYTES;

	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want); /* on failure the parser sees a short view */
	v->data = (void *)(long)skb->data;
	v->data_end = (void *)(long)skb->data_end;
	v->len_bytes = skb->len;
	v->ifindex = skb->ifindex;
	v->ctx = skb;
}

#endif /* WEIR_DP_CTX_H */
