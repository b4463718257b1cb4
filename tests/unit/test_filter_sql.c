// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* lib/filter_sql.c against lib/filter.c: for every filter field (and
 * combinations, allow and deny lists), the WHERE clause run on a real SQLite
 * history holds exactly the records weir_filter_set_match() takes (or, where
 * it says it is not exact, a superset of them), and the history's query,
 * which reads candidate rows through the segments' postings and checks such
 * rows again, answers exactly. Values from filters never
 * appear in the SQL text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <cmocka.h>
#include <weir/abi.h>
#include "filter.h"
#include "filter_sql.h"
#include "history.h"

#define N_RECORDS 3000
#define T0	  (1700000000ULL * 1000000000ULL)

static struct weir_flow_record *recs[N_RECORDS];
static char db_path[64];
static struct weir_history *hist;
static sqlite3 *db;

static uint32_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct weir_endpoint *endpoint(void)
{
	static const char *const ns[] = { "shop", "default", "kube-system", "", "shop-x" };
	static const char *const pods[] = {
		"frontend-1", "front", "cart-7", "db-0", "", "\xff\xfe"
	};
	static const char *const labels[] = { "app=web", "app=db", "tier=backend", "k8s:app=cart" };
	struct weir_endpoint *ep;
	uint32_t kind = rnd(6);

	if (kind == 0)
		return weir_endpoint_new(WEIR_IDENTITY_WORLD);
	if (kind == 1)
		return weir_endpoint_new(WEIR_IDENTITY_HOST);
	ep = weir_endpoint_new(WEIR_IDENTITY_POD);
	ep->namespace = dup_or_null(ns[rnd(5)]);
	ep->pod_name = dup_or_null(pods[rnd(6)]);
	if (!*ep->namespace) {
		free(ep->namespace);
		ep->namespace = NULL;
	}
	if (!*ep->pod_name) {
		free(ep->pod_name);
		ep->pod_name = NULL;
	}
	ep->n_labels = rnd(3);
	ep->labels = calloc(ep->n_labels + 1, sizeof(char *));
	for (size_t i = 0; i < ep->n_labels; i++)
		ep->labels[i] = strdup(labels[rnd(4)]);
	if (rnd(2))
		ep->workload_name = strdup("web");
	if (rnd(2))
		ep->workload_kind = strdup(rnd(2) ? "Deployment" : "StatefulSet");
	return ep;
}

static void addr(struct weir_flow_record *r, uint8_t *a)
{
	if (r->family == 4) {
		uint8_t v4[][4] = { { 10, 0, 0, 1 },	{ 10, 0, 1, 7 },	{ 10, 0, 0, 200 },
				    { 192, 168, 1, 1 }, { 255, 255, 255, 255 }, { 0, 0, 0, 0 } };

		memcpy(a, v4[rnd(6)], 4);
	} else if (r->family == 6) {
		uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

		v6[7] = (uint8_t)rnd(2);
		v6[15] = (uint8_t)rnd(3);
		v6[0] = rnd(4) ? 0xfd : 0xff;
		memcpy(a, v6, 16);
	}
}

static struct weir_flow_record *record(size_t i)
{
	static const char *const nodes[] = { "node-a",	  "NODE-A",  "c1/node-b",      "",
					     "x/",	  "node-a1", "default/node-a", "node_a",
					     "c%1/node-b" };
	static const char *const ifnames[] = { "", "eth0", "veth1" };
	static const uint8_t protos[] = { IPPROTO_TCP,	  IPPROTO_UDP,	IPPROTO_ICMP,
					  IPPROTO_ICMPV6, IPPROTO_SCTP, 47 };
	struct weir_flow_record *r = weir_flow_record_new();
	uint32_t fam = rnd(10);

	r->id = i + 1;
	r->time_ns = T0 + i * 1000;
	r->first_seen_ns = r->time_ns - 5;
	r->last_seen_ns = r->time_ns;
	r->type = WEIR_RECORD_START + rnd(4);
	r->family = fam < 6 ? 4 : fam < 9 ? 6 : 0;
	r->proto = protos[rnd(6)];
	addr(r, r->saddr);
	addr(r, r->daddr);
	r->l3_only = rnd(8) == 0;
	if (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6) {
		r->icmp_type = 8;
	} else {
		static const uint16_t ports[] = { 80, 443, 53, 0, 40000 };

		r->sport = ports[rnd(5)];
		r->dport = ports[rnd(5)];
	}
	r->ifindex = rnd(4);
	snprintf(r->ifname, sizeof(r->ifname), "%s", ifnames[rnd(3)]);
	r->dir = (uint8_t)rnd(3);
	r->verdict = (uint8_t)rnd(4);
	r->reason = (uint8_t)rnd(4);
	r->is_reply = (enum weir_reply)rnd(3);
	r->tcp_flags = rnd(64);
	r->packets = rnd(100);
	r->bytes = r->packets * 100;
	r->node_name = dup_or_null(nodes[rnd(9)]);
	if (!*r->node_name) {
		free(r->node_name);
		r->node_name = NULL;
	}
	r->src = endpoint();
	r->dst = endpoint();
	if (rnd(3) == 0)
		r->dst_service = strdup(rnd(2) ? "web" : "web-admin");
	return r;
}

static int setup(void **state)
{
	/* segments of 256 rows: the history's answers go through the postings
	 * of every indexed field (and the last rows through the tail)
	 */
	struct weir_history_opts o = { .no_thread = true,
				       .query_max = N_RECORDS + 10,
				       .segment_rows = 256 };
	size_t i;

	(void)state;
	snprintf(db_path, sizeof(db_path), "/tmp/weir-test-filter-sql-%d.db", (int)getpid());
	unlink(db_path);
	o.path = db_path;
	if (weir_history_open(&hist, &o))
		return -1;
	for (i = 0; i < N_RECORDS; i++) {
		recs[i] = record(i);
		weir_history_add(hist, recs[i]);
	}
	if (weir_history_flush(hist, 10000))
		return -1;
	return sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK ? 0 : -1;
}

static int teardown(void **state)
{
	size_t i;
	char wal[80];

	(void)state;
	sqlite3_close(db);
	weir_history_close(hist);
	for (i = 0; i < N_RECORDS; i++)
		weir_flow_record_put(recs[i]);
	unlink(db_path);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", db_path);
	unlink(wal);
	return 0;
}

/* Which records the clause selects: seq is the record's index + 1. */
static void sql_select(const struct weir_sql_where *w, bool *out)
{
	char sql[16384];
	sqlite3_stmt *st;
	size_t i;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT seq FROM flows WHERE %s", w->sql);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	for (i = 0; i < w->n_params; i++) {
		const struct weir_sql_param *p = &w->params[i];

		if (p->type == WEIR_SQL_INT)
			rc = sqlite3_bind_int64(st, (int)i + 1, p->i);
		else if (p->type == WEIR_SQL_TEXT)
			rc = sqlite3_bind_text(st, (int)i + 1, (const char *)p->p, (int)p->len,
					       SQLITE_STATIC);
		else
			rc = sqlite3_bind_blob(st, (int)i + 1, p->p, (int)p->len, SQLITE_STATIC);
		assert_int_equal(rc, SQLITE_OK);
	}
	memset(out, 0, N_RECORDS * sizeof(bool));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);

		assert_true(seq >= 1 && seq <= N_RECORDS);
		out[seq - 1] = true;
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
}

/* The parameters' values never appear in the SQL text. */
static void check_no_values_in_sql(const struct weir_sql_where *w)
{
	size_t i;

	for (i = 0; i < w->n_params; i++) {
		const struct weir_sql_param *p = &w->params[i];

		if (p->type == WEIR_SQL_TEXT && p->len >= 3)
			assert_null(strstr(w->sql, (const char *)p->p));
	}
}

/* allow and deny (JSON, NULL for none): SQL and matcher agree. Returns
 * whether the translation was exact.
 */
static bool check(const char *allow, const char *deny)
{
	static bool by_sql[N_RECORDS];
	json_t *a = allow ? json_loads(allow, 0, NULL) : NULL;
	json_t *d = deny ? json_loads(deny, 0, NULL) : NULL;
	struct weir_flow_request req = { 0 };
	struct weir_flow_record **v;
	struct weir_filter_set *fs;
	struct weir_sql_where w;
	size_t i, n, k = 0, matched = 0;
	bool truncated, exact;
	char err[256];

	if ((allow && !a) || (deny && !d))
		fail_msg("bad test JSON: %s %s", allow, deny ? deny : "");
	if (weir_filter_set_new(&fs, a, d, err, sizeof(err)))
		fail_msg("filter %s: %s", allow, err);
	assert_int_equal(weir_filter_sql(fs, &w), 0);
	check_no_values_in_sql(&w);
	sql_select(&w, by_sql);
	for (i = 0; i < N_RECORDS; i++) {
		bool m = weir_filter_set_match(fs, recs[i]);

		matched += m;
		if (w.exact && m != by_sql[i])
			fail_msg("allow %s deny %s: record %zu: filter.c %d, SQL %d\nSQL: %s",
				 allow, deny ? deny : "-", i, m, by_sql[i], w.sql);
		if (!w.exact && m && !by_sql[i])
			fail_msg("allow %s deny %s: record %zu matched but not selected\nSQL: %s",
				 allow, deny ? deny : "-", i, w.sql);
	}
	/* the history's answer, rows checked again where inexact: exactly filter.c's */
	req.filters = fs;
	assert_int_equal(weir_history_query(hist, &req, 0, &v, &n, &truncated), 0);
	assert_false(truncated);
	assert_int_equal(n, matched);
	for (i = 0; i < N_RECORDS; i++) {
		if (!weir_filter_set_match(fs, recs[i]))
			continue;
		assert_int_equal(v[k]->id, recs[i]->id);
		k++;
	}
	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
	exact = w.exact;
	weir_sql_where_release(&w);
	weir_filter_set_free(fs);
	json_decref(a);
	json_decref(d);
	return exact;
}

/* One filter object, as an allow list, as a deny list, and both. */
static void check_field(const char *filter, bool want_exact)
{
	char list[1024];

	snprintf(list, sizeof(list), "[%s]", filter);
	assert_int_equal(check(list, NULL), want_exact);
	assert_int_equal(check(NULL, list), want_exact);
	assert_int_equal(check("[{\"protocol\": [\"tcp\", \"udp\"]}]", list), want_exact);
}

static void ips_are_blob_ranges(void **state)
{
	(void)state;
	check_field("{\"source_ip\": [\"10.0.0.1\"]}", true);
	check_field("{\"source_ip\": [\"10.0.0.0/8\", \"fd00::/64\"]}", true);
	check_field("{\"destination_ip\": [\"10.0.0.128/25\"]}", true);
	check_field("{\"destination_ip\": [\"0.0.0.0/0\"]}", true);
	check_field("{\"source_ip\": [\"::/0\"]}", true);
	check_field("{\"destination_ip\": [\"255.255.255.255/32\", \"ff00::/8\"]}", true);
	check_field("{\"source_ip\": [\"fd00::1/127\"]}", true);
}

static void pods_are_name_ranges(void **state)
{
	(void)state;
	check_field("{\"source_pod\": [\"shop/\"]}", true);
	check_field("{\"source_pod\": [\"shop/front\"]}", true);
	check_field("{\"destination_pod\": [\"db\"]}", true);
	check_field("{\"destination_pod\": [\"/\"]}", true);
	check_field("{\"source_pod\": [\"/cart\", \"kube-system/\"]}", true);
	check_field("{\"destination_pod\": [\"shop/\\u00ff\"]}", true);
}

static void ports_protocols_and_enums(void **state)
{
	(void)state;
	check_field("{\"source_port\": [\"80\", \"443\"]}", true);
	check_field("{\"destination_port\": [\"53\", 0]}", true);
	check_field("{\"protocol\": [\"tcp\"]}", true);
	check_field("{\"protocol\": [\"icmp\"]}", true);
	check_field("{\"protocol\": [\"udp\", \"sctp\", \"icmpv6\"]}", true);
	check_field("{\"protocol\": [\"dns\"]}", true);
	check_field("{\"verdict\": [\"FORWARDED\"]}", true);
	check_field("{\"verdict\": [\"DROPPED\", 3]}", true);
	check_field("{\"drop_reason_desc\": [1, 2]}", true);
	check_field("{\"traffic_direction\": [\"INGRESS\"]}", true);
	check_field("{\"traffic_direction\": [\"EGRESS\", \"TRAFFIC_DIRECTION_UNKNOWN\"]}", true);
	check_field("{\"ip_version\": [\"IPv4\"]}", true);
	check_field("{\"ip_version\": [\"IPv6\", \"IP_NOT_USED\"]}", true);
	check_field("{\"reply\": [true]}", true);
	check_field("{\"reply\": [false]}", true);
	check_field("{\"tcp_flags\": [{\"SYN\": true}]}", true);
	check_field("{\"tcp_flags\": [{\"SYN\": true, \"ACK\": true}, {\"FIN\": true}]}", true);
	check_field("{\"interface\": [{\"name\": \"eth0\"}]}", true);
	check_field("{\"interface\": [{\"index\": 3}, {\"index\": 2, \"name\": \"veth1\"}]}", true);
}

static void node_names_exact_and_globs(void **state)
{
	(void)state;
	check_field("{\"node_name\": [\"node-a\"]}", true);
	check_field("{\"node_name\": [\"c1/node-b\"]}", true);
	check_field("{\"node_name\": [\"c1/\"]}", true);
	check_field("{\"node_name\": [\"node-*\"]}", true);
	check_field("{\"node_name\": [\"*/node-b\", \"default/*\"]}", true);
	check_field("{\"node_name\": [\"node_*\", \"c%1/*\"]}", true);
	/* a glob is matched on the rows: inexact, still the right answer */
	check_field("{\"node_name\": [\"node-?\"]}", false);
}

static void labels_are_checked_on_rows(void **state)
{
	(void)state;
	check_field("{\"source_label\": [\"app=web\"]}", false);
	check_field("{\"destination_label\": [\"app in (db, cart)\", \"!tier\"]}", false);
	check_field("{\"source_label\": [\"reserved:world\"], \"verdict\": [\"DROPPED\"]}", false);
}

static void services_workloads_identities_on_rows(void **state)
{
	(void)state;
	check_field("{\"destination_service\": [\"web\"]}", false);
	check_field("{\"destination_service\": [\"/web-a\", \"shop/web\"]}", false);
	check_field("{\"source_service\": [\"web\"]}", false);
	check_field("{\"source_workload\": [{\"name\": \"web\"}]}", false);
	check_field("{\"destination_workload\": [{\"kind\": \"StatefulSet\"}, "
		    "{\"kind\": \"Deployment\", \"name\": \"web\"}]}",
		    false);
	check_field("{\"source_identity\": [2]}", false);
	check_field("{\"destination_identity\": [\"1\", 0]}", false);
}

static void combinations(void **state)
{
	(void)state;
	check_field("{\"source_pod\": [\"shop/\"], \"verdict\": [\"DROPPED\"], "
		    "\"destination_port\": [\"80\"]}",
		    true);
	assert_true(check("[{\"verdict\": [\"DROPPED\"]}, {\"protocol\": [\"udp\"]}]", NULL));
	assert_true(check("[{\"source_pod\": [\"shop/\"]}]",
			  "[{\"destination_port\": [\"80\"]}, {\"ip_version\": [\"IPv6\"]}]"));
	/* an inexact deny filter is left to the rows */
	assert_false(
		check("[{\"source_pod\": [\"shop/\"]}]", "[{\"source_label\": [\"app=web\"]}]"));
	assert_false(check("[{\"source_label\": [\"app=db\"]}, {\"verdict\": [\"FORWARDED\"]}]",
			   "[{\"destination_ip\": [\"10.0.0.0/24\"]}]"));
	assert_true(check("[{}]", NULL));
	assert_true(check(NULL, NULL));
}

static void user_text_is_never_sql(void **state)
{
	static const char *const evil =
		"[{\"source_pod\": [\"x'; DROP TABLE flows; --/a' OR '1'='1\"], "
		"\"node_name\": [\"n') OR 1=1 --\"], \"interface\": [{\"name\": \"e'--\"}]}]";
	json_t *a = json_loads(evil, 0, NULL);
	struct weir_filter_set *fs;
	struct weir_sql_where w;
	const char *p;
	size_t quotes = 0;

	(void)state;
	assert_non_null(a);
	assert_int_equal(weir_filter_set_new(&fs, a, NULL, NULL, 0), 0);
	assert_int_equal(weir_filter_sql(fs, &w), 0);
	assert_null(strstr(w.sql, "DROP"));
	assert_null(strstr(w.sql, "--"));
	assert_null(strstr(w.sql, "1=1"));
	/* the only quotes are the fixed ESCAPE '\' of LIKE patterns */
	for (p = w.sql; *p; p++)
		quotes += *p == '\'';
	for (p = w.sql; (p = strstr(p, "ESCAPE '\\'")); p++)
		quotes -= 2;
	assert_int_equal(quotes, 0);
	weir_sql_where_release(&w);
	weir_filter_set_free(fs);
	json_decref(a);
	/* and run against the database: nothing matches, the table is still there */
	assert_true(check(evil, NULL));
	assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM flows", NULL, NULL, NULL),
			 SQLITE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ips_are_blob_ranges),
		cmocka_unit_test(pods_are_name_ranges),
		cmocka_unit_test(ports_protocols_and_enums),
		cmocka_unit_test(node_names_exact_and_globs),
		cmocka_unit_test(labels_are_checked_on_rows),
		cmocka_unit_test(services_workloads_identities_on_rows),
		cmocka_unit_test(combinations),
		cmocka_unit_test(user_text_is_never_sql),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
