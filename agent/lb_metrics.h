/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Load-balancer statistics: the datapath's per-CPU counters per service and
 * backend, live conntrack entries counted by walking the conntrack map, and
 * their Prometheus families.
 */
#ifndef WEIR_AGENT_LB_METRICS_H
#define WEIR_AGENT_LB_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include <weir/lb.h>

struct weir_lb_maps;
struct weir_services;

/* Live (unexpired) conntrack entries by service id and by backend id. */
struct weir_lb_ct_counts {
	uint64_t *svc;	   /* [svc_max + 1] */
	uint64_t *backend; /* [backend_max + 1] */
};

int weir_lb_ct_count(const struct weir_lb_maps *m, uint32_t svc_max, uint32_t backend_max,
		     struct weir_lb_ct_counts *out);
void weir_lb_ct_counts_release(struct weir_lb_ct_counts *c);
/* Sums a stats map's entry id over CPUs (zeros when it cannot be read). */
void weir_lb_stats_read(int fd, uint32_t id, struct weir_lb_stats *out);
/* {"new_flows", "packets", "bytes", "drops", "active_flows"} */
json_t *weir_lb_stats_json(const struct weir_lb_stats *st, uint64_t active);

/* The weir_lb_* families into f (s may be NULL: families without samples). */
void weir_lb_metrics_render(FILE *f, struct weir_services *s);

#endif /* WEIR_AGENT_LB_METRICS_H */
