// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir observe's printers against golden output: compact, table, dict and
 * json for a Weir record (as the agent encodes it) and for Hubble's own
 * lines (a SYN to an endpoint, a policy drop to the world, an IPv6 reply, a
 * flow of unknown direction, lost events); --print-node-name, --numeric,
 * --color, every --time-format, and text from a flow that cannot drive the
 * terminal.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <jansson.h>
#include "../../cli/printer.h"
#include "../../cli/table.h"
#include "flow.h"

#define NS	 1000000000ULL
#define T_101218 (1785924738ULL * NS) /* 2026-08-05T10:12:18Z */

/* ---- fixtures ---- */

static struct weir_endpoint *pod(const char *ns, const char *name, const char *label)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);

	assert_non_null(ep);
	ep->namespace = strdup(ns);
	ep->pod_name = strdup(name);
	ep->labels = calloc(1, sizeof(char *));
	ep->labels[0] = strdup(label);
	ep->n_labels = 1;
	return ep;
}

/* A TCP conversation's end record, as weir-agent encodes it. */
static json_t *weir_tcp_end(void)
{
	struct weir_flow_record *r = weir_flow_record_new();
	json_t *j;

	r->id = 42;
	r->time_ns = T_101218 + 510175415;
	r->first_seen_ns = T_101218 - 2 * NS;
	r->last_seen_ns = T_101218;
	r->type = WEIR_RECORD_END;
	r->end_reason = WEIR_END_DETECTED;
	r->family = 4;
	inet_pton(AF_INET, "10.244.1.60", r->saddr);
	inet_pton(AF_INET, "10.244.1.5", r->daddr);
	r->proto = IPPROTO_TCP;
	r->sport = 44916;
	r->dport = 8080;
	r->tcp_flags = WEIR_TCP_SYN | WEIR_TCP_ACK | WEIR_TCP_FIN;
	r->ifindex = 7;
	snprintf(r->ifname, sizeof(r->ifname), "lxc1");
	r->dir = WEIR_DIR_EGRESS;
	r->hook = WEIR_HOOK_TC;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->is_reply = WEIR_REPLY_NO;
	r->packets = 39;
	r->bytes = 52582;
	r->reply_packets = 23;
	r->reply_bytes = 1526;
	r->node_name = strdup("kind-worker");
	r->src = pod("shop", "frontend-1", "k8s:app=frontend");
	r->dst = pod("shop", "cart-1", "k8s:app=cart");
	j = weir_flow_record_to_json(r);
	weir_flow_record_put(r);
	assert_non_null(j);
	return j;
}

/* A Weir drop record: a truncated header from the world. */
static json_t *weir_drop(void)
{
	struct weir_flow_record *r = weir_flow_record_new();
	json_t *j;

	r->id = 43;
	r->time_ns = T_101218 + 2 * NS;
	r->type = WEIR_RECORD_DROP;
	r->family = 4;
	inet_pton(AF_INET, "198.51.100.7", r->saddr);
	inet_pton(AF_INET, "10.244.1.5", r->daddr);
	r->proto = IPPROTO_TCP;
	r->sport = 1234;
	r->dport = 80;
	snprintf(r->ifname, sizeof(r->ifname), "eth0");
	r->ifindex = 2;
	r->dir = WEIR_DIR_INGRESS;
	r->verdict = WEIR_VERDICT_DROPPED;
	r->reason = 135;
	r->packets = 1;
	r->bytes = 60;
	r->node_name = strdup("kind-worker");
	r->src = weir_endpoint_world();
	r->dst = pod("shop", "cart-1", "k8s:app=cart");
	j = weir_flow_record_to_json(r);
	weir_flow_record_put(r);
	assert_non_null(j);
	return j;
}

/* Hubble's example flow (the reference's section 1.3): a SYN to an endpoint. */
static const char HUBBLE_SYN[] =
	"{\"flow\":{\"time\":\"2026-08-05T10:12:18.510175415Z\",\"uuid\":"
	"\"7f3c2a9e-1b0d-4c55-9a61-2f0f5b1d8c11\",\"emitter\":{\"name\":\"Hubble\",\"version\":"
	"\"1.19.4\"},\"verdict\":\"FORWARDED\",\"ethernet\":{\"source\":\"72:c0:06:45:0a:22\","
	"\"destination\":\"76:a3:43:b7:98:5c\"},\"IP\":{\"source\":\"10.244.1.60\",\"destination\":"
	"\"10.244.1.5\",\"ipVersion\":\"IPv4\"},\"l4\":{\"TCP\":{\"source_port\":44916,"
	"\"destination_port\":8080,\"flags\":{\"SYN\":true}}},\"source\":{\"ID\":1501,\"identity\":"
	"39459,\"cluster_name\":\"default\",\"namespace\":\"shop\",\"labels\":[\"k8s:app=frontend\","
	"\"k8s:io.kubernetes.pod.namespace=shop\"],\"pod_name\":\"frontend-64cbf459c4-q4tr9\","
	"\"workloads\":[{\"name\":\"frontend\",\"kind\":\"Deployment\"}]},\"destination\":{\"ID\":"
	"2273,\"identity\":17221,\"cluster_name\":\"default\",\"namespace\":\"shop\",\"labels\":"
	"[\"k8s:app=cart\",\"k8s:io.kubernetes.pod.namespace=shop\"],\"pod_name\":"
	"\"cart-6b5b787dc9-ds4j4\",\"workloads\":[{\"name\":\"cart\",\"kind\":\"Deployment\"}]},"
	"\"Type\":\"L3_L4\",\"node_name\":\"kind-worker\",\"destination_service\":{\"name\":"
	"\"cart\",\"namespace\":\"shop\"},\"event_type\":{\"type\":4},\"traffic_direction\":"
	"\"INGRESS\",\"trace_observation_point\":\"TO_ENDPOINT\",\"trace_reason\":\"NEW\","
	"\"is_reply\":false,\"interface\":{\"index\":98,\"name\":\"lxc8308dc5301b3\"},\"Summary\":"
	"\"TCP Flags: SYN\"},\"node_name\":\"kind-worker\",\"time\":"
	"\"2026-08-05T10:12:18.510175415Z\"}";

/* A policy drop of DNS to the world. */
static const char HUBBLE_DROP[] =
	"{\"flow\":{\"time\":\"2026-08-05T10:12:19Z\",\"verdict\":\"DROPPED\",\"IP\":{\"source\":"
	"\"10.244.1.60\",\"destination\":\"1.1.1.1\",\"ipVersion\":\"IPv4\"},\"l4\":{\"UDP\":"
	"{\"source_port\":5353,\"destination_port\":53}},\"source\":{\"identity\":39459,"
	"\"namespace\":\"shop\",\"pod_name\":\"frontend-1\"},\"destination\":{\"identity\":2,"
	"\"labels\":[\"reserved:world\"]},\"Type\":\"L3_L4\",\"node_name\":\"kind-worker\","
	"\"event_type\":{\"type\":1,\"sub_type\":133},\"traffic_direction\":\"EGRESS\","
	"\"drop_reason_desc\":\"POLICY_DENIED\",\"is_reply\":false,\"Summary\":\"UDP\"},"
	"\"node_name\":\"kind-worker\",\"time\":\"2026-08-05T10:12:19Z\"}";

/* An IPv6 reply seen at the stack, no pods: addresses in brackets, arrow back. */
static const char HUBBLE_REPLY6[] =
	"{\"flow\":{\"time\":\"2026-08-05T10:12:20Z\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":"
	"\"fd00::2\",\"destination\":\"fd00::1\",\"ipVersion\":\"IPv6\"},\"l4\":{\"TCP\":"
	"{\"source_port\":8080,\"destination_port\":40000,\"flags\":{\"ACK\":true}}},"
	"\"node_name\":\"kind-worker\",\"event_type\":{\"type\":4,\"sub_type\":3},"
	"\"is_reply\":true,\"Summary\":\"TCP Flags: ACK\"},\"node_name\":\"kind-worker\"}";

/* ICMP of unknown direction (no is_reply), with a host identity. */
static const char HUBBLE_UNKNOWN_DIR[] =
	"{\"flow\":{\"time\":\"2026-08-05T10:12:21.5Z\",\"verdict\":\"TRACED\",\"IP\":{\"source\":"
	"\"10.0.0.1\",\"destination\":\"10.0.0.2\",\"ipVersion\":\"IPv4\"},\"l4\":{\"ICMPv4\":"
	"{\"type\":8}},\"source\":{\"identity\":1,\"labels\":[\"reserved:host\"]},"
	"\"event_type\":{\"type\":4,\"sub_type\":5},\"Summary\":\"ICMPv4 EchoRequest\"}}";

static const char LOST[] = "{\"lost_events\":{\"source\":\"OBSERVER_EVENTS_QUEUE\","
			   "\"num_events_lost\":5},\"node_name\":\"kind-worker\","
			   "\"time\":\"2026-08-05T10:12:22Z\"}";

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!j)
		fail_msg("fixture is not JSON: %s", jerr.text);
	return j;
}

/* Prints the responses with opts; returns what was written (free it). */
static char *print_all(const struct weir_printer_opts *o, json_t *const *resps, size_t n)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	struct weir_printer *p = weir_printer_new(f, f, o);

	assert_non_null(p);
	for (i = 0; i < n; i++)
		assert_int_equal(weir_printer_write(p, resps[i]), 0);
	assert_int_equal(weir_printer_close(p), 0);
	fclose(f);
	return text;
}

static void expect_output(const struct weir_printer_opts *o, json_t *const *resps, size_t n,
			  const char *want)
{
	char *got = print_all(o, resps, n);

	if (strcmp(got, want) != 0)
		fail_msg("output differs:\n--- got\n%s--- want\n%s", got, want);
	free(got);
}

struct fixtures {
	json_t *weir, *drop, *syn, *hdrop, *reply6, *unknown, *lost;
};

static int setup(void **state)
{
	struct fixtures *f = calloc(1, sizeof(*f));

	f->weir = weir_tcp_end();
	f->drop = weir_drop();
	f->syn = load(HUBBLE_SYN);
	f->hdrop = load(HUBBLE_DROP);
	f->reply6 = load(HUBBLE_REPLY6);
	f->unknown = load(HUBBLE_UNKNOWN_DIR);
	f->lost = load(LOST);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixtures *f = *state;

	json_decref(f->weir);
	json_decref(f->drop);
	json_decref(f->syn);
	json_decref(f->hdrop);
	json_decref(f->reply6);
	json_decref(f->unknown);
	json_decref(f->lost);
	free(f);
	return 0;
}

/* ---- compact ---- */

static void compact_prints_one_line_per_flow(void **state)
{
	struct fixtures *f = *state;
	struct weir_printer_opts o = { .output = WEIR_OUT_COMPACT };
	json_t *all[] = { f->weir, f->drop, f->syn, f->hdrop, f->reply6, f->unknown, f->lost };

	expect_output(
		&o, all, 7,
		"Aug  5 10:12:18.510: shop/frontend-1:44916 -> shop/cart-1:8080 flow-end@lxc1 "
		"FORWARDED (TCP Flags: SYN, ACK, FIN) 39/23 pkts 52582/1526 B\n"
		"Aug  5 10:12:20.000: 198.51.100.7:1234 (world) <> shop/cart-1:80 truncated or "
		"invalid header DROPPED (TCP Flags: ) 1/0 pkts 60/0 B\n"
		"Aug  5 10:12:18.510: shop/frontend-64cbf459c4-q4tr9:44916 (ID:39459) -> "
		"shop/cart-6b5b787dc9-ds4j4:8080 (ID:17221) to-endpoint FORWARDED (TCP Flags: SYN)\n"
		"Aug  5 10:12:19.000: shop/frontend-1:5353 (ID:39459) -> 1.1.1.1:53 (world) "
		"Policy denied DROPPED (UDP)\n"
		"Aug  5 10:12:20.000: [fd00::1]:40000 <- [fd00::2]:8080 to-stack FORWARDED "
		"(TCP Flags: ACK)\n"
		"Aug  5 10:12:21.500: 10.0.0.1 (host) <> 10.0.0.2 from-endpoint TRACED "
		"(ICMPv4 EchoRequest)\n"
		"EVENTS LOST: OBSERVER_EVENTS_QUEUE CPU(0) 5\n");
}

/* A flow record of a policy drop carries the reason in its type column. */
static void compact_names_the_reason_of_a_dropped_flow_record(void **state)
{
	struct fixtures *f = *state;
	struct weir_printer_opts o = { .output = WEIR_OUT_COMPACT };
	json_t *flow = json_deep_copy(f->weir), *all[1];

	json_object_set_new(json_object_get(flow, "flow"), "verdict", json_string("DROPPED"));
	json_object_set_new(json_object_get(flow, "flow"), "drop_reason_desc",
			    json_string("POLICY_DENIED"));
	all[0] = flow;
	expect_output(
		&o, all, 1,
		"Aug  5 10:12:18.510: shop/frontend-1:44916 -> shop/cart-1:8080 flow-end@lxc1 "
		"POLICY_DENIED DROPPED (TCP Flags: SYN, ACK, FIN) 39/23 pkts 52582/1526 B\n");
	json_decref(flow);
}

static void compact_with_node_name_and_numeric(void **state)
{
	struct fixtures *f = *state;
	struct weir_printer_opts o = { .output = WEIR_OUT_COMPACT,
				       .node_name = true,
				       .numeric = true };
	json_t *all[] = { f->weir, f->syn };

	expect_output(&o, all, 2,
		      "Aug  5 10:12:18.510 [kind-worker]: 10.244.1.60:44916 -> 10.244.1.5:8080 "
		      "flow-end@lxc1 FORWARDED (TCP Flags: SYN, ACK, FIN) 39/23 pkts 52582/1526 B\n"
		      "Aug  5 10:12:18.510 [kind-worker]: 10.244.1.60:44916 (ID:39459) -> "
		      "10.244.1.5:8080 (ID:17221) to-endpoint FORWARDED (TCP Flags: SYN)\n");
}

static void compact_colors_verdicts_only_when_asked(void **state)
{
	struct fixtures *f = *state;
	struct weir_printer_opts o = { .output = WEIR_OUT_COMPACT, .color = true };
	json_t *all[] = { f->syn, f->hdrop, f->unknown };
	char *got = print_all(&o, all, 3);

	(void)state;
	assert_non_null(strstr(got, " to-endpoint \033[32mFORWARDED\033[0m (TCP Flags: SYN)\n"));
	assert_non_null(strstr(got, " Policy denied \033[31mDROPPED\033[0m (UDP)\n"));
	assert_non_null(strstr(got, " from-endpoint \033[33mTRACED\033[0m ("));
	free(got);
}

static void every_time_format(void **state)
{
	static const struct {
		enum weir_timefmt f;
		const char *name, *text;
	} cases[] = {
		{ WEIR_TIME_STAMP_MILLI, "stampmilli", "Aug  5 10:12:18.510" },
		{ WEIR_TIME_RFC3339, "RFC3339", "2026-08-05T10:12:18Z" },
		{ WEIR_TIME_RFC3339_MILLI, "RFC3339Milli", "2026-08-05T10:12:18.51Z" },
		{ WEIR_TIME_RFC3339_MICRO, "RFC3339Micro", "2026-08-05T10:12:18.510175Z" },
		{ WEIR_TIME_RFC3339_NANO, "RFC3339Nano", "2026-08-05T10:12:18.510175415Z" },
		{ WEIR_TIME_RFC1123Z, "RFC1123Z", "Wed, 05 Aug 2026 10:12:18 +0000" },
		{ WEIR_TIME_YEAR_MONTH_DAY, "YearMonthDay", "2026-08-05" },
		{ WEIR_TIME_YEAR_MONTH_DAY_HOUR, "YearMonthDayHour", "2026-08-05T10Z" },
		{ WEIR_TIME_YEAR_MONTH_DAY_HOUR_MINUTE, "YearMonthDayHourMinute",
		  "2026-08-05T10:12Z" },
	};
	struct fixtures *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct weir_printer_opts o = { .output = WEIR_OUT_COMPACT };
		enum weir_timefmt tf;
		char *got, want[64];

		assert_int_equal(weir_timefmt_parse(cases[i].name, &tf), 0);
		assert_int_equal(tf, cases[i].f);
		o.time_format = tf;
		got = print_all(&o, &f->syn, 1);
		snprintf(want, sizeof(want), "%s: ", cases[i].text);
		if (strncmp(got, want, strlen(want)) != 0)
			fail_msg("%s: got %s", cases[i].name, got);
		free(got);
	}
	/* whole seconds print no fraction in the trimmed formats */
	{
		char buf[64];

		assert_string_equal(
			weir_time_print(T_101218, WEIR_TIME_RFC3339_NANO, buf, sizeof(buf)),
			"2026-08-05T10:12:18Z");
		assert_string_equal(
			weir_time_print(T_101218, WEIR_TIME_STAMP_MILLI, buf, sizeof(buf)),
			"Aug  5 10:12:18.000");
	}
	{
		enum weir_timefmt tf;

		assert_int_equal(weir_timefmt_parse("Kitchen", &tf), -EINVAL);
	}
}

/* ---- table ---- */

static void table_aligns_columns_under_a_header(void **state)
{
	struct fixtures *f = *state;
	struct weir_printer_opts o = { .output = WEIR_OUT_TABLE, .color = true };
	json_t *all[] = { f->weir, f->hdrop, f->lost };

	expect_output(
		&o, all, 3,
		"TIMESTAMP             SOURCE                  DESTINATION        TYPE            "
		"VERDICT     SUMMARY                    COUNTERS\n"
		"Aug  5 10:12:18.510   shop/frontend-1:44916   shop/cart-1:8080   flow-end@lxc1   "
		"FORWARDED   TCP Flags: SYN, ACK, FIN   39/23 pkts 52582/1526 B\n"
		"Aug  5 10:12:19.000   shop/frontend-1:5353    1.1.1.1:53         Policy denied   "
		"DROPPED     UDP                        \n"
		"                      OBSERVER_EVENTS_QUEUE                      EVENTS LOST     "
		"            CPU(0) - 5                 \n");
}

static void table_without_counters_has_hubbles_columns(void **state)
{
	struct fixtures *f = *state;
	struct weir_printer_opts o = { .output = WEIR_OUT_TABLE, .node_name = true };
	json_t *all[] = { f->syn, f->hdrop };

	expect_output(
		&o, all, 2,
		"TIMESTAMP             NODE          SOURCE                                 "
		"DESTINATION                       TYPE            VERDICT     SUMMARY\n"
		"Aug  5 10:12:18.510   kind-worker   shop/frontend-64cbf459c4-q4tr9:44916   "
		"shop/cart-6b5b787dc9-ds4j4:8080   to-endpoint     FORWARDED   TCP Flags: SYN\n"
		"Aug  5 10:12:19.000   kind-worker   shop/frontend-1:5353                   "
		"1.1.1.1:53                        Policy denied   DROPPED     UDP\n");
}

static void table_of_nothing_prints_nothing(void **state)
{
	struct weir_printer_opts o = { .output = WEIR_OUT_TABLE };

	(void)state;
	expect_output(&o, NULL, 0, "");
}

/* ---- dict ---- */

static void dict_prints_a_block_per_flow(void **state)
{
	struct fixtures *f = *state;
	struct weir_printer_opts o = { .output = WEIR_OUT_DICT, .node_name = true };
	json_t *all[] = { f->weir, f->hdrop };

	expect_output(&o, all, 2,
		      "  TIMESTAMP: Aug  5 10:12:18.510\n"
		      "       NODE: kind-worker\n"
		      "     SOURCE: shop/frontend-1:44916\n"
		      "DESTINATION: shop/cart-1:8080\n"
		      "       TYPE: flow-end@lxc1\n"
		      "    VERDICT: FORWARDED\n"
		      "    SUMMARY: TCP Flags: SYN, ACK, FIN\n"
		      "   COUNTERS: 39/23 pkts 52582/1526 B\n"
		      "------------\n"
		      "  TIMESTAMP: Aug  5 10:12:19.000\n"
		      "       NODE: kind-worker\n"
		      "     SOURCE: shop/frontend-1:5353\n"
		      "DESTINATION: 1.1.1.1:53\n"
		      "       TYPE: Policy denied\n"
		      "    VERDICT: DROPPED\n"
		      "    SUMMARY: UDP\n");
}

/* ---- json ---- */

static void json_prints_each_response_as_received_one_per_line(void **state)
{
	struct fixtures *f = *state;
	struct weir_printer_opts o = { .output = WEIR_OUT_JSON, .numeric = true };
	json_t *all[] = { f->syn, f->weir, f->lost };
	char *got = print_all(&o, all, 3), *line, *save = NULL;
	size_t i = 0;

	for (line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		json_t *j = json_loads(line, 0, NULL);

		assert_true(i < 3);
		assert_non_null(j);
		assert_true(json_equal(j, all[i]));
		json_decref(j);
	}
	assert_int_equal(i, 3);
	free(got);
	/* Hubble's field names, exactly */
	got = print_all(&o, &f->syn, 1);
	assert_int_equal(strlen(got), strlen(HUBBLE_SYN) + 1);
	assert_memory_equal(got, HUBBLE_SYN, strlen(HUBBLE_SYN));
	assert_int_equal(got[strlen(HUBBLE_SYN)], '\n');
	free(got);
}

/* ---- hostile text ---- */

static void control_characters_in_names_are_replaced(void **state)
{
	struct weir_printer_opts o = { .output = WEIR_OUT_COMPACT };
	json_t *j = load("{\"flow\":{\"time\":\"2026-08-05T10:12:18Z\",\"verdict\":\"FORWARDED\","
			 "\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"},"
			 "\"source\":{\"namespace\":\"a\",\"pod_name\":\"evil\\u001b[2J\\n\"},"
			 "\"is_reply\":false,\"Summary\":\"x\\ry\"}}");

	(void)state;
	expect_output(&o, &j, 1,
		      "Aug  5 10:12:18.000: a/evil?[2J? -> 10.0.0.2 UNKNOWN FORWARDED (x?y)\n");
	json_decref(j);
}

static void node_status_goes_to_the_error_stream(void **state)
{
	struct weir_printer_opts o = { .output = WEIR_OUT_COMPACT };
	json_t *j =
		load("{\"node_status\":{\"state_change\":\"NODE_UNAVAILABLE\",\"node_names\":"
		     "[\"a\",\"b\"]},\"node_name\":\"relay\",\"time\":\"2026-08-05T10:12:18Z\"}");
	json_t *ok = load("{\"node_status\":{\"state_change\":\"NODE_CONNECTED\",\"node_names\":"
			  "[\"c\"]},\"time\":\"2026-08-05T10:12:18Z\"}");
	json_t *e = load("{\"node_status\":{\"state_change\":\"NODE_ERROR\",\"node_names\":"
			 "[\"d\"],\"message\":\"EOF\"},\"time\":\"2026-08-05T10:12:18Z\"}");
	char *out = NULL, *err = NULL;
	size_t lo = 0, le = 0;
	FILE *fo = open_memstream(&out, &lo), *fe = open_memstream(&err, &le);
	struct weir_printer *p = weir_printer_new(fo, fe, &o);

	(void)state;
	assert_int_equal(weir_printer_write(p, j), 0);
	assert_int_equal(weir_printer_write(p, ok), 0);
	assert_int_equal(weir_printer_write(p, e), 0);
	assert_int_equal(weir_printer_close(p), 0);
	fclose(fo);
	fclose(fe);
	assert_string_equal(out, "");
	assert_string_equal(err, "Aug  5 10:12:18.000 [relay]: 2 nodes are unavailable: a, b\n"
				 "Aug  5 10:12:18.000: Error \"EOF\" on 1 nodes: d\n");
	free(out);
	free(err);
	json_decref(j);
	json_decref(ok);
	json_decref(e);
}

/* ---- names and the table writer ---- */

static void output_names_and_grouped_counts(void **state)
{
	enum weir_output out;
	char buf[32];

	(void)state;
	assert_int_equal(weir_output_parse("compact", &out), 0);
	assert_int_equal(out, WEIR_OUT_COMPACT);
	assert_int_equal(weir_output_parse("tab", &out), 0);
	assert_int_equal(out, WEIR_OUT_TABLE);
	assert_int_equal(weir_output_parse("jsonpb", &out), 0);
	assert_int_equal(out, WEIR_OUT_JSON);
	assert_int_equal(weir_output_parse("dict", &out), 0);
	assert_int_equal(out, WEIR_OUT_DICT);
	assert_int_equal(weir_output_parse("yaml", &out), -EINVAL);
	assert_string_equal(weir_u64_grouped(0, buf, sizeof(buf)), "0");
	assert_string_equal(weir_u64_grouped(999, buf, sizeof(buf)), "999");
	assert_string_equal(weir_u64_grouped(4095, buf, sizeof(buf)), "4,095");
	assert_string_equal(weir_u64_grouped(1234567, buf, sizeof(buf)), "1,234,567");
}

static void table_pads_like_tabwriter(void **state)
{
	struct weir_table *t = weir_table_new();
	const char *r1[] = { "A", "BB", "C" }, *r2[] = { "a", "", "ccc" }, *r3[] = { "αβγδ", "x" };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_int_equal(weir_table_add(t, r1, 3), 0);
	assert_int_equal(weir_table_add(t, r2, 3), 0);
	assert_int_equal(weir_table_add(t, r3, 2), 0);
	assert_int_equal(weir_table_print(t, f), 0);
	fclose(f);
	/* UTF-8 counted as characters; the last cell of a row is not padded */
	assert_string_equal(text, "A      BB   C\n"
				  "a           ccc\n"
				  "αβγδ   x\n");
	free(text);
	weir_table_free(t);
}

static void table_cells_cannot_drive_the_terminal(void **state)
{
	struct weir_table *t = weir_table_new();
	const char *row[] = { "node\033[2J", "up\nx" };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_int_equal(weir_table_add(t, row, 2), 0);
	assert_int_equal(weir_table_print(t, f), 0);
	fclose(f);
	assert_string_equal(text, "node?[2J   up?x\n");
	free(text);
	weir_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compact_prints_one_line_per_flow),
		cmocka_unit_test(compact_names_the_reason_of_a_dropped_flow_record),
		cmocka_unit_test(compact_with_node_name_and_numeric),
		cmocka_unit_test(compact_colors_verdicts_only_when_asked),
		cmocka_unit_test(every_time_format),
		cmocka_unit_test(table_aligns_columns_under_a_header),
		cmocka_unit_test(table_without_counters_has_hubbles_columns),
		cmocka_unit_test(table_of_nothing_prints_nothing),
		cmocka_unit_test(dict_prints_a_block_per_flow),
		cmocka_unit_test(json_prints_each_response_as_received_one_per_line),
		cmocka_unit_test(control_characters_in_names_are_replaced),
		cmocka_unit_test(node_status_goes_to_the_error_stream),
		cmocka_unit_test(output_names_and_grouped_counts),
		cmocka_unit_test(table_pads_like_tabwriter),
		cmocka_unit_test(table_cells_cannot_drive_the_terminal),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
