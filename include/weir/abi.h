/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The datapath ABI: map keys and values, event records and map names shared
 * by the BPF programs and user space. Every struct is fixed-width, padded by
 * named fields and size-checked, so both compilers agree byte for byte.
 */
#ifndef WEIR_ABI_H
#define WEIR_ABI_H

#include <linux/types.h>
#include "reasons.h"

/* Verdicts, with Hubble's Verdict numbers. X(NAME, code) */
/* clang-format off */
#define WEIR_VERDICTS(X)	\
	X(VERDICT_UNKNOWN, 0)	\
	X(FORWARDED,	1)	\
	X(DROPPED,	2)	\
	X(AUDIT,	4)
/* clang-format on */

#define WEIR_VERDICT_ENUM(name, code) \
	WEIR_VERDICT_##name = code, /* NOLINT(bugprone-macro-parentheses) */
/* clang-format off */
enum weir_verdict {
	WEIR_VERDICTS(WEIR_VERDICT_ENUM)
};
/* clang-format on */
#undef WEIR_VERDICT_ENUM

/* The verdict a reason code stands for: a drop reason is DROPPED, a policy
 * in audit mode (forwarded, but would have been dropped) is AUDIT.
 */
static inline __u8 weir_reason_verdict(unsigned int code)
{
	if (weir_reason_is_drop(code))
		return WEIR_VERDICT_DROPPED;
	return code == WEIR_REASON_POLICY_AUDIT ? WEIR_VERDICT_AUDIT : WEIR_VERDICT_FORWARDED;
}

/* Traffic direction relative to the interface, with Hubble's numbers. */
enum weir_dir {
	WEIR_DIR_UNKNOWN = 0,
	WEIR_DIR_INGRESS = 1,
	WEIR_DIR_EGRESS = 2,
	WEIR_DIR_MAX,
};

/* Which program saw the packet: XDP and TC ingress on one interface see the
 * same packets, so the hook is part of every key to keep them apart.
 */
enum weir_hook {
	WEIR_HOOK_XDP = 0,
	WEIR_HOOK_TC = 1,
	WEIR_HOOK_MAX,
};

/* weir_flow_key.flags */
#define WEIR_FLOW_F_L3_ONLY                                \
	0x01 /* no ports: non-first fragment of an unknown \
	      * datagram, or an L4 protocol without ports */

/* Flow table key. Hashed bytewise: every byte must be written. */
struct weir_flow_key {
	__be32 saddr[4]; /* IPv4 uses saddr[0]; rest zero */
	__be32 daddr[4];
	__be16 sport; /* ICMP/ICMPv6: type << 8 | code */
	__be16 dport; /* ICMP/ICMPv6: 0 */
	__u32 ifindex;
	__u8 proto;  /* IPPROTO_* of the L4 header (after IPv6 extensions) */
	__u8 family; /* 4 or 6 */
	__u8 dir;    /* enum weir_dir */
	__u8 hook;   /* enum weir_hook */
	__u8 flags;  /* WEIR_FLOW_F_* */
	__u8 pad[3];
};
_Static_assert(sizeof(struct weir_flow_key) == 48, "weir_flow_key ABI");

/* TCP flags as OR-ed into weir_flow_value.tcp_flags: byte 13 of the TCP
 * header in the low byte, NS (byte 12, bit 0) as bit 8.
 */
#define WEIR_TCP_FIN 0x001
#define WEIR_TCP_SYN 0x002
#define WEIR_TCP_RST 0x004
#define WEIR_TCP_PSH 0x008
#define WEIR_TCP_ACK 0x010
#define WEIR_TCP_URG 0x020
#define WEIR_TCP_ECE 0x040
#define WEIR_TCP_CWR 0x080
#define WEIR_TCP_NS  0x100

/* Flow table value. Counters are cumulative since first_seen_ns. */
struct weir_flow_value {
	__u64 packets;
	__u64 bytes;	     /* L2 frame bytes (skb->len at TC) */
	__u64 first_seen_ns; /* CLOCK_MONOTONIC_COARSE (bpf_ktime_get_coarse_ns) */
	__u64 last_seen_ns;
	__u32 tcp_flags; /* OR of WEIR_TCP_* seen; 32 bits for BPF's atomic OR */
	__u8 verdict;	 /* enum weir_verdict of the last packet */
	__u8 reason;	 /* enum weir_reason of the last packet */
	__u8 pad[2];
};
_Static_assert(sizeof(struct weir_flow_value) == 40, "weir_flow_value ABI");

/* One flow-table entry as the flow table's iterator writes it
 * (datapath/flow_dump.bpf.c, read by lib/flow_table.c).
 */
struct weir_flow_entry {
	struct weir_flow_key key;
	struct weir_flow_value value;
};
_Static_assert(sizeof(struct weir_flow_entry) == 88, "weir_flow_entry ABI");

/* Fragment tracking: a first fragment records its ports here so that the
 * datagram's later fragments count against the same flow.
 */
struct weir_frag_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be32 id; /* IPv4: 16-bit ID in the low bytes; IPv6: 32-bit ID */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct weir_frag_key) == 40, "weir_frag_key ABI");

struct weir_frag_value {
	__be16 sport;
	__be16 dport;
};
_Static_assert(sizeof(struct weir_frag_value) == 4, "weir_frag_value ABI");

/* Per-CPU metrics, a PERCPU_ARRAY indexed by weir_metrics_index(). */
struct weir_metrics_key {
	__u8 reason; /* enum weir_reason: the verdict follows from it */
	__u8 dir;    /* enum weir_dir */
	__u8 hook;   /* enum weir_hook */
	__u8 pad;
};
_Static_assert(sizeof(struct weir_metrics_key) == 4, "weir_metrics_key ABI");

struct weir_metrics_value {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct weir_metrics_value) == 16, "weir_metrics_value ABI");

#define WEIR_METRICS_ENTRIES (256 * WEIR_DIR_MAX * WEIR_HOOK_MAX)

static inline __u32 weir_metrics_index(__u8 reason, __u8 dir, __u8 hook)
{
	return ((__u32)hook * WEIR_DIR_MAX + dir) * 256 + reason;
}

static inline struct weir_metrics_key weir_metrics_key_of(__u32 index)
{
	struct weir_metrics_key k = {
		.reason = index % 256,
		.dir = (index / 256) % WEIR_DIR_MAX,
		.hook = index / 256 / WEIR_DIR_MAX,
	};
	return k;
}

/* Datapath health counters, a PERCPU_ARRAY of __u64 indexed by these. */
/* clang-format off */
#define WEIR_COUNTERS(X)								\
	X(LOST_EVENTS,		"ring-buffer events lost: the buffer was full")	\
	X(FLOW_INSERT_FAILED,	"flow-table inserts that failed")		\
	X(FRAG_L3_ONLY,		"non-first fragments counted against an L3-only key") \
	X(FRAG_TRACK_FAILED,	"first fragments whose ports could not be recorded")	\
	X(POLICY_CT_FAILED,	"policy conntrack entries that could not be made")	\
	X(PREFILTER_EVENTS_SUPPRESSED, "prefilter drops counted without an event (rate limit)")
/* clang-format on */

#define WEIR_COUNTER_ENUM(name, text) WEIR_CNT_##name,
/* clang-format off */
enum weir_counter {
	WEIR_COUNTERS(WEIR_COUNTER_ENUM)
	WEIR_CNT_MAX,
};
/* clang-format on */
#undef WEIR_COUNTER_ENUM

/* Ring-buffer events. */
enum weir_event_type {
	WEIR_EV_FLOW_START = 1, /* first packet of a new flow-table entry */
	WEIR_EV_FLOW_END = 2,	/* a TCP packet with FIN or RST */
	WEIR_EV_DROP = 3,	/* every dropped packet */
};

/* Bump whenever struct weir_event changes layout. */
#define WEIR_EVENT_VERSION 1

struct weir_event {
	__u8 type;	 /* enum weir_event_type */
	__u8 version;	 /* WEIR_EVENT_VERSION */
	__u16 len_bytes; /* sizeof(struct weir_event) */
	__u8 verdict;	 /* enum weir_verdict */
	__u8 reason;	 /* enum weir_reason */
	__u16 tcp_flags; /* WEIR_TCP_* of this packet */
	__u64 ts_ns;	 /* CLOCK_MONOTONIC_COARSE */
	__u32 pkt_len_bytes;
	__u32 pad;
	/* For drops, only what was parsed before the drop is filled in; the
	 * rest is zero (and ifindex, dir and hook are always set).
	 */
	struct weir_flow_key key;
};
_Static_assert(sizeof(struct weir_event) == 72, "weir_event ABI");

/* Map names; pinned as WEIR_PIN_DIR "/" name. */
#define WEIR_PIN_DIR	  "/sys/fs/bpf/weir"
#define WEIR_MAP_FLOWS	  "weir_flows"
#define WEIR_MAP_METRICS  "weir_metrics"
#define WEIR_MAP_COUNTERS "weir_counters"
#define WEIR_MAP_EVENTS	  "weir_events"
#define WEIR_MAP_FRAGS	  "weir_frags"

/* Default sizes; the loader may change max_entries before load. */
#define WEIR_FLOWS_MAX_DEFAULT 65536	 /* flows; ~0.2 KiB of kernel memory each */
#define WEIR_FRAGS_MAX	       8192	 /* datagrams being reassembled at once */
#define WEIR_EVENTS_BYTES      (1 << 20) /* ring buffer: ~14k events of 72 bytes */

#endif /* WEIR_ABI_H */
