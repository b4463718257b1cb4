// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test harness for netns tests: attach the datapath to one interface, wait
 * for SIGTERM or SIGINT, then detach and print the flow table, metrics and
 * counters as JSON lines on stdout.
 *
 * Flow lines carry the raw key bytes as key_hex so that a test can check
 * every byte of the key (padding, unused address words), not only the fields
 * printed in text form.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include "weir.skel.h"
#include "datapath.h"
#include "log.h"
#include "names.h"

struct harness_opts {
	const char *ifname;
	enum weir_xdp_mode xdp_mode;
	bool xdp;
	bool tc;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s --ifname IF [--xdp auto|native|generic] [--tc] [--no-xdp] [-v]\n"
		"\n"
		"Loads the Weir datapath and attaches it to IF (XDP unless --no-xdp, TC\n"
		"ingress and egress with --tc), prints \"ready\" once attached, and on\n"
		"SIGTERM or SIGINT detaches, prints the flow table, the non-zero metrics\n"
		"and the counters as JSON lines, and exits.\n"
		"\n"
		"  -i, --ifname IF     interface to attach to (in the current namespace)\n"
		"  -x, --xdp MODE      XDP mode: auto (native, else generic), native, generic\n"
		"  -t, --tc            also attach TC ingress and egress (clsact)\n"
		"  -n, --no-xdp        do not attach XDP\n"
		"  -v, --verbose       debug logging, including libbpf's\n"
		"  -h, --help          this text\n",
		prog);
}

static int parse_xdp_mode(const char *s, enum weir_xdp_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = WEIR_XDP_AUTO;
	else if (!strcmp(s, "native"))
		*mode = WEIR_XDP_NATIVE;
	else if (!strcmp(s, "generic"))
		*mode = WEIR_XDP_GENERIC;
	else
		return -EINVAL;
	return 0;
}

/* Returns 0, 1 when --help was asked for, or -EINVAL. */
static int parse_args(int argc, char **argv, struct harness_opts *o)
{
	/* clang-format off */
	static const struct option longopts[] = {
		{ "ifname",	required_argument,	NULL, 'i' },
		{ "xdp",	required_argument,	NULL, 'x' },
		{ "tc",		no_argument,		NULL, 't' },
		{ "no-xdp",	no_argument,		NULL, 'n' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{}
	};
	/* clang-format on */
	int c;

	o->xdp = true;
	o->xdp_mode = WEIR_XDP_AUTO;
	while ((c = getopt_long(argc, argv, "i:x:tnvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->ifname = optarg;
			break;
		case 'x':
			if (parse_xdp_mode(optarg, &o->xdp_mode)) {
				log_err("bad --xdp mode=%s: use auto, native or generic", optarg);
				return -EINVAL;
			}
			break;
		case 't':
			o->tc = true;
			break;
		case 'n':
			o->xdp = false;
			break;
		case 'v':
			weir_log_set_level(WEIR_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 1;
		default:
			usage(stderr, argv[0]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument arg=%s", argv[optind]);
		return -EINVAL;
	}
	if (!o->ifname) {
		log_err("missing --ifname");
		return -EINVAL;
	}
	if (!o->xdp && !o->tc) {
		log_err("nothing to attach: --no-xdp without --tc");
		return -EINVAL;
	}
	return 0;
}

static const char *hook_name(__u8 hook)
{
	switch (hook) {
	case WEIR_HOOK_XDP:
		return "xdp";
	case WEIR_HOOK_TC:
		return "tc";
	default:
		return "unknown";
	}
}

static const char *dir_name(__u8 dir)
{
	switch (dir) {
	case WEIR_DIR_INGRESS:
		return "ingress";
	case WEIR_DIR_EGRESS:
		return "egress";
	default:
		return "unknown";
	}
}

/* A JSON string value for a name that may be unknown (NULL). */
static void print_name(const char *field, const char *name, unsigned int code)
{
	if (name)
		printf("\"%s\":\"%s\"", field, name);
	else
		printf("\"%s\":\"UNKNOWN_%u\"", field, code);
}

static void addr_text(const __be32 addr[4], __u8 family, char *buf, size_t len)
{
	/* Any family but 4 is shown as IPv6, so a bad key is still visible. */
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, len))
		snprintf(buf, len, "?");
}

static void print_flow(const struct weir_flow_key *k, const struct weir_flow_value *v)
{
	char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
	const __u8 *raw = (const __u8 *)k;
	size_t i;

	addr_text(k->saddr, k->family, saddr, sizeof(saddr));
	addr_text(k->daddr, k->family, daddr, sizeof(daddr));
	printf("{\"type\":\"flow\",\"hook\":\"%s\",\"dir\":\"%s\",\"ifindex\":%u,"
	       "\"family\":%u,\"proto\":%u,\"saddr\":\"%s\",\"daddr\":\"%s\","
	       "\"sport\":%u,\"dport\":%u,\"flags\":%u,\"packets\":%llu,\"bytes\":%llu,"
	       "\"tcp_flags\":%u,",
	       hook_name(k->hook), dir_name(k->dir), k->ifindex, k->family, k->proto, saddr, daddr,
	       ntohs(k->sport), ntohs(k->dport), k->flags, (unsigned long long)v->packets,
	       (unsigned long long)v->bytes, v->tcp_flags);
	print_name("verdict", weir_verdict_name(v->verdict), v->verdict);
	putchar(',');
	print_name("reason", weir_reason_name(v->reason), v->reason);
	printf(",\"first_seen_ns\":%llu,\"last_seen_ns\":%llu,\"key_hex\":\"",
	       (unsigned long long)v->first_seen_ns, (unsigned long long)v->last_seen_ns);
	for (i = 0; i < sizeof(*k); i++)
		printf("%02x", raw[i]);
	printf("\"}\n");
}

/* A per-CPU flow table (WEIR_FLOWS_PERCPU builds) holds one value per CPU,
 * each rounded up to 8 bytes: fold them into one.
 */
static void flow_value_fold(const void *vals, int ncpus, size_t stride, struct weir_flow_value *out)
{
	int cpu;

	memcpy(out, vals, sizeof(*out));
	for (cpu = 1; cpu < ncpus; cpu++) {
		const struct weir_flow_value *v = (const void *)((const char *)vals + cpu * stride);

		if (!v->packets)
			continue;
		if (!out->packets || v->first_seen_ns < out->first_seen_ns)
			out->first_seen_ns = v->first_seen_ns;
		if (v->last_seen_ns > out->last_seen_ns) {
			out->last_seen_ns = v->last_seen_ns;
			out->verdict = v->verdict;
			out->reason = v->reason;
		}
		out->packets += v->packets;
		out->bytes += v->bytes;
		out->tcp_flags |= v->tcp_flags;
	}
}

static int dump_flows(struct weir_bpf *skel, int ncpus)
{
	const struct bpf_map *map = skel->maps.weir_flows;
	bool percpu = bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH;
	size_t stride = (sizeof(struct weir_flow_value) + 7) & ~(size_t)7;
	int fd = bpf_map__fd(map);
	struct weir_flow_key key, next;
	struct weir_flow_value v;
	void *vals, *prev = NULL;
	int err = 0;

	vals = calloc(percpu ? ncpus : 1, stride);
	if (!vals)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals)) {
			if (errno == ENOENT) /* evicted since get_next_key */
				continue;
			err = -errno;
			log_err("look up flow map=%s: %s", WEIR_MAP_FLOWS, strerror(-err));
			goto out;
		}
		if (percpu)
			flow_value_fold(vals, ncpus, stride, &v);
		else
			memcpy(&v, vals, sizeof(v));
		print_flow(&key, &v);
	}
	if (errno != ENOENT) {
		err = -errno;
		log_err("iterate flow map=%s: %s", WEIR_MAP_FLOWS, strerror(-err));
	}
out:
	free(vals);
	return err;
}

static int dump_metrics(struct weir_datapath *dp)
{
	static struct weir_metrics_value m[WEIR_METRICS_ENTRIES];
	__u32 idx;
	int err;

	err = weir_datapath_read_metrics(dp, m);
	if (err)
		return err;
	for (idx = 0; idx < WEIR_METRICS_ENTRIES; idx++) {
		struct weir_metrics_key k = weir_metrics_key_of(idx);

		if (!m[idx].packets && !m[idx].bytes)
			continue;
		printf("{\"type\":\"metrics\",");
		print_name("reason", weir_reason_name(k.reason), k.reason);
		printf(",\"code\":%u,\"dir\":\"%s\",\"hook\":\"%s\",\"packets\":%llu,"
		       "\"bytes\":%llu}\n",
		       k.reason, dir_name(k.dir), hook_name(k.hook),
		       (unsigned long long)m[idx].packets, (unsigned long long)m[idx].bytes);
	}
	return 0;
}

static int dump_counters(struct weir_datapath *dp)
{
	__u64 counters[WEIR_CNT_MAX];
	__u32 idx;
	int err;

	err = weir_datapath_read_counters(dp, counters);
	if (err)
		return err;
	for (idx = 0; idx < WEIR_CNT_MAX; idx++)
		printf("{\"type\":\"counter\",\"name\":\"%s\",\"value\":%llu}\n",
		       weir_counter_name(idx), (unsigned long long)counters[idx]);
	return 0;
}

static int dump_all(struct weir_datapath *dp)
{
	struct weir_bpf *skel = weir_datapath_skel(dp);
	int ncpus, err;

	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0) {
		log_err("count possible CPUs: %s", strerror(-ncpus));
		return ncpus;
	}
	err = dump_flows(skel, ncpus);
	if (!err)
		err = dump_metrics(dp);
	if (!err)
		err = dump_counters(dp);
	if (fflush(stdout) || ferror(stdout)) {
		log_err("write stdout: %s", strerror(errno));
		if (!err)
			err = -EIO;
	}
	return err;
}

/* SIGTERM and SIGINT stay blocked except inside sigsuspend(), so a signal
 * that arrives before we wait is not lost.
 */
static int signals_setup(sigset_t *waitmask)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, waitmask))
		return -errno;
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return -errno;
	return 0;
}

static int run(const struct harness_opts *o)
{
	struct weir_datapath *dp = NULL;
	sigset_t waitmask;
	int err;

	err = signals_setup(&waitmask);
	if (err) {
		log_err("set up signal handlers: %s", strerror(-err));
		return err;
	}
	err = weir_datapath_load(&dp, NULL);
	if (err)
		return err;
	if (o->xdp) {
		err = weir_datapath_attach_xdp(dp, o->ifname, o->xdp_mode);
		if (err)
			goto out;
		log_info("xdp attached ifname=%s mode=%s", o->ifname,
			 weir_datapath_xdp_mode(dp, o->ifname));
	}
	if (o->tc) {
		err = weir_datapath_attach_tc(dp, o->ifname);
		if (err)
			goto out;
	}
	printf("ready\n");
	if (fflush(stdout)) {
		err = -errno;
		log_err("write stdout: %s", strerror(-err));
		goto out;
	}

	while (!stop_signal)
		sigsuspend(&waitmask);
	log_info("stopping signal=%s", strsignal(stop_signal));

	/* Detach before reading the maps, so the dump is one consistent snapshot. */
	weir_datapath_detach(dp, o->ifname);
	err = dump_all(dp);
out:
	weir_datapath_destroy(dp);
	return err;
}

int main(int argc, char **argv)
{
	struct harness_opts o = {};
	int err;

	weir_log_libbpf();
	err = parse_args(argc, argv, &o);
	if (err)
		return err > 0 ? 0 : 1;
	err = run(&o);
	if (err) {
		log_err("dp_harness ifname=%s: %s", o.ifname, strerror(-err));
		return 1;
	}
	return 0;
}
