/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The endpoint policy ABI: the ipcache (peer address -> identity), the
 * per-endpoint policy maps and the policy conntrack table, shared by the TC
 * programs and the agent.
 *
 * Directions are the pod's, not the interface's. On a pod's host-side veth,
 * TC ingress carries what the pod sends (pod EGRESS: the pod is the source),
 * TC egress what it receives (pod INGRESS: the pod is the destination).
 * WEIR_POLICY_INGRESS/EGRESS below are always the pod's.
 */
#ifndef WEIR_POLICY_H
#define WEIR_POLICY_H

#include <linux/types.h>

enum weir_policy_dir {
	WEIR_POLICY_INGRESS = 1, /* to the pod */
	WEIR_POLICY_EGRESS = 2,	 /* from the pod */
};

/* Reserved identities (Cilium's numbers); label sets get
 * WEIR_IDENTITY_MIN_LOCAL and up, CIDRs WEIR_IDENTITY_CIDR_BASE and up.
 * 0 in a policy key means any peer.
 */
#define WEIR_ID_ANY		0
#define WEIR_ID_HOST		1
#define WEIR_ID_WORLD		2
#define WEIR_IDENTITY_MIN_LOCAL 256
#define WEIR_IDENTITY_CIDR_BASE 0x01000000

/* ipcache: an LPM trie over (family, address). prefixlen counts the 32 bits
 * of family and pad, then address bits: a /24 IPv4 prefix is 32 + 24.
 */
struct weir_ipcache_key {
	__u32 prefixlen;
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__be32 addr[4]; /* IPv4 uses addr[0] */
};
_Static_assert(sizeof(struct weir_ipcache_key) == 24, "weir_ipcache_key ABI");

#define WEIR_IPCACHE_PREFIX_BASE 32 /* family and pad */

struct weir_ipcache_value {
	__u32 identity;	     /* the endpoint's, or the CIDR's for a prefix */
	__u32 cidr_identity; /* the longest policy CIDR holding the address; 0: none */
};
_Static_assert(sizeof(struct weir_ipcache_value) == 8, "weir_ipcache_value ABI");

/* weir_policy_eps (HASH_OF_MAPS): the pod's address -> its policy map. */
struct weir_policy_ep_key {
	__be32 addr[4]; /* IPv4 uses addr[0]; rest zero */
	__u8 family;
	__u8 pad[3];
};
_Static_assert(sizeof(struct weir_policy_ep_key) == 20, "weir_policy_ep_key ABI");

/* A policy map: an LPM trie over (peer identity, direction, protocol, port).
 * The identity and direction are always matched whole; protocol 0 with
 * prefixlen WEIR_POLICY_PREFIX_DIR means any protocol, and a port range is
 * a set of port prefixes (as Cilium does), so one lookup finds the most
 * specific entry for a peer. The datapath looks up the peer's identity, its
 * CIDR identity and WEIR_ID_ANY; deny in any of them wins.
 */
struct weir_policy_key {
	__u32 prefixlen;
	__be32 identity;
	__u8 dir;   /* enum weir_policy_dir */
	__u8 proto; /* IPPROTO_* */
	__be16 dport;
};
_Static_assert(sizeof(struct weir_policy_key) == 12, "weir_policy_key ABI");

#define WEIR_POLICY_PREFIX_DIR	 40 /* identity + direction: any protocol, any port */
#define WEIR_POLICY_PREFIX_PROTO 48 /* ... and the protocol: any port */
#define WEIR_POLICY_PREFIX_FULL	 64 /* ... and the whole port */

enum weir_policy_action {
	WEIR_POLICY_ALLOW = 1,
	WEIR_POLICY_DENY = 2,
};

/* weir_policy_value.flags */
#define WEIR_POLICY_F_DEFAULT 0x01 /* the direction's default: used when no rule matches */
#define WEIR_POLICY_F_AUDIT   0x02 /* from a policy in audit mode: a deny only reports */

struct weir_policy_value {
	__u8 action; /* enum weir_policy_action */
	__u8 flags;  /* WEIR_POLICY_F_* */
	__u8 pad[2];
};
_Static_assert(sizeof(struct weir_policy_value) == 4, "weir_policy_value ABI");

/* Policy conntrack: a flow an endpoint's policy let through, keyed by the
 * packet that opened it, so that its replies pass whatever the reverse rules
 * say. The pod's direction is part of the key: one flow between two pods of
 * a node is checked, and tracked, once by each pod's policy.
 */
struct weir_pct_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 dir; /* enum weir_policy_dir of the opening packet */
	__u8 pad;
};
_Static_assert(sizeof(struct weir_pct_key) == 40, "weir_pct_key ABI");

/* weir_pct_value.state */
#define WEIR_PCT_SYN	 0x01 /* TCP: opened, not yet answered */
#define WEIR_PCT_ESTAB	 0x02 /* TCP: a reply was seen */
#define WEIR_PCT_CLOSING 0x04 /* TCP: FIN or RST seen */

struct weir_pct_value {
	__u64 expires_ns; /* CLOCK_MONOTONIC_COARSE; an expired entry is gone */
	__u8 state;	  /* WEIR_PCT_* */
	__u8 pad[7];
};
_Static_assert(sizeof(struct weir_pct_value) == 16, "weir_pct_value ABI");

/* Conntrack lifetimes, Cilium's defaults. */
#define WEIR_PCT_TCP_SYN_NS   (60ULL * 1000000000ULL)
#define WEIR_PCT_TCP_ESTAB_NS (21600ULL * 1000000000ULL)
#define WEIR_PCT_TCP_CLOSE_NS (10ULL * 1000000000ULL)
#define WEIR_PCT_OTHER_NS     (60ULL * 1000000000ULL)

/* weir_policy_state: one entry, so that a node without any policy pays one
 * array lookup per packet and nothing more.
 */
struct weir_policy_state {
	__u32 endpoints; /* endpoint addresses with a policy map */
};
_Static_assert(sizeof(struct weir_policy_state) == 4, "weir_policy_state ABI");

#define WEIR_MAP_IPCACHE      "weir_ipcache"
#define WEIR_MAP_POLICY_EPS   "weir_policy_eps"
#define WEIR_MAP_POLICY_CT    "weir_policy_ct"
#define WEIR_MAP_POLICY_STATE "weir_policy_state"
#define WEIR_IPCACHE_MAX      65536
#define WEIR_POLICY_EPS_MAX   4096  /* endpoint addresses with a policy */
#define WEIR_POLICY_MAX	      16384 /* entries in one endpoint's policy map (Cilium's) */
#define WEIR_POLICY_CT_MAX    65536

#endif /* WEIR_POLICY_H */
