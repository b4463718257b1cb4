/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Incremental Internet checksum updates (RFC 1624, eqn. 3: HC' = ~(~HC + ~m
 * + m')) for rewriting addresses and ports in XDP, where the kernel's
 * csum helpers for skbs do not apply.
 *
 * Words are summed as they sit in the packet (network order, loaded raw):
 * the one's complement sum is byte-order independent (RFC 1071), so no swap
 * is needed anywhere. A diff accumulates ~old + new over every changed word
 * in 64 bits and is folded once.
 *
 * These assume a complete checksum in the field. A CHECKSUM_PARTIAL skb seen
 * by generic or veth XDP holds only the pseudo-header sum there: such a
 * packet comes from a local stack with checksum offload, never from a wire
 * (tests on veth turn tx checksum offload off on the sender).
 */
#ifndef WEIR_DP_CSUM_H
#define WEIR_DP_CSUM_H

#include <linux/types.h>

static __always_inline __u64 csum_diff32(__u64 acc, __be32 from, __be32 to)
{
	return acc + (__u32)~from + (__u32)to;
}

static __always_inline __u64 csum_diff16(__u64 acc, __be16 from, __be16 to)
{
	return acc + (__u16)~from + (__u16)to;
}

/* Four address words; IPv4 addresses are word 0 with the rest equal. */
static __always_inline __u64 csum_diff_addr(__u64 acc, const __be32 from[4], const __be32 to[4],
					    int words)
{
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		if (i < words)
			acc = csum_diff32(acc, from[i], to[i]);
	return acc;
}

static __always_inline __u16 csum_fold64(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* The checksum field after the words summed in diff changed. */
static __always_inline __sum16 csum_apply(__sum16 check, __u64 diff)
{
	return (__sum16)~csum_fold64((__u16)~check + diff);
}

/* UDP: 0 means "no checksum" (IPv4) and stays 0; a computed 0 is sent as
 * 0xffff (RFC 768), its one's complement twin.
 */
static __always_inline __sum16 csum_apply_udp(__sum16 check, __u64 diff)
{
	__sum16 c;

	if (!check)
		return 0;
	c = csum_apply(check, diff);
	return c ? c : (__sum16)0xffff;
}

#endif /* WEIR_DP_CSUM_H */
