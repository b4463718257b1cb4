/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's Prometheus registry: datapath counters read from the per-CPU
 * maps at scrape time, per-interface and per-pod flow counters fed by the
 * flow assembler, and the agent's own health. Per-pod series are bounded
 * (beyond max_pod_series they are summed into pod="_other") and removed when
 * the pod goes away.
 */
#ifndef WEIR_AGENT_METRICS_H
#define WEIR_AGENT_METRICS_H

#include <stddef.h>
#include "agent.h"
#include "flow.h"

#define WEIR_METRICS_POD_SERIES_DEFAULT 10000

struct weir_metrics;

int weir_metrics_new(struct weir_metrics **out, size_t max_pod_series);
void weir_metrics_free(struct weir_metrics *m);
/* Every record the assembler makes, once (thread-safe). */
void weir_metrics_observe(struct weir_metrics *m, const struct weir_flow_record *r);
/* Drops every series of the pod (the endpoint cache's gone callback). */
void weir_metrics_forget_pod(struct weir_metrics *m, const char *namespace, const char *pod_name);
/* The Prometheus text exposition (format 0.0.4), malloc'ed into *out. */
int weir_metrics_render(struct weir_metrics *m, struct weir_agent *a, char **out, size_t *len);

#endif /* WEIR_AGENT_METRICS_H */
