// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Hubble's enum spellings, from flow.proto (Verdict, DropReason,
 * TrafficDirection, TCPFlags) and gopacket (ICMP type/code texts).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <weir/abi.h>
#include "hubble_names.h"
#include "names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct code_name {
	unsigned int code;
	const char *name;
};

/* Hubble's verdicts beyond enum weir_verdict (which names.c spells). */
static const struct code_name hubble_verdicts[] = {
	{ 3, "ERROR" }, { 4, "AUDIT" }, { 5, "REDIRECTED" }, { 6, "TRACED" }, { 7, "TRANSLATED" },
};

/* Hubble's DropReason values (flow.proto). Weir's drop list is looked up
 * first; a unit test checks that both agree on every code Weir has.
 */
/* clang-format off */
static const struct code_name hubble_drop_reasons[] = {
	{ 0, "DROP_REASON_UNKNOWN" },
	{ 130, "INVALID_SOURCE_MAC" },
	{ 131, "INVALID_DESTINATION_MAC" },
	{ 132, "INVALID_SOURCE_IP" },
	{ 133, "POLICY_DENIED" },
	{ 134, "INVALID_PACKET_DROPPED" },
	{ 135, "CT_TRUNCATED_OR_INVALID_HEADER" },
	{ 136, "CT_MISSING_TCP_ACK_FLAG" },
	{ 137, "CT_UNKNOWN_L4_PROTOCOL" },
	{ 138, "CT_CANNOT_CREATE_ENTRY_FROM_PACKET" },
	{ 139, "UNSUPPORTED_L3_PROTOCOL" },
	{ 140, "MISSED_TAIL_CALL" },
	{ 141, "ERROR_WRITING_TO_PACKET" },
	{ 142, "UNKNOWN_L4_PROTOCOL" },
	{ 143, "UNKNOWN_ICMPV4_CODE" },
	{ 144, "UNKNOWN_ICMPV4_TYPE" },
	{ 145, "UNKNOWN_ICMPV6_CODE" },
	{ 146, "UNKNOWN_ICMPV6_TYPE" },
	{ 147, "ERROR_RETRIEVING_TUNNEL_KEY" },
	{ 148, "ERROR_RETRIEVING_TUNNEL_OPTIONS" },
	{ 149, "INVALID_GENEVE_OPTION" },
	{ 150, "UNKNOWN_L3_TARGET_ADDRESS" },
	{ 151, "STALE_OR_UNROUTABLE_IP" },
	{ 152, "NO_MATCHING_LOCAL_CONTAINER_FOUND" },
	{ 153, "ERROR_WHILE_CORRECTING_L3_CHECKSUM" },
	{ 154, "ERROR_WHILE_CORRECTING_L4_CHECKSUM" },
	{ 155, "CT_MAP_INSERTION_FAILED" },
	{ 156, "INVALID_IPV6_EXTENSION_HEADER" },
	{ 157, "IP_FRAGMENTATION_NOT_SUPPORTED" },
	{ 158, "SERVICE_BACKEND_NOT_FOUND" },
	{ 160, "NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT" },
	{ 161, "FAILED_TO_INSERT_INTO_PROXYMAP" },
	{ 162, "REACHED_EDT_RATE_LIMITING_DROP_HORIZON" },
	{ 163, "UNKNOWN_CONNECTION_TRACKING_STATE" },
	{ 164, "LOCAL_HOST_IS_UNREACHABLE" },
	{ 165, "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION" },
	{ 166, "UNSUPPORTED_L2_PROTOCOL" },
	{ 167, "NO_MAPPING_FOR_NAT_MASQUERADE" },
	{ 168, "UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE" },
	{ 169, "FIB_LOOKUP_FAILED" },
	{ 170, "ENCAPSULATION_TRAFFIC_IS_PROHIBITED" },
	{ 171, "INVALID_IDENTITY" },
	{ 172, "UNKNOWN_SENDER" },
	{ 173, "NAT_NOT_NEEDED" },
	{ 174, "IS_A_CLUSTERIP" },
	{ 175, "FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND" },
	{ 176, "FORBIDDEN_ICMPV6_MESSAGE" },
	{ 177, "DENIED_BY_LB_SRC_RANGE_CHECK" },
	{ 178, "SOCKET_LOOKUP_FAILED" },
	{ 179, "SOCKET_ASSIGN_FAILED" },
	{ 180, "PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL" },
	{ 181, "POLICY_DENY" },
	{ 182, "VLAN_FILTERED" },
	{ 183, "INVALID_VNI" },
	{ 184, "INVALID_TC_BUFFER" },
	{ 185, "NO_SID" },
	{ 186, "MISSING_SRV6_STATE" },
	{ 187, "NAT46" },
	{ 188, "NAT64" },
	{ 189, "AUTH_REQUIRED" },
	{ 190, "CT_NO_MAP_FOUND" },
	{ 191, "SNAT_NO_MAP_FOUND" },
	{ 192, "INVALID_CLUSTER_ID" },
	{ 193, "UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP" },
	{ 194, "NO_EGRESS_GATEWAY" },
	{ 195, "UNENCRYPTED_TRAFFIC" },
	{ 196, "TTL_EXCEEDED" },
	{ 197, "NO_NODE_ID" },
	{ 198, "DROP_RATE_LIMITED" },
	{ 199, "IGMP_HANDLED" },
	{ 200, "IGMP_SUBSCRIBED" },
	{ 201, "MULTICAST_HANDLED" },
	{ 202, "DROP_HOST_NOT_READY" },
	{ 203, "DROP_EP_NOT_READY" },
	{ 204, "DROP_NO_EGRESS_IP" },
	{ 205, "DROP_PUNT_PROXY" },
};
/* clang-format on */

static const struct code_name dirs[] = {
	{ WEIR_DIR_UNKNOWN, "TRAFFIC_DIRECTION_UNKNOWN" },
	{ WEIR_DIR_INGRESS, "INGRESS" },
	{ WEIR_DIR_EGRESS, "EGRESS" },
};

const struct weir_tcp_flag weir_tcp_flags[9] = {
	{ WEIR_TCP_FIN, "FIN" }, { WEIR_TCP_SYN, "SYN" }, { WEIR_TCP_RST, "RST" },
	{ WEIR_TCP_PSH, "PSH" }, { WEIR_TCP_ACK, "ACK" }, { WEIR_TCP_URG, "URG" },
	{ WEIR_TCP_ECE, "ECE" }, { WEIR_TCP_CWR, "CWR" }, { WEIR_TCP_NS, "NS" },
};

static const char *find_name(const struct code_name *t, size_t n, unsigned int code)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

static int find_code(const struct code_name *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(t[i].name, name))
			return (int)t[i].code;
	return -EINVAL;
}

const char *weir_hubble_verdict_name(unsigned int code)
{
	const char *name = weir_verdict_name(code);

	return name ? name : find_name(hubble_verdicts, ARRAY_SIZE(hubble_verdicts), code);
}

int weir_hubble_verdict_parse(const char *name)
{
	unsigned int code;

	for (code = 0; code < 256; code++) {
		const char *n = weir_verdict_name(code);

		if (n && !strcasecmp(n, name))
			return (int)code;
	}
	return find_code(hubble_verdicts, ARRAY_SIZE(hubble_verdicts), name);
}

const char *weir_hubble_drop_reason_name(unsigned int code)
{
	const char *name = weir_reason_is_drop(code) ? weir_reason_name(code) : NULL;

	return name ? name : find_name(hubble_drop_reasons, ARRAY_SIZE(hubble_drop_reasons), code);
}

int weir_hubble_drop_reason_parse(const char *name)
{
	unsigned int code;

	for (code = WEIR_DROP_MIN; code < 256; code++) {
		const char *n = weir_reason_name(code);

		if (n && !strcasecmp(n, name))
			return (int)code;
	}
	return find_code(hubble_drop_reasons, ARRAY_SIZE(hubble_drop_reasons), name);
}

const char *weir_hubble_dir_name(unsigned int dir)
{
	return find_name(dirs, ARRAY_SIZE(dirs), dir);
}

int weir_hubble_dir_parse(const char *name)
{
	return find_code(dirs, ARRAY_SIZE(dirs), name);
}

uint32_t weir_tcp_flag_parse(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(weir_tcp_flags); i++)
		if (!strcasecmp(weir_tcp_flags[i].name, name))
			return weir_tcp_flags[i].bit;
	return 0;
}

void weir_tcp_flags_summary(uint32_t flags, char *buf, size_t len)
{
	/* Hubble's Summary order differs from flow.proto's field order. */
	static const struct code_name order[] = {
		{ WEIR_TCP_SYN, "SYN" }, { WEIR_TCP_ACK, "ACK" }, { WEIR_TCP_RST, "RST" },
		{ WEIR_TCP_FIN, "FIN" }, { WEIR_TCP_PSH, "PSH" }, { WEIR_TCP_URG, "URG" },
		{ WEIR_TCP_ECE, "ECE" }, { WEIR_TCP_CWR, "CWR" }, { WEIR_TCP_NS, "NS" },
	};
	size_t i, off = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		int n;

		if (!(flags & order[i].code))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", order[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
}

struct icmp_type {
	uint8_t type;
	const char *name;
	const char *const *codes; /* NULL: the type has no codes */
	size_t n_codes;
};

static const char *const icmp4_unreach[] = {
	"Net",
	"Host",
	"Protocol",
	"Port",
	"FragmentationNeeded",
	"SourceRoutingFailed",
	"NetUnknown",
	"HostUnknown",
	"SourceIsolated",
	"NetAdminProhibited",
	"HostAdminProhibited",
	"NetTOS",
	"HostTOS",
	"CommAdminProhibited",
	"HostPrecedence",
	"PrecedenceCutoff",
};
static const char *const icmp4_time[] = { "TTLExceeded", "FragmentReassemblyTimeExceeded" };
static const char *const icmp4_param[] = { "PointerIndicatesError", "MissingOption", "BadLength" };
static const char *const icmp4_redirect[] = { "Net", "Host", "TOS+Net", "TOS+Host" };

#define CODES(a) a, ARRAY_SIZE(a)
static const struct icmp_type icmp4_types[] = {
	{ 0, "EchoReply", NULL, 0 },
	{ 3, "DestinationUnreachable", CODES(icmp4_unreach) },
	{ 4, "SourceQuench", NULL, 0 },
	{ 5, "Redirect", CODES(icmp4_redirect) },
	{ 8, "EchoRequest", NULL, 0 },
	{ 9, "RouterAdvertisement", NULL, 0 },
	{ 10, "RouterSolicitation", NULL, 0 },
	{ 11, "TimeExceeded", CODES(icmp4_time) },
	{ 12, "ParameterProblem", CODES(icmp4_param) },
	{ 13, "TimestampRequest", NULL, 0 },
	{ 14, "TimestampReply", NULL, 0 },
	{ 15, "InfoRequest", NULL, 0 },
	{ 16, "InfoReply", NULL, 0 },
	{ 17, "AddressMaskRequest", NULL, 0 },
	{ 18, "AddressMaskReply", NULL, 0 },
};

static const char *const icmp6_unreach[] = {
	"NoRouteToDst",	   "AdminProhibited",	     "BeyondScopeOfSrc", "AddressUnreachable",
	"PortUnreachable", "SrcAddressFailedPolicy", "RejectRouteToDst",
};
static const char *const icmp6_time[] = { "HopLimitExceeded", "FragmentReassemblyTimeExceeded" };
static const char *const icmp6_param[] = { "ErroneousHeaderField", "UnrecognizedNextHeader",
					   "UnrecognizedNextHeader" };

static const struct icmp_type icmp6_types[] = {
	{ 1, "DestinationUnreachable", CODES(icmp6_unreach) },
	{ 2, "PacketTooBig", NULL, 0 },
	{ 3, "TimeExceeded", CODES(icmp6_time) },
	{ 4, "ParameterProblem", CODES(icmp6_param) },
	{ 128, "EchoRequest", NULL, 0 },
	{ 129, "EchoReply", NULL, 0 },
	{ 133, "RouterSolicitation", NULL, 0 },
	{ 134, "RouterAdvertisement", NULL, 0 },
	{ 135, "NeighborSolicitation", NULL, 0 },
	{ 136, "NeighborAdvertisement", NULL, 0 },
	{ 137, "Redirect", NULL, 0 },
};
#undef CODES

void weir_icmp_summary(uint8_t proto, uint8_t type, uint8_t code, char *buf, size_t len)
{
	const struct icmp_type *t = proto == 58 ? icmp6_types : icmp4_types;
	size_t i, n = proto == 58 ? ARRAY_SIZE(icmp6_types) : ARRAY_SIZE(icmp4_types);

	for (i = 0; i < n; i++) {
		if (t[i].type != type)
			continue;
		if (code < t[i].n_codes)
			snprintf(buf, len, "%s(%s)", t[i].name, t[i].codes[code]);
		else if (code || t[i].codes)
			snprintf(buf, len, "%s(Code: %u)", t[i].name, code);
		else
			snprintf(buf, len, "%s", t[i].name);
		return;
	}
	snprintf(buf, len, "%u(%u)", type, code);
}
