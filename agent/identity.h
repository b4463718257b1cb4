/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Security identities, as Cilium numbers them: one per distinct label set
 * (a pod's labels plus its namespace, k8s:io.kubernetes.pod.namespace=NS),
 * from WEIR_IDENTITY_MIN_LOCAL up, and one per policy CIDR, from
 * WEIR_IDENTITY_CIDR_BASE up. A number, once given, stays with its label set
 * or CIDR for the agent's life and across restarts (the policy state file
 * keeps the table), so pinned policy maps stay right while an agent starts.
 * Not thread-safe: the policy engine's lock guards it.
 */
#ifndef WEIR_AGENT_IDENTITY_H
#define WEIR_AGENT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct weir_identities;

int weir_identities_new(struct weir_identities **out);
void weir_identities_free(struct weir_identities *ids);

/* The identity of labels[0..n) (sorted or not), allocated on first use; 0
 * when out of memory or numbers.
 */
uint32_t weir_identity_of_labels(struct weir_identities *ids, char *const *labels, size_t n);
/* The identity of a CIDR, spelled canonically ("10.0.0.0/8"); 0 as above. */
uint32_t weir_identity_of_cidr(struct weir_identities *ids, const char *cidr);

/* Calls fn for every label identity with its labels ("k8s:app=web", ...,
 * sorted).
 */
void weir_identities_for_each_labels(const struct weir_identities *ids,
				     void (*fn)(void *ctx, uint32_t id, char *const *labels,
						size_t n),
				     void *ctx);

/* [{"id": N, "labels": "a\nb"} | {"id": N, "cidr": "10.0.0.0/8"}, ...] */
json_t *weir_identities_to_json(const struct weir_identities *ids);
/* Restores a table from to_json's output into an empty one: -EINVAL on a
 * malformed table (nothing restored).
 */
int weir_identities_from_json(struct weir_identities *ids, const json_t *arr);

#endif /* WEIR_AGENT_IDENTITY_H */
