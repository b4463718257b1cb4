// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/relay: what the relay's ingest costs, through the real code it links
 * (librelay's peers loop on libcurl, its stream lines and merge, libweir's
 * store and HTTP server; nothing stubbed, nothing copied):
 *
 *   ingest  8 simulated agents, each a real HTTP server on loopback
 *           (libmicrohttpd) answering /v1/status and streaming /v1/flows
 *           ?follow=1 as fast as it can: records the agent's code wrote,
 *           pre-encoded once, stamped with the current time as they go.
 *           The relay's peers thread parses, merges and stores them; its
 *           CPU time (CLOCK_THREAD_CPUTIME_ID) gives records/s on one core;
 *           the agents are pinned to the other CPU when there is one.
 *           Measured twice a round: the agents answering plain NDJSON (the
 *           relay's fallback, the fast parser) and the compact stream the
 *           relay asks for (weir/flow_compact.h, written by the real
 *           encoder), each with a relay of its own; the target is the
 *           compact one's;
 *   memory  resident and heap memory per record once the store is full
 *           (the records decoded from JSON, with their own endpoints);
 *   http    GET /v1/flows on the relay's unix socket with the store full
 *           and a filter that matches 1% of it.
 *
 * Wrong results (parse errors, a node not connected, a wrong answer) fail
 * the run; missed targets print MISS without changing the exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include "common.h"
#include "flow.h"
#include "flow_compact.h"
#include "flow_parse.h"
#include "http_server.h"
#include "json_writer.h"
#include "log.h"
#include "merge.h"
#include "peers.h"
#include "store.h"
#include "timefmt.h"

#define PEERS		  8
#define PODS		  1000u
#define RECORDS_PER_PEER  1000u /* pre-encoded, one per pod, streamed round and round */
#define STORE_RECORDS	  131072u
#define INGEST_S_DEFAULT  8
#define ROUNDS_DEFAULT	  1 /* of the two ingest runs, NDJSON then compact */
#define ROUNDS_MAX	  10
#define COMPACT_TIME_LEN  19 /* "1785924738123456789": a time in ns, 19 digits */
#define WARMUP_MS	  1000
#define HTTP_DEFAULT	  200
#define HTTP_MAX	  2000
#define WORK_ROUNDS	  9	    /* in-process runs of the filtered query */
#define BLOCK_BYTES	  65536	    /* per read callback of a simulated agent */
#define FILTER_POD_PREFIX "pod-001" /* pods 10-19 of 1000: 1% */
#define NS_PER_S	  1000000000ULL
#define MIB		  (1024.0 * 1024.0)
#define TIME_TEXT_LEN	  30 /* "2026-08-05T10:12:18.510175415Z": 9 digits, always */

#define PARSE_ROUNDS	     40	      /* of every agent's text, for the parse-only figure */
#define TARGET_RECORDS_PER_S 500000.0 /* on one core, at least */
#define TARGET_FLOWS_P99_MS  50.0

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

/* ---- the simulated agents ---- */

struct agent {
	int idx;
	char name[32];
	int port;
	struct MHD_Daemon *d;
	char *text; /* RECORDS_PER_PEER NDJSON lines */
	size_t len;
	size_t *time_at; /* offsets of the time strings to stamp, two per record */
	size_t n_time_at;
	/* The same records as the compact stream: the header and definitions
	 * once (prologue), then the record lines round and round (ctext).
	 */
	char *prologue;
	size_t plen;
	char *ctext;
	size_t clen;
	size_t *ctime_at; /* the time of each record line */
	size_t n_ctime_at;
	bool serve_compact; /* atomic: answer format=compact with it (else NDJSON) */
	int cpu;	    /* its connection threads' CPU, -1: any */
};

/* One follow stream from an agent: where it is in the text. */
struct stream {
	struct agent *a;
	size_t off;
	bool pinned;
	bool compact;
	size_t poff; /* compact: how much of the prologue went */
};

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Stamps every record with now (as one second's worth of records would be). */
static void agent_stamp(struct agent *a)
{
	char now[WEIR_TIME_STR_LEN];
	size_t i;

	weir_time_format(clock_ns(CLOCK_REALTIME) | 1, now, sizeof(now)); /* 9 digits */
	for (i = 0; i < a->n_time_at; i++)
		memcpy(a->text + a->time_at[i], now, TIME_TEXT_LEN);
}

/* The same for the compact text: each record line's time in ns. */
static void agent_stamp_compact(struct agent *a)
{
	char now[32];
	size_t i;

	snprintf(now, sizeof(now), "%019llu", (unsigned long long)clock_ns(CLOCK_REALTIME));
	for (i = 0; i < a->n_ctime_at; i++)
		memcpy(a->ctext + a->ctime_at[i], now, COMPACT_TIME_LEN);
}

static ssize_t compact_read(struct stream *st, char *out, size_t max)
{
	struct agent *a = st->a;
	size_t n = 0, k;

	if (st->poff < a->plen) {
		k = a->plen - st->poff;
		if (k > max)
			k = max;
		memcpy(out, a->prologue + st->poff, k);
		st->poff += k;
		n = k;
	}
	while (n < max) {
		if (st->off == a->clen) {
			st->off = 0;
			agent_stamp_compact(a);
		}
		k = a->clen - st->off;
		if (k > max - n)
			k = max - n;
		memcpy(out + n, a->ctext + st->off, k);
		n += k;
		st->off += k;
	}
	return (ssize_t)n;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *st = cls;
	struct agent *a = st->a;
	size_t n = 0, k;

	(void)pos;
	if (!st->pinned) {
		pin_self(a->cpu);
		st->pinned = true;
	}
	if (st->compact)
		return compact_read(st, out, max);
	while (n < max) {
		if (st->off == a->len) {
			st->off = 0;
			/* the agent's own copy is written by its one stream only */
			agent_stamp(a);
		}
		k = a->len - st->off;
		if (k > max - n)
			k = max - n;
		memcpy(out + n, a->text + st->off, k);
		n += k;
		st->off += k;
	}
	return (ssize_t)n;
}

static enum MHD_Result agent_handle(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version, const char *upload,
				    size_t *upload_size, void **con_cls)
{
	struct agent *a = cls;
	struct MHD_Response *resp;
	struct stream *st;
	enum MHD_Result ret;
	const char *fmt;
	char body[256];
	int n;

	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	if (!*con_cls) {
		*con_cls = a; /* headers in; answer on the next call */
		return MHD_YES;
	}
	if (!strcmp(url, "/v1/status")) {
		n = snprintf(body, sizeof(body),
			     "{\"node_name\":\"%s\",\"num_flows\":%u,\"max_flows\":65535,"
			     "\"seen_flows\":%u,\"version\":\"bench\"}\n",
			     a->name, RECORDS_PER_PEER, RECORDS_PER_PEER);
		resp = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	} else if (!strcmp(url, "/v1/flows")) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		st->a = a;
		fmt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
		/* an agent that ignores format= answers plain NDJSON, the relay reads it so */
		st->compact = __atomic_load_n(&a->serve_compact, __ATOMIC_ACQUIRE) && fmt &&
			      !strcmp(fmt, WEIR_COMPACT_FORMAT);
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_BYTES, stream_read,
							 st, free);
		if (!resp)
			free(st);
		else
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						st->compact ? WEIR_COMPACT_MEDIA :
							      "application/x-ndjson");
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c,
				 strcmp(url, "/v1/status") != 0 && strcmp(url, "/v1/flows") != 0 ?
					 MHD_HTTP_NOT_FOUND :
					 MHD_HTTP_OK,
				 resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct weir_endpoint *pod_endpoint(unsigned int p)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);
	char s[64];

	if (!ep)
		return NULL;
	snprintf(s, sizeof(s), "pod-%04u", p);
	ep->namespace = strdup("bench");
	ep->pod_name = strdup(s);
	ep->labels = calloc(2, sizeof(char *));
	if (ep->labels) {
		snprintf(s, sizeof(s), "k8s:app=app-%03u", p / 10);
		ep->labels[0] = strdup(s);
		ep->labels[1] = strdup(p % 2 ? "k8s:tier=backend" : "k8s:tier=frontend");
		ep->n_labels = 2;
	}
	snprintf(s, sizeof(s), "app-%03u", p / 10);
	ep->workload_name = strdup(s);
	ep->workload_kind = strdup("Deployment");
	return ep;
}

/* The records an agent's assembler makes for its pods' conversations, as
 * /v1/flows writes them; the times to stamp found in the text.
 */
static int agent_text(struct agent *a)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	struct weir_json_buf pro = WEIR_JSON_BUF_INIT, cb = WEIR_JSON_BUF_INIT;
	const uint64_t t0 = 1785924738123456789ULL; /* 9 fractional digits */
	char t0_text[WEIR_TIME_STR_LEN], *p;
	struct weir_compact_encoder *enc;
	unsigned int i;
	size_t n;
	int err;

	err = weir_compact_encoder_new(&enc, 0, 0);
	if (err)
		return err;
	weir_compact_write_header(&pro);
	weir_time_format(t0, t0_text, sizeof(t0_text));
	for (i = 0; i < RECORDS_PER_PEER && !err; i++) {
		struct weir_flow_record *r = weir_flow_record_new();
		unsigned int src = i % PODS, dst = (i * 7 + 1) % PODS;

		if (!r)
			return -ENOMEM;
		r->id = (uint64_t)a->idx * RECORDS_PER_PEER + i + 1;
		r->time_ns = t0;
		r->first_seen_ns = t0 - 2000000;
		r->last_seen_ns = t0;
		r->type = i % 3 ? WEIR_RECORD_UPDATE : WEIR_RECORD_START;
		r->end_reason = i % 3 ? WEIR_END_ACTIVE : WEIR_END_NONE;
		r->family = 4;
		r->proto = IPPROTO_TCP;
		r->saddr[0] = 10;
		r->saddr[1] = (uint8_t)(a->idx + 1);
		r->saddr[2] = (uint8_t)(src >> 8);
		r->saddr[3] = (uint8_t)src;
		r->daddr[0] = 10;
		r->daddr[1] = (uint8_t)(a->idx + 1);
		r->daddr[2] = (uint8_t)(dst >> 8);
		r->daddr[3] = (uint8_t)dst;
		r->sport = (uint16_t)(10000 + i);
		r->dport = 443;
		r->ifindex = 1000 + src;
		snprintf(r->ifname, sizeof(r->ifname), "lxc%04u", src);
		r->dir = WEIR_DIR_EGRESS;
		r->hook = WEIR_HOOK_TC;
		r->verdict = WEIR_VERDICT_FORWARDED;
		r->reason = WEIR_REASON_FORWARDED;
		r->is_reply = WEIR_REPLY_NO;
		r->tcp_flags = WEIR_TCP_SYN | WEIR_TCP_ACK | WEIR_TCP_PSH;
		r->packets = 10 + i;
		r->bytes = 1400 + i;
		r->reply_packets = 8 + i;
		r->reply_bytes = 9000 + i;
		r->node_name = strdup(a->name);
		r->src = pod_endpoint(src);
		r->dst = pod_endpoint(dst);
		if (!r->node_name || !r->src || !r->dst)
			err = -ENOMEM;
		err = err ?: weir_flow_record_write_json(r, &b);
		weir_json_char(&b, '\n');
		/* the compact stream: definitions in the prologue, then the line alone */
		err = err ?: weir_compact_write_record(enc, r, &pro);
		err = err ?: weir_compact_write_record(enc, r, &cb);
		weir_flow_record_put(r);
	}
	weir_compact_encoder_free(enc);
	if (err || b.err || pro.err || cb.err) {
		weir_json_buf_release(&b);
		weir_json_buf_release(&pro);
		weir_json_buf_release(&cb);
		return -ENOMEM;
	}
	/* the prologue: the header and definitions, its record lines cut out */
	for (n = 0, p = pro.data; p < pro.data + pro.len; p = strchr(p, '\n') + 1) {
		size_t k = (size_t)(strchr(p, '\n') + 1 - p);

		if (p[0] == '[' && p[1] >= '0' && p[1] <= '9')
			continue;
		memmove(pro.data + n, p, k);
		n += k;
	}
	a->prologue = pro.data;
	a->plen = n;
	a->ctext = cb.data;
	a->clen = cb.len;
	a->ctime_at = calloc(RECORDS_PER_PEER, sizeof(size_t));
	if (!a->ctime_at) {
		weir_json_buf_release(&b);
		return -ENOMEM;
	}
	/* every line of ctext is a record: "[" and its time */
	for (n = 0; n < a->clen; n = (size_t)(strchr(a->ctext + n, '\n') - a->ctext) + 1) {
		if (a->ctext[n] != '[' || a->n_ctime_at == RECORDS_PER_PEER ||
		    strncmp(a->ctext + n + 1, "1785924738123456789,", COMPACT_TIME_LEN + 1) != 0) {
			weir_json_buf_release(&b);
			return -EPROTO;
		}
		a->ctime_at[a->n_ctime_at++] = n + 1;
	}
	a->time_at = calloc((size_t)2 * RECORDS_PER_PEER, sizeof(size_t));
	if (!a->time_at) {
		weir_json_buf_release(&b);
		return -ENOMEM;
	}
	/* "time" in the flow and in the response; first/last_seen stay */
	for (p = b.data; (p = strstr(p, "\"time\":\"")); p += 8) {
		if (strncmp(p + 8, t0_text, TIME_TEXT_LEN) != 0 ||
		    a->n_time_at == (size_t)2 * RECORDS_PER_PEER)
			continue;
		a->time_at[a->n_time_at++] = (size_t)(p + 8 - b.data);
	}
	a->text = b.data;
	a->len = b.len;
	return a->n_time_at == (size_t)2 * RECORDS_PER_PEER ? 0 : -EPROTO;
}

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

static int agent_start(struct agent *a)
{
	int i;

	for (i = 0; i < 5 && !a->d; i++) {
		a->port = free_port();
		if (a->port < 0)
			return a->port;
		a->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
						MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
					(uint16_t)a->port, NULL, NULL, agent_handle, a,
					MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
	}
	if (!a->d) {
		log_err("bench: start simulated agent %s", a->name);
		return -EIO;
	}
	return 0;
}

/* ---- the relay ---- */

/* One ingest run: the peers thread's figures. */
struct ingest_run {
	double cpu_s, wall_s, recs;
	uint64_t released, late, early, parse_errors;
	int connected;
};

struct bench {
	int ingest_s;
	int rounds;
	int requests;
	struct ingest_run runs[2][ROUNDS_MAX]; /* [compact][round] */
	int relay_cpu, agents_cpu;
	struct agent agents[PEERS];
	struct weir_store *store;
	struct weir_merge *merge;
	struct weir_peers *peers;
	struct weir_http_server *http;
	char dir[64];
	char sock[96];
	/* on the peers' thread */
	uint64_t records; /* atomic */
	int mark;	  /* atomic: 1 asks for the start sample, 2 for the end one */
	int marked;	  /* atomic: how many samples taken */
	bool pinned;
	uint64_t cpu_ns[2], wall_ns[2], recs[2];
	/* memory */
	long long rss_empty, heap_empty, rss_full, heap_full;
	/* http */
	double ms[HTTP_MAX];
	int n_ms;
	size_t filter_expect;
	double bytes;
	double work_ns[WORK_ROUNDS];
	struct weir_merge_stats ms_stats;
	struct weir_store_stats st_stats;
	uint64_t parse_errors, flows_seen;
	double parse_ns, parse_recs;   /* the fast parser alone, one core */
	uint64_t parse_slow;	       /* lines it left to the general path */
	double cparse_ns, cparse_recs; /* the compact reader alone */
	uint64_t cparse_bad;	       /* lines it refused */
	int connected;
	int failed;
};

/* Resident memory from /proc/self/statm (size, then resident, in pages). */
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
	p = ok ? strchr(buf, ' ') : NULL;
	if (!p)
		return -1;
	errno = 0;
	resident = strtoul(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -1;
	return (long long)resident * sysconf(_SC_PAGESIZE);
}

static long long heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long long)mi.uordblks + (long long)mi.hblkhd;
}

static void sample(struct bench *b)
{
	int mark = __atomic_load_n(&b->mark, __ATOMIC_ACQUIRE), k;

	k = __atomic_load_n(&b->marked, __ATOMIC_RELAXED);
	if (mark <= k || k >= 2)
		return;
	b->cpu_ns[k] = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	b->wall_ns[k] = clock_ns(CLOCK_MONOTONIC);
	b->recs[k] = __atomic_load_n(&b->records, __ATOMIC_RELAXED);
	__atomic_store_n(&b->marked, k + 1, __ATOMIC_RELEASE);
}

static void on_release(void *ctx, struct weir_flow_record *rec, bool late)
{
	struct bench *b = ctx;

	(void)late;
	weir_store_add(b->store, rec);
}

static void on_record(void *ctx, struct weir_flow_record *rec, uint64_t now_real_ns)
{
	struct bench *b = ctx;

	weir_merge_add(b->merge, rec, now_real_ns);
	__atomic_store_n(&b->records, b->records + 1, __ATOMIC_RELAXED);
	if (!(b->records & 255))
		sample(b);
}

static void on_note(void *ctx, const char *line)
{
	struct bench *b = ctx;

	weir_store_notify(b->store, line);
}

static uint64_t on_tick(void *ctx, uint64_t now_real_ns)
{
	struct bench *b = ctx;

	if (!b->pinned) {
		pin_self(b->relay_cpu);
		b->pinned = true;
	}
	sample(b);
	weir_merge_release(b->merge, now_real_ns);
	return weir_merge_due_in(b->merge, now_real_ns);
}

static void on_stop(void *ctx)
{
	struct bench *b = ctx;

	weir_merge_flush(b->merge);
}

static int relay_start(struct bench *b, bool with_http)
{
	struct weir_peers_opts po = {
		.on_record = on_record,
		.on_note = on_note,
		.on_tick = on_tick,
		.on_stop = on_stop,
		.ctx = b,
	};
	struct weir_http_server_opts ho = { .name = "relay" };
	char addr[32];
	int i, err;

	__atomic_store_n(&b->records, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&b->mark, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&b->marked, 0, __ATOMIC_RELAXED);
	b->pinned = false;
	err = weir_store_new(&b->store, STORE_RECORDS);
	/* the relay's sort window; held at most what 1 GiB's fifth holds */
	err = err ?: weir_merge_new(&b->merge, WEIR_SORT_WINDOW_NS_DEFAULT, 200000, on_release, b);
	err = err ?: weir_peers_new(&b->peers, &po);
	for (i = 0; !err && i < PEERS; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", b->agents[i].port);
		err = weir_peers_add(b->peers, addr);
	}
	if (err || !with_http)
		return err ?: weir_peers_start(b->peers);
	if (!mkdtemp(strcpy(b->dir, "/tmp/weir-bench-relay-XXXXXX"))) {
		b->dir[0] = '\0';
		return -errno;
	}
	snprintf(b->sock, sizeof(b->sock), "%s/relay.sock", b->dir);
	ho.socket_path = b->sock;
	ho.store = b->store;
	err = weir_http_server_start(&ho, &b->http);
	return err ?: weir_peers_start(b->peers);
}

static int nodes_connected(struct bench *b)
{
	struct weir_node_info *v;
	size_t n, i;
	int up = 0;

	if (weir_peers_snapshot(b->peers, &v, &n))
		return -1;
	b->parse_errors = 0;
	b->flows_seen = 0;
	for (i = 0; i < n; i++) {
		up += v[i].state == WEIR_NODE_CONNECTED;
		b->parse_errors += v[i].parse_errors;
		b->flows_seen += v[i].flows_seen;
	}
	weir_node_info_free(v, n);
	return up;
}

static void relay_stop(struct bench *b)
{
	weir_http_server_stop(b->http);
	b->http = NULL;
	weir_peers_free(b->peers);
	b->peers = NULL;
	weir_merge_free(b->merge);
	b->merge = NULL;
	weir_store_free(b->store);
	b->store = NULL;
}

/* One ingest run; the last one leaves the store full, the agents stopped. */
static int ingest_measure(struct bench *b, bool last)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	struct weir_store_stats ss;
	int i;

	malloc_trim(0); /* what an earlier run freed */
	b->rss_empty = rss_bytes();
	b->heap_empty = heap_bytes();
	while (nodes_connected(b) < PEERS) {
		if (clock_ns(CLOCK_MONOTONIC) - t0 > 10 * NS_PER_S) {
			log_err("bench: only %d of %d simulated agents connected",
				nodes_connected(b), PEERS);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
	usleep(WARMUP_MS * 1000);
	__atomic_store_n(&b->mark, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 1000 && __atomic_load_n(&b->marked, __ATOMIC_ACQUIRE) < 1; i++)
		usleep(1000);
	sleep((unsigned int)b->ingest_s);
	__atomic_store_n(&b->mark, 2, __ATOMIC_RELEASE);
	for (i = 0; i < 1000 && __atomic_load_n(&b->marked, __ATOMIC_ACQUIRE) < 2; i++)
		usleep(1000);
	b->connected = nodes_connected(b);
	if (!last) {
		weir_peers_stop(b->peers);
		weir_merge_stats(b->merge, &b->ms_stats);
		return __atomic_load_n(&b->marked, __ATOMIC_ACQUIRE) < 2 ? -EPROTO : 0;
	}
	/* the store fills: more than it holds went in */
	for (i = 0; i < 600; i++) {
		weir_store_stats(b->store, &ss);
		if (ss.num_flows == STORE_RECORDS)
			break;
		usleep(100000);
	}
	weir_peers_stop(b->peers); /* the window flushed into the store */
	for (i = 0; i < PEERS; i++) {
		MHD_stop_daemon(b->agents[i].d);
		b->agents[i].d = NULL;
	}
	weir_merge_stats(b->merge, &b->ms_stats);
	weir_store_stats(b->store, &b->st_stats);
	malloc_trim(0);
	b->rss_full = rss_bytes();
	b->heap_full = heap_bytes();
	if (__atomic_load_n(&b->marked, __ATOMIC_ACQUIRE) < 2) {
		log_err("bench: the peers' thread took no samples");
		return -EPROTO;
	}
	return 0;
}

static void run_save(struct bench *b, struct ingest_run *u)
{
	u->cpu_s = (double)(b->cpu_ns[1] - b->cpu_ns[0]) / 1e9;
	u->wall_s = (double)(b->wall_ns[1] - b->wall_ns[0]) / 1e9;
	u->recs = (double)(b->recs[1] - b->recs[0]);
	u->released = b->ms_stats.released;
	u->late = b->ms_stats.late;
	u->early = b->ms_stats.early;
	u->parse_errors = b->parse_errors;
	u->connected = b->connected;
}

/* ---- the parser alone ---- */

/* The agents' compact text through a reader per agent (its prologue once,
 * then its record lines), records made and put, on the caller's CPU.
 */
static int compact_measure(struct bench *b)
{
	struct weir_compact_decoder *d[PEERS] = { 0 };
	struct weir_flow_record *r;
	const char *p, *end, *nl;
	enum weir_compact_line k;
	char err[128];
	uint64_t t0;
	int round, i, rc = 0;

	for (i = 0; i < PEERS && !rc; i++) {
		rc = weir_compact_decoder_new(&d[i]);
		end = b->agents[i].prologue + b->agents[i].plen;
		for (p = b->agents[i].prologue; !rc && p < end;) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl) {
				rc = -EPROTO;
				break;
			}
			if (weir_compact_decode_line(d[i], p, (size_t)(nl - p), &r, err,
						     sizeof(err)) != WEIR_COMPACT_LINE_DEF)
				rc = -EPROTO;
			p = nl + 1;
		}
	}
	t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (round = 0; !rc && round < PARSE_ROUNDS; round++) {
		for (i = 0; i < PEERS; i++) {
			end = b->agents[i].ctext + b->agents[i].clen;
			for (p = b->agents[i].ctext; p < end; p = nl + 1) {
				nl = memchr(p, '\n', (size_t)(end - p));
				if (!nl)
					break;
				k = weir_compact_decode_line(d[i], p, (size_t)(nl - p), &r, err,
							     sizeof(err));
				if (k != WEIR_COMPACT_LINE_RECORD) {
					b->cparse_bad++;
					continue;
				}
				weir_flow_record_put(r);
				b->cparse_recs++;
			}
		}
	}
	b->cparse_ns = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0);
	for (i = 0; i < PEERS; i++)
		weir_compact_decoder_free(d[i]);
	if (rc)
		log_err("bench: the compact prologue does not read back");
	return rc;
}

/* The agents' text through the fast parser with an endpoint cache, as the
 * peers thread parses it (records made and put), on one core, no network.
 */
static int parse_measure(struct bench *b)
{
	struct weir_endpoint_cache *cache;
	struct weir_flow_record *r;
	const char *p, *end, *nl;
	cpu_set_t was;
	uint64_t t0;
	int round, i, err;

	err = weir_endpoint_cache_new(&cache);
	if (err)
		return err;
	if (sched_getaffinity(0, sizeof(was), &was))
		CPU_ZERO(&was);
	pin_self(b->relay_cpu);
	t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (round = 0; round < PARSE_ROUNDS; round++) {
		for (i = 0; i < PEERS; i++) {
			end = b->agents[i].text + b->agents[i].len;
			for (p = b->agents[i].text; p < end; p = nl + 1) {
				nl = memchr(p, '\n', (size_t)(end - p));
				if (!nl)
					break;
				if (weir_flow_record_parse_line(p, (size_t)(nl - p), cache, &r)) {
					b->parse_slow++;
					continue;
				}
				weir_flow_record_put(r);
				b->parse_recs++;
			}
		}
	}
	b->parse_ns = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0);
	err = compact_measure(b);
	if (CPU_COUNT(&was))
		sched_setaffinity(0, sizeof(was), &was); /* the threads started next: any CPU */
	weir_endpoint_cache_free(cache);
	return err;
}

/* ---- /v1/flows ---- */

/* curl's write callback: the body appended to a weir_json_buf. */
static size_t body_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct weir_json_buf *bd = ctx;

	weir_json_raw(bd, data, size * nmemb);
	return bd->err ? 0 : size * nmemb;
}

static bool answer_ok(const struct weir_json_buf *bd, size_t want)
{
	json_t *j = json_loadb(bd->data, bd->len, 0, NULL), *el;
	bool ok = json_is_array(j) && json_array_size(j) == want;
	size_t i;

	json_array_foreach(j, i, el)
	{
		const char *pod = json_string_value(json_object_get(
			json_object_get(json_object_get(el, "flow"), "source"), "pod_name"));

		if (!ok)
			break;
		ok = pod && !strncmp(pod, FILTER_POD_PREFIX, strlen(FILTER_POD_PREFIX));
	}
	json_decref(j);
	return ok;
}

/* The handler's work in-process (request parsed, store queried, records
 * written): the number of records, and its CPU ns in *ns.
 */
static size_t filter_work(struct bench *b, double *ns)
{
	struct weir_json_buf out = WEIR_JSON_BUF_INIT;
	struct weir_flow_request req = { 0 };
	struct weir_flow_record **v = NULL;
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	char msg[256];
	size_t n = 0, i;

	if (weir_flow_request_set(&req, "allowlist",
				  "[{\"source_pod\":[\"bench/" FILTER_POD_PREFIX "\"]}]", msg,
				  sizeof(msg)) ||
	    weir_flow_request_finish(&req, msg, sizeof(msg)) ||
	    weir_store_query(b->store, &req, &v, &n))
		n = 0;
	for (i = 0; i < n; i++) {
		if (out.len >= BLOCK_BYTES)
			weir_json_buf_reset(&out);
		weir_flow_record_write_json(v[i], &out);
	}
	*ns = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0);
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	weir_flow_request_release(&req);
	weir_json_buf_release(&out);
	return n;
}

static int http_measure(struct bench *b)
{
	struct weir_json_buf bd = WEIR_JSON_BUF_INIT;
	struct timespec t0, t1;
	char url[256], *esc;
	CURL *curl;
	long status = 0;
	int i, err = 0;

	curl = curl_easy_init();
	if (!curl)
		return -ENOMEM;
	for (i = 0; i < WORK_ROUNDS; i++)
		b->filter_expect = filter_work(b, &b->work_ns[i]);
	esc = curl_easy_escape(curl, "[{\"source_pod\":[\"bench/" FILTER_POD_PREFIX "\"]}]", 0);
	snprintf(url, sizeof(url), "http://relay/v1/flows?allowlist=%s", esc ? esc : "");
	curl_free(esc);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, b->sock);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bd);
	curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	for (i = 0; i < b->requests && !err; i++) {
		weir_json_buf_reset(&bd);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (curl_easy_perform(curl) != CURLE_OK) {
			err = -EIO;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200) {
			err = -EPROTO;
			break;
		}
		b->ms[b->n_ms++] = (bench_ts_ns(&t1) - bench_ts_ns(&t0)) / 1e6;
		b->bytes = (double)bd.len;
		/* every answer checked would cost more than the request: the first and last */
		if ((!i || i == b->requests - 1) && !answer_ok(&bd, b->filter_expect)) {
			log_err("bench: /v1/flows answer %d is not the %zu filtered records", i,
				b->filter_expect);
			b->failed++;
		}
	}
	if (err)
		log_err("bench: GET /v1/flows: %s", strerror(-err));
	weir_json_buf_release(&bd);
	curl_easy_cleanup(curl);
	return err;
}

static double quantile(double *v, int n, double q)
{
	int k;

	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	k = (int)(q * n + 0.999999) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k];
}

/* ---- report ---- */

static int report(struct bench *b)
{
	double v[ROUNDS_MAX], per_mode[2], per_cpu, p50, p99, maxv, minv;
	struct utsname uts;
	bool ok = true;
	int m, k;

	uname(&uts);
	printf("Weir relay benchmark: %d simulated agents (libmicrohttpd on loopback, "
	       "pre-encoded records, %s), the relay's peers loop, merge (1 s window), store "
	       "(%u records) and HTTP server; kernel %s\n",
	       PEERS, b->agents_cpu >= 0 ? "pinned to their CPU" : "unpinned", STORE_RECORDS,
	       uts.release);
	printf("peers thread %s; CPU = its CLOCK_THREAD_CPUTIME_ID (user + system)\n\n",
	       b->relay_cpu >= 0 ? "pinned to its own CPU" : "unpinned");
	for (m = 0; m < 2; m++) {
		for (k = 0; k < b->rounds; k++) {
			const struct ingest_run *u = &b->runs[m][k];

			v[k] = u->cpu_s > 0 ? u->recs / u->cpu_s : 0;
			ok = ok && u->connected == PEERS && !u->parse_errors && u->recs > 0;
			printf("Ingest, %s stream, round %d: %.0f records over %.1f s (after %d ms "
			       "warm-up), all %d nodes connected: %s\n",
			       m ? "compact" : "NDJSON", k + 1, u->recs, u->wall_s, WARMUP_MS,
			       PEERS, u->connected == PEERS ? "yes" : "NO");
			printf("  %-52s %12.2f s (%.0f%% of one core)\n", "peers thread CPU",
			       u->cpu_s, u->wall_s > 0 ? 100.0 * u->cpu_s / u->wall_s : 0);
			printf("  %-52s %12.0f records/s %8.2f us/record\n",
			       "per CPU second (one core)", v[k], v[k] > 0 ? 1e6 / v[k] : 0);
			printf("  %-52s %12.0f records/s\n", "per wall second",
			       u->wall_s > 0 ? u->recs / u->wall_s : 0);
			printf("  (merge: %llu released, %llu late, %llu early; parse errors %llu)\n",
			       (unsigned long long)u->released, (unsigned long long)u->late,
			       (unsigned long long)u->early, (unsigned long long)u->parse_errors);
		}
		per_mode[m] = bench_median(v, b->rounds);
	}
	printf("\nIngest per CPU second, median of %d round(s): NDJSON %.0f records/s "
	       "(%.2f us/record), compact %.0f records/s (%.2f us/record): %.2fx\n",
	       b->rounds, per_mode[0], per_mode[0] > 0 ? 1e6 / per_mode[0] : 0, per_mode[1],
	       per_mode[1] > 0 ? 1e6 / per_mode[1] : 0,
	       per_mode[0] > 0 ? per_mode[1] / per_mode[0] : 0);
	per_cpu = per_mode[1];

	printf("\nThe fast parser alone (lib/flow_parse.c, endpoint cache), the agents' text "
	       "%d times in-process, one core\n",
	       PARSE_ROUNDS);
	printf("  %-52s %12.0f records/s\n", "per CPU second",
	       b->parse_ns > 0 ? b->parse_recs * 1e9 / b->parse_ns : 0);
	printf("  %-52s %12.2f us/record (%llu lines left to the general path)\n", "",
	       b->parse_recs > 0 ? b->parse_ns / 1e3 / b->parse_recs : 0,
	       (unsigned long long)b->parse_slow);
	printf("The compact reader alone (lib/flow_compact_decode.c), the same records, the same "
	       "way\n");
	printf("  %-52s %12.0f records/s\n", "per CPU second",
	       b->cparse_ns > 0 ? b->cparse_recs * 1e9 / b->cparse_ns : 0);
	printf("  %-52s %12.2f us/record; %.0f B a record line (NDJSON: %.0f B)\n", "",
	       b->cparse_recs > 0 ? b->cparse_ns / 1e3 / b->cparse_recs : 0,
	       (double)b->agents[0].clen / RECORDS_PER_PEER,
	       (double)b->agents[0].len / RECORDS_PER_PEER);

	printf("\nMemory with the store full (%llu records), after the peers stopped and "
	       "malloc_trim()\n",
	       (unsigned long long)b->st_stats.num_flows);
	printf("  %-52s %8.1f MiB RSS %8.1f MiB heap\n", "store empty, agents' text built",
	       b->rss_empty / MIB, b->heap_empty / MIB);
	printf("  %-52s %8.1f MiB RSS %8.1f MiB heap\n", "store full", b->rss_full / MIB,
	       b->heap_full / MIB);
	printf("  %-52s %8.0f B (RSS) %8.0f B (heap)\n", "per stored record",
	       (double)(b->rss_full - b->rss_empty) / STORE_RECORDS,
	       (double)(b->heap_full - b->heap_empty) / STORE_RECORDS);

	p50 = b->n_ms ? quantile(b->ms, b->n_ms, 0.5) : 0; /* sorts */
	minv = b->n_ms ? b->ms[0] : 0;
	p99 = b->n_ms ? quantile(b->ms, b->n_ms, 0.99) : 0;
	maxv = b->n_ms ? b->ms[b->n_ms - 1] : 0;
	printf("\nGET /v1/flows on the unix socket, store full, allowlist source_pod "
	       "\"bench/%s\": %zu records (%.1f%%), %.0f bytes; a new connection each\n",
	       FILTER_POD_PREFIX, b->filter_expect, 100.0 * b->filter_expect / STORE_RECORDS,
	       b->bytes);
	printf("  n %d  min %.2f ms  p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", b->n_ms, minv, p50,
	       p99, maxv);
	printf("  handler work in-process (query, filter, records written), CPU median of %d: "
	       "%.2f ms\n",
	       WORK_ROUNDS, bench_median(b->work_ns, WORK_ROUNDS) / 1e6);

	printf("\nTargets (MISS never fails the run)\n");
	printf("  ingest (compact) >= %.0f records/s on one core %7.0f  %s\n", TARGET_RECORDS_PER_S,
	       per_cpu, bench_verdict(per_cpu >= TARGET_RECORDS_PER_S));
	printf("  GET /v1/flows 1%% filter p99 < %.0f ms %20.2f ms %s\n", TARGET_FLOWS_P99_MS, p99,
	       bench_verdict(p99 < TARGET_FLOWS_P99_MS));

	printf("\nChecks\n");
	if (!ok || b->connected != PEERS || b->parse_errors || b->failed || b->parse_slow ||
	    b->cparse_bad || b->st_stats.num_flows != STORE_RECORDS) {
		printf("  FAIL: a run with nodes not connected or parse errors: %s; nodes connected "
		       "%d of %d, parse errors %llu, lines the fast parser refused %llu, the compact "
		       "reader %llu, wrong answers %d, store %llu of %u\n",
		       ok ? "no" : "yes", b->connected, PEERS, (unsigned long long)b->parse_errors,
		       (unsigned long long)b->parse_slow, (unsigned long long)b->cparse_bad,
		       b->failed, (unsigned long long)b->st_stats.num_flows, STORE_RECORDS);
		return -EPROTO;
	}
	printf("  ok: every node connected, no line refused (the fast parser took every line), "
	       "the store full, every checked "
	       "answer held exactly the filtered records\n");
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-t seconds] [-r rounds] [-n requests] [-c cpu] [-v]\n"
		"  -t  each ingest run measured for this long (default %d)\n"
		"  -r  rounds of the two runs, NDJSON then compact (default %d)\n"
		"  -n  filtered /v1/flows requests (default %d)\n"
		"  -c  CPU for the relay's peers thread, -1 for none (default: the last one; "
		"the agents get the others)\n"
		"  -v  debug logging\n",
		prog, INGEST_S_DEFAULT, ROUNDS_DEFAULT, HTTP_DEFAULT);
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	long long v = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int c, i, r, m, err = 0;

	if (!b)
		return 1;
	b->ingest_s = INGEST_S_DEFAULT;
	b->rounds = ROUNDS_DEFAULT;
	b->requests = HTTP_DEFAULT;
	b->relay_cpu = ncpu > 1 ? (int)ncpu - 1 : -1;
	weir_log_set_level(WEIR_LOG_WARN);
	while ((c = getopt(argc, argv, "t:r:n:c:vh")) != -1) {
		switch (c) {
		case 't':
			err = bench_parse_num(optarg, 1, 600, &v);
			b->ingest_s = (int)v;
			break;
		case 'r':
			err = bench_parse_num(optarg, 1, ROUNDS_MAX, &v);
			b->rounds = (int)v;
			break;
		case 'n':
			err = bench_parse_num(optarg, 1, HTTP_MAX, &v);
			b->requests = (int)v;
			break;
		case 'c':
			err = bench_parse_num(optarg, -1, CPU_SETSIZE - 1, &v);
			b->relay_cpu = (int)v;
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
	b->agents_cpu = b->relay_cpu > 0 ? 0 : -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(b);
		return 1;
	}
	for (i = 0; i < PEERS && !err; i++) {
		struct agent *a = &b->agents[i];

		a->idx = i;
		a->cpu = b->agents_cpu;
		snprintf(a->name, sizeof(a->name), "bench-node-%d", i);
		err = agent_text(a);
		err = err ?: agent_start(a);
	}
	err = err ?: parse_measure(b);
	/* rounds of NDJSON then compact, each with a relay of its own; the last
	 * one's store, full, is measured and queried
	 */
	for (r = 0; !err && r < b->rounds; r++) {
		for (m = 0; !err && m < 2; m++) {
			bool last = r == b->rounds - 1 && m == 1;

			for (i = 0; i < PEERS; i++)
				__atomic_store_n(&b->agents[i].serve_compact, m == 1,
						 __ATOMIC_RELEASE);
			err = relay_start(b, last);
			err = err ?: ingest_measure(b, last);
			if (!err)
				run_save(b, &b->runs[m][r]);
			if (!last)
				relay_stop(b);
		}
	}
	err = err ?: http_measure(b);
	if (!err)
		err = report(b);
	else
		log_err("bench/relay: %s", strerror(-err));
	weir_http_server_stop(b->http);
	weir_peers_free(b->peers);
	weir_merge_free(b->merge);
	weir_store_free(b->store);
	for (i = 0; i < PEERS; i++) {
		if (b->agents[i].d)
			MHD_stop_daemon(b->agents[i].d);
		free(b->agents[i].text);
		free(b->agents[i].time_at);
		free(b->agents[i].prologue);
		free(b->agents[i].ctext);
		free(b->agents[i].ctime_at);
	}
	if (b->dir[0]) {
		unlink(b->sock);
		rmdir(b->dir);
	}
	curl_global_cleanup();
	free(b);
	return err ? 1 : 0;
}
