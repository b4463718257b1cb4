/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The load balancer's maps. Keys, values and how the agent fills them are
 * the ABI in include/weir/lb.h; the loader (lib/datapath.c) resizes them.
 */
#ifndef WEIR_DP_LB_MAPS_H
#define WEIR_DP_LB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <weir/lb.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEIR_LB_SERVICES_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weir_lb_svc_key);
	__type(value, struct weir_lb_svc);
} weir_lb_services SEC(".maps");

/* The template of every service's Maglev table; the agent creates the real
 * ones (see lb.h). Its size only matters to the verifier's view of one.
 */
struct weir_lb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEIR_LB_MAGLEV_SLOTS(WEIR_LB_MAGLEV_M_DEFAULT));
	__uint(map_flags, WEIR_LB_MAGLEV_INNER_FLAGS);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, WEIR_LB_SERVICES_DEFAULT + 1);
	__type(key, __u32);
	__array(values, struct weir_lb_maglev_inner);
} weir_lb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEIR_LB_BACKENDS_DEFAULT + 1);
	__type(key, __u32);
	__type(value, struct weir_lb_backend);
} weir_lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEIR_LB_CT_DEFAULT);
	__type(key, struct weir_lb_tuple);
	__type(value, struct weir_lb_ct_value);
} weir_lb_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEIR_LB_CT_DEFAULT);
	__type(key, struct weir_lb_tuple);
	__type(value, struct weir_lb_revnat_value);
} weir_lb_revnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEIR_LB_AFFINITY_DEFAULT);
	__type(key, struct weir_lb_affinity_key);
	__type(value, struct weir_lb_affinity_value);
} weir_lb_affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_LB_SERVICES_DEFAULT + 1);
	__type(key, __u32);
	__type(value, struct weir_lb_stats);
} weir_lb_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_LB_BACKENDS_DEFAULT + 1);
	__type(key, __u32);
	__type(value, struct weir_lb_stats);
} weir_lb_backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weir_lb_config);
} weir_lb_config SEC(".maps");

#endif /* WEIR_DP_LB_MAPS_H */
