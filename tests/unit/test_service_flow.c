// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A load-balanced flow record in JSON: Hubble's destination_service and
 * Weir's weir.lb (the backend the VIP became), and back again, as the relay
 * and `weir observe --input-file` read it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "flow.h"

static void service_and_backend_round_trip(void **state)
{
	struct weir_flow_record *r = weir_flow_record_new(), *back = NULL;
	static const uint8_t backend[16] = { 0xfd, 0x11, [15] = 0x12 };
	char err[256] = "";
	json_t *j;

	(void)state;
	assert_non_null(r);
	r->family = 6;
	r->proto = IPPROTO_TCP;
	r->saddr[0] = 0xfd;
	r->daddr[0] = 0xfd;
	r->sport = 40000;
	r->dport = 80;
	r->type = WEIR_RECORD_START;
	r->dst_service = strdup("web6");
	memcpy(r->lb_backend, backend, 16);
	r->lb_backend_port = 8080;
	j = weir_flow_record_to_json(r);
	assert_non_null(j);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(j, "flow"), "destination_service"),
			"name")),
		"web6");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(json_object_get(j, "flow"), "weir"), "lb"),
			"backend")),
		"fd11::12");
	assert_int_equal(weir_flow_record_from_json(j, &back, err, sizeof(err)), 0);
	assert_string_equal(back->dst_service, "web6");
	assert_memory_equal(back->lb_backend, backend, 16);
	assert_int_equal(back->lb_backend_port, 8080);
	json_decref(j);
	weir_flow_record_put(back);
	weir_flow_record_put(r);
}

static void other_flows_carry_neither(void **state)
{
	struct weir_flow_record *r = weir_flow_record_new();
	json_t *j, *flow;

	(void)state;
	r->family = 4;
	r->proto = IPPROTO_UDP;
	r->type = WEIR_RECORD_START;
	j = weir_flow_record_to_json(r);
	flow = json_object_get(j, "flow");
	assert_null(json_object_get(flow, "destination_service"));
	assert_null(json_object_get(json_object_get(flow, "weir"), "lb"));
	json_decref(j);
	weir_flow_record_put(r);
}

static void a_bad_backend_is_refused_by_name(void **state)
{
	struct weir_flow_record *r = NULL;
	char err[256] = "";
	json_t *j = json_loads("{\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.96.0.1\","
			       "\"ipVersion\":\"IPv4\"},\"weir\":{\"lb\":{\"backend\":\"fd00::1\","
			       "\"backend_port\":80}}}",
			       0, NULL);

	(void)state;
	assert_int_equal(weir_flow_record_from_json(j, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "weir.lb.backend"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(service_and_backend_round_trip),
		cmocka_unit_test(other_flows_carry_neither),
		cmocka_unit_test(a_bad_backend_is_refused_by_name),
	};

	return cmocka_run_group_tests_name("service_flow", tests, NULL, NULL);
}
