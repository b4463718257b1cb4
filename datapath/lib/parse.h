/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing: Ethernet, 802.1Q/802.1ad, IPv4 (with options), IPv6 (with a
 * bounded extension-header chain), TCP, UDP, SCTP, ICMP and ICMPv6, into a
 * flow key.
 *
 * Contract: parse_packet() returns
 *   0                   the key is filled in (ports, or WEIR_FLOW_F_L3_ONLY);
 *   > 0                 a WEIR_REASON_UNPARSED_* code: forward, no flow entry;
 *   < 0                 minus a drop reason: the packet is malformed.
 * Every bounds check sits next to the access it guards. A header cut off by
 * the end of the frame is malformed; one that is in the frame but beyond the
 * linear skb data (TC only) is forwarded unparsed.
 */
#ifndef WEIR_DP_PARSE_H
#define WEIR_DP_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <weir/abi.h>
#include "ctx.h"

#define WEIR_VLAN_MAX_DEPTH 2 /* QinQ: an 802.1ad tag, then an 802.1Q tag */
#ifndef WEIR_IPV6_MAX_EXT_HDRS
#define WEIR_IPV6_MAX_EXT_HDRS 6 /* a longer chain is dropped as malformed */
#endif
/* Extension headers must end within the first 1 KiB of the frame; a longer
 * chain is dropped as malformed (the mask bounds the offset for the verifier).
 */
#define WEIR_IPV6_EXT_OFF_MASK 0x3ff
#define WEIR_IPV6_EXT_MAX_OFF  WEIR_IPV6_EXT_OFF_MASK

/* IPv4 frag_off bits (host order); the kernel's IP_MF is not in UAPI. */
#define WEIR_IP_MF     0x2000
#define WEIR_IP_OFFSET 0x1fff

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

struct vlan_tag {
	__be16 tci;
	__be16 encap_proto;
};

struct ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3 | M flag */
	__be32 id;
};

struct weir_pkt {
	struct weir_flow_key key;
	__u32 tcp_flags; /* WEIR_TCP_* of this packet */
	__be32 frag_id;
	__u8 is_frag;	 /* part of a fragmented datagram */
	__u8 frag_first; /* ... and the fragment at offset 0 */
	__u8 pad[2];
	__u16 l3_off; /* IP header, bytes from the start of the frame */
	__u16 l4_off; /* L4 header (after IPv4 options or IPv6 extensions) */
};

struct cursor {
	void *data;
	void *pos;
	void *end;
	__u32 len_bytes;
};

/* The header at pos, need bytes long, is not in the view: malformed if the
 * frame itself ends first, otherwise (a non-linear skb) forwarded unparsed.
 */
static __always_inline int short_read(struct cursor *c, void *pos, __u32 need)
{
	__u32 off = pos - c->data;

	if (off + need > c->len_bytes)
		return -WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER;
	return WEIR_REASON_UNPARSED_NONLINEAR;
}

static __always_inline int parse_l2(struct cursor *c, __be16 *proto)
{
	struct ethhdr *eth = c->pos;
	__be16 h_proto;
	int i;

	if ((void *)(eth + 1) > c->end)
		return short_read(c, eth, sizeof(*eth));
	h_proto = eth->h_proto;
	c->pos = eth + 1;

#pragma unroll
	for (i = 0; i < WEIR_VLAN_MAX_DEPTH; i++) {
		struct vlan_tag *tag = c->pos;

		if (h_proto != bpf_htons(ETH_P_8021Q) && h_proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > c->end)
			return short_read(c, tag, sizeof(*tag));
		h_proto = tag->encap_proto;
		c->pos = tag + 1;
	}
	if (h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD))
		return WEIR_REASON_UNPARSED_VLAN_DEPTH;
	*proto = h_proto;
	return 0;
}

/* On success, *l4_len_bytes is what the IP header says follows it. */
static __always_inline int parse_ipv4(struct cursor *c, struct weir_pkt *p, __u32 *l4_len_bytes)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot, frag;

	if ((void *)(ip + 1) > c->end)
		return short_read(c, ip, sizeof(*ip));
	if (ip->version != 4 || ip->ihl < 5)
		return -WEIR_REASON_INVALID_PACKET_DROPPED;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (!tot && c->len_bytes - (__u32)((void *)ip - c->data) > 0xffff)
		tot = c->len_bytes - ((void *)ip - c->data); /* BIG TCP GSO skb */
	if (tot < hlen || (__u32)((void *)ip - c->data) + tot > c->len_bytes)
		return -WEIR_REASON_INVALID_PACKET_DROPPED;
	if ((void *)ip + hlen > c->end)
		return short_read(c, ip, hlen);

	p->key.family = 4;
	p->key.proto = ip->protocol;
	p->key.saddr[0] = ip->saddr;
	p->key.daddr[0] = ip->daddr;

	frag = bpf_ntohs(ip->frag_off);
	if (frag & (WEIR_IP_MF | WEIR_IP_OFFSET)) {
		p->is_frag = 1;
		p->frag_first = !(frag & WEIR_IP_OFFSET);
		p->frag_id = (__be32)ip->id;
	}
	c->pos = (void *)ip + hlen;
	*l4_len_bytes = tot - hlen;
	return 0;
}

/* off & WEIR_IPV6_EXT_OFF_MASK, done in asm so that clang, which can prove
 * the mask changes nothing, still emits it for the verifier to see.
 */
static __always_inline __u64 bound_off(__u64 off)
{
	asm volatile("%[off] &= %[mask]" : [off] "+r"(off) : [mask] "i"(WEIR_IPV6_EXT_OFF_MASK));
	return off;
}

static __always_inline int is_ipv6_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT || nexthdr == IPPROTO_AH;
}

static __always_inline int parse_ipv6(struct cursor *c, struct weir_pkt *p, __u32 *l4_len_bytes)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 left, hlen;
	__u64 off;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > c->end)
		return short_read(c, ip6, sizeof(*ip6));
	if (ip6->version != 6)
		return -WEIR_REASON_INVALID_PACKET_DROPPED;
	off = (void *)(ip6 + 1) - c->data;
	left = bpf_ntohs(ip6->payload_len);
	if (!left) /* jumbogram (RFC 2675) or BIG TCP GSO skb: the frame says */
		left = c->len_bytes - off;
	if (off + left > c->len_bytes)
		return -WEIR_REASON_INVALID_PACKET_DROPPED;

	p->key.family = 6;
	__builtin_memcpy(p->key.saddr, &ip6->saddr, sizeof(p->key.saddr));
	__builtin_memcpy(p->key.daddr, &ip6->daddr, sizeof(p->key.daddr));
	nexthdr = ip6->nexthdr;

	/* The chain is walked with a scalar offset masked to one fixed range, so
	 * every path through the loop reaches the verifier in the same state and
	 * is pruned (verifier workaround: with a packet pointer per path, the
	 * work grew eightfold per header, to half a million instructions).
	 */
	for (i = 0; i < WEIR_IPV6_MAX_EXT_HDRS; i++) {
		__u8 *eh;

		if (!is_ipv6_ext(nexthdr))
			break;
		if (off > WEIR_IPV6_EXT_MAX_OFF || left < 8)
			return -WEIR_REASON_INVALID_IPV6_EXTENSION_HEADER;
		off = bound_off(off);
		eh = c->data + off;
		/* every extension header is at least 8 bytes */
		if ((void *)(eh + 8) > c->end)
			return short_read(c, eh, 8);
		if (nexthdr == IPPROTO_FRAGMENT) {
			struct ipv6_frag *fh = (void *)eh;
			__u16 frag = bpf_ntohs(fh->frag_off);

			hlen = sizeof(*fh);
			if (frag & 0xfff9) { /* offset or M flag set: a real fragment */
				p->is_frag = 1;
				p->frag_first = !(frag & 0xfff8);
				p->frag_id = fh->id;
			}
		} else if (nexthdr == IPPROTO_AH) {
			hlen = (eh[1] + 2) * 4; /* 4-byte units minus 2 (RFC 4302) */
		} else {
			hlen = (eh[1] + 1) * 8; /* 8-byte units minus 1 (RFC 8200) */
		}
		if (hlen > left)
			return -WEIR_REASON_INVALID_IPV6_EXTENSION_HEADER;
		nexthdr = eh[0];
		off += hlen;
		left -= hlen;
		if (p->is_frag && !p->frag_first)
			break; /* a later fragment carries no further headers */
	}
	if (is_ipv6_ext(nexthdr) && !(p->is_frag && !p->frag_first))
		return -WEIR_REASON_INVALID_IPV6_EXTENSION_HEADER;
	if (off > WEIR_IPV6_EXT_MAX_OFF)
		return -WEIR_REASON_INVALID_IPV6_EXTENSION_HEADER;

	p->key.proto = nexthdr;
	c->pos = c->data + bound_off(off);
	*l4_len_bytes = left;
	return 0;
}

static __always_inline __u32 tcp_flags_of(struct tcphdr *th)
{
	__u8 *b = (__u8 *)th;

	return b[13] | ((b[12] & 1) << 8);
}

/* The L4 header at c->pos must be need bytes: within the IP length (so
 * Ethernet padding is never read as L4) and within the view. Callers pass a
 * constant so the verifier knows the checked range.
 */
#define L4_CHECK(c, l4, need, l4_len_bytes)                                 \
	do {                                                                \
		if ((need) > (l4_len_bytes))                                \
			return -WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER; \
		if ((void *)(l4) + (need) > (c)->end)                       \
			return short_read(c, l4, need);                     \
	} while (0)

/* Ports (or ICMP type and code) into the key. */
static __always_inline int parse_l4(struct cursor *c, struct weir_pkt *p, __u32 l4_len_bytes)
{
	__be16 *ports = c->pos;
	__u8 *icmp = c->pos;
	struct tcphdr *th = c->pos;

	switch (p->key.proto) {
	case IPPROTO_TCP:
		L4_CHECK(c, th, sizeof(*th), l4_len_bytes);
		if (th->doff < 5 || th->doff * 4 > l4_len_bytes)
			return -WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER;
		p->tcp_flags = tcp_flags_of(th);
		break;
	case IPPROTO_UDP:
		L4_CHECK(c, ports, sizeof(struct udphdr), l4_len_bytes);
		break;
	case IPPROTO_SCTP:
		/* common header: ports, verification tag, checksum */
		L4_CHECK(c, ports, 12, l4_len_bytes);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		L4_CHECK(c, icmp, 8, l4_len_bytes);
		p->key.sport = bpf_htons(icmp[0] << 8 | icmp[1]);
		return 0;
	default:
		p->key.flags |= WEIR_FLOW_F_L3_ONLY;
		return 0;
	}
	/* TCP, UDP and SCTP all start with the two ports. */
	p->key.sport = ports[0];
	p->key.dport = ports[1];
	return 0;
}

static __always_inline int parse_packet(struct pkt_view *v, struct weir_pkt *p)
{
	struct cursor c = {
		.data = v->data,
		.pos = v->data,
		.end = v->data_end,
		.len_bytes = v->len_bytes,
	};
	__u32 l4_len_bytes = 0;
	__be16 proto;
	int ret;

	ret = parse_l2(&c, &proto);
	if (ret)
		return ret;
	p->l3_off = c.pos - c.data;
	if (proto == bpf_htons(ETH_P_IP))
		ret = parse_ipv4(&c, p, &l4_len_bytes);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ret = parse_ipv6(&c, p, &l4_len_bytes);
	else
		return WEIR_REASON_UNPARSED_L2;
	if (ret)
		return ret;
	p->l4_off = c.pos - c.data;
	if (p->is_frag && !p->frag_first)
		return 0; /* ports come from the first fragment, see account.h */
	return parse_l4(&c, p, l4_len_bytes);
}

#endif /* WEIR_DP_PARSE_H */
