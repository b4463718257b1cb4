// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/prefilter: ns per packet of the XDP prefilter under BPF_PROG_TEST_RUN
 * (repeat mode: one packet, run repeat times), side by side in one run with
 * xdp-filter's source-address deny path on the same packets:
 *   - the drop path: a source on the deny list, with lists of 1, 1k and 1M
 *     single addresses (the exact-match hash) and of 1, 1k and 16k prefixes
 *     (the LPM trie), per family;
 *   - the miss path: a source on no list, which goes on through the whole of
 *     weir_xdp_ingress (parse, flow hit), against the same program built
 *     without the prefilter (WEIR_NO_PREFILTER): the difference is what the
 *     prefilter costs passing traffic;
 *   - the floor: a bare XDP_DROP;
 *   - one call per packet, each from a random address of the list (what the
 *     one-packet rows cannot show: cache and TLB misses in a big table).
 * The lists are written through the agent's own code (agent/prefilter.c),
 * whose install time is reported too. Rounds interleave every case, their
 * order rotating; figures are min and median over rounds, ratios per round.
 * Targets print PASS or MISS and never fail the run; a wrong verdict or a
 * miscounted drop does.
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
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include <weir/prefilter.h>
#include "weir.skel.h"
#include "bench/baseline.skel.h"
#include "bench/weir_nopf.skel.h"
#include "datapath.h"
#include "common.h"
#include "log.h"
#include "prefilter.h"
#include "datapath/pkt.h"

#define ROUNDS	       5
#define REPEAT_DEFAULT 1000000
#define SLICES	       4
#define FRAME_BYTES    64
#define BIG	       1000000u /* the 1M list: addresses per family */
#define CALLS	       20000u	/* one-call mode: calls per case, frame and round */
#define CHUNK_CALLS    500u	/* one-call cases interleave in chunks this long */
#define XDPF_RULES     1000u	/* xdp-filter's bigger rule set */

#define TARGET_VS_XDPF 0.8  /* Weir drop / xdp-filter deny, at most */
#define TARGET_FLAT    0.15 /* |1M / 1 - 1|, at most */

/* xdp-filter's map flags (xdp-tools, xdp-filter/common_kern_user.h). */
#define XDPF_FLAG_SRC (1 << 0)
#define XDPF_FLAG_DST (1 << 1)

enum { F_TCP4, F_UDP6, F_MAX };
static const char *const frame_names[F_MAX] = { "TCP/IPv4", "UDP/IPv6" };

enum list_kind { EXACT, PREFIX };

/* One loaded datapath with one deny list. */
struct inst {
	const char *name;
	enum list_kind kind;
	__u32 n; /* entries per family */
	struct weir_datapath *dp;
	struct weir_prefilter *pf;
	int prog_fd, metrics_fd;
	double install_s;
	__u64 calls; /* one-call-mode drops, counted on top of repeat mode's */
	struct pkt drop[F_MAX], miss[F_MAX];
};

struct bcase {
	const char *name;
	int prog_fd;
	__u32 retval;
	const struct pkt *pkt[F_MAX];
	double ns[F_MAX][ROUNDS];
	/* one-call mode: a random entry of an EXACT list of rnd_n per call (0:
	 * the packet as it is); the instance whose drops it adds to
	 */
	__u32 rnd_n;
	struct inst *in;
	__u64 rng;
};

struct opts {
	__u32 repeat;
	int cpu;
	const char *xdp_filter_obj;
};

static int ncpus;

/* ---- addresses and packets ---- */

/* Entry k of a list, v4 or v6, as text; with host set, an address inside it. */
static void entry_addr(enum list_kind kind, int family, __u32 k, bool host, char *buf, size_t len)
{
	__u8 a[16] = { 0 };

	if (family == 4) {
		__u32 v =
			kind == EXACT ? 0xac100000u + k : (0xac100000u + (k << 8)) | (host ? 9 : 0);

		v = htonl(v);
		memcpy(a, &v, 4);
		inet_ntop(AF_INET, a, buf, len);
		return;
	}
	a[0] = 0xfd;
	if (kind == EXACT) { /* fd00:1::k */
		a[3] = 1;
		a[12] = k >> 24;
		a[13] = k >> 16;
		a[14] = k >> 8;
		a[15] = k;
	} else { /* fd00:2:0:k::/64 */
		a[3] = 2;
		a[6] = k >> 8;
		a[7] = k;
		a[15] = host ? 9 : 0;
	}
	inet_ntop(AF_INET6, a, buf, len);
}

static void frame_build(int f, const char *saddr, struct pkt *p)
{
	struct pkt_spec s = {
		.family = f == F_TCP4 ? 4 : 6,
		.proto = f == F_TCP4 ? IPPROTO_TCP : IPPROTO_UDP,
		.saddr = saddr,
		.daddr = f == F_TCP4 ? "10.0.0.2" : "fd00::2",
		.sport = 40000,
		.dport = f == F_TCP4 ? 80 : 53,
		.tcp_flags = f == F_TCP4 ? WEIR_TCP_ACK : 0,
	};

	pkt_build(&s, p);
	s.payload_bytes = FRAME_BYTES - p->len; /* both frames the same size */
	pkt_build(&s, p);
}

/* ---- instances ---- */

static int list_of(const struct inst *in, struct weir_pf_list *l)
{
	char buf[INET6_ADDRSTRLEN + 8], why[128];
	struct weir_pf_cidr c;
	int family, err;
	__u32 k;

	for (family = 4; family <= 6; family += 2)
		for (k = 0; k < in->n; k++) {
			size_t off;

			entry_addr(in->kind, family, k, false, buf, sizeof(buf));
			off = strlen(buf);
			if (in->kind == PREFIX)
				snprintf(buf + off, sizeof(buf) - off, "/%d",
					 family == 4 ? 24 : 64);
			err = weir_pf_cidr_parse(buf, &c, why, sizeof(why));
			err = err ?: weir_pf_list_add(l, &c);
			if (err) {
				log_err("list entry %s: %s", buf, why);
				return err;
			}
		}
	weir_pf_list_normalize(l);
	return 0;
}

static int inst_load(struct inst *in)
{
	struct weir_datapath_opts o = { .pf_exact_max =
						in->kind == EXACT && in->n > 65536 ? 1u << 20 : 0 };
	struct weir_pf_list l = { 0 };
	char err[256] = "", addr[INET6_ADDRSTRLEN];
	struct timespec t0, t1;
	struct weir_bpf *skel;
	int f, ret;

	ret = weir_datapath_load(&in->dp, &o);
	if (ret)
		return ret;
	skel = weir_datapath_skel(in->dp);
	in->prog_fd = bpf_program__fd(skel->progs.weir_xdp_ingress);
	in->metrics_fd = bpf_map__fd(skel->maps.weir_metrics);
	ret = weir_prefilter_open(&in->pf, skel);
	ret = ret ?: list_of(in, &l);
	if (ret)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = weir_prefilter_replace(in->pf, &l, -1, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret) {
		log_err("install list instance=%s: %s", in->name, err);
		goto out;
	}
	in->install_s = (bench_ts_ns(&t1) - bench_ts_ns(&t0)) / 1e9;
	for (f = 0; f < F_MAX; f++) {
		entry_addr(in->kind, f == F_TCP4 ? 4 : 6, in->n / 2, true, addr, sizeof(addr));
		frame_build(f, addr, &in->drop[f]);
		frame_build(f, f == F_TCP4 ? "10.0.0.1" : "fd00::1", &in->miss[f]);
	}
out:
	weir_pf_list_release(&l);
	return ret;
}

static void inst_destroy(struct inst *in)
{
	weir_prefilter_free(in->pf);
	weir_datapath_destroy(in->dp);
}

/* PREFILTER_DENIED packets the instance counted. */
static __u64 inst_drops(struct inst *in)
{
	__u64 sum[2] = { 0 };

	weir_percpu_sum(
		in->metrics_fd,
		weir_metrics_index(WEIR_REASON_PREFILTER_DENIED, WEIR_DIR_INGRESS, WEIR_HOOK_XDP),
		sum, 2);
	return sum[0];
}

/* ---- xdp-filter ---- */

static int xdpf_rule(int fd, const void *key)
{
	__u64 v[ncpus];
	int i;

	for (i = 0; i < ncpus; i++)
		v[i] = XDPF_FLAG_SRC;
	return bpf_map_update_elem(fd, key, v, BPF_ANY) ? -errno : 0;
}

/* xdp-filter's policy-allow program with n source-deny rules per family:
 * the entries of an EXACT list of n, as Weir's instance of that size has.
 */
static int xdpf_load(const char *path, __u32 n, struct bpf_object **objp, int *prog_fd)
{
	char addr[INET6_ADDRSTRLEN];
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_map *map;
	__u8 a6[16];
	__u32 a4, k;
	int fd4, fd6, err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		err = -errno;
		log_err("open xdp-filter object path=%s: %s", path, strerror(-err));
		return err;
	}
	bpf_object__for_each_map(map, obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			goto err_close;
	}
	prog = bpf_object__next_program(obj, NULL);
	err = prog ? bpf_object__load(obj) : -ENOENT;
	if (err) {
		log_err("load xdp-filter path=%s: %s", path, strerror(-err));
		goto err_close;
	}
	fd4 = bpf_object__find_map_fd_by_name(obj, "filter_ipv4");
	fd6 = bpf_object__find_map_fd_by_name(obj, "filter_ipv6");
	if (fd4 < 0 || fd6 < 0) {
		err = -ENOENT;
		log_err("xdp-filter path=%s has no address maps", path);
		goto err_close;
	}
	for (k = 0; k < n; k++) {
		entry_addr(EXACT, 4, k, true, addr, sizeof(addr));
		inet_pton(AF_INET, addr, &a4);
		entry_addr(EXACT, 6, k, true, addr, sizeof(addr));
		inet_pton(AF_INET6, addr, a6);
		err = xdpf_rule(fd4, &a4) ?: xdpf_rule(fd6, a6);
		if (err) {
			log_err("xdp-filter rule %u of %u: %s", k, n, strerror(-err));
			goto err_close;
		}
	}
	*objp = obj;
	*prog_fd = bpf_program__fd(prog);
	return 0;

err_close:
	bpf_object__close(obj);
	return err;
}

/* ---- measuring ---- */

static int run_repeat(struct bcase *c, int f, __u32 repeat, double *ns)
{
	const struct pkt *p = c->pkt[f];
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = p->buf, .data_size_in = p->len,
		    .repeat = repeat);
	int err;

	err = bpf_prog_test_run_opts(c->prog_fd, &run);
	if (err) {
		log_err("test run case=\"%s\": %s", c->name, strerror(-err));
		return err;
	}
	if (run.retval != c->retval) {
		log_err("test run case=\"%s\" frame=%s retval=%u want=%u", c->name, frame_names[f],
			run.retval, c->retval);
		return -EPROTO;
	}
	*ns = run.duration + 0.5; /* the kernel truncates to whole ns */
	return 0;
}

/* Every case in every round, in SLICES slices, order rotating. Returns the
 * runs each case made per frame (warm-up included).
 */
static int measure(struct bcase **cases, int n, __u32 repeat, __u64 *runs)
{
	__u32 slice = repeat / SLICES;
	int r, s, f, i, err;
	double ns;

	for (f = 0; f < F_MAX; f++)
		for (i = 0; i < n; i++) {
			err = run_repeat(cases[i], f, repeat / 10 + 1, &ns);
			if (err)
				return err;
		}
	for (r = 0; r < ROUNDS; r++) {
		for (f = 0; f < F_MAX; f++)
			for (i = 0; i < n; i++)
				cases[i]->ns[f][r] = 0;
		for (s = 0; s < SLICES; s++)
			for (f = 0; f < F_MAX; f++)
				for (i = 0; i < n; i++) {
					struct bcase *c = cases[(i + r + s) % n];

					err = run_repeat(c, f, slice, &ns);
					if (err)
						return err;
					c->ns[f][r] += ns / SLICES;
				}
	}
	*runs = repeat / 10 + 1 + (__u64)ROUNDS * SLICES * slice;
	return 0;
}

static __u32 rand_below(__u64 *state, __u32 n)
{
	__u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (x * 0x2545f4914f6cdd1dull >> 32) % n;
}

/* The source of p becomes entry k of an EXACT list (see entry_addr()). */
static void source_set(struct pkt *p, int f, __u32 k)
{
	__be32 v = htonl(f == F_TCP4 ? 0xac100000u + k : k);

	memcpy(p->buf + p->l3_off + (f == F_TCP4 ? 12 : 8 + 12), &v, sizeof(v));
}

/* n calls of repeat=1; the kernel's ns added to *sum_ns. */
static int run_calls(struct bcase *c, int f, __u32 n, double *sum_ns)
{
	struct pkt p = *c->pkt[f];
	__u32 i;
	int err;

	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = p.buf, .data_size_in = p.len,
			    .repeat = 1);

		if (c->rnd_n)
			source_set(&p, f, rand_below(&c->rng, c->rnd_n));
		err = bpf_prog_test_run_opts(c->prog_fd, &run);
		if (err || run.retval != c->retval) {
			log_err("test run case=\"%s\": %s retval=%u", c->name, strerror(-err),
				run.retval);
			return err ?: -EPROTO;
		}
		*sum_ns += run.duration;
	}
	if (c->in)
		c->in->calls += n;
	return 0;
}

/* Rounds of one call per packet, cases interleaved in chunks of CHUNK_CALLS. */
static int measure_calls(struct bcase **cases, int n)
{
	__u32 done, k;
	int r, f, i, err;

	for (r = 0; r < ROUNDS; r++)
		for (f = 0; f < F_MAX; f++) {
			double sum[8] = { 0 };

			if (n > 8)
				return -EINVAL;
			for (done = 0; done < CALLS; done += k) {
				k = CALLS - done < CHUNK_CALLS ? CALLS - done : CHUNK_CALLS;
				for (i = 0; i < n; i++) {
					int j = (i + r) % n;

					err = run_calls(cases[j], f, k, &sum[j]);
					if (err)
						return err;
				}
			}
			for (i = 0; i < n; i++)
				cases[i]->ns[f][r] = sum[i] / CALLS;
		}
	return 0;
}

static void paired(const double *a, const double *b, double *out)
{
	int r;

	for (r = 0; r < ROUNDS; r++)
		out[r] = a[r] / b[r];
}

static void print_row(const struct bcase *c, const struct bcase *floor)
{
	double q[ROUNDS];
	int f;

	printf("%-46s", c->name);
	for (f = 0; f < F_MAX; f++) {
		paired(c->ns[f], floor->ns[f], q);
		printf("  %6.1f %6.1f %6.2fx", bench_min(c->ns[f], ROUNDS),
		       bench_median(c->ns[f], ROUNDS), bench_median(q, ROUNDS));
	}
	printf("\n");
}

static bool target(const char *what, const struct bcase *x, const struct bcase *y, double lo,
		   double hi)
{
	double q[ROUNDS], m;
	bool all = true;
	int f;

	printf("  %-56s", what);
	for (f = 0; f < F_MAX; f++) {
		paired(x->ns[f], y->ns[f], q);
		m = bench_median(q, ROUNDS);
		printf("  %s %5.2fx", frame_names[f], m);
		if (lo <= hi) {
			printf(" %s", bench_verdict(m >= lo && m <= hi));
			all &= m >= lo && m <= hi;
		}
	}
	printf("\n");
	return all;
}

/* ---- main ---- */

enum { EX1, EX1K, EX1M, PF1, PF1K, PF16K, N_INST };

struct bench {
	struct opts o;
	int cpu;
	struct inst in[N_INST];
	struct baseline_bpf *base;
	struct weir_nopf_bpf *nopf;
	struct bpf_object *xdpf_obj[2];
	struct bcase floor, drop[N_INST], miss[N_INST], nopf_c, xdpf_c[2];
	/* one call per packet, a random address of the list each */
	struct bcase floor1, rnd_1k, rnd_1m, rnd_xdpf;
	struct pkt floor_pkt[F_MAX];
};

static const char *const drop_names[N_INST] = {
	"drop, 1 address per family",	      "drop, 1k addresses per family",
	"drop, 1M addresses per family",      "drop, 1 prefix per family (LPM)",
	"drop, 1k prefixes per family (LPM)", "drop, 16k prefixes per family (LPM)",
};
static const char *const miss_names[N_INST] = {
	"miss + full path, 1 address",	       "miss + full path, 1k addresses",
	"miss + full path, 1M addresses",      "miss + full path, 1 prefix (LPM)",
	"miss + full path, 1k prefixes (LPM)", "miss + full path, 16k prefixes (LPM)",
};

static int bench_load(struct bench *b)
{
	static const struct {
		const char *name;
		enum list_kind kind;
		__u32 n;
	} spec[N_INST] = {
		{ "exact-1", EXACT, 1 },       { "exact-1k", EXACT, 1000 },
		{ "exact-1M", EXACT, BIG },    { "prefix-1", PREFIX, 1 },
		{ "prefix-1k", PREFIX, 1000 }, { "prefix-16k", PREFIX, WEIR_PF_LPM_MAX },
	};
	int i, f, err;

	for (i = 0; i < N_INST; i++) {
		b->in[i] =
			(struct inst){ .name = spec[i].name, .kind = spec[i].kind, .n = spec[i].n };
		err = inst_load(&b->in[i]);
		if (err)
			return err;
		b->drop[i] = (struct bcase){ .name = drop_names[i],
					     .prog_fd = b->in[i].prog_fd,
					     .retval = XDP_DROP };
		b->miss[i] = (struct bcase){ .name = miss_names[i],
					     .prog_fd = b->in[i].prog_fd,
					     .retval = XDP_PASS };
		for (f = 0; f < F_MAX; f++) {
			b->drop[i].pkt[f] = &b->in[i].drop[f];
			b->miss[i].pkt[f] = &b->in[i].miss[f];
		}
	}
	b->base = baseline_bpf__open_and_load();
	b->nopf = weir_nopf_bpf__open_and_load();
	if (!b->base || !b->nopf) {
		log_err("load baseline programs: %s", strerror(errno));
		return -errno;
	}
	b->floor = (struct bcase){ .name = "bare XDP_DROP (floor)",
				   .prog_fd = bpf_program__fd(b->base->progs.bench_xdp_drop),
				   .retval = XDP_DROP };
	b->nopf_c = (struct bcase){ .name = "full path without the prefilter",
				    .prog_fd = bpf_program__fd(b->nopf->progs.weir_xdp_ingress),
				    .retval = XDP_PASS };
	for (f = 0; f < F_MAX; f++) {
		b->floor.pkt[f] = &b->in[EX1].drop[f];
		b->nopf_c.pkt[f] = &b->in[EX1].miss[f];
	}
	b->floor1 = b->floor;
	b->floor1.name = "bare XDP_DROP (floor, one call)";
	b->rnd_1k = b->drop[EX1K];
	b->rnd_1k.name = "drop, random one of 1k addresses";
	b->rnd_1k.rnd_n = b->in[EX1K].n;
	b->rnd_1k.in = &b->in[EX1K];
	b->rnd_1m = b->drop[EX1M];
	b->rnd_1m.name = "drop, random one of 1M addresses";
	b->rnd_1m.rnd_n = b->in[EX1M].n;
	b->rnd_1m.in = &b->in[EX1M];
	b->rnd_1k.rng = b->rnd_1m.rng = 0x9e3779b97f4a7c15ull;
	if (b->o.xdp_filter_obj) {
		static const char *const names[2] = {
			"xdp-filter source deny, 1 rule per family",
			"xdp-filter source deny, 1k rules per family"
		};
		static const __u32 rules[2] = { 1, XDPF_RULES };
		static const int same[2] = { EX1, EX1K }; /* the same packets */

		for (i = 0; i < 2; i++) {
			int fd = -1;

			err = xdpf_load(b->o.xdp_filter_obj, rules[i], &b->xdpf_obj[i], &fd);
			if (err)
				return err;
			b->xdpf_c[i] = (struct bcase){ .name = names[i],
						       .prog_fd = fd,
						       .retval = XDP_DROP };
			for (f = 0; f < F_MAX; f++)
				b->xdpf_c[i].pkt[f] = &b->in[same[i]].drop[f];
		}
		b->rnd_xdpf = b->xdpf_c[1];
		b->rnd_xdpf.name = "xdp-filter deny, random one of 1k rules";
		b->rnd_xdpf.rnd_n = XDPF_RULES;
		b->rnd_xdpf.rng = b->rnd_1k.rng;
	}
	return 0;
}

static void bench_destroy(struct bench *b)
{
	int i;

	for (i = 0; i < N_INST; i++)
		inst_destroy(&b->in[i]);
	for (i = 0; i < 2; i++)
		bpf_object__close(b->xdpf_obj[i]);
	weir_nopf_bpf__destroy(b->nopf);
	baseline_bpf__destroy(b->base);
}

static void report(struct bench *b, __u64 runs)
{
	struct utsname uts;
	int i, bad = 0;

	uname(&uts);
	printf("Weir prefilter benchmark: BPF_PROG_TEST_RUN repeat mode, %d-byte frames, kernel "
	       "%s, ",
	       FRAME_BYTES, uts.release);
	if (b->cpu >= 0)
		printf("pinned to cpu %d of %d possible\n", b->cpu, ncpus);
	else
		printf("unpinned, %d possible cpus\n", ncpus);
	printf("%d interleaved rounds of %u runs per case and frame; min and median ns/packet "
	       "over rounds, x = median ratio to the floor\n\n",
	       ROUNDS, b->o.repeat);
	printf("%-46s", "path");
	for (i = 0; i < F_MAX; i++)
		printf("  %-21s", frame_names[i]);
	printf("\n%-46s", "");
	for (i = 0; i < F_MAX; i++)
		printf("  %6s %6s %7s", "min", "med", "x");
	printf("\n");
	print_row(&b->floor, &b->floor);
	for (i = 0; i < N_INST; i++)
		print_row(&b->drop[i], &b->floor);
	for (i = 0; i < 2; i++)
		if (b->xdpf_obj[i])
			print_row(&b->xdpf_c[i], &b->floor);
	print_row(&b->nopf_c, &b->floor);
	for (i = 0; i < N_INST; i++)
		print_row(&b->miss[i], &b->floor);
	if (!b->xdpf_obj[0])
		printf("xdp-filter: skipped (no object, -x)\n");
	printf("\nOne call per packet (repeat=1), %u calls per case, frame and round, each from a "
	       "random address of the list\n",
	       CALLS);
	print_row(&b->floor1, &b->floor1);
	print_row(&b->rnd_1k, &b->floor1);
	print_row(&b->rnd_1m, &b->floor1);
	if (b->xdpf_obj[1])
		print_row(&b->rnd_xdpf, &b->floor1);

	printf("\nInstalling the list (agent/prefilter.c, both families, one atomic update)\n");
	for (i = 0; i < N_INST; i++)
		printf("  %-12s %8u entries  %8.3f s\n", b->in[i].name, 2 * b->in[i].n,
		       b->in[i].install_s);

	printf("\nTargets (median of per-round ratios; MISS never fails the run)\n");
	if (b->xdpf_obj[0]) {
		target("drop, 1 address / xdp-filter deny (1 rule) <= 0.8x", &b->drop[EX1],
		       &b->xdpf_c[0], 0, TARGET_VS_XDPF);
		target("drop, 1k addresses / xdp-filter deny (1k rules) <= 0.8x", &b->drop[EX1K],
		       &b->xdpf_c[1], 0, TARGET_VS_XDPF);
		target("drop, 1M addresses / xdp-filter deny (1 rule) <= 0.8x", &b->drop[EX1M],
		       &b->xdpf_c[0], 0, TARGET_VS_XDPF);
	} else {
		printf("  %-56s  SKIP: no xdp-filter object (-x)\n", "drop vs xdp-filter deny");
	}
	target("drop path flat: 1M / 1 address within 15%", &b->drop[EX1M], &b->drop[EX1],
	       1 - TARGET_FLAT, 1 + TARGET_FLAT);
	target("drop path flat: 1k / 1 address within 15%", &b->drop[EX1K], &b->drop[EX1],
	       1 - TARGET_FLAT, 1 + TARGET_FLAT);
	target("miss path flat: 1M / 1 address within 15%", &b->miss[EX1M], &b->miss[EX1],
	       1 - TARGET_FLAT, 1 + TARGET_FLAT);
	target("miss path flat: 1k / 1 address within 15%", &b->miss[EX1K], &b->miss[EX1],
	       1 - TARGET_FLAT, 1 + TARGET_FLAT);
	printf("Side by side (no target)\n");
	target("drop, 16k / 1 prefix (LPM)", &b->drop[PF16K], &b->drop[PF1], 1, 0);
	target("drop, random of 1M / random of 1k addresses (one call)", &b->rnd_1m, &b->rnd_1k, 1,
	       0);
	target("miss, 1M addresses / no prefilter", &b->miss[EX1M], &b->nopf_c, 1, 0);
	target("miss, 16k prefixes / no prefilter", &b->miss[PF16K], &b->nopf_c, 1, 0);

	printf("\nChecks\n");
	for (i = 0; i < N_INST; i++) {
		__u64 got = inst_drops(&b->in[i]) - b->in[i].calls;

		if (got != runs * F_MAX) {
			printf("  FAIL %s: %llu PREFILTER_DENIED drops counted, want %llu\n",
			       b->in[i].name, (unsigned long long)got,
			       (unsigned long long)runs * F_MAX);
			bad++;
		}
	}
	if (!bad)
		printf("  ok: every drop-path run counted as PREFILTER_DENIED, every miss passed\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	long long v = 0;
	int c, err = 0;

	o->repeat = REPEAT_DEFAULT;
	o->cpu = -2;
	while ((c = getopt(argc, argv, "r:c:x:vh")) != -1) {
		switch (c) {
		case 'r':
			err = bench_parse_num(optarg, SLICES, 1 << 30, &v);
			o->repeat = v;
			break;
		case 'c':
			err = bench_parse_num(optarg, -1, CPU_SETSIZE - 1, &v);
			o->cpu = v;
			break;
		case 'x':
			o->xdp_filter_obj = optarg;
			break;
		case 'v':
			weir_log_set_level(WEIR_LOG_DEBUG);
			break;
		default:
			err = -EINVAL;
		}
		if (err) {
			fprintf(stderr,
				"usage: %s [-r repeat] [-c cpu] [-x xdpfilt_alw_all.o] [-v]\n"
				"  -r  runs per case and frame and round (default %d)\n"
				"  -c  CPU to pin to, -1 for none (default: the last one allowed)\n"
				"  -x  xdp-filter BPF object (policy allow, deny rules) to compare\n",
				argv[0], REPEAT_DEFAULT);
			return err;
		}
	}
	return 0;
}

static __u64 checked_drops(struct bench *b)
{
	__u64 got = 0;
	int i;

	for (i = 0; i < N_INST; i++)
		got += inst_drops(&b->in[i]) - b->in[i].calls;
	return got;
}

int main(int argc, char **argv)
{
	struct bcase *cases[2 * N_INST + 4];
	struct timespec t0, t1;
	struct bench *b;
	__u64 runs = 0;
	int n = 0, i, err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	if (parse_opts(argc, argv, &b->o)) {
		free(b);
		return 2;
	}
	weir_log_set_level(WEIR_LOG_WARN);
	weir_log_libbpf();
	if (geteuid()) {
		log_err("bench needs root (BPF_PROG_TEST_RUN)");
		err = -EPERM;
		goto out;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		err = ncpus ? ncpus : -EINVAL;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b->cpu = bench_pin_cpu(b->o.cpu);
	err = bench_load(b);
	if (err)
		goto out;
	cases[n++] = &b->floor;
	for (i = 0; i < N_INST; i++) {
		cases[n++] = &b->drop[i];
		cases[n++] = &b->miss[i];
	}
	cases[n++] = &b->nopf_c;
	for (i = 0; i < 2; i++)
		if (b->xdpf_obj[i])
			cases[n++] = &b->xdpf_c[i];
	err = measure(cases, n, b->o.repeat, &runs);
	if (err)
		goto out;
	n = 0;
	cases[n++] = &b->floor1;
	cases[n++] = &b->rnd_1k;
	cases[n++] = &b->rnd_1m;
	if (b->xdpf_obj[1])
		cases[n++] = &b->rnd_xdpf;
	err = measure_calls(cases, n);
	if (err)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	report(b, runs);
	if (checked_drops(b) != runs * F_MAX * N_INST)
		err = -EPROTO;
	printf("\nbench/prefilter: %.1f s\n", (bench_ts_ns(&t1) - bench_ts_ns(&t0)) / 1e9);
out:
	bench_destroy(b);
	free(b);
	return err ? 1 : 0;
}
