// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The Kubernetes source: Pod objects to endpoint documents (owner
 * workloads, host network, phases, addresses), watch events applied to a
 * real endpoint cache, kubeconfig and in-cluster settings, and lookups that
 * take the watch's labels for a pod the CNI plugin registered bare.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "endpoints.h"
#include "k8s_config.h"
#include "k8s_pod.h"
#include "k8s_watch.h"

#define ERR_LEN 256

static json_t *pod(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!j)
		fail_msg("test pod: %s", jerr.text);
	return j;
}

#define POD(meta, spec, status)                                                 \
	"{\"kind\": \"Pod\", \"apiVersion\": \"v1\", \"metadata\": {" meta "}," \
	" \"spec\": {" spec "}, \"status\": {" status "}}"
#define RUNNING(ip) \
	"\"phase\": \"Running\", \"podIP\": \"" ip "\", \"podIPs\": [{\"ip\": \"" ip "\"}]"

static void workload(const char *meta, const char *kind, const char *name)
{
	char k[64], n[256], text[1024];
	json_t *p;

	snprintf(text, sizeof(text),
		 POD("\"name\": \"p\", \"namespace\": \"n\", %s", "", RUNNING("10.0.0.1")), meta);
	p = pod(text);

	weir_k8s_pod_workload(p, k, sizeof(k), n, sizeof(n));
	if (strcmp(k, kind) != 0 || strcmp(n, name) != 0)
		fail_msg("%s: workload %s/%s, want %s/%s", meta, k, n, kind, name);
	json_decref(p);
}

static void owner_workloads(void **state)
{
	(void)state;
	workload(
		"\"labels\": {\"pod-template-hash\": \"7d9f8c6b5\"}, \"ownerReferences\": "
		"[{\"kind\": \"ReplicaSet\", \"name\": \"web-api-7d9f8c6b5\", \"controller\": true}]",
		"Deployment", "web-api");
	/* A ReplicaSet of its own: no hash label, or a name the hash does not end. */
	workload("\"ownerReferences\": [{\"kind\": \"ReplicaSet\", \"name\": \"rs-abc\", "
		 "\"controller\": true}]",
		 "ReplicaSet", "rs-abc");
	workload("\"labels\": {\"pod-template-hash\": \"xyz\"}, \"ownerReferences\": "
		 "[{\"kind\": \"ReplicaSet\", \"name\": \"rs-abc\", \"controller\": true}]",
		 "ReplicaSet", "rs-abc");
	workload("\"labels\": {\"pod-template-hash\": \"abc\"}, \"ownerReferences\": "
		 "[{\"kind\": \"ReplicaSet\", \"name\": \"abc\", \"controller\": true}]",
		 "ReplicaSet", "abc");
	workload("\"ownerReferences\": [{\"kind\": \"StatefulSet\", \"name\": \"db\"}]",
		 "StatefulSet", "db");
	workload("\"ownerReferences\": [{\"kind\": \"DaemonSet\", \"name\": \"fluent-bit\", "
		 "\"controller\": true}]",
		 "DaemonSet", "fluent-bit");
	workload("\"ownerReferences\": [{\"kind\": \"Job\", \"name\": \"backup-29001234\", "
		 "\"controller\": true}]",
		 "Job", "backup-29001234");
	/* The controller wins over an owner listed before it. */
	workload("\"ownerReferences\": [{\"kind\": \"ConfigMap\", \"name\": \"c\"}, "
		 "{\"kind\": \"DaemonSet\", \"name\": \"d\", \"controller\": true}]",
		 "DaemonSet", "d");
	workload("\"labels\": {\"run\": \"x\"}", "", "");
}

static void pod_docs(void **state)
{
	const char *why;
	json_t *p, *doc, *want;

	(void)state;
	p = pod(POD("\"name\": \"web-1\", \"namespace\": \"shop\", \"labels\": {\"app\": \"web\"}",
		    "\"nodeName\": \"node-a\"",
		    "\"phase\": \"Running\", \"podIP\": \"10.0.0.5\", \"podIPs\": [{\"ip\": "
		    "\"10.0.0.5\"}, {\"ip\": \"fd00::5\"}]"));
	doc = weir_k8s_pod_doc(p, &why);
	want = json_loads("{\"ips\": [\"10.0.0.5\", \"fd00::5\"], \"namespace\": \"shop\","
			  " \"pod_name\": \"web-1\", \"labels\": {\"app\": \"web\"},"
			  " \"node_name\": \"node-a\"}",
			  0, NULL);
	assert_true(json_equal(doc, want));
	json_decref(want);
	json_decref(doc);
	json_decref(p);

	/* Only podIP (an older API server). */
	p = pod(POD("\"name\": \"a\", \"namespace\": \"n\"", "",
		    "\"phase\": \"Running\", \"podIP\": \"10.0.0.6\""));
	doc = weir_k8s_pod_doc(p, &why);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "ips"), 0)),
			    "10.0.0.6");
	json_decref(doc);
	json_decref(p);

	p = pod(POD("\"name\": \"a\", \"namespace\": \"n\"", "\"hostNetwork\": true",
		    RUNNING("192.168.0.1")));
	assert_null(weir_k8s_pod_doc(p, &why));
	assert_non_null(strstr(why, "host network"));
	json_decref(p);
	p = pod(POD("\"name\": \"a\", \"namespace\": \"n\"", "", "\"phase\": \"Pending\""));
	assert_null(weir_k8s_pod_doc(p, &why));
	assert_string_equal(why, "no address yet");
	json_decref(p);
	p = pod(POD("\"name\": \"a\", \"namespace\": \"n\"", "",
		    "\"phase\": \"Succeeded\", \"podIP\": \"10.0.0.7\""));
	assert_null(weir_k8s_pod_doc(p, &why));
	assert_non_null(strstr(why, "finished"));
	json_decref(p);
	p = pod(POD("\"name\": \"a\"", "", RUNNING("10.0.0.8")));
	assert_null(weir_k8s_pod_doc(p, &why));
	json_decref(p);
}

static struct weir_endpoints *eps_new(void)
{
	struct weir_endpoints *eps;

	assert_int_equal(weir_endpoints_new(&eps, "node-a"), 0);
	return eps;
}

static struct weir_endpoint *lookup(struct weir_endpoints *eps, const char *ip)
{
	uint8_t a[16] = { 0 };

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	return weir_endpoints_lookup(eps, 4, a);
}

static int event(struct weir_endpoints *eps, const char *type, const char *obj, char *rv)
{
	char line[4096], err[ERR_LEN];

	snprintf(line, sizeof(line), "{\"type\": \"%s\", \"object\": %s}", type, obj);
	return weir_k8s_apply_event(eps, line, strlen(line), rv, 64, err, sizeof(err));
}

static void watch_events_follow_the_pod(void **state)
{
	struct weir_endpoints *eps = eps_new();
	struct weir_endpoint *ep;
	char rv[64] = "1", err[ERR_LEN];

	(void)state;
	assert_int_equal(event(eps, "ADDED",
			       POD("\"name\": \"w\", \"namespace\": \"s\", \"resourceVersion\": "
				   "\"5\", \"labels\": {\"v\": \"1\"}",
				   "", RUNNING("10.1.0.1")),
			       rv),
			 0);
	assert_string_equal(rv, "5");
	ep = lookup(eps, "10.1.0.1");
	assert_string_equal(ep->pod_name, "w");
	assert_string_equal(ep->labels[0], "k8s:v=1");
	weir_endpoint_put(ep);
	assert_int_equal(event(eps, "MODIFIED",
			       POD("\"name\": \"w\", \"namespace\": \"s\", \"resourceVersion\": "
				   "\"6\", \"labels\": {\"v\": \"2\"}",
				   "", RUNNING("10.1.0.1")),
			       rv),
			 0);
	ep = lookup(eps, "10.1.0.1");
	assert_string_equal(ep->labels[0], "k8s:v=2");
	weir_endpoint_put(ep);
	assert_int_equal(event(eps, "BOOKMARK", "{\"metadata\": {\"resourceVersion\": \"9\"}}", rv),
			 0);
	assert_string_equal(rv, "9");
	assert_int_equal(weir_endpoints_count(eps), 1);
	/* A pod that finishes leaves, as one deleted does. */
	assert_int_equal(event(eps, "MODIFIED",
			       POD("\"name\": \"w\", \"namespace\": \"s\", \"resourceVersion\": "
				   "\"10\"",
				   "", "\"phase\": \"Failed\", \"podIP\": \"10.1.0.1\""),
			       rv),
			 0);
	assert_int_equal(weir_endpoints_count(eps), 0);
	assert_int_equal(
		event(eps, "ADDED",
		      POD("\"name\": \"x\", \"namespace\": \"s\"", "", RUNNING("10.1.0.2")), rv),
		0);
	assert_int_equal(event(eps, "DELETED",
			       POD("\"name\": \"x\", \"namespace\": \"s\", \"resourceVersion\": "
				   "\"12\"",
				   "", RUNNING("10.1.0.2")),
			       rv),
			 0);
	assert_int_equal(weir_endpoints_count(eps), 0);
	assert_string_equal(rv, "12");
	/* A DELETED for a pod never seen is harmless. */
	assert_int_equal(
		event(eps, "DELETED", POD("\"name\": \"y\", \"namespace\": \"s\"", "", ""), rv), 0);

	assert_int_equal(event(eps, "ERROR",
			       "{\"kind\": \"Status\", \"status\": \"Failure\", \"reason\": "
			       "\"Expired\", \"code\": 410, \"message\": \"too old\"}",
			       rv),
			 -ESTALE);
	assert_int_equal(event(eps, "ERROR",
			       "{\"kind\": \"Status\", \"code\": 500, \"message\": \"etcd\"}", rv),
			 -EPROTO);
	assert_int_equal(
		weir_k8s_apply_event(eps, "{\"type\": ", 9, rv, sizeof(rv), err, sizeof(err)),
		-EPROTO);
	assert_int_equal(weir_k8s_apply_event(eps, "{\"type\": \"ADDED\"}", 17, rv, sizeof(rv), err,
					      sizeof(err)),
			 -EPROTO);
	assert_string_equal(rv, "12");
	weir_endpoints_free(eps);
}

static void replace_skips_bad_pods_and_registrations_borrow_labels(void **state)
{
	struct weir_endpoints *eps = eps_new();
	struct weir_endpoint *ep;
	char err[ERR_LEN];
	json_t *docs, *reg;

	(void)state;
	docs = json_loads("[{\"ips\": [\"10.2.0.1\"], \"namespace\": \"s\", \"pod_name\": \"a\","
			  " \"labels\": {\"app\": \"a\"}, \"workload\": {\"name\": \"a\", \"kind\":"
			  " \"Deployment\"}},"
			  " {\"ips\": [\"bad\"], \"namespace\": \"s\", \"pod_name\": \"b\"},"
			  " {\"ips\": [\"10.2.0.3\"], \"namespace\": \"s\", \"pod_name\": \"a\"}]",
			  0, NULL);
	assert_int_equal(weir_endpoints_k8s_replace(eps, docs), 0);
	json_decref(docs);
	assert_int_equal(weir_endpoints_count(eps), 1);

	/* The CNI plugin registers the same pod bare: lookups keep the labels. */
	reg = json_loads("{\"ips\": [\"10.2.0.1\"], \"namespace\": \"s\", \"pod_name\": \"a\","
			 " \"interface\": \"veth1\", \"container_id\": \"c1\"}",
			 0, NULL);
	assert_int_equal(weir_endpoints_register(eps, reg, err, sizeof(err)), 0);
	ep = lookup(eps, "10.2.0.1");
	assert_string_equal(ep->labels[0], "k8s:app=a");
	assert_string_equal(ep->workload_kind, "Deployment");
	weir_endpoint_put(ep);
	assert_true(weir_endpoints_has_interface(eps, "veth1"));
	assert_false(weir_endpoints_has_interface(eps, "veth2"));
	/* Another pod registered on that address: the registration decides. */
	json_object_set_new(reg, "pod_name", json_string("other"));
	assert_int_equal(weir_endpoints_register(eps, reg, err, sizeof(err)), 0);
	ep = lookup(eps, "10.2.0.1");
	assert_string_equal(ep->pod_name, "other");
	weir_endpoint_put(ep);
	json_decref(reg);
	/* container_id guards the unregister. */
	assert_int_equal(weir_endpoints_unregister_container(eps, "s", "other", "c0", NULL, 0),
			 -ESTALE);
	assert_int_equal(weir_endpoints_unregister_container(eps, "s", "other", "c1", NULL, 0), 0);
	assert_int_equal(weir_endpoints_k8s_remove(eps, "s", "a"), 0);
	assert_int_equal(weir_endpoints_k8s_remove(eps, "s", "a"), -ENOENT);
	weir_endpoints_free(eps);
}

/* Every prefix of a real event line is an error or an event, never a crash,
 * and never leaves a half-applied pod.
 */
static void damaged_events_are_refused(void **state)
{
	static const char line[] =
		"{\"type\": \"ADDED\", \"object\": {\"kind\": \"Pod\", \"metadata\": {\"name\":"
		" \"w\", \"namespace\": \"s\", \"resourceVersion\": \"7\", \"labels\": {\"a\":"
		" \"b\"}, \"ownerReferences\": [{\"kind\": \"ReplicaSet\", \"name\": \"w-1\","
		" \"controller\": true}]}, \"spec\": {\"nodeName\": \"n\"}, \"status\":"
		" {\"phase\": \"Running\", \"podIPs\": [{\"ip\": \"10.3.0.1\"}]}}}";
	struct weir_endpoints *eps = eps_new();
	char rv[64], err[ERR_LEN];
	size_t len;
	int ret;

	(void)state;
	for (len = 0; len < sizeof(line) - 1; len++) {
		rv[0] = '\0';
		ret = weir_k8s_apply_event(eps, line, len, rv, sizeof(rv), err, sizeof(err));
		if (ret != -EPROTO)
			fail_msg("prefix %zu: %d, want -EPROTO", len, ret);
		assert_int_equal(weir_endpoints_count(eps), 0);
		assert_string_equal(rv, "");
	}
	assert_int_equal(weir_k8s_apply_event(eps, line, len, rv, sizeof(rv), err, sizeof(err)), 0);
	assert_int_equal(weir_endpoints_count(eps), 1);
	weir_endpoints_free(eps);
}

static char dir[] = "/tmp/weir-test-k8s-XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int kubeconfig(struct weir_k8s_conn *c, const char *text, char *err)
{
	char path[512];

	write_file("kubeconfig", text);
	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	return weir_k8s_conn_kubeconfig(c, path, err, ERR_LEN);
}

static void kubeconfig_subset(void **state)
{
	struct weir_k8s_conn c;
	char err[ERR_LEN], want[512], *tok;

	(void)state;
	assert_int_equal(
		kubeconfig(&c,
			   "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
			   "clusters:\n- name: a\n  cluster: {server: https://a:6443}\n"
			   "- name: b\n  cluster:\n    server: https://10.0.0.1:6443/\n"
			   "    certificate-authority-data: UEVNCg==\n"
			   "contexts:\n- name: b\n  context: {cluster: b, user: u}\n"
			   "users:\n- name: u\n  user:\n    client-certificate: certs/u.crt\n"
			   "    client-key-data: S0VZ\n    token: abc\n",
			   err),
		0);
	assert_string_equal(c.server, "https://10.0.0.1:6443");
	assert_int_equal(c.ca_pem_len, 4);
	assert_memory_equal(c.ca_pem, "PEM\n", 4);
	snprintf(want, sizeof(want), "%s/certs/u.crt", dir);
	assert_string_equal(c.cert_file, want);
	assert_int_equal(c.key_pem_len, 3);
	tok = weir_k8s_conn_token(&c);
	assert_string_equal(tok, "abc");
	free(tok);
	weir_k8s_conn_release(&c);

	/* JSON is YAML too; tokenFile is read at each request. */
	write_file("tok", "from-file\n");
	assert_int_equal(
		kubeconfig(&c,
			   "{\"current-context\": \"x\", \"clusters\": [{\"name\": \"x\","
			   " \"cluster\": {\"server\": \"http://127.0.0.1:8080\","
			   " \"insecure-skip-tls-verify\": true}}], \"contexts\": [{\"name\":"
			   " \"x\", \"context\": {\"cluster\": \"x\", \"user\": \"y\"}}],"
			   " \"users\": [{\"name\": \"y\", \"user\": {\"tokenFile\": \"tok\"}}]}",
			   err),
		0);
	assert_true(c.insecure);
	tok = weir_k8s_conn_token(&c);
	assert_string_equal(tok, "from-file");
	free(tok);
	weir_k8s_conn_release(&c);

	assert_int_equal(kubeconfig(&c, "clusters: []\n", err), -EINVAL);
	assert_non_null(strstr(err, "current-context"));
	assert_int_equal(kubeconfig(&c, "current-context: x\ncontexts: []\n", err), -EINVAL);
	assert_int_equal(
		kubeconfig(&c,
			   "current-context: x\ncontexts:\n- name: x\n  context: {cluster: "
			   "c, user: u}\nclusters:\n- name: c\n  cluster: {server: "
			   "https://c}\nusers:\n- name: u\n  user:\n    exec: {command: "
			   "aws}\n",
			   err),
		-EINVAL);
	assert_non_null(strstr(err, "exec"));
	assert_int_equal(
		kubeconfig(&c,
			   "current-context: x\ncontexts:\n- name: x\n  context: {cluster: "
			   "c}\nclusters:\n- name: c\n  cluster: {server: ftp://c}\n",
			   err),
		-EINVAL);
	assert_int_equal(kubeconfig(&c, "current-context: [\n", err), -EINVAL);
}

static const char *const *fake;

static const char *fake_getenv(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; fake[i]; i++)
		if (!strncmp(fake[i], name, n) && fake[i][n] == '=')
			return fake[i] + n + 1;
	return NULL;
}

static void in_cluster(void **state)
{
	static const char *const v4[] = { "KUBERNETES_SERVICE_HOST=10.96.0.1",
					  "KUBERNETES_SERVICE_PORT=443", NULL };
	static const char *const v6[] = { "KUBERNETES_SERVICE_HOST=fd00::1",
					  "KUBERNETES_SERVICE_PORT=443", NULL };
	static const char *const none[] = { NULL };
	struct weir_k8s_conn c;
	char err[ERR_LEN], *tok;

	(void)state;
	write_file("token", "sa-token\n");
	fake = v4;
	assert_int_equal(weir_k8s_conn_in_cluster(&c, dir, fake_getenv, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://10.96.0.1:443");
	assert_non_null(strstr(c.ca_file, "/ca.crt"));
	/* Rotated tokens are picked up: the file is read for each request. */
	write_file("token", "rotated\n");
	tok = weir_k8s_conn_token(&c);
	assert_string_equal(tok, "rotated");
	free(tok);
	weir_k8s_conn_release(&c);
	fake = v6;
	assert_int_equal(weir_k8s_conn_in_cluster(&c, dir, fake_getenv, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://[fd00::1]:443");
	weir_k8s_conn_release(&c);
	fake = none;
	assert_int_equal(weir_k8s_conn_in_cluster(&c, dir, fake_getenv, err, sizeof(err)), -EINVAL);
	fake = v4;
	assert_int_equal(
		weir_k8s_conn_in_cluster(&c, "/nonexistent", fake_getenv, err, sizeof(err)),
		-EINVAL);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(owner_workloads),
		cmocka_unit_test(pod_docs),
		cmocka_unit_test(watch_events_follow_the_pod),
		cmocka_unit_test(replace_skips_bad_pods_and_registrations_borrow_labels),
		cmocka_unit_test(damaged_events_are_refused),
		cmocka_unit_test(kubeconfig_subset),
		cmocka_unit_test(in_cluster),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
