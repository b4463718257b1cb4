// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The filter language with Hubble's semantics: every FlowFilter field, how
 * fields, values, filters and the deny list combine, CIDR boundaries, label
 * selectors, pod and node patterns, flows requests with their errors, time
 * parsing, a scan's memory of endpoints (weir_filter_scan), and matching a
 * full store without allocating.
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <jansson.h>
#include "filter.h"
#include "flow.h"
#include "label_selector.h"

#define NS	 1000000000ULL
#define T_101218 (1785924738ULL * NS) /* 2026-08-05T10:12:18Z */

/* ---- records ---- */

static struct weir_endpoint *pod(const char *ns, const char *name, const char *const *labels)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);
	size_t n = 0;

	assert_non_null(ep);
	ep->namespace = strdup(ns);
	ep->pod_name = strdup(name);
	while (labels && labels[n])
		n++;
	ep->labels = calloc(n + 1, sizeof(char *));
	for (ep->n_labels = 0; ep->n_labels < n; ep->n_labels++)
		ep->labels[ep->n_labels] = strdup(labels[ep->n_labels]);
	return ep;
}

static void set_addr(uint8_t family, uint8_t *dst, const char *s)
{
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, s, dst), 1);
}

/* A forwarded TCP flow from shop/frontend-1 to shop/cart-1 on node kind-worker. */
static struct weir_flow_record *rec(void)
{
	static const char *const front[] = { "k8s:app=frontend", "k8s:tier=web", NULL };
	static const char *const cart[] = { "k8s:app=cart", "container:app=legacy", NULL };
	struct weir_flow_record *r = weir_flow_record_new();

	assert_non_null(r);
	r->time_ns = T_101218;
	r->type = WEIR_RECORD_START;
	r->family = 4;
	set_addr(4, r->saddr, "10.1.2.3");
	set_addr(4, r->daddr, "10.1.5.6");
	r->proto = IPPROTO_TCP;
	r->sport = 40000;
	r->dport = 8080;
	r->tcp_flags = WEIR_TCP_SYN | WEIR_TCP_ACK;
	r->ifindex = 7;
	strcpy(r->ifname, "veth0");
	r->dir = WEIR_DIR_INGRESS;
	r->hook = WEIR_HOOK_TC;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->is_reply = WEIR_REPLY_NO;
	r->node_name = strdup("kind-worker");
	r->src = pod("shop", "frontend-1", front);
	r->dst = pod("shop", "cart-1", cart);
	return r;
}

static struct weir_flow_record *rec6(const char *s, const char *d)
{
	struct weir_flow_record *r = rec();

	r->family = 6;
	set_addr(6, r->saddr, s);
	set_addr(6, r->daddr, d);
	return r;
}

static struct weir_flow_record *rec4(const char *s, const char *d)
{
	struct weir_flow_record *r = rec();

	set_addr(4, r->saddr, s);
	set_addr(4, r->daddr, d);
	return r;
}

/* ---- filters ---- */

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j;

	if (!text)
		return NULL;
	j = json_loads(text, 0, &jerr);
	if (!j)
		fail_msg("not JSON: %s: %s", text, jerr.text);
	return j;
}

static struct weir_filter_set *set_new(const char *allow, const char *deny)
{
	json_t *a = load(allow), *d = load(deny);
	struct weir_filter_set *fs = NULL;
	char err[256] = "";

	if (weir_filter_set_new(&fs, a, d, err, sizeof(err)))
		fail_msg("filter rejected: %s", err);
	json_decref(a);
	json_decref(d);
	return fs;
}

/* Does the record pass allow/deny (JSON texts, NULL for none)? Puts r.
 * A scan answers the same, at the endpoints' first sight and remembered.
 */
static bool passes(const char *allow, const char *deny, struct weir_flow_record *r)
{
	struct weir_filter_set *fs = set_new(allow, deny);
	bool m = weir_filter_set_match(fs, r);
	struct weir_filter_scan *scan;

	assert_int_equal(weir_filter_scan_new(&scan, fs), 0);
	assert_int_equal(weir_filter_scan_match(scan, r), m);
	assert_int_equal(weir_filter_scan_match(scan, r), m);
	weir_filter_scan_free(scan);
	weir_filter_set_free(fs);
	weir_flow_record_put(r);
	return m;
}

/* One allow filter with one field: {"<field>": <values>}. */
static bool one(const char *field, const char *values, struct weir_flow_record *r)
{
	char allow[512];

	snprintf(allow, sizeof(allow), "[{\"%s\": %s}]", field, values);
	return passes(allow, NULL, r);
}

static void assert_rejected(const char *allow, const char *deny, const char *error)
{
	json_t *a = load(allow), *d = load(deny);
	struct weir_filter_set *fs = (void *)1;
	char err[256] = "";

	assert_int_equal(weir_filter_set_new(&fs, a, d, err, sizeof(err)), -EINVAL);
	assert_null(fs);
	if (!strstr(err, error))
		fail_msg("error \"%s\" does not contain \"%s\"", err, error);
	json_decref(a);
	json_decref(d);
}

static void assert_field_rejected(const char *field, const char *values, const char *error)
{
	char allow[512];

	snprintf(allow, sizeof(allow), "[{\"%s\": %s}]", field, values);
	assert_rejected(allow, NULL, error);
}

/* ---- combining ---- */

static void no_filters_match_every_record(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	assert_true(passes(NULL, NULL, rec()));
	assert_true(passes("[]", "[]", rec()));
	assert_true(weir_filter_set_match(NULL, r));
	weir_flow_record_put(r);
}

static void empty_filter_object_matches_every_record(void **state)
{
	(void)state;
	assert_true(passes("[{}]", NULL, rec()));
	/* and as a deny filter it removes everything */
	assert_false(passes(NULL, "[{}]", rec()));
}

static void fields_within_a_filter_are_anded(void **state)
{
	(void)state;
	assert_true(
		passes("[{\"protocol\":[\"tcp\"],\"destination_port\":[\"8080\"]}]", NULL, rec()));
	assert_false(
		passes("[{\"protocol\":[\"tcp\"],\"destination_port\":[\"80\"]}]", NULL, rec()));
	assert_false(
		passes("[{\"protocol\":[\"udp\"],\"destination_port\":[\"8080\"]}]", NULL, rec()));
}

static void values_of_one_field_are_alternatives(void **state)
{
	(void)state;
	assert_true(one("destination_port", "[\"80\", \"8080\"]", rec()));
	assert_true(one("protocol", "[\"udp\", \"tcp\"]", rec()));
	assert_false(one("protocol", "[\"udp\", \"sctp\"]", rec()));
}

static void several_allow_filters_are_ored(void **state)
{
	(void)state;
	/* Hubble's --pod: (source side) OR (destination side) */
	assert_true(passes("[{\"source_pod\":[\"shop/cart\"]},"
			   "{\"destination_pod\":[\"shop/cart\"]}]",
			   NULL, rec()));
	assert_false(passes("[{\"source_pod\":[\"shop/cart\"]},"
			    "{\"destination_pod\":[\"shop/frontend\"]}]",
			    NULL, rec()));
}

static void deny_list_removes_what_it_matches(void **state)
{
	(void)state;
	/* --not --protocol tcp */
	assert_false(passes(NULL, "[{\"protocol\":[\"tcp\"]}]", rec()));
	assert_true(passes(NULL, "[{\"protocol\":[\"udp\"]}]", rec()));
	/* allowed, then denied */
	assert_false(passes("[{\"source_pod\":[\"shop/\"]}]", "[{\"destination_port\":[\"8080\"]}]",
			    rec()));
}

static void deny_filter_removes_only_records_matching_all_its_fields(void **state)
{
	(void)state;
	/* --not --protocol tcp --not --to-port 80: one deny filter, fields ANDed */
	assert_true(
		passes(NULL, "[{\"protocol\":[\"tcp\"],\"destination_port\":[\"80\"]}]", rec()));
	assert_false(
		passes(NULL, "[{\"protocol\":[\"tcp\"],\"destination_port\":[\"8080\"]}]", rec()));
	/* several deny filters: any one removes */
	assert_false(
		passes(NULL, "[{\"protocol\":[\"udp\"]},{\"verdict\":[\"FORWARDED\"]}]", rec()));
}

static void empty_or_null_field_leaves_the_filter_unset(void **state)
{
	(void)state;
	assert_true(passes("[{\"source_ip\":[],\"protocol\":null}]", NULL, rec()));
}

/* ---- IP addresses ---- */

static void source_ip_matches_an_exact_address(void **state)
{
	(void)state;
	assert_true(one("source_ip", "[\"10.1.2.3\"]", rec()));
	assert_false(one("source_ip", "[\"10.1.2.4\"]", rec()));
	assert_false(one("source_ip", "[\"10.1.5.6\"]", rec()));
	assert_true(one("destination_ip", "[\"10.1.5.6\"]", rec()));
}

static void ipv4_cidr_includes_both_ends_and_nothing_outside(void **state)
{
	const char *f = "[\"10.1.2.0/23\"]";

	(void)state;
	assert_true(one("source_ip", f, rec4("10.1.2.0", "1.1.1.1")));
	assert_true(one("source_ip", f, rec4("10.1.3.255", "1.1.1.1")));
	assert_false(one("source_ip", f, rec4("10.1.1.255", "1.1.1.1")));
	assert_false(one("source_ip", f, rec4("10.1.4.0", "1.1.1.1")));
	/* host bits in the filter are cleared, as Go's ParseCIDR does */
	assert_true(one("source_ip", "[\"10.1.3.7/23\"]", rec4("10.1.2.0", "1.1.1.1")));
	assert_true(one("destination_ip", "[\"0.0.0.0/0\"]", rec4("1.1.1.1", "255.255.255.255")));
	assert_true(one("source_ip", "[\"10.1.2.3/32\"]", rec4("10.1.2.3", "1.1.1.1")));
	assert_false(one("source_ip", "[\"10.1.2.3/32\"]", rec4("10.1.2.2", "1.1.1.1")));
	assert_true(one("source_ip", "[\"128.0.0.0/1\"]", rec4("255.0.0.1", "1.1.1.1")));
	assert_false(one("source_ip", "[\"128.0.0.0/1\"]", rec4("127.255.255.255", "1.1.1.1")));
}

static void ipv6_cidr_includes_both_ends_and_nothing_outside(void **state)
{
	const char *f = "[\"fd00:0:0:1::/64\"]";

	(void)state;
	assert_true(one("destination_ip", f, rec6("::1", "fd00:0:0:1::")));
	assert_true(one("destination_ip", f, rec6("::1", "fd00:0:0:1:ffff:ffff:ffff:ffff")));
	assert_false(one("destination_ip", f, rec6("::1", "fd00:0:0:2::")));
	assert_false(one("destination_ip", f, rec6("::1", "fd00::ffff:ffff:ffff:ffff")));
	/* a prefix that ends inside a byte */
	assert_true(one("source_ip", "[\"fd00::/63\"]", rec6("fd00:0:0:1::5", "::1")));
	assert_false(one("source_ip", "[\"fd00::/63\"]", rec6("fd00:0:0:2::", "::1")));
	assert_true(one("source_ip", "[\"fd00::1/128\"]", rec6("fd00::1", "::1")));
	assert_false(one("source_ip", "[\"fd00::1/128\"]", rec6("fd00::2", "::1")));
	assert_true(one("source_ip", "[\"::/0\"]", rec6("2001:db8::1", "::1")));
}

static void address_families_never_match_each_other(void **state)
{
	(void)state;
	assert_false(one("source_ip", "[\"::/0\"]", rec4("10.0.0.1", "10.0.0.2")));
	assert_false(one("source_ip", "[\"0.0.0.0/0\"]", rec6("::ffff:10.0.0.1", "::1")));
}

static void record_without_addresses_never_matches_ip_filters(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	r->family = 0;
	assert_false(one("source_ip", "[\"0.0.0.0/0\"]", r));
}

static void invalid_addresses_are_rejected_naming_the_key(void **state)
{
	(void)state;
	assert_field_rejected(
		"source_ip", "[\"10.0.0.1\", \"10.0.0.256\"]",
		"allowlist[0].source_ip[1]: invalid IP address or CIDR \"10.0.0.256\"");
	assert_field_rejected("source_ip", "[\"10.0.0.0/33\"]",
			      "source_ip[0]: invalid CIDR prefix");
	assert_field_rejected("destination_ip", "[\"fd00::/129\"]",
			      "destination_ip[0]: invalid CIDR prefix");
	assert_field_rejected("destination_ip", "[\"10.0.0.0/\"]",
			      "destination_ip[0]: invalid CIDR prefix");
	assert_field_rejected("source_ip", "[\"10.0.0.0/+8\"]", "invalid CIDR prefix");
	assert_field_rejected("source_ip", "[\"web\"]", "invalid IP address or CIDR \"web\"");
	assert_field_rejected("source_ip", "[7]", "source_ip[0]: expected a string");
	assert_field_rejected("source_ip", "\"10.0.0.1\"", "source_ip: expected an array");
	assert_rejected(NULL, "[{\"source_ip\":[\"x\"]}]", "denylist[0].source_ip[0]");
}

/* ---- pods ---- */

static void pod_filter_matches_namespace_and_name_prefix(void **state)
{
	(void)state;
	assert_true(one("source_pod", "[\"shop/front\"]", rec()));
	assert_true(one("source_pod", "[\"shop/frontend-1\"]", rec()));
	assert_false(one("source_pod", "[\"shop/frontend-10\"]", rec()));
	assert_false(one("source_pod", "[\"shop/cart\"]", rec()));
	assert_false(one("source_pod", "[\"other/front\"]", rec()));
	/* the namespace is not a prefix */
	assert_false(one("source_pod", "[\"sho/front\"]", rec()));
	assert_true(one("destination_pod", "[\"shop/cart\"]", rec()));
}

static void pod_filter_ending_in_slash_matches_the_whole_namespace(void **state)
{
	(void)state;
	assert_true(one("source_pod", "[\"shop/\"]", rec()));
	assert_false(one("source_pod", "[\"default/\"]", rec()));
}

static void pod_filter_without_namespace_means_the_default_namespace(void **state)
{
	static const char *const none[] = { NULL };
	struct weir_flow_record *r = rec();

	(void)state;
	assert_false(one("source_pod", "[\"frontend\"]", rec()));
	weir_endpoint_put(r->src);
	r->src = pod("default", "frontend-1", none);
	assert_true(one("source_pod", "[\"frontend\"]", r));
}

static void pod_filter_never_matches_world_or_host(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	weir_endpoint_put(r->src);
	r->src = weir_endpoint_world();
	assert_false(one("source_pod", "[\"default/\"]", r));
	r = rec();
	weir_endpoint_put(r->dst);
	r->dst = weir_endpoint_new(WEIR_IDENTITY_HOST);
	assert_false(one("destination_pod", "[\"default/\"]", r));
}

/* cilium/cilium#28921: "/prefix" is a pod in any namespace, "/" any pod
 * (what hubble observe --all-namespaces sends).
 */
static void pod_filter_with_empty_namespace_matches_any_namespace(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	assert_true(one("source_pod", "[\"/front\"]", rec()));
	assert_true(one("source_pod", "[\"/\"]", rec()));
	assert_true(one("destination_pod", "[\"/cart-1\"]", rec()));
	assert_false(one("source_pod", "[\"/cart\"]", rec()));
	weir_endpoint_put(r->src);
	r->src = weir_endpoint_world();
	assert_false(one("source_pod", "[\"/\"]", r));
}

static void malformed_pod_filters_are_rejected(void **state)
{
	(void)state;
	assert_field_rejected("source_pod", "[\"\"]", "source_pod[0]: empty pod filter");
	assert_field_rejected(
		"destination_pod", "[\"a/b/c\"]",
		"destination_pod[0]: \"a/b/c\": expected [namespace/][pod-name-prefix]");
}

/* ---- labels ---- */

static void label_equality_selects_by_value(void **state)
{
	(void)state;
	assert_true(one("source_label", "[\"app=frontend\"]", rec()));
	assert_true(one("source_label", "[\"app==frontend\"]", rec()));
	assert_false(one("source_label", "[\"app=cart\"]", rec()));
	assert_true(one("destination_label", "[\"app=cart\"]", rec()));
}

static void label_inequality_matches_other_values_and_absent_keys(void **state)
{
	(void)state;
	assert_true(one("source_label", "[\"app!=cart\"]", rec()));
	assert_false(one("source_label", "[\"app!=frontend\"]", rec()));
	assert_true(one("source_label", "[\"team!=payments\"]", rec()));
	/* the destination has app=cart and (another source) app=legacy */
	assert_false(one("destination_label", "[\"app!=legacy\"]", rec()));
}

static void label_existence_and_absence(void **state)
{
	(void)state;
	assert_true(one("source_label", "[\"tier\"]", rec()));
	assert_false(one("source_label", "[\"team\"]", rec()));
	assert_true(one("source_label", "[\"!team\"]", rec()));
	assert_false(one("source_label", "[\"!tier\"]", rec()));
}

static void label_set_membership(void **state)
{
	(void)state;
	assert_true(one("source_label", "[\"app in (cart, frontend)\"]", rec()));
	assert_false(one("source_label", "[\"app in (cart,db)\"]", rec()));
	assert_true(one("source_label", "[\"app notin (cart,db)\"]", rec()));
	assert_false(one("source_label", "[\"app notin (frontend)\"]", rec()));
	assert_true(one("source_label", "[\"team notin (x)\"]", rec()));
	assert_false(one("source_label", "[\"team in (x)\"]", rec()));
}

static void label_requirements_separated_by_commas_are_anded(void **state)
{
	(void)state;
	assert_true(one("source_label", "[\"app=frontend,tier=web\"]", rec()));
	assert_false(one("source_label", "[\"app=frontend,tier=db\"]", rec()));
	assert_true(one("source_label", "[\"app in (a,frontend), !team, tier\"]", rec()));
}

static void label_selectors_of_one_field_are_alternatives(void **state)
{
	(void)state;
	assert_true(one("source_label", "[\"app=cart\", \"tier=web\"]", rec()));
	assert_false(one("source_label", "[\"app=cart\", \"tier=db\"]", rec()));
}

static void label_key_without_source_matches_any_source(void **state)
{
	(void)state;
	/* k8s:app=cart and container:app=legacy */
	assert_true(one("destination_label", "[\"app=legacy\"]", rec()));
	assert_true(one("destination_label", "[\"any:app=legacy\"]", rec()));
	assert_true(one("destination_label", "[\"container:app=legacy\"]", rec()));
	assert_false(one("destination_label", "[\"k8s:app=legacy\"]", rec()));
	assert_true(one("destination_label", "[\"k8s:app=cart\"]", rec()));
	assert_false(one("destination_label", "[\"k8s:app in (legacy)\"]", rec()));
	assert_true(one("destination_label", "[\"k8s:app\"]", rec()));
	assert_false(one("destination_label", "[\"reserved:app\"]", rec()));
}

static void label_without_source_is_not_selected_by_a_sourced_key(void **state)
{
	static const char *const plain[] = { "app=web", NULL };
	struct weir_flow_record *r = rec();

	(void)state;
	weir_endpoint_put(r->src);
	r->src = pod("shop", "web-1", plain);
	assert_true(one("source_label", "[\"app=web\"]", weir_flow_record_get(r)));
	assert_false(one("source_label", "[\"k8s:app=web\"]", r));
}

static void reserved_labels_select_world_and_host(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	weir_endpoint_put(r->src);
	weir_endpoint_put(r->dst);
	r->src = weir_endpoint_world();
	r->dst = weir_endpoint_new(WEIR_IDENTITY_HOST);
	assert_true(one("source_label", "[\"reserved:world\"]", weir_flow_record_get(r)));
	assert_true(one("destination_label", "[\"reserved:host\"]", weir_flow_record_get(r)));
	assert_false(one("source_label", "[\"reserved:host\"]", weir_flow_record_get(r)));
	assert_false(one("destination_label", "[\"!reserved:host\"]", weir_flow_record_get(r)));
	assert_false(one("source_label", "[\"reserved:world\"]", rec()));
	weir_flow_record_put(r);
}

static void malformed_label_selectors_are_rejected(void **state)
{
	static const struct {
		const char *sel;
		const char *error;
	} bad[] = {
		{ "[\"\"]", "source_label[0]: label selector \"\": empty label selector" },
		{ "[\"app in (a\"]", "expected ',' or ')'" },
		{ "[\"app in ()\"]", "expected a value in the set" },
		{ "[\"app in a\"]", "expected '(' after in" },
		{ "[\"=x\"]", "expected a label key" },
		{ "[\"app >= 3\"]", "operators < and > are not supported" },
		{ "[\"app=a b\"]", "expected ',' or the end" },
		{ "[\"app,\"]", "expected a label key" },
		{ "[\"app ~ x\"]", "expected =, ==, !=, in or notin" },
		{ "[\"k8s:=x\"]", "empty source or key" },
		{ "[\"!\"]", "expected a label key after '!'" },
		{ "[3]", "source_label[0]: expected a string" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_field_rejected("source_label", bad[i].sel, bad[i].error);
}

static void label_selector_with_empty_value_selects_empty_values(void **state)
{
	static const char *const labels[] = { "k8s:flag=", "k8s:app=x", NULL };
	struct weir_label_selector *sel;
	struct weir_endpoint *ep = pod("a", "b", labels);
	char err[64];

	(void)state;
	assert_int_equal(weir_label_selector_parse("flag=", &sel, err, sizeof(err)), 0);
	assert_true(weir_label_selector_match(sel, (const char *const *)ep->labels, ep->n_labels,
					      NULL));
	weir_label_selector_free(sel);
	assert_int_equal(weir_label_selector_parse("app=", &sel, err, sizeof(err)), 0);
	assert_false(weir_label_selector_match(sel, (const char *const *)ep->labels, ep->n_labels,
					       NULL));
	weir_label_selector_free(sel);
	weir_endpoint_put(ep);
}

/* ---- ports and protocols ---- */

static void ports_match_tcp_udp_and_sctp(void **state)
{
	struct weir_flow_record *r;

	(void)state;
	assert_true(one("source_port", "[\"40000\"]", rec()));
	assert_false(one("source_port", "[\"8080\"]", rec()));
	assert_true(one("destination_port", "[\"8080\"]", rec()));
	/* numbers are taken as well as Hubble's strings */
	assert_true(one("destination_port", "[8080]", rec()));
	r = rec();
	r->proto = IPPROTO_UDP;
	assert_true(one("destination_port", "[\"8080\"]", r));
	r = rec();
	r->proto = IPPROTO_SCTP;
	assert_true(one("destination_port", "[\"8080\"]", r));
}

static void ports_never_match_icmp_or_l3_only_flows(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	r->proto = IPPROTO_ICMP;
	r->sport = 0;
	r->dport = 0;
	assert_false(one("destination_port", "[\"0\"]", r));
	r = rec();
	r->l3_only = true;
	r->sport = 0;
	r->dport = 0;
	assert_false(one("destination_port", "[\"0\"]", r));
}

static void invalid_ports_are_rejected(void **state)
{
	(void)state;
	assert_field_rejected("source_port", "[\"http\"]", "source_port[0]: invalid port \"http\"");
	assert_field_rejected("destination_port", "[\"80\", \"65536\"]",
			      "destination_port[1]: invalid port \"65536\"");
	assert_field_rejected("destination_port", "[\"-1\"]", "invalid port \"-1\"");
	assert_field_rejected("destination_port", "[\"\"]", "invalid port \"\"");
	assert_field_rejected("destination_port", "[\"80 \"]", "invalid port \"80 \"");
	assert_field_rejected("destination_port", "[70000]", "invalid port 70000");
	assert_field_rejected("destination_port", "[1.5]", "expected a port number");
}

static void protocol_names_are_case_insensitive(void **state)
{
	(void)state;
	assert_true(one("protocol", "[\"TCP\"]", rec()));
	assert_true(one("protocol", "[\"Tcp\"]", rec()));
	assert_false(one("protocol", "[\"UDP\"]", rec()));
}

static void icmp_protocol_matches_both_families(void **state)
{
	struct weir_flow_record *r4 = rec(), *r6 = rec6("fd00::1", "fd00::2");

	(void)state;
	r4->proto = IPPROTO_ICMP;
	r6->proto = IPPROTO_ICMPV6;
	assert_true(one("protocol", "[\"icmp\"]", weir_flow_record_get(r4)));
	assert_true(one("protocol", "[\"icmp\"]", weir_flow_record_get(r6)));
	assert_true(one("protocol", "[\"icmpv4\"]", weir_flow_record_get(r4)));
	assert_false(one("protocol", "[\"icmpv4\"]", weir_flow_record_get(r6)));
	assert_true(one("protocol", "[\"ICMPv6\"]", r6));
	assert_false(one("protocol", "[\"icmpv6\"]", r4));
}

static void l7_protocols_are_accepted_but_match_no_l4_flow(void **state)
{
	(void)state;
	assert_false(one("protocol", "[\"http\", \"dns\", \"kafka\"]", rec()));
	assert_field_rejected("protocol", "[\"tcp\", \"gopher\"]",
			      "protocol[1]: unknown protocol \"gopher\"");
}

static void tcp_flags_entry_matches_when_all_its_flags_are_set(void **state)
{
	(void)state;
	assert_true(one("tcp_flags", "[{\"SYN\":true}]", rec()));
	assert_true(one("tcp_flags", "[{\"SYN\":true,\"ACK\":true}]", rec()));
	assert_false(one("tcp_flags", "[{\"SYN\":true,\"FIN\":true}]", rec()));
	/* entries are alternatives */
	assert_true(one("tcp_flags", "[{\"FIN\":true},{\"ACK\":true}]", rec()));
	assert_false(one("tcp_flags", "[{\"FIN\":true},{\"RST\":true}]", rec()));
	/* a false flag asks for nothing */
	assert_true(one("tcp_flags", "[{\"SYN\":true,\"FIN\":false}]", rec()));
	assert_true(one("tcp_flags", "[{\"ns\":false,\"ack\":true}]", rec()));
}

static void tcp_flags_never_match_other_protocols(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	r->proto = IPPROTO_UDP;
	assert_false(one("tcp_flags", "[{}]", r));
	assert_true(one("tcp_flags", "[{}]", rec()));
}

static void malformed_tcp_flags_are_rejected(void **state)
{
	(void)state;
	assert_field_rejected("tcp_flags", "[{\"SYNACK\":true}]",
			      "tcp_flags[0]: unknown TCP flag \"SYNACK\"");
	assert_field_rejected("tcp_flags", "[{\"SYN\":1}]", "tcp_flags[0]: SYN: expected true");
	assert_field_rejected("tcp_flags", "[\"SYN\"]", "tcp_flags[0]: expected an object");
}

/* ---- verdicts, reasons, directions ---- */

static void verdict_matches_by_name_or_number(void **state)
{
	(void)state;
	assert_true(one("verdict", "[\"FORWARDED\"]", rec()));
	assert_true(one("verdict", "[1]", rec()));
	assert_false(one("verdict", "[\"DROPPED\", \"AUDIT\"]", rec()));
	assert_field_rejected("verdict", "[\"FORWARDED\", \"LOST\"]",
			      "verdict[1]: unknown verdict \"LOST\"");
	assert_field_rejected("verdict", "[true]", "verdict[0]: expected a string");
}

static void drop_reason_matches_only_dropped_records(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	r->verdict = WEIR_VERDICT_DROPPED;
	r->reason = WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER;
	assert_true(one("drop_reason_desc", "[\"CT_TRUNCATED_OR_INVALID_HEADER\"]",
			weir_flow_record_get(r)));
	assert_false(one("drop_reason_desc", "[\"POLICY_DENIED\"]", weir_flow_record_get(r)));
	assert_true(one("drop_reason_desc", "[\"POLICY_DENIED\", 135]", weir_flow_record_get(r)));
	r->verdict = WEIR_VERDICT_FORWARDED;
	assert_false(one("drop_reason_desc", "[\"CT_TRUNCATED_OR_INVALID_HEADER\"]", r));
	assert_field_rejected("drop_reason_desc", "[\"FORWARDED\"]",
			      "drop_reason_desc[0]: unknown drop reason \"FORWARDED\"");
}

static void traffic_direction_matches_by_name(void **state)
{
	(void)state;
	assert_true(one("traffic_direction", "[\"INGRESS\"]", rec()));
	assert_false(one("traffic_direction", "[\"EGRESS\"]", rec()));
	assert_true(one("traffic_direction", "[\"egress\", \"ingress\"]", rec()));
	assert_field_rejected("traffic_direction", "[\"UP\"]", "unknown traffic direction \"UP\"");
}

static void ip_version_matches_the_record_family(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	assert_true(one("ip_version", "[\"IPv4\"]", rec()));
	assert_false(one("ip_version", "[\"IPv6\"]", rec()));
	assert_true(one("ip_version", "[\"IPv6\"]", rec6("fd00::1", "fd00::2")));
	assert_true(one("ip_version", "[2]", rec6("fd00::1", "fd00::2")));
	r->family = 0;
	assert_true(one("ip_version", "[\"IP_NOT_USED\"]", r));
	assert_field_rejected("ip_version", "[\"v4\"]", "ip_version[0]: unknown IP version \"v4\"");
}

static void interface_matches_name_index_or_both(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	assert_true(one("interface", "[{\"name\":\"veth0\"}]", rec()));
	assert_true(one("interface", "[{\"index\":7}]", rec()));
	assert_true(one("interface", "[{\"index\":7,\"name\":\"veth0\"}]", rec()));
	assert_false(one("interface", "[{\"index\":8,\"name\":\"veth0\"}]", rec()));
	assert_true(one("interface", "[{\"name\":\"eth0\"},{\"name\":\"veth0\"}]", rec()));
	r->ifindex = 0;
	r->ifname[0] = '\0';
	assert_false(one("interface", "[{}]", r));
	assert_field_rejected("interface", "[{\"ifname\":\"x\"}]",
			      "interface[0]: unknown field \"ifname\"");
	assert_field_rejected("interface", "[{\"index\":-1}]", "interface[0]: index");
	assert_field_rejected("interface", "[{\"name\":\"much-too-long-name\"}]",
			      "interface[0]: name: longer than 15 characters");
}

static void reply_filter_follows_hubble_for_unknown_replies(void **state)
{
	struct weir_flow_record *r;

	(void)state;
	assert_true(one("reply", "[false]", rec()));
	assert_false(one("reply", "[true]", rec()));
	r = rec();
	r->is_reply = WEIR_REPLY_YES;
	assert_true(one("reply", "[true]", r));
	/* unknown: never matches a forwarded flow, counts as false for a drop */
	r = rec();
	r->is_reply = WEIR_REPLY_UNKNOWN;
	assert_false(one("reply", "[true, false]", r));
	r = rec();
	r->is_reply = WEIR_REPLY_UNKNOWN;
	r->verdict = WEIR_VERDICT_DROPPED;
	assert_true(one("reply", "[false]", r));
	assert_field_rejected("reply", "[\"yes\"]", "reply[0]: expected true or false");
}

/* ---- node names ---- */

static void node_name_matches_globs(void **state)
{
	(void)state;
	assert_true(one("node_name", "[\"kind-worker\"]", rec()));
	assert_false(one("node_name", "[\"kind-worker2\"]", rec()));
	assert_true(one("node_name", "[\"kind-*\"]", rec()));
	assert_true(one("node_name", "[\"*worker\"]", rec()));
	assert_true(one("node_name", "[\"kind-work?r\"]", rec()));
	assert_false(one("node_name", "[\"control-*\"]", rec()));
	assert_true(one("node_name", "[\"KIND-WORKER\"]", rec()));
}

static void node_name_pattern_may_name_the_cluster(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	/* a bare node name is in cluster "default" */
	assert_true(one("node_name", "[\"default/kind-worker\"]", rec()));
	assert_false(one("node_name", "[\"east/kind-worker\"]", rec()));
	assert_true(one("node_name", "[\"default/\"]", rec()));
	free(r->node_name);
	r->node_name = strdup("east/kind-worker");
	assert_true(one("node_name", "[\"east/*\"]", weir_flow_record_get(r)));
	assert_true(one("node_name", "[\"kind-*\"]", weir_flow_record_get(r)));
	assert_true(one("node_name", "[\"e*/kind-w*r\"]", weir_flow_record_get(r)));
	assert_false(one("node_name", "[\"default/*\"]", r));
}

static void node_name_filter_never_matches_a_record_without_node(void **state)
{
	struct weir_flow_record *r = rec();

	(void)state;
	free(r->node_name);
	r->node_name = NULL;
	assert_false(one("node_name", "[\"*\"]", r));
}

static void malformed_node_patterns_are_rejected(void **state)
{
	(void)state;
	assert_field_rejected("node_name", "[\"\"]", "node_name[0]: empty node name pattern");
	assert_field_rejected("node_name", "[\"a/b/c\"]",
			      "node_name[0]: \"a/b/c\": too many slashes");
}

/* ---- filter documents ---- */

/* ---- services, workloads, identities ---- */

static struct weir_flow_record *rec_svc(const char *svc)
{
	struct weir_flow_record *r = rec();

	r->dst_service = svc ? strdup(svc) : NULL;
	return r;
}

static void destination_service_matches_a_name_prefix(void **state)
{
	(void)state;
	assert_true(one("destination_service", "[\"web\"]", rec_svc("web")));
	assert_true(one("destination_service", "[\"we\"]", rec_svc("web-admin")));
	assert_true(one("destination_service", "[\"db\", \"/web\"]", rec_svc("web")));
	assert_false(one("destination_service", "[\"db\"]", rec_svc("web")));
	assert_false(one("destination_service", "[\"web\"]", rec_svc(NULL)));
	assert_false(one("destinationService", "[\"web-admin\"]", rec_svc("web")));
}

static void service_with_a_namespace_matches_no_weir_service(void **state)
{
	(void)state;
	/* Weir's services have no namespace: Hubble's compare fails */
	assert_false(one("destination_service", "[\"shop/web\"]", rec_svc("web")));
	assert_true(one("destination_service", "[\"shop/web\", \"web\"]", rec_svc("web")));
	/* and no record knows its source's service */
	assert_false(one("source_service", "[\"web\"]", rec_svc("web")));
	assert_true(passes(NULL, "[{\"destination_service\": [\"web\"]}]", rec_svc("db")));
	assert_false(passes(NULL, "[{\"destination_service\": [\"web\"]}]", rec_svc("web")));
}

static void malformed_service_filters_are_rejected(void **state)
{
	(void)state;
	assert_field_rejected("destination_service", "[\"\"]",
			      "destination_service[0]: \"\": expected [namespace/]");
	assert_field_rejected("source_service", "[\"a/b/c\"]", "expected [namespace/]");
	assert_field_rejected("source_service", "[\"/\"]", "expected [namespace/]");
	assert_field_rejected("source_service", "[3]", "expected a string");
}

static struct weir_flow_record *rec_wl(const char *kind, const char *name)
{
	struct weir_flow_record *r = rec();

	r->dst->workload_kind = kind ? strdup(kind) : NULL;
	r->dst->workload_name = name ? strdup(name) : NULL;
	return r;
}

static void workload_matches_kind_and_name_each_when_set(void **state)
{
	(void)state;
	assert_true(one("destination_workload", "[{\"kind\": \"Deployment\", \"name\": \"cart\"}]",
			rec_wl("Deployment", "cart")));
	assert_true(one("destination_workload", "[{\"name\": \"cart\"}]",
			rec_wl("Deployment", "cart")));
	assert_true(one("destination_workload", "[{\"kind\": \"Deployment\"}]",
			rec_wl("Deployment", "cart")));
	assert_true(one("destination_workload", "[{\"name\": \"db\"}, {\"name\": \"cart\"}]",
			rec_wl("Deployment", "cart")));
	/* names are whole, not prefixes */
	assert_false(
		one("destination_workload", "[{\"name\": \"car\"}]", rec_wl("Deployment", "cart")));
	assert_false(one("destination_workload",
			 "[{\"kind\": \"StatefulSet\", \"name\": \"cart\"}]",
			 rec_wl("Deployment", "cart")));
	assert_false(
		one("destination_workload", "[{\"kind\": \"Deployment\"}]", rec_wl(NULL, "cart")));
	/* an endpoint without a workload matches no workload filter, not even {} */
	assert_false(one("destination_workload", "[{}]", rec_wl(NULL, NULL)));
	assert_false(
		one("source_workload", "[{\"name\": \"cart\"}]", rec_wl("Deployment", "cart")));
}

static void malformed_workload_filters_are_rejected(void **state)
{
	(void)state;
	assert_field_rejected("source_workload", "[\"cart\"]", "expected an object");
	assert_field_rejected("source_workload", "[{\"namespace\": \"x\"}]",
			      "unknown field \"namespace\" (kind, name)");
	assert_field_rejected("destination_workload", "[{\"name\": 1}]", "name: expected a string");
}

static void identity_matches_reserved_host_and_world(void **state)
{
	struct weir_flow_record *r;

	(void)state;
	r = rec();
	weir_endpoint_put(r->src);
	r->src = weir_endpoint_get(weir_endpoint_world());
	assert_true(one("source_identity", "[2]", r));
	r = rec();
	weir_endpoint_put(r->dst);
	r->dst = weir_endpoint_new(WEIR_IDENTITY_HOST);
	assert_true(one("destination_identity", "[\"1\"]", r));
	assert_false(one("source_identity", "[1, 2]", rec()));
	/* a pod has no numeric identity in Weir: 0, as Hubble reads it */
	assert_true(one("source_identity", "[0]", rec()));
	assert_field_rejected("source_identity", "[-1]", "invalid identity -1");
	assert_field_rejected("source_identity", "[\"x1\"]", "invalid identity \"x1\"");
	assert_field_rejected("source_identity", "[4294967296]", "invalid identity");
}

static void unknown_filter_field_is_rejected(void **state)
{
	(void)state;
	assert_rejected("[{\"protocol\":[\"tcp\"]},{\"source_ips\":[\"10.0.0.1\"]}]", NULL,
			"allowlist[1]: unknown filter field \"source_ips\"");
}

static void hubble_field_weir_lacks_is_rejected_as_unsupported(void **state)
{
	(void)state;
	assert_rejected(NULL, "[{\"http_method\":[\"GET\"]}]",
			"denylist[0].http_method: Hubble's filter field is not supported by Weir");
}

static void fields_are_taken_by_proto_or_json_name(void **state)
{
	(void)state;
	/* protojson reads both spellings */
	assert_true(passes("[{\"sourceIp\":[\"10.1.2.3\"],\"destinationPort\":[\"8080\"],"
			   "\"tcpFlags\":[{\"SYN\":true}],\"ipVersion\":[\"IPv4\"]}]",
			   NULL, rec()));
	assert_false(passes("[{\"trafficDirection\":[\"EGRESS\"]}]", NULL, rec()));
	assert_rejected("[{\"source_ip\":[\"10.0.0.1\"],\"sourceIp\":[\"10.0.0.2\"]}]", NULL,
			"allowlist[0].source_ip: given twice");
	assert_rejected("[{\"httpMethod\":[\"GET\"]}]", NULL,
			"allowlist[0].httpMethod: Hubble's filter field is not supported by Weir");
}

static void filter_documents_of_the_wrong_shape_are_rejected(void **state)
{
	(void)state;
	assert_rejected("{\"protocol\":[\"tcp\"]}", NULL,
			"allowlist: expected an array of FlowFilter objects");
	assert_rejected("[[]]", NULL, "allowlist[0]: expected a FlowFilter object");
}

/* ---- requests ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void request_collects_hubble_get_flows_fields(void **state)
{
	struct weir_flow_request req = { 0 };
	struct weir_flow_record *r;
	char err[256] = "";
	uint64_t before = now_ns();

	(void)state;
	assert_int_equal(weir_flow_request_set(&req, "number", "20", err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_set(&req, "follow", NULL, err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_set(&req, "first", "false", err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_set(&req, "since", "5m", err, sizeof(err)), 0);
	assert_int_equal(
		weir_flow_request_set(&req, "until", "2026-08-05T10:12:18Z", err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_set(&req, "allowlist", "[{\"protocol\":[\"tcp\"]}]", err,
					       sizeof(err)),
			 0);
	assert_int_equal(weir_flow_request_set(&req, "denylist", "{\"verdict\":[\"DROPPED\"]}", err,
					       sizeof(err)),
			 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	assert_int_equal(req.number, 20);
	assert_true(req.follow);
	assert_false(req.first);
	assert_true(req.since_ns >= before - 300 * NS && req.since_ns <= now_ns() - 300 * NS);
	assert_int_equal(req.until_ns, T_101218);
	assert_non_null(req.filters);
	assert_null(req.allow);
	assert_null(req.deny);
	r = rec();
	assert_true(weir_filter_set_match(req.filters, r));
	r->verdict = WEIR_VERDICT_DROPPED;
	assert_false(weir_filter_set_match(req.filters, r));
	weir_flow_record_put(r);
	weir_flow_request_release(&req);
	assert_null(req.filters);
}

static void request_filters_combine_repeated_lists_and_old_names(void **state)
{
	struct weir_flow_request req = { 0 };
	struct weir_flow_record *r = rec();
	char err[256] = "";

	(void)state;
	assert_int_equal(weir_flow_request_set(&req, "whitelist", "[{\"protocol\":[\"udp\"]}]", err,
					       sizeof(err)),
			 0);
	assert_int_equal(weir_flow_request_set(&req, "allowlist", "[{\"protocol\":[\"tcp\"]}]", err,
					       sizeof(err)),
			 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	assert_true(weir_filter_set_match(req.filters, r));
	/* finishing again keeps the filters */
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	r->proto = IPPROTO_SCTP;
	assert_false(weir_filter_set_match(req.filters, r));
	r->proto = IPPROTO_TCP;
	weir_flow_request_release(&req);

	assert_int_equal(weir_flow_request_set(&req, "blacklist",
					       "[{\"destination_port\":[\"8080\"]}]", err,
					       sizeof(err)),
			 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	assert_false(weir_filter_set_match(req.filters, r));
	weir_flow_request_release(&req);
	weir_flow_record_put(r);
}

static void request_without_filters_matches_everything(void **state)
{
	struct weir_flow_request req = { 0 };
	struct weir_flow_record *r = rec();
	char err[64];

	(void)state;
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	assert_non_null(req.filters);
	assert_true(weir_filter_set_match(req.filters, r));
	assert_int_equal(req.number, 0);
	assert_int_equal(req.since_ns, 0);
	weir_flow_request_release(&req);
	weir_flow_record_put(r);
}

static void request_errors_name_the_key(void **state)
{
	static const struct {
		const char *key, *value, *error;
	} bad[] = {
		{ "number", "ten", "number: expected a count, got \"ten\"" },
		{ "number", "-1", "number: expected a count" },
		{ "number", "", "number: expected a count" },
		{ "follow", "maybe", "follow: expected true or false, got \"maybe\"" },
		{ "first", "2", "first: expected true or false" },
		{ "since", "yesterday", "since: expected an RFC 3339 time or an age" },
		{ "until", "2026-08-05", "until: expected an RFC 3339 time" },
		{ "allowlist", "[{\"protocol\":", "allowlist: invalid JSON" },
		{ "denylist", "\"tcp\"", "denylist: expected a JSON array of FlowFilter objects" },
		{ "limit", "5", "limit: unknown parameter" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct weir_flow_request req = { 0 };
		char err[256] = "";

		assert_int_equal(
			weir_flow_request_set(&req, bad[i].key, bad[i].value, err, sizeof(err)),
			-EINVAL);
		if (!strstr(err, bad[i].error))
			fail_msg("error \"%s\" does not contain \"%s\"", err, bad[i].error);
		weir_flow_request_release(&req);
	}
}

static void request_filter_errors_name_the_list_and_field(void **state)
{
	struct weir_flow_request req = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(weir_flow_request_set(&req, "denylist", "[{\"source_port\":[\"x\"]}]", err,
					       sizeof(err)),
			 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "denylist[0].source_port[0]: invalid port \"x\"");
	assert_null(req.filters);
	weir_flow_request_release(&req);
}

static void request_rejects_first_with_follow(void **state)
{
	struct weir_flow_request req = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(weir_flow_request_set(&req, "first", "1", err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_set(&req, "follow", "true", err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "first: cannot be specified with follow");
	weir_flow_request_release(&req);
}

/* ---- times ---- */

static void time_parse_reads_rfc3339_with_fraction_and_offset(void **state)
{
	uint64_t ns = 0;

	(void)state;
	assert_int_equal(weir_time_parse("2026-08-05T10:12:18Z", 0, &ns), 0);
	assert_int_equal(ns, T_101218);
	assert_int_equal(weir_time_parse("2026-08-05T10:12:18.5Z", 0, &ns), 0);
	assert_int_equal(ns, T_101218 + 500000000);
	assert_int_equal(weir_time_parse("2026-08-05T10:12:18.000000001Z", 0, &ns), 0);
	assert_int_equal(ns, T_101218 + 1);
	assert_int_equal(weir_time_parse("2026-08-05T12:12:18+02:00", 0, &ns), 0);
	assert_int_equal(ns, T_101218);
	assert_int_equal(weir_time_parse("2026-08-05T05:42:18.25-04:30", 0, &ns), 0);
	assert_int_equal(ns, T_101218 + 250000000);
	assert_int_equal(weir_time_parse("2026-08-05t10:12:18z", 0, &ns), 0);
	assert_int_equal(ns, T_101218);
	assert_int_equal(weir_time_parse("1970-01-01T00:00:00Z", 0, &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(weir_time_parse("2024-02-29T00:00:00Z", 0, &ns), 0);
	assert_int_equal(ns, 1709164800ULL * NS);
}

static void time_parse_reads_ages_before_now(void **state)
{
	static const struct {
		const char *age;
		uint64_t ns;
	} ages[] = {
		{ "30s", 30 * NS },  { "90s", 90 * NS },   { "5m", 300 * NS },
		{ "2h", 7200 * NS }, { "1d", 86400 * NS }, { "1h30m", 5400 * NS },
		{ "500ms", NS / 2 }, { "0s", 0 },
	};
	uint64_t ns;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		assert_int_equal(weir_time_parse(ages[i].age, T_101218, &ns), 0);
		assert_int_equal(ns, T_101218 - ages[i].ns);
	}
}

static void time_parse_rejects_malformed_times(void **state)
{
	static const char *const bad[] = {
		"",
		"5",
		"5x",
		"m5",
		"5 m",
		"-5m",
		"5min",
		"99999999999999999999s",
		"2026-08-05",
		"2026-08-05T10:12:18",
		"2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z",
		"2026-08-05T24:00:00Z",
		"2026-08-05T10:60:00Z",
		"2026-08-05T10:12:60Z",
		"2026-08-05T10:12:18.Z",
		"2026-08-05T10:12:18.1234567891Z",
		"2026-08-05T10:12:18+0200",
		"2026-08-05T10:12:18Z ",
		"1969-12-31T23:59:59Z",
		"2600-01-01T00:00:00Z",
	};
	uint64_t ns;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (weir_time_parse(bad[i], T_101218, &ns) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
	/* an age beyond the epoch */
	assert_int_equal(weir_time_parse("2d", 86400 * NS, &ns), -EINVAL);
	assert_int_equal(weir_time_parse(NULL, 0, &ns), -EINVAL);
}

/* ---- speed ---- */

#define STORE_RECORDS 65535

/* A query as `weir observe` would send for an incident: several fields of
 * every kind, labels, globs and CIDRs, a deny filter, and values that mostly
 * miss so that every filter runs to its last field.
 */
static const char busy_allow[] =
	"[{\"source_ip\":[\"10.0.0.0/8\",\"fd00::/8\"],\"protocol\":[\"tcp\",\"udp\"],"
	"\"verdict\":[\"FORWARDED\",\"DROPPED\"],\"source_pod\":[\"shop/\",\"default/web\"],"
	"\"node_name\":[\"kind-*\",\"*-worker?\"],"
	"\"source_label\":[\"app in (frontend,cart),tier\",\"k8s:team=payments\"],"
	"\"destination_label\":[\"app notin (db)\"]},"
	"{\"destination_ip\":[\"192.168.0.0/16\"],\"destination_port\":[\"53\",\"443\"]}]";
static const char busy_deny[] = "[{\"destination_port\":[\"9\"],\"tcp_flags\":[{\"RST\":true}]}]";

/* A full store as the agent builds it: records share the endpoints the
 * endpoint cache hands out (256 pods here, half of them "frontend").
 */
static struct weir_flow_record **store_fill(void)
{
	static const char *const front[] = { "k8s:app=frontend", "k8s:tier=web",
					     "k8s:io.kubernetes.pod.namespace=shop", NULL };
	static const char *const cart[] = { "k8s:app=cart", "container:app=legacy",
					    "k8s:io.kubernetes.pod.namespace=shop", NULL };
	struct weir_flow_record **rs = calloc(STORE_RECORDS, sizeof(struct weir_flow_record *));
	struct weir_endpoint *eps[256];
	size_t i;

	assert_non_null(rs);
	for (i = 0; i < 256; i++) {
		char name[32];

		snprintf(name, sizeof(name), "pod-%zu", i);
		eps[i] = pod("shop", name, i % 2 ? front : cart);
	}
	for (i = 0; i < STORE_RECORDS; i++) {
		struct weir_flow_record *r = rec();

		weir_endpoint_put(r->src);
		weir_endpoint_put(r->dst);
		r->src = weir_endpoint_get(eps[i % 256]);
		r->dst = weir_endpoint_get(eps[(i / 256 + i) % 256]);
		r->saddr[1] = (uint8_t)i;
		r->saddr[2] = (uint8_t)(i >> 8);
		r->dport = (uint16_t)(i % 1000);
		r->proto = i % 3 ? IPPROTO_TCP : IPPROTO_UDP;
		rs[i] = r;
	}
	for (i = 0; i < 256; i++)
		weir_endpoint_put(eps[i]);
	return rs;
}

static void store_free(struct weir_flow_record **rs)
{
	size_t i;

	for (i = 0; i < STORE_RECORDS; i++)
		weir_flow_record_put(rs[i]);
	free((void *)rs);
}

static void matching_never_allocates(void **state)
{
	struct weir_filter_set *fs = set_new(busy_allow, busy_deny);
	struct weir_flow_record **rs = store_fill();
	struct weir_filter_scan *scan;
	struct mallinfo2 before, after;
	size_t i, n = 0, n_scan = 0;

	(void)state;
	assert_int_equal(weir_filter_scan_new(&scan, fs), 0);
	before = mallinfo2();
	for (i = 0; i < STORE_RECORDS; i++) {
		n += weir_filter_set_match(fs, rs[i]);
		n_scan += weir_filter_scan_match(scan, rs[i]);
	}
	after = mallinfo2();
	assert_int_equal(before.uordblks, after.uordblks);
	assert_int_equal(before.hblkhd, after.hblkhd);
	assert_true(n > 0 && n < STORE_RECORDS);
	assert_int_equal(n_scan, n);
	weir_filter_scan_free(scan);
	store_free(rs);
	weir_filter_set_free(fs);
}

/* ---- scans ---- */

/* Every record of the store gets the same answer from a scan as from
 * weir_filter_set_match(), forgetting every `forget_every` records (0: never).
 */
static void assert_scan_agrees(struct weir_flow_record **rs, size_t n, const char *allow,
			       const char *deny, size_t forget_every)
{
	struct weir_filter_set *fs = set_new(allow, deny);
	struct weir_filter_scan *scan;
	size_t i, matched = 0;

	assert_int_equal(weir_filter_scan_new(&scan, fs), 0);
	for (i = 0; i < n; i++) {
		bool m = weir_filter_set_match(fs, rs[i]);

		if (forget_every && i % forget_every == 0)
			weir_filter_scan_forget(scan);
		if (weir_filter_scan_match(scan, rs[i]) != m)
			fail_msg("record %zu: the scan says %d, the filter %d (allow %s deny %s)",
				 i, !m, m, allow, deny ? deny : "none");
		matched += m;
	}
	assert_true(matched > 0 && matched < n);
	weir_filter_scan_free(scan);
	weir_filter_set_free(fs);
}

static void scan_answers_as_the_filter_over_a_full_store(void **state)
{
	struct weir_flow_record **rs = store_fill();

	(void)state;
	assert_scan_agrees(rs, STORE_RECORDS, busy_allow, busy_deny, 0);
	assert_scan_agrees(rs, STORE_RECORDS, busy_allow, busy_deny, 4096);
	/* one side, the other, both, and an endpoint field in the deny list */
	assert_scan_agrees(rs, STORE_RECORDS, "[{\"source_pod\":[\"shop/pod-1\"]}]", NULL, 0);
	assert_scan_agrees(rs, STORE_RECORDS, "[{\"destination_label\":[\"app=cart\"]}]", NULL, 0);
	assert_scan_agrees(
		rs, STORE_RECORDS,
		"[{\"source_pod\":[\"shop/pod-2\"],\"destination_pod\":[\"shop/pod-1\"]},"
		"{\"destination_port\":[\"7\"],\"source_label\":[\"app=frontend\"]}]",
		"[{\"destination_pod\":[\"shop/pod-13\"]}]", 1000);
	assert_scan_agrees(rs, STORE_RECORDS, NULL,
			   "[{\"source_identity\":[0],"
			   "\"destination_pod\":[\"shop/pod-5\"],\"protocol\":[\"udp\"]}]",
			   0);
	store_free(rs);
}

/* A scan remembers an endpoint by its address: the caller that lets one be
 * freed (and so the address be reused) must make it forget.
 */
static void scan_remembers_endpoints_until_told_to_forget(void **state)
{
	struct weir_filter_set *fs = set_new("[{\"source_pod\":[\"shop/frontend\"]}]", NULL);
	struct weir_flow_record *r = rec();
	struct weir_filter_scan *scan;

	(void)state;
	assert_int_equal(weir_filter_scan_new(&scan, fs), 0);
	assert_true(weir_filter_scan_match(scan, r));
	/* the same address, another pod: as if freed and allocated again */
	free(r->src->pod_name);
	r->src->pod_name = strdup("cart-9");
	assert_false(weir_filter_set_match(fs, r));
	assert_true(weir_filter_scan_match(scan, r));
	weir_filter_scan_forget(scan);
	assert_false(weir_filter_scan_match(scan, r));
	weir_filter_scan_free(scan);
	weir_flow_record_put(r);
	weir_filter_set_free(fs);
}

/* More filters than a slot has bits for: answered without memory, rightly. */
static void scan_with_more_filters_than_it_remembers(void **state)
{
	struct weir_flow_record **rs = store_fill();
	char allow[4096];
	size_t i, len = 0;

	(void)state;
	len += (size_t)snprintf(allow + len, sizeof(allow) - len, "[");
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(allow + len, sizeof(allow) - len,
					"%s{\"source_pod\":[\"other/pod-%zu\"]}", i ? "," : "", i);
	snprintf(allow + len, sizeof(allow) - len, ",{\"source_pod\":[\"shop/pod-7\"]}]");
	assert_scan_agrees(rs, STORE_RECORDS, allow, "[{\"destination_pod\":[\"shop/pod-70\"]}]",
			   0);
	store_free(rs);
}

/* Records that share no endpoint (as the relay decodes them) fill the scan's
 * memory and then go without it: the answers stay right all along.
 */
static void scan_of_records_that_share_no_endpoint(void **state)
{
	static const char *const labels[] = { "k8s:app=web", NULL };
	struct weir_flow_record **rs = store_fill();
	size_t i, n = 20000;

	(void)state;
	for (i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "web-%zu", i);
		weir_endpoint_put(rs[i]->src);
		rs[i]->src = pod("shop", name, labels);
	}
	assert_scan_agrees(rs, n, "[{\"source_pod\":[\"shop/web-1\"]}]", NULL, 0);
	assert_scan_agrees(rs, STORE_RECORDS, "[{\"source_pod\":[\"shop/web-2\", \"shop/pod-3\"]}]",
			   NULL, 5000);
	store_free(rs);
}

static void scan_without_filters_matches_every_record(void **state)
{
	struct weir_filter_set *fs = set_new("[{\"verdict\":[\"DROPPED\"]}]", NULL);
	struct weir_flow_record *r = rec();
	struct weir_filter_scan *scan;

	(void)state;
	assert_int_equal(weir_filter_scan_new(&scan, NULL), 0);
	assert_true(weir_filter_scan_match(scan, r));
	weir_filter_scan_forget(scan);
	assert_true(weir_filter_scan_match(scan, r));
	weir_filter_scan_free(scan);
	/* a set without endpoint fields has nothing to remember */
	assert_int_equal(weir_filter_scan_new(&scan, fs), 0);
	assert_false(weir_filter_scan_match(scan, r));
	r->verdict = WEIR_VERDICT_DROPPED;
	assert_true(weir_filter_scan_match(scan, r));
	weir_filter_scan_free(scan);
	weir_filter_set_free(fs);
	weir_flow_record_put(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_filters_match_every_record),
		cmocka_unit_test(destination_service_matches_a_name_prefix),
		cmocka_unit_test(service_with_a_namespace_matches_no_weir_service),
		cmocka_unit_test(malformed_service_filters_are_rejected),
		cmocka_unit_test(workload_matches_kind_and_name_each_when_set),
		cmocka_unit_test(malformed_workload_filters_are_rejected),
		cmocka_unit_test(identity_matches_reserved_host_and_world),
		cmocka_unit_test(empty_filter_object_matches_every_record),
		cmocka_unit_test(fields_within_a_filter_are_anded),
		cmocka_unit_test(values_of_one_field_are_alternatives),
		cmocka_unit_test(several_allow_filters_are_ored),
		cmocka_unit_test(deny_list_removes_what_it_matches),
		cmocka_unit_test(deny_filter_removes_only_records_matching_all_its_fields),
		cmocka_unit_test(empty_or_null_field_leaves_the_filter_unset),
		cmocka_unit_test(source_ip_matches_an_exact_address),
		cmocka_unit_test(ipv4_cidr_includes_both_ends_and_nothing_outside),
		cmocka_unit_test(ipv6_cidr_includes_both_ends_and_nothing_outside),
		cmocka_unit_test(address_families_never_match_each_other),
		cmocka_unit_test(record_without_addresses_never_matches_ip_filters),
		cmocka_unit_test(invalid_addresses_are_rejected_naming_the_key),
		cmocka_unit_test(pod_filter_matches_namespace_and_name_prefix),
		cmocka_unit_test(pod_filter_ending_in_slash_matches_the_whole_namespace),
		cmocka_unit_test(pod_filter_without_namespace_means_the_default_namespace),
		cmocka_unit_test(pod_filter_never_matches_world_or_host),
		cmocka_unit_test(pod_filter_with_empty_namespace_matches_any_namespace),
		cmocka_unit_test(malformed_pod_filters_are_rejected),
		cmocka_unit_test(label_equality_selects_by_value),
		cmocka_unit_test(label_inequality_matches_other_values_and_absent_keys),
		cmocka_unit_test(label_existence_and_absence),
		cmocka_unit_test(label_set_membership),
		cmocka_unit_test(label_requirements_separated_by_commas_are_anded),
		cmocka_unit_test(label_selectors_of_one_field_are_alternatives),
		cmocka_unit_test(label_key_without_source_matches_any_source),
		cmocka_unit_test(label_without_source_is_not_selected_by_a_sourced_key),
		cmocka_unit_test(reserved_labels_select_world_and_host),
		cmocka_unit_test(malformed_label_selectors_are_rejected),
		cmocka_unit_test(label_selector_with_empty_value_selects_empty_values),
		cmocka_unit_test(ports_match_tcp_udp_and_sctp),
		cmocka_unit_test(ports_never_match_icmp_or_l3_only_flows),
		cmocka_unit_test(invalid_ports_are_rejected),
		cmocka_unit_test(protocol_names_are_case_insensitive),
		cmocka_unit_test(icmp_protocol_matches_both_families),
		cmocka_unit_test(l7_protocols_are_accepted_but_match_no_l4_flow),
		cmocka_unit_test(tcp_flags_entry_matches_when_all_its_flags_are_set),
		cmocka_unit_test(tcp_flags_never_match_other_protocols),
		cmocka_unit_test(malformed_tcp_flags_are_rejected),
		cmocka_unit_test(verdict_matches_by_name_or_number),
		cmocka_unit_test(drop_reason_matches_only_dropped_records),
		cmocka_unit_test(traffic_direction_matches_by_name),
		cmocka_unit_test(ip_version_matches_the_record_family),
		cmocka_unit_test(interface_matches_name_index_or_both),
		cmocka_unit_test(reply_filter_follows_hubble_for_unknown_replies),
		cmocka_unit_test(node_name_matches_globs),
		cmocka_unit_test(node_name_pattern_may_name_the_cluster),
		cmocka_unit_test(node_name_filter_never_matches_a_record_without_node),
		cmocka_unit_test(malformed_node_patterns_are_rejected),
		cmocka_unit_test(unknown_filter_field_is_rejected),
		cmocka_unit_test(hubble_field_weir_lacks_is_rejected_as_unsupported),
		cmocka_unit_test(fields_are_taken_by_proto_or_json_name),
		cmocka_unit_test(filter_documents_of_the_wrong_shape_are_rejected),
		cmocka_unit_test(request_collects_hubble_get_flows_fields),
		cmocka_unit_test(request_filters_combine_repeated_lists_and_old_names),
		cmocka_unit_test(request_without_filters_matches_everything),
		cmocka_unit_test(request_errors_name_the_key),
		cmocka_unit_test(request_filter_errors_name_the_list_and_field),
		cmocka_unit_test(request_rejects_first_with_follow),
		cmocka_unit_test(time_parse_reads_rfc3339_with_fraction_and_offset),
		cmocka_unit_test(time_parse_reads_ages_before_now),
		cmocka_unit_test(time_parse_rejects_malformed_times),
		cmocka_unit_test(matching_never_allocates),
		cmocka_unit_test(scan_answers_as_the_filter_over_a_full_store),
		cmocka_unit_test(scan_remembers_endpoints_until_told_to_forget),
		cmocka_unit_test(scan_with_more_filters_than_it_remembers),
		cmocka_unit_test(scan_of_records_that_share_no_endpoint),
		cmocka_unit_test(scan_without_filters_matches_every_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
