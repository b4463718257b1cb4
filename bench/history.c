// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/history: the relay's history through its real code (relay/history*.c,
 * lib/filter_sql.c; nothing stubbed):
 *
 *   insert  records/s through weir_history_add() and the writer's commits,
 *           on one thread (the writer's work done by the caller), with the
 *           index on (per segment: the posting lists of addresses, pods,
 *           destination port and the verdicts other than FORWARDED, built
 *           while the rows are written and written with them); next to the
 *           same rows in a table without any index (the floor), interleaved
 *           rounds;
 *   bytes   database bytes per stored record (pages in use over rows);
 *   query   a history of 10M records over 7 days (made through the same
 *           path; -k keeps it for the next run), then filtered
 *           queries as `weir observe` sends them: p50 and p99 latency of
 *           weir_history_query() for shapes that use an index, and one that
 *           cannot (a label selector, checked on the rows) for contrast.
 *
 * Insert rates are per CPU second of the process (one thread does all the
 * work: the rate one core sustains, whatever else the machine runs); query
 * latencies are wall time on a pinned thread. The machines are shared and noisy:
 * targets print PASS or MISS without changing the exit status; a wrong
 * answer (a query that finds nothing it should) does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <jansson.h>
#include <weir/abi.h>
#include "common.h"
#include "filter.h"
#include "history.h"
#include "history_priv.h"
#include "log.h"

#define NS_PER_S	 1000000000ULL
#define INSERT_DEFAULT	 400000 /* records per insert round */
#define INSERT_ROUNDS	 3
#define QUERY_DEFAULT	 10000000 /* records in the query history */
#define QUERY_RUNS	 60	  /* per query shape */
#define SPAN_NS		 (NS_PER_S * 7 * 24 * 3600)
#define NAMESPACES	 10u
#define PODS_PER_NS	 20u
#define POOL		 16384u	  /* distinct records generated, reused with new times */
#define INSERT_TARGET	 200000.0 /* records/s */
#define QUERY_P99_TARGET 200.0	  /* ms */

static const char *const ns_names[NAMESPACES] = { "shop",  "payments", "search",      "auth",
						  "infra", "default",  "kube-system", "media",
						  "ads",   "mail" };

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static struct weir_endpoint *pod(uint32_t i)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);
	char name[64], label[64];

	snprintf(name, sizeof(name), "app%u-7d9f8b6c4-x%03u", i % PODS_PER_NS, i);
	snprintf(label, sizeof(label), "app=app%u", i % PODS_PER_NS);
	ep->namespace = strdup(ns_names[i / PODS_PER_NS % NAMESPACES]);
	ep->pod_name = strdup(name);
	ep->labels = calloc(2, sizeof(char *));
	ep->labels[0] = strdup(label);
	ep->labels[1] = strdup("k8s:io.kubernetes.pod.namespace=x");
	ep->n_labels = 2;
	ep->workload_name = strdup("app");
	ep->workload_kind = strdup("Deployment");
	ep->node_name = strdup("node-1");
	return ep;
}

/* A pool of realistic records: pods talking to pods and to the world. */
static struct weir_flow_record **pool_make(void)
{
	struct weir_flow_record **v = calloc(POOL, sizeof(void *));
	static const uint16_t ports[] = { 80, 443, 53, 5432, 6379, 8080, 9090, 3306 };
	uint32_t i;

	for (i = 0; v && i < POOL; i++) {
		struct weir_flow_record *r = weir_flow_record_new();
		uint32_t s = rnd() % (NAMESPACES * PODS_PER_NS),
			 d = rnd() % (NAMESPACES * PODS_PER_NS);

		r->id = i;
		r->type = WEIR_RECORD_START + rnd() % 3;
		r->family = 4;
		r->proto = rnd() % 8 ? IPPROTO_TCP : IPPROTO_UDP;
		r->saddr[0] = 10;
		r->saddr[1] = (uint8_t)(s >> 8);
		r->saddr[2] = (uint8_t)s;
		r->saddr[3] = 11;
		r->daddr[0] = 10;
		r->daddr[1] = (uint8_t)(d >> 8);
		r->daddr[2] = (uint8_t)d;
		r->daddr[3] = 12;
		r->sport = (uint16_t)(32768 + rnd() % 28000);
		r->dport = ports[rnd() % 8];
		r->ifindex = 10 + s % 64;
		snprintf(r->ifname, sizeof(r->ifname), "lxc%04x", s);
		r->dir = 1 + rnd() % 2;
		r->verdict = rnd() % 50 ? WEIR_VERDICT_FORWARDED : WEIR_VERDICT_DROPPED;
		r->reason = r->verdict == WEIR_VERDICT_DROPPED ? 2 : 0;
		r->is_reply = WEIR_REPLY_NO;
		r->tcp_flags = 0x12;
		r->packets = 1 + rnd() % 1000;
		r->bytes = r->packets * (60 + rnd() % 1400);
		r->reply_packets = r->packets;
		r->reply_bytes = r->packets * 80;
		r->node_name = strdup(s % 2 ? "node-1" : "node-2");
		r->src = pod(s);
		r->dst = rnd() % 5 ? pod(d) : weir_endpoint_get(weir_endpoint_world());
		v[i] = r;
	}
	return v;
}

static void rm_db(const char *path)
{
	char p[600];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* n records through the history's add and commit path, times spread over
 * [t0, t0 + span); returns the wall seconds.
 */
static double fill(struct weir_history *h, struct weir_flow_record **pool, uint64_t n, uint64_t t0,
		   uint64_t span)
{
	uint64_t i, start = now_ns(CLOCK_PROCESS_CPUTIME_ID);

	for (i = 0; i < n; i++) {
		struct weir_flow_record *r = pool[i % POOL];

		r->time_ns = t0 + span / n * i;
		r->first_seen_ns = r->time_ns - 1000;
		r->last_seen_ns = r->time_ns;
		weir_history_add(h, r);
		/* the queued references are to the pool's records, rewritten: commit
		 * before one comes round again
		 */
		if (i % POOL == POOL - 1 && weir_history_flush(h, 60000))
			return -1;
	}
	if (weir_history_flush(h, 60000))
		return -1;
	return (double)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - start) / 1e9;
}

/* The floor: the same rows (the stored columns of flow_rows), bound the
 * same way, in a table without an index of any kind.
 */
static double floor_fill(const char *path, struct weir_flow_record **pool, uint64_t n)
{
	static const char *const table =
		"CREATE TABLE f (seq INTEGER PRIMARY KEY, " WEIR_HISTORY_STORED_COLUMNS ")";
	struct weir_history_delta d = { .start = true };
	struct weir_history_buf buf = { 0 };
	sqlite3_stmt *st;
	uint64_t i, start;
	sqlite3 *db;
	double secs;

	rm_db(path);
	/* the history's connection settings: one thread's, no mutex */
	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return -1;
	sqlite3_exec(
		db,
		"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; " WEIR_HISTORY_WAL_PRAGMAS,
		NULL, NULL, NULL);
	sqlite3_exec(db, table, NULL, NULL, NULL);
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO f (" WEIR_HISTORY_STORED_COLUMNS ") VALUES "
			       "(" WEIR_HISTORY_STORED_PARAMS ")",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (i = 0; i < n; i++) {
		struct weir_flow_record *r = pool[i % POOL];

		r->time_ns = i;
		weir_history_bind(st, 1, r, &d, &buf);
		sqlite3_step(st);
		sqlite3_reset(st);
		if (i % POOL == POOL - 1) {
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
			sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		}
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	secs = (double)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - start) / 1e9;
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(buf.p);
	rm_db(path);
	return secs;
}

static bool keep; /* -k: the query history kept, and used again when it has the records */

static struct weir_history *open_history(const char *path)
{
	struct weir_history_opts o = { .path = path, .no_thread = true };
	struct weir_history *h;

	rm_db(path);
	if (weir_history_open(&h, &o))
		return NULL;
	return h;
}

static int bench_insert(const char *dir, struct weir_flow_record **pool, uint64_t n)
{
	double rate[INSERT_ROUNDS], nidx[INSERT_ROUNDS], bytes = 0;
	char path[512];
	int r;

	snprintf(path, sizeof(path), "%s/insert.db", dir);
	for (r = 0; r < INSERT_ROUNDS; r++) {
		struct weir_history *h = open_history(path);
		struct weir_history_stats st;
		double secs;

		if (!h)
			return -EIO;
		secs = fill(h, pool, n, 1700000000ULL * NS_PER_S, n * 1000000ULL);
		weir_history_retain(h, 0); /* no limits: updates the sizes */
		weir_history_stats(h, &st);
		weir_history_close(h);
		if (secs <= 0 || st.rows != n) {
			fprintf(stderr, "bench/history: stored %llu of %llu records\n",
				(unsigned long long)st.rows, (unsigned long long)n);
			return -EIO;
		}
		rate[r] = (double)n / secs;
		bytes = (double)st.db_bytes / (double)n;
		secs = floor_fill(path, pool, n);
		nidx[r] = secs > 0 ? (double)n / secs : 0;
	}
	rm_db(path);
	printf("insert (%llu records per round, %d rounds, one thread, per CPU second, median)\n",
	       (unsigned long long)n, INSERT_ROUNDS);
	printf("  %-44s %12.0f records/s   target >= %.0f: %s\n",
	       "history (segments: postings of 6 fields)", bench_median(rate, INSERT_ROUNDS),
	       INSERT_TARGET, bench_verdict(bench_median(rate, INSERT_ROUNDS) >= INSERT_TARGET));
	printf("  %-44s %12.0f records/s   (history at %.2fx)\n", "floor: the same rows, no index",
	       bench_median(nidx, INSERT_ROUNDS),
	       bench_median(rate, INSERT_ROUNDS) / bench_median(nidx, INSERT_ROUNDS));
	printf("  %-44s %12.1f bytes/record\n", "database size (pages in use)", bytes);
	return 0;
}

struct shape {
	const char *name;
	const char *allow; /* JSON, or NULL */
	uint64_t since_ago_ns;
	uint64_t number;
	bool indexed;
};

static int bench_query(const char *dir, struct weir_flow_record **pool, uint64_t n, int runs)
{
	static const struct shape shapes[] = {
		{ "--since 2d -n shop --verdict DROPPED",
		  "[{\"source_pod\": [\"shop/\"], \"verdict\": [\"DROPPED\"]},"
		  " {\"destination_pod\": [\"shop/\"], \"verdict\": [\"DROPPED\"]}]",
		  NS_PER_S * 2 * 24 * 3600, 0, true },
		{ "--since 1h --to-pod shop/app3", "[{\"destination_pod\": [\"shop/app3\"]}]",
		  NS_PER_S * 3600, 0, true },
		{ "--last 100 --from-ip 10.0.3.11", "[{\"source_ip\": [\"10.0.3.11\"]}]", SPAN_NS,
		  100, true },
		{ "--since 7d --last 20 --to-port 5432", "[{\"destination_port\": [\"5432\"]}]",
		  SPAN_NS, 20, true },
		{ "--since 10m (time only)", NULL, NS_PER_S * 600, 0, true },
		{ "--since 1h --label app=app3 (rows checked)",
		  "[{\"source_label\": [\"app=app3\"]}]", NS_PER_S * 3600, 0, false },
	};
	struct weir_history_stats st;
	struct weir_history *h;
	uint64_t t_end = now_ns(CLOCK_REALTIME);
	char path[512], made[96];
	double secs, opened = 0, *ms = calloc((size_t)runs, sizeof(double));
	size_t s;
	int r, ret = 0;

	snprintf(path, sizeof(path), "%s/query.db", dir);
	h = NULL;
	secs = 0;
	if (keep) {
		struct weir_history_opts o = { .path = path, .no_thread = true };
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);

		/* the records' times were made relative to the run that made it;
		 * an older schema's is migrated (the open's time says how long)
		 */
		if (!weir_history_open(&h, &o)) {
			opened = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
			weir_history_stats(h, &st);
			if (st.rows == n) {
				t_end = st.oldest_ns + SPAN_NS;
			} else {
				weir_history_close(h);
				h = NULL;
			}
		}
	}
	if (!h) {
		h = open_history(path);
		if (h)
			secs = fill(h, pool, n, t_end - SPAN_NS, SPAN_NS);
	}
	if (!h || !ms) {
		free(ms);
		return -EIO;
	}
	weir_history_retain(h, 0);
	weir_history_stats(h, &st);
	if (secs > 0)
		snprintf(made, sizeof(made), "made in %.0f s", secs);
	else
		snprintf(made, sizeof(made), "kept from an earlier run, opened in %.2f s", opened);
	printf("\nquery (a history of %llu records over 7 days, %s; %.1f bytes/record;"
	       " %d runs each)\n",
	       (unsigned long long)st.rows, made, (double)st.db_bytes / (double)st.rows, runs);
	printf("  %-44s %9s %9s %9s\n", "shape", "records", "p50 ms", "p99 ms");
	for (s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		const struct shape *sh = &shapes[s];
		struct weir_flow_request req = { .number = sh->number };
		json_t *allow = sh->allow ? json_loads(sh->allow, 0, NULL) : NULL;
		size_t got = 0, i, k;
		char err[256];
		double p99;

		req.since_ns = t_end - sh->since_ago_ns;
		if (weir_filter_set_new(&req.filters, allow, NULL, err, sizeof(err))) {
			fprintf(stderr, "bench/history: %s: %s\n", sh->name, err);
			json_decref(allow);
			ret = -EINVAL;
			break;
		}
		for (r = 0; r < runs; r++) {
			struct weir_flow_record **v;
			bool truncated;
			uint64_t t0 = now_ns(CLOCK_MONOTONIC);

			if (weir_history_query(h, &req, 0, &v, &got, &truncated)) {
				ret = -EIO;
				break;
			}
			ms[r] = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e6;
			for (i = 0; i < got; i++)
				weir_flow_record_put(v[i]);
			free(v);
		}
		weir_filter_set_free(req.filters);
		json_decref(allow);
		if (ret)
			break;
		if (!got) {
			fprintf(stderr, "bench/history: %s found nothing\n", sh->name);
			ret = -EIO;
			break;
		}
		qsort(ms, (size_t)runs, sizeof(double), bench_cmp_double);
		k = (size_t)((double)runs * 0.99);
		p99 = ms[k < (size_t)runs ? k : (size_t)runs - 1];
		printf("  %-44s %9zu %9.1f %9.1f", sh->name, got, bench_median(ms, runs), p99);
		if (sh->indexed)
			printf("   target p99 < %.0f: %s", QUERY_P99_TARGET,
			       bench_verdict(p99 < QUERY_P99_TARGET));
		printf("\n");
	}
	weir_history_close(h);
	if (!keep)
		rm_db(path);
	free(ms);
	return ret;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: bench/history [-i RECORDS] [-q RECORDS] [-r RUNS] [-d DIR] [-c CPU]\n"
		     "  -i  records per insert round (400000)\n"
		     "  -q  records in the query history (10000000; 0 skips the queries)\n"
		     "  -r  runs per query shape (60)\n"
		     "  -d  directory for the databases (/var/tmp)\n"
		     "  -c  CPU to pin to (-1: none; default: the last)\n"
		     "  -k  keep the query history (DIR/query.db), and use it again when it\n"
		     "      holds RECORDS records\n");
}

int main(int argc, char **argv)
{
	long long ins = INSERT_DEFAULT, q = QUERY_DEFAULT, runs = QUERY_RUNS, cpu = -2;
	struct weir_flow_record **pool;
	const char *dir = "/var/tmp";
	int opt, err, i;

	while ((opt = getopt(argc, argv, "i:q:r:d:c:kh")) != -1) {
		switch (opt) {
		case 'i':
			err = bench_parse_num(optarg, POOL, 100000000, &ins);
			break;
		case 'q':
			err = bench_parse_num(optarg, 0, 100000000, &q);
			break;
		case 'r':
			err = bench_parse_num(optarg, 1, 100000, &runs);
			break;
		case 'c':
			err = bench_parse_num(optarg, -1, 4096, &cpu);
			break;
		case 'd':
			dir = optarg;
			err = 0;
			break;
		case 'k':
			keep = true;
			err = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (err) {
			usage(stderr);
			return 2;
		}
	}
	weir_log_set_level(WEIR_LOG_WARN);
	cpu = bench_pin_cpu((int)cpu);
	printf("bench/history: SQLite %s, CPU %lld\n\n", sqlite3_libversion(), cpu);
	pool = pool_make();
	if (!pool)
		return 1;
	err = bench_insert(dir, pool, (uint64_t)ins);
	if (!err && q)
		err = bench_query(dir, pool, (uint64_t)q, (int)runs);
	for (i = 0; i < (int)POOL; i++)
		weir_flow_record_put(pool[i]);
	free(pool);
	return err ? 1 : 0;
}
