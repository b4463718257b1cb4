// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A packet builder for datapath tests: describe a packet, get its bytes. */
#include <arpa/inet.h>
#include <assert.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "pkt.h"

static void put(struct pkt *p, const void *src, __u32 n)
{
	assert(p->len + n <= PKT_MAX_BYTES);
	memcpy(p->buf + p->len, src, n);
	p->len += n;
}

static void put_be16(struct pkt *p, __u16 v)
{
	__be16 b = htons(v);

	put(p, &b, 2);
}

static __u16 ip_csum(const void *data, int len)
{
	const __u16 *w = data;
	__u32 sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static __u32 l4_header_bytes(const struct pkt_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	case 132: /* SCTP */
		return 12;
	default:
		return 0;
	}
}

static void put_l4(const struct pkt_spec *s, struct pkt *p)
{
	__u8 hdr[20] = {};
	__u32 i;

	switch (s->proto) {
	case IPPROTO_TCP:
		*(__be16 *)&hdr[0] = htons(s->sport);
		*(__be16 *)&hdr[2] = htons(s->dport);
		hdr[12] = 5 << 4 | (s->tcp_flags >> 8 & 1);
		hdr[13] = s->tcp_flags & 0xff;
		*(__be16 *)&hdr[14] = htons(64240);
		break;
	case IPPROTO_UDP:
		*(__be16 *)&hdr[0] = htons(s->sport);
		*(__be16 *)&hdr[2] = htons(s->dport);
		*(__be16 *)&hdr[4] = htons(8 + s->payload_bytes);
		break;
	case 132:
		*(__be16 *)&hdr[0] = htons(s->sport);
		*(__be16 *)&hdr[2] = htons(s->dport);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		hdr[0] = s->icmp_type;
		hdr[1] = s->icmp_code;
		break;
	}
	put(p, hdr, l4_header_bytes(s));
	for (i = 0; i < s->payload_bytes; i++) {
		__u8 b = i & 0xff;

		put(p, &b, 1);
	}
}

/* Bytes after the IP header(s): the L4 header unless this is a later fragment. */
static __u32 ip_payload_bytes(const struct pkt_spec *s)
{
	if (s->frag && s->frag_offset_bytes)
		return s->payload_bytes;
	return l4_header_bytes(s) + s->payload_bytes;
}

static void put_ipv4(const struct pkt_spec *s, struct pkt *p)
{
	struct iphdr ip = {};
	__u8 opts[40] = {};
	__u16 frag = 0;

	assert(s->ip_opts_bytes % 4 == 0 && s->ip_opts_bytes <= 40);
	ip.version = 4;
	ip.ihl = 5 + s->ip_opts_bytes / 4;
	ip.ttl = 64;
	ip.protocol = s->proto;
	ip.tot_len = htons(ip.ihl * 4 + ip_payload_bytes(s));
	if (s->frag) {
		frag = s->frag_offset_bytes / 8 | (s->frag_more ? 0x2000 : 0);
		ip.id = htons(s->frag_id);
	}
	ip.frag_off = htons(frag);
	inet_pton(AF_INET, s->saddr, &ip.saddr);
	inet_pton(AF_INET, s->daddr, &ip.daddr);
	if (s->ip_opts_bytes)
		memset(opts, 1, s->ip_opts_bytes); /* NOP options */
	{
		__u8 hdr[60];

		memcpy(hdr, &ip, sizeof(ip));
		memcpy(hdr + sizeof(ip), opts, s->ip_opts_bytes);
		((struct iphdr *)hdr)->check = ip_csum(hdr, ip.ihl * 4);
		put(p, hdr, ip.ihl * 4);
	}
}

static void put_ipv6(const struct pkt_spec *s, struct pkt *p)
{
	struct ipv6hdr ip6 = {};
	__u32 ext_bytes = 0;
	int i;

	for (i = 0; i < s->n_ext; i++)
		ext_bytes += 8; /* every extension header built here is 8 bytes */
	ip6.version = 6;
	ip6.hop_limit = 64;
	ip6.payload_len = htons(ext_bytes + ip_payload_bytes(s));
	ip6.nexthdr = s->n_ext ? s->ext[0] : s->proto;
	inet_pton(AF_INET6, s->saddr, &ip6.saddr);
	inet_pton(AF_INET6, s->daddr, &ip6.daddr);
	put(p, &ip6, sizeof(ip6));

	for (i = 0; i < s->n_ext; i++) {
		__u8 hdr[8] = {};

		hdr[0] = i + 1 < s->n_ext ? s->ext[i + 1] : s->proto;
		if (s->ext[i] == IPPROTO_FRAGMENT) {
			__u16 off = (s->frag_offset_bytes / 8) << 3 | (s->frag_more ? 1 : 0);

			*(__be16 *)&hdr[2] = htons(off);
			*(__be32 *)&hdr[4] = htonl(s->frag_id);
		} else {
			hdr[1] = 0; /* length 8: (0 + 1) * 8 */
			hdr[2] = 1; /* PadN option filling the rest */
			hdr[3] = 4;
		}
		put(p, hdr, sizeof(hdr));
	}
}

void pkt_build(const struct pkt_spec *s, struct pkt *p)
{
	static const __u8 dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	__u16 type = s->ethertype ? s->ethertype : s->family == 6 ? ETH_P_IPV6 : ETH_P_IP;
	int i;

	memset(p, 0, sizeof(*p));
	put(p, dmac, 6);
	put(p, smac, 6);
	for (i = 0; i < s->n_vlan; i++) {
		put_be16(p, i == 0 && s->n_vlan > 1 ? ETH_P_8021AD : ETH_P_8021Q);
		put_be16(p, s->vlan_id[i]);
	}
	put_be16(p, type);
	p->l3_off = p->len;
	if (s->family == 4)
		put_ipv4(s, p);
	else if (s->family == 6)
		put_ipv6(s, p);
	p->l4_off = p->len;
	if (s->family && !(s->frag && s->frag_offset_bytes)) {
		put_l4(s, p);
	} else if (s->family) {
		for (i = 0; i < (int)s->payload_bytes; i++) {
			__u8 b = 0xaa;

			put(p, &b, 1);
		}
	}
}

struct weir_flow_key pkt_flow_key(const struct pkt_spec *s, __u32 ifindex, __u8 dir, __u8 hook)
{
	struct weir_flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = s->family;
	k.proto = s->proto;
	k.ifindex = ifindex;
	k.dir = dir;
	k.hook = hook;
	if (s->family == 4) {
		inet_pton(AF_INET, s->saddr, &k.saddr[0]);
		inet_pton(AF_INET, s->daddr, &k.daddr[0]);
	} else {
		inet_pton(AF_INET6, s->saddr, k.saddr);
		inet_pton(AF_INET6, s->daddr, k.daddr);
	}
	switch (s->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case 132:
		k.sport = htons(s->sport);
		k.dport = htons(s->dport);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		k.sport = htons(s->icmp_type << 8 | s->icmp_code);
		break;
	default:
		k.flags = WEIR_FLOW_F_L3_ONLY;
	}
	return k;
}

static __u32 sum16(__u32 sum, const __u8 *b, __u32 len)
{
	__u32 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

static __u16 fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* The one's complement sum (host order) of the pseudo-header and the L4 bytes. */
static __u16 l4_sum(const struct pkt *p, int family, __u8 proto)
{
	const __u8 *l3 = p->buf + p->l3_off;
	__u32 l4_len, sum = 0;

	if (family == 4) {
		const struct iphdr *ip = (const void *)l3;

		l4_len = ntohs(ip->tot_len) - (p->l4_off - p->l3_off);
		sum = sum16(sum, l3 + 12, 8); /* source and destination */
	} else {
		l4_len = ntohs(((const struct ipv6hdr *)l3)->payload_len) -
			 (p->l4_off - p->l3_off - 40);
		sum = sum16(sum, l3 + 8, 32);
		sum += l4_len >> 16;
	}
	sum += proto;
	sum += l4_len & 0xffff;
	sum = sum16(sum, p->buf + p->l4_off, l4_len);
	return fold(sum);
}

static __u32 l4_csum_off(__u8 proto)
{
	return proto == IPPROTO_TCP ? 16 : 6;
}

void pkt_l4_csum_fill(struct pkt *p, int family, __u8 proto)
{
	__u8 *c = p->buf + p->l4_off + l4_csum_off(proto);
	__u16 v;

	c[0] = c[1] = 0;
	v = ~l4_sum(p, family, proto);
	if (proto == IPPROTO_UDP && !v)
		v = 0xffff;
	c[0] = v >> 8;
	c[1] = v & 0xff;
}

bool pkt_csums_ok(const struct pkt *p, int family, __u8 proto)
{
	const __u8 *c = p->buf + p->l4_off + l4_csum_off(proto);

	if (family == 4 && ip_csum(p->buf + p->l3_off, (p->buf[p->l3_off] & 0xf) * 4))
		return false;
	if (proto == IPPROTO_UDP && family == 4 && !c[0] && !c[1])
		return true;
	return l4_sum(p, family, proto) == 0xffff;
}
