/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The flow record: what the agent makes of kernel counters and events, what
 * the relay merges and what the CLI prints. Records and endpoints are
 * reference counted and immutable once published, so the store, every
 * follower and the exporters share them without copies.
 */
#ifndef WEIR_FLOW_H
#define WEIR_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <jansson.h>
#include <weir/abi.h>

/* An IPv4 or IPv6 address, network order; IPv4 in the first 4 bytes. */
struct weir_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t bytes[16];
};

/* Who is behind an address, with Hubble's reserved identities. */
enum weir_identity {
	WEIR_IDENTITY_WORLD = 0, /* labels ["reserved:world"] */
	WEIR_IDENTITY_HOST = 1,	 /* the node itself: ["reserved:host"] */
	WEIR_IDENTITY_POD = 2,
};

struct weir_endpoint {
	int refcnt; /* atomic: weir_endpoint_get()/weir_endpoint_put() */
	enum weir_identity identity;
	char *namespace; /* NULL unless a pod */
	char *pod_name;	 /* NULL unless a pod */
	char **labels;	 /* "key=value" (Hubble also prefixes a source, "k8s:app=x") */
	size_t n_labels;
	char *workload_name; /* owner workload, or NULL */
	char *workload_kind; /* "Deployment", "StatefulSet", "DaemonSet", "Job", ... */
	char *node_name;     /* node the endpoint lives on, or NULL */
};

/* A new endpoint with refcnt 1 and every string NULL. */
struct weir_endpoint *weir_endpoint_new(enum weir_identity identity);
struct weir_endpoint *weir_endpoint_get(struct weir_endpoint *ep);
void weir_endpoint_put(struct weir_endpoint *ep);
/* The process-wide world endpoint (never freed; get/put are harmless). */
struct weir_endpoint *weir_endpoint_world(void);

enum weir_record_type {
	WEIR_RECORD_START = 1,	/* first packet of a flow */
	WEIR_RECORD_UPDATE = 2, /* active timeout: the flow lives on */
	WEIR_RECORD_END = 3,	/* FIN/RST both ways, idle timeout, or eviction */
	WEIR_RECORD_DROP = 4,	/* a dropped packet (from a drop event) */
};

/* IPFIX flowEndReason (RFC 7012): why a record ended its flow. */
enum weir_end_reason {
	WEIR_END_NONE = 0,
	WEIR_END_IDLE = 1,	/* idle timeout */
	WEIR_END_ACTIVE = 2,	/* active timeout (UPDATE records) */
	WEIR_END_DETECTED = 3,	/* end of flow detected: TCP FIN both ways or RST */
	WEIR_END_FORCED = 4,	/* the agent stopped */
	WEIR_END_RESOURCES = 5, /* evicted from a full flow table */
};

enum weir_reply {
	WEIR_REPLY_UNKNOWN = 0,
	WEIR_REPLY_NO = 1,
	WEIR_REPLY_YES = 2,
};

struct weir_flow_record {
	int refcnt;		/* atomic: weir_flow_record_get()/weir_flow_record_put() */
	uint64_t id;		/* unique per node and run; the JSON "uuid" is made from it */
	uint64_t time_ns;	/* CLOCK_REALTIME ns: when this record was made */
	uint64_t first_seen_ns; /* CLOCK_REALTIME ns */
	uint64_t last_seen_ns;
	enum weir_record_type type;
	enum weir_end_reason end_reason;
	uint8_t family;	   /* 4 or 6 */
	uint8_t proto;	   /* IPPROTO_* */
	uint8_t saddr[16]; /* network order; IPv4 in the first 4 bytes, rest zero */
	uint8_t daddr[16];
	uint16_t sport; /* host order; 0 for ICMP and L3-only flows */
	uint16_t dport;
	uint8_t icmp_type; /* ICMP/ICMPv6 only */
	uint8_t icmp_code;
	bool l3_only; /* no ports known (WEIR_FLOW_F_L3_ONLY) */
	uint32_t ifindex;
	char ifname[IF_NAMESIZE];
	uint8_t dir;	 /* enum weir_dir: Hubble's traffic_direction */
	uint8_t hook;	 /* enum weir_hook */
	uint8_t verdict; /* enum weir_verdict */
	uint8_t reason;	 /* enum weir_reason; a drop reason when verdict is DROPPED */
	enum weir_reply is_reply;
	uint32_t tcp_flags; /* OR of WEIR_TCP_* seen, both directions */
	uint64_t packets;   /* cumulative, source -> destination */
	uint64_t bytes;
	uint64_t reply_packets; /* cumulative, destination -> source */
	uint64_t reply_bytes;
	char *node_name;	   /* owned; the node that observed the flow (to replace
				    * it, weir_flow_record_set_node_name()) */
	struct weir_endpoint *src; /* references owned by the record; never NULL once published */
	struct weir_endpoint *dst;
	/* Load-balanced flows: the service (Hubble's destination_service.name;
	 * owned, NULL otherwise) and the backend its address was translated to.
	 */
	char *dst_service;
	uint8_t lb_backend[16];	  /* network order, the record's family */
	uint16_t lb_backend_port; /* host order; 0: no translation known */
};

/* A zeroed record with refcnt 1. */
struct weir_flow_record *weir_flow_record_new(void);
/* The same with node_name (len bytes) copied into the record's own
 * allocation: one malloc instead of two, for records made by the thousand.
 */
struct weir_flow_record *weir_flow_record_new_named(const char *node_name, size_t len);
/* Replaces node_name with a copy of node_name (NULL: none): 0 or -ENOMEM. */
int weir_flow_record_set_node_name(struct weir_flow_record *r, const char *node_name);
struct weir_flow_record *weir_flow_record_get(struct weir_flow_record *r);
/* Drops a reference; the last one frees node_name and puts src and dst. */
void weir_flow_record_put(struct weir_flow_record *r);

/* Hubble's GetFlowsResponse: {"flow": {...}, "node_name": ..., "time": ...}, with
 * Hubble's field names inside "flow" and Weir's additions under "flow"."weir".
 */
json_t *weir_flow_record_to_json(const struct weir_flow_record *r);
struct weir_json_buf;
/* Appends r's JSON text (json_dumps(weir_flow_record_to_json(r), JSON_COMPACT),
 * byte for byte) to b, without building the tree: ~10x faster. 0, or -ENOMEM
 * with b as it was before the call (and b->err set).
 */
int weir_flow_record_write_json(const struct weir_flow_record *r, struct weir_json_buf *b);
/* Parses Weir's output or Hubble's (`hubble observe -o json` lines, or a bare
 * Flow object). Returns 0, or -EINVAL with a one-line reason in err, or
 * -ENODATA for a GetFlowsResponse that holds no flow (node_status,
 * lost_events: skip it).
 */
int weir_flow_record_from_json(const json_t *j, struct weir_flow_record **out, char *err,
			       size_t err_len);

/* "10.0.0.1" or "fd00::1" for the record's family. */
const char *weir_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len);
/* "TCP", "UDP", "ICMPv4", "ICMPv6", "SCTP", or the number. */
const char *weir_proto_name(uint8_t proto, char *buf, size_t len);

#endif /* WEIR_FLOW_H */
