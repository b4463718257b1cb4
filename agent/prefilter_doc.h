/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The prefilter's JSON documents: CIDRs parsed and checked, lists sorted and
 * deduplicated. Nothing here touches the datapath (agent/prefilter.c does).
 *
 *   PUT   {"deny": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/64"], "revision": 7}
 *   PATCH {"add": [...], "delete": [...]}
 *
 * A bare address is a full-length prefix (/32, /128). A CIDR with bits set
 * past its prefix length is refused (10.0.0.1/8 is a typo more often than
 * not). "revision" is optional: when given, the update applies only if the
 * list is still at that revision (see GET). "hits", which GET adds, is
 * accepted and ignored, so GET's answer can be PUT back.
 */
#ifndef WEIR_AGENT_PREFILTER_DOC_H
#define WEIR_AGENT_PREFILTER_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <linux/types.h>

#define WEIR_PF_CIDR_STRLEN 64 /* "ffff:...:ffff/128" and a NUL, with room */

struct weir_pf_cidr {
	__u8 family;	/* 4 or 6 */
	__u8 prefixlen; /* 0..32 or 0..128 */
	__u8 pad[2];
	__u8 addr[16]; /* network order; IPv4 in addr[0..3]; bits past prefixlen zero */
};

/* A sorted (family, address, prefix length), duplicate-free list. */
struct weir_pf_list {
	struct weir_pf_cidr *v;
	size_t n, cap;
};

/* Parses "10.0.0.0/8", "192.0.2.7", "2001:db8::/64". -EINVAL with the reason
 * in err (no field name: the caller adds it).
 */
int weir_pf_cidr_parse(const char *s, struct weir_pf_cidr *out, char *err, size_t err_len);
/* Canonical text: "10.0.0.0/8", "2001:db8::/64"; full-length prefixes keep their /32, /128. */
void weir_pf_cidr_format(const struct weir_pf_cidr *c, char *buf, size_t len);
int weir_pf_cidr_cmp(const struct weir_pf_cidr *a, const struct weir_pf_cidr *b);
bool weir_pf_cidr_full(const struct weir_pf_cidr *c);

int weir_pf_list_add(struct weir_pf_list *l, const struct weir_pf_cidr *c);
/* Sorts and drops duplicates. */
void weir_pf_list_normalize(struct weir_pf_list *l);
/* Index of c in a normalized list, or -1. */
long weir_pf_list_find(const struct weir_pf_list *l, const struct weir_pf_cidr *c);
void weir_pf_list_release(struct weir_pf_list *l);

/* A PUT document. *revision is -1 when the document has none. -EINVAL with
 * err naming the bad field ("deny[3]: ...").
 */
int weir_pf_doc_parse(const json_t *doc, struct weir_pf_list *deny, int64_t *revision, char *err,
		      size_t err_len);
/* A PATCH document: at least one of "add" and "delete". */
int weir_pf_patch_parse(const json_t *doc, struct weir_pf_list *add, struct weir_pf_list *del,
			int64_t *revision, char *err, size_t err_len);

#endif /* WEIR_AGENT_PREFILTER_DOC_H */
