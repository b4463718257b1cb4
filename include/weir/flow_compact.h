/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Weir's compact flow stream, version 1: what an agent sends the relay on
 * GET /v1/flows?format=compact (follow or not). It is still NDJSON, one JSON
 * value a line, so curl and jq read it, but a record is a flat array of its
 * fields in a fixed order, and what repeats (endpoints, node and interface
 * names, services) is defined once per stream and then named by a number.
 *
 * Content-Type: WEIR_COMPACT_MEDIA. The lines, in the order they come:
 *
 *   {"format":"compact","version":1}
 *       the first line, always; a reader refuses any other version
 *   ["ep",ID,IDENTITY,NAMESPACE,POD,[LABEL,...],WORKLOAD_NAME,WORKLOAD_KIND,NODE]
 *       defines endpoint ID (IDENTITY: enum weir_identity in lib/flow.h; the
 *       strings are JSON strings or null). IDs are 0, 1, 2... in order: each
 *       definition takes the next one, below WEIR_COMPACT_ENDPOINTS_MAX
 *   ["str",ID,TEXT]
 *       defines string ID (node, interface and service names), the same way,
 *       below WEIR_COMPACT_STRINGS_MAX
 *   ["reset"]
 *       forgets every definition: IDs start again from 0 (the writer's
 *       dictionary was full)
 *   [TIME_NS,ID,...]
 *       a flow record: the fields of WEIR_COMPACT_FIELDS in that order, no
 *       whitespace; numbers are unsigned decimal integers; addresses are text
 *       ("10.0.0.1", "fd00::1") in the record's family, null when the family
 *       is neither 4 nor 6; STR and EP fields are IDs defined before (a
 *       string may be null); the last WEIR_COMPACT_TAIL fields (the
 *       load-balancing ones) are all left out when empty
 *   {...}
 *       any other line of the follow stream (lost_events, node_status) as
 *       the plain NDJSON stream writes it
 *
 * Enumerations go as their codes: dir, hook, verdict and reason as in
 * weir/abi.h (enum weir_dir, weir_hook, weir_verdict, weir_reason); type,
 * end_reason, is_reply and identity as in lib/flow.h.
 */
#ifndef WEIR_FLOW_COMPACT_H
#define WEIR_FLOW_COMPACT_H

#define WEIR_COMPACT_VERSION	   1
#define WEIR_COMPACT_FORMAT	   "compact" /* the query's format= */
#define WEIR_COMPACT_MEDIA	   "application/x-ndjson; weir=compact-v1"
#define WEIR_COMPACT_MEDIA_PARAM   "weir=compact-v1" /* how a reader knows the answer */
#define WEIR_COMPACT_ENDPOINTS_MAX 4096
#define WEIR_COMPACT_STRINGS_MAX   4096
#define WEIR_COMPACT_LABELS_MAX	   64	/* labels of one endpoint */
#define WEIR_COMPACT_STRING_MAX	   4096 /* bytes of one defined string, as written */

/* A record's fields, in their order: X(NAME, kind, what). Kinds: U64 (an
 * integer up to UINT64_MAX), U32, U16, U8, BOOL (0 or 1), ADDR, STR (a
 * string ID or null), EP (an endpoint ID).
 */
#define WEIR_COMPACT_FIELDS(X)                                                      \
	X(TIME, U64, "time_ns: when the record was made, CLOCK_REALTIME ns")        \
	X(ID, U64, "id: the record's id (its uuid is made from it)")                \
	X(FIRST_SEEN, U64, "first_seen_ns")                                         \
	X(LAST_SEEN, U64, "last_seen_ns")                                           \
	X(TYPE, U8, "type: enum weir_record_type")                                  \
	X(END_REASON, U8, "end_reason: enum weir_end_reason")                       \
	X(FAMILY, U8, "family: 4 or 6")                                             \
	X(PROTO, U8, "proto: IPPROTO_*")                                            \
	X(SADDR, ADDR, "source address")                                            \
	X(DADDR, ADDR, "destination address")                                       \
	X(SPORT, U16, "source port")                                                \
	X(DPORT, U16, "destination port")                                           \
	X(ICMP_TYPE, U8, "ICMP type")                                               \
	X(ICMP_CODE, U8, "ICMP code")                                               \
	X(L3_ONLY, BOOL, "l3_only: no ports known")                                 \
	X(IFINDEX, U32, "ifindex")                                                  \
	X(IFNAME, STR, "interface name")                                            \
	X(DIR, U8, "dir: enum weir_dir")                                            \
	X(HOOK, U8, "hook: enum weir_hook")                                         \
	X(VERDICT, U8, "verdict: enum weir_verdict")                                \
	X(REASON, U8, "reason: enum weir_reason")                                   \
	X(IS_REPLY, U8, "is_reply: enum weir_reply")                                \
	X(TCP_FLAGS, U32, "tcp_flags: WEIR_TCP_* seen")                             \
	X(PACKETS, U64, "packets, source to destination")                           \
	X(BYTES, U64, "bytes, source to destination")                               \
	X(REPLY_PACKETS, U64, "reply_packets")                                      \
	X(REPLY_BYTES, U64, "reply_bytes")                                          \
	X(NODE, STR, "node_name: the node that observed the flow")                  \
	X(SRC, EP, "source endpoint")                                               \
	X(DST, EP, "destination endpoint")                                          \
	X(SERVICE, STR, "dst_service: the load-balanced service (tail)")            \
	X(LB_BACKEND, ADDR, "the backend the destination was translated to (tail)") \
	X(LB_BACKEND_PORT, U16, "its port; 0: no translation known (tail)")

enum weir_compact_field {
#define WEIR_COMPACT_X(name, kind, what) WEIR_COMPACT_F_##name,
	WEIR_COMPACT_FIELDS(WEIR_COMPACT_X)
#undef WEIR_COMPACT_X
		WEIR_COMPACT_N_FIELDS,
};

#define WEIR_COMPACT_TAIL 3 /* SERVICE, LB_BACKEND, LB_BACKEND_PORT: all or none */

#endif /* WEIR_FLOW_COMPACT_H */
