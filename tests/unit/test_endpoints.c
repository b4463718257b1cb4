// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Endpoint cache tests: source precedence, host and world, API registrations,
 * the endpoints file, gone callbacks, IPv6, lookups racing updates, and
 * discovery of real named network namespaces made for the test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "endpoints.h"
#include "log.h"

#define NODE	  "node-a"
#define ERR_LEN	  256
#define NETNS_DIR "/run/netns"
#define RACE_NS	  300000000ULL /* how long lookups race updates */

static char tmpdir[] = "/tmp/weir-test-endpoints-XXXXXX";

struct gone_log {
	struct weir_endpoints *eps;
	int calls;
	char last[512];
};

struct fixture {
	struct weir_endpoints *eps;
	struct gone_log gone;
	char ns[2][64]; /* network namespaces this test made */
	bool ns_ok;
};

static struct weir_addr ip(const char *s)
{
	struct weir_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.bytes) == 1) {
		a.family = 4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, a.bytes), 1);
		a.family = 6;
	}
	return a;
}

static struct weir_endpoint *lookup(struct weir_endpoints *eps, const char *addr)
{
	struct weir_addr a = ip(addr);
	struct weir_endpoint *ep = weir_endpoints_lookup(eps, a.family, a.bytes);

	assert_non_null(ep);
	return ep;
}

static void assert_pod(struct weir_endpoints *eps, const char *addr, const char *namespace,
		       const char *pod_name)
{
	struct weir_endpoint *ep = lookup(eps, addr);

	if (ep->identity != WEIR_IDENTITY_POD)
		fail_msg("%s: identity %d, want pod %s/%s", addr, ep->identity, namespace,
			 pod_name);
	assert_string_equal(ep->namespace, namespace);
	assert_string_equal(ep->pod_name, pod_name);
	weir_endpoint_put(ep);
}

static void assert_identity(struct weir_endpoints *eps, const char *addr, enum weir_identity id)
{
	struct weir_endpoint *ep = lookup(eps, addr);

	if (ep->identity != id)
		fail_msg("%s: identity %d (%s), want %d", addr, ep->identity,
			 ep->pod_name ? ep->pod_name : "-", id);
	if (id == WEIR_IDENTITY_WORLD)
		assert_ptr_equal(ep, weir_endpoint_world());
	weir_endpoint_put(ep);
}

static int reg(struct weir_endpoints *eps, const char *text, char *err)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	int ret;

	if (!doc)
		fail_msg("test document: %s: %s", text, jerr.text);
	err[0] = '\0';
	ret = weir_endpoints_register(eps, doc, err, ERR_LEN);
	json_decref(doc);
	return ret;
}

static void reg_ok(struct weir_endpoints *eps, const char *text)
{
	char err[ERR_LEN];

	if (reg(eps, text, err))
		fail_msg("register %s: %s", text, err);
}

static void write_file(char *path, size_t len, const char *name, const char *text)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int load(struct weir_endpoints *eps, const char *text, char *err)
{
	char path[PATH_MAX];

	write_file(path, sizeof(path), "endpoints.json", text);
	err[0] = '\0';
	return weir_endpoints_load_file(eps, path, err, ERR_LEN);
}

static void load_ok(struct weir_endpoints *eps, const char *text)
{
	char err[ERR_LEN];

	if (load(eps, text, err))
		fail_msg("load %s: %s", text, err);
}

static size_t n_listed(struct weir_endpoints *eps)
{
	json_t *all = weir_endpoints_to_json(eps);
	size_t n;

	assert_non_null(all);
	n = json_array_size(all);
	json_decref(all);
	return n;
}

static void on_gone(void *ctx, const char *namespace, const char *pod_name)
{
	struct gone_log *g = ctx;
	struct weir_endpoint *ep;
	uint8_t addr[16] = { 10, 9, 9, 9 };

	/* Under the cache's write lock this lookup would never return. */
	ep = weir_endpoints_lookup(g->eps, 4, addr);
	weir_endpoint_put(ep);
	g->calls++;
	snprintf(g->last, sizeof(g->last), "%s/%s", namespace, pod_name);
}

static bool sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(weir_endpoints_new(&f->eps, NODE), 0);
	f->gone.eps = f->eps;
	weir_endpoints_on_gone(f->eps, on_gone, &f->gone);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	/* Also after a failed assertion; the test may have deleted one. */
	for (i = 0; i < 2; i++)
		if (f->ns[i][0])
			sh("ip netns delete %s 2>/dev/null", f->ns[i]);
	weir_endpoints_free(f->eps);
	free(f);
	return 0;
}

static void unknown_address_is_world(void **state)
{
	struct fixture *f = *state;
	uint8_t addr[16] = { 10, 0, 0, 1 };
	struct weir_endpoint *ep;

	assert_identity(f->eps, "10.0.0.1", WEIR_IDENTITY_WORLD);
	assert_identity(f->eps, "2001:db8::1", WEIR_IDENTITY_WORLD);
	reg_ok(f->eps, "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"a\", \"pod_name\": \"b\"}");
	ep = weir_endpoints_lookup(f->eps, 5, addr); /* no such family */
	assert_ptr_equal(ep, weir_endpoint_world());
	weir_endpoint_put(ep);
}

static void host_addresses_are_host_until_replaced(void **state)
{
	struct fixture *f = *state;
	struct weir_addr host[] = { ip("192.0.2.10"), ip("2001:db8::10") };
	struct weir_endpoint *a, *b;

	weir_endpoints_set_host(f->eps, host, 2);
	a = lookup(f->eps, "192.0.2.10");
	b = lookup(f->eps, "2001:db8::10");
	assert_int_equal(a->identity, WEIR_IDENTITY_HOST);
	assert_ptr_equal(a, b);
	assert_string_equal(a->node_name, NODE);
	assert_int_equal(a->n_labels, 0); /* "reserved:host" goes with the identity */
	weir_endpoint_put(a);
	weir_endpoint_put(b);
	assert_identity(f->eps, "192.0.2.11", WEIR_IDENTITY_WORLD);

	host[0] = ip("192.0.2.11");
	weir_endpoints_set_host(f->eps, host, 1);
	assert_identity(f->eps, "192.0.2.11", WEIR_IDENTITY_HOST);
	assert_identity(f->eps, "192.0.2.10", WEIR_IDENTITY_WORLD);
	assert_identity(f->eps, "2001:db8::10", WEIR_IDENTITY_WORLD);

	weir_endpoints_set_host(f->eps, NULL, 0);
	assert_identity(f->eps, "192.0.2.11", WEIR_IDENTITY_WORLD);
	assert_int_equal(n_listed(f->eps), 0); /* host is not a source */
}

static void registered_pod_has_its_metadata(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoint *ep;

	reg_ok(f->eps,
	       "{\"ips\": [\"10.1.0.5\", \"fd00:1::5\"], \"namespace\": \"shop\","
	       " \"pod_name\": \"cart-1\", \"labels\": {\"zone\": \"a\", \"app\": \"cart\","
	       " \"tier\": \"\"}, \"workload\": {\"name\": \"cart\", \"kind\": \"Deployment\"}}");
	reg_ok(f->eps, "{\"ips\": [\"10.1.0.6\"], \"namespace\": \"shop\", \"pod_name\": \"db-0\","
		       " \"labels\": null, \"workload\": null, \"node_name\": \"node-b\"}");

	ep = lookup(f->eps, "fd00:1::5");
	assert_int_equal(ep->identity, WEIR_IDENTITY_POD);
	assert_string_equal(ep->namespace, "shop");
	assert_string_equal(ep->pod_name, "cart-1");
	assert_int_equal(ep->n_labels, 3);
	assert_string_equal(ep->labels[0], "k8s:app=cart");
	assert_string_equal(ep->labels[1], "k8s:tier=");
	assert_string_equal(ep->labels[2], "k8s:zone=a");
	assert_string_equal(ep->workload_name, "cart");
	assert_string_equal(ep->workload_kind, "Deployment");
	assert_string_equal(ep->node_name, NODE);
	weir_endpoint_put(ep);
	assert_pod(f->eps, "10.1.0.5", "shop", "cart-1");

	ep = lookup(f->eps, "10.1.0.6");
	assert_string_equal(ep->pod_name, "db-0");
	assert_int_equal(ep->n_labels, 0);
	assert_null(ep->workload_name);
	assert_string_equal(ep->node_name, "node-b");
	weir_endpoint_put(ep);
}

static void register_replaces_the_pods_earlier_registration(void **state)
{
	struct fixture *f = *state;

	reg_ok(f->eps,
	       "{\"ips\": [\"10.1.0.5\"], \"namespace\": \"shop\", \"pod_name\": \"cart\"}");
	reg_ok(f->eps,
	       "{\"ips\": [\"10.1.0.6\"], \"namespace\": \"shop\", \"pod_name\": \"cart\"}");
	assert_identity(f->eps, "10.1.0.5", WEIR_IDENTITY_WORLD);
	assert_pod(f->eps, "10.1.0.6", "shop", "cart");
	assert_int_equal(n_listed(f->eps), 1);
	/* Same pod name in another namespace is another pod. */
	reg_ok(f->eps, "{\"ips\": [\"10.1.0.7\"], \"namespace\": \"dev\", \"pod_name\": \"cart\"}");
	assert_int_equal(n_listed(f->eps), 2);
	assert_int_equal(f->gone.calls, 0);
}

static void unregister_drops_only_the_caches_reference(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoint *ep;

	reg_ok(f->eps,
	       "{\"ips\": [\"10.1.0.5\"], \"namespace\": \"shop\", \"pod_name\": \"cart\"}");
	ep = lookup(f->eps, "10.1.0.5");
	assert_int_equal(ep->refcnt, 2); /* the cache's and ours */
	assert_int_equal(weir_endpoints_unregister(f->eps, "shop", "cart"), 0);
	assert_int_equal(ep->refcnt, 1);
	assert_string_equal(ep->pod_name, "cart"); /* still ours to read */
	weir_endpoint_put(ep);
	assert_identity(f->eps, "10.1.0.5", WEIR_IDENTITY_WORLD);
	assert_int_equal(weir_endpoints_unregister(f->eps, "shop", "cart"), -ENOENT);
	assert_int_equal(weir_endpoints_unregister(f->eps, "shop", "nope"), -ENOENT);
	assert_int_equal(n_listed(f->eps), 0);
}

static void more_authoritative_source_wins_and_removal_reveals_the_next(void **state)
{
	struct fixture *f = *state;
	struct weir_addr host = ip("10.0.0.5");

	weir_endpoints_set_host(f->eps, &host, 1);
	assert_identity(f->eps, "10.0.0.5", WEIR_IDENTITY_HOST);
	/* API first, file second: precedence does not depend on order. */
	reg_ok(f->eps, "{\"ips\": [\"10.0.0.5\"], \"namespace\": \"a\", \"pod_name\": \"api\"}");
	load_ok(f->eps, "{\"endpoints\": [{\"ips\": [\"10.0.0.5\", \"10.0.0.6\"],"
			" \"namespace\": \"f\", \"pod_name\": \"file\"}]}");
	assert_pod(f->eps, "10.0.0.5", "a", "api");
	assert_pod(f->eps, "10.0.0.6", "f", "file");
	assert_int_equal(n_listed(f->eps), 2);

	assert_int_equal(weir_endpoints_unregister(f->eps, "a", "api"), 0);
	assert_pod(f->eps, "10.0.0.5", "f", "file");
	load_ok(f->eps, "{\"endpoints\": []}");
	assert_identity(f->eps, "10.0.0.5", WEIR_IDENTITY_HOST);
	assert_identity(f->eps, "10.0.0.6", WEIR_IDENTITY_WORLD);
	weir_endpoints_set_host(f->eps, NULL, 0);
	assert_identity(f->eps, "10.0.0.5", WEIR_IDENTITY_WORLD);
}

static void newer_registration_of_a_reused_address_wins(void **state)
{
	struct fixture *f = *state;

	/* A pod deleted without its DELETE leaves a stale claim behind. */
	reg_ok(f->eps, "{\"ips\": [\"10.0.0.5\"], \"namespace\": \"a\", \"pod_name\": \"old\"}");
	reg_ok(f->eps, "{\"ips\": [\"10.0.0.5\"], \"namespace\": \"a\", \"pod_name\": \"new\"}");
	assert_pod(f->eps, "10.0.0.5", "a", "new");
	assert_int_equal(weir_endpoints_unregister(f->eps, "a", "new"), 0);
	assert_pod(f->eps, "10.0.0.5", "a", "old");
}

static void file_is_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	char err[ERR_LEN], path[PATH_MAX];

	load_ok(f->eps, "{\"endpoints\": [{\"ips\": [\"10.2.0.1\"], \"namespace\": \"n\","
			" \"pod_name\": \"a\"}, {\"ips\": [\"10.2.0.2\"], \"namespace\": \"n\","
			" \"pod_name\": \"b\"}]}");
	assert_pod(f->eps, "10.2.0.1", "n", "a");

	assert_int_equal(load(f->eps,
			      "{\"endpoints\": [{\"ips\": [\"10.2.0.3\"], \"namespace\": \"n\","
			      " \"pod_name\": \"c\"}, {\"ips\": [\"10.2.0.4\", \"10.0.0.300\"],"
			      " \"namespace\": \"n\", \"pod_name\": \"d\"}]}",
			      err),
			 -EINVAL);
	assert_string_equal(err, "endpoints[1].ips[1]: \"10.0.0.300\" is not an IP address");
	assert_pod(f->eps, "10.2.0.1", "n", "a");
	assert_pod(f->eps, "10.2.0.2", "n", "b");
	assert_identity(f->eps, "10.2.0.3", WEIR_IDENTITY_WORLD);

	assert_int_equal(load(f->eps, "{\"endpoints\": [", err), -EINVAL);
	snprintf(path, sizeof(path), "%s/endpoints.json:1:", tmpdir);
	assert_memory_equal(err, path, strlen(path));

	snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
	assert_int_equal(weir_endpoints_load_file(f->eps, path, err, sizeof(err)), -ENOENT);
	assert_pod(f->eps, "10.2.0.2", "n", "b");
	assert_int_equal(n_listed(f->eps), 2);
	assert_int_equal(f->gone.calls, 0);
}

static void large_file_loads_and_resolves(void **state)
{
	struct fixture *f = *state;
	size_t i, n = 5000, len = 0, cap = n * 96 + 64;
	char *text = malloc(cap), addr[32], pod[32];

	assert_non_null(text);
	len += snprintf(text + len, cap - len, "{\"endpoints\": [");
	for (i = 0; i < n; i++)
		len += snprintf(text + len, cap - len,
				"%s{\"ips\": [\"10.3.%zu.%zu\", \"fd00:3::%zx\"], \"namespace\": "
				"\"big\", \"pod_name\": \"p%zu\"}",
				i ? ", " : "", i / 256, i % 256, i, i);
	snprintf(text + len, cap - len, "]}");
	load_ok(f->eps, text);
	free(text);
	for (i = 0; i < n; i += 7) {
		snprintf(addr, sizeof(addr), "10.3.%zu.%zu", i / 256, i % 256);
		snprintf(pod, sizeof(pod), "p%zu", i);
		assert_pod(f->eps, addr, "big", pod);
		snprintf(addr, sizeof(addr), "fd00:3::%zx", i);
		assert_pod(f->eps, addr, "big", pod);
	}
	assert_int_equal(n_listed(f->eps), n);
}

struct bad_doc {
	const char *doc;
	const char *err;
};

static void bad_documents_name_the_field(void **state)
{
	/* clang-format off */
	static const struct bad_doc bad[] = {
		{ "[1, 2]", "endpoint: [1,2] is not an object" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\", \"colour\": 1}",
		  "endpoint: unknown key \"colour\"" },
		{ "{\"namespace\": \"n\", \"pod_name\": \"p\"}", "ips: is required" },
		{ "{\"ips\": [], \"namespace\": \"n\", \"pod_name\": \"p\"}",
		  "ips: [] is not a non-empty array of IP addresses" },
		{ "{\"ips\": \"10.0.0.1\", \"namespace\": \"n\", \"pod_name\": \"p\"}",
		  "ips: \"10.0.0.1\" is not a non-empty array of IP addresses" },
		{ "{\"ips\": [\"10.0.0.1\", \"10.0.0.300\"], \"namespace\": \"n\", \"pod_name\": \"p\"}",
		  "ips[1]: \"10.0.0.300\" is not an IP address" },
		{ "{\"ips\": [7], \"namespace\": \"n\", \"pod_name\": \"p\"}",
		  "ips[0]: 7 is not an IP address" },
		{ "{\"ips\": [\"fe80::1%eth0\"], \"namespace\": \"n\", \"pod_name\": \"p\"}",
		  "ips[0]: \"fe80::1%eth0\" is not an IP address" },
		{ "{\"ips\": [\"010.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\"}",
		  "ips[0]: \"010.0.0.1\" is not an IP address" },
		{ "{\"ips\": [\"fd00::1\", \"fd00:0::1\"], \"namespace\": \"n\", \"pod_name\": \"p\"}",
		  "ips[1]: \"fd00:0::1\" is listed twice (also ips[0])" },
		{ "{\"ips\": [\"10.0.0.1\"], \"pod_name\": \"p\"}", "namespace: is required" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\"}", "pod_name: is required" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"\", \"pod_name\": \"p\"}",
		  "namespace: \"\" is empty" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": 5, \"pod_name\": \"p\"}",
		  "namespace: 5 is not a string" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"a/b\"}",
		  "pod_name: \"a/b\" contains '/'" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"a\\tb\"}",
		  "pod_name: \"a\\tb\" has a non-printable character" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"caf\\u00e9\"}",
		  "pod_name: \"caf\\u00E9\" has a non-printable character" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\", \"labels\": [\"app\"]}",
		  "labels: [\"app\"] is not an object of strings" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\", \"labels\": {\"app\": 1}}",
		  "labels.app: 1 is not a string" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\", \"labels\": {\"a=b\": \"c\"}}",
		  "labels: key \"a=b\" contains '='" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\", \"labels\": {\"\": \"c\"}}",
		  "labels: key \"\" is empty" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\", \"workload\": \"cart\"}",
		  "workload: \"cart\" is not an object {\"name\", \"kind\"}" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\", \"workload\": {\"name\": \"cart\"}}",
		  "workload.kind: is required" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\","
		  " \"workload\": {\"name\": \"c\", \"kind\": \"Job\", \"replicas\": 3}}",
		  "workload: unknown key \"replicas\"" },
		{ "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\", \"node_name\": \"\"}",
		  "node_name: \"\" is empty" },
	};
	/* clang-format on */
	struct fixture *f = *state;
	char err[ERR_LEN], doc[512], name[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (reg(f->eps, bad[i].doc, err) != -EINVAL)
			fail_msg("accepted: %s", bad[i].doc);
		if (strcmp(err, bad[i].err) != 0)
			fail_msg("%s: error \"%s\", want \"%s\"", bad[i].doc, err, bad[i].err);
	}
	assert_int_equal(n_listed(f->eps), 0);

	/* 253 characters is the limit. */
	memset(name, 'a', 254);
	name[254] = '\0';
	snprintf(doc, sizeof(doc),
		 "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"%s\"}", name);
	assert_int_equal(reg(f->eps, doc, err), -EINVAL);
	assert_non_null(strstr(err, "is longer than 253 characters"));
	assert_memory_equal(err, "pod_name: \"aaaa", 15);
	name[253] = '\0';
	snprintf(doc, sizeof(doc),
		 "{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"%s\"}", name);
	reg_ok(f->eps, doc);
}

static void bad_files_name_the_endpoint(void **state)
{
	/* clang-format off */
	static const struct bad_doc bad[] = {
		{ "[]", "file: [] is not an object {\"endpoints\": [...]}" },
		{ "{}", "endpoints: is required" },
		{ "{\"endpoints\": {}}", "endpoints: {} is not an array" },
		{ "{\"endpoints\": [], \"version\": 1}", "file: unknown key \"version\"" },
		{ "{\"endpoints\": [5]}", "endpoints[0]: 5 is not an object" },
		{ "{\"endpoints\": [{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\"},"
		  " {\"ips\": [\"10.0.0.2\"], \"namespace\": \"n\"}]}",
		  "endpoints[1].pod_name: is required" },
		{ "{\"endpoints\": [{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\","
		  " \"labels\": {\"app\": [1]}}]}",
		  "endpoints[0].labels.app: [1] is not a string" },
		{ "{\"endpoints\": [{\"ips\": [\"10.0.0.1\"], \"namespace\": \"n\", \"pod_name\": \"p\"},"
		  " {\"ips\": [\"10.0.0.2\"], \"namespace\": \"n\", \"pod_name\": \"q\"},"
		  " {\"ips\": [\"10.0.0.3\"], \"namespace\": \"n\", \"pod_name\": \"p\"}]}",
		  "endpoints[2]: pod n/p is also endpoints[0]" },
		{ "{\"endpoints\": [{\"ips\": [\"fd00::1\"], \"namespace\": \"n\", \"pod_name\": \"p\"},"
		  " {\"ips\": [\"10.0.0.2\", \"fd00:0:0::1\"], \"namespace\": \"n\", \"pod_name\": \"q\"}]}",
		  "endpoints[1].ips[1]: \"fd00::1\" is also endpoints[0]'s" },
	};
	/* clang-format on */
	struct fixture *f = *state;
	char err[ERR_LEN];
	size_t i;

	load_ok(f->eps, "{\"endpoints\": [{\"ips\": [\"10.9.0.1\"], \"namespace\": \"n\","
			" \"pod_name\": \"keep\"}]}");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load(f->eps, bad[i].doc, err) != -EINVAL)
			fail_msg("accepted: %s", bad[i].doc);
		if (strcmp(err, bad[i].err) != 0)
			fail_msg("%s: error \"%s\", want \"%s\"", bad[i].doc, err, bad[i].err);
	}
	assert_int_equal(load(f->eps, "{\"endpoints\": [], \"endpoints\": []}", err), -EINVAL);
	assert_non_null(strstr(err, "duplicate"));
	assert_pod(f->eps, "10.9.0.1", "n", "keep");
	assert_int_equal(n_listed(f->eps), 1);
}

static void gone_is_called_when_no_source_has_the_pod(void **state)
{
	struct fixture *f = *state;

	reg_ok(f->eps, "{\"ips\": [\"10.4.0.1\"], \"namespace\": \"n\", \"pod_name\": \"a\"}");
	load_ok(f->eps, "{\"endpoints\": [{\"ips\": [\"10.4.0.1\"], \"namespace\": \"n\","
			" \"pod_name\": \"a\"}]}");
	assert_int_equal(weir_endpoints_unregister(f->eps, "n", "a"), 0);
	assert_int_equal(f->gone.calls, 0); /* the file still has it */
	load_ok(f->eps, "{\"endpoints\": [{\"ips\": [\"10.4.0.2\"], \"namespace\": \"n\","
			" \"pod_name\": \"a\"}]}");
	assert_int_equal(f->gone.calls, 0); /* replaced, not gone */
	load_ok(f->eps, "{\"endpoints\": []}");
	assert_int_equal(f->gone.calls, 1);
	assert_string_equal(f->gone.last, "n/a");

	reg_ok(f->eps, "{\"ips\": [\"10.4.0.3\"], \"namespace\": \"n\", \"pod_name\": \"b\"}");
	reg_ok(f->eps, "{\"ips\": [\"10.4.0.4\"], \"namespace\": \"n\", \"pod_name\": \"b\"}");
	assert_int_equal(f->gone.calls, 1);
	assert_int_equal(weir_endpoints_unregister(f->eps, "n", "b"), 0);
	assert_int_equal(f->gone.calls, 2);
	assert_string_equal(f->gone.last, "n/b");

	weir_endpoints_on_gone(f->eps, NULL, NULL);
	reg_ok(f->eps, "{\"ips\": [\"10.4.0.3\"], \"namespace\": \"n\", \"pod_name\": \"c\"}");
	assert_int_equal(weir_endpoints_unregister(f->eps, "n", "c"), 0);
	assert_int_equal(f->gone.calls, 2);
}

static void ipv6_and_ipv4_are_distinct(void **state)
{
	struct fixture *f = *state;
	uint8_t addr[16] = { 10, 0, 0, 1, 0xde, 0xad }; /* bytes past an IPv4 address ignored */
	struct weir_endpoint *ep;

	reg_ok(f->eps, "{\"ips\": [\"fd00:1::5\", \"10.0.0.1\"], \"namespace\": \"n\","
		       " \"pod_name\": \"dual\"}");
	assert_pod(f->eps, "fd00:1::5", "n", "dual");
	assert_pod(f->eps, "fd00:1:0:0:0:0:0:5", "n", "dual");
	assert_pod(f->eps, "10.0.0.1", "n", "dual");
	assert_identity(f->eps, "fd00:1::6", WEIR_IDENTITY_WORLD);
	assert_identity(f->eps, "a00:1::", WEIR_IDENTITY_WORLD); /* starts with 10.0.0.1 */
	assert_identity(f->eps, "::ffff:10.0.0.1", WEIR_IDENTITY_WORLD);
	ep = weir_endpoints_lookup(f->eps, 4, addr);
	assert_string_equal(ep->pod_name, "dual");
	weir_endpoint_put(ep);
}

static json_t *listed(json_t *all, const char *source, const char *pod_name)
{
	size_t i;
	json_t *e;

	json_array_foreach(all, i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "source")), source) &&
		    !strcmp(json_string_value(json_object_get(e, "pod_name")), pod_name))
			return e;
	}
	fail_msg("no %s endpoint %s listed", source, pod_name);
	return NULL;
}

static void to_json_lists_every_source(void **state)
{
	struct fixture *f = *state;
	char err[ERR_LEN], *text;
	json_t *all, *api, *file, *want;

	reg_ok(f->eps, "{\"ips\": [\"10.5.0.1\", \"fd00:5::1\"], \"namespace\": \"shop\","
		       " \"pod_name\": \"cart\", \"labels\": {\"b\": \"2\", \"a\": \"1\"},"
		       " \"workload\": {\"name\": \"cart\", \"kind\": \"Deployment\"}}");
	load_ok(f->eps, "{\"endpoints\": [{\"ips\": [\"10.5.0.1\"], \"namespace\": \"shop\","
			" \"pod_name\": \"cart\", \"node_name\": \"node-c\"}]}");
	all = weir_endpoints_to_json(f->eps);
	assert_int_equal(json_array_size(all), 2);
	assert_int_equal(weir_endpoints_count(f->eps), 2);
	api = listed(all, "api", "cart");
	want = json_loads("{\"ips\": [\"10.5.0.1\", \"fd00:5::1\"], \"namespace\": \"shop\","
			  " \"pod_name\": \"cart\", \"labels\": {\"a\": \"1\", \"b\": \"2\"},"
			  " \"workload\": {\"name\": \"cart\", \"kind\": \"Deployment\"},"
			  " \"node_name\": \"node-a\", \"source\": \"api\"}",
			  0, NULL);
	if (!json_equal(api, want)) {
		text = json_dumps(api, 0);
		fail_msg("api endpoint listed as %s", text);
	}
	json_decref(want);
	file = listed(all, "file", "cart");
	assert_string_equal(json_string_value(json_object_get(file, "node_name")), "node-c");
	assert_int_equal(json_object_size(json_object_get(file, "labels")), 0);

	/* What is listed registers again as it is, without its source. */
	json_object_del(api, "source");
	assert_int_equal(weir_endpoints_register(f->eps, api, err, sizeof(err)), 0);
	json_decref(all);
	assert_int_equal(n_listed(f->eps), 2);
}

struct race {
	struct weir_endpoints *eps;
	int stop;
	unsigned long lookups;
	int bad;
};

static void *race_reader(void *arg)
{
	static const char *const addrs[] = { "10.6.0.1", "10.6.0.2", "fd00:6::1" };
	struct race *r = arg;
	struct weir_addr a[3];
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < 3; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].family = strchr(addrs[i], ':') ? 6 : 4;
		inet_pton(a[i].family == 4 ? AF_INET : AF_INET6, addrs[i], a[i].bytes);
	}
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct weir_endpoint *ep =
			weir_endpoints_lookup(r->eps, a[n % 3].family, a[n % 3].bytes);

		if (ep->identity == WEIR_IDENTITY_POD) {
			if (strcmp(ep->pod_name, "churn") != 0 || ep->n_labels != 1 ||
			    strcmp(ep->labels[0], "k8s:app=churn") != 0)
				__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
		} else if (ep->identity != WEIR_IDENTITY_WORLD) {
			__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
		}
		weir_endpoint_put(ep);
		n++;
	}
	__atomic_add_fetch(&r->lookups, n, __ATOMIC_RELAXED);
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void lookups_race_updates(void **state)
{
	static const char *const docs[] = {
		"{\"ips\": [\"10.6.0.1\"], \"namespace\": \"n\", \"pod_name\": \"churn\","
		" \"labels\": {\"app\": \"churn\"}}",
		"{\"ips\": [\"10.6.0.2\", \"fd00:6::1\"], \"namespace\": \"n\", \"pod_name\": "
		"\"churn\", \"labels\": {\"app\": \"churn\"}}",
	};
	struct fixture *f = *state;
	struct race r = { .eps = f->eps };
	unsigned long updates = 0;
	pthread_t readers[3];
	uint64_t end;
	size_t i;

	for (i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&readers[i], NULL, race_reader, &r), 0);
	end = now_ns() + RACE_NS;
	while (now_ns() < end) {
		reg_ok(f->eps, docs[updates % 2]);
		if (updates % 5 == 4)
			assert_int_equal(weir_endpoints_unregister(f->eps, "n", "churn"), 0);
		if (updates % 7 == 0)
			load_ok(f->eps, "{\"endpoints\": [{\"ips\": [\"10.6.0.1\"], \"namespace\":"
					" \"n\", \"pod_name\": \"churn\", \"labels\": {\"app\":"
					" \"churn\"}}]}");
		if (updates % 7 == 3)
			load_ok(f->eps, "{\"endpoints\": []}");
		updates++;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 3; i++)
		pthread_join(readers[i], NULL);
	assert_int_equal(r.bad, 0);
	assert_true(r.lookups > updates);
	assert_true(updates > 10);
}

/* A link inside the namespace to hold addresses: dummy, else a veth pair. */
static bool netns_make(const char *ns, const char *const *addrs)
{
	if (!sh("ip netns add %s", ns))
		return false;
	if (!sh("ip -n %s link set lo up", ns))
		return false;
	if (!sh("ip -n %s link add d0 type dummy 2>/dev/null", ns) &&
	    !sh("ip -n %s link add d0 type veth peer name d1", ns))
		return false;
	if (!sh("ip -n %s link set d0 up", ns))
		return false;
	for (; *addrs; addrs++)
		if (!sh("ip -n %s addr add %s dev d0%s", ns, *addrs,
			strchr(*addrs, ':') ? " nodad" : ""))
			return false;
	return true;
}

static int netns_setup(void **state)
{
	static const char *const a_addrs[] = { "10.77.0.1/24", "fd00:77::1/64", "fe80::77/64",
					       "127.0.0.2/8", NULL };
	static const char *const b_addrs[] = { "10.77.1.1/24", "10.77.1.2/32", NULL };
	struct fixture *f;

	setup(state);
	f = *state;
	if (geteuid() || !sh("ip netns list >/dev/null 2>&1"))
		return 0;
	snprintf(f->ns[0], sizeof(f->ns[0]), "weir-t-%d-a", (int)getpid());
	snprintf(f->ns[1], sizeof(f->ns[1]), "weir-t-%d-b", (int)getpid());
	f->ns_ok = netns_make(f->ns[0], a_addrs) && netns_make(f->ns[1], b_addrs);
	return 0;
}

static void assert_ips(json_t *all, const char *pod_name, const char *const *want)
{
	json_t *e = listed(all, "netns", pod_name), *ips = json_object_get(e, "ips"), *v;
	size_t i, n = 0, j;

	for (; want[n]; n++)
		;
	if (json_array_size(ips) != n)
		fail_msg("%s: %zu addresses, want %zu", pod_name, json_array_size(ips), n);
	json_array_foreach(ips, i, v)
	{
		for (j = 0; j < n && strcmp(want[j], json_string_value(v)) != 0; j++)
			;
		if (j == n)
			fail_msg("%s: unexpected address %s", pod_name, json_string_value(v));
	}
	assert_string_equal(json_string_value(json_object_get(e, "namespace")), "netns");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(e, "labels"), "netns")),
		pod_name);
}

static void netns_discovery_finds_named_namespaces(void **state)
{
	static const char *const a_want[] = { "10.77.0.1", "fd00:77::1", NULL };
	static const char *const b_want[] = { "10.77.1.1", "10.77.1.2", NULL };
	struct fixture *f = *state;
	char before[64] = "", after[64] = "";
	struct weir_endpoint *ep;
	json_t *all;

	if (!f->ns_ok)
		skip();
	assert_true(readlink("/proc/thread-self/ns/net", before, sizeof(before) - 1) > 0);
	assert_int_equal(weir_endpoints_discover_netns(f->eps, NETNS_DIR), 0);
	assert_true(readlink("/proc/thread-self/ns/net", after, sizeof(after) - 1) > 0);
	assert_string_equal(before, after); /* this thread never moved */

	assert_pod(f->eps, "10.77.0.1", "netns", f->ns[0]);
	assert_pod(f->eps, "fd00:77::1", "netns", f->ns[0]);
	assert_pod(f->eps, "10.77.1.1", "netns", f->ns[1]);
	assert_pod(f->eps, "10.77.1.2", "netns", f->ns[1]);
	assert_identity(f->eps, "127.0.0.1", WEIR_IDENTITY_WORLD);
	assert_identity(f->eps, "127.0.0.2", WEIR_IDENTITY_WORLD);
	assert_identity(f->eps, "::1", WEIR_IDENTITY_WORLD);
	assert_identity(f->eps, "fe80::77", WEIR_IDENTITY_WORLD);
	ep = lookup(f->eps, "10.77.0.1");
	assert_int_equal(ep->n_labels, 1);
	assert_memory_equal(ep->labels[0], "k8s:netns=weir-t-", 17);
	assert_string_equal(ep->node_name, NODE);
	weir_endpoint_put(ep);
	all = weir_endpoints_to_json(f->eps);
	assert_ips(all, f->ns[0], a_want);
	assert_ips(all, f->ns[1], b_want);
	json_decref(all);

	/* Registrations outrank discovery. */
	reg_ok(f->eps, "{\"ips\": [\"10.77.0.1\"], \"namespace\": \"shop\", \"pod_name\": \"p\"}");
	assert_pod(f->eps, "10.77.0.1", "shop", "p");
	assert_int_equal(weir_endpoints_unregister(f->eps, "shop", "p"), 0);
	assert_pod(f->eps, "10.77.0.1", "netns", f->ns[0]);

	/* A second scan replaces the first. */
	assert_true(sh("ip netns delete %s", f->ns[1]));
	f->gone.calls = 0;
	assert_int_equal(weir_endpoints_discover_netns(f->eps, NETNS_DIR), 0);
	assert_identity(f->eps, "10.77.1.1", WEIR_IDENTITY_WORLD);
	assert_pod(f->eps, "10.77.0.1", "netns", f->ns[0]);
	assert_int_equal(f->gone.calls, 1);
	assert_string_equal(f->gone.last + strlen("netns/"), f->ns[1]);
}

static void netns_discovery_skips_what_is_not_a_namespace(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	write_file(path, sizeof(path), "stale", "");
	assert_int_equal(weir_endpoints_discover_netns(f->eps, tmpdir), 0);
	assert_int_equal(n_listed(f->eps), 0);
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	assert_int_equal(weir_endpoints_discover_netns(f->eps, path), 0);
	snprintf(path, sizeof(path), "%s/stale", tmpdir);
	assert_int_equal(weir_endpoints_discover_netns(f->eps, path), -ENOTDIR);
	unlink(path);
}

static int group_setup(void **state)
{
	(void)state;
	weir_log_set_level(WEIR_LOG_ERR);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/endpoints.json", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(unknown_address_is_world),
		T(host_addresses_are_host_until_replaced),
		T(registered_pod_has_its_metadata),
		T(register_replaces_the_pods_earlier_registration),
		T(unregister_drops_only_the_caches_reference),
		T(more_authoritative_source_wins_and_removal_reveals_the_next),
		T(newer_registration_of_a_reused_address_wins),
		T(file_is_all_or_nothing),
		T(large_file_loads_and_resolves),
		T(bad_documents_name_the_field),
		T(bad_files_name_the_endpoint),
		T(gone_is_called_when_no_source_has_the_pod),
		T(ipv6_and_ipv4_are_distinct),
		T(to_json_lists_every_source),
		T(lookups_race_updates),
		cmocka_unit_test_setup_teardown(netns_discovery_finds_named_namespaces, netns_setup,
						teardown),
		T(netns_discovery_skips_what_is_not_a_namespace),
	};

	return cmocka_run_group_tests_name("endpoints", tests, group_setup, group_teardown);
}
