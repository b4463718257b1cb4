/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one list of packet outcomes: why a packet was passed or dropped.
 *
 * One code space, as in Cilium: codes below WEIR_DROP_MIN say the packet went
 * on (forwarded), codes from WEIR_DROP_MIN up are drops. Drop codes and names
 * are Hubble's DropReason values (flow.proto) wherever Hubble has one, so
 * `drop_reason_desc` reads the same in Weir and Hubble. The codes key the
 * per-CPU metrics map and travel in events, so they fit in a __u8. Drops
 * Hubble has no code for take Weir's own codes from 240 up, a range Hubble's
 * DropReason does not use (it ends at 206): PREFILTER_DENIED (240) is the
 * XDP prefilter's (Cilium's prefilter drops without a reason or event).
 *
 * X(NAME, code, "human text")
 */
#ifndef WEIR_REASONS_H
#define WEIR_REASONS_H

#define WEIR_DROP_MIN 130

/* Forwarded: the packet continues; the code says how much of it was understood. */
/* clang-format off */
#define WEIR_FWD_REASONS(X)							\
	X(FORWARDED,		0,   "forwarded, counted in its flow")		\
	X(UNPARSED_L2,		1,   "forwarded unparsed: not IPv4 or IPv6")	\
	X(UNPARSED_VLAN_DEPTH,	2,   "forwarded unparsed: more than two VLAN tags")	\
	X(UNPARSED_NONLINEAR,	3,   "forwarded unparsed: headers beyond the linear skb data")	\
	X(POLICY_AUDIT,		4,   "forwarded: a policy in audit mode would have dropped it")
/* clang-format on */

/* Dropped: every drop in the datapath has exactly one of these. */
/* clang-format off */
#define WEIR_DROP_REASONS(X)							\
	X(POLICY_DENIED,		  133, "Policy denied")			\
	X(INVALID_PACKET_DROPPED,	  134, "invalid packet: bad IP version, IHL or length") \
	X(CT_TRUNCATED_OR_INVALID_HEADER, 135, "truncated or invalid header")	\
	X(ERROR_WRITING_TO_PACKET,	  141, "rewriting the packet (NAT) failed") \
	X(ERROR_WHILE_CORRECTING_L3_CHECKSUM, 153, "updating the IPv4 header checksum failed") \
	X(ERROR_WHILE_CORRECTING_L4_CHECKSUM, 154, "updating the TCP or UDP checksum failed") \
	X(INVALID_IPV6_EXTENSION_HEADER,  156, "too many or malformed IPv6 extension headers") \
	X(IP_FRAGMENTATION_NOT_SUPPORTED, 157, "fragment to a load-balanced service") \
	X(SERVICE_BACKEND_NOT_FOUND,	  158, "service has no usable backend") \
	X(PREFILTER_DENIED,		  240, "source address on the XDP prefilter deny list")
/* clang-format on */

#define WEIR_REASON_ENUM(name, code, text) \
	WEIR_REASON_##name = code, /* NOLINT(bugprone-macro-parentheses) */
/* clang-format off */
enum weir_reason {
	WEIR_FWD_REASONS(WEIR_REASON_ENUM)
	WEIR_DROP_REASONS(WEIR_REASON_ENUM)
};
/* clang-format on */
#undef WEIR_REASON_ENUM

static inline int weir_reason_is_drop(unsigned int code)
{
	return code >= WEIR_DROP_MIN;
}

#endif /* WEIR_REASONS_H */
