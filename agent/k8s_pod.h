/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A Kubernetes Pod object (the API's JSON) as an endpoint document for the
 * cache (endpoints.h): namespace, name, labels, addresses (status.podIPs),
 * node (spec.nodeName) and owner workload, with a ReplicaSet's pod named for
 * its Deployment through the pod-template-hash label, no extra API call.
 */
#ifndef WEIR_AGENT_K8S_POD_H
#define WEIR_AGENT_K8S_POD_H

#include <stddef.h>
#include <jansson.h>

/* The pod's endpoint document, or NULL when it is not one (why is set to a
 * static reason): host network (its addresses are the node's: host), no
 * address yet, finished (Succeeded/Failed: its address may go to another
 * pod), or no namespace and name.
 */
json_t *weir_k8s_pod_doc(const json_t *pod, const char **why);

/* The pod's namespace and name (borrowed from pod), or -EINVAL. */
int weir_k8s_pod_id(const json_t *pod, const char **namespace, const char **name);

/* The owner workload: kind and name into the buffers; "" when none. */
void weir_k8s_pod_workload(const json_t *pod, char *kind, size_t kind_len, char *name,
			   size_t name_len);

#endif /* WEIR_AGENT_K8S_POD_H */
