/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPFIX (RFC 7011) message encoding, pure: no sockets, no clocks. A message
 * is a header, then sets; Weir sends one template set (an IPv4 and an IPv6
 * template) and data sets of one-direction flow records with the standard
 * information elements (RFC 7012 / the IANA registry) and Weir's pod and
 * namespace names as enterprise-specific elements.
 *
 * Weir's enterprise number defaults to 32473, the one RFC 5612 reserves for
 * documentation and examples: Weir has no IANA Private Enterprise Number of
 * its own. A site that runs a collector keyed on its own PEN sets another
 * (--ipfix-pen). Weir's elements under that PEN:
 *   1 sourcePodNamespace       string (variable length)
 *   2 sourcePodName            string
 *   3 destinationPodNamespace  string
 *   4 destinationPodName       string
 *   5 dropReason               unsigned8, Hubble's DropReason code; 0 when forwarded
 * Strings are UTF-8 as the endpoint cache holds them, cut to 254 bytes (the
 * one-byte length form; Kubernetes names are at most 253).
 *
 * Every field is written in network byte order.
 */
#ifndef WEIR_IPFIX_H
#define WEIR_IPFIX_H

#include <stddef.h>
#include <stdint.h>
#include "flow.h"
#include "flow_delta.h"

#define WEIR_IPFIX_VERSION	10
#define WEIR_IPFIX_PEN_DEFAULT	32473 /* RFC 5612: for documentation */
#define WEIR_IPFIX_TEMPLATE_V4	256
#define WEIR_IPFIX_TEMPLATE_V6	257
#define WEIR_IPFIX_SET_TEMPLATE 2
#define WEIR_IPFIX_HEADER_BYTES 16
#define WEIR_IPFIX_SET_HEADER	4
#define WEIR_IPFIX_STRING_MAX	254
/* UDP: an Ethernet MTU less the IPv6 and UDP headers, so no message is fragmented. */
#define WEIR_IPFIX_UDP_MSG_MAX	1452
#define WEIR_IPFIX_MSG_MAX	65535 /* the header's 16-bit length */

/* flowEndReason (RFC 7012, IE 136). */
enum weir_ipfix_end_reason {
	WEIR_IPFIX_END_IDLE = 1,
	WEIR_IPFIX_END_ACTIVE = 2,
	WEIR_IPFIX_END_DETECTED = 3,
	WEIR_IPFIX_END_FORCED = 4,
	WEIR_IPFIX_END_RESOURCES = 5,
};

/* forwardingStatus (RFC 7270, IE 89): status in the top two bits, reason 0 "unknown". */
#define WEIR_IPFIX_FWD_FORWARDED 0x40
#define WEIR_IPFIX_FWD_DROPPED	 0x80

/* One data record: one direction of a flow, counters as deltas. */
struct weir_ipfix_flow {
	uint8_t family; /* 4 or 6: picks the template */
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport; /* host order */
	uint16_t dport;
	uint8_t proto;
	uint16_t tcp_flags;	   /* tcpControlBits: the TCP header's flag bits, NS at 0x100 */
	uint16_t icmp_type_code;   /* type << 8 | code; 0 unless ICMP */
	uint32_t ifindex;	   /* ingressInterface: the interface the flow was observed on */
	uint64_t packets;	   /* packetDeltaCount */
	uint64_t bytes;		   /* octetDeltaCount */
	uint64_t start_ms;	   /* flowStartMilliseconds, Unix epoch */
	uint64_t end_ms;	   /* flowEndMilliseconds */
	uint8_t end_reason;	   /* enum weir_ipfix_end_reason */
	uint8_t fwd_status;	   /* WEIR_IPFIX_FWD_* */
	uint8_t drop_reason;	   /* Weir's element 5 */
	const char *src_namespace; /* NULL: empty string */
	const char *src_pod;
	const char *dst_namespace;
	const char *dst_pod;
};

/* A message under construction in a caller's buffer. */
struct weir_ipfix_msg {
	uint8_t *buf;
	size_t cap; /* at most WEIR_IPFIX_MSG_MAX */
	size_t len;
	size_t set_off;	    /* the open data set's header, 0: none */
	uint16_t set_id;    /* its template */
	uint32_t n_records; /* data records in the message */
	uint32_t n_templates;
};

/* Starts a message (the header is written by _finish()). */
void weir_ipfix_msg_init(struct weir_ipfix_msg *m, uint8_t *buf, size_t cap);
/* Appends the template set (IPv4 and IPv6 templates); -ENOSPC when it does not fit. */
int weir_ipfix_add_templates(struct weir_ipfix_msg *m, uint32_t pen);
/* Appends one data record, opening a data set for its template when the
 * last set is another one. -ENOSPC (the message is unchanged) when it does
 * not fit: send the message and start another.
 */
int weir_ipfix_add_flow(struct weir_ipfix_msg *m, const struct weir_ipfix_flow *f);
/* Writes the header: export time (Unix seconds), the sequence number (data
 * records sent before this message in this observation domain, mod 2^32) and
 * the observation domain. Returns the message's length.
 */
size_t weir_ipfix_msg_finish(struct weir_ipfix_msg *m, uint32_t export_time_s, uint32_t seq,
			     uint32_t domain_id);
/* The bytes one record takes in a data set. */
size_t weir_ipfix_flow_len(const struct weir_ipfix_flow *f);

/* A flow record as IPFIX data records, one per direction that has new
 * packets in delta: the forward one (source -> destination) and the reply
 * (the addresses, ports and pods swapped). Start records make none: IPFIX
 * reports a flow at its active timeout and at its end, and the start's
 * packets are in the first of those. Returns how many (0 to 2) in out.
 */
int weir_ipfix_flows_from_record(const struct weir_flow_record *r,
				 const struct weir_flow_counts *delta,
				 struct weir_ipfix_flow out[2]);

#endif /* WEIR_IPFIX_H */
