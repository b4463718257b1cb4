// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/agent: what the agent's user space costs, through the real code it
 * links (the datapath loaded by libweir, the assembler, endpoint cache, store,
 * metrics and HTTP server; nothing stubbed, nothing copied):
 *
 *   sweep   weir_assembler_sweep() over 1M kernel flows written with
 *           bpf_map_update_batch(): the first sweep (every flow new: records
 *           made and enriched), steady sweeps (nothing new, nothing due) and a
 *           sweep where every conversation is due an active-timeout update;
 *           next to a bare read of the same table as sweeps read it (its
 *           iterator: the floor) and one with batch lookups (the old read);
 *   ring    weir_assembler_consume() draining flow-start and drop events that
 *           weir_xdp_ingress wrote under BPF_PROG_TEST_RUN;
 *   http    GET /v1/flows on loopback TCP and on a unix socket, with the
 *           store full and a filter that matches 1% of it, from
 *           bench/flows_client (a client process of its own);
 *   memory  the process's resident memory with the store full.
 *
 * Times are the CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID:
 * user and system, whatever else the machine runs) and wall time. The
 * machines are shared and noisy: figures come with a same-run floor or ratio,
 * and targets print PASS or MISS without changing the exit status; a lost
 * event, a missing record or a wrong answer does (the figures would mean
 * nothing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include <weir/abi.h>
#include "weir.skel.h"
#include "agent.h"
#include "assembler.h"
#include "datapath.h"
#include "endpoints.h"
#include "flow_table.h"
#include "http.h"
#include "common.h"
#include "log.h"
#include "metrics.h"
#include "json_writer.h"
#include "store.h"
#include "datapath/pkt.h"

#define NODE_NAME	     "bench-node"
#define POD_NS		     "bench"
#define PODS		     1000u
#define VETH_IFINDEX0	     1000u /* pod p's veth is ifindex VETH_IFINDEX0 + p */
#define UPLINK_IFINDEX	     900u
#define FLOWS_DEFAULT	     (1u << 20) /* kernel flow-table entries the sweeps read */
#define STORE_RECORDS	     ((__u32)WEIR_STORE_CAPACITY_DEFAULT)
#define FILL_CHUNK	     65536u /* entries per bpf_map_update_batch() */
#define READ_BATCH	     4096u  /* entries per read: the assembler's SWEEP_BATCH */
#define ACTIVE_TIMEOUT_S     10	    /* the agent's defaults */
#define IDLE_TIMEOUT_S	     30
#define SWEEP_IDLE_TIMEOUT_S 600 /* the sweep tables': no flow idles out during the run */
#define FIRST_ROUNDS	     2	 /* a new assembler each: the first sweep cannot be repeated */
#define FIRST_ROUNDS_MAX     ROUNDS_MAX
#define DUE_ROUNDS	     2		       /* an active timeout apart */
#define STEADY_ROUNDS	     6		       /* split among the due rounds */
#define STEADY_MARGIN_NS     (2 * NS_PER_S)    /* a steady round starts this long before a due */
#define DUE_MARGIN_NS	     (50 * 1000000ULL) /* past the timeout: a few coarse-clock ticks */
#define RING_CHUNK	     8192u /* events per produce/consume round: the 1 MiB ring holds 13107 */
#define RING_ROUNDS	     16	   /* rounds per event kind */
#define HTTP_DEFAULT	     200   /* filtered requests per transport and round */
#define HTTP_ROUNDS	     3	   /* client runs; the host's steal is measured around each */
#define HTTP_MAX	     10000
#define HTTP_FULL	     2	       /* unfiltered requests */
#define HTTP_STATUS	     50	       /* GET /v1/status */
#define FLOWS_BLOCK_BYTES    65536     /* http_flows.c's STREAM_BLOCK_BYTES */
#define FILTER_POD_PREFIX    "pod-001" /* pods 10-19 of 1000: 1% of the conversations */
#define ROUNDS_MAX	     16
#define NS_PER_S	     1000000000ULL
#define MIB		     (1024.0 * 1024.0)

#define TARGET_SWEEP_S	    1.0	 /* CPU seconds per sweep of 1M flows, at most */
#define TARGET_FLOWS_P99_MS 20.0 /* GET /v1/flows p99, at most */
#define TARGET_RSS_MIB	    64.0 /* resident memory with the store full, at most */

/* ---- timing and statistics ---- */

struct stamp {
	double cpu_ns;	/* CLOCK_THREAD_CPUTIME_ID */
	double wall_ns; /* CLOCK_MONOTONIC */
};

static void stamp_now(struct stamp *s)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	s->cpu_ns = bench_ts_ns(&t);
	clock_gettime(CLOCK_MONOTONIC, &t);
	s->wall_ns = bench_ts_ns(&t);
}

/* The datapath's clock (bpf_ktime_get_coarse_ns()), which the assembler's
 * timeouts are measured on.
 */
static __u64 coarse_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (__u64)t.tv_sec * NS_PER_S + t.tv_nsec;
}

/* The q-quantile (0..1) of n samples, nearest rank; sorts a copy. */
static double stat_quantile(const double *v, int n, double q)
{
	double *s = malloc(n * sizeof(*s)), r;
	int k;

	if (!s)
		return v[0];
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), bench_cmp_double);
	k = (int)(q * n + 0.999999) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	r = s[k];
	free(s);
	return r;
}

/* One timed operation, repeated: CPU and wall ns per sample. */
struct row {
	const char *name;
	int n;
	double cpu_ns[ROUNDS_MAX];
	double wall_ns[ROUNDS_MAX];
	__u64 records; /* records the last sample made */
};

static void row_add(struct row *r, const struct stamp *t0)
{
	struct stamp t1;

	stamp_now(&t1);
	if (r->n >= ROUNDS_MAX)
		return;
	r->cpu_ns[r->n] = t1.cpu_ns - t0->cpu_ns;
	r->wall_ns[r->n] = t1.wall_ns - t0->wall_ns;
	r->n++;
}

/* Resident memory from /proc/self/statm, in bytes; -1 if unreadable. */
static long long rss_bytes(void)
{
	char buf[128], *p, *end;
	unsigned long resident;
	FILE *f = fopen("/proc/self/statm", "r");
	bool ok;

	if (!f)
		return -1;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	p = ok ? strchr(buf, ' ') : NULL; /* size, then resident, in pages */
	if (!p)
		return -1;
	errno = 0;
	resident = strtoul(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -1;
	return (long long)resident * sysconf(_SC_PAGESIZE);
}

/* Bytes malloc has handed out and not had back (mallinfo2: arenas and mmaps). */
static long long heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long long)mi.uordblks + (long long)mi.hblkhd;
}

/* Where a first sweep's time went: user and system CPU of the thread, its
 * page faults, and the machine's transparent-huge-page faults and compaction
 * stalls (/proc/vmstat: system-wide, but the sweep is what runs then).
 */
struct first_cost {
	double user_ns, sys_ns;
	long minflt;
	long long thp_alloc, thp_fallback, compact_stall;
};

/* The thread's user and system CPU and minor page faults. */
static void cost_now(struct first_cost *c)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return;
	c->user_ns = ru.ru_utime.tv_sec * 1e9 + ru.ru_utime.tv_usec * 1e3;
	c->sys_ns = ru.ru_stime.tv_sec * 1e9 + ru.ru_stime.tv_usec * 1e3;
	c->minflt = ru.ru_minflt;
}

/* The machine's THP faults, fallbacks and compaction stalls so far. */
static void vmstat_now(struct first_cost *c)
{
	static const char *const names[] = { "thp_fault_alloc", "thp_fault_fallback",
					     "compact_stall" };
	long long *fields[] = { &c->thp_alloc, &c->thp_fallback, &c->compact_stall };
	char line[128], *sp, *end;
	long long v;
	FILE *f = fopen("/proc/vmstat", "r");
	size_t i;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sp = strchr(line, ' '); /* "name value" */
		if (!sp)
			continue;
		*sp = '\0';
		errno = 0;
		v = strtoll(sp + 1, &end, 10);
		if (errno || end == sp + 1)
			continue;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (!strcmp(line, names[i]))
				*fields[i] = v;
		}
	}
	fclose(f);
}

static void cost_diff(struct first_cost *d, const struct first_cost *a, const struct first_cost *b)
{
	d->user_ns = b->user_ns - a->user_ns;
	d->sys_ns = b->sys_ns - a->sys_ns;
	d->minflt = b->minflt - a->minflt;
	d->thp_alloc = b->thp_alloc - a->thp_alloc;
	d->thp_fallback = b->thp_fallback - a->thp_fallback;
	d->compact_stall = b->compact_stall - a->compact_stall;
}

/* ---- the flows ---- */

/* Pod p is 10.1.0.0/16 + p + 1; the world is 203.0.113.0/24 and 198.18.0.0/15. */
static __be32 pod_ip(__u32 p)
{
	return htonl(0x0a010000u | (p + 1));
}

enum shape {
	/* Both directions of a conversation at TC on the client pod's veth:
	 * the request at ingress, the reply at egress. One in 8 leaves the
	 * cluster.
	 */
	SHAPE_TWO_WAY,
	/* One direction per flow: connections from the world to pods, seen
	 * by XDP on the uplink (XDP sees ingress only).
	 */
	SHAPE_ONE_WAY,
	SHAPE_MAX,
};

static const __u16 server_ports[] = { 80, 443, 8080, 5432, 6379 };

/* The client pod of two-way conversation c. */
static __u32 client_pod(__u32 c)
{
	return c % PODS;
}

/* The kernel keys of conversation c: rev only for two-way (else zeroed). */
static void conv_keys(enum shape shape, __u32 c, struct weir_flow_key *fwd,
		      struct weir_flow_key *rev)
{
	__u16 dport = server_ports[c % (sizeof(server_ports) / sizeof(server_ports[0]))];

	memset(fwd, 0, sizeof(*fwd));
	memset(rev, 0, sizeof(*rev));
	fwd->proto = IPPROTO_TCP;
	fwd->family = 4;
	fwd->dir = WEIR_DIR_INGRESS;
	fwd->dport = htons(dport);
	if (shape == SHAPE_ONE_WAY) {
		/* c < 2^21: the client address and port are unique per c */
		fwd->saddr[0] = htonl(0xc6120000u | (c >> 16));
		fwd->sport = htons(c & 0xffff);
		fwd->daddr[0] = pod_ip((c * 7 + 3) % PODS);
		fwd->ifindex = UPLINK_IFINDEX;
		fwd->hook = WEIR_HOOK_XDP;
		return;
	}
	/* (client pod, client port) is unique per c while c / PODS < 55000 */
	fwd->saddr[0] = pod_ip(client_pod(c));
	fwd->sport = htons(10000 + c / PODS);
	if (c % 8 == 7)
		fwd->daddr[0] = htonl(0xcb007100u | (c % 251 + 1));
	else
		fwd->daddr[0] = pod_ip((c * 7 + c / PODS + 1) % PODS);
	fwd->ifindex = VETH_IFINDEX0 + client_pod(c);
	fwd->hook = WEIR_HOOK_TC;

	*rev = *fwd;
	memcpy(rev->saddr, fwd->daddr, sizeof(rev->saddr));
	memcpy(rev->daddr, fwd->saddr, sizeof(rev->daddr));
	rev->sport = fwd->dport;
	rev->dport = fwd->sport;
	rev->dir = WEIR_DIR_EGRESS;
}

/* An active flow's counters as the datapath leaves them: seen just now, the
 * initiator a millisecond before the reply (so the assembler orients the
 * conversation the same way whatever order the table is read in).
 */
static struct weir_flow_value flow_value(__u64 now_ns, bool reply)
{
	return (struct weir_flow_value){
		.packets = reply ? 8 : 10,
		.bytes = reply ? 9000 : 1400,
		.first_seen_ns = now_ns - (reply ? 1000000 : 2000000),
		.last_seen_ns = now_ns,
		.tcp_flags = WEIR_TCP_SYN | WEIR_TCP_ACK | WEIR_TCP_PSH,
		.verdict = WEIR_VERDICT_FORWARDED,
		.reason = WEIR_REASON_FORWARDED,
	};
}

static __u32 entries_of(enum shape shape, __u32 convs)
{
	return shape == SHAPE_TWO_WAY ? 2 * convs : convs;
}

/* Writes conversations [0, convs) into the flow table (or rewrites them
 * with fresh timestamps), as the datapath would have.
 */
static int table_fill(int fd, enum shape shape, __u32 convs)
{
	struct weir_flow_key *keys = calloc(FILL_CHUNK, sizeof(*keys));
	struct weir_flow_value *vals = calloc(FILL_CHUNK, sizeof(*vals));
	struct weir_flow_key rev;
	__u32 c, n = 0, cnt;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (c = 0; c < convs || n; c++) {
		if (c < convs) {
			__u64 now = coarse_ns();

			conv_keys(shape, c, &keys[n], &rev);
			vals[n++] = flow_value(now, false);
			if (shape == SHAPE_TWO_WAY) {
				keys[n] = rev;
				vals[n++] = flow_value(now, true);
			}
			if (n + 2 <= FILL_CHUNK && c + 1 < convs)
				continue;
		}
		cnt = n;
		err = bpf_map_update_batch(fd, keys, vals, &cnt, NULL);
		if (err) {
			log_err("fill flow table at conversation=%u: %s", c, strerror(-err));
			goto out;
		}
		n = 0;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static void entries_ignored(void *ctx, const struct weir_flow_entry *e, size_t n)
{
	(void)ctx;
	(void)e;
	(void)n;
}

/* Reads the whole table as a sweep does (lib/flow_table.c), and nothing
 * more: the floor under a sweep. Returns the entries read, or -errno.
 */
static long long table_read(struct weir_flow_table *reader)
{
	return weir_flow_table_read(reader, entries_ignored, NULL);
}

static __u64 counter_sum(int fd, __u32 idx)
{
	__u64 sum = 0;

	return weir_percpu_sum(fd, idx, &sum, 1) ? 0 : sum;
}

/* ---- the agent ---- */

struct sweep_table {
	const char *name;
	enum shape shape;
	__u32 convs, entries;
	struct weir_datapath *dp;
	int flows_fd;
	struct weir_assembler *as;
	struct row floor, batch, first, steady, due;
	double stats_ns;		      /* CPU ns of weir_assembler_stats() */
	long long rss_grown;		      /* over the first sweep of the first round */
	long long heap_grown;		      /* malloc'ed bytes in use, the same */
	__u64 rec_start_ns, rec_end_ns;	      /* coarse clock around the last sweep that made
					       * a record for every conversation */
	struct weir_flow_table *reader;	      /* the floor's: the iterator, as sweeps read */
	struct weir_flow_table *batch_reader; /* batch lookups */
	__u64 steady_records;		      /* records made by steady sweeps: should be none */
	struct first_cost cost[ROUNDS_MAX];   /* per first sweep */
	struct weir_assembler_stats st;	      /* after the due sweep */
};

struct ring_kind {
	const char *name;
	struct pkt frame;
	__u32 retval;
	struct row consume; /* per round of RING_CHUNK events */
	__u64 events, records;
};
_Static_assert(RING_ROUNDS <= ROUNDS_MAX, "a sample per ring round");

struct http_row {
	const char *name;
	double ms[HTTP_MAX];
	int n;
	double bytes;
	const struct row *floor; /* the handler's own work for this answer */
};

/* One run of flows_client: its share of the filtered rows, and the CPU
 * time the hypervisor stole from the whole VM meanwhile (/proc/stat).
 */
struct http_round {
	int tcp0, unix0;   /* its first samples in flows_tcp, flows_unix */
	int tcp_n, unix_n; /* and how many */
	double steal_pct;
};

struct opts {
	__u32 flows;
	int requests;
	int cpu;	  /* -1: do not pin */
	int first_rounds; /* first sweeps per table */
	bool sweeps_only; /* no HTTP or ring-buffer measures */
};

struct bench {
	struct opts o;
	int cpu;
	struct weir_agent a;
	struct weir_http *http;
	char dir[64]; /* holds the unix socket */
	int port;
	__u64 records_seen; /* records the callback saw */
	/* memory */
	long long rss_start, rss_agent, rss_constructed, rss_full;
	long long heap_start, heap_agent, heap_constructed, heap_full;
	/* /v1/flows */
	size_t filter_expect;
	struct http_row flows_tcp, flows_unix, flows_all, status, raw;
	struct row work_filtered, work_all;   /* in-process: query and JSON, no HTTP */
	struct row query_filtered, query_all; /* the query part of it */
	long chunks;			      /* HTTP chunks of one filtered answer */
	struct http_round rounds[HTTP_ROUNDS];
	/* ring buffer */
	struct weir_datapath *ring_dp;
	struct weir_assembler *ring_as;
	struct ring_kind kinds[2];
	__u64 ring_lost, ring_refused, ring_bad;
	/* sweeps */
	struct sweep_table tables[SHAPE_MAX];
	int failed; /* correctness checks that failed, each logged */
};

static void on_record(void *ctx, struct weir_flow_record *r)
{
	struct bench *b = ctx;

	b->records_seen++;
	weir_metrics_observe(b->a.metrics, r);
	weir_store_add(b->a.store, r);
}

static void on_pod_gone(void *ctx, const char *namespace, const char *pod_name)
{
	struct bench *b = ctx;

	weir_metrics_forget_pod(b->a.metrics, namespace, pod_name);
}

static int check(struct bench *b, bool ok, const char *what)
{
	if (ok)
		return 0;
	log_err("check failed: %s", what);
	b->failed++;
	return -EPROTO;
}

/* PODS pods registered through the API, as the CNI plugin does: one address,
 * two labels, a workload per ten pods.
 */
static int pods_register(struct weir_endpoints *eps)
{
	struct weir_addr host = { .family = 4 };
	char ip[INET_ADDRSTRLEN], name[32], app[32], msg[256];
	__be32 host_ip = htonl(0xc0a8000a); /* 192.168.0.10 */
	__u32 p;
	int err;

	for (p = 0; p < PODS; p++) {
		__be32 a = pod_ip(p);
		json_t *doc;

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(name, sizeof(name), "pod-%04u", p);
		snprintf(app, sizeof(app), "app-%03u", p / 10);
		doc = json_pack("{s:[s],s:s,s:s,s:{s:s,s:s},s:{s:s,s:s},s:s}", "ips", ip,
				"namespace", POD_NS, "pod_name", name, "labels", "app", app, "tier",
				p % 2 ? "backend" : "frontend", "workload", "name", app, "kind",
				"Deployment", "node_name", NODE_NAME);
		if (!doc)
			return -ENOMEM;
		err = weir_endpoints_register(eps, doc, msg, sizeof(msg));
		json_decref(doc);
		if (err) {
			log_err("register pod=%s: %s", name, msg);
			return err;
		}
	}
	memcpy(host.bytes, &host_ip, sizeof(host_ip));
	weir_endpoints_set_host(eps, &host, 1);
	return 0;
}

/* Interface names as the agent learns them from netlink at start: the pods'
 * veths are pod-facing.
 */
static void ifnames_set(struct weir_assembler *as)
{
	char name[IF_NAMESIZE];
	__u32 p;

	for (p = 0; p < PODS; p++) {
		snprintf(name, sizeof(name), "lxc%04u", p);
		weir_assembler_set_ifname(as, VETH_IFINDEX0 + p, name, true);
	}
	weir_assembler_set_ifname(as, UPLINK_IFINDEX, "eth0", false);
}

static int assembler_new(struct bench *b, struct weir_datapath *dp, uint32_t idle_timeout_s,
			 struct weir_assembler **out)
{
	struct weir_bpf *skel = weir_datapath_skel(dp);
	struct weir_assembler_opts ao = {
		.node_name = b->a.cfg.node_name,
		.active_timeout_s = b->a.cfg.active_timeout_s,
		.idle_timeout_s = idle_timeout_s,
		.flows_fd = bpf_map__fd(skel->maps.weir_flows),
		.events_fd = bpf_map__fd(skel->maps.weir_events),
		.counters_fd = bpf_map__fd(skel->maps.weir_counters),
		.endpoints = b->a.endpoints,
		.on_record = on_record,
		.ctx = b,
	};
	int err;

	err = weir_assembler_new(out, &ao);
	if (err) {
		log_err("assembler: %s", strerror(-err));
		return err;
	}
	ifnames_set(*out);
	return 0;
}

static int datapath_load(__u32 flows_max, struct weir_datapath **dp)
{
	struct weir_datapath_opts o = { .flows_max = flows_max }; /* no pinning */
	int err;

	err = weir_datapath_load(dp, &o);
	if (err)
		log_err("load datapath flows_max=%u: %s (run with -v)", flows_max, strerror(-err));
	return err;
}

/* A flow table with room for every flow: an LRU hash evicts before it is full. */
static __u32 flows_max_for(__u32 entries)
{
	return entries + entries / 4;
}

/* A loopback port nobody listens on now, for the agent's TCP listener. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	else
		port = -errno;
	close(fd);
	return port;
}

static int cfg_set(char **field, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/* The HTTP server on an ephemeral loopback port and a socket in b->dir; a
 * port taken between the probe and the bind is tried again.
 */
static int http_start(struct bench *b)
{
	char listen_addr[32], sock[sizeof(b->dir) + 16];
	int i, err = -EADDRINUSE;

	snprintf(sock, sizeof(sock), "%s/agent.sock", b->dir);
	for (i = 0; i < 5 && err == -EADDRINUSE; i++) {
		b->port = free_port();
		if (b->port < 0)
			return b->port;
		snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%d", b->port);
		err = cfg_set(&b->a.cfg.listen, listen_addr);
		err = err ?: cfg_set(&b->a.cfg.socket_path, sock);
		err = err ?: weir_http_start(&b->a, &b->http);
	}
	if (err)
		log_err("start the HTTP server: %s", strerror(-err));
	return err;
}

/* The agent as main() builds it, with the datapath loaded but not attached
 * or pinned, and the HTTP server listening on loopback and a unix socket.
 */
static int agent_build(struct bench *b)
{
	struct weir_agent *a = &b->a;
	struct timespec ts;
	int err;

	weir_agent_config_defaults(&a->cfg);
	err = cfg_set(&a->cfg.node_name, NODE_NAME);
	if (err)
		return err;
	a->cfg.flows_max = flows_max_for(entries_of(SHAPE_TWO_WAY, STORE_RECORDS));
	a->cfg.active_timeout_s = ACTIVE_TIMEOUT_S;
	a->cfg.idle_timeout_s = IDLE_TIMEOUT_S;
	a->cfg.store_capacity = STORE_RECORDS;
	pthread_mutex_init(&a->stats_lock, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	a->start_realtime_ns = (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;

	err = datapath_load(a->cfg.flows_max, &a->dp);
	err = err ?: weir_endpoints_new(&a->endpoints, a->cfg.node_name);
	err = err ?: weir_store_new(&a->store, a->cfg.store_capacity);
	err = err ?: weir_metrics_new(&a->metrics, WEIR_METRICS_POD_SERIES_DEFAULT);
	if (err)
		return err;
	weir_endpoints_on_gone(a->endpoints, on_pod_gone, b);
	err = pods_register(a->endpoints);
	err = err ?: assembler_new(b, a->dp, a->cfg.idle_timeout_s, &a->assembler);
	if (err)
		return err;
	if (!mkdtemp(strcpy(b->dir, "/tmp/weir-bench-XXXXXX"))) {
		err = -errno;
		b->dir[0] = '\0';
		log_err("temp dir: %s", strerror(-err));
		return err;
	}
	return http_start(b);
}

static void agent_destroy(struct bench *b)
{
	struct weir_agent *a = &b->a;

	weir_http_stop(b->http);
	weir_assembler_free(a->assembler);
	weir_datapath_destroy(a->dp);
	weir_endpoints_free(a->endpoints);
	weir_metrics_free(a->metrics);
	weir_store_free(a->store);
	weir_agent_config_release(&a->cfg);
	if (b->dir[0])
		rmdir(b->dir);
}

/* ---- store, memory and HTTP ---- */

/* A record as the assembler makes one for two-way conversation c, from
 * weir_flow_record_new() and references out of the endpoint cache.
 */
static struct weir_flow_record *record_make(struct bench *b, __u32 c, __u64 now_real_ns)
{
	struct weir_flow_record *r = weir_flow_record_new();
	struct weir_flow_key k, rev;

	if (!r)
		return NULL;
	conv_keys(SHAPE_TWO_WAY, c, &k, &rev);
	r->id = c + 1;
	r->time_ns = r->first_seen_ns = r->last_seen_ns = now_real_ns;
	r->type = WEIR_RECORD_START;
	r->family = k.family;
	r->proto = k.proto;
	memcpy(r->saddr, k.saddr, sizeof(r->saddr));
	memcpy(r->daddr, k.daddr, sizeof(r->daddr));
	r->sport = ntohs(k.sport);
	r->dport = ntohs(k.dport);
	r->ifindex = k.ifindex;
	snprintf(r->ifname, sizeof(r->ifname), "lxc%04u", client_pod(c));
	r->dir = WEIR_DIR_EGRESS; /* the pod's view: it sends what its veth receives */
	r->hook = k.hook;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->is_reply = WEIR_REPLY_NO;
	r->packets = 10;
	r->bytes = 1400;
	r->node_name = strdup(NODE_NAME);
	r->src = weir_endpoints_lookup(b->a.endpoints, 4, (const uint8_t *)k.saddr);
	r->dst = weir_endpoints_lookup(b->a.endpoints, 4, (const uint8_t *)k.daddr);
	if (!r->node_name) {
		weir_flow_record_put(r);
		return NULL;
	}
	return r;
}

/* The store full twice over: records made here (the store's own cost per
 * record), then the real assembler's records for the same conversations
 * read from the kernel table, which replace them (and leave the assembler
 * tracking every conversation, as a running agent does).
 */
static int store_fill(struct bench *b)
{
	struct weir_bpf *skel = weir_datapath_skel(b->a.dp);
	struct weir_assembler_stats st;
	struct weir_store_stats ss;
	struct timespec now;
	__u64 before;
	__u32 c;
	int err;

	b->rss_agent = rss_bytes();
	b->heap_agent = heap_bytes();
	clock_gettime(CLOCK_REALTIME, &now);
	for (c = 0; c < STORE_RECORDS; c++) {
		struct weir_flow_record *r = record_make(b, c, (__u64)bench_ts_ns(&now));

		if (!r)
			return -ENOMEM;
		on_record(b, r);
		weir_flow_record_put(r);
	}
	b->rss_constructed = rss_bytes();
	b->heap_constructed = heap_bytes();

	err = table_fill(bpf_map__fd(skel->maps.weir_flows), SHAPE_TWO_WAY, STORE_RECORDS);
	if (err)
		return err;
	before = b->records_seen;
	err = weir_assembler_sweep(b->a.assembler);
	if (err)
		return err;
	b->rss_full = rss_bytes();
	b->heap_full = heap_bytes();
	weir_assembler_stats(b->a.assembler, &st);
	weir_store_stats(b->a.store, &ss);
	check(b, b->records_seen - before == STORE_RECORDS && st.active_flows == STORE_RECORDS,
	      "store fill: one record per conversation from the assembler");
	check(b, ss.num_flows == STORE_RECORDS && ss.seen_flows == 2ULL * STORE_RECORDS,
	      "store fill: the store holds only the assembler's records");
	/* FILTER_POD_PREFIX: the conversations of pods 10-19 */
	for (c = 0; c < STORE_RECORDS; c++)
		if (client_pod(c) >= 10 && client_pod(c) < 20)
			b->filter_expect++;
	return 0;
}

/* What the /v1/flows handler computes for one answer, in-process and without
 * HTTP: the request parsed from the query pairs, the store query with its
 * filters, each record written as JSON text into a buffer sent every 64 KiB
 * (http_flows.c's calls, in its order).
 */
static int flows_work(struct bench *b, const char *allowlist, struct row *row, struct row *query)
{
	struct weir_json_buf out = WEIR_JSON_BUF_INIT;
	struct weir_flow_request req = { 0 };
	struct weir_flow_record **v = NULL;
	char msg[256] = "";
	struct stamp t0;
	size_t n = 0, i;
	int err = 0;

	stamp_now(&t0);
	if (allowlist)
		err = weir_flow_request_set(&req, "allowlist", allowlist, msg, sizeof(msg));
	err = err ?: weir_flow_request_finish(&req, msg, sizeof(msg));
	err = err ?: weir_store_query(b->a.store, &req, &v, &n);
	row_add(query, &t0);
	for (i = 0; !err && i < n; i++) {
		if (out.len >= FLOWS_BLOCK_BYTES)
			weir_json_buf_reset(&out);
		err = weir_flow_record_write_json(v[i], &out);
	}
	row_add(row, &t0);
	weir_json_buf_release(&out);
	row->records = n;
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	weir_flow_request_release(&req);
	if (err)
		log_err("flows query: %s %s", strerror(-err), msg);
	return err;
}

/* bench/flows_client, next to this program. */
static int client_path(char *path, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", path, size - 1);
	char *slash;

	if (n < 0)
		return -errno;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (!slash || (size_t)(slash + 1 - path) + sizeof("flows_client") > size)
		return -ENAMETOOLONG;
	memcpy(slash + 1, "flows_client", sizeof("flows_client"));
	return 0;
}

/* One line of flows_client's: a request's row, or its chunk count, or an
 * answer it found wrong.
 */
static void client_line(struct bench *b, char *line)
{
	struct {
		const char *name;
		struct http_row *row;
	} rows[] = {
		{ "tcp", &b->flows_tcp }, { "unix", &b->flows_unix }, { "all", &b->flows_all },
		{ "status", &b->status }, { "raw", &b->raw },
	};
	char *p, *end;
	double ms, bytes;
	size_t i;

	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "bad ", 4)) {
		check(b, false, line + 4);
		return;
	}
	/* "<name> <value>..." */
	p = strchr(line, ' ');
	if (!p)
		goto unknown;
	*p++ = '\0';
	if (!strcmp(line, "chunks")) {
		b->chunks = strtol(p, &end, 10);
		if (end == p || *end)
			goto unknown;
		return;
	}
	ms = strtod(p, &end);
	if (end == p || *end != ' ')
		goto unknown;
	p = end + 1;
	bytes = strtod(p, &end);
	if (end == p || *end)
		goto unknown;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (strcmp(line, rows[i].name) != 0)
			continue;
		if (rows[i].row->n < HTTP_MAX)
			rows[i].row->ms[rows[i].row->n++] = ms;
		rows[i].row->bytes = bytes;
		return;
	}
unknown:
	check(b, false, "flows_client: a line it should not print");
	log_err("flows_client: a line beginning \"%s\"", line);
}

/* The machine's CPU ticks so far: all of them, and those stolen by the
 * hypervisor (/proc/stat's first line). 0 or -errno.
 */
static int host_ticks(unsigned long long *total, unsigned long long *steal)
{
	FILE *f = fopen("/proc/stat", "re");
	unsigned long long v;
	char line[512], *p, *end;
	int i;

	if (!f)
		return -errno;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (!p || strncmp(line, "cpu ", 4) != 0)
		return -EPROTO;
	/* user nice system idle iowait irq softirq steal */
	*total = 0;
	for (i = 0, p = line + 4; i < 8; i++, p = end) {
		v = strtoull(p, &end, 10);
		if (end == p)
			return -EPROTO;
		*total += v;
		if (i == 7)
			*steal = v;
	}
	return 0;
}

/* Runs flows_client once with these arguments, its lines into b. */
static int client_run(struct bench *b, char *const *argv)
{
	int err, pipefd[2], wstatus;
	posix_spawn_file_actions_t fa;
	char *line = NULL;
	size_t line_cap = 0;
	FILE *out;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	err = -posix_spawn_file_actions_init(&fa);
	err = err ?: -posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	err = err ?: -posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (err) {
		close(pipefd[0]);
		log_err("spawn %s: %s", argv[0], strerror(-err));
		return err;
	}
	out = fdopen(pipefd[0], "r");
	if (!out) {
		err = -errno;
		close(pipefd[0]);
	}
	while (out && getline(&line, &line_cap, out) > 0)
		client_line(b, line);
	free(line);
	if (out)
		fclose(out);
	if (waitpid(pid, &wstatus, 0) < 0)
		return -errno;
	if (!err && (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus))) {
		log_err("flows_client failed (status %#x)", wstatus);
		err = -EIO;
	}
	return err;
}

/* The in-process floors first; then HTTP_ROUNDS runs of bench/flows_client,
 * a process of its own: GET /v1/flows with the 1% filter, TCP and unix
 * socket interleaved; in the last, unfiltered and /v1/status on TCP for scale.
 */
static int http_measure(struct bench *b)
{
	const char *filter = "[{\"source_pod\":[\"" POD_NS "/" FILTER_POD_PREFIX "\"]}]";
	char path[4096], sock[sizeof(b->dir) + 16], port[16], want[24], requests[16], full[16],
		status[16], all_want[24];
	/* flows_client PORT SOCKET NS POD_PREFIX WANT REQUESTS FULL STATUS ALL_WANT */
	char *argv[] = { path, port,	 sock, (char *)POD_NS, (char *)FILTER_POD_PREFIX,
			 want, requests, full, status,	       all_want,
			 NULL };
	unsigned long long total0, steal0, total1, steal1;
	struct http_round *rd;
	int i, err;

	for (i = 0; i < ROUNDS_MAX; i++) {
		err = flows_work(b, filter, &b->work_filtered, &b->query_filtered);
		if (err)
			return err;
	}
	for (i = 0; i < HTTP_FULL; i++) {
		err = flows_work(b, NULL, &b->work_all, &b->query_all);
		if (err)
			return err;
	}

	err = client_path(path, sizeof(path));
	if (err) {
		log_err("the path of flows_client: %s", strerror(-err));
		return err;
	}
	snprintf(sock, sizeof(sock), "%s/agent.sock", b->dir);
	snprintf(port, sizeof(port), "%d", b->port);
	snprintf(want, sizeof(want), "%zu", b->filter_expect);
	snprintf(requests, sizeof(requests), "%d", b->o.requests);
	snprintf(all_want, sizeof(all_want), "%u", STORE_RECORDS);
	for (i = 0; i < HTTP_ROUNDS; i++) {
		rd = &b->rounds[i];
		snprintf(full, sizeof(full), "%d", i == HTTP_ROUNDS - 1 ? HTTP_FULL : 0);
		snprintf(status, sizeof(status), "%d", i == HTTP_ROUNDS - 1 ? HTTP_STATUS : 0);
		rd->tcp0 = b->flows_tcp.n;
		rd->unix0 = b->flows_unix.n;
		err = host_ticks(&total0, &steal0);
		err = err ?: client_run(b, argv);
		err = err ?: host_ticks(&total1, &steal1);
		if (err)
			return err;
		rd->tcp_n = b->flows_tcp.n - rd->tcp0;
		rd->unix_n = b->flows_unix.n - rd->unix0;
		rd->steal_pct = total1 > total0 ? 100.0 * (steal1 - steal0) / (total1 - total0) : 0;
	}
	return 0;
}

/* ---- ring buffer ---- */

/* weir_xdp_ingress on one packet per event: distinct 5-tuples from the
 * pods' addresses, so every flow start is a new flow; the drop frame's TCP
 * data offset is 4 (CT_TRUNCATED_OR_INVALID_HEADER), parsed that far.
 */
static int ring_produce(struct ring_kind *k, int prog_fd, __u32 *seq)
{
	struct pkt *p = &k->frame;
	__u32 l3 = p->l3_off, l4 = p->l4_off, i;
	int err;

	for (i = 0; i < RING_CHUNK; i++, (*seq)++) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = p->buf, .data_size_in = p->len,
			    .repeat = 1);
		__be32 saddr = pod_ip(*seq % PODS), daddr = pod_ip((*seq * 7 + 3) % PODS);
		__be16 sport = htons(1024 + *seq / PODS);

		memcpy(p->buf + l3 + 12, &saddr, sizeof(saddr));
		memcpy(p->buf + l3 + 16, &daddr, sizeof(daddr));
		memcpy(p->buf + l4, &sport, sizeof(sport));
		err = bpf_prog_test_run_opts(prog_fd, &run);
		if (err) {
			log_err("test run kind=\"%s\": %s", k->name, strerror(-err));
			return err;
		}
		if (run.retval != k->retval) {
			log_err("test run kind=\"%s\" retval=%u want=%u", k->name, run.retval,
				k->retval);
			return -EPROTO;
		}
	}
	return 0;
}

static int ring_measure(struct bench *b)
{
	const struct pkt_spec syn = {
		.family = 4,
		.proto = IPPROTO_TCP,
		.saddr = "10.1.0.1",
		.daddr = "10.1.0.2",
		.sport = 1024,
		.dport = 80,
		.tcp_flags = WEIR_TCP_SYN,
	};
	struct weir_assembler_stats st;
	__u32 seq = 0, r;
	struct weir_bpf *skel;
	struct stamp t0;
	int prog_fd, counters_fd, i, err;

	b->kinds[0].name = "flow start: new conversation, its record";
	b->kinds[0].retval = XDP_PASS;
	pkt_build(&syn, &b->kinds[0].frame);
	b->kinds[1].name = "drop: its record";
	b->kinds[1].retval = XDP_DROP;
	pkt_build(&syn, &b->kinds[1].frame);
	b->kinds[1].frame.buf[b->kinds[1].frame.l4_off + 12] = 4 << 4; /* data offset 4 */

	err = datapath_load(flows_max_for(RING_ROUNDS * RING_CHUNK), &b->ring_dp);
	err = err ?: assembler_new(b, b->ring_dp, b->a.cfg.idle_timeout_s, &b->ring_as);
	if (err)
		return err;
	skel = weir_datapath_skel(b->ring_dp);
	prog_fd = bpf_program__fd(skel->progs.weir_xdp_ingress);
	counters_fd = bpf_map__fd(skel->maps.weir_counters);

	/* Rounds alternate the kinds; only the consumer is timed. */
	for (r = 0; r < RING_ROUNDS; r++) {
		for (i = 0; i < 2; i++) {
			struct ring_kind *k = &b->kinds[i];
			__u64 before = b->records_seen;

			err = ring_produce(k, prog_fd, &seq);
			if (err)
				return err;
			stamp_now(&t0);
			err = weir_assembler_consume(b->ring_as);
			row_add(&k->consume, &t0);
			if (err) {
				log_err("consume: %s", strerror(-err));
				return err;
			}
			k->events += RING_CHUNK;
			k->records += b->records_seen - before;
		}
	}
	b->ring_lost = counter_sum(counters_fd, WEIR_CNT_LOST_EVENTS);
	b->ring_refused = counter_sum(counters_fd, WEIR_CNT_FLOW_INSERT_FAILED);
	weir_assembler_stats(b->ring_as, &st);
	b->ring_bad = st.bad_events;
	for (i = 0; i < 2; i++)
		check(b, b->kinds[i].records == b->kinds[i].events,
		      "ring buffer: one record per event");
	check(b, !b->ring_lost && !b->ring_refused && !b->ring_bad,
	      "ring buffer: no event lost, no flow refused, no bad event");
	return 0;
}

static void ring_destroy(struct bench *b)
{
	weir_assembler_free(b->ring_as);
	weir_datapath_destroy(b->ring_dp);
	b->ring_as = NULL;
	b->ring_dp = NULL;
}

/* ---- sweeps ---- */

/* A timed sweep. A sweep that makes a record for every conversation (the
 * first, or an active-timeout one) sets the times the next due sweep counts
 * from: the assembler stamps its records with the coarse clock it reads at
 * the sweep's start, between rec_start_ns and rec_end_ns.
 */
static int sweep_timed(struct bench *b, struct sweep_table *t, struct row *row)
{
	__u64 before = b->records_seen, start = coarse_ns();
	struct stamp t0;
	int err;

	stamp_now(&t0);
	err = weir_assembler_sweep(t->as);
	row_add(row, &t0);
	if (err) {
		log_err("sweep table=\"%s\": %s", t->name, strerror(-err));
		return err;
	}
	row->records = b->records_seen - before;
	if (row->records == t->convs) {
		t->rec_start_ns = start;
		t->rec_end_ns = coarse_ns();
	}
	return 0;
}

static int tables_load(struct bench *b)
{
	int s, err;

	for (s = 0; s < SHAPE_MAX; s++) {
		struct sweep_table *t = &b->tables[s];

		t->shape = s;
		t->entries = b->o.flows;
		t->convs = s == SHAPE_TWO_WAY ? b->o.flows / 2 : b->o.flows;
		t->name = s == SHAPE_TWO_WAY ? "two-way: both directions at TC on pod veths" :
					       "one-way: from the world, XDP on the uplink";
		t->floor.name = "table read only (iterator: the floor)";
		t->batch.name = "table read only (batch lookups)";
		t->first.name = "first sweep: every flow new, records made";
		t->steady.name = "steady sweep: nothing new, nothing due";
		t->due.name = "active-timeout sweep: every conversation due";
		err = datapath_load(flows_max_for(t->entries), &t->dp);
		if (err)
			return err;
		t->flows_fd = bpf_map__fd(weir_datapath_skel(t->dp)->maps.weir_flows);
		err = weir_flow_table_open(&t->reader, t->flows_fd, READ_BATCH,
					   WEIR_FLOW_TABLE_AUTO);
		err = err   ?:
			      weir_flow_table_open(&t->batch_reader, t->flows_fd, READ_BATCH,
						   WEIR_FLOW_TABLE_BATCH);
		if (err)
			return err;
	}
	return 0;
}

/* A first sweep by a new assembler over the table, refilled with fresh
 * timestamps (so every flow is active and new to it).
 */
static int sweep_first(struct bench *b, struct sweep_table *t)
{
	struct weir_assembler_stats st;
	struct first_cost c0 = { 0 }, c1 = { 0 };
	long long rss0, heap0;
	int err;

	weir_assembler_free(t->as);
	t->as = NULL;
	err = assembler_new(b, t->dp, SWEEP_IDLE_TIMEOUT_S, &t->as);
	err = err ?: table_fill(t->flows_fd, t->shape, t->convs);
	if (err)
		return err;
	rss0 = rss_bytes();
	heap0 = heap_bytes();
	vmstat_now(&c0);
	cost_now(&c0);
	err = sweep_timed(b, t, &t->first);
	cost_now(&c1);
	vmstat_now(&c1);
	if (err)
		return err;
	if (t->first.n <= ROUNDS_MAX)
		cost_diff(&t->cost[t->first.n - 1], &c0, &c1);
	if (t->first.n == 1) {
		t->rss_grown = rss_bytes() - rss0;
		t->heap_grown = heap_bytes() - heap0;
	}
	weir_assembler_stats(t->as, &st);
	if (check(b, st.table_entries == t->entries && st.active_flows == t->convs,
		  "first sweep: every entry read, every conversation tracked") ||
	    check(b, t->first.records == t->convs, "first sweep: one record per conversation"))
		log_err("table=\"%s\": entries=%llu/%u conversations=%llu/%u records=%llu", t->name,
			(unsigned long long)st.table_entries, t->entries,
			(unsigned long long)st.active_flows, t->convs,
			(unsigned long long)t->first.records);
	return 0;
}

/* A steady sweep after a bare read of the table (its floor). */
static int sweep_steady(struct bench *b, struct sweep_table *t)
{
	struct stamp t0;
	long long n;
	int err;

	stamp_now(&t0);
	n = table_read(t->batch_reader);
	row_add(&t->batch, &t0);
	if (n < 0)
		return n;
	check(b, n == t->entries, "table read, batch lookups: every entry");
	stamp_now(&t0);
	n = table_read(t->reader);
	row_add(&t->floor, &t0);
	if (n < 0)
		return n;
	check(b, n == t->entries, "table read: every entry");
	err = sweep_timed(b, t, &t->steady);
	if (err)
		return err;
	t->steady_records += t->steady.records;
	return 0;
}

/* An active-timeout sweep: every conversation is due an update (none is
 * idle: the sweep tables' idle timeout is longer than the run).
 */
static int sweep_due(struct bench *b, struct sweep_table *t)
{
	int err;

	err = sweep_timed(b, t, &t->due);
	if (err)
		return err;
	weir_assembler_stats(t->as, &t->st);
	/* Unless a steady sweep ran past the timeout (a note below). */
	if (!t->steady_records)
		check(b, t->due.records == t->convs && !t->st.evictions,
		      "active-timeout sweep: an update for every conversation, no eviction");
	return 0;
}

/* First sweeps of both tables interleaved. Then, per table, DUE_ROUNDS
 * times: steady sweeps while its last records are fresh (a sweep decides on
 * the clock it reads as it starts), then an active-timeout sweep once they
 * are due; one table's steady sweeps fill the other's wait. Last, what
 * main() calls after every sweep for /v1/status.
 */
static int sweeps_run(struct bench *b)
{
	const __u64 active_ns = ACTIVE_TIMEOUT_S * NS_PER_S;
	int r, s, dues[SHAPE_MAX] = { 0 }, steadies[SHAPE_MAX] = { 0 }, left = SHAPE_MAX, err;
	struct weir_assembler_stats st;
	struct stamp t0, t1;

	for (r = 0; r < b->o.first_rounds; r++) {
		for (s = 0; s < SHAPE_MAX; s++) {
			err = sweep_first(b, &b->tables[s]);
			if (err)
				return err;
		}
	}
	while (left) {
		__u64 now, wake = UINT64_MAX;
		bool acted = false;

		for (s = 0; s < SHAPE_MAX; s++) {
			struct sweep_table *t = &b->tables[s];
			__u64 due = t->rec_end_ns + active_ns + DUE_MARGIN_NS;

			if (dues[s] == DUE_ROUNDS)
				continue;
			now = coarse_ns();
			if (now >= due) {
				err = sweep_due(b, t);
				if (err)
					return err;
				steadies[s] = 0;
				left -= ++dues[s] == DUE_ROUNDS;
				acted = true;
			} else if (steadies[s] < STEADY_ROUNDS / DUE_ROUNDS &&
				   now + STEADY_MARGIN_NS < t->rec_start_ns + active_ns) {
				err = sweep_steady(b, t);
				if (err)
					return err;
				steadies[s]++;
				acted = true;
			} else if (due < wake) {
				wake = due;
			}
		}
		now = coarse_ns();
		if (!acted && wake != UINT64_MAX && wake > now) {
			struct timespec d = { .tv_sec = (wake - now) / NS_PER_S,
					      .tv_nsec = (wake - now) % NS_PER_S };

			nanosleep(&d, NULL);
		}
	}
	for (s = 0; s < SHAPE_MAX; s++) {
		stamp_now(&t0);
		weir_assembler_stats(b->tables[s].as, &st);
		stamp_now(&t1);
		b->tables[s].stats_ns = t1.cpu_ns - t0.cpu_ns;
	}
	return 0;
}

static void tables_destroy(struct bench *b)
{
	int s;

	for (s = 0; s < SHAPE_MAX; s++) {
		weir_assembler_free(b->tables[s].as);
		weir_flow_table_close(b->tables[s].reader);
		weir_flow_table_close(b->tables[s].batch_reader);
		weir_datapath_destroy(b->tables[s].dp);
		b->tables[s].as = NULL;
		b->tables[s].reader = NULL;
		b->tables[s].batch_reader = NULL;
		b->tables[s].dp = NULL;
	}
}

/* ---- output ---- */

static void print_sweep_row(const struct row *r, const struct row *floor, __u32 entries)
{
	double med = bench_median(r->cpu_ns, r->n), q[ROUNDS_MAX];
	int i;

	printf("%-46s %8.1f %8.1f %8.1f %9.1f %9llu", r->name, bench_min(r->cpu_ns, r->n) / 1e6,
	       med / 1e6, med / entries, bench_median(r->wall_ns, r->n) / 1e6,
	       (unsigned long long)r->records);
	if (r->records)
		printf(" %10.2f", r->records / (med / 1e9) / 1e6);
	else
		printf(" %10s", "-");
	if (r != floor && r->n == floor->n) {
		/* per round, against that round's floor */
		for (i = 0; i < r->n; i++)
			q[i] = r->cpu_ns[i] / floor->cpu_ns[i];
		printf(" %7.2fx", bench_median(q, r->n));
	} else if (r != floor) {
		printf(" %7.2fx", med / bench_median(floor->cpu_ns, floor->n));
	}
	printf("\n");
}

static void report_sweeps(struct bench *b)
{
	int s, i;

	for (s = 0; s < SHAPE_MAX; s++) {
		struct sweep_table *t = &b->tables[s];

		printf("\nSweep, %s: %u kernel flows, %u conversations\n", t->name, t->entries,
		       t->convs);
		printf("%-46s %8s %8s %8s %9s %9s %10s %8s\n", "", "CPU ms", "CPU ms", "ns/flow",
		       "wall ms", "records", "M rec/s", "x floor");
		printf("%-46s %8s %8s %8s %9s %9s %10s %8s\n", "", "min", "med", "med CPU", "med",
		       "", "med CPU", "med");
		print_sweep_row(&t->floor, &t->floor, t->entries);
		print_sweep_row(&t->batch, &t->floor, t->entries);
		print_sweep_row(&t->first, &t->floor, t->entries);
		print_sweep_row(&t->steady, &t->floor, t->entries);
		print_sweep_row(&t->due, &t->floor, t->entries);
		printf("  (first: %d rounds, a new assembler each; steady: %d rounds, each after "
		       "its floor; active-timeout: %d rounds)\n",
		       t->first.n, t->steady.n, t->due.n);
		printf("  derived (medians): %.0f ns per record made (active-timeout - steady, per "
		       "record), %.0f ns per new conversation's state (first - active-timeout)\n",
		       (bench_median(t->due.cpu_ns, t->due.n) -
			bench_median(t->steady.cpu_ns, t->steady.n)) /
			       t->convs,
		       (bench_median(t->first.cpu_ns, t->first.n) -
			bench_median(t->due.cpu_ns, t->due.n)) /
			       t->convs);
		for (i = 0; i < t->first.n; i++) {
			const struct first_cost *c = &t->cost[i];

			printf("  first sweep %d: %.0f ms CPU = user %.0f + system %.0f ms; %ld page "
			       "faults, %lld THP faults (%lld fell back), %lld compaction stalls\n",
			       i + 1, t->first.cpu_ns[i] / 1e6, c->user_ns / 1e6, c->sys_ns / 1e6,
			       c->minflt, c->thp_alloc, c->thp_fallback, c->compact_stall);
		}
		printf("  assembler memory per conversation over a first sweep: %.0f B heap, %.0f "
		       "B RSS; weir_assembler_stats() after a sweep: %.1f ms CPU\n",
		       (double)t->heap_grown / t->convs, (double)t->rss_grown / t->convs,
		       t->stats_ns / 1e6);
	}
}

static void report_ring(struct bench *b)
{
	double cpu_ns = 0;
	__u64 events = 0;
	int i, j;

	printf("\nRing buffer: weir_xdp_ingress under BPF_PROG_TEST_RUN writes %u events per "
	       "round, weir_assembler_consume() drains them; %d rounds per kind, interleaved\n",
	       RING_CHUNK, RING_ROUNDS);
	printf("%-46s %10s %10s %12s %10s %10s\n", "event (CPU of the consuming thread)",
	       "ns/event", "ns/event", "events/s", "wall ns", "records");
	printf("%-46s %10s %10s %12s %10s %10s\n", "", "min", "med", "med CPU", "med", "");
	for (i = 0; i < 2; i++) {
		const struct row *c = &b->kinds[i].consume;
		double med = bench_median(c->cpu_ns, c->n) / RING_CHUNK;

		printf("%-46s %10.0f %10.0f %12.0f %10.0f %10llu\n", b->kinds[i].name,
		       bench_min(c->cpu_ns, c->n) / RING_CHUNK, med, 1e9 / med,
		       bench_median(c->wall_ns, c->n) / RING_CHUNK,
		       (unsigned long long)b->kinds[i].records);
		for (j = 0; j < c->n; j++)
			cpu_ns += c->cpu_ns[j];
		events += b->kinds[i].events;
	}
	printf("  (all %llu events, both kinds: %.0f events/s of CPU; the producer's time is not "
	       "counted)\n",
	       (unsigned long long)events, events / (cpu_ns / 1e9));
}

static void print_work_row(const char *name, const struct row *r, const struct row *q)
{
	double work = bench_median(r->wall_ns, r->n), query = bench_median(q->wall_ns, q->n);

	printf("%-50s %6d %8.2f %8.2f %8s %8.2f\n", name, r->n, bench_min(r->wall_ns, r->n) / 1e6,
	       work / 1e6, "", stat_quantile(r->wall_ns, r->n, 1.0) / 1e6);
	printf("  = parse + store query + filter %.2f ms (%.2f ms CPU), then %llu records to JSON "
	       "text at %.1f us each (%.2f ms CPU in all)\n",
	       query / 1e6, bench_median(q->cpu_ns, q->n) / 1e6, (unsigned long long)r->records,
	       r->records ? (work - query) / r->records / 1e3 : 0.0,
	       bench_median(r->cpu_ns, r->n) / 1e6);
}

static void print_http_row(const struct http_row *r)
{
	double p50 = stat_quantile(r->ms, r->n, 0.5);

	printf("%-50s %6d %8.2f %8.2f %8.2f %8.2f %11.0f", r->name, r->n, bench_min(r->ms, r->n),
	       p50, stat_quantile(r->ms, r->n, 0.99), stat_quantile(r->ms, r->n, 1.0), r->bytes);
	if (r->floor)
		printf(" %6.2fx", p50 / (bench_median(r->floor->wall_ns, r->floor->n) / 1e6));
	printf("\n");
}

/* A round's p99 of the filtered requests over TCP (unix false) or the unix socket. */
static double round_p99(const struct bench *b, const struct http_round *rd, bool unix_socket)
{
	const struct http_row *r = unix_socket ? &b->flows_unix : &b->flows_tcp;
	int first = unix_socket ? rd->unix0 : rd->tcp0, n = unix_socket ? rd->unix_n : rd->tcp_n;

	return n ? stat_quantile(r->ms + first, n, 0.99) : 0;
}

/* The round the host disturbed least: its wall times are the agent's own. */
static const struct http_round *round_quietest(const struct bench *b)
{
	const struct http_round *best = &b->rounds[0];
	int i;

	for (i = 1; i < HTTP_ROUNDS; i++)
		if (b->rounds[i].steal_pct < best->steal_pct)
			best = &b->rounds[i];
	return best;
}

static void report_http(struct bench *b)
{
	int i;

	printf("\nHTTP: %u records in the store; a new connection per request, TCP and unix "
	       "socket interleaved\n",
	       STORE_RECORDS);
	printf("%-50s %6s %8s %8s %8s %8s %11s %7s\n", "request (wall time, client side)", "n",
	       "min ms", "p50 ms", "p99 ms", "max ms", "bytes", "x work");
	print_work_row("handler work in-process, 1% filter (floor)", &b->work_filtered,
		       &b->query_filtered);
	print_http_row(&b->flows_tcp);
	print_http_row(&b->flows_unix);
	print_work_row("handler work in-process, unfiltered (floor)", &b->work_all, &b->query_all);
	print_http_row(&b->flows_all);
	print_http_row(&b->status);
	printf("  (filter: allowlist source_pod \"%s/%s\", %zu records = %.1f%% of the store; "
	       "handler work = request parse, weir_store_query, weir_flow_record_write_json "
	       "per record)\n",
	       POD_NS, FILTER_POD_PREFIX, b->filter_expect,
	       100.0 * b->filter_expect / STORE_RECORDS);
	printf("  (the filtered answer arrived in %ld HTTP chunks, %.1f per record)\n", b->chunks,
	       (double)b->chunks / (b->filter_expect ? b->filter_expect : 1));
	for (i = 0; i < HTTP_ROUNDS; i++)
		printf("  (round %d of the filtered requests, %d per transport: p99 %.2f ms TCP, "
		       "%.2f ms unix socket; the host stole %.1f%% of the VM's CPU meanwhile)\n",
		       i + 1, b->rounds[i].tcp_n, round_p99(b, &b->rounds[i], false),
		       round_p99(b, &b->rounds[i], true), b->rounds[i].steal_pct);
}

static void report_memory(struct bench *b)
{
	printf("\nMemory: resident (/proc/self/statm) and malloc'ed in use (mallinfo2); "
	       "sizeof(struct weir_flow_record) = %zu B\n",
	       sizeof(struct weir_flow_record));
	printf("%-68s %9s %10s %12s\n", "", "RSS MiB", "heap MiB", "per item");
	printf("%-68s %9.1f %10.1f\n", "process start (libraries)", b->rss_start / MIB,
	       b->heap_start / MIB);
	printf("%-68s %9.1f %10.1f\n",
	       "agent built: datapath, 1000 pods, metrics, HTTP server, empty store",
	       b->rss_agent / MIB, b->heap_agent / MIB);
	printf("%-68s %9.1f %10.1f %6.0f B/record (RSS), %.0f B (heap)\n",
	       "store full: 65535 records made here", b->rss_constructed / MIB,
	       b->heap_constructed / MIB,
	       (double)(b->rss_constructed - b->rss_agent) / STORE_RECORDS,
	       (double)(b->heap_constructed - b->heap_agent) / STORE_RECORDS);
	printf("%-68s %9.1f %10.1f %6.0f B/conversation (RSS), %.0f B (heap)\n",
	       "store full of the assembler's records, 65535 conversations tracked",
	       b->rss_full / MIB, b->heap_full / MIB,
	       (double)(b->rss_full - b->rss_constructed) / STORE_RECORDS,
	       (double)(b->heap_full - b->heap_constructed) / STORE_RECORDS);
}

static void report_targets(struct bench *b)
{
	const struct http_row *hr[] = { &b->flows_tcp, &b->flows_unix };
	double scale, cpu_s, p99;
	int s, i;

	printf("\nTargets (MISS never fails the run)\n");
	for (s = 0; s < SHAPE_MAX; s++) {
		struct sweep_table *t = &b->tables[s];
		const struct row *rows[] = { &t->first, &t->steady, &t->due };
		const char *what[] = { "first", "steady", "active-timeout" };

		/* per 1M (2^20) flows */
		scale = (double)(1u << 20) / t->entries;
		for (i = 0; i < 3; i++) {
			cpu_s = bench_median(rows[i]->cpu_ns, rows[i]->n) * scale / 1e9;
			printf("  sweep of 1M flows < %.0f s CPU, %-15s %-8s  %6.2f s  %s\n",
			       TARGET_SWEEP_S, what[i], s == SHAPE_TWO_WAY ? "two-way" : "one-way",
			       cpu_s, bench_verdict(cpu_s < TARGET_SWEEP_S));
		}
	}
	/* Wall-time tails are the host's as much as ours: judged on the round
	 * it disturbed least, every round's figures printed above.
	 */
	for (i = 0; i < 2 && !b->o.sweeps_only; i++) {
		const struct http_round *rd = round_quietest(b);

		p99 = round_p99(b, rd, i);
		printf("  GET /v1/flows 1%% filter p99 < %.0f ms, %-21s %6.2f ms %s (round %d: "
		       "%.1f%% stolen; all rounds %.2f ms)\n",
		       TARGET_FLOWS_P99_MS, i ? "unix socket" : "TCP", p99,
		       bench_verdict(p99 < TARGET_FLOWS_P99_MS), (int)(rd - b->rounds) + 1,
		       rd->steal_pct, stat_quantile(hr[i]->ms, hr[i]->n, 0.99));
	}
	printf("  RSS with the store full < %.0f MiB %25s %6.1f MiB %s\n", TARGET_RSS_MIB, "",
	       b->rss_full / MIB, bench_verdict(b->rss_full / MIB < TARGET_RSS_MIB));
}

static int report_checks(struct bench *b)
{
	int s;

	printf("\nChecks\n");
	for (s = 0; s < SHAPE_MAX; s++)
		if (b->tables[s].steady_records)
			printf("  note: steady sweeps of %s made %llu records: the active timeout "
			       "(%d s) passed during them (machine too slow?)\n",
			       b->tables[s].name, (unsigned long long)b->tables[s].steady_records,
			       ACTIVE_TIMEOUT_S);
	if (b->failed) {
		printf("  FAIL: %d checks (see stderr)\n", b->failed);
		return -EPROTO;
	}
	printf("  ok: every flow read and one record per conversation in every first and "
	       "active-timeout sweep");
	if (!b->o.sweeps_only)
		printf("; one record per ring-buffer event, none lost; every /v1/flows answer "
		       "held exactly the filtered records");
	printf("\n");
	return 0;
}

/* ---- main ---- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-f flows] [-r rounds] [-n requests] [-c cpu] [-s] [-v]\n"
		"  -f  kernel flows per sweep table, even (default %u)\n"
		"  -r  first sweeps per table, a new assembler each (default %d, at most %d)\n"
		"  -n  filtered /v1/flows requests per transport in each of %d rounds (default %d)\n"
		"  -c  CPU to pin the measuring thread to, -1 for none (default: the last one)\n"
		"  -s  sweeps only: no HTTP or ring-buffer measures (to profile the sweeps)\n"
		"  -v  debug logging, libbpf and verifier output included\n",
		prog, FLOWS_DEFAULT, FIRST_ROUNDS, FIRST_ROUNDS_MAX, HTTP_ROUNDS, HTTP_DEFAULT);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	long long v = 0;
	int c, err = 0;

	o->flows = FLOWS_DEFAULT;
	o->requests = HTTP_DEFAULT;
	o->cpu = -2;
	o->first_rounds = FIRST_ROUNDS;
	while ((c = getopt(argc, argv, "f:r:n:c:svh")) != -1) {
		switch (c) {
		case 'f':
			/* conv_keys(): unique keys up to 2^21 one-way flows */
			err = bench_parse_num(optarg, 2, 1 << 21, &v);
			o->flows = v & ~1ULL;
			break;
		case 'r':
			err = bench_parse_num(optarg, 1, FIRST_ROUNDS_MAX, &v);
			o->first_rounds = v;
			break;
		case 's':
			o->sweeps_only = true;
			break;
		case 'n':
			err = bench_parse_num(optarg, 1, HTTP_MAX, &v);
			o->requests = v;
			break;
		case 'c':
			err = bench_parse_num(optarg, -1, CPU_SETSIZE - 1, &v);
			o->cpu = v;
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

static void report_head(struct bench *b)
{
	struct utsname uts;

	uname(&uts);
	printf("Weir agent benchmark: the agent's assembler, endpoint cache (%u pods), store, "
	       "metrics and HTTP server; kernel %s, ",
	       PODS, uts.release);
	if (b->cpu >= 0)
		printf("measuring thread pinned to cpu %d (HTTP server threads unpinned)\n",
		       b->cpu);
	else
		printf("unpinned\n");
	printf("CPU = CLOCK_THREAD_CPUTIME_ID of the measuring thread (user + system), wall = "
	       "CLOCK_MONOTONIC; active timeout %d s, idle %d s (sweep tables: %d s)\n",
	       ACTIVE_TIMEOUT_S, IDLE_TIMEOUT_S, SWEEP_IDLE_TIMEOUT_S);
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct bench *b;
	int err;

	mallopt(M_MMAP_THRESHOLD, WEIR_MMAP_THRESHOLD); /* as weir-agent's main() does */
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
		log_err("bench needs root (BPF maps and BPF_PROG_TEST_RUN)");
		free(b);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b->cpu = -1;
	b->flows_tcp.name = "GET /v1/flows, 1% filter, TCP 127.0.0.1";
	b->flows_unix.name = "GET /v1/flows, 1% filter, unix socket";
	b->flows_all.name = "GET /v1/flows, unfiltered (every record), TCP";
	b->status.name = "GET /v1/status, TCP";
	b->flows_tcp.floor = &b->work_filtered;
	b->flows_unix.floor = &b->work_filtered;
	b->flows_all.floor = &b->work_all;
	b->rss_start = rss_bytes();
	b->heap_start = heap_bytes();

	/* The agent first, while nothing else is in memory: its RSS is the figure. */
	err = agent_build(b);
	err = err ?: store_fill(b);
	if (err)
		goto out;
	/* The server's threads exist now: only the measuring thread is pinned. */
	b->cpu = bench_pin_cpu(b->o.cpu);
	if (!b->o.sweeps_only) {
		err = http_measure(b);
		err = err ?: ring_measure(b);
	}
	ring_destroy(b);
	if (err)
		goto out;
	err = tables_load(b);
	err = err ?: sweeps_run(b);
	if (err)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);

	report_head(b);
	report_sweeps(b);
	if (!b->o.sweeps_only) {
		report_ring(b);
		report_http(b);
	}
	report_memory(b);
	report_targets(b);
	err = report_checks(b);
	printf("\nbench/agent: %.1f s\n", (bench_ts_ns(&t1) - bench_ts_ns(&t0)) / 1e9);
out:
	tables_destroy(b);
	ring_destroy(b);
	agent_destroy(b);
	free(b);
	return err ? 1 : 0;
}
