// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Policy documents: every bad field refused by name, port ranges as port
 * prefixes, deny-wins merging, label and CIDR resolution into identities,
 * and the identity table's round trip through the state file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "identity.h"
#include "policy_doc.h"

static int parse(const char *text, struct weir_policy **out, char *err, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	int ret;

	assert_non_null(doc);
	ret = weir_policy_parse(doc, "", out, err, len);
	json_decref(doc);
	return ret;
}

#define EP "\"endpoint\": {\"labels\": {\"app\": \"db\"}}"

static void refused(const char *text, const char *field)
{
	struct weir_policy *p = NULL;
	char err[256] = "";

	assert_int_equal(parse(text, &p, err, sizeof(err)), -EINVAL);
	assert_null(p);
	if (strncmp(err, field, strlen(field)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, field);
}

static void bad_documents_name_the_field(void **state)
{
	(void)state;
	refused("[]", "policy");
	refused("{\"endpoint\": {\"pod\": \"x\", \"namespace\": \"y\"}, \"ingress\": {}}", "name");
	refused("{\"name\": \"a b\", " EP ", \"ingress\": {}}", "name");
	refused("{\"name\": \"a\", \"ingress\": {}}", "endpoint");
	refused("{\"name\": \"a\", \"endpoint\": {\"pod\": \"x\"}, \"ingress\": {}}",
		"endpoint.namespace");
	refused("{\"name\": \"a\", " EP "}", "ingress");
	refused("{\"name\": \"a\", " EP ", \"mode\": \"loud\", \"ingress\": {}}", "mode");
	refused("{\"name\": \"a\", " EP ", \"colour\": 1, \"ingress\": {}}",
		"policy: unknown key \"colour\"");
	refused("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\": [{\"prot\": \"TCP\"}]}}",
		"ingress.rules[0]: unknown key \"prot\"");
	refused("{\"name\": \"a\", " EP ", \"ingress\": {\"default\": \"maybe\"}}",
		"ingress.default");
	refused("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\": [{\"action\": \"drop\"}]}}",
		"ingress.rules[0].action");
	refused("{\"name\": \"a\", " EP
		", \"ingress\": {\"rules\": [{}, {\"protocol\": \"GRE\"}]}}",
		"ingress.rules[1].protocol");
	refused("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\": [{\"ports\": [\"80\","
		" \"90-80\"]}]}}",
		"ingress.rules[0].ports[1]");
	refused("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\": [{\"ports\": [\"65536\"]}]}}",
		"ingress.rules[0].ports[0]");
	refused("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\": [{\"protocol\": \"ICMP\","
		" \"ports\": [\"1\"]}]}}",
		"ingress.rules[0].ports");
	refused("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\": [{\"from\": {\"cidr\":"
		" \"10.0.0.0/33\"}}]}}",
		"ingress.rules[0].from.cidr");
	refused("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\": [{\"to\": {}}]}}",
		"ingress.rules[0]: unknown key \"to\"");
	refused("{\"name\": \"a\", " EP ", \"egress\": {\"rules\": [{\"to\": {\"labels\":"
		" {\"app\": \"x,y\"}}}]}}",
		"egress.rules[0].to.labels.app");
	refused("{\"name\": \"a\", " EP
		", \"egress\": {\"rules\": [{\"to\": {\"cidr\": \"10.0.0.0/8\","
		" \"labels\": {\"a\": \"b\"}}}]}}",
		"egress.rules[0].to.cidr");
}

static void good_document_parses(void **state)
{
	struct weir_policy *p = NULL;
	char err[256] = "";
	char *labels[] = { "k8s:app=db", "k8s:io.kubernetes.pod.namespace=shop" };
	struct weir_policy_subject db = { "shop", "db-0", labels, 2 };

	(void)state;
	assert_int_equal(parse("{\"name\": \"db\", \"mode\": \"audit\", \"endpoint\":"
			       " {\"namespace\": \"shop\", \"labels\": {\"app\": \"db\"}},"
			       " \"ingress\": {\"default\": \"deny\", \"rules\": [{\"from\":"
			       " {\"cidr\": \"10.1.2.3/8\"}, \"protocol\": \"udp\", \"ports\":"
			       " [53, \"8000-8080\"]}]}}",
			       &p, err, sizeof(err)),
			 0);
	assert_true(p->audit);
	assert_true(p->dir[0].present);
	assert_false(p->dir[1].present);
	assert_int_equal(p->dir[0].def_action, WEIR_POLICY_DENY);
	assert_int_equal(p->dir[0].rules[0].proto, IPPROTO_UDP);
	assert_string_equal(p->dir[0].rules[0].cidr.text, "10.0.0.0/8");
	assert_int_equal(p->dir[0].rules[0].n_ports, 2);
	assert_int_equal(p->dir[0].rules[0].ports[1].lo, 8000);
	assert_int_equal(p->dir[0].rules[0].ports[1].hi, 8080);
	assert_true(weir_policy_selects(p, &db));
	db.namespace = "other";
	assert_false(weir_policy_selects(p, &db));
	weir_policy_free(p);
}

static struct weir_policy *must_parse(const char *text)
{
	struct weir_policy *p = NULL;
	char err[256] = "";

	if (parse(text, &p, err, sizeof(err)))
		fail_msg("%s", err);
	return p;
}

/* The entry for (identity, proto, port) under longest-prefix match, as the
 * datapath's LPM trie answers it, or NULL.
 */
static const struct weir_policy_entry *lpm(const struct weir_policy_entries *es, uint32_t id,
					   uint8_t proto, uint16_t port)
{
	const struct weir_policy_entry *best = NULL;
	size_t i;

	for (i = 0; i < es->n; i++) {
		const struct weir_policy_key *k = &es->v[i].key;
		uint32_t plen = k->prefixlen;
		uint16_t kp = ntohs(k->dport);

		if (ntohl(k->identity) != id || k->dir != WEIR_POLICY_INGRESS)
			continue;
		if (plen > WEIR_POLICY_PREFIX_DIR && k->proto != proto)
			continue;
		if (plen > WEIR_POLICY_PREFIX_PROTO &&
		    (port ^ kp) >> (WEIR_POLICY_PREFIX_FULL - plen))
			continue;
		if (!best || plen > best->key.prefixlen)
			best = &es->v[i];
	}
	return best;
}

static void port_ranges_become_port_prefixes(void **state)
{
	struct weir_policy *p =
		must_parse("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\":"
			   " [{\"protocol\": \"TCP\", \"ports\": [\"8000-8080\"]}]}}");
	struct weir_policy_entries es = { 0 };
	struct weir_identities *ids;
	unsigned int port;

	(void)state;
	assert_int_equal(weir_identities_new(&ids), 0);
	assert_int_equal(weir_policy_entries_add(&es, p, ids, NULL, NULL, 0), 0);
	assert_int_equal(weir_policy_entries_finish(&es), 0);
	/* 8000-8063 (/58), 8064-8079 (/60), 8080 (/64), plus the default */
	assert_int_equal(es.n, 4);
	for (port = 7990; port <= 8090; port++) {
		const struct weir_policy_entry *e = lpm(&es, WEIR_ID_ANY, IPPROTO_TCP, port);

		assert_non_null(e);
		assert_int_equal(!(e->val.flags & WEIR_POLICY_F_DEFAULT),
				 port >= 8000 && port <= 8080);
	}
	weir_policy_entries_release(&es);
	weir_identities_free(ids);
	weir_policy_free(p);
}

static void deny_wins_and_labels_resolve(void **state)
{
	struct weir_policy *a = must_parse(
		"{\"name\": \"a\", " EP
		", \"mode\": \"audit\", \"ingress\": {\"default\": \"deny\","
		" \"rules\": [{\"from\": {\"labels\": {\"app\": \"web\"}}, \"protocol\": \"TCP\","
		" \"ports\": [\"80\", \"443\"]}]}}");
	struct weir_policy *b = must_parse(
		"{\"name\": \"b\", " EP
		", \"ingress\": {\"rules\": [{\"action\": \"deny\", \"from\":"
		" {\"labels\": {\"app\": \"web\"}, \"namespace\": \"prod\"}, \"protocol\": \"TCP\"}]}}");
	char *web_prod[] = { "k8s:app=web", "k8s:io.kubernetes.pod.namespace=prod" };
	char *web_dev[] = { "k8s:app=web", "k8s:io.kubernetes.pod.namespace=dev" };
	char *db[] = { "k8s:app=db", "k8s:io.kubernetes.pod.namespace=dev" };
	struct weir_policy_entries es = { 0 };
	struct weir_identities *ids;
	const struct weir_policy_entry *e;
	uint32_t prod, dev;

	(void)state;
	assert_int_equal(weir_identities_new(&ids), 0);
	prod = weir_identity_of_labels(ids, web_prod, 2);
	dev = weir_identity_of_labels(ids, web_dev, 2);
	assert_true(prod >= WEIR_IDENTITY_MIN_LOCAL && dev > prod);
	assert_int_equal(weir_identity_of_labels(ids, (char *[]){ web_prod[1], web_prod[0] }, 2),
			 prod);
	assert_true(weir_identity_of_labels(ids, db, 2) > dev);

	assert_int_equal(weir_policy_entries_add(&es, a, ids, NULL, NULL, 0), 0);
	assert_int_equal(weir_policy_entries_add(&es, b, ids, NULL, NULL, 0), 0);
	assert_int_equal(weir_policy_entries_finish(&es), 0);
	/* web in dev: allowed on 80 (an audit-mode policy's allow) */
	e = lpm(&es, dev, IPPROTO_TCP, 80);
	assert_non_null(e);
	assert_int_equal(e->val.action, WEIR_POLICY_ALLOW);
	assert_null(lpm(&es, dev, IPPROTO_TCP, 81));
	/* web in prod: b's broader deny beats a's allow on 80 */
	e = lpm(&es, prod, IPPROTO_TCP, 80);
	assert_non_null(e);
	assert_int_equal(e->val.action, WEIR_POLICY_DENY);
	assert_false(e->val.flags & WEIR_POLICY_F_AUDIT);
	/* the default deny comes from the audit policy only: audit */
	e = lpm(&es, WEIR_ID_ANY, IPPROTO_UDP, 53);
	assert_non_null(e);
	assert_int_equal(e->val.flags, WEIR_POLICY_F_DEFAULT | WEIR_POLICY_F_AUDIT);
	assert_int_equal(e->val.action, WEIR_POLICY_DENY);
	weir_policy_entries_release(&es);
	weir_identities_free(ids);
	weir_policy_free(a);
	weir_policy_free(b);
}

static void cidr_rules_resolve_to_nested_cidr_identities(void **state)
{
	struct weir_policy *p = must_parse("{\"name\": \"a\", " EP ", \"ingress\": {\"rules\":"
					   " [{\"from\": {\"cidr\": \"10.0.0.0/8\"}}]}}");
	struct weir_policy_entries es = { 0 };
	struct weir_identities *ids;
	struct weir_cidr c[3];
	uint32_t cid[3];
	size_t i;

	(void)state;
	assert_int_equal(weir_identities_new(&ids), 0);
	assert_int_equal(weir_cidr_parse("10.0.0.0/8", &c[0]), 0);
	assert_int_equal(weir_cidr_parse("10.1.0.0/16", &c[1]), 0);
	assert_int_equal(weir_cidr_parse("fd00::/8", &c[2]), 0);
	for (i = 0; i < 3; i++) {
		cid[i] = weir_identity_of_cidr(ids, c[i].text);
		assert_true(cid[i] >= WEIR_IDENTITY_CIDR_BASE);
	}
	assert_int_equal(weir_identity_of_cidr(ids, "10.1.0.0/16"), cid[1]);
	assert_int_equal(weir_policy_entries_add(&es, p, ids, c, cid, 3), 0);
	assert_int_equal(weir_policy_entries_finish(&es), 0);
	assert_non_null(lpm(&es, cid[0], IPPROTO_TCP, 1));
	assert_non_null(lpm(&es, cid[1], IPPROTO_UDP, 1)); /* inside 10/8 */
	assert_null(lpm(&es, cid[2], IPPROTO_UDP, 1));	   /* not inside */
	weir_policy_entries_release(&es);
	weir_identities_free(ids);
	weir_policy_free(p);
}

static void identities_survive_the_state_file(void **state)
{
	struct weir_identities *a, *b;
	char *l1[] = { "k8s:app=web" }, *l2[] = { "k8s:app=db" };
	uint32_t i1, i2, c1;
	json_t *j;

	(void)state;
	assert_int_equal(weir_identities_new(&a), 0);
	i1 = weir_identity_of_labels(a, l1, 1);
	i2 = weir_identity_of_labels(a, l2, 1);
	c1 = weir_identity_of_cidr(a, "192.0.2.0/24");
	j = weir_identities_to_json(a);
	assert_non_null(j);
	assert_int_equal(weir_identities_new(&b), 0);
	assert_int_equal(weir_identities_from_json(b, j), 0);
	assert_int_equal(weir_identity_of_labels(b, l2, 1), i2);
	assert_int_equal(weir_identity_of_labels(b, l1, 1), i1);
	assert_int_equal(weir_identity_of_cidr(b, "192.0.2.0/24"), c1);
	assert_true(weir_identity_of_labels(b, (char *[]){ "k8s:app=new" }, 1) > i2);
	json_decref(j);
	weir_identities_free(a);
	weir_identities_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_documents_name_the_field),
		cmocka_unit_test(good_document_parses),
		cmocka_unit_test(port_ranges_become_port_prefixes),
		cmocka_unit_test(deny_wins_and_labels_resolve),
		cmocka_unit_test(cidr_rules_resolve_to_nested_cidr_identities),
		cmocka_unit_test(identities_survive_the_state_file),
	};

	return cmocka_run_group_tests_name("policy_doc", tests, NULL, NULL);
}
