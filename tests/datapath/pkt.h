/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A packet builder for datapath tests: describe a packet, get its bytes. */
#ifndef WEIR_TEST_PKT_H
#define WEIR_TEST_PKT_H

#include <stdbool.h>
#include <linux/types.h>
#include <weir/abi.h>

#define PKT_MAX_BYTES 2048
#define PKT_MAX_EXT   8

struct pkt_spec {
	int family; /* 4 or 6 */
	__u8 proto; /* IPPROTO_* */
	const char *saddr;
	const char *daddr;
	__u16 sport; /* host order */
	__u16 dport;
	__u8 icmp_type;
	__u8 icmp_code;
	__u16 tcp_flags;     /* WEIR_TCP_* */
	__u32 payload_bytes; /* after the L4 header */
	/* VLAN tags, outermost first; the outer one of two is 802.1ad */
	int n_vlan;
	__u16 vlan_id[3];
	__u16 ethertype;   /* 0: from family */
	int ip_opts_bytes; /* IPv4 options, a multiple of 4 */
	/* IPv6 extension headers in order (IPPROTO_HOPOPTS, ...); a
	 * IPPROTO_FRAGMENT entry takes the frag_* fields below.
	 */
	int n_ext;
	__u8 ext[PKT_MAX_EXT];
	/* Fragments: frag=true builds one fragment of a datagram. */
	bool frag;
	__u32 frag_offset_bytes; /* multiple of 8; 0 = first fragment */
	bool frag_more;
	__u32 frag_id;
};

struct pkt {
	__u8 buf[PKT_MAX_BYTES];
	__u32 len;
	__u32 l3_off;
	__u32 l4_off; /* where the L4 header is (or would be) */
};

void pkt_build(const struct pkt_spec *s, struct pkt *p);
/* The flow key the datapath should derive for s. */
struct weir_flow_key pkt_flow_key(const struct pkt_spec *s, __u32 ifindex, __u8 dir, __u8 hook);

/* TCP and UDP checksums, computed from scratch over the pseudo-header and
 * the L4 bytes of a packet whose l3_off and l4_off are set (pkt_build sets
 * them; pkt_build leaves the L4 checksum 0).
 */
void pkt_l4_csum_fill(struct pkt *p, int family, __u8 proto);
/* Whether the IPv4 header checksum and the TCP/UDP checksum verify; a UDP
 * checksum 0 in IPv4 ("none") verifies.
 */
bool pkt_csums_ok(const struct pkt *p, int family, __u8 proto);

#endif /* WEIR_TEST_PKT_H */
