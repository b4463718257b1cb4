/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Writing the load balancer's maps (include/weir/lb.h): services, backends,
 * and each service's Maglev table, built into a new inner map and swapped
 * into the outer one in one update, so the datapath sees the old table or
 * the new one, never half of one.
 */
#ifndef WEIR_AGENT_LB_MAPS_H
#define WEIR_AGENT_LB_MAPS_H

#include <stdint.h>
#include <weir/lb.h>

struct weir_datapath;

struct weir_lb_maps {
	int services, maglev, backends, ct, svc_stats, backend_stats, config;
};

/* The datapath's map fds (borrowed: the datapath owns them). */
int weir_lb_maps_open(struct weir_lb_maps *m, struct weir_datapath *dp);
/* The seed the loader wrote into weir_lb_config. */
int weir_lb_maps_seed(const struct weir_lb_maps *m, uint32_t *seed);

int weir_lb_maps_set_backend(const struct weir_lb_maps *m, uint32_t id,
			     const struct weir_lb_backend *b);
/* Marks the slot unused (family 0): conntrack entries naming it re-choose. */
int weir_lb_maps_clear_backend(const struct weir_lb_maps *m, uint32_t id);
/* table[0..size) into a new inner map, swapped in for svc_id. */
int weir_lb_maps_set_table(const struct weir_lb_maps *m, uint32_t svc_id, const uint32_t *table,
			   uint32_t size);
int weir_lb_maps_set_service(const struct weir_lb_maps *m, const struct weir_lb_svc_key *k,
			     const struct weir_lb_svc *v);
/* Removes the service's key and its table (missing ones are no error). */
int weir_lb_maps_delete_service(const struct weir_lb_maps *m, const struct weir_lb_svc_key *k,
				uint32_t svc_id);

/* Calls fn for every service key in the map, then for every backend id in
 * use, so a restarted agent can remove what it no longer knows.
 */
int weir_lb_maps_for_each_service(const struct weir_lb_maps *m,
				  void (*fn)(void *ctx, const struct weir_lb_svc_key *k,
					     const struct weir_lb_svc *v),
				  void *ctx);

#endif /* WEIR_AGENT_LB_MAPS_H */
