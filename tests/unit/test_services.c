// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The service table without a datapath: backends keep their ids across
 * updates, frontends do not collide, ids run out cleanly, health changes
 * reach the table, the state file brings everything back with the same ids,
 * and flow-record names come from the ids.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "services.h"

struct fixture {
	struct weir_services *s;
	char state[64];
	char err[256];
};

static int make(struct fixture *f, uint32_t backends_max)
{
	struct weir_services_opts o = {
		.services_max = 8,
		.backends_max = backends_max,
		.table_size = 251,
		.seed = 7,
		.state_file = f->state,
	};

	return weir_services_new(&f->s, &o);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	strcpy(f->state, "/tmp/weir-services-test-XXXXXX");
	fd = mkstemp(f->state);
	assert_true(fd >= 0);
	close(fd);
	unlink(f->state); /* a missing state file is a first start */
	assert_int_equal(make(f, 16), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	weir_services_free(f->s);
	unlink(f->state);
	free(f);
	return 0;
}

static int put(struct fixture *f, const char *doc_text, bool *created)
{
	json_t *doc = json_loads(doc_text, 0, NULL);
	int ret;

	assert_non_null(doc);
	f->err[0] = '\0';
	ret = weir_services_put(f->s, NULL, doc, created, f->err, sizeof(f->err));
	json_decref(doc);
	return ret;
}

/* The id of backend ip:port of service name, or 0. */
static json_int_t backend_id(struct fixture *f, const char *name, const char *ip)
{
	json_t *svc = weir_services_json(f->s, name, NULL), *b;
	json_int_t id = 0;
	size_t i;

	json_array_foreach(json_object_get(svc, "backends"), i,
			   b) if (!strcmp(json_string_value(json_object_get(b, "ip")), ip)) id =
		json_integer_value(json_object_get(b, "id"));
	json_decref(svc);
	return id;
}

#define WEB(backends) \
	"{\"name\":\"web\",\"vip\":\"10.96.0.10\",\"port\":80,\"backends\":[" backends "]}"
#define B(ip) "{\"ip\":\"" ip "\",\"port\":8080}"

static void backends_keep_their_ids(void **state)
{
	struct fixture *f = *state;
	json_int_t a, b;
	bool created;

	assert_int_equal(put(f, WEB(B("10.0.0.1") "," B("10.0.0.2")), &created), 0);
	assert_true(created);
	a = backend_id(f, "web", "10.0.0.1");
	b = backend_id(f, "web", "10.0.0.2");
	assert_true(a > 0 && b > 0 && a != b);
	/* Reordered, one added, one removed: the ones that stay keep theirs. */
	assert_int_equal(put(f, WEB(B("10.0.0.3") "," B("10.0.0.1")), &created), 0);
	assert_false(created);
	assert_int_equal(backend_id(f, "web", "10.0.0.1"), a);
	assert_int_equal(backend_id(f, "web", "10.0.0.2"), 0);
	assert_true(backend_id(f, "web", "10.0.0.3") != a);
	/* A freed id is not handed out again at once. */
	assert_true(backend_id(f, "web", "10.0.0.3") != b);
}

static void frontends_do_not_collide(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(put(f, WEB(B("10.0.0.1")), NULL), 0);
	assert_int_equal(put(f, "{\"name\":\"other\",\"vip\":\"10.96.0.10\",\"port\":80}", NULL),
			 -EEXIST);
	assert_non_null(strstr(f->err, "web"));
	/* Another port or protocol is another frontend. */
	assert_int_equal(put(f,
			     "{\"name\":\"other\",\"vip\":\"10.96.0.10\",\"port\":80,"
			     "\"protocol\":\"UDP\"}",
			     NULL),
			 0);
	assert_int_equal(weir_services_count(f->s), 2);
	assert_int_equal(weir_services_delete(f->s, "other"), 0);
	assert_int_equal(weir_services_delete(f->s, "other"), -ENOENT);
	assert_int_equal(weir_services_count(f->s), 1);
}

static void invalid_documents_change_nothing(void **state)
{
	struct fixture *f = *state;
	json_t *doc;

	assert_int_equal(put(f, WEB(B("10.0.0.1")), NULL), 0);
	assert_int_equal(put(f, WEB(B("10.0.0.1") ",{\"ip\":\"10.0.0.2\",\"weight\":-1}"), NULL),
			 -EINVAL);
	assert_non_null(strstr(f->err, "backends[1].weight"));
	doc = json_loads(WEB(B("10.0.0.1")), 0, NULL);
	assert_int_equal(weir_services_put(f->s, "not-web", doc, NULL, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_non_null(strstr(f->err, "name"));
	json_decref(doc);
	assert_int_equal(backend_id(f, "web", "10.0.0.2"), 0);
}

static void ids_run_out_cleanly(void **state)
{
	struct fixture *f = *state;

	weir_services_free(f->s);
	assert_int_equal(make(f, 2), 0);
	assert_int_equal(put(f, WEB(B("10.0.0.1") "," B("10.0.0.2") "," B("10.0.0.3")), NULL),
			 -ENOSPC);
	assert_non_null(strstr(f->err, "lb-backends-max=2"));
	assert_int_equal(weir_services_count(f->s), 0);
	/* Nothing leaked: two backends still fit. */
	assert_int_equal(put(f, WEB(B("10.0.0.1") "," B("10.0.0.2")), NULL), 0);
}

static void health_reaches_the_table(void **state)
{
	struct fixture *f = *state;
	struct weir_addr a = { .family = 4, .bytes = { 10, 0, 0, 2 } };
	struct weir_lb_target *t = NULL;
	json_t *svc;
	uint64_t gen, tr[2];
	size_t n;

	assert_int_equal(put(f,
			     "{\"name\":\"web\",\"vip\":\"10.96.0.10\",\"port\":80,"
			     "\"health\":{\"type\":\"tcp\",\"port\":9000},"
			     "\"backends\":[" B("10.0.0.1") "," B("10.0.0.2") "]}",
			     NULL),
			 0);
	assert_int_equal(weir_services_targets(f->s, &t, &n, &gen), 0);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].probe_port, 9000);
	assert_int_equal(t[0].port, 8080);
	free(t);
	assert_int_equal(weir_services_set_health(f->s, "web", &a, 8080, false), 0);
	svc = weir_services_json(f->s, "web", NULL);
	assert_int_equal(json_integer_value(json_object_get(svc, "usable_backends")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(svc, "backends"), 1), "health")),
			    "down");
	json_decref(svc);
	weir_services_health_transitions(f->s, tr);
	assert_int_equal(tr[0], 1);
	assert_int_equal(tr[1], 0);
	assert_int_equal(weir_services_set_health(f->s, "web", &a, 9999, true), -ENOENT);
}

static void state_file_brings_back_the_same_ids(void **state)
{
	struct fixture *f = *state;
	struct weir_addr addr;
	json_t *before, *after, *dns;
	uint16_t port;
	char name[64];

	assert_int_equal(put(f, WEB(B("10.0.0.1") "," B("10.0.0.2")), NULL), 0);
	assert_int_equal(put(f,
			     "{\"name\":\"dns\",\"vip\":\"fd00::53\",\"port\":53,"
			     "\"protocol\":\"UDP\",\"backends\":[{\"ip\":\"fd00::1\"}]}",
			     NULL),
			 0);
	assert_int_equal(weir_services_delete(f->s, "web"), 0);
	assert_int_equal(put(f, WEB(B("10.0.0.2") "," B("10.0.0.1")), NULL), 0);
	before = weir_services_json(f->s, NULL, NULL);
	weir_services_free(f->s);

	assert_int_equal(make(f, 16), 0);
	assert_int_equal(weir_services_restore(f->s, f->err, sizeof(f->err)), 0);
	after = weir_services_json(f->s, NULL, NULL);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	/* Names for flow records, by id. */
	dns = weir_services_applied(f->s, "dns");
	assert_true(weir_services_name_of(f->s,
					  (uint32_t)json_integer_value(json_object_get(dns, "id")),
					  name, sizeof(name)));
	assert_string_equal(name, "dns");
	json_decref(dns);
	assert_true(weir_services_backend_of(f->s, (uint32_t)backend_id(f, "web", "10.0.0.2"),
					     &addr, &port));
	assert_int_equal(addr.bytes[3], 2);
	assert_int_equal(port, 8080);
	assert_false(weir_services_backend_of(f->s, 15, &addr, &port));
}

static void a_broken_state_file_is_refused(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(f->state, "w");

	assert_non_null(fp);
	fputs("{\"version\": 1, \"services\": [", fp);
	fclose(fp);
	assert_int_equal(weir_services_restore(f->s, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, f->state));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(backends_keep_their_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(frontends_do_not_collide, setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_documents_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(ids_run_out_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(health_reaches_the_table, setup, teardown),
		cmocka_unit_test_setup_teardown(state_file_brings_back_the_same_ids, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_broken_state_file_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests_name("services", tests, NULL, NULL);
}
