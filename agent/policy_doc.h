/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Policy documents: parsing and validation (a bad document is refused whole,
 * with the bad field named), and what a document means for one endpoint:
 * the policy map entries (include/weir/policy.h) it contributes.
 *
 * A document, a simplified CiliumNetworkPolicy:
 *   {"name": "db",
 *    "endpoint": {"namespace": "shop", "pod": "db-0"}        (one pod)
 *             or {"labels": {"app": "db"}, "namespace": "shop"}  (namespace optional),
 *    "mode": "enforce" | "audit",                              (default enforce)
 *    "ingress": {"default": "deny" | "allow",                  (default allow)
 *                "rules": [{"action": "allow" | "deny",        (default allow)
 *                           "from": {"labels": {"app": "web"}, "namespace": "shop"}
 *                                or {"cidr": "10.0.0.0/8"}     (no "from": any peer),
 *                           "protocol": "TCP" | "UDP" | "SCTP" | "ICMP" | "ICMPv6" | "ANY",
 *                           "ports": ["80", "8000-8080"]}]},  (none: every port)
 *    "egress": {... the same, with "to" for "from"}}
 * Ports with protocol ANY (or none) mean TCP, UDP and SCTP.
 */
#ifndef WEIR_AGENT_POLICY_DOC_H
#define WEIR_AGENT_POLICY_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <weir/policy.h>
#include "flow.h"

#define WEIR_POLICY_NAME_MAX  253
#define WEIR_POLICY_RULES_MAX 1024
#define WEIR_POLICY_PORTS_MAX 64
#define WEIR_NAMESPACE_LABEL  "k8s:io.kubernetes.pod.namespace"

struct weir_label_selector;
struct weir_identities;

enum weir_peer_kind {
	WEIR_PEER_ANY = 0,
	WEIR_PEER_LABELS = 1,
	WEIR_PEER_CIDR = 2,
};

struct weir_cidr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefixlen;
	uint8_t bytes[16]; /* network order, host bits zero */
	char text[64];	   /* canonical: "10.0.0.0/8" */
};

struct weir_port_range {
	uint16_t lo, hi; /* host order, inclusive */
};

struct weir_policy_rule {
	uint8_t action; /* enum weir_policy_action */
	enum weir_peer_kind peer;
	struct weir_label_selector *sel; /* WEIR_PEER_LABELS */
	struct weir_cidr cidr;		 /* WEIR_PEER_CIDR */
	uint8_t proto;			 /* IPPROTO_*, 0: any */
	struct weir_port_range *ports;
	size_t n_ports; /* 0: every port */
};

struct weir_policy_side {
	bool present;
	uint8_t def_action; /* enum weir_policy_action */
	struct weir_policy_rule *rules;
	size_t n_rules;
};

struct weir_policy {
	char *name;
	json_t *doc; /* the document as given, for GET */
	/* which endpoints it applies to */
	char *ep_namespace; /* NULL: any */
	char *ep_pod;	    /* NULL: by labels */
	struct weir_label_selector *ep_sel;
	bool audit;
	struct weir_policy_side dir[2]; /* [0] ingress, [1] egress */
};

/* where prefixes field names in err ("policies[1]"), or "". */
int weir_policy_parse(const json_t *doc, const char *where, struct weir_policy **out, char *err,
		      size_t err_len);
void weir_policy_free(struct weir_policy *p);

/* An endpoint as the policy sees it: its namespace, pod name and the labels
 * of its identity (namespace label included).
 */
struct weir_policy_subject {
	const char *namespace;
	const char *pod_name;
	char *const *labels;
	size_t n_labels;
};

bool weir_policy_selects(const struct weir_policy *p, const struct weir_policy_subject *s);

struct weir_policy_entry {
	struct weir_policy_key key;
	struct weir_policy_value val;
};

struct weir_policy_entries {
	struct weir_policy_entry *v;
	size_t n, cap;
};

/* Adds the entries of policy p (which selects the endpoint) to es; label
 * peers resolve through ids (every label identity it has), CIDR peers to
 * the identities of the policy CIDRs within theirs (cidr_ids: the CIDRs in
 * use and their identities, n_cidrs of them).
 */
int weir_policy_entries_add(struct weir_policy_entries *es, const struct weir_policy *p,
			    const struct weir_identities *ids, const struct weir_cidr *cidrs,
			    const uint32_t *cidr_ids, size_t n_cidrs);
/* Sorts, merges entries with one key (deny wins; a rule beats a default),
 * and drops allow entries a broader deny of the same peer covers, so the
 * datapath's longest-prefix match gives deny-wins. Then es is what the map
 * should hold.
 */
int weir_policy_entries_finish(struct weir_policy_entries *es);
void weir_policy_entries_release(struct weir_policy_entries *es);

/* Whether c holds the address (family, bytes) or the whole of CIDR in. */
bool weir_cidr_contains(const struct weir_cidr *c, uint8_t family, const uint8_t *bytes,
			uint8_t prefixlen);
int weir_cidr_parse(const char *s, struct weir_cidr *out);

#endif /* WEIR_AGENT_POLICY_DOC_H */
