/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The endpoint cache: IP address -> endpoint (namespace, pod, labels,
 * workload, node). Sources, most authoritative first: registrations through
 * the API (the CNI plugin), the Kubernetes watch of this node's pods, the
 * static JSON file, network-namespace discovery. An address no source knows is `world`; the node's
 * own addresses are `host`. Thread-safe: the flow assembler looks up while the HTTP server and the
 * file watcher update.
 *
 * Endpoint document (API body, and each element of the file's "endpoints"):
 *   {"ips": ["10.1.0.5", "fd00:1::5"], "namespace": "shop", "pod_name": "cart-1",
 *    "labels": {"app": "cart"}, "workload": {"name": "cart", "kind": "Deployment"},
 *    "node_name": "node-a"}
 * ips, namespace and pod_name are required; labels are stored as "k8s:key=value".
 * A registration may also carry "interface" (the pod's host-side interface:
 * the agent attaches TC to it), "container_id" and "pod_uid" (endpoint_doc.h);
 * the file may not.
 */
#ifndef WEIR_AGENT_ENDPOINTS_H
#define WEIR_AGENT_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "flow.h"

enum weir_ep_source {
	WEIR_EP_SRC_API = 0,   /* POST /v1/endpoints (the CNI plugin) */
	WEIR_EP_SRC_K8S = 1,   /* the Kubernetes API: this node's pods (--k8s) */
	WEIR_EP_SRC_FILE = 2,  /* --endpoints-file */
	WEIR_EP_SRC_NETNS = 3, /* named network namespaces (/run/netns) */
	WEIR_EP_SRC_MAX,
};

struct weir_endpoints;

/* node_name becomes the node of endpoints that do not name one. */
int weir_endpoints_new(struct weir_endpoints **out, const char *node_name);
void weir_endpoints_free(struct weir_endpoints *eps);

/* A reference to the endpoint for addr (family 4 or 6, network order), never
 * NULL: the most authoritative source's endpoint, else host, else world.
 */
struct weir_endpoint *weir_endpoints_lookup(struct weir_endpoints *eps, uint8_t family,
					    const uint8_t addr[16]);

/* API registrations. register replaces the pod's earlier registration.
 * Returns 0, or -EINVAL with a reason naming the bad field in err.
 */
int weir_endpoints_register(struct weir_endpoints *eps, const json_t *doc, char *err,
			    size_t err_len);
/* -ENOENT if the pod was not registered. */
int weir_endpoints_unregister(struct weir_endpoints *eps, const char *namespace,
			      const char *pod_name);
/* Like unregister, but only the registration of container_id (NULL: any):
 * -ESTALE when the pod was registered again by another container. The
 * removed registration's interface, if any, is copied to iface ("" if none).
 */
int weir_endpoints_unregister_container(struct weir_endpoints *eps, const char *namespace,
					const char *pod_name, const char *container_id, char *iface,
					size_t iface_len);
/* Whether an API registration names ifname as its interface. */
bool weir_endpoints_has_interface(struct weir_endpoints *eps, const char *ifname);

/* The Kubernetes source (agent/k8s_watch.c): replace is the whole set after a
 * list, all valid documents in (an invalid one is skipped with a warning);
 * upsert and remove follow the watch. remove: -ENOENT if unknown.
 */
int weir_endpoints_k8s_replace(struct weir_endpoints *eps, const json_t *docs);
int weir_endpoints_k8s_upsert(struct weir_endpoints *eps, const json_t *doc, char *err,
			      size_t err_len);
int weir_endpoints_k8s_remove(struct weir_endpoints *eps, const char *namespace,
			      const char *pod_name);

/* Replaces every FILE endpoint with the file's {"endpoints": [doc, ...]}, all
 * or nothing: a bad file leaves the old set in place and says why in err.
 */
int weir_endpoints_load_file(struct weir_endpoints *eps, const char *path, char *err,
			     size_t err_len);

/* Replaces every NETNS endpoint with the addresses found in each named
 * network namespace under netns_dir (normally /run/netns): the namespace
 * "netns", the pod named after the network namespace.
 */
int weir_endpoints_discover_netns(struct weir_endpoints *eps, const char *netns_dir);

/* The node's own addresses (host identity), replacing the earlier set. */
void weir_endpoints_set_host(struct weir_endpoints *eps, const struct weir_addr *addrs, size_t n);

/* Every endpoint, for GET /v1/endpoints: [{doc..., "source": "api"}, ...]. */
json_t *weir_endpoints_to_json(struct weir_endpoints *eps);

/* The API registrations, each as POST /v1/endpoints took it (interface,
 * container_id and pod_uid included, no "source"): what the state file keeps.
 */
json_t *weir_endpoints_registrations(struct weir_endpoints *eps);

/* Called after every change of the API registrations (register, unregister),
 * one at a time and in the order of the changes, outside the cache's lock: fn
 * may read the cache (weir_endpoints_registrations), not update it.
 */
typedef void (*weir_endpoints_reg_fn)(void *ctx, struct weir_endpoints *eps);
void weir_endpoints_on_registrations(struct weir_endpoints *eps, weir_endpoints_reg_fn fn,
				     void *ctx);

/* How many endpoints the sources hold, all together (what to_json lists). */
size_t weir_endpoints_count(struct weir_endpoints *eps);

/* Called (outside the cache's lock) when a pod's last endpoint goes away, so
 * per-pod metric series can be removed.
 */
typedef void (*weir_endpoints_gone_fn)(void *ctx, const char *namespace, const char *pod_name);
void weir_endpoints_on_gone(struct weir_endpoints *eps, weir_endpoints_gone_fn fn, void *ctx);

/* Called (outside the cache's lock, one update at a time) after every change
 * of the cache, so the endpoint policy can follow pods as they come and go.
 */
typedef void (*weir_endpoints_change_fn)(void *ctx);
void weir_endpoints_on_change(struct weir_endpoints *eps, weir_endpoints_change_fn fn, void *ctx);

/* Calls fn, under the cache's read lock, for every address the cache knows
 * with the endpoint that wins it (the most authoritative source's, or the
 * host). fn must not call back into the cache.
 */
typedef void (*weir_endpoints_addr_fn)(void *ctx, const struct weir_addr *addr,
				       const struct weir_endpoint *ep);
void weir_endpoints_for_each_addr(struct weir_endpoints *eps, weir_endpoints_addr_fn fn, void *ctx);

#endif /* WEIR_AGENT_ENDPOINTS_H */
