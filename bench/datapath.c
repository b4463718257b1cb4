// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/datapath: ns per packet of each XDP path under BPF_PROG_TEST_RUN,
 * printed as ratios to baselines (bare XDP_DROP, parse only) and to
 * xdp-filter's pass path, all measured side by side in one run: these
 * machines are shared and noisy, so only same-run ratios mean anything.
 *
 * Two ways to run a program: repeat mode (one test-run call runs it repeat
 * times on one buffer: one flow, hit every time) and one call per packet
 * (repeat=1: a new or random flow every call), each against a bare XDP_DROP
 * floor timed the same way. Every case runs in every round, cases interleaved
 * and their order rotating; each figure is the min and the median over the
 * rounds, and a ratio is taken per round against that round's floor. Targets
 * print PASS or MISS and never change the exit status; a wrong bench_verdict, a
 * miscounted flow or a failed syscall does (the figures would mean nothing).
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
#include "weir.skel.h"
#include "bench/baseline.skel.h"
#include "bench/weir_percpu.skel.h"
#include "datapath.h"
#include "common.h"
#include "log.h"
#include "datapath/pkt.h"

#define ROUNDS	       5
#define REPEAT_DEFAULT 1000000 /* runs per test-run call in repeat mode */
#define CALLS_DEFAULT  20000   /* one-call-per-packet calls per round and frame */
#define SLICES	       4       /* repeat-mode rounds interleave in slices of repeat / SLICES */
#define CHUNK_CALLS    500     /* one-call cases interleave in chunks this long */
#define CALL_CASES_MAX 8       /* one-call cases measured side by side */
#define FRAME_BYTES    64      /* Ethernet frame without FCS */
#define FLOWS_BIG      (1u << 20)
#define FLOWS_SMALL    1024u
#define FILL_CHUNK     65536u /* keys per bpf_map_update_batch() */

#define TARGET_VS_XDP_FILTER 1.0   /* full hit / xdp-filter pass, at most */
#define TARGET_NEW_FLOW_NS   300.0 /* new flow over the one-call floor, at most */
#define TARGET_SIZE_TOL	     0.15  /* |1M hit / 1k hit - 1|, at most */

/* xdp-filter's map flags (xdp-tools, xdp-filter/common_kern_user.h). */
#define XDPF_FLAG_SRC (1 << 0)
#define XDPF_FLAG_DST (1 << 1)
#define XDPF_FLAG_TCP (1 << 2)
#define XDPF_FLAG_UDP (1 << 3)

enum { F_TCP4, F_UDP6, F_MAX };

struct frame {
	const char *name;
	struct pkt_spec spec;
	struct pkt hit;	    /* the one flow the repeat-mode cases hit */
	struct pkt scratch; /* rewritten per call in one-call mode */
	__u32 saddr_lo_off; /* last two bytes of the source address */
	__u32 sport_off;
};

/* One loaded copy of weir_xdp_ingress with its own maps. */
struct inst {
	const char *name;
	bool percpu; /* WEIR_FLOWS_PERCPU build, else the shipped LRU hash */
	__u32 flows_max;
	struct weir_datapath *dp; /* LRU: loaded through libweir, as the agent does */
	struct weir_percpu_bpf *pc;
	int prog_fd, flows_fd, counters_fd;
	struct ring_buffer *rb;
	__u64 events;	       /* ring-buffer events drained */
	__u64 fill;	       /* flows in the table after fill, before the hit flows */
	__u64 memlock_bytes;   /* fdinfo of the flow map */
	long long memcg_bytes; /* memory cgroup growth across the load; < 0: unknown */
};

/* One-call mode: which packet each call sends. */
enum pkt_mode {
	PKT_NEW,  /* a new 5-tuple every call */
	PKT_HIT,  /* the hit flow every call */
	PKT_FILL, /* a random one of the fill flows (TCP/IPv4 only) */
};

/* One row of a table: a program, how it is run, and its samples. */
struct bcase {
	const char *name;
	int prog_fd;
	__u32 retval;	    /* expected bench_verdict, checked on every call */
	struct inst *in;    /* NULL for baselines and xdp-filter */
	enum pkt_mode mode; /* one-call mode */
	__u32 seq[F_MAX];   /* PKT_NEW: the next 5-tuple */
	__u64 rng;	    /* PKT_FILL: xorshift state, the same seed for every case */
	double ns[F_MAX][ROUNDS];
};

struct opts {
	__u32 repeat;
	__u32 calls;
	int cpu; /* -1: do not pin */
	const char *xdp_filter_obj;
};

static int ncpus; /* possible CPUs: per-CPU map values come in this many */

/* ---- statistics ---- */

/* Per round: a / b, or a - b. */
static void paired(const double *a, const double *b, bool ratio, double *out)
{
	int r;

	for (r = 0; r < ROUNDS; r++)
		out[r] = ratio ? a[r] / b[r] : a[r] - b[r];
}

/* ---- frames ---- */

static void frame_init(struct frame *fr, const char *name, const struct pkt_spec *spec)
{
	fr->name = name;
	fr->spec = *spec;
	pkt_build(&fr->spec, &fr->hit);
	/* Pad with L4 payload to FRAME_BYTES, so both frames are the same size. */
	fr->spec.payload_bytes = FRAME_BYTES - fr->hit.len;
	pkt_build(&fr->spec, &fr->hit);
	fr->scratch = fr->hit;
	fr->sport_off = fr->hit.l4_off;
	fr->saddr_lo_off = fr->hit.l3_off + (spec->family == 4 ? 12 + 2 : 8 + 14);
}

/* A new 5-tuple per call: seq goes into the source port and the low 16 bits
 * of the source address, with bit 15 set so that it never meets the hit flow
 * (source ...1) or the fill keys. seq < 2^31 per case and run.
 */
static void frame_next(struct frame *fr, __u32 seq)
{
	__be16 sport = htons(seq & 0xffff), lo = htons(0x8000 | seq >> 16);

	memcpy(fr->scratch.buf + fr->sport_off, &sport, sizeof(sport));
	memcpy(fr->scratch.buf + fr->saddr_lo_off, &lo, sizeof(lo));
}

/* The TCP/IPv4 frame of fill flow id: see inst_fill(). */
static void frame_fill(struct frame *fr, __u32 id)
{
	__be32 saddr = htonl(0xac100000 | id >> 16);
	__be16 sport = htons(id & 0xffff), dport = htons(9);

	memcpy(fr->scratch.buf + fr->hit.l3_off + 12, &saddr, sizeof(saddr));
	memcpy(fr->scratch.buf + fr->sport_off, &sport, sizeof(sport));
	memcpy(fr->scratch.buf + fr->sport_off + 2, &dport, sizeof(dport));
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

/* ---- running programs ---- */

/* repeat runs on one buffer; *ns per run. The kernel times the runs alone
 * (not the syscall, and not the XDP dispatcher update that every repeat > 1
 * call pays: milliseconds here, so a wall clock is useless) and leaves out
 * time spent rescheduled, but truncates to whole ns: the true figure lies in
 * [duration, duration + 1), so take the midpoint.
 */
static int run_repeat(struct bcase *c, const struct pkt *p, __u32 repeat, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = p->buf, .data_size_in = p->len,
		    .repeat = repeat);
	int err;

	err = bpf_prog_test_run_opts(c->prog_fd, &run);
	if (err) {
		log_err("test run case=\"%s\": %s", c->name, strerror(-err));
		return err;
	}
	/* The bench_verdict of the last run: repeat re-runs on what the previous left. */
	if (run.retval != c->retval) {
		log_err("test run case=\"%s\" retval=%u want=%u", c->name, run.retval, c->retval);
		return -EPROTO;
	}
	*ns = run.duration + 0.5;
	return 0;
}

/* n calls with repeat=1, a new 5-tuple each; adds the kernel's ns to *sum_ns. */
static int run_calls(struct bcase *c, struct frame *fr, int f, __u32 n, double *sum_ns)
{
	__u32 i;
	int err;

	for (i = 0; i < n; i++) {
		const struct pkt *p = c->mode == PKT_HIT ? &fr->hit : &fr->scratch;
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = p->buf, .data_size_in = p->len,
			    .repeat = 1);

		if (c->mode == PKT_NEW)
			frame_next(fr, c->seq[f]++);
		else if (c->mode == PKT_FILL)
			frame_fill(fr, rand_below(&c->rng, c->in ? c->in->fill : FLOWS_SMALL));
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
		*sum_ns += run.duration;
	}
	return 0;
}

/* Rounds of repeat mode over cases[0..n). Each round runs every case in
 * SLICES slices of repeat / SLICES runs, frames and cases interleaved and the
 * order rotating, so that the cases of one round share the machine's mood
 * and the per-round ratios pair like with like. One warm-up run each first
 * (it also inserts the hit flows).
 */
static int measure_repeat(struct bcase **cases, int n, struct frame *frames, __u32 repeat)
{
	__u32 slice = repeat / SLICES;
	int r, s, f, i, err;
	double ns;

	for (f = 0; f < F_MAX; f++)
		for (i = 0; i < n; i++) {
			err = run_repeat(cases[i], &frames[f].hit, repeat / 10 + 1, &ns);
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

					err = run_repeat(c, &frames[f].hit, slice, &ns);
					if (err)
						return err;
					c->ns[f][r] += ns / SLICES;
				}
	}
	return 0;
}

static int drain_events(struct bcase **cases, int n)
{
	int i, err;

	for (i = 0; i < n; i++) {
		if (!cases[i]->in)
			continue;
		err = ring_buffer__consume(cases[i]->in->rb);
		if (err < 0) {
			log_err("drain events instance=%s: %s", cases[i]->in->name, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Rounds of one call per packet on frames[0..nframes), cases interleaved in
 * chunks of CHUNK_CALLS; the ring buffers are drained between chunks, outside
 * the timing, as the agent would.
 */
static int measure_calls(struct bcase **cases, int n, struct frame *frames, int nframes,
			 __u32 calls)
{
	int r, f, i, err;
	__u32 done, k;

	if (n > CALL_CASES_MAX)
		return -EINVAL;
	for (r = 0; r < ROUNDS; r++)
		for (f = 0; f < nframes; f++) {
			double sum[CALL_CASES_MAX] = {};

			for (done = 0; done < calls; done += k) {
				k = calls - done < CHUNK_CALLS ? calls - done : CHUNK_CALLS;
				for (i = 0; i < n; i++) {
					int j = (i + r) % n;

					err = run_calls(cases[j], &frames[f], f, k, &sum[j]);
					if (err)
						return err;
				}
				err = drain_events(cases, n);
				if (err)
					return err;
			}
			for (i = 0; i < n; i++)
				cases[i]->ns[f][r] = sum[i] / calls;
		}
	return 0;
}

/* ---- datapath instances ---- */

static int event_seen(void *ctx, void *data, size_t size)
{
	struct inst *in = ctx;

	(void)data;
	(void)size;
	in->events++;
	return 0;
}

/* The memory cgroup's usage in bytes (v1 or v2), or -1. */
static long long memcg_usage(void)
{
	char line[512], path[640];
	long long v = -1;
	FILE *f;

	f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return -1;
	path[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '\n');

		if (p)
			*p = 0;
		if (strstr(line, ":memory:")) {
			snprintf(path, sizeof(path),
				 "/sys/fs/cgroup/memory%s/memory.usage_in_bytes",
				 strstr(line, ":memory:") + 8);
			break;
		}
		if (!strncmp(line, "0::", 3))
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.current", line + 3);
	}
	fclose(f);
	if (!path[0])
		return -1;
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f)) {
		char *end;

		v = strtoll(line, &end, 10);
		if (end == line)
			v = -1;
	}
	fclose(f);
	return v;
}

/* memlock from /proc/self/fdinfo: the kernel's own figure for the map. */
static __u64 fdinfo_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8)) {
			v = strtoull(line + 8, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int inst_load(struct inst *in)
{
	long long before = memcg_usage(), after;
	int events_fd, err;

	if (!in->percpu) {
		struct weir_datapath_opts o = { .flows_max = in->flows_max };
		struct weir_bpf *skel;

		err = weir_datapath_load(&in->dp, &o);
		if (err)
			return err;
		skel = weir_datapath_skel(in->dp);
		in->prog_fd = bpf_program__fd(skel->progs.weir_xdp_ingress);
		in->flows_fd = bpf_map__fd(skel->maps.weir_flows);
		in->counters_fd = bpf_map__fd(skel->maps.weir_counters);
		events_fd = bpf_map__fd(skel->maps.weir_events);
	} else {
		in->pc = weir_percpu_bpf__open();
		if (!in->pc) {
			err = -errno;
			log_err("open per-CPU datapath object: %s", strerror(-err));
			return err;
		}
		err = bpf_map__set_max_entries(in->pc->maps.weir_flows, in->flows_max);
		if (err) {
			log_err("set flow table size flows_max=%u: %s", in->flows_max,
				strerror(-err));
			goto err_destroy;
		}
		err = weir_percpu_bpf__load(in->pc);
		if (err) {
			log_err("load per-CPU datapath: %s (run with -v for the verifier log)",
				strerror(-err));
			goto err_destroy;
		}
		in->prog_fd = bpf_program__fd(in->pc->progs.weir_xdp_ingress);
		in->flows_fd = bpf_map__fd(in->pc->maps.weir_flows);
		in->counters_fd = bpf_map__fd(in->pc->maps.weir_counters);
		events_fd = bpf_map__fd(in->pc->maps.weir_events);
	}
	/* Maps are preallocated at creation: what the load grew is theirs. */
	after = memcg_usage();
	in->memcg_bytes = before >= 0 && after >= 0 ? after - before : -1;
	in->memlock_bytes = fdinfo_memlock(in->flows_fd);

	in->rb = ring_buffer__new(events_fd, event_seen, in, NULL);
	if (!in->rb) {
		err = -errno;
		log_err("ring buffer instance=%s: %s", in->name, strerror(-err));
		goto err_destroy;
	}
	return 0;

err_destroy:
	if (in->dp)
		weir_datapath_destroy(in->dp);
	if (in->pc)
		weir_percpu_bpf__destroy(in->pc);
	in->dp = NULL;
	in->pc = NULL;
	return err;
}

static void inst_destroy(struct inst *in)
{
	ring_buffer__free(in->rb);
	weir_datapath_destroy(in->dp);
	weir_percpu_bpf__destroy(in->pc);
	in->rb = NULL;
	in->dp = NULL;
	in->pc = NULL;
}

static __u64 counter_sum(struct inst *in, __u32 idx)
{
	__u64 v[ncpus], sum = 0;
	int i;

	if (bpf_map_lookup_elem(in->counters_fd, &idx, v))
		return 0;
	for (i = 0; i < ncpus; i++)
		sum += v[i];
	return sum;
}

static size_t flow_value_bytes(bool percpu)
{
	return percpu ? (size_t)ncpus * sizeof(struct weir_flow_value) :
			sizeof(struct weir_flow_value);
}

/* Packets counted for key, summed over CPUs for the per-CPU table; -1 if absent. */
static long long flow_packets(struct inst *in, const struct weir_flow_key *key)
{
	struct weir_flow_value *v = calloc(ncpus, sizeof(*v));
	long long sum = -1;
	int i;

	if (!v)
		return -1;
	if (!bpf_map_lookup_elem(in->flows_fd, key, v)) {
		sum = 0;
		for (i = 0; i < (in->percpu ? ncpus : 1); i++)
			sum += v[i].packets;
	}
	free(v);
	return sum;
}

/* Entries in the flow table, read with batch lookups. */
static long long flow_count(struct inst *in)
{
	const __u32 chunk = 8192;
	size_t vsz = flow_value_bytes(in->percpu);
	void *keys = calloc(chunk, sizeof(struct weir_flow_key)), *vals = calloc(chunk, vsz);
	long long total = 0;
	__u32 batch = 0, n;
	bool first = true;
	int err;

	if (!keys || !vals) {
		total = -ENOMEM;
		goto out;
	}
	for (;;) {
		n = chunk;
		err = bpf_map_lookup_batch(in->flows_fd, first ? NULL : &batch, &batch, keys, vals,
					   &n, NULL);
		if (err && err != -ENOENT) {
			log_err("count flows instance=%s: %s", in->name, strerror(-err));
			total = err;
			goto out;
		}
		total += n;
		if (err == -ENOENT)
			break;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return total;
}

/* Fills the flow table with n flows other than the hit flows: same shape as
 * the TCP/IPv4 hit key, source 172.16.0.0/16 and up, destination port 9.
 */
static int inst_fill(struct inst *in, const struct weir_flow_key *tmpl, __u32 n)
{
	size_t vsz = flow_value_bytes(in->percpu);
	struct weir_flow_key *keys = calloc(FILL_CHUNK, sizeof(*keys));
	struct weir_flow_value *vals = calloc(FILL_CHUNK, vsz);
	__u32 i, done, k, cnt;
	long long present;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < FILL_CHUNK * (vsz / sizeof(*vals)); i++)
		vals[i].packets = 1;
	for (done = 0; done < n; done += k) {
		k = n - done < FILL_CHUNK ? n - done : FILL_CHUNK;
		for (i = 0; i < k; i++) {
			__u32 id = done + i;

			keys[i] = *tmpl;
			keys[i].saddr[0] = htonl(0xac100000 | id >> 16);
			keys[i].sport = htons(id & 0xffff);
			keys[i].dport = htons(9);
		}
		cnt = k;
		err = bpf_map_update_batch(in->flows_fd, keys, vals, &cnt, NULL);
		if (err) {
			log_err("fill flows instance=%s at=%u: %s", in->name, done, strerror(-err));
			goto out;
		}
	}
	present = flow_count(in);
	if (present < 0) {
		err = present;
		goto out;
	}
	in->fill = present;
out:
	free(keys);
	free(vals);
	return err;
}

/* ---- peers ---- */

static int xdpf_rule(struct bpf_object *obj, const char *map_name, const void *key, __u64 flags)
{
	int fd = bpf_object__find_map_fd_by_name(obj, map_name);
	__u64 v[ncpus];
	int i, err;

	if (fd < 0)
		return 0; /* this xdp-filter variant has no such map */
	for (i = 0; i < ncpus; i++)
		v[i] = flags;
	err = bpf_map_update_elem(fd, key, v, BPF_ANY);
	if (err)
		log_err("xdp-filter rule map=%s: %s", map_name, strerror(-err));
	return err;
}

/* xdp-filter's program loaded as it is, with plain libbpf (libxdp's dispatcher
 * does not load here) and unpinned maps, then deny rules for other ports and
 * addresses, so its pass path does every lookup a real rule set would.
 */
static int xdpf_load(const char *path, struct bpf_object **objp, int *prog_fd)
{
	const __u8 mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct bpf_program *prog;
	struct in6_addr a6;
	struct bpf_object *obj;
	struct bpf_map *map;
	__u32 a4, port;
	int err;

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
	if (!prog) {
		err = -ENOENT;
		log_err("xdp-filter object path=%s has no program", path);
		goto err_close;
	}
	err = bpf_object__load(obj);
	if (err) {
		log_err("load xdp-filter path=%s: %s (run with -v)", path, strerror(-err));
		goto err_close;
	}
	/* Keys as xdp-filter's user space writes them: ports in network order
	 * in a __u32, addresses as they appear in the packet.
	 */
	port = htons(22);
	err = xdpf_rule(obj, "filter_ports", &port, XDPF_FLAG_DST | XDPF_FLAG_TCP);
	port = htons(5353);
	err = err ?: xdpf_rule(obj, "filter_ports", &port, XDPF_FLAG_DST | XDPF_FLAG_UDP);
	inet_pton(AF_INET, "192.0.2.1", &a4);
	err = err ?: xdpf_rule(obj, "filter_ipv4", &a4, XDPF_FLAG_SRC | XDPF_FLAG_DST);
	inet_pton(AF_INET6, "2001:db8::1", &a6);
	err = err ?: xdpf_rule(obj, "filter_ipv6", &a6, XDPF_FLAG_SRC | XDPF_FLAG_DST);
	err = err ?: xdpf_rule(obj, "filter_ethernet", mac, XDPF_FLAG_SRC | XDPF_FLAG_DST);
	if (err)
		goto err_close;
	*objp = obj;
	*prog_fd = bpf_program__fd(prog);
	return 0;

err_close:
	bpf_object__close(obj);
	return err;
}

/* The deny rule really drops: the pass-path figure is for a live rule set. */
static int xdpf_check(int prog_fd)
{
	struct pkt_spec s = {
		.family = 4,
		.proto = IPPROTO_TCP,
		.saddr = "10.0.0.1",
		.daddr = "10.0.0.2",
		.sport = 40000,
		.dport = 22,
		.tcp_flags = WEIR_TCP_SYN,
	};
	struct pkt p;
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = p.buf);
	int err;

	pkt_build(&s, &p);
	run.data_size_in = p.len;
	err = bpf_prog_test_run_opts(prog_fd, &run);
	if (err)
		return err;
	if (run.retval != XDP_DROP) {
		log_err("xdp-filter deny rule for tcp port 22 did not drop retval=%u", run.retval);
		return -EPROTO;
	}
	return 0;
}

static __u32 pow2_at_least(__u64 n)
{
	__u32 p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* ---- the benchmark ---- */

struct bench {
	struct opts o;
	int cpu;
	struct frame frames[F_MAX];
	struct weir_flow_key keys[F_MAX]; /* the hit flows, as the program keys them */
	struct baseline_bpf *base;
	struct bpf_object *xdpf_obj;
	/* datapath copies: the hit tables at the default size, new-flow
	 * tables with room, and full tables of 1M and 1k
	 */
	struct inst hit_lru, hit_pc, new_lru, new_pc, big_lru, small_lru, big_pc, small_pc;
	/* repeat mode */
	struct bcase floor, parse, metrics, hit_lru_c, hit_pc_c, xdpf;
	struct bcase small_lru_c, big_lru_c, small_pc_c, big_pc_c;
	/* one call per packet: with room, then into the full 1M tables */
	struct bcase floor1, hit1_lru_c, hit1_pc_c, new_lru_c, new_pc_c;
	struct bcase floor2, evict_lru_c, refuse_pc_c;
	/* one call per packet: a random flow of a full table (TCP/IPv4) */
	struct bcase floor3, rnd_small_lru_c, rnd_big_lru_c, rnd_small_pc_c, rnd_big_pc_c;
	int hit_bad; /* hit flows whose counters disagree with the runs */
	int rnd_bad; /* full tables where a random-flow hit inserted a flow */
};

#define CASE(n, v, i) ((struct bcase){ .name = (n), .retval = (v), .in = (i) })

static void bench_init(struct bench *b)
{
	b->hit_lru = (struct inst){ .name = "hit-lru", .flows_max = WEIR_FLOWS_MAX_DEFAULT };
	b->hit_pc = (struct inst){ .name = "hit-percpu",
				   .percpu = true,
				   .flows_max = WEIR_FLOWS_MAX_DEFAULT };
	/* Room for every new flow the one-call rounds insert, so none evicts. */
	b->new_lru = (struct inst){ .name = "new-lru",
				    .flows_max = pow2_at_least((__u64)ROUNDS * F_MAX * b->o.calls *
							       5 / 4) };
	b->new_pc = (struct inst){ .name = "new-percpu",
				   .percpu = true,
				   .flows_max = b->new_lru.flows_max };
	b->big_lru = (struct inst){ .name = "1M-lru", .flows_max = FLOWS_BIG };
	b->small_lru = (struct inst){ .name = "1k-lru", .flows_max = FLOWS_SMALL };
	b->big_pc = (struct inst){ .name = "1M-percpu", .percpu = true, .flows_max = FLOWS_BIG };
	b->small_pc =
		(struct inst){ .name = "1k-percpu", .percpu = true, .flows_max = FLOWS_SMALL };

	b->floor = CASE("bare XDP_DROP (floor)", XDP_DROP, NULL);
	b->parse = CASE("parse only", XDP_PASS, NULL);
	b->metrics = CASE("parse + per-CPU metrics", XDP_PASS, NULL);
	b->hit_lru_c = CASE("full path, flow hit, LRU hash (shipped)", XDP_PASS, &b->hit_lru);
	b->hit_pc_c = CASE("full path, flow hit, per-CPU hash", XDP_PASS, &b->hit_pc);
	b->xdpf = CASE("xdp-filter pass path (xdpfilt_alw_all)", XDP_PASS, NULL);
	b->small_lru_c = CASE("flow hit, LRU hash, 1k table full", XDP_PASS, &b->small_lru);
	b->big_lru_c = CASE("flow hit, LRU hash, 1M table full", XDP_PASS, &b->big_lru);
	b->small_pc_c = CASE("flow hit, per-CPU hash, 1k table full", XDP_PASS, &b->small_pc);
	b->big_pc_c = CASE("flow hit, per-CPU hash, 1M table full", XDP_PASS, &b->big_pc);
	b->floor1 = CASE("bare XDP_DROP, one call per packet (floor)", XDP_DROP, NULL);
	b->hit1_lru_c = CASE("flow hit, LRU hash", XDP_PASS, &b->hit_lru);
	b->hit1_lru_c.mode = PKT_HIT;
	b->hit1_pc_c = CASE("flow hit, per-CPU hash", XDP_PASS, &b->hit_pc);
	b->hit1_pc_c.mode = PKT_HIT;
	b->new_lru_c = CASE("new flow, LRU hash", XDP_PASS, &b->new_lru);
	b->new_pc_c = CASE("new flow, per-CPU hash", XDP_PASS, &b->new_pc);
	b->floor2 = CASE("bare XDP_DROP, one call per packet (floor)", XDP_DROP, NULL);
	b->evict_lru_c = CASE("new flow, LRU hash 1M full (evicts)", XDP_PASS, &b->big_lru);
	b->refuse_pc_c = CASE("new flow, per-CPU hash 1M full (refused)", XDP_PASS, &b->big_pc);
	b->floor3 = CASE("bare XDP_DROP, one call per packet (floor)", XDP_DROP, NULL);
	b->rnd_small_lru_c = CASE("random flow hit, LRU hash, 1k table", XDP_PASS, &b->small_lru);
	b->rnd_big_lru_c = CASE("random flow hit, LRU hash, 1M table", XDP_PASS, &b->big_lru);
	b->rnd_small_pc_c = CASE("random flow hit, per-CPU hash, 1k table", XDP_PASS, &b->small_pc);
	b->rnd_big_pc_c = CASE("random flow hit, per-CPU hash, 1M table", XDP_PASS, &b->big_pc);
	{
		struct bcase *rnd[] = { &b->floor3, &b->rnd_small_lru_c, &b->rnd_big_lru_c,
					&b->rnd_small_pc_c, &b->rnd_big_pc_c };
		unsigned int i;

		for (i = 0; i < sizeof(rnd) / sizeof(rnd[0]); i++) {
			rnd[i]->mode = PKT_FILL;
			rnd[i]->rng = 0x9e3779b97f4a7c15ull;
		}
	}
}

static int insts_of(struct bench *b, struct inst **out)
{
	struct inst *all[] = { &b->hit_lru, &b->hit_pc,	   &b->new_lru, &b->new_pc,
			       &b->big_lru, &b->small_lru, &b->big_pc,	&b->small_pc };

	memcpy(out, all, sizeof(all));
	return sizeof(all) / sizeof(all[0]);
}

/* The key weir_xdp_ingress derived for each frame, read back from a table
 * that holds only the hit flows.
 */
static int hit_keys(struct inst *in, struct weir_flow_key keys[F_MAX])
{
	struct weir_flow_key k, next;
	void *prev = NULL;
	int found = 0;

	while (!bpf_map_get_next_key(in->flows_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (k.family == 4 && k.proto == IPPROTO_TCP) {
			keys[F_TCP4] = k;
			found |= 1;
		} else if (k.family == 6 && k.proto == IPPROTO_UDP) {
			keys[F_UDP6] = k;
			found |= 2;
		}
	}
	if (found != 3) {
		log_err("hit flows not found in instance=%s", in->name);
		return -ENOENT;
	}
	return 0;
}

static int baseline_load(struct bench *b)
{
	int err;

	b->base = baseline_bpf__open();
	if (!b->base) {
		err = -errno;
		log_err("open baseline object: %s", strerror(-err));
		return err;
	}
	/* The baselines use only weir_metrics; the rest come with the headers. */
	bpf_map__set_autocreate(b->base->maps.weir_flows, false);
	bpf_map__set_autocreate(b->base->maps.weir_counters, false);
	bpf_map__set_autocreate(b->base->maps.weir_events, false);
	bpf_map__set_autocreate(b->base->maps.weir_frags, false);
	err = baseline_bpf__load(b->base);
	if (err) {
		log_err("load baseline programs: %s (run with -v)", strerror(-err));
		return err;
	}
	b->floor.prog_fd = bpf_program__fd(b->base->progs.bench_xdp_drop);
	b->floor1.prog_fd = b->floor.prog_fd;
	b->floor2.prog_fd = b->floor.prog_fd;
	b->floor3.prog_fd = b->floor.prog_fd;
	b->parse.prog_fd = bpf_program__fd(b->base->progs.bench_xdp_parse);
	b->metrics.prog_fd = bpf_program__fd(b->base->progs.bench_xdp_parse_metrics);
	return 0;
}

/* Loads every program and fills the size tables with all but the two hit
 * flows' slots; the hit flows themselves go in on the warm-up runs.
 */
static int bench_load(struct bench *b)
{
	struct bcase *cases[] = { &b->hit_lru_c,       &b->hit_pc_c,	  &b->hit1_lru_c,
				  &b->hit1_pc_c,       &b->new_lru_c,	  &b->new_pc_c,
				  &b->small_lru_c,     &b->big_lru_c,	  &b->small_pc_c,
				  &b->big_pc_c,	       &b->evict_lru_c,	  &b->refuse_pc_c,
				  &b->rnd_small_lru_c, &b->rnd_big_lru_c, &b->rnd_small_pc_c,
				  &b->rnd_big_pc_c };
	struct inst *insts[8], *fill[] = { &b->big_lru, &b->small_lru, &b->big_pc, &b->small_pc };
	int n = insts_of(b, insts), i, f, err;
	double ignored;

	err = baseline_load(b);
	for (i = 0; !err && i < n; i++)
		err = inst_load(insts[i]);
	if (err)
		return err;
	for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++)
		cases[i]->prog_fd = cases[i]->in->prog_fd;

	if (b->o.xdp_filter_obj) {
		err = xdpf_load(b->o.xdp_filter_obj, &b->xdpf_obj, &b->xdpf.prog_fd);
		err = err ?: xdpf_check(b->xdpf.prog_fd);
		if (err)
			return err;
	}

	for (f = 0; f < F_MAX; f++) {
		err = run_repeat(&b->hit_lru_c, &b->frames[f].hit, 1, &ignored);
		if (err)
			return err;
	}
	err = hit_keys(&b->hit_lru, b->keys);
	for (i = 0; !err && i < (int)(sizeof(fill) / sizeof(fill[0])); i++)
		err = inst_fill(fill[i], &b->keys[F_TCP4], fill[i]->flows_max - F_MAX);
	return err;
}

/* Every run of the repeat rounds counted in its flow: the warm-up
 * (repeat / 10 + 1), the rounds, and for hit_lru the setup run. Run before
 * the full-table rounds, which evict.
 */
static void check_hits(struct bench *b)
{
	struct bcase *hits[] = { &b->hit_lru_c, &b->hit_pc_c,	&b->small_lru_c,
				 &b->big_lru_c, &b->small_pc_c, &b->big_pc_c };
	int i, f;

	for (i = 0; i < (int)(sizeof(hits) / sizeof(hits[0])); i++) {
		long long want = b->o.repeat / 10 + 1 + (long long)ROUNDS * b->o.repeat +
				 (hits[i]->in == &b->hit_lru);

		for (f = 0; f < F_MAX; f++) {
			long long got = flow_packets(hits[i]->in, &b->keys[f]);

			if (got != want) {
				log_err("case=\"%s\" frame=%s flow counted %lld packets, want %lld",
					hits[i]->name, b->frames[f].name, got, want);
				b->hit_bad++;
			}
		}
	}
}

static int bench_measure(struct bench *b)
{
	struct bcase *rep[10] = { &b->floor,	 &b->parse,	 &b->metrics,
				  &b->hit_lru_c, &b->hit_pc_c,	 &b->small_lru_c,
				  &b->big_lru_c, &b->small_pc_c, &b->big_pc_c };
	struct bcase *room[] = { &b->floor1, &b->hit1_lru_c, &b->hit1_pc_c, &b->new_lru_c,
				 &b->new_pc_c };
	struct bcase *full[] = { &b->floor2, &b->evict_lru_c, &b->refuse_pc_c };
	struct bcase *rnd[] = { &b->floor3, &b->rnd_small_lru_c, &b->rnd_big_lru_c,
				&b->rnd_small_pc_c, &b->rnd_big_pc_c };
	int n_rep = 9, i, err;

	if (b->xdpf_obj)
		rep[n_rep++] = &b->xdpf;
	err = measure_repeat(rep, n_rep, b->frames, b->o.repeat);
	if (err)
		return err;
	check_hits(b);
	err = measure_calls(room, sizeof(room) / sizeof(room[0]), b->frames, F_MAX, b->o.calls);
	/* Random hits before the full-table inserts, which evict fill flows. */
	err = err ?: measure_calls(rnd, sizeof(rnd) / sizeof(rnd[0]), b->frames, 1, b->o.calls);
	if (err)
		return err;
	/* Only the warm-up's two hit flows were ever new in the full tables. */
	for (i = 1; i < (int)(sizeof(rnd) / sizeof(rnd[0])); i++)
		if (rnd[i]->in->events != F_MAX ||
		    rnd[i]->in->fill != rnd[i]->in->flows_max - F_MAX) {
			log_err("instance=%s: %llu flows inserted, %llu filled: random hits missed",
				rnd[i]->in->name, (unsigned long long)rnd[i]->in->events,
				(unsigned long long)rnd[i]->in->fill);
			b->rnd_bad++;
		}
	return measure_calls(full, 3, b->frames, F_MAX, b->o.calls);
}

static void bench_destroy(struct bench *b)
{
	struct inst *insts[8];
	int n = insts_of(b, insts), i;

	for (i = 0; i < n; i++)
		inst_destroy(insts[i]);
	bpf_object__close(b->xdpf_obj);
	baseline_bpf__destroy(b->base);
}

/* ---- output ---- */

static void print_heads(const char *title, const struct frame *frames, int nframes)
{
	int f;

	printf("\n%s\n%-44s", title, "");
	for (f = 0; f < nframes; f++)
		printf("  %-30s", frames[f].name);
	printf("\n%-44s", "path (ns/packet; x = vs floor)");
	for (f = 0; f < nframes; f++)
		printf("  %6s %6s %7s %7s", "min", "med", "min x", "med x");
	printf("\n");
}

static void print_head(const char *title, const struct frame *frames)
{
	print_heads(title, frames, F_MAX);
}

static void print_rows(const struct bcase *c, const struct bcase *floor, int nframes)
{
	double q[ROUNDS];
	int f;

	printf("%-44s", c->name);
	for (f = 0; f < nframes; f++) {
		paired(c->ns[f], floor->ns[f], true, q);
		printf("  %6.1f %6.1f %6.2fx %6.2fx", bench_min(c->ns[f], ROUNDS),
		       bench_median(c->ns[f], ROUNDS), bench_min(q, ROUNDS),
		       bench_median(q, ROUNDS));
	}
	printf("\n");
}

static void print_row(const struct bcase *c, const struct bcase *floor)
{
	print_rows(c, floor, F_MAX);
}

static void report_tables(struct bench *b)
{
	struct utsname uts;

	uname(&uts);
	printf("Weir datapath benchmark: BPF_PROG_TEST_RUN, %d-byte frames, kernel %s, ",
	       FRAME_BYTES, uts.release);
	if (b->cpu >= 0)
		printf("pinned to cpu %d of %d possible\n", b->cpu, ncpus);
	else
		printf("unpinned, %d possible cpus\n", ncpus);
	printf("%d interleaved rounds; repeat mode: %u runs per call on one buffer; one-call "
	       "mode: %u calls per round and frame, a new 5-tuple each\n",
	       ROUNDS, b->o.repeat, b->o.calls);
	printf("min and median over the rounds; x = ratio to the same round's floor of that "
	       "section, min and median\n");

	print_head("Repeat mode: one flow, hit by every packet", b->frames);
	print_row(&b->floor, &b->floor);
	print_row(&b->parse, &b->floor);
	print_row(&b->metrics, &b->floor);
	print_row(&b->hit_lru_c, &b->floor);
	print_row(&b->hit_pc_c, &b->floor);
	if (b->xdpf_obj)
		print_row(&b->xdpf, &b->floor);
	else
		printf("%-44s  skipped: no xdp-filter object (-x)\n", b->xdpf.name);

	print_head("Repeat mode: table size, one flow hit in a full table", b->frames);
	print_row(&b->small_lru_c, &b->floor);
	print_row(&b->big_lru_c, &b->floor);
	print_row(&b->small_pc_c, &b->floor);
	print_row(&b->big_pc_c, &b->floor);
	printf("  (filled with %llu / %llu (LRU 1k / 1M) and %llu / %llu (per-CPU) other flows, "
	       "then the 2 hit flows)\n",
	       (unsigned long long)b->small_lru.fill, (unsigned long long)b->big_lru.fill,
	       (unsigned long long)b->small_pc.fill, (unsigned long long)b->big_pc.fill);

	print_head("One call per packet (repeat=1): a new flow every call, table with room",
		   b->frames);
	print_row(&b->floor1, &b->floor1);
	print_row(&b->hit1_lru_c, &b->floor1);
	print_row(&b->hit1_pc_c, &b->floor1);
	print_row(&b->new_lru_c, &b->floor1);
	print_row(&b->new_pc_c, &b->floor1);
	printf("  (%u-entry tables, %.0f%% full at the end)\n", b->new_lru.flows_max,
	       100.0 * ROUNDS * F_MAX * b->o.calls / b->new_lru.flows_max);

	print_heads("One call per packet (repeat=1): hit a random flow of a full table", b->frames,
		    1);
	print_rows(&b->floor3, &b->floor3, 1);
	print_rows(&b->rnd_small_lru_c, &b->floor3, 1);
	print_rows(&b->rnd_big_lru_c, &b->floor3, 1);
	print_rows(&b->rnd_small_pc_c, &b->floor3, 1);
	print_rows(&b->rnd_big_pc_c, &b->floor3, 1);
	printf("  (TCP/IPv4: the fill flows. What the one-flow rows above cannot show: cache "
	       "and TLB misses)\n");

	print_head("One call per packet (repeat=1): a new flow every call, 1M table already full",
		   b->frames);
	print_row(&b->floor2, &b->floor2);
	print_row(&b->evict_lru_c, &b->floor2);
	print_row(&b->refuse_pc_c, &b->floor2);
	printf("  (inserts refused, flows not counted: per-CPU hash %llu, LRU hash %llu)\n",
	       (unsigned long long)counter_sum(&b->big_pc, WEIR_CNT_FLOW_INSERT_FAILED),
	       (unsigned long long)counter_sum(&b->big_lru, WEIR_CNT_FLOW_INSERT_FAILED));
}

static void report_memory(struct bench *b)
{
	struct inst *pairs[2][2] = { { &b->big_lru, &b->small_lru }, { &b->big_pc, &b->small_pc } };
	const size_t vsz = sizeof(struct weir_flow_value);
	double per_cpu_base = 0;
	int i, j;

	printf("\nFlow-table memory per entry (key %zu B, value %zu B, %d possible cpus)\n",
	       sizeof(struct weir_flow_key), vsz, ncpus);
	printf("%-14s %12s %14s %10s %24s\n", "map", "max_entries", "memlock B", "B/entry",
	       "memcg B/entry (1M - 1k)");
	for (i = 0; i < 2; i++) {
		struct inst *big = pairs[i][0], *small = pairs[i][1];
		char mc[32] = "n/a";

		if (big->memcg_bytes >= 0 && small->memcg_bytes >= 0)
			snprintf(mc, sizeof(mc), "%.1f",
				 (double)(big->memcg_bytes - small->memcg_bytes) /
					 (big->flows_max - small->flows_max));
		for (j = 0; j < 2; j++) {
			struct inst *in = pairs[i][j];

			printf("%-14s %12u %14llu %10.1f %24s\n",
			       in->percpu ? "per-CPU hash" : "LRU hash", in->flows_max,
			       (unsigned long long)in->memlock_bytes,
			       (double)in->memlock_bytes / in->flows_max, j ? "" : mc);
		}
	}
	/* The per-CPU hash keeps a value per possible CPU in every entry. */
	per_cpu_base = (double)b->big_pc.memlock_bytes / b->big_pc.flows_max - (double)vsz * ncpus;
	printf("  per-CPU hash grows with the machine: %.0f + %zu x cpus B/entry = %.0f B at 32 "
	       "cpus, %.0f B at 128; LRU hash stays %.0f B\n",
	       per_cpu_base, vsz, per_cpu_base + vsz * 32.0, per_cpu_base + vsz * 128.0,
	       (double)b->big_lru.memlock_bytes / b->big_lru.flows_max);
	printf("  (memlock is the kernel's own figure; the memcg delta may leave out the per-CPU "
	       "value area)\n");
}

/* "  <frame> <median>" per frame; median of per-round a/b (ratio) or a-b. */
static bool report_target(struct bench *b, const char *what, const struct bcase *x,
			  const struct bcase *y, bool ratio, double lo, double hi)
{
	bool all = true;
	double q[ROUNDS], m;
	int f;

	printf("  %-52s", what);
	for (f = 0; f < F_MAX; f++) {
		paired(x->ns[f], y->ns[f], ratio, q);
		m = bench_median(q, ROUNDS);
		if (ratio)
			printf("  %s %5.2fx", b->frames[f].name, m);
		else
			printf("  %s %+5.0f ns", b->frames[f].name, m);
		if (lo <= hi) {
			printf(" %s", bench_verdict(m >= lo && m <= hi));
			all &= m >= lo && m <= hi;
		}
	}
	printf("\n");
	return all;
}

/* TCP/IPv4 only: x over y in ns, and as a ratio of their costs over floor. */
static void report_target1(struct bench *b, const char *what, const struct bcase *x,
			   const struct bcase *y, const struct bcase *floor)
{
	double d[ROUNDS], xo[ROUNDS], yo[ROUNDS], q[ROUNDS];

	paired(x->ns[F_TCP4], y->ns[F_TCP4], false, d);
	paired(x->ns[F_TCP4], floor->ns[F_TCP4], false, xo);
	paired(y->ns[F_TCP4], floor->ns[F_TCP4], false, yo);
	paired(xo, yo, true, q);
	printf("  %-52s  %s %+5.0f ns, %.2fx over floor\n", what, b->frames[F_TCP4].name,
	       bench_median(d, ROUNDS), bench_median(q, ROUNDS));
}

static void report_targets(struct bench *b)
{
	const double tol = TARGET_SIZE_TOL;

	printf("\nTargets (median over rounds of the per-round figure; MISS never fails the run)\n");
	if (b->xdpf_obj) {
		report_target(b, "full hit <= 1.0x xdp-filter pass, LRU hash", &b->hit_lru_c,
			      &b->xdpf, true, 0, TARGET_VS_XDP_FILTER);
		report_target(b, "full hit <= 1.0x xdp-filter pass, per-CPU hash", &b->hit_pc_c,
			      &b->xdpf, true, 0, TARGET_VS_XDP_FILTER);
	} else {
		printf("  %-52s  SKIP: no xdp-filter object (-x)\n", "full hit <= 1.0x xdp-filter");
	}
	report_target(b, "new flow <= 300 ns over 1-call floor, LRU hash", &b->new_lru_c,
		      &b->floor1, false, -1e9, TARGET_NEW_FLOW_NS);
	report_target(b, "new flow <= 300 ns over 1-call floor, per-CPU hash", &b->new_pc_c,
		      &b->floor1, false, -1e9, TARGET_NEW_FLOW_NS);
	report_target(b, "1M vs 1k table hit within 15%, LRU hash", &b->big_lru_c, &b->small_lru_c,
		      true, 1 - tol, 1 + tol);
	report_target(b, "1M vs 1k table hit within 15%, per-CPU hash", &b->big_pc_c,
		      &b->small_pc_c, true, 1 - tol, 1 + tol);
	printf("Side by side (no target)\n");
	report_target(b, "full hit, LRU / per-CPU hash", &b->hit_lru_c, &b->hit_pc_c, true, 1, 0);
	report_target(b, "new flow over a hit (one call each), LRU hash", &b->new_lru_c,
		      &b->hit1_lru_c, false, 1, 0);
	report_target(b, "new flow over a hit (one call each), per-CPU hash", &b->new_pc_c,
		      &b->hit1_pc_c, false, 1, 0);
	report_target(b, "new flow into a full 1M LRU (evicts), over floor", &b->evict_lru_c,
		      &b->floor2, false, 1, 0);
	report_target1(b, "random flow hit, 1M over 1k table, LRU hash", &b->rnd_big_lru_c,
		       &b->rnd_small_lru_c, &b->floor3);
	report_target1(b, "random flow hit, 1M over 1k table, per-CPU hash", &b->rnd_big_pc_c,
		       &b->rnd_small_pc_c, &b->floor3);
}

/* Nothing lost or miscounted, or the figures above mean nothing. */
static int report_checks(struct bench *b)
{
	struct inst *news[] = { &b->new_lru, &b->new_pc };
	__u64 want = (__u64)ROUNDS * F_MAX * b->o.calls;
	int i, err = 0;

	printf("\nChecks\n");
	if (b->hit_bad) {
		printf("  FAIL: %d hit flows miscounted (see stderr)\n", b->hit_bad);
		err = -EPROTO;
	}
	if (b->rnd_bad) {
		printf("  FAIL: %d full tables lost fill flows (see stderr)\n", b->rnd_bad);
		err = -EPROTO;
	}
	for (i = 0; i < 2; i++) {
		struct inst *in = news[i];
		__u64 lost = counter_sum(in, WEIR_CNT_LOST_EVENTS);
		__u64 refused = counter_sum(in, WEIR_CNT_FLOW_INSERT_FAILED);

		if (in->events != want || lost || refused) {
			printf("  FAIL %s: %llu flow-start events, want %llu; lost %llu, "
			       "refused %llu\n",
			       in->name, (unsigned long long)in->events, (unsigned long long)want,
			       (unsigned long long)lost, (unsigned long long)refused);
			err = -EPROTO;
		}
	}
	if (!err)
		printf("  ok: every hit run counted in its flow; full tables held every fill flow; "
		       "one flow-start event per new flow, none lost or refused\n");
	return err;
}

/* ---- main ---- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-r repeat] [-n calls] [-c cpu] [-x xdpfilt_alw_all.o] [-v]\n"
		"  -r  runs per repeat-mode call (default %d)\n"
		"  -n  one-call-per-packet calls per round and frame (default %d)\n"
		"  -c  CPU to pin to, -1 for none (default: the last one allowed)\n"
		"  -x  xdp-filter BPF object (policy allow, deny rules) to compare with\n"
		"  -v  debug logging, libbpf and verifier output included\n",
		prog, REPEAT_DEFAULT, CALLS_DEFAULT);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	long long v = 0;
	int c, err = 0;

	o->repeat = REPEAT_DEFAULT;
	o->calls = CALLS_DEFAULT;
	o->cpu = -2;
	while ((c = getopt(argc, argv, "r:n:c:x:vh")) != -1) {
		switch (c) {
		case 'r':
			err = bench_parse_num(optarg, SLICES, 1 << 30, &v);
			o->repeat = v;
			break;
		case 'n':
			/* frame_next() has 31 bits of 5-tuple per case */
			err = bench_parse_num(optarg, 1, 1 << 24, &v);
			o->calls = v;
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
			usage(argv[0]);
			return err;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct pkt_spec tcp4 = {
		.family = 4,
		.proto = IPPROTO_TCP,
		.saddr = "10.0.0.1",
		.daddr = "10.0.0.2",
		.sport = 40000,
		.dport = 80,
		.tcp_flags = WEIR_TCP_ACK,
	};
	const struct pkt_spec udp6 = {
		.family = 6,
		.proto = IPPROTO_UDP,
		.saddr = "fd00::1",
		.daddr = "fd00::2",
		.sport = 40000,
		.dport = 53,
	};
	struct timespec t0, t1;
	struct bench *b;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	err = parse_opts(argc, argv, &b->o);
	if (err) {
		free(b);
		return 2;
	}
	weir_log_libbpf();
	if (geteuid()) {
		log_err("bench needs root (BPF_PROG_TEST_RUN)");
		err = -EPERM;
		goto out;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		log_err("possible cpus: %s", strerror(-ncpus));
		err = ncpus;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b->cpu = bench_pin_cpu(b->o.cpu);
	frame_init(&b->frames[F_TCP4], "TCP/IPv4", &tcp4);
	frame_init(&b->frames[F_UDP6], "UDP/IPv6", &udp6);
	bench_init(b);

	err = bench_load(b);
	err = err ?: bench_measure(b);
	if (err)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	report_tables(b);
	report_memory(b);
	report_targets(b);
	err = report_checks(b);
	printf("\nbench/datapath: %.1f s\n", (bench_ts_ns(&t1) - bench_ts_ns(&t0)) / 1e9);
out:
	bench_destroy(b);
	free(b);
	return err ? 1 : 0;
}
