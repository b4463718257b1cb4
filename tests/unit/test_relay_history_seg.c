// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The history's segments (relay/history_seg.c): posting lists encoded as
 * written down by hand; queries through segments, postings and the tail
 * equal to lib/filter.c run over every record (random records and filters:
 * every indexed field, CIDRs, pod prefixes, negation, time ranges, last
 * and first N); segments chosen by time; retention by whole segments and
 * inside the one the age cut falls in; a crash between commits (the tail
 * indexed again at open).
 */
#include <errno.h>
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
#include "filter.h"
#include "filter_sql.h"
#include "history.h"
#include "history_priv.h"
#include "history_seg.h"
#include "log.h"

#define S	  1000000000ULL
#define T0	  (1700000000ULL * S)
#define N_RECORDS 3000

static char path[64];
static uint32_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static void rm_db(void)
{
	char p[80];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/weir-test-history-seg-%d.db", (int)getpid());
	rm_db();
	rnd_state = 2024;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_db();
	return 0;
}

static struct weir_history *open_h(size_t segment_rows, uint64_t age, uint64_t max_bytes)
{
	struct weir_history_opts o = {
		.path = path,
		.no_thread = true,
		.retention_age_ns = age,
		.max_bytes = max_bytes,
		.segment_rows = segment_rows,
		.query_max = N_RECORDS + 10,
	};
	struct weir_history *h;

	assert_int_equal(weir_history_open(&h, &o), 0);
	return h;
}

static struct weir_endpoint *endpoint(void)
{
	static const char *const ns[] = { "shop", "media", "" };
	static const char *const pods[] = { "front", "db-0", "cart", "" };
	struct weir_endpoint *ep;
	const char *n, *p;

	if (!rnd(5))
		return weir_endpoint_get(weir_endpoint_world());
	ep = weir_endpoint_new(WEIR_IDENTITY_POD);
	n = ns[rnd(3)];
	p = pods[rnd(4)];
	ep->namespace = *n ? strdup(n) : NULL;
	ep->pod_name = *p ? strdup(p) : NULL;
	ep->labels = calloc(2, sizeof(char *));
	ep->labels[0] = strdup(rnd(2) ? "app=web" : "app=db");
	ep->n_labels = 1;
	return ep;
}

static void address(uint8_t family, uint8_t *a)
{
	memset(a, 0, 16);
	if (family == 4) {
		a[0] = 10;
		a[2] = (uint8_t)rnd(3);
		a[3] = (uint8_t)rnd(3);
	} else {
		a[0] = 0xfd;
		a[15] = (uint8_t)rnd(3);
	}
}

/* Record i: times that go back now and then and tie (i S plus 0, 0.5, 1
 * or 1.5 S), so order by time is not order of arrival.
 */
static struct weir_flow_record *record(size_t i)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	static const uint16_t ports[] = { 80, 443, 5432, 0 };
	struct weir_flow_record *r = weir_flow_record_new();

	r->id = i + 1;
	r->time_ns = T0 + i * S + rnd(4) * (S / 2);
	r->first_seen_ns = r->time_ns - 5;
	r->last_seen_ns = r->time_ns;
	r->type = WEIR_RECORD_UPDATE;
	r->family = rnd(4) ? 4 : 6;
	r->proto = protos[rnd(3)];
	address(r->family, r->saddr);
	address(r->family, r->daddr);
	if (r->proto != IPPROTO_ICMP) {
		r->sport = ports[rnd(4)];
		r->dport = ports[rnd(4)];
	}
	r->verdict = !rnd(5)  ? WEIR_VERDICT_DROPPED :
		     !rnd(10) ? WEIR_VERDICT_AUDIT :
				WEIR_VERDICT_FORWARDED;
	r->reason = r->verdict == WEIR_VERDICT_DROPPED ? 133 : 0;
	r->dir = 1;
	r->packets = 1 + rnd(10);
	r->bytes = r->packets * 100;
	r->node_name = strdup("node-a");
	r->src = endpoint();
	r->dst = endpoint();
	return r;
}

/* recs[0..n) made (seeded) and added, committed every `every` records. */
static void fill(struct weir_history *h, struct weir_flow_record **recs, size_t n, size_t every)
{
	size_t i;

	for (i = 0; i < n; i++) {
		recs[i] = record(i);
		weir_history_add(h, recs[i]);
		if (i % every == every - 1)
			assert_int_equal(weir_history_flush(h, 10000), 0);
	}
	assert_int_equal(weir_history_flush(h, 10000), 0);
}

static void put_all(struct weir_flow_record **recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		weir_flow_record_put(recs[i]);
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

/* ---- posting lists ---- */

static void postings_encode_as_written_by_hand(void **state)
{
	static const uint32_t offs[] = { 0, 1, 130, 20000, 20001 };
	/* deltas 0, 1, 129, 19870, 1 as LEB128: 129 = 0x81 -> 81 01;
	 * 19870 = 155 * 128 + 30 -> 9e (30 | 0x80), 9b (27 | 0x80), 01
	 */
	static const uint8_t want[] = { 0x00, 0x01, 0x81, 0x01, 0x9e, 0x9b, 0x01, 0x01 };
	static const uint32_t big[] = { UINT32_MAX };
	static const uint8_t big_want[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	struct weir_history_ids ids = { 0 };
	uint8_t buf[32];
	size_t len;

	(void)state;
	len = weir_history_postings_encode(offs, 5, buf);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(weir_history_postings_decode(buf, len, &ids), 0);
	assert_int_equal(ids.n, 5);
	assert_memory_equal(ids.v, offs, sizeof(offs));
	/* decoding appends */
	assert_int_equal(weir_history_postings_decode(want, 2, &ids), 0);
	assert_int_equal(ids.n, 7);
	assert_int_equal(ids.v[5], 0);
	assert_int_equal(ids.v[6], 1);
	len = weir_history_postings_encode(big, 1, buf);
	assert_int_equal(len, sizeof(big_want));
	assert_memory_equal(buf, big_want, sizeof(big_want));
	ids.n = 0;
	assert_int_equal(weir_history_postings_decode(buf, len, &ids), 0);
	assert_int_equal(ids.v[0], UINT32_MAX);
	/* malformed: a varint cut short, a repeated row, past 32 bits */
	assert_int_equal(weir_history_postings_decode((const uint8_t *)"\x05\x80", 2, &ids),
			 -EINVAL);
	assert_int_equal(weir_history_postings_decode((const uint8_t *)"\x05\x00", 2, &ids),
			 -EINVAL);
	assert_int_equal(
		weir_history_postings_decode((const uint8_t *)"\xff\xff\xff\xff\x0f\x01", 6, &ids),
		-EINVAL);
	assert_int_equal(
		weir_history_postings_decode((const uint8_t *)"\x80\x80\x80\x80\x80\x01", 6, &ids),
		-EINVAL);
	weir_history_ids_release(&ids);
}

/* ---- queries against lib/filter.c over every record ---- */

static const char *const fields[] = {
	"\"source_ip\": [\"10.0.1.2\"]",
	"\"source_ip\": [\"10.0.0.0/23\", \"fd00::2\"]",
	"\"destination_ip\": [\"fd00::/120\", \"10.0.2.0/24\"]",
	"\"destination_ip\": [\"10.0.0.1\"]",
	"\"source_pod\": [\"shop/\"]",
	"\"source_pod\": [\"shop/fr\", \"media/db-0\"]",
	"\"source_pod\": [\"/db\"]",
	"\"destination_pod\": [\"media/\"]",
	"\"destination_pod\": [\"shop/cart\"]",
	"\"destination_port\": [\"5432\"]",
	"\"destination_port\": [\"80\", \"443\"]",
	"\"source_port\": [\"80\"]",
	"\"verdict\": [\"DROPPED\"]",
	"\"verdict\": [\"AUDIT\", \"DROPPED\"]",
	"\"verdict\": [\"FORWARDED\"]",
	"\"drop_reason_desc\": [133]",
	"\"protocol\": [\"udp\"]",
	"\"source_label\": [\"app=web\"]",
	"\"ip_version\": [\"IPv6\"]",
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* A list of 1..2 filters of 1..3 fields (JSON), into buf. */
static void random_list(char *buf, size_t len)
{
	size_t nf = 1 + rnd(2), f, k, j;

	snprintf(buf, len, "[");
	for (f = 0; f < nf; f++) {
		size_t picked[3], n = 1 + rnd(3);

		strncat(buf, f ? ", {" : "{", len - strlen(buf) - 1);
		for (k = 0; k < n; k++) {
			picked[k] = rnd(N_FIELDS);
			/* one of each key */
			for (j = 0; j < k; j++)
				if (!strncmp(fields[picked[j]], fields[picked[k]], 12))
					break;
			if (j < k) {
				picked[k--] = 0;
				n--;
				continue;
			}
			if (k)
				strncat(buf, ", ", len - strlen(buf) - 1);
			strncat(buf, fields[picked[k]], len - strlen(buf) - 1);
		}
		strncat(buf, "}", len - strlen(buf) - 1);
	}
	strncat(buf, "]", len - strlen(buf) - 1);
}

static int cmp_time_seq(const void *a, const void *b)
{
	const struct weir_flow_record *x = *(struct weir_flow_record *const *)a,
				      *y = *(struct weir_flow_record *const *)b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The query of (allow, deny, since, until, number, first, max) against
 * filter.c over recs: the same records in the same order, and the cut.
 */
static void check_query(struct weir_history *h, struct weir_flow_record **recs, size_t n_recs,
			const char *allow, const char *deny, const struct weir_flow_request *base,
			size_t max)
{
	static struct weir_flow_record *want[N_RECORDS];
	json_t *a = allow ? json_loads(allow, 0, NULL) : NULL;
	json_t *d = deny ? json_loads(deny, 0, NULL) : NULL;
	struct weir_flow_request req = *base;
	struct weir_flow_record **v;
	size_t i, n, k = 0, cap, from;
	bool truncated;
	char err[256];

	if ((allow && !a) || (deny && !d))
		fail_msg("bad test JSON: %s %s", allow, deny ? deny : "");
	if (weir_filter_set_new(&req.filters, a, d, err, sizeof(err)))
		fail_msg("filter %s: %s", allow, err);
	for (i = 0; i < n_recs; i++) {
		const struct weir_flow_record *r = recs[i];

		if (r->time_ns < req.since_ns || (req.until_ns && r->time_ns > req.until_ns))
			continue;
		if (weir_filter_set_match(req.filters, r))
			want[k++] = recs[i];
	}
	qsort(want, k, sizeof(void *), cmp_time_seq);
	cap = req.number && req.number < max ? (size_t)req.number : max;
	from = k > cap && !req.first ? k - cap : 0;
	assert_int_equal(weir_history_query(h, &req, max, &v, &n, &truncated), 0);
	if (n != (k < cap ? k : cap))
		fail_msg(
			"allow %s deny %s since %llu until %llu number %llu first %d: %zu records, "
			"filter.c %zu",
			allow, deny ? deny : "-", (unsigned long long)(req.since_ns - T0) / S,
			(unsigned long long)(req.until_ns ? (req.until_ns - T0) / S : 0),
			(unsigned long long)req.number, req.first, n, k < cap ? k : cap);
	for (i = 0; i < n; i++) {
		if (v[i]->id != want[from + i]->id)
			fail_msg("allow %s deny %s number %llu first %d: record %zu is %llu, "
				 "filter.c's %llu",
				 allow, deny ? deny : "-", (unsigned long long)req.number,
				 req.first, i, (unsigned long long)v[i]->id,
				 (unsigned long long)want[from + i]->id);
		weir_flow_record_put(v[i]);
	}
	free(v);
	assert_int_equal(truncated, k > cap && (!req.number || req.number > cap));
	weir_filter_set_free(req.filters);
	json_decref(a);
	json_decref(d);
}

static void random_queries_equal_filter_c_over_every_record(void **state)
{
	static struct weir_flow_record *recs[N_RECORDS];
	static const uint64_t numbers[] = { 0, 1, 7, 100 };
	struct weir_history *h = open_h(256, 0, 0);
	char allow[1024], deny[1024];
	int i;

	(void)state;
	/* segments of 256 rows (commits of 64), the last rows in the tail */
	fill(h, recs, N_RECORDS, 64);
	assert_true(one_int(h, "SELECT count(*) FROM segments") >= 10);
	for (i = 0; i < 400; i++) {
		struct weir_flow_request req = { 0 };
		bool has_allow = rnd(5) != 0, has_deny = rnd(4) == 0;

		random_list(allow, sizeof(allow));
		random_list(deny, sizeof(deny));
		if (rnd(2))
			req.since_ns = T0 + rnd(N_RECORDS) * S;
		if (rnd(3) == 0)
			req.until_ns = req.since_ns + rnd(N_RECORDS / 2) * S + S / 2;
		if (rnd(3) == 0 && !req.since_ns)
			req.until_ns = T0 + rnd(N_RECORDS) * S;
		req.number = numbers[rnd(4)];
		req.first = rnd(2);
		check_query(h, recs, N_RECORDS, has_allow ? allow : NULL, has_deny ? deny : NULL,
			    &req, rnd(4) ? N_RECORDS + 10 : 50);
	}
	put_all(recs, N_RECORDS);
	weir_history_close(h);
}

/* Segments are chosen by their time ranges: a range before, after, between
 * and across them.
 */
static void segments_are_chosen_by_time(void **state)
{
	static struct weir_flow_record *recs[1000];
	struct weir_history *h = open_h(100, 0, 0);
	struct weir_flow_request req = { 0 };

	(void)state;
	fill(h, recs, 1000, 100);
	/* ten segments, each its own rows' time range */
	assert_int_equal(one_int(h, "SELECT count(*) FROM segments"), 10);
	assert_int_equal(one_int(h, "SELECT count(*) FROM segments WHERE rows <> 100"), 0);
	assert_int_equal(one_int(h, "SELECT count(*) FROM segments s WHERE min_time <>"
				    " (SELECT min(time_ns) FROM flows WHERE seq BETWEEN"
				    " s.first_row AND s.last_row) OR max_time <>"
				    " (SELECT max(time_ns) FROM flows WHERE seq BETWEEN"
				    " s.first_row AND s.last_row)"),
			 0);
	req.until_ns = T0 - 1;
	check_query(h, recs, 1000, NULL, NULL, &req, 2000);
	req.until_ns = 0;
	req.since_ns = T0 + 2000 * S;
	check_query(h, recs, 1000, NULL, NULL, &req, 2000);
	/* inside one segment, at a boundary, across three */
	req.since_ns = T0 + 420 * S;
	req.until_ns = T0 + 440 * S;
	check_query(h, recs, 1000, "[{\"source_pod\": [\"shop/\"]}]", NULL, &req, 2000);
	req.since_ns = T0 + 199 * S;
	req.until_ns = T0 + 201 * S;
	check_query(h, recs, 1000, NULL, NULL, &req, 2000);
	req.since_ns = T0 + 150 * S;
	req.until_ns = T0 + 450 * S;
	check_query(h, recs, 1000, "[{\"verdict\": [\"DROPPED\"]}]", NULL, &req, 2000);
	req.number = 5;
	check_query(h, recs, 1000, "[{\"destination_port\": [\"5432\"]}]", NULL, &req, 2000);
	req.first = true;
	check_query(h, recs, 1000, "[{\"destination_port\": [\"5432\"]}]", NULL, &req, 2000);
	put_all(recs, 1000);
	weir_history_close(h);
}

/* ---- retention ---- */

static void retention_by_age_cuts_inside_a_segment(void **state)
{
	static struct weir_flow_record *recs[1000];
	struct weir_history *h = open_h(100, 450 * S, 0);
	struct weir_flow_request req = { .since_ns = T0 + 550 * S };
	struct weir_history_stats st;
	size_t i, older = 0;

	(void)state;
	fill(h, recs, 1000, 100);
	for (i = 0; i < 1000; i++)
		older += recs[i]->time_ns < T0 + 550 * S;
	/* the cut at 550 s: segments 0..4 whole, the older rows of segment 5 */
	assert_int_equal(weir_history_retain(h, T0 + 1000 * S), 0);
	weir_history_stats(h, &st);
	assert_int_equal(st.deleted_age, older);
	assert_int_equal(st.rows, 1000 - older);
	assert_int_equal(one_int(h, "SELECT count(*) FROM flows"), 1000 - older);
	assert_int_equal(one_int(h, "SELECT count(*) FROM segments"), 5);
	assert_int_equal(one_int(h, "SELECT count(DISTINCT seg) FROM postings"), 5);
	assert_int_equal(one_int(h, "SELECT min(min_time) FROM segments"), T0 + 550 * S);
	assert_int_equal(st.oldest_ns, T0 + 550 * S);
	/* what is left: exactly the records from the cut on */
	check_query(h, recs, 1000, NULL, NULL, &req, 2000);
	check_query(h, recs, 1000, "[{\"source_ip\": [\"10.0.0.0/8\"]}]", NULL, &req, 2000);
	req.since_ns = 0;
	req.until_ns = T0 + 550 * S - 1;
	check_query(h, recs, 0, NULL, NULL, &req, 2000);
	/* once more: nothing older left */
	assert_int_equal(weir_history_retain(h, T0 + 1000 * S), 0);
	weir_history_stats(h, &st);
	assert_int_equal(st.deleted_age, older);
	put_all(recs, 1000);
	weir_history_close(h);
}

static void retention_by_size_drops_the_oldest_segments_whole(void **state)
{
	static struct weir_flow_record *recs[1000];
	struct weir_history *h = open_h(100, 0, 0);
	struct weir_flow_request req = { .number = 1, .first = true };
	struct weir_history_stats st;
	struct weir_flow_record **v;
	uint64_t max;
	bool truncated;
	size_t n;

	(void)state;
	fill(h, recs, 1000, 100);
	assert_int_equal(weir_history_retain(h, T0), 0);
	weir_history_stats(h, &st);
	assert_int_equal(st.deleted_size, 0);
	/* a limit of half what is used */
	max = st.db_bytes / 2;
	h->o.max_bytes = max;
	assert_int_equal(weir_history_retain(h, T0), 0);
	weir_history_stats(h, &st);
	assert_true(st.deleted_size > 0);
	assert_int_equal(st.deleted_size % 100, 0);
	assert_int_equal(st.rows + st.deleted_size, 1000);
	assert_true(st.db_bytes <= max);
	assert_int_equal(one_int(h, "SELECT count(*) FROM segments"), st.rows / 100);
	/* the oldest went first */
	assert_int_equal(one_int(h, "SELECT min(seq) FROM flows"), st.deleted_size + 1);
	assert_int_equal(weir_history_query(h, &req, 0, &v, &n, &truncated), 0);
	assert_int_equal(n, 1);
	assert_true(v[0]->id > st.deleted_size);
	weir_flow_record_put(v[0]);
	free(v);
	put_all(recs, 1000);
	weir_history_close(h);
}

/* ---- a crash ---- */

/* A child commits 250 records (two segments closed, 50 open) and 30 more
 * it never commits, and dies: at open the 50 are indexed again, and the
 * segment they open closes with the next commits as if nothing happened.
 */
static void a_crash_between_commits_leaves_a_tail_indexed_at_open(void **state)
{
	static struct weir_flow_record *recs[400];
	struct weir_flow_request req = { 0 };
	struct weir_history_stats st;
	struct weir_history *h;
	int status;
	size_t i;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		h = open_h(100, 0, 0);
		fill(h, recs, 250, 50);
		for (i = 250; i < 280; i++)
			weir_history_add(h, record(i));
		raise(SIGKILL);
		_exit(1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	for (i = 0; i < 250; i++)
		recs[i] = record(i);
	h = open_h(100, 0, 0);
	weir_history_stats(h, &st);
	assert_int_equal(st.rows, 250);
	assert_int_equal(one_int(h, "SELECT count(*) FROM segments"), 2);
	assert_int_equal(h->seg.rows, 50);
	assert_int_equal(h->seg.first_row, 201);
	check_query(h, recs, 250, NULL, NULL, &req, 1000);
	check_query(h, recs, 250, "[{\"source_pod\": [\"media/\"]}, {\"verdict\": [\"DROPPED\"]}]",
		    NULL, &req, 1000);
	/* 60 more: the open segment (110 rows) closes at their commit */
	for (i = 250; i < 310; i++) {
		recs[i] = record(i);
		weir_history_add(h, recs[i]);
	}
	assert_int_equal(weir_history_flush(h, 10000), 0);
	assert_int_equal(one_int(h, "SELECT count(*) FROM segments"), 3);
	assert_int_equal(one_int(h, "SELECT last_row - first_row + 1 FROM segments"
				    " WHERE first_row = 201"),
			 110);
	check_query(h, recs, 310, "[{\"source_pod\": [\"media/\"]}, {\"verdict\": [\"DROPPED\"]}]",
		    NULL, &req, 1000);
	check_query(h, recs, 310, "[{\"destination_ip\": [\"10.0.1.0/24\"]}]", NULL, &req, 1000);
	put_all(recs, 310);
	weir_history_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(postings_encode_as_written_by_hand),
		cmocka_unit_test_setup_teardown(random_queries_equal_filter_c_over_every_record,
						setup, teardown),
		cmocka_unit_test_setup_teardown(segments_are_chosen_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(retention_by_age_cuts_inside_a_segment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(retention_by_size_drops_the_oldest_segments_whole,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_crash_between_commits_leaves_a_tail_indexed_at_open, setup, teardown),
	};

	weir_log_set_level(WEIR_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
