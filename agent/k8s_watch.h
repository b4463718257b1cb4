/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The Kubernetes source of the endpoint cache: this node's pods, listed
 * (fieldSelector spec.nodeName=NODE, limit/continue pages) and then watched
 * (allowWatchBookmarks, from the list's resourceVersion). A watch that ends
 * or drops resumes from the last resourceVersion seen (events and
 * bookmarks); a 410 Gone (the version is too old) relists, and the list
 * replaces the whole source, so pods deleted meanwhile go too.
 *
 * It runs on a thread of its own with libcurl's multi interface: a list of a
 * busy node is megabytes of JSON, and the epoll loop must not stop consuming
 * the ring buffer for it. weir_k8s_stop() wakes the thread out of any wait
 * (curl_multi_wakeup) and joins it, so SIGTERM is not held up by a watch.
 */
#ifndef WEIR_AGENT_K8S_WATCH_H
#define WEIR_AGENT_K8S_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct weir_endpoints;
struct weir_k8s;

struct weir_k8s_opts {
	const char *kubeconfig; /* NULL: in-cluster (service account, KUBERNETES_SERVICE_*) */
	const char *node_name;	/* spec.nodeName of the pods to watch */
	struct weir_endpoints *eps;
	unsigned int watch_timeout_s; /* the server ends a watch after this (300) */
	unsigned int backoff_max_ms;  /* retry delays double up to this (30000) */
	unsigned int list_limit;      /* pods per list page (500) */
	/* Called on the watch's thread after each complete list, once the
	 * endpoint cache holds it (NULL: none).
	 */
	void (*on_listed)(void *ctx);
	void *ctx;
};

struct weir_k8s_stats {
	bool synced;	  /* a list has completed */
	uint64_t lists;	  /* complete lists */
	uint64_t watches; /* watch requests made */
	uint64_t events;  /* watch events applied (bookmarks included) */
	uint64_t expired; /* 410 Gone: relists */
	uint64_t errors;  /* failed requests */
	char resource_version[64];
	char last_error[256];
};

int weir_k8s_start(struct weir_k8s **out, const struct weir_k8s_opts *opts, char *err,
		   size_t err_len);
void weir_k8s_stop(struct weir_k8s *k);
void weir_k8s_stats(struct weir_k8s *k, struct weir_k8s_stats *st);

/* One watch event line ({"type": ..., "object": ...}) applied to eps; the
 * object's resourceVersion goes to rv. 0, -ESTALE for an ERROR with a 410
 * Status (relist), -EPROTO for another ERROR or a line that is no event
 * (the reason in err).
 */
int weir_k8s_apply_event(struct weir_endpoints *eps, const char *line, size_t len, char *rv,
			 size_t rv_len, char *err, size_t err_len);

#endif /* WEIR_AGENT_K8S_WATCH_H */
