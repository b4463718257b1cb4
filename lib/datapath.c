// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Loading the datapath skeleton and attaching it to interfaces. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include <weir/prefilter.h>
#include <weir/lb.h>
#include "weir.skel.h"
#include "datapath.h"
#include "state_file.h"
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
	bool reused;
	struct attachment att[WEIR_ATTACH_MAX];
	int n_att;
};

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* Whether this process runs in a mount namespace other than init's (as
 * under `ip netns exec`): a bpffs mounted there dies with the process.
 */
static bool private_mount_ns(void)
{
	struct stat self, init;

	return !stat("/proc/self/ns/mnt", &self) && !stat("/proc/1/ns/mnt", &init) &&
	       self.st_ino != init.st_ino;
}

int weir_bpffs_prepare(const char *dir)
{
	char parent[PATH_MAX];
	char *slash;
	int err;

	/* The pins must live on a bpffs: the nearest existing ancestor tells. */
	if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
		return -ENAMETOOLONG;
	while (access(parent, F_OK) && (slash = strrchr(parent, '/')) && slash != parent)
		*slash = '\0';
	if (!is_bpffs(parent)) {
		if (strncmp(dir, "/sys/fs/bpf/", 12) != 0 || is_bpffs("/sys/fs/bpf")) {
			log_err("pin directory path=%s is not on a bpffs: mount one (mount -t bpf "
				"bpf DIR) or use one under /sys/fs/bpf",
				dir);
			return -ENOTSUP;
		}
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			log_err("mount bpffs on /sys/fs/bpf: %s", strerror(errno));
			return -errno;
		}
		if (private_mount_ns())
			log_warn("mounted bpffs path=/sys/fs/bpf in a private mount namespace: "
				 "pinned maps will not outlive this process; pin on a shared bpffs "
				 "to keep counters across restarts");
		else
			log_info("mounted bpffs path=/sys/fs/bpf");
	}
	err = weir_mkdir_p(dir, 0700);
	if (err)
		log_err("create pin directory path=%s: %s", dir, strerror(-err));
	return err;
}

static int maps_pin_under(struct weir_bpf *skel, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, skel->obj) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map)) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

/* A pinned map libbpf cannot reuse (another size, an older ABI) fails the
 * load: say which one and what to do.
 */
static void pinned_mismatch_explain(struct weir_bpf *skel)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	struct bpf_map *map;
	int fd;

	bpf_object__for_each_map(map, skel->obj) {
		fd = bpf_obj_get(bpf_map__pin_path(map));
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		     info.value_size != bpf_map__value_size(map) ||
		     info.max_entries != bpf_map__max_entries(map)))
			log_err("pinned map path=%s has max_entries=%u key=%u value=%u, this "
				"datapath wants %u/%u/%u: remove the pin (losing its counters) or "
				"configure the same size",
				bpf_map__pin_path(map), info.max_entries, info.key_size,
				info.value_size, bpf_map__max_entries(map), bpf_map__key_size(map),
				bpf_map__value_size(map));
		close(fd);
	}
}

static bool flows_pinned_nonempty(const char *path)
{
	struct weir_flow_key k;
	bool nonempty;
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	nonempty = !bpf_map_get_next_key(fd, NULL, &k);
	close(fd);
	return nonempty;
}

/* The prefilter's four exact-match hashes (both families, both sets). */
static int pf_exact_size(struct weir_bpf *skel, __u32 n)
{
	struct bpf_map *maps[] = { skel->maps.weir_pf4_hash_a, skel->maps.weir_pf4_hash_b,
				   skel->maps.weir_pf6_hash_a, skel->maps.weir_pf6_hash_b };
	size_t i;
	int err;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		err = bpf_map__set_max_entries(maps[i], n);
		if (err) {
			log_err("set prefilter size pf_exact_max=%u: %s", n, strerror(-err));
			return err;
		}
	}
	return 0;
}

static __u32 or_default(__u32 v, __u32 def)
{
	return v ? v : def;
}

static int map_resize(struct weir_bpf *skel, const char *name, __u32 max_entries)
{
	struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, name);
	int err;

	if (!map)
		return -ENOENT;
	err = bpf_map__set_max_entries(map, max_entries);
	if (err)
		log_err("set map size map=%s max_entries=%u: %s", name, max_entries,
			strerror(-err));
	return err;
}

/* The load balancer's maps: id-indexed arrays get a slot per id plus the
 * unused slot 0 (include/weir/lb.h).
 */
static int lb_maps_size(struct weir_bpf *skel, const struct weir_datapath_opts *opts)
{
	static const struct weir_datapath_opts none;
	__u32 svcs, backends, ct;
	size_t i;
	int err;

	if (!opts)
		opts = &none;
	svcs = or_default(opts->lb_services_max, WEIR_LB_SERVICES_DEFAULT);
	backends = or_default(opts->lb_backends_max, WEIR_LB_BACKENDS_DEFAULT);
	ct = or_default(opts->lb_ct_max, WEIR_LB_CT_DEFAULT);
	if (svcs == UINT_MAX || backends == UINT_MAX)
		return -ERANGE;
	{
		const struct {
			const char *name;
			__u32 max_entries;
		} sizes[] = {
			{ WEIR_MAP_LB_SERVICES, svcs },
			{ WEIR_MAP_LB_MAGLEV, svcs + 1 },
			{ WEIR_MAP_LB_SVC_STATS, svcs + 1 },
			{ WEIR_MAP_LB_BACKENDS, backends + 1 },
			{ WEIR_MAP_LB_BACKEND_STATS, backends + 1 },
			{ WEIR_MAP_LB_CT, ct },
			{ WEIR_MAP_LB_REVNAT, ct },
			{ WEIR_MAP_LB_AFFINITY,
			  or_default(opts->lb_affinity_max, WEIR_LB_AFFINITY_DEFAULT) },
		};

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			err = map_resize(skel, sizes[i].name, sizes[i].max_entries);
			if (err)
				return err;
		}
	}
	return 0;
}

static int lb_config_write(struct weir_datapath *dp, const struct weir_datapath_opts *opts)
{
	struct weir_lb_config cfg = {
		.seed = opts && opts->lb_seed_set ? opts->lb_seed : WEIR_LB_SEED_DEFAULT,
	};
	int fd = weir_datapath_map_fd(dp, WEIR_MAP_LB_CONFIG);
	__u32 key = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &key, &cfg, BPF_ANY)) {
		log_err("write map=%s: %s", WEIR_MAP_LB_CONFIG, strerror(errno));
		return -errno;
	}
	return 0;
}

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
	err = pf_exact_size(dp->skel, opts && opts->pf_exact_max ? opts->pf_exact_max :
								   WEIR_PF_EXACT_MAX_DEFAULT);
	if (err)
		goto err_destroy;
	err = lb_maps_size(dp->skel, opts);
	if (err) {
		log_err("size load-balancer maps: %s", strerror(-err));
		goto err_destroy;
	}
	if (opts && opts->pin_dir) {
		err = maps_pin_under(dp->skel, opts->pin_dir);
		if (err) {
			log_err("pin maps under dir=%s: %s", opts->pin_dir, strerror(-err));
			goto err_destroy;
		}
		dp->reused = flows_pinned_nonempty(bpf_map__pin_path(dp->skel->maps.weir_flows));
	}
	err = weir_bpf__load(dp->skel);
	if (err) {
		log_err("load datapath programs: %s (run with -v for the verifier log)",
			strerror(-err));
		if (opts && opts->pin_dir)
			pinned_mismatch_explain(dp->skel);
		goto err_destroy;
	}
	err = lb_config_write(dp, opts);
	if (err)
		goto err_destroy;
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

/* The id of Weir's XDP program attached to ifindex in mode flags, 0 if the
 * attached program (if any) is not Weir's, or -errno.
 */
static int xdp_attached_weir(int ifindex, __u32 flags, __u32 *prog_id)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd, err;

	err = bpf_xdp_query_id(ifindex, flags, prog_id);
	if (err || !*prog_id)
		return err;
	fd = bpf_prog_get_fd_by_id(*prog_id);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return -errno;
	/* the kernel keeps BPF_OBJ_NAME_LEN - 1 characters of the name */
	if (strncmp(info.name, "weir_xdp_ingress", BPF_OBJ_NAME_LEN - 1) != 0)
		*prog_id = 0;
	return 0;
}

static int xdp_attach_mode(struct attachment *a, int prog_fd, __u32 flags)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 old_id = 0;
	int old_fd, err;

	err = xdp_attached_weir(a->ifindex, flags, &old_id);
	if (err)
		return err;
	if (!old_id)
		return bpf_xdp_attach(a->ifindex, prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST,
				      NULL);
	/* An earlier run left its program (--keep-datapath): replace it atomically. */
	old_fd = bpf_prog_get_fd_by_id(old_id);
	if (old_fd < 0)
		return -errno;
	opts.old_prog_fd = old_fd;
	err = bpf_xdp_attach(a->ifindex, prog_fd, flags | XDP_FLAGS_REPLACE, &opts);
	close(old_fd);
	if (!err)
		log_info("replaced xdp program of an earlier run ifname=%s old_id=%u", a->ifname,
			 old_id);
	return err;
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
	err = xdp_attach_mode(a, prog_fd, flags);
	if (err && mode == WEIR_XDP_AUTO && err != -EEXIST && err != -EBUSY) {
		log_info("xdp native attach failed, trying generic ifname=%s err=%s", ifname,
			 strerror(-err));
		flags = XDP_FLAGS_SKB_MODE;
		err = xdp_attach_mode(a, prog_fd, flags);
	}
	if (err) {
		if (err == -EEXIST || err == -EBUSY)
			log_err("attach xdp ifname=%s: another XDP program is attached", ifname);
		else
			log_err("attach xdp ifname=%s: %s", ifname, strerror(-err));
		return err == -EEXIST ? -EBUSY : err;
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
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fds[i], .handle = WEIR_TC_HANDLE,
			    .priority = WEIR_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);

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

void weir_datapath_release(struct weir_datapath *dp)
{
	if (!dp)
		return;
	log_info("leaving the datapath attached interfaces=%d", dp->n_att);
	weir_bpf__destroy(dp->skel);
	free(dp);
}

bool weir_datapath_reused(struct weir_datapath *dp)
{
	return dp->reused;
}

int weir_percpu_sum(int map_fd, __u32 key, __u64 *sums, size_t n_u64)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	size_t i;
	int cpu, err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu * n_u64, sizeof(*vals)); /* one value per possible CPU */
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, vals)) {
		err = -errno;
		goto out;
	}
	memset(sums, 0, n_u64 * sizeof(*sums));
	for (cpu = 0; cpu < ncpu; cpu++)
		for (i = 0; i < n_u64; i++)
			sums[i] += vals[(size_t)cpu * n_u64 + i];
out:
	free(vals);
	return err;
}

int weir_datapath_read_metrics(struct weir_datapath *dp, struct weir_metrics_value *out)
{
	int fd = bpf_map__fd(dp->skel->maps.weir_metrics);
	__u64 v[2];
	__u32 idx;
	int err;

	for (idx = 0; idx < WEIR_METRICS_ENTRIES; idx++) {
		err = weir_percpu_sum(fd, idx, v, 2);
		if (err) {
			log_warn("read map=weir_metrics index=%u: %s", idx, strerror(-err));
			return err;
		}
		out[idx].packets = v[0];
		out[idx].bytes = v[1];
	}
	return 0;
}

int weir_datapath_read_counters(struct weir_datapath *dp, __u64 *out)
{
	int fd = bpf_map__fd(dp->skel->maps.weir_counters);
	__u32 idx;
	int err;

	for (idx = 0; idx < WEIR_CNT_MAX; idx++) {
		err = weir_percpu_sum(fd, idx, &out[idx], 1);
		if (err) {
			log_warn("read map=weir_counters index=%u: %s", idx, strerror(-err));
			return err;
		}
	}
	return 0;
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

int weir_datapath_map_fd(struct weir_datapath *dp, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(dp->skel->obj, name);

	return fd < 0 ? -ENOENT : fd;
}
