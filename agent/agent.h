/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's shared state: what main() builds and the HTTP server, the
 * metrics and the flow assembler read.
 */
#ifndef WEIR_AGENT_H
#define WEIR_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "assembler.h"
#include "config.h"

/* glibc's mmap threshold, fixed by weir-agent's main() (and bench/agent):
 * its default, which glibc would otherwise raise as the process frees.
 */
#define WEIR_MMAP_THRESHOLD (128 * 1024)

struct weir_datapath;
struct weir_store;
struct weir_endpoints;
struct weir_metrics;
struct weir_assembler;
struct weir_agent_exporters;
struct weir_pod_attach;
struct weir_k8s;
struct weir_policy_engine;
struct weir_prefilter;
struct weir_services;

struct weir_agent {
	struct weir_agent_config cfg;
	uint64_t start_realtime_ns;
	struct weir_datapath *dp;
	struct weir_store *store;
	struct weir_endpoints *endpoints;
	struct weir_metrics *metrics;
	struct weir_assembler *assembler;
	struct weir_agent_exporters *exporters; /* flow logs, IPFIX */
	struct weir_pod_attach *pod_attach;	/* registrations' TC requests to the main loop */
	struct weir_k8s *k8s;			/* the Kubernetes pod watch (--k8s), or NULL */
	struct weir_policy_engine *policy;	/* endpoint policy */
	struct weir_prefilter *prefilter;	/* the XDP deny list (agent/prefilter.c) */
	struct weir_services *services;		/* load-balancer services */
	/* The assembler runs on the main thread; HTTP threads read its figures
	 * from this copy, refreshed after every sweep.
	 */
	pthread_mutex_t stats_lock;
	struct weir_assembler_stats assembler_stats;
};

/* Everything /v1/status and /metrics report about the agent itself. */
struct weir_agent_status {
	uint64_t uptime_ns;
	uint64_t seen_flows;	     /* records ever made */
	uint64_t num_flows;	     /* records in the store */
	uint64_t max_flows;	     /* store capacity */
	uint64_t lost_events;	     /* ring-buffer events the datapath could not write */
	uint64_t follower_lost;	     /* records dropped from slow follow streams */
	uint64_t flow_table_entries; /* entries in the kernel flow table, at the last sweep */
	uint64_t flow_table_max;     /* its size */
	uint64_t flow_evictions;     /* flows the kernel evicted before the agent ended them */
	uint64_t flow_insert_failed; /* datapath counter FLOW_INSERT_FAILED */
	uint64_t active_flows;	     /* flows the assembler is tracking */
	uint64_t endpoints;	     /* endpoints in the cache, all sources */
	uint64_t rss_bytes;	     /* the agent's resident memory */
};

void weir_agent_status(struct weir_agent *a, struct weir_agent_status *st);

#endif /* WEIR_AGENT_H */
