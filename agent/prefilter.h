/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's side of the XDP prefilter: the deny list written into the
 * datapath's maps, atomically (the A/B sets of include/weir/prefilter.h),
 * read back, and its per-entry counters.
 *
 * The list lives in the pinned maps; at open, the agent reads the active set
 * back, so a restarted agent carries on with the list (and the counters) the
 * last one left. Updates are serialized by a lock; the HTTP threads call in.
 */
#ifndef WEIR_AGENT_PREFILTER_H
#define WEIR_AGENT_PREFILTER_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "prefilter_doc.h"

struct weir_bpf;
struct weir_prefilter;

#define WEIR_PF_METRICS_TOP 20 /* CIDRs with their own /metrics series */

int weir_prefilter_open(struct weir_prefilter **out, struct weir_bpf *skel);
void weir_prefilter_free(struct weir_prefilter *pf);

/* Replaces the whole list. expect_revision >= 0: only if the list is at that
 * revision (-ESTALE otherwise). On failure the datapath keeps the old list
 * and err says why (-ENOSPC: a map is full).
 */
int weir_prefilter_replace(struct weir_prefilter *pf, const struct weir_pf_list *deny,
			   int64_t expect_revision, char *err, size_t err_len);
/* Adds and deletes, applied together as one replacement. A CIDR to delete
 * that is not on the list: -ENOENT, nothing applied.
 */
int weir_prefilter_patch(struct weir_prefilter *pf, const struct weir_pf_list *add,
			 const struct weir_pf_list *del, int64_t expect_revision, char *err,
			 size_t err_len);

/* {"revision": N, "deny": [CIDR...], "hits": [{"cidr", "packets", "bytes"}...]}:
 * the list as the datapath has it, with each entry's counters (entries
 * beyond the per-entry counters share "cidr": "_shared").
 */
json_t *weir_prefilter_to_json(struct weir_prefilter *pf);
uint32_t weir_prefilter_revision(struct weir_prefilter *pf);
size_t weir_prefilter_count(struct weir_prefilter *pf);

/* Prometheus text: weir_prefilter_entries, and drops by CIDR for the
 * WEIR_PF_METRICS_TOP entries with the most packets (the rest as "_other").
 */
void weir_prefilter_metrics(struct weir_prefilter *pf, FILE *f);

#endif /* WEIR_AGENT_PREFILTER_H */
