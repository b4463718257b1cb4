/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading the datapath skeleton and attaching it to interfaces: XDP (native,
 * falling back to generic) and TC (clsact ingress and egress). Everything
 * attached is remembered and detached by weir_datapath_destroy().
 */
#ifndef WEIR_DATAPATH_H
#define WEIR_DATAPATH_H

#include <linux/types.h>

struct weir_datapath;
struct weir_bpf;

enum weir_xdp_mode {
	WEIR_XDP_AUTO, /* native, falling back to generic */
	WEIR_XDP_NATIVE,
	WEIR_XDP_GENERIC,
};

struct weir_datapath_opts {
	__u32 flows_max; /* flow-table entries; 0: WEIR_FLOWS_MAX_DEFAULT */
};

int weir_datapath_load(struct weir_datapath **dpp, const struct weir_datapath_opts *opts);
/* Attach to ifname; -EEXIST if another XDP program is already there. */
int weir_datapath_attach_xdp(struct weir_datapath *dp, const char *ifname, enum weir_xdp_mode mode);
int weir_datapath_attach_tc(struct weir_datapath *dp, const char *ifname);
/* Detach everything this datapath attached to ifname (no-op if nothing). */
int weir_datapath_detach(struct weir_datapath *dp, const char *ifname);
/* Detaches everything, then frees the programs and maps. */
void weir_datapath_destroy(struct weir_datapath *dp);

/* The mode XDP ended up in on ifname ("native", "generic"), or NULL. */
const char *weir_datapath_xdp_mode(struct weir_datapath *dp, const char *ifname);
struct weir_bpf *weir_datapath_skel(struct weir_datapath *dp);

#endif /* WEIR_DATAPATH_H */
