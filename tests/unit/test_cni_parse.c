// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-cni's parsing: the runtime's environment and CNI_ARGS, the network
 * configuration and its versions, prevResult from bridge, ptp and macvlan,
 * the registration document, CHECK against the agent's list, error JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cni.h"

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; fake_env[i]; i++)
		if (!strncmp(fake_env[i], name, n) && fake_env[i][n] == '=')
			return fake_env[i] + n + 1;
	return NULL;
}

static int env_with(struct weir_cni_env *env, struct weir_cni_err *e, const char *const *vars)
{
	fake_env = vars;
	memset(e, 0, sizeof(*e));
	return weir_cni_env_parse(env, fake_getenv, e);
}

static const char k8s_args[] = "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;"
			       "K8S_POD_NAME=cart-7d9f;K8S_POD_UID=1234-abcd;"
			       "K8S_POD_INFRA_CONTAINER_ID=abc";

static void env_reads_the_runtime_and_the_pod(void **state)
{
	static const char *const ok[] = { "CNI_COMMAND=ADD",
					  "CNI_CONTAINERID=abc-1.2_x",
					  "CNI_NETNS=/run/netns/p",
					  "CNI_IFNAME=eth0",
					  "CNI_PATH=/opt/cni/bin",
					  k8s_args,
					  NULL };
	static const char *const del[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=abc",
					   "CNI_IFNAME=eth0", NULL };
	struct weir_cni_env env;
	struct weir_cni_err e;
	const char *ns, *pod;

	(void)state;
	assert_int_equal(env_with(&env, &e, ok), 0);
	assert_int_equal(env.cmd, WEIR_CNI_ADD);
	assert_string_equal(env.pod_namespace, "shop");
	assert_string_equal(env.pod_name, "cart-7d9f");
	assert_string_equal(env.pod_uid, "1234-abcd");
	weir_cni_pod_id(&env, &ns, &pod);
	assert_string_equal(pod, "cart-7d9f");
	/* DEL needs neither CNI_NETNS nor CNI_PATH; without Kubernetes names the pod is the
	 * container. */
	assert_int_equal(env_with(&env, &e, del), 0);
	weir_cni_pod_id(&env, &ns, &pod);
	assert_string_equal(ns, "cni");
	assert_string_equal(pod, "abc");
}

static void env_errors_are_code_4(void **state)
{
	static const char *const cases[][7] = {
		{ NULL },
		{ "CNI_COMMAND=ATTACH", NULL },
		{ "CNI_COMMAND=ADD", "CNI_NETNS=/n", "CNI_IFNAME=eth0", "CNI_PATH=/p", NULL },
		{ "CNI_COMMAND=ADD", "CNI_CONTAINERID=-bad", "CNI_NETNS=/n", "CNI_IFNAME=eth0",
		  "CNI_PATH=/p", NULL },
		{ "CNI_COMMAND=ADD", "CNI_CONTAINERID=a/b", "CNI_NETNS=/n", "CNI_IFNAME=eth0",
		  "CNI_PATH=/p", NULL },
		{ "CNI_COMMAND=CHECK", "CNI_CONTAINERID=a", "CNI_IFNAME=eth0", "CNI_PATH=/p",
		  NULL },
		{ "CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n", "CNI_IFNAME=eth0",
		  "CNI_PATH=/p", "CNI_ARGS=K8S_POD_NAME=x", NULL },
	};
	static const char *const bad_args[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=a",
						"CNI_IFNAME=eth0",
						"CNI_ARGS=K8S_POD_NAMESPACE=a/b;K8S_POD_NAME=x",
						NULL };
	struct weir_cni_env env;
	struct weir_cni_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(env_with(&env, &e, cases[i]), WEIR_CNI_E_ENV);
		assert_int_equal(e.code, WEIR_CNI_E_ENV);
		assert_true(e.msg[0] != '\0');
	}
	assert_int_equal(env_with(&env, &e, bad_args), WEIR_CNI_E_ENV);
	assert_non_null(strstr(e.msg, "K8S_POD_NAMESPACE"));
}

static int conf(struct weir_cni_conf *c, struct weir_cni_err *e, const char *text)
{
	memset(e, 0, sizeof(*e));
	return weir_cni_conf_parse(c, text, strlen(text), e);
}

static void conf_takes_versions_and_options(void **state)
{
	struct weir_cni_conf c;
	struct weir_cni_err e;

	(void)state;
	assert_int_equal(conf(&c, &e,
			      "{\"cniVersion\": \"0.4.0\", \"name\": \"n\", \"type\": \"weir-cni\","
			      " \"agent_socket\": \"/s\", \"fail_open\": true, \"timeout_ms\": 250,"
			      " \"somethingElse\": [1], \"prevResult\": {\"ips\": []}}"),
			 0);
	assert_string_equal(c.socket_path, "/s");
	assert_true(c.fail_open);
	assert_int_equal(c.timeout_ms, 250);
	assert_non_null(c.prev_result);
	weir_cni_conf_release(&c);
	assert_int_equal(conf(&c, &e, "{\"cniVersion\": \"1.0.0\", \"name\": \"n\"}"), 0);
	assert_string_equal(c.socket_path, WEIR_CNI_SOCKET_DEFAULT);
	assert_false(c.fail_open);
	assert_int_equal(c.timeout_ms, WEIR_CNI_TIMEOUT_MS_DEFAULT);
	assert_null(c.prev_result);
	weir_cni_conf_release(&c);
}

static void conf_errors_have_the_specs_codes(void **state)
{
	static const struct {
		const char *text;
		int code;
	} cases[] = {
		{ "{", WEIR_CNI_E_DECODE },
		{ "[1]", WEIR_CNI_E_DECODE },
		{ "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"name\": \"m\"}",
		  WEIR_CNI_E_DECODE },
		{ "{\"name\": \"n\"}", WEIR_CNI_E_CONFIG },
		{ "{\"cniVersion\": \"2.0.0\", \"name\": \"n\"}", WEIR_CNI_E_VERSION },
		{ "{\"cniVersion\": \"0.2.0\", \"name\": \"n\"}", WEIR_CNI_E_VERSION },
		{ "{\"cniVersion\": \"1.0.0\"}", WEIR_CNI_E_CONFIG },
		{ "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"prevResult\": 3}",
		  WEIR_CNI_E_DECODE },
		{ "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"fail_open\": \"yes\"}",
		  WEIR_CNI_E_CONFIG },
		{ "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"timeout_ms\": 0}",
		  WEIR_CNI_E_CONFIG },
		{ "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"agent_socket\": \"\"}",
		  WEIR_CNI_E_CONFIG },
	};
	struct weir_cni_conf c;
	struct weir_cni_err e;
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (conf(&c, &e, cases[i].text) != cases[i].code)
			fail_msg("%s: code %d (%s), want %d", cases[i].text, e.code, e.msg,
				 cases[i].code);
		weir_cni_conf_release(&c);
	}
	j = weir_cni_err_json(&e, "0.4.0");
	assert_string_equal(json_string_value(json_object_get(j, "cniVersion")), "0.4.0");
	assert_int_equal(json_integer_value(json_object_get(j, "code")), WEIR_CNI_E_CONFIG);
	assert_non_null(json_string_value(json_object_get(j, "msg")));
	assert_null(json_object_get(j, "details"));
	json_decref(j);
}

static bool fake_bridge(const char *ifname)
{
	return !strcmp(ifname, "cni0");
}

static int prev(const char *text, struct weir_cni_prev *p, struct weir_cni_err *e)
{
	json_t *j = json_loads(text, 0, NULL);
	int ret;

	assert_non_null(j);
	memset(e, 0, sizeof(*e));
	ret = weir_cni_prev_parse(j, fake_bridge, p, e);
	json_decref(j);
	return ret;
}

static void prev_result_finds_the_host_side(void **state)
{
	struct weir_cni_prev p;
	struct weir_cni_err e;

	(void)state;
	/* bridge: the bridge, the host veth, the container's eth0. */
	assert_int_equal(
		prev("{\"cniVersion\": \"1.0.0\", \"interfaces\": ["
		     "{\"name\": \"cni0\", \"mac\": \"aa\"},"
		     "{\"name\": \"veth1a2b\", \"mac\": \"bb\"},"
		     "{\"name\": \"eth0\", \"sandbox\": \"/run/netns/p\"}],"
		     " \"ips\": [{\"address\": \"10.1.0.5/24\", \"gateway\": \"10.1.0.1\","
		     " \"interface\": 2}, {\"address\": \"fd00::5/64\", \"interface\": 2}]}",
		     &p, &e),
		0);
	assert_string_equal(p.host_if, "veth1a2b");
	assert_int_equal(p.n_ips, 2);
	assert_string_equal(p.ips[0], "10.1.0.5");
	assert_string_equal(p.ips[1], "fd00::5");
	/* ptp puts an address on the host side too: not the pod's. */
	assert_int_equal(prev("{\"interfaces\": [{\"name\": \"veth9\"},"
			      "{\"name\": \"eth0\", \"sandbox\": \"/n\"}],"
			      " \"ips\": [{\"address\": \"10.2.0.1/32\", \"interface\": 0},"
			      " {\"address\": \"10.2.0.7/32\", \"interface\": 1}]}",
			      &p, &e),
			 0);
	assert_string_equal(p.host_if, "veth9");
	assert_int_equal(p.n_ips, 1);
	assert_string_equal(p.ips[0], "10.2.0.7");
	/* macvlan: no host side; addresses without an interface index count. */
	assert_int_equal(prev("{\"interfaces\": [{\"name\": \"eth0\", \"sandbox\": \"/n\"}],"
			      " \"ips\": [{\"address\": \"192.168.1.9/24\"}]}",
			      &p, &e),
			 0);
	assert_string_equal(p.host_if, "");
	assert_int_equal(p.n_ips, 1);
}

static void prev_result_errors(void **state)
{
	static const struct {
		const char *text;
		int code;
	} cases[] = {
		{ "{\"interfaces\": {}}", WEIR_CNI_E_DECODE },
		{ "{\"interfaces\": [{\"name\": \"a/b\"}], \"ips\": []}", WEIR_CNI_E_DECODE },
		{ "{\"interfaces\": [{\"name\": \"averyveryverylongname\"}]}", WEIR_CNI_E_DECODE },
		{ "{\"ips\": [{\"address\": \"not-an-ip/24\"}]}", WEIR_CNI_E_DECODE },
		{ "{\"ips\": [{\"gateway\": \"10.0.0.1\"}]}", WEIR_CNI_E_DECODE },
		{ "{\"ips\": \"10.0.0.1\"}", WEIR_CNI_E_DECODE },
		{ "{\"interfaces\": [{\"name\": \"veth1\"}]}", WEIR_CNI_E_CONFIG },
	};
	struct weir_cni_prev p;
	struct weir_cni_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (prev(cases[i].text, &p, &e) != cases[i].code)
			fail_msg("%s: code %d (%s), want %d", cases[i].text, e.code, e.msg,
				 cases[i].code);
}

static void registration_and_check(void **state)
{
	struct weir_cni_env env = { .container_id = "c1" };
	struct weir_cni_prev p = { .host_if = "veth1", .n_ips = 2 };
	struct weir_cni_err e;
	json_t *doc, *all;

	(void)state;
	strcpy(env.pod_namespace, "shop");
	strcpy(env.pod_name, "cart");
	strcpy(env.pod_uid, "u-1");
	strcpy(p.ips[0], "10.0.0.5");
	strcpy(p.ips[1], "fd00::5");
	doc = weir_cni_reg_doc(&env, &p);
	all = json_loads(
		"{\"ips\": [\"10.0.0.5\", \"fd00::5\"], \"namespace\": \"shop\","
		" \"pod_name\": \"cart\", \"container_id\": \"c1\", \"interface\": \"veth1\","
		" \"pod_uid\": \"u-1\"}",
		0, NULL);
	assert_true(json_equal(doc, all));
	json_decref(all);

	/* What the agent lists back: attached, from the API. */
	json_object_set_new(doc, "source", json_string("api"));
	json_object_set_new(doc, "attached", json_true());
	all = json_pack("[{s:[s], s:s, s:s, s:s}, O]", "ips", "10.0.0.5", "namespace", "shop",
			"pod_name", "cart", "source", "k8s", doc);
	assert_int_equal(weir_cni_check_registration(all, &env, &p, &e), 0);
	json_object_set_new(doc, "attached", json_false());
	assert_int_equal(weir_cni_check_registration(all, &env, &p, &e), WEIR_CNI_E_DETACHED);
	json_object_set_new(doc, "attached", json_true());
	json_array_set_new(json_object_get(doc, "ips"), 1, json_string("fd00::6"));
	assert_int_equal(weir_cni_check_registration(all, &env, &p, &e), WEIR_CNI_E_MISMATCH);
	json_array_set_new(json_object_get(doc, "ips"), 1, json_string("fd00::5"));
	json_object_set_new(doc, "container_id", json_string("c0"));
	assert_int_equal(weir_cni_check_registration(all, &env, &p, &e), WEIR_CNI_E_MISMATCH);
	json_object_set_new(doc, "source", json_string("file"));
	assert_int_equal(weir_cni_check_registration(all, &env, &p, &e), WEIR_CNI_E_UNREGISTERED);
	json_decref(all);
	json_decref(doc);
}

/* Every prefix of a real configuration, and every byte of it replaced by a
 * troublesome one, is parsed to a result or a well-known code: never a crash.
 */
static void damaged_input_gets_a_code(void **state)
{
	static const char text[] =
		"{\"cniVersion\": \"1.0.0\", \"name\": \"podnet\", \"type\": \"weir-cni\","
		" \"timeout_ms\": 100, \"prevResult\": {\"cniVersion\": \"1.0.0\","
		" \"interfaces\": [{\"name\": \"cni0\"}, {\"name\": \"veth1\"},"
		" {\"name\": \"eth0\", \"sandbox\": \"/run/netns/x\"}], \"ips\": [{\"address\":"
		" \"10.1.0.5/24\", \"interface\": 2}]}}";
	static const char subst[] = { '\0', '"', '{', ']', '\\', 'x', ',', '\xff' };
	char buf[sizeof(text)];
	size_t len, i, j;

	(void)state;
	for (len = 0; len < sizeof(text); len++) {
		memcpy(buf, text, len);
		buf[len] = '\0';
		for (i = 0; i <= sizeof(subst); i++) {
			struct weir_cni_conf c;
			struct weir_cni_prev p;
			struct weir_cni_err e = { 0 };
			int ret;

			if (i < sizeof(subst) && len)
				buf[len - 1] = subst[i];
			ret = weir_cni_conf_parse(&c, buf, len, &e);
			if (!ret && c.prev_result)
				ret = weir_cni_prev_parse(c.prev_result, fake_bridge, &p, &e);
			weir_cni_conf_release(&c);
			for (j = 0; ret && j < 5; j++)
				if (ret == (int[]){ WEIR_CNI_E_DECODE, WEIR_CNI_E_CONFIG,
						    WEIR_CNI_E_VERSION, WEIR_CNI_E_FIELD,
						    WEIR_CNI_E_ENV }[j])
					break;
			if (ret && (j == 5 || !e.msg[0]))
				fail_msg("prefix %zu, substitute %zu: code %d (%s)", len, i, ret,
					 e.msg);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(env_reads_the_runtime_and_the_pod),
		cmocka_unit_test(env_errors_are_code_4),
		cmocka_unit_test(conf_takes_versions_and_options),
		cmocka_unit_test(conf_errors_have_the_specs_codes),
		cmocka_unit_test(prev_result_finds_the_host_side),
		cmocka_unit_test(prev_result_errors),
		cmocka_unit_test(registration_and_check),
		cmocka_unit_test(damaged_input_gets_a_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
