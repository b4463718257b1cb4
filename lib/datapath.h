/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading the datapath skeleton and attaching it to interfaces: XDP (native,
 * falling back to generic) and TC (clsact ingress and egress). Everything
 * attached is remembered and detached by weir_datapath_destroy().
 */
#ifndef WEIR_DATAPATH_H
#define WEIR_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <weir/abi.h>

struct weir_datapath;
struct weir_bpf;

enum weir_xdp_mode {
	WEIR_XDP_AUTO, /* native, falling back to generic */
	WEIR_XDP_NATIVE,
	WEIR_XDP_GENERIC,
};

struct weir_datapath_opts {
	__u32 flows_max;     /* flow-table entries; 0: WEIR_FLOWS_MAX_DEFAULT */
	const char *pin_dir; /* pin the maps here, reusing maps already pinned; NULL: none */
	__u32 pf_exact_max;  /* prefilter full-length addresses per family and set;
			      * 0: WEIR_PF_EXACT_MAX_DEFAULT (include/weir/prefilter.h) */
	/* Load balancer (include/weir/lb.h); 0: the WEIR_LB_*_DEFAULT. */
	__u32 lb_services_max; /* services; service ids 1..this */
	__u32 lb_backends_max; /* backends; backend ids 1..this */
	__u32 lb_ct_max;       /* conntrack entries, and as many reverse-NAT entries */
	__u32 lb_affinity_max; /* session-affinity entries */
	__u32 lb_seed;	       /* Maglev hash seed, the same on every node */
	bool lb_seed_set;      /* lb_seed is meant, even 0; else WEIR_LB_SEED_DEFAULT */
};

/* Weir's TC filters sit at a fixed handle and priority, so a restarted agent
 * replaces its own filters in place and never stacks a second copy.
 */
#define WEIR_TC_HANDLE	 0x57454952 /* "WEIR" */
#define WEIR_TC_PRIORITY 1

/* Creates dir, which must be on a bpffs; mounts /sys/fs/bpf when dir is
 * under it and nothing is mounted there. -ENOTSUP for a dir on another fs.
 */
int weir_bpffs_prepare(const char *dir);

int weir_datapath_load(struct weir_datapath **dpp, const struct weir_datapath_opts *opts);
/* Attach to ifname, replacing Weir's own program left there by an earlier
 * run; -EBUSY if another XDP program is attached.
 */
int weir_datapath_attach_xdp(struct weir_datapath *dp, const char *ifname, enum weir_xdp_mode mode);
int weir_datapath_attach_tc(struct weir_datapath *dp, const char *ifname);
/* Detach everything this datapath attached to ifname (no-op if nothing). */
int weir_datapath_detach(struct weir_datapath *dp, const char *ifname);
/* Detaches everything, then frees the programs and maps (pinned maps stay). */
void weir_datapath_destroy(struct weir_datapath *dp);
/* Frees the user-space side only: programs stay attached, maps stay pinned. */
void weir_datapath_release(struct weir_datapath *dp);
/* Whether the flow table held entries when it was loaded (reused from a pin). */
bool weir_datapath_reused(struct weir_datapath *dp);

/* Sums a per-CPU map's value at key — n_u64 __u64 fields — over every
 * possible CPU into sums[0..n_u64). Returns 0 or -errno.
 */
int weir_percpu_sum(int map_fd, __u32 key, __u64 *sums, size_t n_u64);
/* weir_metrics summed over CPUs: WEIR_METRICS_ENTRIES values, by index. */
int weir_datapath_read_metrics(struct weir_datapath *dp, struct weir_metrics_value *out);
/* weir_counters summed over CPUs: WEIR_CNT_MAX values. */
int weir_datapath_read_counters(struct weir_datapath *dp, __u64 *out);

/* The mode XDP ended up in on ifname ("native", "generic"), or NULL. */
const char *weir_datapath_xdp_mode(struct weir_datapath *dp, const char *ifname);
struct weir_bpf *weir_datapath_skel(struct weir_datapath *dp);
/* The fd of the datapath's map called name (WEIR_MAP_*), or -ENOENT. */
int weir_datapath_map_fd(struct weir_datapath *dp, const char *name);

#endif /* WEIR_DATAPATH_H */
