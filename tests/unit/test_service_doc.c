// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Service documents: a full one parses and renders back the same, defaults
 * are filled in, and every kind of mistake is refused by its field's name.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "service_doc.h"

#define DEFAULT_SIZE 16381
#define MAX_SIZE     65521

static int parse(const char *text, struct weir_service_cfg *cfg, char *err, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	int ret;

	if (!doc)
		fail_msg("bad test JSON: %s: %s", text, jerr.text);
	ret = weir_service_doc_parse(doc, DEFAULT_SIZE, MAX_SIZE, cfg, err, len);
	json_decref(doc);
	return ret;
}

static void full_document_round_trips(void **state)
{
	static const char *doc =
		"{\"name\":\"web\",\"vip\":\"10.96.0.10\",\"port\":80,\"protocol\":\"TCP\","
		"\"table_size\":251,\"affinity_timeout\":30,"
		"\"health\":{\"type\":\"http\",\"interval_ms\":200,\"timeout_ms\":100,"
		"\"rise\":1,\"fall\":2,\"port\":8081,\"path\":\"/healthz\"},"
		"\"backends\":[{\"ip\":\"10.0.1.2\",\"port\":8080,\"weight\":100,\"state\":"
		"\"active\"},{\"ip\":\"10.0.1.3\",\"port\":8080,\"weight\":50,\"state\":"
		"\"draining\"}]}";
	struct weir_service_cfg cfg, again;
	char err[256] = "";
	json_t *out, *in;

	(void)state;
	assert_int_equal(parse(doc, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.name, "web");
	assert_int_equal(cfg.vip.family, 4);
	assert_int_equal(cfg.port, 80);
	assert_int_equal(cfg.proto, IPPROTO_TCP);
	assert_int_equal(cfg.table_size, 251);
	assert_int_equal(cfg.affinity_timeout_s, 30);
	assert_int_equal(cfg.health.type, WEIR_HEALTH_HTTP);
	assert_int_equal(cfg.health.port, 8081);
	assert_string_equal(cfg.health.path, "/healthz");
	assert_int_equal(cfg.n_backends, 2);
	assert_int_equal(cfg.backends[1].weight, 50);
	assert_int_equal(cfg.backends[1].state, WEIR_LB_BACKEND_DRAINING);

	out = weir_service_doc_json(&cfg);
	in = json_loads(doc, 0, NULL);
	assert_true(json_equal(out, in));
	/* And the rendering parses to the same configuration. */
	assert_int_equal(
		weir_service_doc_parse(out, DEFAULT_SIZE, MAX_SIZE, &again, err, sizeof(err)), 0);
	assert_int_equal(again.n_backends, 2);
	assert_memory_equal(again.backends, cfg.backends, 2 * sizeof(*cfg.backends));
	json_decref(out);
	json_decref(in);
	weir_service_cfg_release(&cfg);
	weir_service_cfg_release(&again);
}

static void defaults_are_filled_in(void **state)
{
	struct weir_service_cfg cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse("{\"name\":\"dns\",\"vip\":\"fd00::53\",\"port\":53,"
			       "\"protocol\":\"udp\",\"health\":{\"type\":\"udp\"},"
			       "\"backends\":[{\"ip\":\"fd00::1:2\"}]}",
			       &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg.vip.family, 6);
	assert_int_equal(cfg.proto, IPPROTO_UDP);
	assert_int_equal(cfg.table_size, DEFAULT_SIZE);
	assert_int_equal(cfg.affinity_timeout_s, 0);
	assert_int_equal(cfg.health.interval_ms, 1000);
	assert_int_equal(cfg.health.rise, 2);
	assert_int_equal(cfg.health.fall, 3);
	assert_string_equal(cfg.health.send, "ping");
	assert_int_equal(cfg.backends[0].port, 53); /* the service's */
	assert_int_equal(cfg.backends[0].weight, WEIR_SVC_WEIGHT_DEFAULT);
	assert_int_equal(cfg.backends[0].state, WEIR_LB_BACKEND_ACTIVE);
	weir_service_cfg_release(&cfg);
}

static void expect_refused(const char *doc, const char *field, const char *also)
{
	struct weir_service_cfg cfg;
	char err[256] = "", prefix[80];

	if (parse(doc, &cfg, err, sizeof(err)) != -EINVAL)
		fail_msg("accepted: %s", doc);
	snprintf(prefix, sizeof(prefix), "%s: ", field);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || (also && !strstr(err, also)))
		fail_msg("%s: error \"%s\" does not start with \"%s\" (and say \"%s\")", doc, err,
			 prefix, also ? also : "");
}

#define SVC "\"name\":\"web\",\"vip\":\"10.96.0.10\",\"port\":80"

static void mistakes_are_refused_by_field(void **state)
{
	(void)state;
	expect_refused("[]", "service", "not an object");
	expect_refused("{\"vip\":\"10.96.0.10\",\"port\":80}", "name", "required");
	expect_refused("{\"name\":\"a/b\",\"vip\":\"10.96.0.10\",\"port\":80}", "name", NULL);
	expect_refused("{\"name\":\"web\",\"vip\":\"10.96.0.300\",\"port\":80}", "vip",
		       "not an IP");
	expect_refused("{\"name\":\"web\",\"vip\":\"0.0.0.0\",\"port\":80}", "vip", "unicast");
	expect_refused("{\"name\":\"web\",\"vip\":\"10.96.0.10\"}", "port", "required");
	expect_refused("{\"name\":\"web\",\"vip\":\"10.96.0.10\",\"port\":0}", "port", NULL);
	expect_refused("{\"name\":\"web\",\"vip\":\"10.96.0.10\",\"port\":\"80\"}", "port", NULL);
	expect_refused("{" SVC ",\"protocol\":\"SCTP\"}", "protocol", "\"TCP\" or \"UDP\"");
	expect_refused("{" SVC ",\"table_size\":16383}", "table_size", "not a prime");
	expect_refused("{" SVC ",\"table_size\":131071}", "table_size", "65521");
	expect_refused("{" SVC ",\"affinity_timeout\":-1}", "affinity_timeout", NULL);
	expect_refused("{" SVC ",\"colour\":1}", "service", "unknown key \"colour\"");
	expect_refused("{" SVC ",\"health\":{\"type\":\"icmp\"}}", "health.type", NULL);
	expect_refused("{" SVC ",\"health\":{\"interval_ms\":100}}", "health.type", "required");
	expect_refused("{" SVC ",\"health\":{\"type\":\"tcp\",\"fall\":0}}", "health.fall", NULL);
	expect_refused("{" SVC ",\"health\":{\"type\":\"tcp\",\"retries\":3}}", "health",
		       "unknown key \"retries\"");
	expect_refused("{" SVC ",\"health\":{\"type\":\"tcp\",\"interval_ms\":100,"
		       "\"timeout_ms\":200}}",
		       "health.timeout_ms", "interval_ms");
	expect_refused("{" SVC ",\"health\":{\"type\":\"http\",\"path\":\"healthz\"}}",
		       "health.path", NULL);
	expect_refused("{" SVC ",\"backends\":{}}", "backends", "not an array");
	expect_refused("{" SVC ",\"backends\":[{\"ip\":\"10.0.0.1\"},{\"ip\":\"fd00::1\"}]}",
		       "backends[1].ip", "IPv6");
	expect_refused("{" SVC ",\"backends\":[{\"port\":80}]}", "backends[0].ip", "required");
	expect_refused("{" SVC ",\"backends\":[{\"ip\":\"10.0.0.1\",\"weight\":0}]}",
		       "backends[0].weight", NULL);
	expect_refused("{" SVC ",\"backends\":[{\"ip\":\"10.0.0.1\",\"weight\":65536}]}",
		       "backends[0].weight", NULL);
	expect_refused("{" SVC ",\"backends\":[{\"ip\":\"10.0.0.1\",\"state\":\"gone\"}]}",
		       "backends[0].state", "\"draining\"");
	expect_refused("{" SVC ",\"backends\":[{\"ip\":\"10.0.0.1\",\"prot\":1}]}", "backends[0]",
		       "unknown key \"prot\"");
	expect_refused("{" SVC ",\"backends\":[{\"ip\":\"10.0.0.1\"},{\"ip\":\"10.0.0.2\"},"
		       "{\"ip\":\"10.0.0.1\",\"port\":80}]}",
		       "backends[2]", "also backends[0]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_document_round_trips),
		cmocka_unit_test(defaults_are_filled_in),
		cmocka_unit_test(mistakes_are_refused_by_field),
	};

	return cmocka_run_group_tests_name("service_doc", tests, NULL, NULL);
}
