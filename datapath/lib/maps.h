/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The datapath's maps. Keys and values are the ABI in include/weir/abi.h. */
#ifndef WEIR_DP_MAPS_H
#define WEIR_DP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <weir/abi.h>

/* The flow table is a shared LRU hash updated with atomics: one entry per
 * flow whatever the CPU (so first_seen and the flow-start event are exact),
 * and a full table evicts the least recently used flow instead of refusing
 * new ones. bench/datapath measures it against a per-CPU hash
 * (WEIR_FLOWS_PERCPU); the figures are in the README.
 */
#ifdef WEIR_FLOWS_PERCPU
#define WEIR_FLOWS_MAP_TYPE BPF_MAP_TYPE_PERCPU_HASH
#else
#define WEIR_FLOWS_MAP_TYPE BPF_MAP_TYPE_LRU_HASH
#endif

struct {
	__uint(type, WEIR_FLOWS_MAP_TYPE);
	__uint(max_entries, WEIR_FLOWS_MAX_DEFAULT);
	__type(key, struct weir_flow_key);
	__type(value, struct weir_flow_value);
} weir_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_METRICS_ENTRIES);
	__type(key, __u32);
	__type(value, struct weir_metrics_value);
} weir_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} weir_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WEIR_EVENTS_BYTES);
} weir_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEIR_FRAGS_MAX);
	__type(key, struct weir_frag_key);
	__type(value, struct weir_frag_value);
} weir_frags SEC(".maps");

#endif /* WEIR_DP_MAPS_H */
