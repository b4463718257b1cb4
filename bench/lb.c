// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/lb: ns per packet of the load balancer's XDP paths under
 * BPF_PROG_TEST_RUN, as ratios to a bare XDP_DROP floor and to the
 * datapath built without the load balancer, all measured in one run.
 *
 * The load balancer rewrites the packet, so every case runs one call per
 * packet (repeat=1: the kernel copies data_in afresh for each call) and its
 * figure is the median of the kernel's per-call times (run.duration) over
 * the round's calls; the floor is timed the same way. Cases run interleaved
 * in chunks, the order rotating per round; each figure is the median over
 * ROUNDS rounds of per-round ratios. Targets print PASS or MISS and never
 * change the exit status; a wrong verdict, a wrong rewrite or miscounted
 * flows do (the figures would mean nothing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include <weir/lb.h>
#include "weir.skel.h"
#include "bench/baseline.skel.h"
#include "bench/weir_nolb.skel.h"
#include "bench/lb_bounds.skel.h"
#include "datapath.h"
#include "common.h"
#include "log.h"
#include "datapath/pkt.h"

#define ROUNDS	      5
#define CALLS_DEFAULT 5000   /* calls per case and round */
#define TABLE_ENTRIES 262144 /* flow, conntrack and reverse-NAT tables */
#define CALLS_MAX     (TABLE_ENTRIES / 4 / ROUNDS)
#define CHUNK_CALLS   250 /* cases interleave in chunks this long */
#define FRAME_BYTES   64
#define SVC_ID	      1
#define N_BACKENDS    3

#define TARGET_HIT_X_FLOOR    2.5 /* conntrack hit / floor, at most */
#define TARGET_NEW_X_FLOOR    8.0 /* new flow / floor, at most */
#define TARGET_NONVIP_X_PLAIN 1.5 /* non-VIP pass / plain accounting, at most */

#define VIP	"10.96.0.10"
#define CLIENT	"10.0.0.1"
#define NON_VIP "10.0.0.2"

enum {
	C_FLOOR,
	C_BOUND_HIT,
	C_BOUND_DNAT,
	C_PLAIN,
	C_NONVIP,
	C_HIT,
	C_BOUND_NEW,
	C_PLAIN_NEW,
	C_NEW,
	C_MAX
};

struct bcase {
	const char *name;
	int prog_fd;
	__u32 retval;	   /* expected verdict, checked on every call */
	bool new_tuple;	   /* a new client port (and address) every call */
	struct pkt pkt;	   /* sent as is, or rewritten per call */
	__u32 seq;	   /* new_tuple: the next one */
	__u32 *samples;	   /* this round's per-call ns */
	double ns[ROUNDS]; /* per-round median */
};

struct bench {
	__u32 calls;
	int cpu;
	struct baseline_bpf *base;
	struct weir_nolb_bpf *nolb;
	struct lb_bounds_bpf *bounds;
	struct weir_datapath *dp;
	struct bcase c[C_MAX];
};

static void frame(struct pkt *p, const char *daddr)
{
	struct pkt_spec s = {
		.family = 4,
		.proto = IPPROTO_TCP,
		.saddr = CLIENT,
		.daddr = daddr,
		.sport = 40000,
		.dport = 80,
		.tcp_flags = WEIR_TCP_ACK,
	};

	pkt_build(&s, p);
	s.payload_bytes = FRAME_BYTES - p->len;
	pkt_build(&s, p);
	pkt_l4_csum_fill(p, 4, IPPROTO_TCP);
}

/* A new client port per call, and every 2^16 calls a new client address
 * (bit 15 set: never the hit flows' 10.0.0.1). Checksums are left stale:
 * the datapath updates them incrementally and never verifies them.
 */
static void next_tuple(struct bcase *c)
{
	__be16 sport = htons(c->seq & 0xffff), lo = htons(0x8000 | c->seq >> 16);

	memcpy(c->pkt.buf + c->pkt.l4_off, &sport, sizeof(sport));
	memcpy(c->pkt.buf + c->pkt.l3_off + 14, &lo, sizeof(lo));
	c->seq++;
}

static int run_calls(struct bcase *c, __u32 n, __u32 *out)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = c->pkt.buf,
			    .data_size_in = c->pkt.len, .repeat = 1);
		int err;

		if (c->new_tuple)
			next_tuple(c);
		err = bpf_prog_test_run_opts(c->prog_fd, &run);
		if (err) {
			log_err("test run case=\"%s\": %s", c->name, strerror(-err));
			return err;
		}
		if (run.retval != c->retval) {
			log_err("test run case=\"%s\" retval=%u want=%u", c->name, run.retval,
				c->retval);
			return -EPROTO;
		}
		out[i] = run.duration;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static double median_u32(__u32 *v, __u32 n)
{
	__u32 h = n / 2;

	qsort(v, n, sizeof(*v), cmp_u32);
	return n % 2 ? (double)v[h] : ((double)v[h - 1] + (double)v[h]) / 2;
}

static int measure(struct bench *b)
{
	__u32 done, k;
	int r, i, err;

	for (r = 0; r < ROUNDS; r++) {
		for (done = 0; done < b->calls; done += k) {
			k = b->calls - done < CHUNK_CALLS ? b->calls - done : CHUNK_CALLS;
			for (i = 0; i < C_MAX; i++) {
				struct bcase *c = &b->c[(i + r) % C_MAX];

				err = run_calls(c, k, c->samples + done);
				if (err)
					return err;
			}
		}
		for (i = 0; i < C_MAX; i++)
			b->c[i].ns[r] = median_u32(b->c[i].samples, b->calls);
	}
	return 0;
}

/* One TCP service on VIP:80 with N_BACKENDS backends and a full-size
 * Maglev table, installed the way the agent does (include/weir/lb.h).
 */
static int lb_setup(struct weir_datapath *dp)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = WEIR_LB_MAGLEV_INNER_FLAGS);
	struct weir_lb_svc svc = { .id = SVC_ID, .n_backends_usable = N_BACKENDS };
	struct weir_lb_svc_key k = { .port = htons(80), .proto = IPPROTO_TCP, .family = 4 };
	__u32 m = WEIR_LB_MAGLEV_M_DEFAULT, slot, id, svc_id = SVC_ID;
	int fd = -1, err = 0;

	for (id = 1; id <= N_BACKENDS; id++) {
		struct weir_lb_backend be = { .port = htons(8080), .family = 4, .weight = 1 };

		be.addr[0] = htonl(0x0a010000 | id);
		if (bpf_map_update_elem(weir_datapath_map_fd(dp, WEIR_MAP_LB_BACKENDS), &id, &be,
					BPF_ANY))
			goto err_errno;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "weir_lb_mg_in", sizeof(__u32), sizeof(__u32),
			    WEIR_LB_MAGLEV_SLOTS(m), &o);
	if (fd < 0)
		goto err_errno;
	slot = 0;
	if (bpf_map_update_elem(fd, &slot, &m, BPF_ANY))
		goto err_errno;
	for (slot = 1; slot <= m; slot++) {
		id = 1 + slot % N_BACKENDS;
		if (bpf_map_update_elem(fd, &slot, &id, BPF_ANY))
			goto err_errno;
	}
	if (bpf_map_update_elem(weir_datapath_map_fd(dp, WEIR_MAP_LB_MAGLEV), &svc_id, &fd,
				BPF_ANY))
		goto err_errno;
	inet_pton(AF_INET, VIP, k.addr);
	if (bpf_map_update_elem(weir_datapath_map_fd(dp, WEIR_MAP_LB_SERVICES), &k, &svc, BPF_ANY))
		goto err_errno;
	goto out;

err_errno:
	err = -errno;
	log_err("set up the load balancer's maps: %s", strerror(-err));
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/* The lower bounds' conntrack, as large as the real one, holding the hit
 * case's flow (CLIENT:40000 -> VIP:80, as frame() builds it).
 */
static int bounds_load(struct bench *b)
{
	struct weir_lb_ct_value ct = { .backend_id = 1, .svc_id = SVC_ID };
	struct weir_lb_tuple t = {
		.sport = htons(40000), .dport = htons(80), .proto = IPPROTO_TCP, .family = 4
	};
	int err;

	b->bounds = lb_bounds_bpf__open();
	if (!b->bounds)
		return -errno;
	err = bpf_map__set_max_entries(b->bounds->maps.bench_lb_ct, TABLE_ENTRIES);
	err = err ?: lb_bounds_bpf__load(b->bounds);
	if (err) {
		log_err("load the lower-bound programs: %s", strerror(-err));
		return err;
	}
	inet_pton(AF_INET, CLIENT, t.saddr);
	inet_pton(AF_INET, VIP, t.daddr);
	if (bpf_map_update_elem(bpf_map__fd(b->bounds->maps.bench_lb_ct), &t, &ct, BPF_ANY)) {
		err = -errno;
		log_err("write the lower bound's conntrack entry: %s", strerror(-err));
		return err;
	}
	return 0;
}

static void case_set(struct bcase *c, const char *name, struct bpf_program *prog, __u32 retval,
		     bool new_tuple, const char *daddr)
{
	c->name = name;
	c->prog_fd = bpf_program__fd(prog);
	c->retval = retval;
	c->new_tuple = new_tuple;
	frame(&c->pkt, daddr);
}

static int load(struct bench *b)
{
	/* Tables with room: the new flows of a run fill at most a quarter. */
	struct weir_datapath_opts o = { .flows_max = TABLE_ENTRIES, .lb_ct_max = TABLE_ENTRIES };
	struct weir_bpf *skel;
	int err;

	b->base = baseline_bpf__open_and_load();
	if (!b->base) {
		log_err("load baseline programs: %s", strerror(errno));
		return -errno;
	}
	b->nolb = weir_nolb_bpf__open();
	if (!b->nolb)
		return -errno;
	err = bpf_map__set_max_entries(b->nolb->maps.weir_flows, o.flows_max);
	if (err)
		return err;
	err = weir_nolb_bpf__load(b->nolb);
	if (err) {
		log_err("load the datapath without the load balancer: %s", strerror(-err));
		return err;
	}
	err = bounds_load(b);
	if (err)
		return err;
	err = weir_datapath_load(&b->dp, &o);
	if (err)
		return err;
	skel = weir_datapath_skel(b->dp);
	err = lb_setup(b->dp);
	if (err)
		return err;

	case_set(&b->c[C_FLOOR], "bare XDP_DROP (floor)", b->base->progs.bench_xdp_drop, XDP_DROP,
		 false, NON_VIP);
	case_set(&b->c[C_PLAIN], "plain accounting, flow hit (no LB built in)",
		 b->nolb->progs.weir_xdp_ingress, XDP_PASS, false, NON_VIP);
	case_set(&b->c[C_NONVIP], "non-VIP packet through the LB stage, flow hit",
		 skel->progs.weir_xdp_ingress, XDP_PASS, false, NON_VIP);
	case_set(&b->c[C_HIT], "VIP packet, conntrack hit", skel->progs.weir_xdp_ingress, XDP_PASS,
		 false, VIP);
	case_set(&b->c[C_PLAIN_NEW], "plain accounting, new flow (no LB built in)",
		 b->nolb->progs.weir_xdp_ingress, XDP_PASS, true, NON_VIP);
	case_set(&b->c[C_NEW], "VIP packet, new flow (Maglev + conntrack insert)",
		 skel->progs.weir_xdp_ingress, XDP_PASS, true, VIP);
	case_set(&b->c[C_BOUND_HIT], "lower bound: parse + one conntrack lookup (hit)",
		 b->bounds->progs.bench_lb_parse_ct_hit, XDP_PASS, false, VIP);
	case_set(&b->c[C_BOUND_DNAT], "lower bound: parse + conntrack hit + DNAT rewrite",
		 b->bounds->progs.bench_lb_parse_ct_hit_dnat, XDP_PASS, false, VIP);
	case_set(&b->c[C_BOUND_NEW], "lower bound: parse + one conntrack insert",
		 b->bounds->progs.bench_lb_parse_ct_new, XDP_PASS, true, VIP);
	return 0;
}

/* The hit case really is DNATed, to a backend, with valid checksums. */
static int check_rewrite(struct bench *b)
{
	struct bcase *c = &b->c[C_HIT];
	struct pkt out = c->pkt;
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = c->pkt.buf, .data_size_in = c->pkt.len,
		    .data_out = out.buf, .data_size_out = sizeof(out.buf), .repeat = 1);
	__be32 daddr;

	if (bpf_prog_test_run_opts(c->prog_fd, &run))
		return -errno;
	memcpy(&daddr, out.buf + out.l3_off + 16, sizeof(daddr));
	if (run.retval != XDP_PASS || (ntohl(daddr) & 0xffffff00) != 0x0a010000 ||
	    !pkt_csums_ok(&out, 4, IPPROTO_TCP)) {
		log_err("the VIP packet was not DNATed to a backend with valid checksums");
		return -EPROTO;
	}
	return 0;
}

/* Every new-flow call made a conntrack entry; every VIP call was counted. */
static int check_counts(struct bench *b)
{
	/* both VIP cases' warm-up calls made a flow; the hit case ran once more (the check) */
	__u64 s[4], want_new = (__u64)ROUNDS * b->calls + 2;
	__u64 want_pkts = 2 * (__u64)ROUNDS * b->calls + 3;

	if (weir_percpu_sum(weir_datapath_map_fd(b->dp, WEIR_MAP_LB_SVC_STATS), SVC_ID, s, 4))
		return -EIO;
	if (s[0] != want_new || s[1] != want_pkts) {
		log_err("service stats new_flows=%llu packets=%llu, want %llu and %llu",
			(unsigned long long)s[0], (unsigned long long)s[1],
			(unsigned long long)want_new, (unsigned long long)want_pkts);
		return -EPROTO;
	}
	return 0;
}

static double med_ratio(const struct bcase *a, const struct bcase *base)
{
	double r[ROUNDS];
	int i;

	for (i = 0; i < ROUNDS; i++)
		r[i] = a->ns[i] / base->ns[i];
	return bench_median(r, ROUNDS);
}

static double med_diff(const struct bcase *a, const struct bcase *base)
{
	double r[ROUNDS];
	int i;

	for (i = 0; i < ROUNDS; i++)
		r[i] = a->ns[i] - base->ns[i];
	return bench_median(r, ROUNDS);
}

static void report(struct bench *b)
{
	const struct bcase *floor = &b->c[C_FLOOR];
	double hit = med_ratio(&b->c[C_HIT], floor), nw = med_ratio(&b->c[C_NEW], floor);
	double nonvip = med_ratio(&b->c[C_NONVIP], &b->c[C_PLAIN]);
	double bound_hit = med_ratio(&b->c[C_BOUND_HIT], floor);
	double bound_dnat = med_ratio(&b->c[C_BOUND_DNAT], floor);
	double bound_new = med_ratio(&b->c[C_BOUND_NEW], floor);
	int i;

	printf("bench/lb: one call per packet (repeat=1), 64-byte TCP/IPv4, %d rounds x %u calls, "
	       "cpu %d\n\n",
	       ROUNDS, b->calls, b->cpu);
	printf("| path | median ns | min round | x floor |\n|---|---|---|---|\n");
	for (i = 0; i < C_MAX; i++)
		printf("| %s | %.0f | %.0f | %.2f |\n", b->c[i].name,
		       bench_median(b->c[i].ns, ROUNDS), bench_min(b->c[i].ns, ROUNDS),
		       med_ratio(&b->c[i], floor));
	printf("\nthe load balancer's own share: conntrack hit +%.0f ns over the plain flow hit, "
	       "new flow +%.0f ns over the plain new flow, non-VIP +%.0f ns\n",
	       med_diff(&b->c[C_HIT], &b->c[C_PLAIN]), med_diff(&b->c[C_NEW], &b->c[C_PLAIN_NEW]),
	       med_diff(&b->c[C_NONVIP], &b->c[C_PLAIN]));
	printf("\ntargets:\n");
	printf("  conntrack hit <= %.1fx floor: %.2fx %s\n", TARGET_HIT_X_FLOOR, hit,
	       bench_verdict(hit <= TARGET_HIT_X_FLOOR));
	printf("  new flow <= %.1fx floor: %.2fx %s\n", TARGET_NEW_X_FLOOR, nw,
	       bench_verdict(nw <= TARGET_NEW_X_FLOOR));
	printf("  non-VIP pass <= %.1fx plain accounting: %.2fx %s\n", TARGET_NONVIP_X_PLAIN,
	       nonvip, bench_verdict(nonvip <= TARGET_NONVIP_X_PLAIN));
	printf("\nlower bounds (parse + one conntrack access, nothing else; any load balancer "
	       "costs more):\n");
	printf("  conntrack hit: %.2fx floor, %.0f%% of the %.1fx target\n", bound_hit,
	       100 * bound_hit / TARGET_HIT_X_FLOOR, TARGET_HIT_X_FLOOR);
	printf("  conntrack hit + DNAT rewrite: %.2fx floor, %.0f%% of the %.1fx target\n",
	       bound_dnat, 100 * bound_dnat / TARGET_HIT_X_FLOOR, TARGET_HIT_X_FLOOR);
	printf("  new flow: %.2fx floor, %.0f%% of the %.1fx target\n", bound_new,
	       100 * bound_new / TARGET_NEW_X_FLOOR, TARGET_NEW_X_FLOOR);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n calls] [-c cpu] [-v]\n"
		"  -n  calls per case and round (default %d)\n"
		"  -c  CPU to pin to, -1 for none (default: the last one allowed)\n"
		"  -v  debug logging, libbpf and verifier output included\n",
		prog, CALLS_DEFAULT);
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	long long v;
	int c, i, err = 0;

	if (!b)
		return 1;
	b->calls = CALLS_DEFAULT;
	b->cpu = -2;
	while ((c = getopt(argc, argv, "n:c:vh")) != -1) {
		switch (c) {
		case 'n':
			err = bench_parse_num(optarg, 1, CALLS_MAX, &v);
			b->calls = v;
			break;
		case 'c':
			err = bench_parse_num(optarg, -1, CPU_SETSIZE - 1, &v);
			b->cpu = v;
			break;
		case 'v':
			weir_log_set_level(WEIR_LOG_DEBUG);
			break;
		default:
			err = -EINVAL;
		}
		if (err) {
			usage(argv[0]);
			free(b);
			return 2;
		}
	}
	weir_log_libbpf();
	if (geteuid()) {
		log_err("bench needs root (BPF_PROG_TEST_RUN)");
		err = -EPERM;
		goto out;
	}
	b->cpu = bench_pin_cpu(b->cpu);
	err = load(b);
	for (i = 0; !err && i < C_MAX; i++) {
		b->c[i].samples = calloc(b->calls, sizeof(*b->c[i].samples));
		if (!b->c[i].samples)
			err = -ENOMEM;
	}
	/* warm-up: one call each (inserts the hit flows and the hit's entry) */
	for (i = 0; !err && i < C_MAX; i++)
		err = run_calls(&b->c[i], 1, b->c[i].samples);
	err = err ?: check_rewrite(b);
	err = err ?: measure(b);
	err = err ?: check_counts(b);
	if (!err)
		report(b);
out:
	for (i = 0; i < C_MAX; i++)
		free(b->c[i].samples);
	weir_datapath_destroy(b->dp);
	weir_nolb_bpf__destroy(b->nolb);
	lb_bounds_bpf__destroy(b->bounds);
	baseline_bpf__destroy(b->base);
	free(b);
	return err ? 1 : 0;
}
