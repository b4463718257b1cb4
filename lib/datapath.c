// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Loading the datapath skeleton and attaching it to interfaces. */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include "weir.skel.h"
#include "datapath.h"
#include "log.h"

#define WEIR_ATTACH_MAX 256 /* interfaces one datapath attaches to */

struct attachment {
	char ifname[IF_NAMESIZE];
	int ifindex;
	__u32 xdp_flags; /* XDP_FLAGS_{DRV,SKB}_MODE when attached, else 0 */
	bool tc;
	bool qdisc_created; /* the clsact qdisc is ours to remove */
	__u32 tc_handle[2]; /* [0] ingress, [1] egress, as the kernel chose */
	__u32 tc_priority[2];
};

struct weir_datapath {
	struct weir_bpf *skel;
	struct attachment att[WEIR_ATTACH_MAX];
	int n_att;
};

int weir_datapath_load(struct weir_datapath **dpp, const struct weir_datapath_opts *opts)
{
	struct weir_datapath *dp;
	__u32 flows_max = opts && opts->flows_max ? opts->flows_max : WEIR_FLOWS_MAX_DEFAULT;
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->skel = weir_bpf__open();
	if (!dp->skel) {
		err = -errno;
		log_err("open datapath object: %s", strerror(-err));
		goto err_free;
	}
	err = bpf_map__set_max_entries(dp->skel->maps.weir_flows, flows_max);
	if (err) {
		log_err("set flow table size flows_max=%u: %s", flows_max, strerror(-err));
		goto err_destroy;
	}
	err = weir_bpf__load(dp->skel);
	if (err) {
		log_err("load datapath programs: %s (run with -v for the verifier log)",
			strerror(-err));
		goto err_destroy;
	}
	*dpp = dp;
	return 0;

err_destroy:
	weir_bpf__destroy(dp->skel);
err_free:
	free(dp);
	return err;
}

static struct attachment *attachment_find(struct weir_datapath *dp, const char *ifname)
{
	int i;

	for (i = 0; i < dp->n_att; i++)
		if (!strcmp(dp->att[i].ifname, ifname))
			return &dp->att[i];
	return NULL;
}

static int attachment_get(struct weir_datapath *dp, const char *ifname, struct attachment **out)
{
	struct attachment *a = attachment_find(dp, ifname);
	int ifindex;

	if (a) {
		*out = a;
		return 0;
	}
	if (strlen(ifname) >= IF_NAMESIZE)
		return -ENAMETOOLONG;
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		log_err("attach: no interface ifname=%s", ifname);
		return -ENODEV;
	}
	if (dp->n_att == WEIR_ATTACH_MAX) {
		log_err("attach: too many interfaces max=%d", WEIR_ATTACH_MAX);
		return -ENOSPC;
	}
	a = &dp->att[dp->n_att++];
	memset(a, 0, sizeof(*a));
	memcpy(a->ifname, ifname, strlen(ifname) + 1); /* length checked above */
	a->ifindex = ifindex;
	*out = a;
	return 0;
}

int weir_datapath_attach_xdp(struct weir_datapath *dp, const char *ifname, enum weir_xdp_mode mode)
{
	int prog_fd = bpf_program__fd(dp->skel->progs.weir_xdp_ingress);
	struct attachment *a;
	__u32 flags;
	int err;

	err = attachment_get(dp, ifname, &a);
	if (err)
		return err;
	if (a->xdp_flags)
		return 0;

	flags = mode == WEIR_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	err = bpf_xdp_attach(a->ifindex, prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err && mode == WEIR_XDP_AUTO && err != -EEXIST && err != -EBUSY) {
		log_info("xdp native attach failed, trying generic ifname=%s err=%s", ifname,
			 strerror(-err));
		flags = XDP_FLAGS_SKB_MODE;
		err = bpf_xdp_attach(a->ifindex, prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST,
				     NULL);
	}
	if (err) {
		if (err == -EEXIST || err == -EBUSY)
			log_err("attach xdp ifname=%s: another XDP program is attached", ifname);
		else
			log_err("attach xdp ifname=%s: %s", ifname, strerror(-err));
		return err;
	}
	a->xdp_flags = flags;
	log_info("attached xdp ifname=%s mode=%s", ifname,
		 flags == XDP_FLAGS_SKB_MODE ? "generic" : "native");
	return 0;
}

static void tc_hook_of(struct attachment *a, struct bpf_tc_hook *hook, enum bpf_tc_attach_point p)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = a->ifindex;
	hook->attach_point = p;
}

static void tc_detach(struct attachment *a)
{
	static const enum bpf_tc_attach_point points[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	struct bpf_tc_hook hook;
	int i, err;

	for (i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a->tc_handle[i],
			    .priority = a->tc_priority[i]);

		if (!a->tc_handle[i])
			continue;
		tc_hook_of(a, &hook, points[i]);
		err = bpf_tc_detach(&hook, &opts);
		if (err && err != -ENOENT && err != -ENODEV)
			log_warn("detach tc ifname=%s: %s", a->ifname, strerror(-err));
		a->tc_handle[i] = 0;
	}
	if (a->qdisc_created) {
		tc_hook_of(a, &hook, BPF_TC_INGRESS | BPF_TC_EGRESS);
		err = bpf_tc_hook_destroy(&hook);
		if (err && err != -ENOENT && err != -ENODEV)
			log_warn("remove clsact qdisc ifname=%s: %s", a->ifname, strerror(-err));
		a->qdisc_created = false;
	}
	a->tc = false;
}

int weir_datapath_attach_tc(struct weir_datapath *dp, const char *ifname)
{
	const int fds[2] = {
		bpf_program__fd(dp->skel->progs.weir_tc_ingress),
		bpf_program__fd(dp->skel->progs.weir_tc_egress),
	};
	static const enum bpf_tc_attach_point points[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	struct bpf_tc_hook hook;
	struct attachment *a;
	int i, err;

	err = attachment_get(dp, ifname, &a);
	if (err)
		return err;
	if (a->tc)
		return 0;

	/* An existing clsact qdisc (another tool's) is used and left in place. */
	tc_hook_of(a, &hook, BPF_TC_INGRESS);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		log_err("create clsact qdisc ifname=%s: %s", ifname, strerror(-err));
		return err;
	}
	a->qdisc_created = !err;
	a->tc = true;

	for (i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fds[i]);

		tc_hook_of(a, &hook, points[i]);
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			log_err("attach tc %s ifname=%s: %s", i ? "egress" : "ingress", ifname,
				strerror(-err));
			tc_detach(a);
			return err;
		}
		a->tc_handle[i] = opts.handle;
		a->tc_priority[i] = opts.priority;
	}
	log_info("attached tc ifname=%s", ifname);
	return 0;
}

static void xdp_detach(struct attachment *a, int prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = prog_fd);
	int err;

	if (!a->xdp_flags)
		return;
	/* XDP_FLAGS_REPLACE: remove the program only if it is still ours. */
	err = bpf_xdp_detach(a->ifindex, a->xdp_flags | XDP_FLAGS_REPLACE, &opts);
	if (err && err != -ENODEV && err != -EEXIST)
		log_warn("detach xdp ifname=%s: %s", a->ifname, strerror(-err));
	a->xdp_flags = 0;
}

int weir_datapath_detach(struct weir_datapath *dp, const char *ifname)
{
	struct attachment *a = attachment_find(dp, ifname);

	if (!a)
		return 0;
	xdp_detach(a, bpf_program__fd(dp->skel->progs.weir_xdp_ingress));
	tc_detach(a);
	log_info("detached ifname=%s", ifname);
	*a = dp->att[--dp->n_att];
	return 0;
}

void weir_datapath_destroy(struct weir_datapath *dp)
{
	if (!dp)
		return;
	while (dp->n_att)
		weir_datapath_detach(dp, dp->att[0].ifname);
	weir_bpf__destroy(dp->skel);
	free(dp);
}

const char *weir_datapath_xdp_mode(struct weir_datapath *dp, const char *ifname)
{
	struct attachment *a = attachment_find(dp, ifname);

	if (!a || !a->xdp_flags)
		return NULL;
	return a->xdp_flags == XDP_FLAGS_SKB_MODE ? "generic" : "native";
}

struct weir_bpf *weir_datapath_skel(struct weir_datapath *dp)
{
	return dp->skel;
}
