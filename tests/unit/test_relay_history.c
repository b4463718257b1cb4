// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The relay's history: records survive a close and a kill -9 (what was
 * committed), retention by age and by size (oldest first, counted), queries
 * (number, first, since/until, the cut at query_max), aggregates (each flow's
 * cumulative counters once), the ring and the history united without
 * duplicates, errors (a full database, a corrupt file) reported, the rows
 * a namespace's drops read (the segments' postings) and the migration from
 * schema versions 1, 2 and 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <weir/abi.h>
#include "history.h"
#include "history_flows.h"
#include "filter_sql.h"
#include "history_priv.h"
#include "store.h"
#include "timefmt.h"

#define S  1000000000ULL
#define T0 (1700000000ULL * S)

static char path[64];

static void rm_db(void)
{
	char p[96];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/weir-test-history-%d.db", (int)getpid());
	rm_db();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_db();
	return 0;
}

static struct weir_history *open_db(bool thread, uint64_t age, uint64_t max_bytes)
{
	struct weir_history_opts o = {
		.path = path,
		.no_thread = !thread,
		.retention_age_ns = age,
		.max_bytes = max_bytes,
	};
	struct weir_history *h;

	assert_int_equal(weir_history_open(&h, &o), 0);
	return h;
}

static struct weir_endpoint *pod(const char *ns, const char *name)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);

	ep->namespace = strdup(ns);
	ep->pod_name = strdup(name);
	ep->labels = calloc(2, sizeof(char *));
	ep->labels[0] = strdup("app=x");
	ep->n_labels = 1;
	return ep;
}

/* A TCP record from src to dst:dport; first_seen names the flow. */
static struct weir_flow_record *rec(uint64_t id, uint64_t t, const char *src, const char *dst,
				    uint16_t dport, uint64_t first_seen, uint64_t packets)
{
	struct weir_flow_record *r = weir_flow_record_new();

	r->id = id;
	r->time_ns = t;
	r->first_seen_ns = first_seen;
	r->last_seen_ns = t;
	r->type = WEIR_RECORD_UPDATE;
	r->family = 4;
	r->proto = IPPROTO_TCP;
	r->saddr[0] = 10;
	r->saddr[3] = 1;
	r->daddr[0] = 10;
	r->daddr[3] = 2;
	r->sport = 40000;
	r->dport = dport;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->packets = packets;
	r->bytes = packets * 100;
	r->reply_packets = packets;
	r->reply_bytes = packets * 10;
	r->node_name = strdup("node-a");
	r->src = pod("shop", src);
	r->dst = pod("shop", dst);
	return r;
}

static void add(struct weir_history *h, struct weir_flow_record *r)
{
	weir_history_add(h, r);
	weir_flow_record_put(r);
}

static size_t count(struct weir_history *h, const struct weir_flow_request *req)
{
	struct weir_flow_request all = { 0 };
	struct weir_flow_record **v;
	bool truncated;
	size_t n, i;

	assert_int_equal(weir_history_query(h, req ? req : &all, 0, &v, &n, &truncated), 0);
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	return n;
}

static void records_survive_a_restart(void **state)
{
	struct weir_history *h = open_db(true, 0, 0);
	struct weir_history_stats st;
	struct weir_flow_record **v;
	struct weir_flow_request req = { 0 };
	bool truncated;
	size_t n, i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		struct weir_flow_record *r = rec(i + 1, T0 + i, "front", "db", 5432, T0, i);

		if (i % 2) { /* load-balanced: the service and the backend */
			r->dst_service = strdup("web");
			r->lb_backend[0] = 10;
			r->lb_backend[3] = 7;
			r->lb_backend_port = 8080;
		}
		add(h, r);
	}
	/* close commits what is queued */
	weir_history_close(h);
	h = open_db(true, 0, 0);
	weir_history_stats(h, &st);
	assert_int_equal(st.rows, 1000);
	assert_int_equal(st.oldest_ns, T0);
	assert_int_equal(weir_history_query(h, &req, 0, &v, &n, &truncated), 0);
	assert_int_equal(n, 1000);
	/* decoded whole: endpoints, labels, counters */
	assert_int_equal(v[999]->id, 1000);
	assert_string_equal(v[999]->src->pod_name, "front");
	assert_string_equal(v[999]->dst->namespace, "shop");
	assert_string_equal(v[999]->dst->labels[0], "app=x");
	assert_string_equal(v[999]->node_name, "node-a");
	assert_int_equal(v[999]->bytes, 99900);
	assert_int_equal(v[999]->reply_bytes, 9990);
	assert_int_equal(v[999]->first_seen_ns, T0);
	assert_int_equal(v[999]->daddr[3], 2);
	assert_string_equal(v[999]->dst_service, "web");
	assert_int_equal(v[999]->lb_backend[3], 7);
	assert_int_equal(v[999]->lb_backend_port, 8080);
	assert_null(v[998]->dst_service);
	assert_int_equal(v[998]->lb_backend_port, 0);
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	weir_history_close(h);
}

/* A child commits, queues more, and is killed: the committed ones are there. */
static void committed_records_survive_kill_9(void **state)
{
	struct weir_history_stats st;
	struct weir_history *h;
	int fds[2], status;
	char c;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		size_t i;

		close(fds[0]);
		h = open_db(true, 0, 0);
		for (i = 0; i < 5000; i++)
			add(h, rec(i + 1, T0 + i, "front", "db", 80, T0, 1));
		if (weir_history_flush(h, 10000))
			_exit(1);
		/* these wait for a commit that never comes */
		for (i = 0; i < 100; i++)
			add(h, rec(10000 + i, T0 + 10000 + i, "front", "db", 80, T0, 1));
		if (write(fds[1], "k", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(fds[0]);
	h = open_db(false, 0, 0);
	weir_history_stats(h, &st);
	/* every committed record; the uncommitted batch may or may not have made it */
	assert_true(st.rows >= 5000 && st.rows <= 5100);
	assert_true(count(h, NULL) >= 5000);
	weir_history_close(h);
}

static void retention_by_age_drops_the_old_and_counts(void **state)
{
	struct weir_history *h = open_db(false, 3600 * S, 0);
	struct weir_history_stats st;
	uint64_t now = T0 + S * 10 * 3600;
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++)
		add(h, rec(i + 1, T0 + i * 360 * S, "front", "db", 80, T0, 1)); /* 0 .. 9.9 h */
	assert_int_equal(weir_history_flush(h, 1000), 0);
	assert_int_equal(weir_history_retain(h, now), 0);
	weir_history_stats(h, &st);
	/* kept: from now - 1 h, records 90..99 */
	assert_int_equal(st.deleted_age, 90);
	assert_int_equal(st.rows, 10);
	assert_int_equal(count(h, NULL), 10);
	assert_int_equal(st.oldest_ns, T0 + S * 90 * 360);
	weir_history_close(h);
}

static void retention_by_size_drops_the_oldest_first(void **state)
{
	struct weir_history *h = open_db(false, 0, 1 << 20);
	struct weir_flow_request req = { .number = 1, .first = true };
	struct weir_history_stats st;
	struct weir_flow_record **v;
	bool truncated;
	size_t i, n;

	(void)state;
	for (i = 0; i < 40000; i++)
		add(h, rec(i + 1, T0 + i * S, "front", "db", 80, T0 + i, 1));
	assert_int_equal(weir_history_flush(h, 10000), 0);
	weir_history_stats(h, &st);
	assert_true(st.db_bytes == 0 || st.rows == 40000);
	assert_int_equal(weir_history_retain(h, T0), 0);
	weir_history_stats(h, &st);
	assert_true(st.deleted_size > 0);
	assert_int_equal(st.rows + st.deleted_size, 40000);
	assert_true(st.db_bytes <= 1 << 20);
	/* what is left is the newest */
	assert_int_equal(weir_history_query(h, &req, 0, &v, &n, &truncated), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0]->id, st.deleted_size + 1);
	weir_flow_record_put(v[0]);
	free(v);
	weir_history_close(h);
}

static void queries_take_number_first_and_time_bounds(void **state)
{
	struct weir_history *h = open_db(false, 0, 0);
	struct weir_flow_request req = { .number = 3 };
	struct weir_flow_record **v;
	bool truncated;
	size_t i, n;

	(void)state;
	for (i = 0; i < 100; i++)
		add(h, rec(i + 1, T0 + i * S, i % 2 ? "front" : "cart", "db", 80, T0 + i, 1));
	assert_int_equal(weir_history_flush(h, 1000), 0);
	/* last 3, oldest first */
	assert_int_equal(weir_history_query(h, &req, 0, &v, &n, &truncated), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0]->id, 98);
	assert_int_equal(v[2]->id, 100);
	assert_false(truncated);
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	req.first = true;
	req.since_ns = T0 + 10 * S;
	req.until_ns = T0 + 20 * S;
	assert_int_equal(weir_history_query(h, &req, 0, &v, &n, &truncated), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0]->id, 11);
	assert_int_equal(v[2]->id, 13);
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	/* the cut: the newest max, said so */
	memset(&req, 0, sizeof(req));
	assert_int_equal(weir_history_query(h, &req, 10, &v, &n, &truncated), 0);
	assert_int_equal(n, 10);
	assert_true(truncated);
	assert_int_equal(v[9]->id, 100);
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	weir_history_close(h);
}

static json_t *aggregate(struct weir_history *h, const char *const *kv, int want_err)
{
	struct weir_agg_request ar = { 0 };
	json_t *out = NULL;
	char err[256] = "";
	int ret = 0;

	for (; *kv && !ret; kv += 2)
		ret = weir_agg_request_set(&ar, kv[0], kv[1], err, sizeof(err));
	ret = ret ?: weir_agg_request_finish(&ar, err, sizeof(err));
	ret = ret ?: weir_history_aggregate(h, &ar, &out, err, sizeof(err));
	weir_agg_request_release(&ar);
	assert_int_equal(ret, want_err);
	if (want_err)
		assert_true(err[0]);
	return out;
}

static json_int_t group_int(json_t *out, size_t i, const char *key)
{
	return json_integer_value(
		json_object_get(json_array_get(json_object_get(out, "groups"), i), key));
}

static const char *group_key(json_t *out, size_t i, const char *key)
{
	json_t *g = json_array_get(json_object_get(out, "groups"), i);

	return json_string_value(json_object_get(json_object_get(g, "key"), key));
}

static void aggregates_count_each_flow_once(void **state)
{
	struct weir_history *h = open_db(false, 0, 0);
	static const char *const by_pods[] = { "by", "source.pod_name,destination.pod_name", NULL };
	static const char *const by_port[] = {
		"by", "l4.TCP.destination_port", "order", "flows", "limit", "1", NULL
	};
	static const char *const filtered[] = { "by", "destination.pod_name", "allowlist",
						"[{\"destination_port\": [\"443\"]}]", NULL };
	static const char *const bad_field[] = { "by", "source.pod_name,evil; DROP", NULL };
	static const char *const labels[] = { "by", "source.pod_name", "allowlist",
					      "[{\"source_label\": [\"app=x\"]}]", NULL };
	json_t *out;

	(void)state;
	/* flow 1 front->db:5432: three records, cumulative 10, 20, 30 packets */
	add(h, rec(1, T0 + 1, "front", "db", 5432, T0, 10));
	add(h, rec(2, T0 + 2, "front", "db", 5432, T0, 20));
	add(h, rec(3, T0 + 3, "front", "db", 5432, T0, 30));
	/* flow 2 front->db:5432, another connection: 5 packets */
	add(h, rec(4, T0 + 4, "front", "db", 5432, T0 + 1, 5));
	/* flows 3, 4, 5 cart->api:443, begun seconds apart */
	add(h, rec(5, T0 + 5, "cart", "api", 443, T0 + 2 * S, 1));
	add(h, rec(6, T0 + 6, "cart", "api", 443, T0 + 4 * S, 2));
	add(h, rec(7, T0 + 7, "cart", "api", 443, T0 + 6 * S, 3));
	assert_int_equal(weir_history_flush(h, 1000), 0);

	out = aggregate(h, by_pods, 0);
	assert_int_equal(json_array_size(json_object_get(out, "groups")), 2);
	assert_string_equal(group_key(out, 0, "source.pod_name"), "front");
	assert_string_equal(group_key(out, 0, "destination.pod_name"), "db");
	assert_int_equal(group_int(out, 0, "flows"), 2);
	assert_int_equal(group_int(out, 0, "packets"), 35);
	assert_int_equal(group_int(out, 0, "bytes"), 3500);
	assert_int_equal(group_int(out, 0, "reply_bytes"), 350);
	assert_int_equal(group_int(out, 1, "flows"), 3);
	assert_int_equal(group_int(out, 1, "packets"), 6);
	json_decref(out);

	out = aggregate(h, by_port, 0);
	assert_int_equal(json_array_size(json_object_get(out, "groups")), 1);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_array_get(json_object_get(out, "groups"), 0), "key"),
			"l4.TCP.destination_port")),
		443);
	assert_int_equal(group_int(out, 0, "flows"), 3);
	json_decref(out);

	out = aggregate(h, filtered, 0);
	assert_int_equal(json_array_size(json_object_get(out, "groups")), 1);
	assert_string_equal(group_key(out, 0, "destination.pod_name"), "api");
	json_decref(out);

	assert_null(aggregate(h, bad_field, -EINVAL));
	assert_null(aggregate(h, labels, -EINVAL));

	/* a range counts the traffic within it: flow 1's last two records, flow 2 */
	{
		char since[WEIR_TIME_STR_LEN];
		const char *ranged[] = { "by", "source.pod_name", "since", since, NULL };

		weir_time_format(T0 + 2, since, sizeof(since));
		out = aggregate(h, ranged, 0);
		assert_string_equal(group_key(out, 0, "source.pod_name"), "front");
		assert_int_equal(group_int(out, 0, "packets"), 25);
		assert_int_equal(group_int(out, 0, "flows"), 1);
		json_decref(out);
	}
	/* a restart follows flow 2 (the one its agent key holds now) on: its
	 * next record adds 10, not 15
	 */
	weir_history_close(h);
	h = open_db(false, 0, 0);
	add(h, rec(8, T0 + 8, "front", "db", 5432, T0 + 1, 15));
	assert_int_equal(weir_history_flush(h, 1000), 0);
	out = aggregate(h, by_pods, 0);
	assert_string_equal(group_key(out, 0, "source.pod_name"), "front");
	assert_int_equal(group_int(out, 0, "packets"), 45);
	assert_int_equal(group_int(out, 0, "flows"), 2);
	json_decref(out);
	weir_history_close(h);
}

/* The ring holds the newest; the history all: united, no duplicates, in order. */
static void ring_and_history_unite_without_duplicates(void **state)
{
	struct weir_history *h = open_db(true, 0, 0);
	struct weir_flow_request req = { .since_ns = T0 };
	struct weir_flow_record **v = NULL, *r;
	struct weir_store *store;
	size_t i, n = 0;

	(void)state;
	assert_int_equal(weir_store_new(&store, 100), 0);
	for (i = 0; i < 1000; i++) {
		r = rec(i + 1, T0 + i * S, "front", "db", 80, T0 + i, 1);
		weir_store_add(store, r);
		weir_history_add(h, r);
		weir_flow_record_put(r);
	}
	assert_int_equal(weir_store_query(store, &req, &v, &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(weir_relay_flows_more(store, h, &req, &v, &n), 0);
	assert_int_equal(n, 1000);
	for (i = 0; i < n; i++) {
		assert_int_equal(v[i]->id, i + 1);
		weir_flow_record_put(v[i]);
	}
	free(v);
	/* last 5 since T0: from the seam's newer side */
	req.number = 5;
	assert_int_equal(weir_store_query(store, &req, &v, &n), 0);
	assert_int_equal(weir_relay_flows_more(store, h, &req, &v, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(v[0]->id, 996);
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	/* a request the ring covers is left alone */
	req.number = 0;
	req.since_ns = T0 + 950 * S;
	assert_int_equal(weir_store_query(store, &req, &v, &n), 0);
	assert_int_equal(n, 50);
	assert_int_equal(weir_relay_flows_more(store, h, &req, &v, &n), 0);
	assert_int_equal(n, 50);
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	weir_history_close(h);
	weir_store_free(store);
}

static struct weir_history *open_seg(size_t segment_rows)
{
	struct weir_history_opts o = { .path = path,
				       .no_thread = true,
				       .segment_rows = segment_rows };
	struct weir_history *h;

	assert_int_equal(weir_history_open(&h, &o), 0);
	return h;
}

/* n records, one in 10 dropped, in shop and in media by turns of 10,
 * committed 50 at a time
 */
static void add_drops(struct weir_history *h, size_t n)
{
	struct weir_flow_record *r;
	size_t i;

	for (i = 0; i < n; i++) {
		r = rec(i + 1, T0 + i * S, "front", "db", 80, T0 + i, 1);
		if (i % 10 == 0) {
			r->verdict = WEIR_VERDICT_DROPPED;
			r->reason = 133;
		}
		if (i % 20 >= 10) {
			weir_endpoint_put(r->src);
			weir_endpoint_put(r->dst);
			r->src = pod("media", "front");
			r->dst = pod("media", "db");
		}
		add(h, r);
		if (i % 50 == 49)
			assert_int_equal(weir_history_flush(h, 1000), 0);
	}
	assert_int_equal(weir_history_flush(h, 1000), 0);
}

/* --since ... -n shop --verdict DROPPED, as weir observe sends it */
static struct weir_filter_set *shop_dropped(void)
{
	json_t *a = json_loads("[{\"source_pod\": [\"shop/\"], \"verdict\": [\"DROPPED\"]},"
			       " {\"destination_pod\": [\"shop/\"], \"verdict\": [\"DROPPED\"]}]",
			       0, NULL);
	struct weir_filter_set *fs;

	assert_non_null(a);
	assert_int_equal(weir_filter_set_new(&fs, a, NULL, NULL, 0), 0);
	json_decref(a);
	return fs;
}

static int64_t one_int(struct weir_history *h, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(h->wdb, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The closed segments' postings give exactly the dropped rows of shop
 * (both fields indexed): the rows read are the answer's, not the
 * namespace's or the time range's.
 */
static void dropped_in_a_namespace_reads_only_its_rows(void **state)
{
	struct weir_history *h = open_seg(100);
	struct weir_filter_set *fs = shop_dropped();
	struct weir_flow_request req = { .since_ns = T0 + 100 * S, .filters = fs };
	struct weir_history_ids ids = { 0 };
	struct weir_sql_index ix;
	sqlite3_stmt *seg, *lookup;
	size_t candidates = 0, segments = 0;

	(void)state;
	add_drops(h, 400);
	/* records 101..400: 30 drops, half of them in shop */
	assert_int_equal(count(h, &req), 15);
	assert_int_equal(weir_filter_sql_index(fs, &ix), 0);
	assert_false(ix.scan);
	assert_int_equal(ix.n_allow, 2);
	assert_int_equal(ix.allow[0].n_terms, 2);
	assert_int_equal(sqlite3_prepare_v2(h->wdb, "SELECT id, last_row FROM segments ORDER BY id",
					    -1, &seg, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h->wdb, WEIR_HISTORY_LOOKUP_SQL, -1, &lookup, NULL),
			 SQLITE_OK);
	while (sqlite3_step(seg) == SQLITE_ROW) {
		int64_t first = sqlite3_column_int64(seg, 0);
		size_t i;

		assert_int_equal(weir_history_seg_candidates(
					 lookup, first,
					 (size_t)(sqlite3_column_int64(seg, 1) - first + 1), &ix,
					 &ids),
				 0);
		for (i = 0; i < ids.n; i++) {
			/* row seq is record i + 1: dropped in shop is i % 20 == 0 */
			assert_int_equal((first + ids.v[i] - 1) % 20, 0);
			assert_true(i == 0 || ids.v[i] > ids.v[i - 1]);
		}
		candidates += ids.n;
		segments++;
	}
	sqlite3_finalize(seg);
	sqlite3_finalize(lookup);
	/* 400 rows in segments of 100 (closed at the commit that fills them) */
	assert_int_equal(segments, 4);
	assert_int_equal(candidates, 20);
	weir_history_ids_release(&ids);
	weir_sql_index_release(&ix);
	weir_filter_set_free(fs);
	weir_history_close(h);
}

/* Schema version 1's table, as relay versions 1 and 2 made it. */
static const char legacy_table[] =
	"CREATE TABLE legacy (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
	" fstart INTEGER NOT NULL, family INTEGER NOT NULL, proto INTEGER NOT NULL,"
	" saddr BLOB NOT NULL, daddr BLOB NOT NULL, sport INTEGER NOT NULL,"
	" dport INTEGER NOT NULL, l3_only INTEGER NOT NULL, verdict INTEGER NOT NULL,"
	" reason INTEGER NOT NULL, dir INTEGER NOT NULL, is_reply INTEGER NOT NULL,"
	" tcp_flags INTEGER NOT NULL, ifindex INTEGER NOT NULL, ifname TEXT NOT NULL,"
	" node TEXT NOT NULL, src_ns TEXT NOT NULL, src_pod TEXT NOT NULL, dst_ns TEXT NOT NULL,"
	" dst_pod TEXT NOT NULL, packets INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	" rpackets INTEGER NOT NULL, rbytes INTEGER NOT NULL, rec BLOB NOT NULL,"
	" dpackets INTEGER NOT NULL, dbytes INTEGER NOT NULL, drpackets INTEGER NOT NULL,"
	" drbytes INTEGER NOT NULL,"
	" node_cluster TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0"
	"  THEN substr(node, 1, instr(node, '/') - 1) ELSE 'default' END) VIRTUAL,"
	" node_base TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0"
	"  THEN substr(node, instr(node, '/') + 1) ELSE node END) VIRTUAL);"
	"INSERT INTO legacy SELECT seq, " WEIR_HISTORY_COLUMNS " FROM flows;"
	"DROP VIEW flows; DROP TABLE flow_rows; DROP TABLE segments; DROP TABLE postings;"
	"ALTER TABLE legacy RENAME TO flows;"
	"CREATE INDEX flows_time ON flows (time_ns);"
	"CREATE INDEX flows_saddr ON flows (saddr, time_ns);"
	"CREATE INDEX flows_daddr ON flows (daddr, time_ns);"
	"CREATE INDEX flows_src_pod ON flows (src_ns, src_pod, time_ns);"
	"CREATE INDEX flows_dst_pod ON flows (dst_ns, dst_pod, time_ns);"
	"CREATE INDEX flows_dport ON flows (dport, time_ns);";

/* A database of an older schema version (1: a full verdict index; 2: the
 * rare verdicts' partial indexes) is brought to the current one at open: its
 * records stay, its per-row indexes go, its rows are indexed by segment.
 */
static void migrate_from(const char *version_sql)
{
	struct weir_history *h = open_seg(64);
	struct weir_filter_set *fs = shop_dropped();
	struct weir_flow_request req = { .filters = fs };
	const char *agg[] = { "by", "verdict,source.namespace", NULL };
	json_t *before, *out;

	add_drops(h, 200);
	before = aggregate(h, agg, 0);
	assert_int_equal(sqlite3_exec(h->wdb, legacy_table, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h->wdb, version_sql, NULL, NULL, NULL), SQLITE_OK);
	weir_history_close(h);
	h = open_seg(64);
	assert_int_equal(one_int(h, "PRAGMA user_version"), WEIR_HISTORY_SCHEMA_VERSION);
	assert_int_equal(one_int(h, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				    " AND name LIKE 'flows%'"),
			 0);
	/* 200 rows: three segments of 64 closed at open, 8 left open */
	assert_int_equal(one_int(h, "SELECT count(*) FROM segments"), 3);
	assert_int_equal(one_int(h, "SELECT sum(rows) FROM segments"), 192);
	assert_int_equal(one_int(h, "SELECT count(*) FROM flows"), 200);
	assert_int_equal(count(h, NULL), 200);
	assert_int_equal(count(h, &req), 10);
	/* the same sums from the copied rows */
	out = aggregate(h, agg, 0);
	assert_true(json_array_size(json_object_get(out, "groups")) == 4);
	assert_true(json_equal(out, before));
	json_decref(out);
	json_decref(before);
	/* and records written after it follow */
	add(h, rec(1000, T0 + 1000 * S, "front", "db", 80, T0 + 1000, 1));
	assert_int_equal(weir_history_flush(h, 1000), 0);
	assert_int_equal(count(h, NULL), 201);
	weir_filter_set_free(fs);
	weir_history_close(h);
}

static void a_version_1_database_is_migrated(void **state)
{
	(void)state;
	migrate_from("CREATE INDEX flows_verdict ON flows (verdict, time_ns);"
		     " PRAGMA user_version = 1");
}

static void a_version_2_database_is_migrated(void **state)
{
	(void)state;
	migrate_from("CREATE INDEX flows_rare ON flows (verdict, time_ns) WHERE verdict <> 1;"
		     " CREATE INDEX flows_rare_src ON flows (src_ns, verdict, time_ns)"
		     " WHERE verdict <> 1;"
		     " CREATE INDEX flows_rare_dst ON flows (dst_ns, verdict, time_ns)"
		     " WHERE verdict <> 1;"
		     " PRAGMA user_version = 2");
}

/* Schema version 3's table, as relay version 3 made it: its computed
 * columns generated (VIRTUAL) from meta, ports and node.
 */
static const char v3_table[] =
	"CREATE TABLE v3 (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
	" meta INTEGER NOT NULL, saddr BLOB NOT NULL, daddr BLOB NOT NULL,"
	" ports INTEGER NOT NULL, tcp_flags INTEGER NOT NULL, ifindex INTEGER NOT NULL,"
	" ifname TEXT NOT NULL, node TEXT NOT NULL, src_ns TEXT NOT NULL, src_pod TEXT NOT NULL,"
	" dst_ns TEXT NOT NULL, dst_pod TEXT NOT NULL, packets INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL, rpackets INTEGER NOT NULL, rbytes INTEGER NOT NULL,"
	" rec BLOB NOT NULL, dpackets INTEGER NOT NULL, dbytes INTEGER NOT NULL,"
	" drpackets INTEGER NOT NULL, drbytes INTEGER NOT NULL,"
	" family INTEGER GENERATED ALWAYS AS (meta & 255) VIRTUAL,"
	" proto INTEGER GENERATED ALWAYS AS (meta >> 8 & 255) VIRTUAL,"
	" l3_only INTEGER GENERATED ALWAYS AS (meta >> 16 & 1) VIRTUAL,"
	" fstart INTEGER GENERATED ALWAYS AS (meta >> 17 & 1) VIRTUAL,"
	" verdict INTEGER GENERATED ALWAYS AS (meta >> 24 & 255) VIRTUAL,"
	" reason INTEGER GENERATED ALWAYS AS (meta >> 32 & 255) VIRTUAL,"
	" dir INTEGER GENERATED ALWAYS AS (meta >> 40 & 255) VIRTUAL,"
	" is_reply INTEGER GENERATED ALWAYS AS (meta >> 48 & 255) VIRTUAL,"
	" sport INTEGER GENERATED ALWAYS AS (ports >> 16 & 65535) VIRTUAL,"
	" dport INTEGER GENERATED ALWAYS AS (ports & 65535) VIRTUAL,"
	" node_cluster TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0"
	"  THEN substr(node, 1, instr(node, '/') - 1) ELSE 'default' END) VIRTUAL,"
	" node_base TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0"
	"  THEN substr(node, instr(node, '/') + 1) ELSE node END) VIRTUAL);"
	"INSERT INTO v3 (seq, time_ns, meta, saddr, daddr, ports, tcp_flags, ifindex, ifname,"
	" node, src_ns, src_pod, dst_ns, dst_pod, packets, bytes, rpackets, rbytes, rec,"
	" dpackets, dbytes, drpackets, drbytes) SELECT seq, time_ns, meta, saddr, daddr, ports,"
	" tcp_flags, ifindex, ifname, node, src_ns, src_pod, dst_ns, dst_pod, packets, bytes,"
	" rpackets, rbytes, rec, dpackets, dbytes, drpackets, drbytes FROM flow_rows;"
	"DROP VIEW flows; DROP TABLE flow_rows;"
	"ALTER TABLE v3 RENAME TO flows;"
	"PRAGMA user_version = 3";

/* Room for need more bytes and a NUL in *out. */
static void reserve(char **out, size_t *cap, size_t len, size_t need)
{
	char *p;

	if (len + need + 1 <= *cap)
		return;
	while (len + need + 1 > *cap)
		*cap *= 2;
	p = realloc(*out, *cap);
	assert_non_null(p);
	*out = p;
}

/* Every value of every row sql selects, as text (a NULL apart from ""). */
static char *dump(struct weir_history *h, const char *sql)
{
	size_t len = 0, cap = 4096, n;
	char *out = malloc(cap);
	sqlite3_stmt *st;
	int i;

	assert_non_null(out);
	out[0] = 0;
	assert_int_equal(sqlite3_prepare_v2(h->wdb, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(st); i++) {
			int type = sqlite3_column_type(st, i), k, nb;
			const uint8_t *b;
			const char *t;

			/* the type, then the value: a BLOB's bytes in hex */
			reserve(&out, &cap, len, 16);
			len += (size_t)snprintf(out + len, cap - len, "|%d:", type);
			if (type == SQLITE_BLOB) {
				b = sqlite3_column_blob(st, i);
				nb = sqlite3_column_bytes(st, i);
				for (k = 0; k < nb; k++) {
					reserve(&out, &cap, len, 2);
					len += (size_t)snprintf(out + len, cap - len, "%02x", b[k]);
				}
				continue;
			}
			t = (const char *)sqlite3_column_text(st, i);
			n = t ? strlen(t) + 1 : 1;
			reserve(&out, &cap, len, n);
			len += (size_t)snprintf(out + len, cap - len, "%s", t ? t : "");
		}
		reserve(&out, &cap, len, 1);
		out[len++] = '\n';
		out[len] = 0;
	}
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
	return out;
}

/* What readers select from flows, the computed columns too. */
#define ROWS_SQL \
	"SELECT seq, " WEIR_HISTORY_COLUMNS ", node_cluster, node_base FROM flows ORDER BY seq"
#define POSTINGS_SQL "SELECT seg, field, key, ids FROM postings ORDER BY seg, field, key"
#define SEGMENTS_SQL "SELECT * FROM segments ORDER BY id"

/* Whether the plan of sql reads flow_rows by its rowid (seq), never whole. */
static bool by_rowid(struct weir_history *h, const char *sql)
{
	bool search = false, scan = false;
	char eqp[512];
	sqlite3_stmt *st;

	snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(h->wdb, eqp, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);

		search |= detail && strstr(detail, "SEARCH flow_rows USING INTEGER PRIMARY KEY");
		scan |= detail && strstr(detail, "SCAN");
	}
	sqlite3_finalize(st);
	return search && !scan;
}

/* A version 3 database (its rows with generated columns, its segments and
 * postings) is brought to version 4 at open without copying a row (the
 * table keeps its pages: a rename, and the computed columns dropped from
 * the schema): every row reads the same through the view, the segments
 * and postings are those version 3 wrote, and queries and aggregates give
 * the same answers.
 */
static void a_version_3_database_is_migrated_in_place(void **state)
{
	struct weir_history *h = open_seg(64);
	struct weir_filter_set *fs = shop_dropped();
	struct weir_flow_request req = { .filters = fs };
	const char *agg[] = { "by", "verdict,source.namespace,node_name", NULL };
	char *rows, *postings, *segments, *after;
	int64_t root;
	json_t *before, *out;

	(void)state;
	add_drops(h, 200);
	/* one record of a node in a cluster: node_cluster and node_base apart */
	add(h, rec(500, T0 + 500 * S, "front", "db", 443, T0 + 500, 1));
	assert_int_equal(weir_history_flush(h, 1000), 0);
	assert_int_equal(sqlite3_exec(h->wdb,
				      "UPDATE flow_rows SET node = 'east/node-b' WHERE seq = 201",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	before = aggregate(h, agg, 0);
	assert_int_equal(count(h, &req), 10);
	assert_int_equal(sqlite3_exec(h->wdb, v3_table, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(one_int(h, "SELECT count(*) FROM flows WHERE node_cluster = 'east'"
				    " AND node_base = 'node-b' AND dport = 443"),
			 1);
	/* what version 3 computes */
	rows = dump(h, ROWS_SQL);
	postings = dump(h, POSTINGS_SQL);
	segments = dump(h, SEGMENTS_SQL);
	root = one_int(h, "SELECT rootpage FROM sqlite_schema WHERE name = 'flows'");
	assert_true(one_int(h, "SELECT count(*) FROM postings") > 0);
	weir_history_close(h);

	h = open_seg(64);
	assert_int_equal(one_int(h, "PRAGMA user_version"), WEIR_HISTORY_SCHEMA_VERSION);
	assert_int_equal(one_int(h, "SELECT count(*) FROM sqlite_schema WHERE name = 'flows'"
				    " AND type = 'view'"),
			 1);
	/* the same pages: no row was copied */
	assert_int_equal(one_int(h, "SELECT rootpage FROM sqlite_schema WHERE name = 'flow_rows'"
				    " AND type = 'table'"),
			 root);
	/* and no computed column is left in the table (hidden 2 or 3: generated) */
	assert_int_equal(one_int(h, "SELECT count(*) FROM pragma_table_xinfo('flow_rows')"
				    " WHERE hidden <> 0"),
			 0);
	after = dump(h, ROWS_SQL);
	assert_string_equal(after, rows);
	free(after);
	after = dump(h, POSTINGS_SQL);
	assert_string_equal(after, postings);
	free(after);
	after = dump(h, SEGMENTS_SQL);
	assert_string_equal(after, segments);
	free(after);
	assert_int_equal(count(h, NULL), 201);
	assert_int_equal(count(h, &req), 10);
	out = aggregate(h, agg, 0);
	assert_true(json_equal(out, before));
	json_decref(out);
	json_decref(before);
	/* the view is flattened into queries: seq ranges stay rowid ranges */
	assert_true(by_rowid(h,
			     "SELECT " WEIR_HISTORY_COLUMNS ", seq FROM flows WHERE time_ns"
			     " BETWEEN ?1 AND ?2 AND (verdict <> 1 AND dport = ?3) AND seq BETWEEN"
			     " ?4 AND ?5 ORDER BY time_ns DESC, seq DESC LIMIT ?6"));
	assert_true(by_rowid(h, "SELECT " WEIR_HISTORY_COLUMNS ", seq FROM flows WHERE time_ns"
				" BETWEEN ?1 AND ?2 AND node_cluster = ?3 AND seq = ?4"));
	assert_true(by_rowid(h, "SELECT src_ns, sum(dbytes) FROM flows WHERE time_ns BETWEEN ?1"
				" AND ?2 AND seq >= ?3 GROUP BY src_ns"));
	/* new rows go to the table and read through the view */
	add(h, rec(1000, T0 + 1000 * S, "front", "db", 8080, T0 + 1000, 1));
	assert_int_equal(weir_history_flush(h, 1000), 0);
	assert_int_equal(count(h, NULL), 202);
	assert_int_equal(one_int(h, "SELECT dport FROM flows WHERE seq = 202"), 8080);
	weir_filter_set_free(fs);
	free(rows);
	free(postings);
	free(segments);
	weir_history_close(h);
}

static void a_full_database_is_counted_and_reported(void **state)
{
	struct weir_history *h = open_db(false, 0, 0);
	struct weir_history_stats st;
	size_t i;

	(void)state;
	add(h, rec(1, T0, "front", "db", 80, T0, 1));
	assert_int_equal(weir_history_flush(h, 1000), 0);
	/* the disk is full: no page may be added */
	assert_int_equal(sqlite3_exec(h->wdb, "PRAGMA max_page_count = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	for (i = 0; i < 2000; i++)
		add(h, rec(i + 2, T0 + i, "front-with-a-long-name", "db", 80, T0 + i, 1));
	assert_int_equal(weir_history_flush(h, 1000), 0);
	weir_history_stats(h, &st);
	assert_int_equal(st.write_lost, 2000);
	assert_int_equal(st.written, 1);
	assert_true(st.write_errors >= 1);
	assert_non_null(strstr(st.last_error, "full"));
	assert_true(st.last_error_ns > 0);
	assert_int_equal(count(h, NULL), 1);
	weir_history_close(h);
}

static void a_corrupt_file_is_refused(void **state)
{
	struct weir_history_opts o = { .path = path, .no_thread = true };
	struct weir_history *h;
	char junk[8192];
	int fd;

	(void)state;
	memset(junk, 'x', sizeof(junk));
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	assert_int_not_equal(weir_history_open(&h, &o), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(records_survive_a_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(committed_records_survive_kill_9, setup, teardown),
		cmocka_unit_test_setup_teardown(retention_by_age_drops_the_old_and_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(retention_by_size_drops_the_oldest_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(queries_take_number_first_and_time_bounds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(aggregates_count_each_flow_once, setup, teardown),
		cmocka_unit_test_setup_teardown(ring_and_history_unite_without_duplicates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_full_database_is_counted_and_reported, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_corrupt_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(dropped_in_a_namespace_reads_only_its_rows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_version_1_database_is_migrated, setup, teardown),
		cmocka_unit_test_setup_teardown(a_version_2_database_is_migrated, setup, teardown),
		cmocka_unit_test_setup_teardown(a_version_3_database_is_migrated_in_place, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
