// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir observe --input-file: Hubble's `hubble observe -o json` lines (fixture
 * lines written from Hubble's documented field names) and Weir's own, read
 * as NDJSON, arrays or pretty-printed JSON in any chunking; the filters
 * applied here by lib/filter.c; --first, --last, --since, --until; lines
 * that are not flows reported and skipped; stdin.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <cmocka.h>
#include <jansson.h>
#include "../../cli/cli.h"
#include "../../cli/jsonstream.h"
#include "flow.h"

#define NS	 1000000000ULL
#define T_101218 (1785924738ULL * NS) /* 2026-08-05T10:12:18Z */

/* ---- fixtures: GetFlowsResponse lines as `hubble observe -o json` prints ---- */

/* shop/frontend -> shop/cart, TCP SYN to 8080, seen entering cart (Hubble's example). */
#define L_SYN                                                                                       \
	"{\"flow\":{\"time\":\"2026-08-05T10:12:18.510175415Z\",\"uuid\":"                          \
	"\"7f3c2a9e-1b0d-4c55-9a61-2f0f5b1d8c11\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":"    \
	"\"10.244.1.60\",\"destination\":\"10.244.1.5\",\"ipVersion\":\"IPv4\"},\"l4\":{\"TCP\":"   \
	"{\"source_port\":44916,\"destination_port\":8080,\"flags\":{\"SYN\":true}}},\"source\":"   \
	"{\"ID\":1501,\"identity\":39459,\"namespace\":\"shop\",\"labels\":[\"k8s:app=frontend\"]," \
	"\"pod_name\":\"frontend-64cbf459c4-q4tr9\"},\"destination\":{\"ID\":2273,\"identity\":"    \
	"17221,\"namespace\":\"shop\",\"labels\":[\"k8s:app=cart\"],\"pod_name\":"                  \
	"\"cart-6b5b787dc9-ds4j4\"},\"Type\":\"L3_L4\",\"node_name\":\"kind-worker\","              \
	"\"event_type\":{\"type\":4},\"traffic_direction\":\"INGRESS\","                            \
	"\"trace_observation_point\":\"TO_ENDPOINT\",\"is_reply\":false,\"interface\":{\"index\":"  \
	"98,\"name\":\"lxc8308dc5301b3\"},\"Summary\":\"TCP Flags: SYN\"},\"node_name\":"           \
	"\"kind-worker\",\"time\":\"2026-08-05T10:12:18.510175415Z\"}"

/* shop/frontend -> 1.1.1.1:53 UDP, dropped by policy. */
#define L_DROP                                                                                     \
	"{\"flow\":{\"time\":\"2026-08-05T10:12:19Z\",\"verdict\":\"DROPPED\",\"IP\":{\"source\":" \
	"\"10.244.1.60\",\"destination\":\"1.1.1.1\",\"ipVersion\":\"IPv4\"},\"l4\":{\"UDP\":"     \
	"{\"source_port\":5353,\"destination_port\":53}},\"source\":{\"identity\":39459,"          \
	"\"namespace\":\"shop\",\"pod_name\":\"frontend-64cbf459c4-q4tr9\",\"labels\":"            \
	"[\"k8s:app=frontend\"]},\"destination\":{\"identity\":2,\"labels\":"                      \
	"[\"reserved:world\"]},\"Type\":\"L3_L4\",\"node_name\":\"kind-worker\",\"event_type\":"   \
	"{\"type\":1,\"sub_type\":133},\"traffic_direction\":\"EGRESS\",\"drop_reason_desc\":"     \
	"\"POLICY_DENIED\",\"is_reply\":false,\"Summary\":\"UDP\"},\"node_name\":"                 \
	"\"kind-worker\",\"time\":\"2026-08-05T10:12:19Z\"}"

/* kube-system/coredns pings shop/frontend, on another node. */
#define L_PING                                                                                       \
	"{\"flow\":{\"time\":\"2026-08-05T10:12:20Z\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":" \
	"\"10.244.2.9\",\"destination\":\"10.244.1.60\",\"ipVersion\":\"IPv4\"},\"l4\":"             \
	"{\"ICMPv4\":{\"type\":8}},\"source\":{\"namespace\":\"kube-system\",\"pod_name\":"          \
	"\"coredns-1\",\"labels\":[\"k8s:k8s-app=kube-dns\"]},\"destination\":{\"namespace\":"       \
	"\"shop\",\"pod_name\":\"frontend-64cbf459c4-q4tr9\"},\"node_name\":\"kind-worker2\","       \
	"\"event_type\":{\"type\":4},\"traffic_direction\":\"INGRESS\",\"is_reply\":false,"          \
	"\"Summary\":\"ICMPv4 EchoRequest\"},\"node_name\":\"kind-worker2\",\"time\":"               \
	"\"2026-08-05T10:12:20Z\"}"

/* cart's SYN-ACK back to frontend: a reply. */
#define L_REPLY                                                                                      \
	"{\"flow\":{\"time\":\"2026-08-05T10:12:21Z\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":" \
	"\"10.244.1.5\",\"destination\":\"10.244.1.60\",\"ipVersion\":\"IPv4\"},\"l4\":{\"TCP\":"    \
	"{\"source_port\":8080,\"destination_port\":44916,\"flags\":{\"SYN\":true,\"ACK\":true}}},"  \
	"\"source\":{\"namespace\":\"shop\",\"pod_name\":\"cart-6b5b787dc9-ds4j4\"},"                \
	"\"destination\":{\"namespace\":\"shop\",\"pod_name\":\"frontend-64cbf459c4-q4tr9\"},"       \
	"\"node_name\":\"kind-worker\",\"event_type\":{\"type\":4},\"traffic_direction\":"           \
	"\"EGRESS\",\"is_reply\":true,\"Summary\":\"TCP Flags: SYN, ACK\"},\"node_name\":"           \
	"\"kind-worker\",\"time\":\"2026-08-05T10:12:21Z\"}"

#define L_LOST                                                                        \
	"{\"lost_events\":{\"source\":\"HUBBLE_RING_BUFFER\",\"num_events_lost\":3}," \
	"\"node_name\":\"kind-worker\",\"time\":\"2026-08-05T10:12:19.5Z\"}"

#define L_STATUS                                                                                   \
	"{\"node_status\":{\"state_change\":\"NODE_CONNECTED\",\"node_names\":[\"kind-worker\"]}," \
	"\"time\":\"2026-08-05T10:12:18Z\"}"

#define HUBBLE_FILE                                                  \
	L_STATUS "\n" L_SYN "\n" L_DROP "\n" L_LOST "\n" L_PING "\n" \
		 "this line is not JSON\n" L_REPLY "\n"

/* ---- running weir observe ---- */

struct run {
	int rc;
	char *out, *err;
};

static char *slurp(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	if (n && fread(s, 1, (size_t)n, f) != (size_t)n)
		fail_msg("short read");
	fclose(f);
	return s;
}

/* weir observe ARGS... with stdout and stderr captured (and stdin from
 * in_file when given).
 */
static struct run observe(const char *in_file, const char *const *args)
{
	struct weir_common common = { 0 };
	char *argv[40] = { "observe" };
	FILE *out = tmpfile(), *err = tmpfile();
	int so, se, si = -1, argc = 1, fd;
	struct run r;

	while (*args)
		argv[argc++] = (char *)*args++;
	fflush(stdout);
	fflush(stderr);
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	dup2(fileno(out), STDOUT_FILENO);
	dup2(fileno(err), STDERR_FILENO);
	if (in_file) {
		si = dup(STDIN_FILENO);
		fd = open(in_file, O_RDONLY);
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	r.rc = weir_observe_main(&common, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	if (si >= 0) {
		dup2(si, STDIN_FILENO);
		close(si);
	}
	fseek(out, 0, SEEK_END);
	fseek(err, 0, SEEK_END);
	r.out = slurp(out);
	r.err = slurp(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/weir-test-cli-input-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, HUBBLE_FILE, strlen(HUBBLE_FILE)) != (ssize_t)strlen(HUBBLE_FILE))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The destination ports (or "-") of the JSON lines in out, in order. */
static void ports_of(const char *out, char *buf, size_t len)
{
	const char *line = out;
	size_t n = 0;

	buf[0] = '\0';
	while (*line) {
		const char *nl = strchr(line, '\n');
		json_t *j = json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
		json_t *l4 = json_object_get(json_object_get(j, "flow"), "l4");
		json_t *p = NULL;
		const char *k;
		json_t *v;

		assert_non_null(j);
		json_object_foreach(l4, k, v)
		{
			p = json_object_get(v, "destination_port");
		}
		n += (size_t)snprintf(buf + n, len - n, "%s%lld", n ? "," : "",
				      p ? (long long)json_integer_value(p) : -1LL);
		json_decref(j);
		if (!nl)
			break;
		line = nl + 1;
	}
}

static void expect_ports(const char *const *args, const char *want)
{
	struct run r;
	char got[256];
	const char *argv[40] = { "--input-file", path, "-o", "json" };
	int n = 4;

	while (*args)
		argv[n++] = *args++;
	argv[n] = NULL;
	r = observe(NULL, argv);
	if (r.rc)
		fail_msg("exit %d: %s", r.rc, r.err);
	ports_of(r.out, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got ports %s, want %s", argv[4] ? argv[4] : "", got, want);
	run_free(&r);
}

/* ---- the input path ---- */

static void reads_hubble_lines_skipping_non_flows_and_reporting_bad_lines(void **state)
{
	struct run r;

	(void)state;
	r = observe(NULL, ARGS("--input-file", path, "-o", "json"));
	assert_int_equal(r.rc, 0);
	/* the flows as they were read, lost events and node status left out */
	assert_string_equal(r.out, L_SYN "\n" L_DROP "\n" L_PING "\n" L_REPLY "\n");
	assert_non_null(strstr(r.err, ":6: expected a JSON object; skipped\n"));
	assert_non_null(strstr(r.err, "weir: /tmp/weir-test-cli-input-"));
	run_free(&r);
}

static void prints_hubble_lines_in_compact_text(void **state)
{
	struct run r;

	(void)state;
	r = observe(NULL, ARGS("--input-file", path, "--print-node-name", "--color", "never"));
	assert_int_equal(r.rc, 0);
	assert_string_equal(
		r.out,
		"Aug  5 10:12:18.510 [kind-worker]: shop/frontend-64cbf459c4-q4tr9:44916 (ID:39459) "
		"-> shop/cart-6b5b787dc9-ds4j4:8080 (ID:17221) to-endpoint FORWARDED (TCP Flags: SYN)\n"
		"Aug  5 10:12:19.000 [kind-worker]: shop/frontend-64cbf459c4-q4tr9:5353 (ID:39459) -> "
		"1.1.1.1:53 (world) Policy denied DROPPED (UDP)\n"
		"Aug  5 10:12:20.000 [kind-worker2]: kube-system/coredns-1 -> "
		"shop/frontend-64cbf459c4-q4tr9 to-endpoint FORWARDED (ICMPv4 EchoRequest)\n"
		"Aug  5 10:12:21.000 [kind-worker]: shop/frontend-64cbf459c4-q4tr9:44916 <- "
		"shop/cart-6b5b787dc9-ds4j4:8080 to-endpoint FORWARDED (TCP Flags: SYN, ACK)\n");
	run_free(&r);
}

static void filters_apply_with_hubbles_semantics(void **state)
{
	(void)state;
	expect_ports(ARGS("--verdict", "DROPPED"), "53");
	expect_ports(ARGS("--not", "--verdict", "DROPPED"), "8080,-1,44916");
	expect_ports(ARGS("--from-pod", "shop/frontend"), "8080,53");
	expect_ports(ARGS("--pod", "shop/cart"), "8080,44916");
	expect_ports(ARGS("-n", "kube-system"), "-1");
	expect_ports(ARGS("--to-namespace", "shop"), "8080,-1,44916");
	expect_ports(ARGS("-A", "--not", "--to-ip", "10.244.1.5"), "53,-1,44916");
	expect_ports(ARGS("--ip", "1.1.1.1"), "53");
	expect_ports(ARGS("--from-ip", "10.244.0.0/16", "--protocol", "tcp"), "8080,44916");
	expect_ports(ARGS("--port", "8080"), "8080,44916");
	expect_ports(ARGS("--to-port", "8080"), "8080");
	expect_ports(ARGS("-l", "app=frontend"), "8080,53");
	expect_ports(ARGS("--to-label", "reserved:world"), "53");
	expect_ports(ARGS("--tcp-flags", "syn,ack"), "44916");
	expect_ports(ARGS("--traffic-direction", "ingress"), "8080,-1");
	expect_ports(ARGS("--node-name", "kind-worker2"), "-1");
	expect_ports(ARGS("--interface", "lxc8308dc5301b3"), "8080");
	expect_ports(ARGS("--drop-reason-desc", "POLICY_DENIED"), "53");
	expect_ports(ARGS("-6"), "");
	expect_ports(ARGS("--allowlist", "{\"destination_port\":[\"53\"]}", "--allowlist",
			  "{\"protocol\":[\"icmp\"]}"),
		     "53,-1");
	expect_ports(ARGS("--denylist", "{\"source_pod\":[\"shop/\"]}"), "-1");
}

static void first_last_since_and_until_select_as_hubble(void **state)
{
	(void)state;
	expect_ports(ARGS("--first", "2"), "8080,53");
	expect_ports(ARGS("--last", "2"), "-1,44916");
	expect_ports(ARGS("--last", "9"), "8080,53,-1,44916");
	expect_ports(ARGS("--since", "2026-08-05T10:12:19.5Z"), "-1,44916");
	expect_ports(ARGS("--until", "2026-08-05T10:12:19Z"), "8080,53");
	expect_ports(ARGS("--since", "2026-08-05T10:12:19Z", "--until", "2026-08-05T10:12:20Z",
			  "--last", "1"),
		     "-1");
	/* --follow means nothing for a file: it ends at its end */
	expect_ports(ARGS("--follow", "--protocol", "udp"), "53");
}

static void reads_stdin_arrays_and_weirs_own_json(void **state)
{
	struct weir_flow_record *r = weir_flow_record_new();
	char tmp[] = "/tmp/weir-test-cli-stdin-XXXXXX", got[128], *text;
	json_t *j;
	struct run run;
	FILE *f;
	int fd;

	(void)state;
	r->time_ns = T_101218;
	r->type = WEIR_RECORD_START;
	r->family = 4;
	inet_pton(AF_INET, "10.0.0.1", r->saddr);
	inet_pton(AF_INET, "10.0.0.2", r->daddr);
	r->proto = IPPROTO_UDP;
	r->sport = 5000;
	r->dport = 5353;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->packets = 2;
	r->node_name = strdup("n1");
	r->src = weir_endpoint_world();
	r->dst = weir_endpoint_world();
	j = weir_flow_record_to_json(r);
	weir_flow_record_put(r);
	text = json_dumps(j, JSON_INDENT(2));
	/* an array, as GET /v1/flows answers, pretty-printed across lines */
	fd = mkstemp(tmp);
	f = fdopen(fd, "w");
	fprintf(f, "[\n%s,\n%s\n]\n", text, L_DROP);
	fclose(f);
	run = observe(tmp, ARGS("--input-file", "-", "-o", "json"));
	assert_int_equal(run.rc, 0);
	assert_string_equal(run.err, "");
	ports_of(run.out, got, sizeof(got));
	assert_string_equal(got, "5353,53");
	run_free(&run);
	run = observe(tmp, ARGS("--input-file", "-", "--to-port", "5353"));
	assert_int_equal(run.rc, 0);
	assert_string_equal(run.out,
			    "Aug  5 10:12:18.000: 10.0.0.1:5000 (world) <> "
			    "10.0.0.2:5353 (world) flow-start FORWARDED (UDP) 2/0 pkts 0/0 B\n");
	run_free(&run);
	unlink(tmp);
	free(text);
	json_decref(j);
}

static void input_errors_end_with_one_line(void **state)
{
	struct run r;

	(void)state;
	r = observe(NULL, ARGS("--input-file", "/nonexistent/flows.json"));
	assert_int_equal(r.rc, WEIR_EXIT_FAIL);
	assert_string_equal(r.out, "");
	assert_string_equal(
		r.err, "weir: cannot open /nonexistent/flows.json: No such file or directory\n");
	run_free(&r);
	r = observe(NULL, ARGS("--input-file", path, "--last", "2000000"));
	assert_int_equal(r.rc, WEIR_EXIT_USAGE);
	assert_string_equal(r.err, "weir observe: --last must be <= 1000000 with --input-file, got "
				   "2000000 (see 'weir observe --help')\n");
	run_free(&r);
	r = observe(NULL, ARGS("--input-file", path, "--first", "1", "--last", "1"));
	assert_int_equal(r.rc, WEIR_EXIT_USAGE);
	assert_string_equal(r.err, "weir observe: cannot set both --first and --last (see 'weir "
				   "observe --help')\n");
	run_free(&r);
	r = observe(NULL, ARGS("--input-file", path, "-o", "yaml"));
	assert_int_equal(r.rc, WEIR_EXIT_USAGE);
	run_free(&r);
	r = observe(NULL, ARGS("--input-file", path, "--since", "someday"));
	assert_int_equal(r.rc, WEIR_EXIT_USAGE);
	assert_string_equal(r.err, "weir observe: failed to parse the since time: someday (see "
				   "'weir observe --help')\n");
	run_free(&r);
}

static void print_raw_filters_exits_before_reading(void **state)
{
	struct run r;

	(void)state;
	r = observe(NULL,
		    ARGS("--input-file", "/nonexistent", "--to-port", "53", "--print-raw-filters"));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "allowlist:\n    - '{\"destination_port\":[\"53\"]}'\n");
	run_free(&r);
}

/* ---- the JSON stream splitter ---- */

struct collect {
	char got[1024];
	char warn[512];
	int stop_after;
	int n;
};

static int collect_obj(void *ctx, json_t *obj, unsigned long line)
{
	struct collect *c = ctx;
	size_t n = strlen(c->got);
	char *text = json_dumps(obj, JSON_COMPACT);

	snprintf(c->got + n, sizeof(c->got) - n, "%lu:%s;", line, text);
	free(text);
	return ++c->n == c->stop_after ? 99 : 0;
}

static void collect_warn(void *ctx, unsigned long line, const char *what)
{
	struct collect *c = ctx;
	size_t n = strlen(c->warn);

	snprintf(c->warn + n, sizeof(c->warn) - n, "%lu:%s;", line, what);
}

/* Feeds text in pieces of step bytes. */
static int feed(struct collect *c, const char *text, size_t step, bool lenient)
{
	struct weir_jsonstream js;
	size_t i, len = strlen(text);
	int ret = 0;

	memset(c, 0, sizeof(*c));
	weir_jsonstream_init(&js, collect_obj, lenient ? collect_warn : NULL, c);
	for (i = 0; !ret && i < len; i += step)
		ret = weir_jsonstream_feed(&js, text + i, len - i < step ? len - i : step);
	if (!ret)
		ret = weir_jsonstream_end(&js);
	if (ret == -EBADMSG)
		snprintf(c->warn, sizeof(c->warn), "%s", js.err);
	weir_jsonstream_release(&js);
	return ret;
}

static void stream_splits_ndjson_arrays_and_pretty_json_in_any_chunking(void **state)
{
	static const char *const texts[] = {
		"{\"a\":1}\n{\"b\":\"}{\"}\n",
		"[{\"a\":1},\n{\"b\":\"}{\"}\n]\n",
		"{\n  \"a\": 1\n}\n{ \"b\" : \"}{\" }",
		"[]\n{\"a\":1}{\"b\":\"}{\"}",
	};
	static const char *const want[] = {
		"1:{\"a\":1};2:{\"b\":\"}{\"};",
		"1:{\"a\":1};2:{\"b\":\"}{\"};",
		"1:{\"a\":1};4:{\"b\":\"}{\"};",
		"2:{\"a\":1};2:{\"b\":\"}{\"};",
	};
	struct collect c;
	size_t i, step;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		for (step = 1; step <= strlen(texts[i]); step++) {
			assert_int_equal(feed(&c, texts[i], step, false), 0);
			if (strcmp(c.got, want[i]) != 0)
				fail_msg("text %zu step %zu: %s", i, step, c.got);
		}
	/* escaped quotes and backslashes inside strings */
	assert_int_equal(feed(&c, "{\"q\":\"a\\\"}\\\\\"}", 3, false), 0);
	assert_string_equal(c.got, "1:{\"q\":\"a\\\"}\\\\\"};");
	/* nested arrays inside an object */
	assert_int_equal(feed(&c, "[{\"l\":[[1],{\"x\":[]}]}]", 2, false), 0);
	assert_string_equal(c.got, "1:{\"l\":[[1],{\"x\":[]}]};");
}

static void stream_strict_stops_and_lenient_skips_a_bad_line(void **state)
{
	const char *text = "{\"a\":1}\nnot json\n{\"b\":2}\n{\"c\":\n";
	struct collect c;

	(void)state;
	assert_int_equal(feed(&c, text, 5, false), -EBADMSG);
	assert_string_equal(c.got, "1:{\"a\":1};");
	assert_string_equal(c.warn, "line 2: expected a JSON object");
	assert_int_equal(feed(&c, text, 5, true), 0);
	assert_string_equal(c.got, "1:{\"a\":1};3:{\"b\":2};");
	assert_string_equal(c.warn, "2:expected a JSON object;4:truncated JSON object;");
	/* an object that is not JSON inside its braces */
	assert_int_equal(feed(&c, "{\"a\" 1}\n{\"b\":2}\n", 4, true), 0);
	assert_string_equal(c.got, "2:{\"b\":2};");
	assert_non_null(strstr(c.warn, "1:not JSON: "));
	/* arrays of arrays are not flows */
	assert_int_equal(feed(&c, "[[1]]", 1, false), -EBADMSG);
	assert_string_equal(c.warn, "line 1: expected a JSON object, got an array");
}

static void stream_stops_when_the_callback_says_so(void **state)
{
	struct weir_jsonstream js;
	struct collect c = { .stop_after = 2 };
	const char *text = "{\"a\":1}{\"b\":2}{\"c\":3}";

	(void)state;
	weir_jsonstream_init(&js, collect_obj, NULL, &c);
	assert_int_equal(weir_jsonstream_feed(&js, text, strlen(text)), 99);
	assert_string_equal(c.got, "1:{\"a\":1};1:{\"b\":2};");
	weir_jsonstream_release(&js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_hubble_lines_skipping_non_flows_and_reporting_bad_lines),
		cmocka_unit_test(prints_hubble_lines_in_compact_text),
		cmocka_unit_test(filters_apply_with_hubbles_semantics),
		cmocka_unit_test(first_last_since_and_until_select_as_hubble),
		cmocka_unit_test(reads_stdin_arrays_and_weirs_own_json),
		cmocka_unit_test(input_errors_end_with_one_line),
		cmocka_unit_test(print_raw_filters_exits_before_reading),
		cmocka_unit_test(stream_splits_ndjson_arrays_and_pretty_json_in_any_chunking),
		cmocka_unit_test(stream_strict_stops_and_lenient_skips_a_bad_line),
		cmocka_unit_test(stream_stops_when_the_callback_says_so),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
