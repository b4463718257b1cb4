/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Endpoint documents (see endpoints.h): strict validation of what the CNI
 * plugin posts and the endpoints file holds, and the document rendered back.
 */
#ifndef WEIR_AGENT_ENDPOINT_DOC_H
#define WEIR_AGENT_ENDPOINT_DOC_H

#include <stddef.h>
#include <jansson.h>
#include "flow.h"

#define WEIR_EP_NAME_MAX      253 /* namespace, pod_name, node_name, workload, label values */
#define WEIR_EP_LABEL_KEY_MAX 317 /* a Kubernetes label key: 253-byte prefix, '/', 63-byte name */
#define WEIR_EP_ID_MAX	      128 /* container_id, pod_uid */

/* What a registration carries besides the endpoint (all optional, NULL when
 * absent): the pod's host-side interface, which the agent attaches TC to,
 * and the CNI container ID and pod UID, so a late DEL of an earlier sandbox
 * cannot remove a newer registration of the same pod.
 */
struct weir_endpoint_reg {
	char *interface;
	char *container_id;
	char *pod_uid;
};

/* Parses doc into a new pod endpoint (refcnt 1) and its addresses, in the
 * document's order. where prefixes the field named in err ("endpoints[3]"
 * makes "endpoints[3].ips[1]: ..."; "" for a bare document). node_name is
 * the default node (may be NULL). Returns 0, -EINVAL naming the bad field in
 * err, or -ENOMEM.
 */
int weir_endpoint_doc_parse(const json_t *doc, const char *where, const char *node_name,
			    struct weir_endpoint **ep, struct weir_addr **ips, size_t *n_ips,
			    char *err, size_t err_len);

/* The registration fields of doc into reg (strings of its own; release with
 * weir_endpoint_reg_release). 0, -EINVAL naming the bad field, or -ENOMEM.
 */
int weir_endpoint_doc_reg(const json_t *doc, const char *where, struct weir_endpoint_reg *reg,
			  char *err, size_t err_len);
void weir_endpoint_reg_release(struct weir_endpoint_reg *reg);
/* Adds reg's fields that are set to doc: 0, or -1 when out of memory. */
int weir_endpoint_reg_json(json_t *doc, const struct weir_endpoint_reg *reg);

/* The "endpoints" array of a file {"endpoints": [doc, ...]} into *docs (a
 * borrowed reference). Returns 0, or -EINVAL saying what is wrong in err.
 */
int weir_endpoint_doc_file(const json_t *root, const json_t **docs, char *err, size_t err_len);

/* The document for ep and its addresses: labels back to an object,
 * workload and node_name when set. NULL when out of memory.
 */
json_t *weir_endpoint_doc_json(const struct weir_endpoint *ep, const struct weir_addr *ips,
			       size_t n_ips);

#endif /* WEIR_AGENT_ENDPOINT_DOC_H */
