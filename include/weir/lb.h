/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The L4 load balancer's ABI: service, backend, Maglev, conntrack, reverse
 * NAT, affinity and statistics maps shared by the datapath (XDP DNAT, TC
 * reverse NAT) and the agent that programs them. Same rules as abi.h: fixed
 * width, padding named, sizes asserted, every key byte written (keys are
 * hashed bytewise: zero the struct before filling it).
 *
 * Change log (the control plane re-reads this block; changes stay compatible):
 *   v1  first version.
 *   v2  datapath only, no layout change: a new flow whose Maglev entry names
 *       a non-active backend takes the next entries' (up to 4) instead of
 *       being dropped; the agent still rebuilds tables on state changes.
 *
 * How the pieces fit (ids are the agent's; 0 is never a valid id):
 *   weir_lb_services   HASH  weir_lb_svc_key (VIP, port, proto, family) -> weir_lb_svc
 *   weir_lb_maglev     ARRAY_OF_MAPS  svc id -> inner ARRAY (the service's Maglev table)
 *   weir_lb_backends   ARRAY backend id -> weir_lb_backend
 *   weir_lb_ct         LRU_HASH weir_lb_tuple (client -> VIP, as it arrives) -> weir_lb_ct_value
 *   weir_lb_revnat     LRU_HASH weir_lb_tuple (backend -> client) -> weir_lb_revnat_value
 *   weir_lb_affinity   LRU_HASH weir_lb_affinity_key -> weir_lb_affinity_value
 *   weir_lb_svc_stats  PERCPU_ARRAY svc id -> weir_lb_stats
 *   weir_lb_backend_stats PERCPU_ARRAY backend id -> weir_lb_stats
 *   weir_lb_config     ARRAY, one entry (key 0) -> weir_lb_config (the hash seed)
 *
 * Id-indexed arrays (maglev, backends, both stats) have max + 1 slots: ids run
 * 1..max and slot 0 stays unused. The loader sizes them from its options
 * (struct weir_datapath_opts in lib/datapath.h). The stats are per CPU:
 * 32 bytes x possible CPUs x (max + 1) each (4 MiB per map for 64k ids on 2
 * CPUs, 128 MiB on 64): size services and backends to what the node needs.
 *
 * Where each half runs:
 *   XDP ingress on the node's uplink: a packet to a VIP is DNATed to its
 *   backend (addresses, port, IPv4 header, TCP/UDP checksums, incremental) and
 *   passed to the stack, which routes it to the backend. The node needs
 *   ip_forward and a route to the backends; the VIP need not be a local address.
 *   TC egress (weir_tc_egress) on the uplink: a reply backend -> client found in
 *   weir_lb_revnat is rewritten to VIP -> client before it leaves. TC egress on
 *   any other interface does the same lookup, so attaching TC to the uplink is
 *   what the netns topology needs (client ns -- node ns (XDP + TC on the
 *   client-facing uplink) -- backend ns's).
 *
 * Maglev tables: the inner maps are created by the agent, one per service and
 * table build:
 *	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = WEIR_LB_MAGLEV_INNER_FLAGS);
 *	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "weir_lb_mg_in", sizeof(__u32),
 *			    sizeof(__u32), WEIR_LB_MAGLEV_SLOTS(m), &o);
 *	slot 0 = m (the table size, a prime); slot 1 + i = backend id of entry i
 *	(bpf_map_update_batch or one update per slot), then
 *	bpf_map_update_elem(maglev_outer_fd, &svc_id, &fd, BPF_ANY); close(fd);
 * Replacing the outer entry is atomic: a packet sees the old table or the new
 * one, never half of one; the outer map keeps the inner map alive (no pin).
 * (BPF_F_INNER_MAP is in <linux/bpf.h>.) The table carries its own size, so
 * services may use different sizes and a resize needs no second write.
 * Delete the outer entry with the service. A table entry must name an ACTIVE
 * backend: the agent leaves draining and down backends out of the build
 * (weight 0) and rebuilds on every change. In the window before a rebuild a
 * new flow whose entry names a non-active backend takes the next entry's
 * backend (up to 4 entries on), and is dropped as SERVICE_BACKEND_NOT_FOUND
 * only when none of them is active.
 *
 * Choosing a backend for a new flow (weir_lb_hash() below, shared with user
 * space so tests can predict it): h = weir_lb_hash(client addr, client port
 * (0 when the service has affinity), proto, seed); entry = h % m. The VIP is
 * left out, as in Cilium: the same client maps alike on every node.
 *
 * Conntrack: the XDP program looks a VIP packet up in weir_lb_ct by its tuple
 * as it arrives (client -> VIP). A live entry pins the flow to its backend:
 * reweighting, adding or removing backends, or draining, never moves it. An
 * entry whose backend is DOWN or gone (family 0 in weir_lb_backends), or that
 * has expired (last_seen_ns + timeout of its state < now), is replaced by a
 * new choice. A TCP SYN on a CLOSING entry starts a new connection (new
 * choice). Each new entry writes the matching weir_lb_revnat entry too. The
 * datapath checks expiry itself; the agent may delete expired entries.
 *
 * Flow records: the XDP flow key of a load-balanced packet is the packet as it
 * arrived (client -> VIP), which is exactly the weir_lb_ct key
 * (weir_lb_tuple_of_flow()); the agent reads the service and backend of a
 * flow from there during its sweep, so flow records cost the datapath nothing
 * and weir_flow_value keeps its layout. At TC egress the reply is counted as
 * it leaves (VIP -> client, after reverse NAT); reverse that tuple to find the
 * same entry.
 */
#ifndef WEIR_LB_H
#define WEIR_LB_H

#include <linux/types.h>
#include "abi.h"

/* Map names; pinned like the others under the pin dir. */
#define WEIR_MAP_LB_SERVICES	  "weir_lb_services"
#define WEIR_MAP_LB_MAGLEV	  "weir_lb_maglev"
#define WEIR_MAP_LB_BACKENDS	  "weir_lb_backends"
#define WEIR_MAP_LB_CT		  "weir_lb_ct"
#define WEIR_MAP_LB_REVNAT	  "weir_lb_revnat"
#define WEIR_MAP_LB_AFFINITY	  "weir_lb_affinity"
#define WEIR_MAP_LB_SVC_STATS	  "weir_lb_svc_stats"
#define WEIR_MAP_LB_BACKEND_STATS "weir_lb_backend_stats"
#define WEIR_MAP_LB_CONFIG	  "weir_lb_config"

/* Default sizes; the loader may change them (lib/datapath.h options). */
#define WEIR_LB_SERVICES_DEFAULT 65536	     /* services (VIP, port, proto) */
#define WEIR_LB_BACKENDS_DEFAULT 65536	     /* backends, ids 1..this */
#define WEIR_LB_CT_DEFAULT	 65536	     /* conntrack and reverse-NAT entries each */
#define WEIR_LB_AFFINITY_DEFAULT 65536	     /* (service, client) affinity entries */
#define WEIR_LB_MAGLEV_M_DEFAULT 16381	     /* Maglev table size: a prime, > 100 x backends */
#define WEIR_LB_SEED_DEFAULT	 0x57454952u /* "WEIR"; the same on every node */

/* The Maglev inner map: an ARRAY of __u32, slot 0 = table size m, slots
 * 1..m = backend ids. BPF_F_INNER_MAP lets tables of different sizes share
 * the outer map.
 */
#define WEIR_LB_MAGLEV_INNER_FLAGS BPF_F_INNER_MAP
#define WEIR_LB_MAGLEV_SLOTS(m)	   ((m) + 1)
#define WEIR_LB_MAGLEV_M_MAX	   131071 /* largest table the datapath accepts */

/* Conntrack timeouts (seconds), Cilium's defaults. */
#define WEIR_LB_CT_TCP_SYN_TIMEOUT_S 60	   /* SYN seen, not yet established */
#define WEIR_LB_CT_TCP_EST_TIMEOUT_S 21600 /* established, idle */
#define WEIR_LB_CT_TCP_FIN_TIMEOUT_S 10	   /* FIN or RST seen */
#define WEIR_LB_CT_ANY_TIMEOUT_S     60	   /* UDP and other non-TCP */
/* last_seen_ns is written back only when it is older than this: a shared
 * entry is not dirtied by every packet (timeouts are seconds, not ns).
 */
#define WEIR_LB_CT_REFRESH_NS	     1000000000ull

/* Session affinity: timeout (weir_lb_svc.affinity_timeout_s) default. */
#define WEIR_LB_AFFINITY_TIMEOUT_DEFAULT_S 10800 /* 3 h, Kubernetes' ClientIP default */

/* Service key. Hashed bytewise. */
struct weir_lb_svc_key {
	__be32 addr[4]; /* VIP; IPv4 uses addr[0], rest zero */
	__be16 port;	/* service port */
	__u8 proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;	/* 4 or 6 */
};
_Static_assert(sizeof(struct weir_lb_svc_key) == 20, "weir_lb_svc_key ABI");

/* weir_lb_svc.flags: none yet (affinity is affinity_timeout_s != 0). */

struct weir_lb_svc {
	__u32 id;		  /* 1..services max: Maglev, stats and rev-NAT id */
	__u32 affinity_timeout_s; /* client-IP affinity; 0: off */
	__u16 n_backends_usable;  /* ACTIVE backends in the table; 0: drop (158) */
	__u8 flags;		  /* WEIR_LB_SVC_F_*, none yet: write 0 */
	__u8 pad;
	__u32 pad2;
};
_Static_assert(sizeof(struct weir_lb_svc) == 16, "weir_lb_svc ABI");

/* Backend states. */
/* clang-format off */
#define WEIR_LB_BACKEND_STATES(X)						\
	X(ACTIVE,   0, "active")	/* new flows and existing ones */	\
	X(DRAINING, 1, "draining")	/* existing flows only */		\
	X(DOWN,     2, "down")		/* none: its flows are re-chosen */
/* clang-format on */

#define WEIR_LB_BACKEND_ENUM(name, code, text) \
	WEIR_LB_BACKEND_##name = code, /* NOLINT(bugprone-macro-parentheses) */
/* clang-format off */
enum weir_lb_backend_state {
	WEIR_LB_BACKEND_STATES(WEIR_LB_BACKEND_ENUM)
};
/* clang-format on */
#undef WEIR_LB_BACKEND_ENUM

/* Backend, by id. family 0 marks an unused slot (a deleted backend). */
struct weir_lb_backend {
	__be32 addr[4]; /* IPv4 uses addr[0]; rest zero */
	__be16 port;	/* backend port */
	__u8 family;	/* 4 or 6, the same as its services' */
	__u8 state;	/* enum weir_lb_backend_state */
	__u16 weight;	/* the agent's, for the Maglev build; the datapath ignores it */
	__u16 pad;
};
_Static_assert(sizeof(struct weir_lb_backend) == 24, "weir_lb_backend ABI");

/* A directional 5-tuple: the conntrack key (client -> VIP as the packet
 * arrives) and the reverse-NAT key (backend -> client as the reply leaves
 * the backend). Hashed bytewise. Its first fields mirror weir_flow_key's.
 */
struct weir_lb_tuple {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct weir_lb_tuple) == 40, "weir_lb_tuple ABI");

/* The conntrack key of a flow-table key: for an XDP flow to a VIP, the
 * entry that says which service and backend it went to.
 */
static inline struct weir_lb_tuple weir_lb_tuple_of_flow(const struct weir_flow_key *k)
{
	struct weir_lb_tuple t = { .sport = k->sport, .dport = k->dport };
	int i;

	for (i = 0; i < 4; i++) {
		t.saddr[i] = k->saddr[i];
		t.daddr[i] = k->daddr[i];
	}
	t.proto = k->proto;
	t.family = k->family;
	return t;
}

/* Conntrack states: a TCP packet's flags move the entry, the state sets its
 * timeout (weir_lb_ct_timeout_ns()).
 */
enum weir_lb_ct_state {
	WEIR_LB_CT_NONE = 0,	    /* not written by the datapath */
	WEIR_LB_CT_TCP_SYN = 1,	    /* SYN from the client, no ACK yet */
	WEIR_LB_CT_TCP_EST = 2,	    /* an ACK from the client */
	WEIR_LB_CT_TCP_CLOSING = 3, /* FIN or RST from either side */
	WEIR_LB_CT_ANY = 4,	    /* non-TCP */
};

/* weir_lb_ct_value.flags */
#define WEIR_LB_CT_F_FIN_CLIENT	 0x01 /* FIN from the client */
#define WEIR_LB_CT_F_FIN_BACKEND 0x02 /* FIN from the backend (TC reverse NAT) */
#define WEIR_LB_CT_F_RST	 0x04 /* RST from either side */
#define WEIR_LB_CT_F_AFFINITY	 0x08 /* the backend came from the affinity map */

struct weir_lb_ct_value {
	__u32 backend_id;
	__u32 svc_id;
	__u64 created_ns;   /* CLOCK_MONOTONIC_COARSE (bpf_ktime_get_coarse_ns) */
	__u64 last_seen_ns; /* refreshed at most every WEIR_LB_CT_REFRESH_NS */
	__u8 state;	    /* enum weir_lb_ct_state */
	__u8 flags;	    /* WEIR_LB_CT_F_* */
	__u16 pad;
	__u32 pad2;
};
_Static_assert(sizeof(struct weir_lb_ct_value) == 32, "weir_lb_ct_value ABI");

/* Reverse NAT, keyed by the reply tuple backend -> client: rewrite the
 * source to vip:vport. svc_id and backend_id name the conntrack entry
 * (client -> vip) it belongs to.
 */
struct weir_lb_revnat_value {
	__be32 vip[4];
	__be16 vport;
	__u16 pad;
	__u32 svc_id;
	__u32 backend_id;
	__u32 pad2;
};
_Static_assert(sizeof(struct weir_lb_revnat_value) == 32, "weir_lb_revnat_value ABI");

/* Session affinity: a client's backend per service. Hashed bytewise. */
struct weir_lb_affinity_key {
	__be32 client[4];
	__u32 svc_id;
	__u8 family;
	__u8 pad[3];
};
_Static_assert(sizeof(struct weir_lb_affinity_key) == 24, "weir_lb_affinity_key ABI");

struct weir_lb_affinity_value {
	__u32 backend_id;
	__u32 pad;
	__u64 last_used_ns; /* CLOCK_MONOTONIC_COARSE; expired after affinity_timeout_s */
};
_Static_assert(sizeof(struct weir_lb_affinity_value) == 16, "weir_lb_affinity_value ABI");

/* Per-CPU statistics per service and per backend (sum over CPUs with
 * weir_percpu_sum(fd, id, sums, 4)). Packets and bytes count what the XDP
 * stage forwarded (client -> backend); drops are service packets dropped
 * with no usable backend (service stats only).
 */
struct weir_lb_stats {
	__u64 new_flows; /* conntrack entries created */
	__u64 packets;
	__u64 bytes; /* L2 frame bytes */
	__u64 drops;
};
_Static_assert(sizeof(struct weir_lb_stats) == 32, "weir_lb_stats ABI");

/* weir_lb_config, key 0. Written by the loader from its options. */
struct weir_lb_config {
	__u32 seed; /* Maglev hash seed: the same on every node */
	__u32 pad;
};
_Static_assert(sizeof(struct weir_lb_config) == 8, "weir_lb_config ABI");

/* The Maglev client hash (Bob Jenkins' lookup3 final mix over the client's
 * address words, port and protocol). Addresses and port go in as the raw
 * network-order words the packet carries, so BPF and user space agree.
 */
static inline __u32 weir_lb_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/* lookup3's mix() and final(), as functions: one copy for BPF and C. */
static inline void weir_lb_jhash_mix(__u32 *a, __u32 *b, __u32 *c)
{
	*a -= *c;
	*a ^= weir_lb_rol32(*c, 4);
	*c += *b;
	*b -= *a;
	*b ^= weir_lb_rol32(*a, 6);
	*a += *c;
	*c -= *b;
	*c ^= weir_lb_rol32(*b, 8);
	*b += *a;
	*a -= *c;
	*a ^= weir_lb_rol32(*c, 16);
	*c += *b;
	*b -= *a;
	*b ^= weir_lb_rol32(*a, 19);
	*a += *c;
	*c -= *b;
	*c ^= weir_lb_rol32(*b, 4);
	*b += *a;
}

static inline void weir_lb_jhash_final(__u32 *a, __u32 *b, __u32 *c)
{
	*c ^= *b;
	*c -= weir_lb_rol32(*b, 14);
	*a ^= *c;
	*a -= weir_lb_rol32(*c, 11);
	*b ^= *a;
	*b -= weir_lb_rol32(*a, 25);
	*c ^= *b;
	*c -= weir_lb_rol32(*b, 16);
	*a ^= *c;
	*a -= weir_lb_rol32(*c, 4);
	*b ^= *a;
	*b -= weir_lb_rol32(*a, 14);
	*c ^= *b;
	*c -= weir_lb_rol32(*b, 24);
}

/* client: 4 words (IPv4: client[0], rest zero); port: the client's source
 * port as on the wire (0 for affinity services); proto: IPPROTO_*.
 */
static inline __u32 weir_lb_hash(const __be32 client[4], __be16 port, __u8 proto, __u32 seed)
{
	__u32 a, b, c;

	a = b = c = 0xdeadbeef + (6 << 2) + seed;
	a += client[0];
	b += client[1];
	c += client[2];
	weir_lb_jhash_mix(&a, &b, &c);
	a += client[3];
	b += (__u32)port;
	c += (__u32)proto;
	weir_lb_jhash_final(&a, &b, &c);
	return c;
}

/* The Maglev entry (0..m-1) of a client in a table of size m; its backend id
 * is in slot 1 + entry of the inner map.
 */
static inline __u32 weir_lb_maglev_entry(__u32 hash, __u32 m)
{
	return hash % m;
}

/* Conntrack timeout of a state, in ns (CLOCK_MONOTONIC_COARSE). */
static inline __u64 weir_lb_ct_timeout_ns(__u8 state)
{
	__u64 s;

	switch (state) {
	case WEIR_LB_CT_TCP_SYN:
		s = WEIR_LB_CT_TCP_SYN_TIMEOUT_S;
		break;
	case WEIR_LB_CT_TCP_EST:
		s = WEIR_LB_CT_TCP_EST_TIMEOUT_S;
		break;
	case WEIR_LB_CT_TCP_CLOSING:
		s = WEIR_LB_CT_TCP_FIN_TIMEOUT_S;
		break;
	default:
		s = WEIR_LB_CT_ANY_TIMEOUT_S;
		break;
	}
	return s * 1000000000ull;
}

#endif /* WEIR_LB_H */
