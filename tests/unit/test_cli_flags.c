// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir's command line: the option-table parser, every `weir observe` filter
 * flag into Hubble's FlowFilter JSON (either-direction flags as a source-side
 * OR a destination-side filter, --not into the deny list, namespaces applied
 * last), Hubble's conflicting pairs, bad values, --print-raw-filters, times,
 * and the man page and --help agreeing with the option tables.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "../../cli/cli.h"
#include "../../cli/observe_flags.h"
#include "../../cli/opts.h"
#include "timefmt.h"

#ifndef WEIR_SRCDIR
#define WEIR_SRCDIR "."
#endif

#define NS	 1000000000ULL
#define T_101218 (1785924738ULL * NS) /* 2026-08-05T10:12:18Z */

/* ---- the option-table parser, on a table of its own ---- */

struct demo_cfg {
	bool flag;
	const char *name;
	uint64_t count;
	uint64_t wait_ns;
	char calls[128];
};

static int demo_call(void *cfg, const struct weir_opt *o, const char *value, char *err,
		     size_t err_len)
{
	struct demo_cfg *c = cfg;
	size_t n = strlen(c->calls);

	if (value && !strcmp(value, "bad")) {
		snprintf(err, err_len, "--%s: bad value", o->name);
		return -EINVAL;
	}
	snprintf(c->calls + n, sizeof(c->calls) - n, "%s%d=%s", n ? "," : "", o->id,
		 value ? value : "-");
	return 0;
}

/* clang-format off */
static const struct weir_opt demo_opts[] = {
	DEFINE_OPTION("flag", WEIR_OPT_BOOL, struct demo_cfg, flag, .short_opt = 'x',
		      .help = "a flag"),
	DEFINE_OPTION("name", WEIR_OPT_STRING, struct demo_cfg, name, .short_opt = 'N',
		      .metavar = "NAME", .help = "a name"),
	DEFINE_OPTION("count", WEIR_OPT_COUNT, struct demo_cfg, count, .metavar = "N",
		      .help = "a count"),
	DEFINE_OPTION("wait", WEIR_OPT_DURATION, struct demo_cfg, wait_ns, .metavar = "D",
		      .help = "a duration"),
	DEFINE_CALL("one", 1, .short_opt = '1', .help = "in order"),
	DEFINE_CALL("two", 2, .metavar = "V", .short_opt = '2', .help = "in order, a value"),
	END_OPTIONS
};
/* clang-format on */

/* Parses args (NULL-terminated, after a program name); returns the parser's value. */
static int demo_parse(struct demo_cfg *cfg, const char *const *args, int *next, char *err)
{
	struct weir_optset set = { .opts = demo_opts, .cfg = cfg, .call = demo_call };
	char *argv[32] = { "demo" };
	int argc = 1;

	memset(cfg, 0, sizeof(*cfg));
	while (*args)
		argv[argc++] = (char *)*args++;
	*next = 1;
	err[0] = '\0';
	return weir_opts_parse(&set, 1, argc, argv, next, err, 256);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void opts_take_long_short_and_inline_values(void **state)
{
	struct demo_cfg c;
	char err[256];
	int next;

	(void)state;
	assert_int_equal(demo_parse(&c,
				    ARGS("--flag", "--name", "a", "--count=42", "--wait", "1m30s",
					 "-Nb", "-2", "v", "-1"),
				    &next, err),
			 0);
	assert_true(c.flag);
	assert_string_equal(c.name, "b");
	assert_int_equal(c.count, 42);
	assert_int_equal(c.wait_ns, 90 * NS);
	assert_string_equal(c.calls, "2=v,1=-");
	assert_int_equal(next, 11);
}

static void opts_cluster_short_flags_and_end_at_value(void **state)
{
	struct demo_cfg c;
	char err[256];
	int next;

	(void)state;
	assert_int_equal(demo_parse(&c, ARGS("-x1N", "name"), &next, err), 0);
	assert_true(c.flag);
	assert_string_equal(c.calls, "1=-");
	assert_string_equal(c.name, "name");
	assert_int_equal(demo_parse(&c, ARGS("-1x2val"), &next, err), 0);
	assert_string_equal(c.calls, "1=-,2=val");
}

static void opts_call_in_command_line_order(void **state)
{
	struct demo_cfg c;
	char err[256];
	int next;

	(void)state;
	assert_int_equal(demo_parse(&c, ARGS("--two", "a", "--one", "--two=b", "-2c"), &next, err),
			 0);
	assert_string_equal(c.calls, "2=a,1=-,2=b,2=c");
}

static void opts_stop_at_arguments_and_double_dash(void **state)
{
	struct demo_cfg c;
	char err[256];
	int next;

	(void)state;
	assert_int_equal(demo_parse(&c, ARGS("--flag", "observe", "--count", "1"), &next, err), 0);
	assert_int_equal(next, 2);
	assert_int_equal(c.count, 0);
	assert_int_equal(demo_parse(&c, ARGS("--", "--flag"), &next, err), 0);
	assert_int_equal(next, 2);
	assert_false(c.flag);
	assert_int_equal(demo_parse(&c, ARGS("-", "x"), &next, err), 0);
	assert_int_equal(next, 1);
}

static void opts_bool_takes_true_or_false(void **state)
{
	struct demo_cfg c;
	char err[256];
	int next;

	(void)state;
	assert_int_equal(demo_parse(&c, ARGS("--flag=false"), &next, err), 0);
	assert_false(c.flag);
	assert_int_equal(demo_parse(&c, ARGS("--flag=true"), &next, err), 0);
	assert_true(c.flag);
	assert_int_equal(demo_parse(&c, ARGS("--flag=maybe"), &next, err), -EINVAL);
	assert_string_equal(err, "invalid value \"maybe\" for --flag: expected true or false");
}

static void opts_errors_are_one_line_naming_the_flag(void **state)
{
	const struct {
		const char *const *args;
		const char *err;
	} cases[] = {
		{ ARGS("--bogus"), "unknown flag: --bogus" },
		{ ARGS("--bogus=1"), "unknown flag: --bogus" },
		{ ARGS("-q"), "unknown shorthand flag: 'q' in -q" },
		{ ARGS("-xq"), "unknown shorthand flag: 'q' in -xq" },
		{ ARGS("--name"), "flag needs an argument: --name NAME" },
		{ ARGS("-N"), "flag needs an argument: --name NAME" },
		{ ARGS("--one=x"), "flag --one takes no value" },
		{ ARGS("--count", "ten"), "invalid value \"ten\" for --count: expected a count" },
		{ ARGS("--count", "-1"), "invalid value \"-1\" for --count: expected a count" },
		{ ARGS("--count", "99999999999999999999"),
		  "invalid value \"99999999999999999999\" for --count: expected a count" },
		{ ARGS("--wait", "soon"),
		  "invalid value \"soon\" for --wait: expected a duration like 5s, 500ms or 1m" },
		{ ARGS("--two", "bad"), "--two: bad value" },
	};
	struct demo_cfg c;
	char err[256];
	size_t i;
	int next;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(demo_parse(&c, cases[i].args, &next, err), -EINVAL);
		assert_string_equal(err, cases[i].err);
		assert_null(strchr(err, '\n'));
	}
}

static void opts_help_is_found_anywhere(void **state)
{
	struct demo_cfg c;
	char err[256];
	int next;

	(void)state;
	assert_int_equal(demo_parse(&c, ARGS("--help"), &next, err), WEIR_OPTS_HELP);
	assert_int_equal(demo_parse(&c, ARGS("--flag", "-h"), &next, err), WEIR_OPTS_HELP);
	assert_int_equal(demo_parse(&c, ARGS("-xh"), &next, err), WEIR_OPTS_HELP);
}

static void opts_help_lists_every_option_with_metavar(void **state)
{
	const struct weir_opt *tables[] = { demo_opts };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	weir_opts_help(f, tables, 1);
	fclose(f);
	assert_non_null(strstr(text, "  -x, --flag                    a flag\n"));
	assert_non_null(strstr(text, "  -N, --name NAME               a name\n"));
	assert_non_null(strstr(text, "      --count N                 a count\n"));
	assert_non_null(strstr(text, "  -2, --two V                   in order, a value\n"));
	assert_non_null(strstr(text, "  -h, --help                    Show this help\n"));
	free(text);
}

/* ---- weir observe's filter flags, through its own option table ---- */

static char *dumps(const json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT) : strdup("null");
}

/* The allow and deny lists the filter flags in args make, as compact JSON
 * ("null" for none); or -EINVAL with the message in err.
 */
static int observe_filters(const char *const *args, char **allow, char **deny, char *err)
{
	struct weir_ff_set ff;
	struct weir_optset set = { .opts = weir_cmd_observe.filter_opts,
				   .cfg = &ff,
				   .call = weir_ff_call };
	char *argv[32] = { "observe" };
	json_t *a = NULL, *d = NULL;
	int argc = 1, next = 1, ret;

	while (*args)
		argv[argc++] = (char *)*args++;
	weir_ff_init(&ff);
	err[0] = '\0';
	*allow = *deny = NULL;
	ret = weir_opts_parse(&set, 1, argc, argv, &next, err, 512);
	if (!ret) {
		/* only filter flags here: anything else would write outside ff */
		assert_int_equal(next, argc);
		ret = weir_ff_finish(&ff, &a, &d, err, 512);
	}
	if (!ret) {
		*allow = dumps(a);
		*deny = dumps(d);
	}
	json_decref(a);
	json_decref(d);
	weir_ff_release(&ff);
	return ret;
}

static void expect_filters(const char *const *args, const char *allow, const char *deny)
{
	char *a = NULL, *d = NULL, err[512], msg[2048];
	bool ok;

	if (observe_filters(args, &a, &d, err))
		fail_msg("%s: rejected: %s", args[0], err);
	ok = a && d && !strcmp(a, allow ? allow : "null") && !strcmp(d, deny ? deny : "null");
	snprintf(msg, sizeof(msg), "%s %s:\n  allow %s\n   want %s\n  deny  %s\n   want %s",
		 args[0], args[1] ? args[1] : "", a, allow ? allow : "null", d,
		 deny ? deny : "null");
	free(a);
	free(d);
	if (!ok)
		fail_msg("%s", msg);
}

static void expect_error(const char *const *args, const char *err_want)
{
	char *a = NULL, *d = NULL, err[512];
	int ret = observe_filters(args, &a, &d, err);

	free(a);
	free(d);
	if (!ret)
		fail_msg("%s %s: accepted", args[0], args[1] ? args[1] : "");
	if (strcmp(err, err_want) != 0)
		fail_msg("%s: error\n  got  %s\n  want %s", args[0], err, err_want);
}

static void every_address_flag(void **state)
{
	(void)state;
	expect_filters(ARGS("--ip", "10.0.0.1"),
		       "[{\"source_ip\":[\"10.0.0.1\"]},{\"destination_ip\":[\"10.0.0.1\"]}]",
		       NULL);
	expect_filters(ARGS("--from-ip", "10.0.0.0/8"), "[{\"source_ip\":[\"10.0.0.0/8\"]}]", NULL);
	expect_filters(ARGS("--to-ip", "fd00::/64"), "[{\"destination_ip\":[\"fd00::/64\"]}]",
		       NULL);
	expect_filters(ARGS("-4"), "[{\"ip_version\":[\"IPv4\"]}]", NULL);
	expect_filters(ARGS("--ipv6"), "[{\"ip_version\":[\"IPv6\"]}]", NULL);
	expect_filters(ARGS("--ip-version", "v6", "--ip-version", "none"),
		       "[{\"ip_version\":[\"IPv6\",\"IP_NOT_USED\"]}]", NULL);
	expect_filters(ARGS("-4", "-6"), "[{\"ip_version\":[\"IPv4\",\"IPv6\"]}]", NULL);
}

static void every_pod_and_namespace_flag(void **state)
{
	(void)state;
	expect_filters(ARGS("--pod", "shop/cart"),
		       "[{\"source_pod\":[\"shop/cart\"]},{\"destination_pod\":[\"shop/cart\"]}]",
		       NULL);
	expect_filters(ARGS("--from-pod", "web"), "[{\"source_pod\":[\"web\"]}]", NULL);
	expect_filters(ARGS("--to-pod", "shop/"), "[{\"destination_pod\":[\"shop/\"]}]", NULL);
	expect_filters(ARGS("-n", "shop"),
		       "[{\"source_pod\":[\"shop/\"]},{\"destination_pod\":[\"shop/\"]}]", NULL);
	expect_filters(ARGS("--from-namespace", "shop"), "[{\"source_pod\":[\"shop/\"]}]", NULL);
	expect_filters(ARGS("--to-namespace", "shop"), "[{\"destination_pod\":[\"shop/\"]}]", NULL);
	expect_filters(ARGS("-A"), "[{\"source_pod\":[\"/\"]},{\"destination_pod\":[\"/\"]}]",
		       NULL);
	expect_filters(ARGS("--from-all-namespaces"), "[{\"source_pod\":[\"/\"]}]", NULL);
	expect_filters(ARGS("--to-all-namespaces"), "[{\"destination_pod\":[\"/\"]}]", NULL);
}

static void every_label_port_and_protocol_flag(void **state)
{
	(void)state;
	expect_filters(ARGS("-l", "app=web"),
		       "[{\"source_label\":[\"app=web\"]},{\"destination_label\":[\"app=web\"]}]",
		       NULL);
	expect_filters(ARGS("--from-label", "reserved:world"),
		       "[{\"source_label\":[\"reserved:world\"]}]", NULL);
	expect_filters(ARGS("--to-label", "tier in (a,b)"),
		       "[{\"destination_label\":[\"tier in (a,b)\"]}]", NULL);
	expect_filters(ARGS("--port", "80"),
		       "[{\"source_port\":[\"80\"]},{\"destination_port\":[\"80\"]}]", NULL);
	expect_filters(ARGS("--from-port", "40000"), "[{\"source_port\":[\"40000\"]}]", NULL);
	expect_filters(ARGS("--to-port", "53"), "[{\"destination_port\":[\"53\"]}]", NULL);
	expect_filters(ARGS("--protocol", "tcp", "--protocol", "ICMPv6"),
		       "[{\"protocol\":[\"tcp\",\"ICMPv6\"]}]", NULL);
	expect_filters(ARGS("--tcp-flags", "ack,SYN", "--tcp-flags", "fin"),
		       "[{\"tcp_flags\":[{\"SYN\":true,\"ACK\":true},{\"FIN\":true}]}]", NULL);
}

static void every_verdict_node_and_interface_flag(void **state)
{
	(void)state;
	expect_filters(ARGS("--verdict", "dropped", "--verdict", "FORWARDED"),
		       "[{\"verdict\":[\"DROPPED\",\"FORWARDED\"]}]", NULL);
	expect_filters(ARGS("--drop-reason-desc", "policy_denied"),
		       "[{\"drop_reason_desc\":[\"POLICY_DENIED\"]}]", NULL);
	expect_filters(ARGS("--traffic-direction", "Ingress"),
		       "[{\"traffic_direction\":[\"INGRESS\"]}]", NULL);
	expect_filters(ARGS("--node-name", "prod/k8s*"), "[{\"node_name\":[\"prod/k8s*\"]}]", NULL);
	expect_filters(ARGS("--interface", "eth0"), "[{\"interface\":[{\"name\":\"eth0\"}]}]",
		       NULL);
}

static void every_service_workload_and_identity_flag(void **state)
{
	(void)state;
	expect_filters(ARGS("--service", "web"),
		       "[{\"source_service\":[\"web\"]},{\"destination_service\":[\"web\"]}]",
		       NULL);
	expect_filters(ARGS("--from-service", "shop/web"), "[{\"source_service\":[\"shop/web\"]}]",
		       NULL);
	expect_filters(ARGS("--to-service", "web", "--to-service", "db"),
		       "[{\"destination_service\":[\"web\",\"db\"]}]", NULL);
	expect_filters(ARGS("--workload", "Deployment/web"),
		       "[{\"source_workload\":[{\"kind\":\"Deployment\",\"name\":\"web\"}]},"
		       "{\"destination_workload\":[{\"kind\":\"Deployment\",\"name\":\"web\"}]}]",
		       NULL);
	expect_filters(ARGS("--from-workload", "web"),
		       "[{\"source_workload\":[{\"name\":\"web\"}]}]", NULL);
	expect_filters(ARGS("--to-workload", "StatefulSet/db"),
		       "[{\"destination_workload\":[{\"kind\":\"StatefulSet\",\"name\":\"db\"}]}]",
		       NULL);
	expect_filters(ARGS("--identity", "world"),
		       "[{\"source_identity\":[2]},{\"destination_identity\":[2]}]", NULL);
	expect_filters(ARGS("--from-identity", "1"), "[{\"source_identity\":[1]}]", NULL);
	expect_filters(ARGS("--to-identity", "reserved:host", "--to-identity", "4294967295"),
		       "[{\"destination_identity\":[1,4294967295]}]", NULL);
	expect_filters(ARGS("--not", "--to-service", "web"), NULL,
		       "[{\"destination_service\":[\"web\"]}]");
	expect_error(ARGS("--to-service", "a/b/c"),
		     "--to-service: \"a/b/c\": expected [namespace/]service-name-prefix");
	expect_error(ARGS("--workload", "Deployment/"),
		     "--workload: expected [kind/]name, got \"Deployment/\"");
	expect_error(ARGS("--from-identity", "-1"),
		     "--from-identity: invalid identity \"-1\" (a number, host or world)");
	expect_error(ARGS("--identity", "4294967296"),
		     "--identity: invalid identity \"4294967296\" (a number, host or world)");
}

static void raw_filters_follow_the_flags_filters(void **state)
{
	(void)state;
	expect_filters(
		ARGS("--allowlist", "{\"source_pod\":[\"a/\"]}{\"verdict\":[\"DROPPED\"]}",
		     "--protocol", "udp"),
		"[{\"protocol\":[\"udp\"]},{\"source_pod\":[\"a/\"]},{\"verdict\":[\"DROPPED\"]}]",
		NULL);
	expect_filters(
		ARGS("--denylist", "[{\"destination_port\":[\"53\"]},{\"protocol\":[\"icmp\"]}]"),
		NULL, "[{\"destination_port\":[\"53\"]},{\"protocol\":[\"icmp\"]}]");
	/* protojson names too */
	expect_filters(ARGS("--allowlist", "{\"sourceIp\":[\"10.0.0.1\"]}"),
		       "[{\"sourceIp\":[\"10.0.0.1\"]}]", NULL);
}

/* ---- Hubble's semantics ---- */

static void either_direction_flag_gives_source_or_destination_filters(void **state)
{
	(void)state;
	/* (src=a AND tcp) OR (dst=a AND tcp) */
	expect_filters(ARGS("--pod", "a", "--protocol", "tcp"),
		       "[{\"source_pod\":[\"a\"],\"protocol\":[\"tcp\"]},"
		       "{\"destination_pod\":[\"a\"],\"protocol\":[\"tcp\"]}]",
		       NULL);
	/* two either-direction flags pair up side by side */
	expect_filters(ARGS("--ip", "10.0.0.1", "--port", "80", "--port", "443"),
		       "[{\"source_ip\":[\"10.0.0.1\"],\"source_port\":[\"80\",\"443\"]},"
		       "{\"destination_ip\":[\"10.0.0.1\"],\"destination_port\":[\"80\",\"443\"]}]",
		       NULL);
	/* directional flags go into both, and equal sides become one filter */
	expect_filters(ARGS("--from-pod", "a", "--to-port", "80"),
		       "[{\"source_pod\":[\"a\"],\"destination_port\":[\"80\"]}]", NULL);
	expect_filters(ARGS("--label", "app=web", "--from-ip", "10.0.0.1"),
		       "[{\"source_ip\":[\"10.0.0.1\"],\"source_label\":[\"app=web\"]},"
		       "{\"source_ip\":[\"10.0.0.1\"],\"destination_label\":[\"app=web\"]}]",
		       NULL);
}

static void namespaces_are_applied_to_pods_last(void **state)
{
	(void)state;
	expect_filters(ARGS("--pod", "cart", "-n", "shop"),
		       "[{\"source_pod\":[\"shop/cart\"]},{\"destination_pod\":[\"shop/cart\"]}]",
		       NULL);
	expect_filters(ARGS("-n", "a", "-n", "b"),
		       "[{\"source_pod\":[\"a/\",\"b/\"]},{\"destination_pod\":[\"a/\",\"b/\"]}]",
		       NULL);
	expect_filters(ARGS("--from-namespace", "a", "--to-namespace", "b"),
		       "[{\"source_pod\":[\"a/\"],\"destination_pod\":[\"b/\"]}]", NULL);
	expect_filters(ARGS("--from-namespace", "a", "--pod", "x"),
		       "[{\"source_pod\":[\"a/x\"]},{\"source_pod\":[\"a/\"],"
		       "\"destination_pod\":[\"x\"]}]",
		       NULL);
	expect_error(ARGS("--from-namespace", "a", "--from-pod", "b/x"),
		     "namespace conflict: \"a\" does not contain \"b/x\"");
}

static void all_namespaces_means_any_namespace(void **state)
{
	(void)state;
	expect_filters(ARGS("-A", "--pod", "web"),
		       "[{\"source_pod\":[\"/web\"]},{\"destination_pod\":[\"/web\"]}]", NULL);
	expect_filters(ARGS("--to-all-namespaces", "--to-pod", "db"),
		       "[{\"destination_pod\":[\"/db\"]}]", NULL);
}

static void not_moves_only_the_next_flag_to_the_deny_list(void **state)
{
	(void)state;
	expect_filters(ARGS("--not", "--pod", "a"), NULL,
		       "[{\"source_pod\":[\"a\"]},{\"destination_pod\":[\"a\"]}]");
	expect_filters(ARGS("--protocol", "tcp", "--not", "--port", "22", "--verdict", "DROPPED"),
		       "[{\"verdict\":[\"DROPPED\"],\"protocol\":[\"tcp\"]}]",
		       "[{\"source_port\":[\"22\"]},{\"destination_port\":[\"22\"]}]");
	/* several negated flags make one deny filter: ANDed */
	expect_filters(ARGS("--not", "--protocol", "udp", "--not", "--to-port", "53"), NULL,
		       "[{\"protocol\":[\"udp\"],\"destination_port\":[\"53\"]}]");
	expect_filters(ARGS("--not", "--to-namespace", "foo", "--not", "--port", "53"), NULL,
		       "[{\"destination_pod\":[\"foo/\"],\"source_port\":[\"53\"]},"
		       "{\"destination_pod\":[\"foo/\"],\"destination_port\":[\"53\"]}]");
	/* a raw flag in between is not a filter flag: --not waits for the next one */
	expect_filters(
		ARGS("--not", "--allowlist", "{\"protocol\":[\"tcp\"]}", "--verdict", "DROPPED"),
		"[{\"protocol\":[\"tcp\"]}]", "[{\"verdict\":[\"DROPPED\"]}]");
	expect_error(ARGS("--not", "--not", "--pod", "a"), "consecutive --not statements");
	expect_error(ARGS("--pod", "a", "--not"), "trailing --not found in the arguments");
}

static void conflicting_pairs_are_refused(void **state)
{
	static const char *const pairs[][2] = {
		{ "ip", "from-ip" },
		{ "ip", "to-ip" },
		{ "ip", "pod" },
		{ "ip", "from-pod" },
		{ "ip", "to-pod" },
		{ "ip", "namespace" },
		{ "ip", "from-namespace" },
		{ "ip", "to-namespace" },
		{ "ip", "all-namespaces" },
		{ "ip", "from-all-namespaces" },
		{ "ip", "to-all-namespaces" },
		{ "from-ip", "from-pod" },
		{ "from-ip", "pod" },
		{ "from-ip", "namespace" },
		{ "from-ip", "from-namespace" },
		{ "from-ip", "all-namespaces" },
		{ "from-ip", "from-all-namespaces" },
		{ "to-ip", "to-pod" },
		{ "to-ip", "pod" },
		{ "to-ip", "namespace" },
		{ "to-ip", "to-namespace" },
		{ "to-ip", "all-namespaces" },
		{ "to-ip", "to-all-namespaces" },
		{ "namespace", "all-namespaces" },
		{ "namespace", "from-namespace" },
		{ "namespace", "to-namespace" },
		{ "namespace", "from-pod" },
		{ "namespace", "to-pod" },
		{ "all-namespaces", "from-pod" },
		{ "all-namespaces", "to-pod" },
		{ "label", "from-label" },
		{ "label", "to-label" },
		{ "port", "from-port" },
		{ "port", "to-port" },
		{ "service", "from-service" },
		{ "service", "to-service" },
		{ "workload", "from-workload" },
		{ "workload", "to-workload" },
		{ "identity", "from-identity" },
		{ "identity", "to-identity" },
	};
	static const char *const values[][2] = {
		{ "all-namespaces", NULL }, { "ip", "10.0.0.1" }, { "pod", "p" },
		{ "namespace", "ns" },	    { "label", "a=b" },	  { "port", "80" },
		{ "service", "web" },	    { "workload", "w" },  { "identity", "2" },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *argv[8] = { 0 };
		char flag[2][64], *a, *d, err[512];
		int n = 0, s;

		for (s = 0; s < 2; s++) {
			snprintf(flag[s], sizeof(flag[s]), "--%s", pairs[i][s]);
			argv[n++] = flag[s];
			for (k = 0; k < sizeof(values) / sizeof(values[0]); k++)
				if (strstr(pairs[i][s], values[k][0])) {
					if (values[k][1])
						argv[n++] = values[k][1];
					break;
				}
		}
		a = d = NULL;
		s = observe_filters(argv, &a, &d, err);
		free(a);
		free(d);
		if (!s)
			fail_msg("%s with %s accepted", flag[0], flag[1]);
		if (!strstr(err, "cannot be combined") || !strstr(err, flag[0]) ||
		    !strstr(err, flag[1]))
			fail_msg("%s with %s: %s", flag[0], flag[1], err);
	}
	/* Hubble's wording and order */
	expect_error(ARGS("--from-pod", "p", "--from-ip", "10.0.0.1"),
		     "filters --from-ip and --from-pod cannot be combined");
	expect_error(ARGS("--to-ip", "10.0.0.1", "--ip", "10.0.0.2"),
		     "filters --to-ip and --ip cannot be combined");
}

static int accepted(const char *const *args)
{
	char *a = NULL, *d = NULL, err[512];
	int ret = observe_filters(args, &a, &d, err);

	free(a);
	free(d);
	return ret;
}

static void pairs_that_do_not_conflict_are_taken(void **state)
{
	(void)state;
	assert_int_equal(accepted(ARGS("--from-ip", "10.0.0.1", "--to-ip", "10.0.0.2")), 0);
	assert_int_equal(accepted(ARGS("--from-pod", "a", "--to-pod", "b")), 0);
	assert_int_equal(accepted(ARGS("--from-ip", "10.0.0.1", "--to-pod", "b")), 0);
	assert_int_equal(accepted(ARGS("--pod", "a", "-n", "x")), 0);
	assert_int_equal(accepted(ARGS("--from-namespace", "a", "--from-pod", "b")), 0);
	/* a conflict is within one list: allow and deny are apart */
	expect_filters(ARGS("--from-ip", "10.0.0.1", "--not", "--from-pod", "x"),
		       "[{\"source_ip\":[\"10.0.0.1\"]}]", "[{\"source_pod\":[\"x\"]}]");
	expect_filters(ARGS("--from-label", "a=b", "--to-label", "c=d", "--from-port", "1",
			    "--to-port", "2"),
		       "[{\"source_label\":[\"a=b\"],\"destination_label\":[\"c=d\"],"
		       "\"source_port\":[\"1\"],\"destination_port\":[\"2\"]}]",
		       NULL);
}

static void namespace_of_a_pod_must_agree(void **state)
{
	(void)state;
	expect_error(ARGS("-n", "shop", "--pod", "other/x"),
		     "namespace conflict: \"shop\" does not contain \"other/x\"");
	expect_error(ARGS("--to-namespace", "shop", "--to-pod", "other/x"),
		     "namespace conflict: \"shop\" does not contain \"other/x\"");
	expect_filters(ARGS("-n", "shop", "--pod", "shop/x"),
		       "[{\"source_pod\":[\"shop/x\"]},{\"destination_pod\":[\"shop/x\"]}]", NULL);
}

static void bad_values_name_the_flag(void **state)
{
	(void)state;
	expect_error(ARGS("--ip", "300.1.1.1"), "--ip: invalid IP address or CIDR \"300.1.1.1\"");
	expect_error(ARGS("--from-ip", "10.0.0.0/33"),
		     "--from-ip: invalid CIDR prefix length in \"10.0.0.0/33\"");
	expect_error(ARGS("--port", "70000"), "--port: invalid port \"70000\"");
	expect_error(ARGS("--to-port", "http"), "--to-port: invalid port \"http\"");
	expect_error(ARGS("--protocol", "gre"), "--protocol: unknown protocol \"gre\"");
	expect_error(ARGS("--verdict", "maybe"), "invalid --verdict value: maybe");
	expect_error(ARGS("--drop-reason-desc", ""), "empty --drop-reason-desc value");
	expect_error(ARGS("--drop-reason-desc", "TOO_LATE"),
		     "invalid --drop-reason-desc value: TOO_LATE");
	expect_error(ARGS("--traffic-direction", "up"),
		     "up: invalid traffic direction, expected ingress or egress");
	expect_error(ARGS("--tcp-flags", "syn,bogus"), "unknown tcp flag: bogus");
	expect_error(ARGS("--tcp-flags", "syn,,ack"), "unknown tcp flag: ");
	expect_error(ARGS("--ip-version", "5"),
		     "--ip-version: invalid IP version \"5\", expected none, v4 or v6");
	expect_error(ARGS("--pod", "a/b/c"),
		     "--pod: \"a/b/c\": expected [namespace/][pod-name-prefix]");
	expect_error(ARGS("--from-pod", ""),
		     "--from-pod: empty pod filter: expected [namespace/][pod-name-prefix]");
	expect_error(ARGS("-n", "a/b"), "--namespace: expected a namespace name, got \"a/b\"");
	expect_error(ARGS("--node-name", "a/b/c"),
		     "--node-name: \"a/b/c\": too many slashes (expected [cluster/]node)");
	expect_error(ARGS("--interface", "an-interface-name-too-long"),
		     "--interface: name: longer than 15 characters");
	assert_true(1);
}

static void bad_raw_filters_are_refused(void **state)
{
	char *a = NULL, *d = NULL, err[512];
	int ret;

	(void)state;
	expect_error(ARGS("--allowlist", "{\"bogus\":[\"x\"]}"),
		     "invalid --allowlist flag: unknown filter field \"bogus\"");
	expect_error(ARGS("--denylist", "{\"source_ip\":[\"x\"]}"),
		     "invalid --denylist flag: source_ip[0]: invalid IP address or CIDR \"x\"");
	expect_error(ARGS("--allowlist", "[1]"),
		     "invalid --allowlist flag: expected a FlowFilter object");
	ret = observe_filters(ARGS("--allowlist", "{nope"), &a, &d, err);
	free(a);
	free(d);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "invalid --allowlist flag: "));
	assert_null(strchr(err, '\n'));
}

static void print_raw_filters_as_hubble_does(void **state)
{
	json_t *allow =
		json_loads("[{\"source_pod\":[\"a\"]},{\"node_name\":[\"it's*\"]}]", 0, NULL);
	json_t *deny = json_loads("[{\"protocol\":[\"udp\"]}]", 0, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_int_equal(weir_ff_print_raw(f, allow, deny), 0);
	assert_int_equal(weir_ff_print_raw(f, NULL, NULL), 0);
	assert_int_equal(weir_ff_print_raw(f, NULL, deny), 0);
	fclose(f);
	assert_string_equal(text, "allowlist:\n"
				  "    - '{\"source_pod\":[\"a\"]}'\n"
				  "    - '{\"node_name\":[\"it''s*\"]}'\n"
				  "denylist:\n"
				  "    - '{\"protocol\":[\"udp\"]}'\n"
				  "{}\n"
				  "denylist:\n"
				  "    - '{\"protocol\":[\"udp\"]}'\n");
	free(text);
	json_decref(allow);
	json_decref(deny);
}

static void since_and_until_take_hubbles_time_forms(void **state)
{
	uint64_t ns;

	(void)state;
	assert_int_equal(weir_observe_time_parse("2026-08-05T10:12:18Z", 0, &ns), 0);
	assert_int_equal(ns, T_101218);
	assert_int_equal(weir_observe_time_parse("2026-08-05T12:12:18.5+02:00", 0, &ns), 0);
	assert_int_equal(ns, T_101218 + NS / 2);
	assert_int_equal(weir_observe_time_parse("2026-08-05", 0, &ns), 0);
	assert_int_equal(ns, T_101218 - (10 * 3600 + 12 * 60 + 18) * NS);
	assert_int_equal(weir_observe_time_parse("2026-08-05T10Z", 0, &ns), 0);
	assert_int_equal(ns, T_101218 - (12 * 60 + 18) * NS);
	assert_int_equal(weir_observe_time_parse("2026-08-05T10:12Z", 0, &ns), 0);
	assert_int_equal(ns, T_101218 - 18 * NS);
	assert_int_equal(weir_observe_time_parse("2026-08-05T12:12+02:00", 0, &ns), 0);
	assert_int_equal(ns, T_101218 - 18 * NS);
	assert_int_equal(weir_observe_time_parse("5m", T_101218, &ns), 0);
	assert_int_equal(ns, T_101218 - 300 * NS);
	assert_int_equal(weir_observe_time_parse("1h30m", T_101218, &ns), 0);
	assert_int_equal(ns, T_101218 - 5400 * NS);
	assert_int_equal(weir_observe_time_parse("yesterday", T_101218, &ns), -EINVAL);
	assert_int_equal(weir_observe_time_parse("2026-13-05", T_101218, &ns), -EINVAL);
	assert_int_equal(weir_observe_time_parse("2026-08-05T10", T_101218, &ns), -EINVAL);
}

/* ---- help and the man page agree with the tables ---- */

static const struct weir_cmd *const commands[] = {
	&weir_cmd_observe,   &weir_cmd_status,	  &weir_cmd_nodes,
	&weir_cmd_endpoints, &weir_cmd_version,	  &weir_cmd_top,
	&weir_cmd_policy,    &weir_cmd_prefilter, &weir_cmd_lb,
};

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

/* "--print-raw-filters" as troff writes it: "\-\-print\-raw\-filters". */
static void troff_option(char *buf, size_t len, const char *name, char short_opt)
{
	size_t n = 0;

	if (short_opt) {
		snprintf(buf, len, "\\-%c", short_opt);
		return;
	}
	n += (size_t)snprintf(buf, len, "\\-\\-");
	for (; *name && n + 3 < len; name++) {
		if (*name == '-')
			buf[n++] = '\\';
		buf[n++] = *name;
	}
	buf[n] = '\0';
}

/* weir top filters with observe's flags: one table, so one meaning. */
static void observe_and_top_share_the_filter_flags(void **state)
{
	(void)state;
	assert_ptr_equal(weir_cmd_observe.filter_opts, weir_ff_opts);
	assert_ptr_equal(weir_cmd_top.filter_opts, weir_ff_opts);
}

static void man_page_documents_every_option(void **state)
{
	char *man = read_file(WEIR_SRCDIR "/cli/weir.1"), want[96];
	const struct weir_opt *o, *tables[2];
	size_t i, t;

	(void)state;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		snprintf(want, sizeof(want), "weir %s", commands[i]->name);
		if (!strstr(man, want))
			fail_msg("weir.1 does not mention %s", want);
		tables[0] = commands[i]->opts;
		tables[1] = commands[i]->filter_opts; /* the filter flags, when it takes them */
		for (t = 0; t < 2; t++) {
			for (o = tables[t]; o && o->name; o++) {
				troff_option(want, sizeof(want), o->name, 0);
				if (!strstr(man, want))
					fail_msg("weir.1 does not document %s %s",
						 commands[i]->name, want);
				if (o->short_opt) {
					troff_option(want, sizeof(want), o->name, o->short_opt);
					if (!strstr(man, want))
						fail_msg("weir.1 lacks -%c", o->short_opt);
				}
			}
		}
	}
	for (o = weir_common_opts; o->name; o++) {
		troff_option(want, sizeof(want), o->name, 0);
		if (!strstr(man, want))
			fail_msg("weir.1 does not document %s", want);
	}
	free(man);
}

static void help_of_every_command_fits_100_columns(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char *text = NULL, *line, *save = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		const struct weir_opt *o;

		weir_cmd_help(f, commands[i]);
		fclose(f);
		for (o = commands[i]->opts; o->name; o++) {
			char opt[64];

			snprintf(opt, sizeof(opt), "--%s", o->name);
			if (!strstr(text, opt))
				fail_msg("weir %s --help lacks %s", commands[i]->name, opt);
		}
		assert_non_null(strstr(text, "--server SERVER"));
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strlen(line) > 100)
				fail_msg("weir %s --help: line longer than 100 columns: %s",
					 commands[i]->name, line);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(opts_take_long_short_and_inline_values),
		cmocka_unit_test(opts_cluster_short_flags_and_end_at_value),
		cmocka_unit_test(opts_call_in_command_line_order),
		cmocka_unit_test(opts_stop_at_arguments_and_double_dash),
		cmocka_unit_test(opts_bool_takes_true_or_false),
		cmocka_unit_test(opts_errors_are_one_line_naming_the_flag),
		cmocka_unit_test(opts_help_is_found_anywhere),
		cmocka_unit_test(opts_help_lists_every_option_with_metavar),
		cmocka_unit_test(every_address_flag),
		cmocka_unit_test(every_pod_and_namespace_flag),
		cmocka_unit_test(every_label_port_and_protocol_flag),
		cmocka_unit_test(every_verdict_node_and_interface_flag),
		cmocka_unit_test(every_service_workload_and_identity_flag),
		cmocka_unit_test(raw_filters_follow_the_flags_filters),
		cmocka_unit_test(either_direction_flag_gives_source_or_destination_filters),
		cmocka_unit_test(namespaces_are_applied_to_pods_last),
		cmocka_unit_test(all_namespaces_means_any_namespace),
		cmocka_unit_test(not_moves_only_the_next_flag_to_the_deny_list),
		cmocka_unit_test(conflicting_pairs_are_refused),
		cmocka_unit_test(pairs_that_do_not_conflict_are_taken),
		cmocka_unit_test(namespace_of_a_pod_must_agree),
		cmocka_unit_test(bad_values_name_the_flag),
		cmocka_unit_test(bad_raw_filters_are_refused),
		cmocka_unit_test(print_raw_filters_as_hubble_does),
		cmocka_unit_test(since_and_until_take_hubbles_time_forms),
		cmocka_unit_test(observe_and_top_share_the_filter_flags),
		cmocka_unit_test(man_page_documents_every_option),
		cmocka_unit_test(help_of_every_command_fits_100_columns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
