/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The compiled filter (the AST of lib/filter.c), shared by the files that
 * read it: filter.c matches records with it, filter_scan.c remembers its
 * endpoints' part over a scan, filter_sql.c translates it into SQL for the
 * relay's history. Not part of libweir's interface.
 */
#ifndef WEIR_FILTER_PRIV_H
#define WEIR_FILTER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include "label_selector.h"

/* A set of u8 codes (verdicts, drop reasons, directions). */
struct bits {
	uint64_t w[4];
};

static inline void bits_set(struct bits *b, unsigned int v)
{
	b->w[v / 64 % 4] |= 1ULL << (v % 64);
}

static inline bool bits_test(const struct bits *b, unsigned int v)
{
	return b->w[v / 64 % 4] >> (v % 64) & 1;
}

struct cidr {
	uint8_t family;
	uint8_t prefix_len;
	uint8_t bytes[16]; /* host bits cleared */
};

struct pod {
	char *ns;     /* "" is a valid namespace to compare with */
	char *prefix; /* "" matches every pod of the namespace */
	size_t prefix_len;
};

enum pat_kind { PAT_ANY, PAT_EXACT, PAT_PREFIX, PAT_GLOB };

struct pat {
	enum pat_kind kind;
	char *s; /* PAT_PREFIX: without the trailing '*' */
	size_t len;
};

/* Hubble's service filter: [namespace/]name-prefix; no namespace is any. */
struct svc {
	char *ns; /* "": any namespace */
	char *prefix;
	size_t prefix_len;
};

/* Hubble's Workload filter: an empty kind or name is any. */
struct workload {
	char *kind;
	char *name;
};

/* Hubble's node name pattern: [cluster/]node; no cluster means any cluster. */
struct node_pat {
	struct pat cluster;
	struct pat node;
};

struct iface {
	uint32_t index;		/* 0: any */
	char name[IF_NAMESIZE]; /* "": any */
};

/* Protocol bits; Hubble's L7 names (dns, http, kafka) set none and so match
 * nothing here.
 */
#define PROTO_TCP    0x01
#define PROTO_UDP    0x02
#define PROTO_SCTP   0x04
#define PROTO_ICMPV4 0x08
#define PROTO_ICMPV6 0x10

#define IPV_NONE 0x1
#define IPV_4	 0x2
#define IPV_6	 0x4

/* Which fields a filter sets (an empty list leaves a field unset, as in Hubble). */
enum {
	F_SRC_IP = 1 << 0,
	F_DST_IP = 1 << 1,
	F_SRC_POD = 1 << 2,
	F_DST_POD = 1 << 3,
	F_SRC_LABEL = 1 << 4,
	F_DST_LABEL = 1 << 5,
	F_SRC_PORT = 1 << 6,
	F_DST_PORT = 1 << 7,
	F_PROTOCOL = 1 << 8,
	F_VERDICT = 1 << 9,
	F_DROP_REASON = 1 << 10,
	F_DIR = 1 << 11,
	F_NODE = 1 << 12,
	F_TCP_FLAGS = 1 << 13,
	F_IP_VERSION = 1 << 14,
	F_IFACE = 1 << 15,
	F_REPLY = 1 << 16,
	F_SRC_SERVICE = 1 << 17,
	F_DST_SERVICE = 1 << 18,
	F_SRC_WORKLOAD = 1 << 19,
	F_DST_WORKLOAD = 1 << 20,
	F_SRC_IDENTITY = 1 << 21,
	F_DST_IDENTITY = 1 << 22,
};

/* The fields an endpoint alone decides (weir_filter_match_src() and _dst()). */
#define F_SRC_ENDPOINT (F_SRC_POD | F_SRC_LABEL | F_SRC_WORKLOAD | F_SRC_IDENTITY)
#define F_DST_ENDPOINT (F_DST_POD | F_DST_LABEL | F_DST_WORKLOAD | F_DST_IDENTITY)

struct weir_filter {
	uint32_t fields; /* F_* */
	struct bits verdicts;
	struct bits drop_reasons;
	struct bits dirs;
	uint8_t protocols;   /* PROTO_* */
	uint8_t ip_versions; /* IPV_* */
	uint8_t replies;     /* bit 0: false, bit 1: true */
	uint16_t *src_ports, *dst_ports;
	size_t n_src_ports, n_dst_ports;
	uint32_t *tcp_flags; /* each entry: all its WEIR_TCP_* set */
	size_t n_tcp_flags;
	struct iface *ifaces;
	size_t n_ifaces;
	struct cidr *src_ips, *dst_ips;
	size_t n_src_ips, n_dst_ips;
	struct pod *src_pods, *dst_pods;
	size_t n_src_pods, n_dst_pods;
	struct node_pat *nodes;
	size_t n_nodes;
	struct weir_label_selector **src_labels, **dst_labels;
	size_t n_src_labels, n_dst_labels;
	struct svc *src_svcs, *dst_svcs;
	size_t n_src_svcs, n_dst_svcs;
	struct workload *src_wls, *dst_wls;
	size_t n_src_wls, n_dst_wls;
	uint32_t *src_ids, *dst_ids; /* numeric security identities */
	size_t n_src_ids, n_dst_ids;
};

struct weir_endpoint;
struct weir_flow_record;
/* The endpoint's numeric identity: host 1, world 2, a pod 0 (none known). */
uint32_t weir_filter_identity_num(const struct weir_endpoint *ep);

/* A filter matches a record when all three do: the fields of the record
 * itself (addresses, ports, verdict, node...), and what its source and its
 * destination endpoint decide (pod, labels, workload, identity).
 */
bool weir_filter_match_fields(const struct weir_filter *f, const struct weir_flow_record *r);
bool weir_filter_match_src(const struct weir_filter *f, const struct weir_endpoint *ep);
bool weir_filter_match_dst(const struct weir_filter *f, const struct weir_endpoint *ep);

struct weir_filter_set {
	struct weir_filter *allow;
	size_t n_allow;
	struct weir_filter *deny;
	size_t n_deny;
};

#endif /* WEIR_FILTER_PRIV_H */
