// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow logs: filters, the field mask, size-based rotation, aggregation on a
 * fake clock, and flow logs from a config file following a real store.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <jansson.h>
#include "flow.h"
#include "flowlog.h"
#include "store.h"

#define NS_PER_S 1000000000ULL

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/weir-flowlog-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct weir_endpoint *pod(const char *ns, const char *name)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);

	assert_non_null(ep);
	ep->namespace = strdup(ns);
	ep->pod_name = strdup(name);
	return ep;
}

/* shop/frontend:sport -> shop/cart:dport over TCP. */
static struct weir_flow_record *rec(enum weir_record_type type, uint16_t sport, uint16_t dport,
				    uint64_t pkts, uint8_t verdict)
{
	struct weir_flow_record *r = weir_flow_record_new();

	assert_non_null(r);
	r->id = sport;
	r->time_ns = 1700000000ULL * NS_PER_S;
	r->type = type;
	r->family = 4;
	r->proto = IPPROTO_TCP;
	inet_pton(AF_INET, "10.0.0.1", r->saddr);
	inet_pton(AF_INET, "10.0.0.2", r->daddr);
	r->sport = sport;
	r->dport = dport;
	r->ifindex = 4;
	r->dir = WEIR_DIR_EGRESS;
	r->verdict = verdict;
	r->reason = verdict == WEIR_VERDICT_DROPPED ? 135 : 0;
	r->packets = pkts;
	r->bytes = pkts * 100;
	r->reply_packets = pkts / 2;
	r->reply_bytes = pkts / 2 * 60;
	r->node_name = strdup("node-a");
	r->src = pod("shop", "frontend");
	r->dst = pod("shop", "cart");
	return r;
}

/* The file's lines as JSON, into v (at most max); returns how many. */
static size_t read_lines(const char *path, json_t **v, size_t max)
{
	char line[8192];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		v[n] = json_loads(line, 0, NULL);
		assert_non_null(v[n]);
		n++;
	}
	fclose(f);
	return n;
}

static void put_all(json_t **v, size_t n)
{
	while (n)
		json_decref(v[--n]);
}

static void mask_refuses_unknown_fields(void **state)
{
	struct weir_field_mask *m = NULL;
	char err[256];

	(void)state;
	assert_int_equal(weir_field_mask_parse(&m, "time,sourze.pod_name", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "sourze.pod_name"));
	assert_int_equal(weir_field_mask_parse(&m, " , ", err, sizeof(err)), -EINVAL);
	assert_int_equal(weir_field_mask_parse(&m, "source..pod_name", err, sizeof(err)), -EINVAL);
	assert_int_equal(weir_field_mask_parse(&m, "time, source.pod_name", err, sizeof(err)), 0);
	weir_field_mask_free(m);
}

/* Only the masked paths stay in "flow"; a path under a kept one changes nothing. */
static void mask_keeps_only_its_paths(void **state)
{
	struct weir_flow_record *r = rec(WEIR_RECORD_END, 40000, 80, 10, WEIR_VERDICT_FORWARDED);
	struct weir_field_mask *m;
	json_t *j = weir_flow_record_to_json(r);
	char err[256], *s;

	(void)state;
	assert_int_equal(weir_field_mask_parse(&m,
					       "verdict,source.pod_name,l4.TCP.destination_port,"
					       "weir.packets,destination,destination.namespace,"
					       "IP.nothing_there",
					       err, sizeof(err)),
			 0);
	weir_field_mask_apply(m, j);
	s = json_dumps(json_object_get(j, "flow"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"destination\":{\"namespace\":\"shop\",\"pod_name\":\"cart\"},"
			       "\"l4\":{\"TCP\":{\"destination_port\":80}},"
			       "\"source\":{\"pod_name\":\"frontend\"},\"verdict\":\"FORWARDED\","
			       "\"weir\":{\"packets\":10}}");
	free(s);
	/* the response's own fields stay */
	assert_string_equal(json_string_value(json_object_get(j, "node_name")), "node-a");
	assert_non_null(json_object_get(j, "time"));
	json_decref(j);
	weir_field_mask_free(m);
	weir_flow_record_put(r);
}

/* Allow: port 80 or dropped; deny: dropped with source pod frontend. */
static void filters_and_mask_in_the_file(void **state)
{
	json_t *allow = json_loads("[{\"destination_port\": [\"80\"]}, {\"verdict\": "
				   "[\"DROPPED\"]}]",
				   0, NULL);
	json_t *deny = json_loads("[{\"verdict\": [\"DROPPED\"], \"source_pod\": "
				  "[\"shop/frontend\"]}]",
				  0, NULL);
	struct weir_flowlog_opts o = {
		.file = NULL,
		.allow = allow,
		.deny = deny,
		.fields = "l4.TCP.destination_port,verdict",
		.max_files = 1,
	};
	struct weir_flow_record *r[4] = {
		rec(WEIR_RECORD_START, 1000, 80, 1, WEIR_VERDICT_FORWARDED),
		rec(WEIR_RECORD_START, 1001, 443, 1, WEIR_VERDICT_FORWARDED),
		rec(WEIR_RECORD_DROP, 1002, 443, 1, WEIR_VERDICT_DROPPED),
		rec(WEIR_RECORD_END, 1000, 80, 7, WEIR_VERDICT_FORWARDED),
	};
	struct weir_flowlog_stats st;
	struct weir_flowlog *fl;
	char path[128], err[256];
	json_t *lines[8];
	size_t i, n;

	(void)state;
	snprintf(path, sizeof(path), "%s/filtered.log", dir);
	o.file = path;
	assert_int_equal(weir_flowlog_new(&fl, &o, err, sizeof(err)), 0);
	for (i = 0; i < 4; i++)
		weir_flowlog_process(fl, r[i], 0);
	weir_flowlog_tick(fl, 0, false);
	weir_flowlog_stats(fl, &st);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.lines, 2);
	n = read_lines(path, lines, 8);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		char *s = json_dumps(json_object_get(lines[i], "flow"), JSON_COMPACT);

		assert_string_equal(s, "{\"verdict\":\"FORWARDED\",\"l4\":{\"TCP\":"
				       "{\"destination_port\":80}}}");
		free(s);
	}
	put_all(lines, n);
	weir_flowlog_free(fl);
	for (i = 0; i < 4; i++)
		weir_flow_record_put(r[i]);
	json_decref(allow);
	json_decref(deny);
}

/* 11 lines of 100 bytes, max 350 bytes a file, 2 rotated files kept: the
 * newest lines in FILE (2), FILE.1 (3), FILE.2 (3); the oldest 3 are gone.
 */
static void rotation_keeps_max_files(void **state)
{
	struct weir_logfile_stats st;
	struct weir_logfile *lf;
	char path[128], other[160], line[101], buf[128];
	struct stat sb;
	FILE *f;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/rot.log", dir);
	assert_int_equal(weir_logfile_open(&lf, path, 350, 2), 0);
	for (i = 0; i < 11; i++) {
		memset(line, 'a' + i, 99);
		line[99] = '\n';
		assert_int_equal(weir_logfile_write(lf, line, 100), 0);
	}
	weir_logfile_flush(lf);
	weir_logfile_stats(lf, &st);
	assert_int_equal(st.rotations, 3);
	assert_int_equal(st.bytes, 1100);
	assert_int_equal(st.write_errors, 0);
	weir_logfile_close(lf);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 200);
	snprintf(other, sizeof(other), "%s.1", path);
	assert_int_equal(stat(other, &sb), 0);
	assert_int_equal(sb.st_size, 300);
	snprintf(other, sizeof(other), "%s.2", path);
	assert_int_equal(stat(other, &sb), 0);
	assert_int_equal(sb.st_size, 300);
	snprintf(other, sizeof(other), "%s.3", path);
	assert_int_equal(stat(other, &sb), -1);
	/* FILE.2 holds the oldest kept lines: "ddd..." (a, b and c are gone) */
	snprintf(other, sizeof(other), "%s.2", path);
	f = fopen(other, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_int_equal(buf[0], 'd');
	fclose(f);
	/* reopening appends to the file as it is */
	assert_int_equal(weir_logfile_open(&lf, path, 350, 2), 0);
	assert_int_equal(weir_logfile_write(lf, line, 100), 0);
	weir_logfile_close(lf);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 300);
}

/* A write that fails (a full disk: /dev/full) is counted and its lines dropped. */
static void write_errors_are_counted(void **state)
{
	struct weir_logfile_stats st;
	struct weir_logfile *lf;

	(void)state;
	if (access("/dev/full", W_OK))
		skip();
	assert_int_equal(weir_logfile_open(&lf, "/dev/full", 0, 1), 0);
	assert_int_equal(weir_logfile_write(lf, "x\n", 2), 0);
	assert_int_equal(weir_logfile_flush(lf), -ENOSPC);
	assert_int_equal(weir_logfile_flush(lf), 0); /* nothing left to write */
	weir_logfile_stats(lf, &st);
	assert_int_equal(st.write_errors, 1);
	assert_int_equal(st.bytes, 0);
	weir_logfile_close(lf);
}

static void collect(void *ctx, json_t *resp)
{
	json_t *arr = ctx;

	json_array_append_new(arr, resp);
}

static uint64_t u64_at(json_t *resp, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(json_object_get(resp, "flow"), a), b);

	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	return (uint64_t)json_integer_value(v);
}

/* Interval [100 s, 110 s): flow A starts (1) and updates (4), flow B of the
 * same key starts (2), flow C to port 443 starts (3); [110 s, 120 s): A ends
 * (10). Lines: the key's 6 packets (4 of A, 2 of B) and 443's 3; then A's
 * last 6. Every line carries the key and nothing else.
 */
static void aggregation_sums_deltas_per_interval(void **state)
{
	struct weir_flow_record *a1 = rec(WEIR_RECORD_START, 1000, 80, 1, WEIR_VERDICT_FORWARDED);
	struct weir_flow_record *a2 = rec(WEIR_RECORD_UPDATE, 1000, 80, 4, WEIR_VERDICT_FORWARDED);
	struct weir_flow_record *b1 = rec(WEIR_RECORD_START, 1001, 80, 2, WEIR_VERDICT_FORWARDED);
	struct weir_flow_record *c1 = rec(WEIR_RECORD_START, 1002, 443, 3, WEIR_VERDICT_FORWARDED);
	struct weir_flow_record *a3 = rec(WEIR_RECORD_END, 1000, 80, 10, WEIR_VERDICT_FORWARDED);
	json_t *out = json_array(), *l, *flow;
	struct weir_flow_agg *g;
	unsigned int fields;
	char err[256];

	(void)state;
	assert_int_equal(weir_agg_fields_parse(NULL, &fields, err, sizeof(err)), 0);
	assert_int_equal(fields, WEIR_AGG_DEFAULT);
	assert_int_equal(weir_agg_fields_parse("source_pod,bogus", &fields, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(weir_flow_agg_new(&g, 10 * NS_PER_S, WEIR_AGG_DEFAULT), 0);
	weir_flow_agg_add(g, a1, 101 * NS_PER_S, collect, out);
	weir_flow_agg_add(g, a2, 105 * NS_PER_S, collect, out);
	weir_flow_agg_add(g, b1, 106 * NS_PER_S, collect, out);
	weir_flow_agg_add(g, c1, 107 * NS_PER_S, collect, out);
	assert_int_equal(weir_flow_agg_due(g), 110 * NS_PER_S);
	weir_flow_agg_tick(g, 109 * NS_PER_S, false, collect, out);
	assert_int_equal(json_array_size(out), 0);
	weir_flow_agg_tick(g, 110 * NS_PER_S, false, collect, out);
	assert_int_equal(json_array_size(out), 2);

	l = json_array_get(out, 0);
	flow = json_object_get(l, "flow");
	assert_int_equal(u64_at(l, "weir", "packets"), 6);
	assert_int_equal(u64_at(l, "weir", "bytes"), 600);
	assert_int_equal(u64_at(l, "weir", "reply_packets"), 2 + 1);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_object_get(flow, "weir"), "aggregate"), "flows")),
		2);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_object_get(flow, "weir"), "aggregate"), "records")),
		3);
	assert_int_equal(u64_at(l, "aggregate", "egress_flow_count"), 3);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(flow, "weir"), "aggregate"), "start")),
		"1970-01-01T00:01:40Z");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(flow, "source"), "pod_name")),
		"frontend");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(flow, "IP"), "destination")),
		"10.0.0.2");
	/* the key has no source port, no interface, no record id */
	assert_null(json_object_get(json_object_get(json_object_get(flow, "l4"), "TCP"),
				    "source_port"));
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_object_get(flow, "l4"), "TCP"), "destination_port")),
		80);
	assert_null(json_object_get(flow, "interface"));
	assert_null(json_object_get(flow, "uuid"));
	assert_string_equal(json_string_value(json_object_get(l, "node_name")), "node-a");

	l = json_array_get(out, 1);
	assert_int_equal(u64_at(l, "weir", "packets"), 3);

	/* the next interval: A's end brings its last 6 packets */
	weir_flow_agg_add(g, a3, 112 * NS_PER_S, collect, out);
	weir_flow_agg_tick(g, 119 * NS_PER_S, true, collect, out);
	assert_int_equal(json_array_size(out), 3);
	l = json_array_get(out, 2);
	assert_int_equal(u64_at(l, "weir", "packets"), 6);
	/* nothing held: nothing due */
	assert_int_equal(weir_flow_agg_due(g), 0);

	weir_flow_agg_free(g);
	json_decref(out);
	weir_flow_record_put(a1);
	weir_flow_record_put(a2);
	weir_flow_record_put(b1);
	weir_flow_record_put(c1);
	weir_flow_record_put(a3);
}

/* Aggregation by source pod only: the addresses and ports leave the line. */
static void aggregation_by_chosen_fields(void **state)
{
	struct weir_flow_record *a = rec(WEIR_RECORD_START, 1000, 80, 1, WEIR_VERDICT_FORWARDED);
	struct weir_flow_record *b = rec(WEIR_RECORD_START, 1001, 443, 2, WEIR_VERDICT_DROPPED);
	json_t *out = json_array(), *flow;
	struct weir_flow_agg *g;
	unsigned int fields;
	char err[256];

	(void)state;
	assert_int_equal(weir_agg_fields_parse("source_pod", &fields, err, sizeof(err)), 0);
	assert_int_equal(weir_flow_agg_new(&g, NS_PER_S, fields), 0);
	weir_flow_agg_add(g, a, 5 * NS_PER_S, collect, out);
	weir_flow_agg_add(g, b, 5 * NS_PER_S, collect, out);
	weir_flow_agg_tick(g, 6 * NS_PER_S, false, collect, out);
	assert_int_equal(json_array_size(out), 1);
	flow = json_object_get(json_array_get(out, 0), "flow");
	assert_int_equal(u64_at(json_array_get(out, 0), "weir", "packets"), 3);
	assert_null(json_object_get(json_object_get(flow, "IP"), "source"));
	assert_null(json_object_get(flow, "l4"));
	assert_null(json_object_get(flow, "destination"));
	assert_null(json_object_get(flow, "verdict"));
	assert_null(json_object_get(json_array_get(out, 0), "node_name"));
	weir_flow_agg_free(g);
	json_decref(out);
	weir_flow_record_put(a);
	weir_flow_record_put(b);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A config file's two flow logs and the flags' one follow a real store:
 * each writes what its filters pass, by the time it is stopped.
 */
static void flowlogs_from_config_follow_the_store(void **state)
{
	struct weir_flowlog_config c;
	struct weir_flowlog **fls;
	struct weir_store *s;
	char cfg[128], p1[128], p2[128], p3[128], doc[1024], err[256];
	json_t *lines[64], *status;
	size_t n, i;

	(void)state;
	snprintf(cfg, sizeof(cfg), "%s/flowlogs.json", dir);
	snprintf(p1, sizeof(p1), "%s/drops.log", dir);
	snprintf(p2, sizeof(p2), "%s/agg.log", dir);
	snprintf(p3, sizeof(p3), "%s/all.log", dir);
	weir_flowlog_config_defaults(&c);

	/* errors name what is wrong */
	write_file(cfg, "{\"flowlogs\": [{\"file\": \"/tmp/x\", \"colour\": 1}]}");
	c.config_file = cfg;
	assert_int_equal(weir_flowlogs_start(&c, NULL, 0, &fls, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "colour"));
	write_file(cfg, "{\"flowlogs\": [{\"file\": \"/tmp/x\", \"allow\": [{\"prot\": 1}]}]}");
	assert_int_equal(weir_flowlogs_start(&c, NULL, 0, &fls, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "prot"));

	snprintf(doc, sizeof(doc),
		 "{\"flowlogs\": [{\"name\": \"drops\", \"file\": \"%s\", \"allow\": "
		 "{\"verdict\": [\"DROPPED\"]}, \"fields\": [\"verdict\", "
		 "\"drop_reason_desc\"]}, {\"name\": \"agg\", \"file\": \"%s\", "
		 "\"aggregate_interval\": \"1h\", \"aggregate_by\": [\"destination_port\"]}]}",
		 p1, p2);
	write_file(cfg, doc);
	c.file = p3;
	assert_int_equal(weir_store_new(&s, 100), 0);
	assert_int_equal(weir_flowlogs_start(&c, s, 0, &fls, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < 10; i++) {
		struct weir_flow_record *r =
			rec(i % 5 ? WEIR_RECORD_START : WEIR_RECORD_DROP, 2000 + i, 80, 1,
			    i % 5 ? WEIR_VERDICT_FORWARDED : WEIR_VERDICT_DROPPED);

		weir_store_add(s, r);
		weir_flow_record_put(r);
	}
	usleep(300000);
	status = weir_flowlogs_status_json(fls, n);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(status, "drops"), "records")),
		2);
	json_decref(status);
	weir_flowlogs_stop(fls, n); /* writes the aggregation's open interval */

	n = read_lines(p1, lines, 64);
	assert_int_equal(n, 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(lines[0], "flow"),
							      "drop_reason_desc")),
			    "CT_TRUNCATED_OR_INVALID_HEADER");
	put_all(lines, n);
	n = read_lines(p2, lines, 64);
	assert_int_equal(n, 1);
	assert_int_equal(u64_at(lines[0], "weir", "packets"), 10);
	put_all(lines, n);
	n = read_lines(p3, lines, 64);
	assert_int_equal(n, 10);
	put_all(lines, n);
	weir_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mask_refuses_unknown_fields),
		cmocka_unit_test(mask_keeps_only_its_paths),
		cmocka_unit_test(filters_and_mask_in_the_file),
		cmocka_unit_test(rotation_keeps_max_files),
		cmocka_unit_test(write_errors_are_counted),
		cmocka_unit_test(aggregation_sums_deltas_per_interval),
		cmocka_unit_test(aggregation_by_chosen_fields),
		cmocka_unit_test(flowlogs_from_config_follow_the_store),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
