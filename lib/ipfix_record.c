// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow records as IPFIX data records: a conversation record (both
 * directions, cumulative) becomes one data record per direction with its
 * delta counters.
 */
#include <string.h>
#include <netinet/in.h>
#include "ipfix.h"

static uint64_t ms_of(uint64_t ns)
{
	return ns / 1000000ULL;
}

/* The ICMP type of the reply to an ICMP request (echo, timestamp, ICMPv6
 * echo); other types go both ways unchanged.
 */
static uint8_t icmp_reply_type(uint8_t proto, uint8_t type)
{
	if (proto == IPPROTO_ICMP)
		return type == 8 ? 0 : type == 13 ? 14 : type;
	return type == 128 ? 129 : type;
}

static uint8_t end_reason(const struct weir_flow_record *r)
{
	switch (r->type) {
	case WEIR_RECORD_END:
		/* WEIR_END_* are flowEndReason's values */
		return r->end_reason ? (uint8_t)r->end_reason : WEIR_IPFIX_END_DETECTED;
	case WEIR_RECORD_DROP:
		return WEIR_IPFIX_END_DETECTED; /* the packet was the whole flow */
	default:
		return WEIR_IPFIX_END_ACTIVE;
	}
}

static const char *ns_of(const struct weir_endpoint *ep)
{
	return ep ? ep->namespace : NULL;
}

static const char *pod_of(const struct weir_endpoint *ep)
{
	return ep ? ep->pod_name : NULL;
}

int weir_ipfix_flows_from_record(const struct weir_flow_record *r,
				 const struct weir_flow_counts *delta,
				 struct weir_ipfix_flow out[2])
{
	bool icmp = r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6;
	bool dropped = r->verdict == WEIR_VERDICT_DROPPED;
	struct weir_ipfix_flow f;
	int n = 0;

	if (r->type == WEIR_RECORD_START || (r->family != 4 && r->family != 6))
		return 0;
	memset(&f, 0, sizeof(f));
	f.family = r->family;
	f.proto = r->proto;
	f.tcp_flags = r->proto == IPPROTO_TCP ? (uint16_t)(r->tcp_flags & 0x1ff) : 0;
	f.ifindex = r->ifindex;
	f.start_ms = ms_of(r->first_seen_ns);
	f.end_ms = ms_of(r->last_seen_ns);
	f.end_reason = end_reason(r);
	f.fwd_status = dropped ? WEIR_IPFIX_FWD_DROPPED : WEIR_IPFIX_FWD_FORWARDED;
	f.drop_reason = dropped ? r->reason : 0;

	if (delta->packets) {
		out[n] = f;
		memcpy(out[n].saddr, r->saddr, sizeof(r->saddr));
		memcpy(out[n].daddr, r->daddr, sizeof(r->daddr));
		out[n].sport = r->sport;
		out[n].dport = r->dport;
		if (icmp && !r->l3_only)
			out[n].icmp_type_code = (uint16_t)(r->icmp_type << 8 | r->icmp_code);
		out[n].packets = delta->packets;
		out[n].bytes = delta->bytes;
		out[n].src_namespace = ns_of(r->src);
		out[n].src_pod = pod_of(r->src);
		out[n].dst_namespace = ns_of(r->dst);
		out[n].dst_pod = pod_of(r->dst);
		n++;
	}
	if (delta->reply_packets) {
		out[n] = f;
		memcpy(out[n].saddr, r->daddr, sizeof(r->daddr));
		memcpy(out[n].daddr, r->saddr, sizeof(r->saddr));
		out[n].sport = r->dport;
		out[n].dport = r->sport;
		if (icmp && !r->l3_only)
			out[n].icmp_type_code =
				(uint16_t)(icmp_reply_type(r->proto, r->icmp_type) << 8 |
					   r->icmp_code);
		out[n].packets = delta->reply_packets;
		out[n].bytes = delta->reply_bytes;
		out[n].src_namespace = ns_of(r->dst);
		out[n].src_pod = pod_of(r->dst);
		out[n].dst_namespace = ns_of(r->src);
		out[n].dst_pod = pod_of(r->src);
		n++;
	}
	return n;
}
