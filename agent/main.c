// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-agent: loads and attaches the datapath, assembles flow records,
 * enriches them with endpoint metadata and serves them over HTTP. One event
 * loop on the main thread (signals, ring buffer, sweep timer, netlink,
 * endpoints file); the HTTP server runs on its own threads.
 */
#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <net/if.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "assembler.h"
#include "datapath.h"
#include "endpoints.h"
#include "endpoints_state.h"
#include "exporters.h"
#include "http.h"
#include "k8s_watch.h"
#include "lb_health.h"
#include "lb_maps.h"
#include "log.h"
#include "metrics.h"
#include "netlink.h"
#include "pod_attach.h"
#include "policy.h"
#include "prefilter.h"
#include "services.h"
#include "store.h"
#include "weir.skel.h"

#define NETNS_RESCAN_NS (5ULL * 1000000000ULL) /* network namespaces are rescanned this often */

enum loop_src {
	SRC_SIGNAL,
	SRC_EVENTS,
	SRC_SWEEP,
	SRC_NETLINK,
	SRC_INOTIFY,
	SRC_ATTACH,
	SRC_LB_HEALTH,
};

struct daemon {
	struct weir_agent a;
	struct weir_netlink *nl;
	struct weir_http *http;
	struct weir_lb_health *lb_health;
	struct weir_endpoints_state *eps_state; /* registrations across restarts, or NULL */
	int epfd, sigfd, timerfd, inofd;
	uint64_t last_netns_scan_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void on_record(void *ctx, struct weir_flow_record *r)
{
	struct weir_agent *a = ctx;

	weir_metrics_observe(a->metrics, r);
	weir_store_add(a->store, r);
}

static int lb_of(void *ctx, const struct weir_flow_key *k, struct weir_flow_record *r)
{
	struct weir_agent *a = ctx;

	return a->services ? weir_services_flow(a->services, k, r) : 0;
}

static void on_pod_gone(void *ctx, const char *namespace, const char *pod_name)
{
	struct weir_agent *a = ctx;

	weir_metrics_forget_pod(a->metrics, namespace, pod_name);
}

static bool tc_pattern_match(const struct weir_agent_config *cfg, const char *ifname)
{
	size_t i;

	for (i = 0; i < cfg->tc_patterns.n; i++)
		if (!fnmatch(cfg->tc_patterns.v[i], ifname, 0))
			return true;
	return false;
}

static bool tc_configured(const struct weir_agent_config *cfg, const char *ifname)
{
	size_t i;

	for (i = 0; i < cfg->tc_ifaces.n; i++)
		if (!strcmp(cfg->tc_ifaces.v[i], ifname))
			return true;
	return tc_pattern_match(cfg, ifname);
}

/* A link is pod-facing when a pattern matches it or a registration names it. */
static void on_link_up(void *ctx, int ifindex, const char *ifname)
{
	struct daemon *d = ctx;

	bool pod_facing = tc_pattern_match(&d->a.cfg, ifname) ||
			  weir_endpoints_has_interface(d->a.endpoints, ifname);

	weir_assembler_set_ifname(d->a.assembler, ifindex, ifname, pod_facing);
	if (pod_facing)
		weir_datapath_attach_tc(d->a.dp, ifname); /* no-op when attached; logs errors */
}

static void on_link_gone(void *ctx, int ifindex, const char *ifname)
{
	struct daemon *d = ctx;

	(void)ifindex;
	weir_datapath_detach(d->a.dp, ifname);
}

static void on_addrs(void *ctx, const struct weir_addr *addrs, size_t n)
{
	struct daemon *d = ctx;

	weir_endpoints_set_host(d->a.endpoints, addrs, n);
}

/* A registration's request (pod_attach.h), on the loop's thread. */
static int on_attach_request(void *ctx, const char *ifname, bool attach)
{
	struct daemon *d = ctx;
	int ifindex, err;

	if (!attach) {
		if (tc_configured(&d->a.cfg, ifname))
			return 0;
		return weir_datapath_detach(d->a.dp, ifname);
	}
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex)
		return -ENODEV;
	err = weir_datapath_attach_tc(d->a.dp, ifname);
	if (!err)
		weir_assembler_set_ifname(d->a.assembler, ifindex, ifname, true);
	return err;
}

static bool iface_exists(void *ctx, const char *ifname)
{
	(void)ctx;
	return if_nametoindex(ifname) != 0;
}

/* The registrations of the last run, before anything resolves endpoints (the
 * policy engine's first sync, the flows), then written on every change. A
 * registration whose interface went away while the agent was down is dropped:
 * the pod's DEL went with it.
 */
static int registrations_restore(struct daemon *d)
{
	const char *dir = d->a.cfg.state_dir;
	int n;

	if (!dir || !*dir) {
		log_info("endpoints: no --state-dir: registrations are not kept across restarts");
		return 0;
	}
	n = weir_endpoints_state_new(&d->eps_state, dir);
	n = n ?: weir_endpoints_state_restore(d->eps_state, d->a.endpoints, iface_exists, NULL);
	if (n < 0)
		return n;
	weir_endpoints_state_follow(d->eps_state, d->a.endpoints);
	return 0;
}

/* TC back on the restored registrations' interfaces, as their ADD had it. */
static void registrations_attach(struct daemon *d)
{
	json_t *regs = weir_endpoints_registrations(d->a.endpoints), *doc;
	const char *iface;
	size_t i;
	int err;

	json_array_foreach(regs, i, doc)
	{
		iface = json_string_value(json_object_get(doc, "interface"));
		if (!iface)
			continue;
		err = on_attach_request(d, iface, true);
		if (err)
			log_err("endpoints: tc not attached again namespace=%s pod=%s interface=%s: "
				"%s",
				json_string_value(json_object_get(doc, "namespace")),
				json_string_value(json_object_get(doc, "pod_name")), iface,
				strerror(-err));
		else
			log_info("endpoints: tc attached again interface=%s", iface);
	}
	json_decref(regs);
}

static const struct weir_netlink_ops netlink_ops = {
	.link_up = on_link_up,
	.link_gone = on_link_gone,
	.addrs = on_addrs,
};

static int endpoints_reload(struct daemon *d)
{
	char err[512];
	int ret;

	ret = weir_endpoints_load_file(d->a.endpoints, d->a.cfg.endpoints_file, err, sizeof(err));
	if (ret)
		log_err("endpoints file path=%s not loaded, keeping the previous set: %s",
			d->a.cfg.endpoints_file, err);
	else
		log_info("endpoints file loaded path=%s", d->a.cfg.endpoints_file);
	return ret;
}

/* Watches the endpoints file's directory: editors and config managers
 * replace the file rather than write it in place.
 */
static int endpoints_watch(struct daemon *d)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", d->a.cfg.endpoints_file);
	d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inofd < 0)
		return -errno;
	if (inotify_add_watch(d->inofd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) <
	    0) {
		log_err("watch endpoints file dir=%s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static void on_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char path[PATH_MAX];
	const char *base;
	bool changed = false;
	ssize_t n;

	snprintf(path, sizeof(path), "%s", d->a.cfg.endpoints_file);
	base = basename(path);
	while ((n = read(d->inofd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->len && !strcmp(ev->name, base))
				changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (changed)
		endpoints_reload(d);
}

static void netns_scan(struct daemon *d)
{
	int err = weir_endpoints_discover_netns(d->a.endpoints, d->a.cfg.netns_dir);

	if (err && err != -ENOENT)
		log_warn("netns discovery dir=%s: %s", d->a.cfg.netns_dir, strerror(-err));
	d->last_netns_scan_ns = mono_ns();
}

static void on_sweep(struct daemon *d)
{
	uint64_t expirations;
	struct weir_assembler_stats st;

	if (read(d->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	weir_assembler_sweep(d->a.assembler);
	weir_assembler_stats(d->a.assembler, &st);
	pthread_mutex_lock(&d->a.stats_lock);
	d->a.assembler_stats = st;
	pthread_mutex_unlock(&d->a.stats_lock);
	if (d->a.cfg.netns_discovery && mono_ns() - d->last_netns_scan_ns >= NETNS_RESCAN_NS)
		netns_scan(d);
}

static int epoll_add(struct daemon *d, int fd, enum loop_src src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_err("epoll add fd=%d: %s", fd, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Returns when a stop signal arrives. */
static int run(struct daemon *d)
{
	struct epoll_event evs[8];
	struct signalfd_siginfo si;
	int n, i;

	for (;;) {
		n = epoll_wait(d->epfd, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case SRC_SIGNAL:
				if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGHUP) {
					if (d->a.cfg.endpoints_file)
						endpoints_reload(d);
					break;
				}
				log_info("stopping signal=%s", strsignal(si.ssi_signo));
				return 0;
			case SRC_EVENTS:
				weir_assembler_consume(d->a.assembler);
				break;
			case SRC_SWEEP:
				on_sweep(d);
				break;
			case SRC_NETLINK:
				weir_netlink_process(d->nl);
				break;
			case SRC_INOTIFY:
				on_inotify(d);
				break;
			case SRC_ATTACH:
				weir_pod_attach_process(d->a.pod_attach, on_attach_request, d);
				break;
			case SRC_LB_HEALTH:
				weir_lb_health_process(d->lb_health);
				break;
			}
		}
	}
}

static int loop_setup(struct daemon *d)
{
	uint32_t ms = d->a.cfg.sweep_interval_ms;
	struct itimerspec its = {
		.it_interval = { ms / 1000, (ms % 1000) * 1000000L },
		.it_value = { ms / 1000, (ms % 1000) * 1000000L },
	};
	sigset_t set;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0 ||
	    timerfd_settime(d->timerfd, 0, &its, NULL))
		return -errno;
	err = epoll_add(d, d->sigfd, SRC_SIGNAL);
	err = err ?: epoll_add(d, weir_assembler_events_fd(d->a.assembler), SRC_EVENTS);
	err = err ?: epoll_add(d, d->timerfd, SRC_SWEEP);
	err = err ?: epoll_add(d, weir_netlink_fd(d->nl), SRC_NETLINK);
	if (!err && d->inofd >= 0)
		err = epoll_add(d, d->inofd, SRC_INOTIFY);
	err = err ?: epoll_add(d, weir_pod_attach_fd(d->a.pod_attach), SRC_ATTACH);
	err = err ?: epoll_add(d, weir_lb_health_fd(d->lb_health), SRC_LB_HEALTH);
	return err;
}

static int datapath_setup(struct weir_agent *a)
{
	struct weir_datapath_opts opts = { .flows_max = a->cfg.flows_max,
					   .pin_dir = a->cfg.pin_dir,
					   .pf_exact_max = a->cfg.pf_exact_max,
					   .lb_services_max = a->cfg.lb_services_max,
					   .lb_backends_max = a->cfg.lb_backends_max,
					   .lb_ct_max = a->cfg.lb_ct_max,
					   .lb_affinity_max = a->cfg.lb_affinity_max,
					   .lb_seed = a->cfg.lb_seed,
					   .lb_seed_set = true };
	size_t i;
	int err;

	err = weir_bpffs_prepare(a->cfg.pin_dir);
	if (err)
		return err;
	err = weir_datapath_load(&a->dp, &opts);
	if (err)
		return err;
	if (weir_datapath_reused(a->dp))
		log_info("reusing pinned maps dir=%s: counters carry on", a->cfg.pin_dir);
	for (i = 0; i < a->cfg.xdp_ifaces.n; i++) {
		err = weir_datapath_attach_xdp(a->dp, a->cfg.xdp_ifaces.v[i], a->cfg.xdp_mode);
		if (err)
			return err;
	}
	for (i = 0; i < a->cfg.tc_ifaces.n; i++) {
		err = weir_datapath_attach_tc(a->dp, a->cfg.tc_ifaces.v[i]);
		if (err)
			return err;
	}
	return 0;
}

static int k8s_setup(struct weir_agent *a)
{
	struct weir_k8s_opts opts = {
		.kubeconfig = a->cfg.kubeconfig,
		.node_name = a->cfg.node_name,
		.eps = a->endpoints,
		.watch_timeout_s = a->cfg.k8s_watch_timeout_s,
		.on_listed = weir_policy_engine_release,
		.ctx = a->policy,
	};
	char err[512] = "";
	int ret;

	ret = weir_k8s_start(&a->k8s, &opts, err, sizeof(err));
	if (ret)
		log_err("k8s: %s", err[0] ? err : strerror(-ret));
	return ret;
}

/* Services from the state file, written through to the pinned maps. */
static int services_setup(struct daemon *d)
{
	struct weir_agent *a = &d->a;
	struct weir_services_opts so = {
		.services_max = a->cfg.lb_services_max,
		.backends_max = a->cfg.lb_backends_max,
		.table_size = a->cfg.lb_table_size,
		.state_file = a->cfg.lb_state_file,
	};
	struct weir_lb_maps maps;
	char err[512] = "";
	int ret;

	ret = weir_lb_maps_open(&maps, a->dp);
	ret = ret ?: weir_lb_maps_seed(&maps, &so.seed);
	if (ret)
		return ret;
	so.maps = &maps;
	ret = weir_services_new(&a->services, &so);
	if (ret)
		return ret;
	ret = weir_services_restore(a->services, err, sizeof(err));
	if (ret) {
		log_err("lb: %s", err);
		return ret;
	}
	return weir_lb_health_new(&d->lb_health, a->services);
}

static int setup(struct daemon *d)
{
	struct weir_agent *a = &d->a;
	struct weir_bpf *skel;
	struct weir_policy_engine_opts po;
	struct weir_assembler_opts ao;
	int err;

	err = datapath_setup(a);
	err = err ?: weir_prefilter_open(&a->prefilter, weir_datapath_skel(a->dp));
	if (err)
		return err;
	err = services_setup(d);
	err = err ?: weir_endpoints_new(&a->endpoints, a->cfg.node_name);
	err = err ?: weir_store_new(&a->store, a->cfg.store_capacity);
	err = err ?: weir_metrics_new(&a->metrics, WEIR_METRICS_POD_SERIES_DEFAULT);
	if (err)
		return err;
	weir_endpoints_on_gone(a->endpoints, on_pod_gone, a);
	err = registrations_restore(d);
	if (err)
		return err;
	if (a->cfg.endpoints_file) {
		err = endpoints_reload(d);
		err = err ?: endpoints_watch(d);
		if (err)
			return err;
	}
	if (a->cfg.netns_discovery)
		netns_scan(d);
	err = weir_agent_exporters_start(a);
	if (err)
		return err;
	skel = weir_datapath_skel(a->dp);
	po = (struct weir_policy_engine_opts){
		.endpoints = a->endpoints,
		.ipcache_fd = bpf_map__fd(skel->maps.weir_ipcache),
		.eps_fd = bpf_map__fd(skel->maps.weir_policy_eps),
		.state_fd = bpf_map__fd(skel->maps.weir_policy_state),
		.state_dir = a->cfg.state_dir && *a->cfg.state_dir ? a->cfg.state_dir : NULL,
		.hold = a->cfg.k8s, /* until the pod list is in */
	};
	err = weir_policy_engine_new(&a->policy, &po);
	if (err)
		return err;
	weir_endpoints_on_change(a->endpoints, weir_policy_engine_resync, a->policy);
	if (a->cfg.k8s) {
		err = k8s_setup(a);
		if (err)
			return err;
	}
	ao = (struct weir_assembler_opts){
		.node_name = a->cfg.node_name,
		.active_timeout_s = a->cfg.active_timeout_s,
		.idle_timeout_s = a->cfg.idle_timeout_s,
		.flows_fd = bpf_map__fd(skel->maps.weir_flows),
		.events_fd = bpf_map__fd(skel->maps.weir_events),
		.counters_fd = bpf_map__fd(skel->maps.weir_counters),
		.endpoints = a->endpoints,
		.on_record = on_record,
		.ctx = a,
		.lb_of = lb_of,
	};
	err = weir_assembler_new(&a->assembler, &ao);
	err = err ?: weir_pod_attach_new(&a->pod_attach);
	if (!err)
		registrations_attach(d);
	err = err ?: weir_netlink_open(&d->nl, &netlink_ops, d);
	err = err ?: weir_netlink_sync(d->nl);
	err = err ?: weir_http_start(a, &d->http);
	err = err ?: loop_setup(d);
	return err;
}

static void teardown(struct daemon *d)
{
	struct weir_agent *a = &d->a;

	if (a->assembler)
		weir_assembler_flush(a->assembler); /* last records reach open streams */
	/* the exporters write or send the last records, then stop */
	weir_agent_exporters_stop(a);
	if (d->http)
		weir_http_stop(d->http);
	weir_k8s_stop(a->k8s);
	weir_pod_attach_free(a->pod_attach);
	weir_netlink_close(d->nl);
	weir_lb_health_free(d->lb_health);
	weir_assembler_free(a->assembler);
	if (a->cfg.keep_datapath)
		weir_datapath_release(a->dp);
	else
		weir_datapath_destroy(a->dp);
	weir_prefilter_free(a->prefilter);
	if (a->endpoints)
		weir_endpoints_on_change(a->endpoints, NULL, NULL);
	weir_policy_engine_free(a->policy);
	weir_services_free(a->services);
	weir_endpoints_free(a->endpoints);
	weir_endpoints_state_free(d->eps_state);
	weir_metrics_free(a->metrics);
	weir_store_free(a->store);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->inofd >= 0)
		close(d->inofd);
}

int main(int argc, char **argv)
{
	static struct daemon d = { .epfd = -1, .sigfd = -1, .timerfd = -1, .inofd = -1 };
	const char *path = weir_opts_config_path(argc, argv);
	struct timespec ts;
	char err[512];
	sigset_t set;
	int ret;

	/* Large buffers are mapped, and unmapped when freed: glibc would raise
	 * its mmap threshold to the largest block freed so far, and loading the
	 * flow table's iterator frees the kernel's parsed BTF (megabytes), after
	 * which such buffers stay resident in the heap once freed.
	 */
	mallopt(M_MMAP_THRESHOLD, WEIR_MMAP_THRESHOLD);
	weir_agent_config_defaults(&d.a.cfg);
	if (path && weir_agent_config_load(&d.a.cfg, path, err, sizeof(err))) {
		fprintf(stderr, "weir-agent: %s\n", err);
		return 2;
	}
	ret = weir_agent_config_args(&d.a.cfg, argc, argv, err, sizeof(err));
	if (ret) {
		if (ret < 0)
			fprintf(stderr, "weir-agent: %s\n", err);
		return ret > 0 ? 0 : 2;
	}
	weir_log_set_level(d.a.cfg.verbose ? WEIR_LOG_DEBUG : WEIR_LOG_INFO);
	weir_log_libbpf();

	/* Signals arrive through the signalfd, in every thread's stead. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	pthread_mutex_init(&d.a.stats_lock, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	d.a.start_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	log_info("starting node=%s", d.a.cfg.node_name);

	ret = setup(&d);
	if (!ret) {
		log_info("ready listen=%s socket=%s", d.a.cfg.listen, d.a.cfg.socket_path);
		ret = run(&d);
	}
	teardown(&d);
	weir_agent_config_release(&d.a.cfg);
	return ret ? 1 : 0;
}
