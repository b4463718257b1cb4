// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Policy documents: parsing, validation, and the entries they make. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "doc_check.h"
#include "identity.h"
#include "label_selector.h"
#include "policy_doc.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

static bool label_chars_ok(const char *s, bool key)
{
	if (!*s || strlen(s) > 253)
		return false;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || (key && (c == '/' || c == ':'))))
			return false;
	}
	return true;
}

/* {"app": "web"} (+ namespace) -> a selector "app=web,k8s:io...=ns". */
static int selector_of(const json_t *labels, const char *ns, const char *where, const char *field,
		       struct weir_label_selector **out, char *err, size_t err_len)
{
	char text[4096], serr[256], f[96];
	const char *key;
	const json_t *v;
	size_t n = 0;

	text[0] = '\0';
	if (labels && (!json_is_object(labels) || !json_object_size(labels)))
		return weir_doc_err(err, err_len, "policy", where, field,
				    "must be a non-empty object of label keys and values");
	json_object_foreach((json_t *)labels, key, v)
	{
		snprintf(f, sizeof(f), "%s.%.64s", field, key);
		if (!label_chars_ok(key, true))
			return weir_doc_err(
				err, err_len, "policy", where, f,
				"label key must be letters, digits, '.', '_', '-', '/', ':'");
		if (!json_is_string(v) || !label_chars_ok(json_string_value(v), false))
			return weir_doc_err(
				err, err_len, "policy", where, f,
				"label value must be a non-empty string of letters, digits, "
				"'.', '_', '-'");
		n += (size_t)snprintf(text + n, n < sizeof(text) ? sizeof(text) - n : 0, "%s%s=%s",
				      n ? "," : "", key, json_string_value(v));
	}
	if (ns)
		n += (size_t)snprintf(text + n, n < sizeof(text) ? sizeof(text) - n : 0,
				      "%s" WEIR_NAMESPACE_LABEL "=%s", n ? "," : "", ns);
	if (n >= sizeof(text))
		return weir_doc_err(err, err_len, "policy", where, field, "too many labels");
	if (weir_label_selector_parse(text, out, serr, sizeof(serr)))
		return weir_doc_err(err, err_len, "policy", where, field, "%s", serr);
	return 0;
}

static int get_ns(const json_t *o, const char *where, char **out, char *err, size_t err_len)
{
	const json_t *v = json_object_get(o, "namespace");

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || !label_chars_ok(json_string_value(v), false))
		return weir_doc_err(err, err_len, "policy", where, "namespace",
				    "must be a non-empty string of letters, digits, '.', '_', '-'");
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

int weir_cidr_parse(const char *s, struct weir_cidr *out)
{
	char addr[64], text[INET6_ADDRSTRLEN], *slash, *end;
	unsigned long plen;
	int max, i;

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(addr))
		return -EINVAL;
	snprintf(addr, sizeof(addr), "%s", s);
	slash = strchr(addr, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*slash = '\0';
	if (inet_pton(AF_INET, addr, out->bytes) == 1) {
		out->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->bytes) == 1) {
		out->family = 6;
		max = 128;
	} else {
		return -EINVAL;
	}
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (errno || *end || plen > (unsigned long)max || slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	out->prefixlen = (uint8_t)plen;
	for (i = (int)plen; i < max; i++) /* clear the host bits */
		out->bytes[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	inet_ntop(out->family == 4 ? AF_INET : AF_INET6, out->bytes, text, sizeof(text));
	snprintf(out->text, sizeof(out->text), "%s/%u", text, out->prefixlen);
	return 0;
}

bool weir_cidr_contains(const struct weir_cidr *c, uint8_t family, const uint8_t *bytes,
			uint8_t prefixlen)
{
	int i;

	if (c->family != family || prefixlen < c->prefixlen)
		return false;
	for (i = 0; i < c->prefixlen; i++) {
		uint8_t m = 0x80 >> (i % 8);

		if ((c->bytes[i / 8] & m) != (bytes[i / 8] & m))
			return false;
	}
	return true;
}

static int parse_proto(const json_t *v, const char *where, uint8_t *out, char *err, size_t err_len)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} protos[] = { { "ANY", 0 },
		       { "TCP", IPPROTO_TCP },
		       { "UDP", IPPROTO_UDP },
		       { "SCTP", IPPROTO_SCTP },
		       { "ICMP", IPPROTO_ICMP },
		       { "ICMPv4", IPPROTO_ICMP },
		       { "ICMPv6", IPPROTO_ICMPV6 } };
	size_t i;

	*out = 0;
	if (!v)
		return 0;
	for (i = 0; json_is_string(v) && i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcasecmp(protos[i].name, json_string_value(v))) {
			*out = protos[i].proto;
			return 0;
		}
	}
	return weir_doc_err(err, err_len, "policy", where, "protocol",
			    "must be TCP, UDP, SCTP, ICMP, ICMPv6 or ANY");
}

static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int parse_ports(const json_t *arr, const char *where, struct weir_policy_rule *r, char *err,
		       size_t err_len)
{
	char buf[32], f[32], *dash;
	const json_t *v;
	size_t i;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > WEIR_POLICY_PORTS_MAX)
		return weir_doc_err(err, err_len, "policy", where, "ports",
				    "must be a list of 1 to %d ports (\"80\", \"8000-8080\")",
				    WEIR_POLICY_PORTS_MAX);
	if (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6)
		return weir_doc_err(err, err_len, "policy", where, "ports", "ICMP has no ports");
	r->ports = calloc(json_array_size(arr), sizeof(*r->ports));
	if (!r->ports)
		return -ENOMEM;
	json_array_foreach(arr, i, v)
	{
		struct weir_port_range *p = &r->ports[i];

		snprintf(f, sizeof(f), "ports[%zu]", i);
		if (json_is_integer(v) && json_integer_value(v) >= 1 &&
		    json_integer_value(v) <= 65535) {
			p->lo = p->hi = (uint16_t)json_integer_value(v);
		} else if (json_is_string(v) && strlen(json_string_value(v)) < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%s", json_string_value(v));
			dash = strchr(buf, '-');
			if (dash)
				*dash = '\0';
			if (parse_port(buf, &p->lo) || (dash && parse_port(dash + 1, &p->hi)) ||
			    (dash && p->hi < p->lo))
				return weir_doc_err(
					err, err_len, "policy", where, f,
					"\"%s\" is not a port (1-65535) or a range LO-HI "
					"with LO <= HI",
					json_string_value(v));
			if (!dash)
				p->hi = p->lo;
		} else {
			return weir_doc_err(err, err_len, "policy", where, f,
					    "must be a port (1-65535) or a range \"LO-HI\"");
		}
		r->n_ports++;
	}
	return 0;
}

static int parse_action(const json_t *v, const char *where, const char *field, uint8_t *out,
			char *err, size_t err_len)
{
	if (!v)
		return 0; /* the caller's default stands */
	if (json_is_string(v) && !strcmp(json_string_value(v), "allow"))
		*out = WEIR_POLICY_ALLOW;
	else if (json_is_string(v) && !strcmp(json_string_value(v), "deny"))
		*out = WEIR_POLICY_DENY;
	else
		return weir_doc_err(err, err_len, "policy", where, field,
				    "must be \"allow\" or \"deny\"");
	return 0;
}

static int parse_peer(const json_t *o, const char *where, struct weir_policy_rule *r, char *err,
		      size_t err_len)
{
	static const char *const known[] = { "labels", "namespace", "cidr", NULL };
	const json_t *cidr = json_object_get(o, "cidr"), *labels = json_object_get(o, "labels");
	char *ns = NULL;
	int ret;

	if (!json_is_object(o))
		return weir_doc_err(err, err_len, "policy", where, "",
				    "must be an object with labels or cidr");
	ret = weir_doc_check_keys(o, known, "policy", where, "", err, err_len);
	if (ret)
		return ret;
	if (cidr && (labels || json_object_get(o, "namespace")))
		return weir_doc_err(err, err_len, "policy", where, "cidr",
				    "cannot go with labels or namespace");
	if (cidr) {
		if (!json_is_string(cidr) || weir_cidr_parse(json_string_value(cidr), &r->cidr))
			return weir_doc_err(err, err_len, "policy", where, "cidr",
					    "must be an address prefix such as \"10.0.0.0/8\"");
		r->peer = WEIR_PEER_CIDR;
		return 0;
	}
	ret = get_ns(o, where, &ns, err, err_len);
	if (ret)
		return ret;
	if (!labels && !ns) {
		free(ns);
		return weir_doc_err(err, err_len, "policy", where, "",
				    "needs labels, namespace or cidr");
	}
	ret = selector_of(labels, ns, where, "labels", &r->sel, err, err_len);
	free(ns);
	r->peer = WEIR_PEER_LABELS;
	return ret;
}

static int parse_rule(const json_t *o, const char *where, bool ingress, struct weir_policy_rule *r,
		      char *err, size_t err_len)
{
	static const char *const known_in[] = { "action", "from", "protocol", "ports", NULL };
	static const char *const known_out[] = { "action", "to", "protocol", "ports", NULL };
	const char *peer_field = ingress ? "from" : "to";
	const json_t *peer;
	char w[160];
	int ret;

	r->action = WEIR_POLICY_ALLOW;
	if (!json_is_object(o))
		return weir_doc_err(err, err_len, "policy", where, "", "must be an object");
	ret = weir_doc_check_keys(o, ingress ? known_in : known_out, "policy", where, "", err,
				  err_len);
	ret = ret   ?:
		      parse_action(json_object_get(o, "action"), where, "action", &r->action, err,
				   err_len);
	ret = ret ?: parse_proto(json_object_get(o, "protocol"), where, &r->proto, err, err_len);
	ret = ret ?: parse_ports(json_object_get(o, "ports"), where, r, err, err_len);
	if (ret)
		return ret;
	peer = json_object_get(o, peer_field);
	if (!peer)
		return 0;
	snprintf(w, sizeof(w), "%s%s%s", where, *where ? "." : "", peer_field);
	return parse_peer(peer, w, r, err, err_len);
}

static int parse_dir(const json_t *o, const char *where, bool ingress, struct weir_policy_side *d,
		     char *err, size_t err_len)
{
	static const char *const known[] = { "default", "rules", NULL };
	const json_t *rules, *r;
	char w[128];
	size_t i;
	int ret;

	d->def_action = WEIR_POLICY_ALLOW;
	if (!o)
		return 0;
	d->present = true;
	if (!json_is_object(o))
		return weir_doc_err(err, err_len, "policy", where, "",
				    "must be an object with default and rules");
	ret = weir_doc_check_keys(o, known, "policy", where, "", err, err_len);
	ret = ret   ?:
		      parse_action(json_object_get(o, "default"), where, "default", &d->def_action,
				   err, err_len);
	if (ret)
		return ret;
	rules = json_object_get(o, "rules");
	if (!rules)
		return 0;
	if (!json_is_array(rules) || json_array_size(rules) > WEIR_POLICY_RULES_MAX)
		return weir_doc_err(err, err_len, "policy", where, "rules",
				    "must be a list of at most %d rules", WEIR_POLICY_RULES_MAX);
	d->rules = calloc(json_array_size(rules) ? json_array_size(rules) : 1, sizeof(*d->rules));
	if (!d->rules)
		return -ENOMEM;
	json_array_foreach(rules, i, r)
	{
		snprintf(w, sizeof(w), "%s.rules[%zu]", where, i);
		d->n_rules = i + 1;
		ret = parse_rule(r, w, ingress, &d->rules[i], err, err_len);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_endpoint(const json_t *o, const char *where, struct weir_policy *p, char *err,
			  size_t err_len)
{
	static const char *const known[] = { "namespace", "pod", "labels", NULL };
	const json_t *pod = json_object_get(o, "pod"), *labels = json_object_get(o, "labels");
	int ret;

	if (!json_is_object(o))
		return weir_doc_err(
			err, err_len, "policy", where, "",
			"is required: {\"namespace\": .., \"pod\": ..} or {\"labels\": {..}}");
	ret = weir_doc_check_keys(o, known, "policy", where, "", err, err_len);
	ret = ret ?: get_ns(o, where, &p->ep_namespace, err, err_len);
	if (ret)
		return ret;
	if (pod && labels)
		return weir_doc_err(err, err_len, "policy", where, "pod", "cannot go with labels");
	if (pod) {
		if (!p->ep_namespace)
			return weir_doc_err(err, err_len, "policy", where, "namespace",
					    "is required with pod");
		if (!json_is_string(pod) || !label_chars_ok(json_string_value(pod), false))
			return weir_doc_err(err, err_len, "policy", where, "pod",
					    "must be a pod name");
		p->ep_pod = strdup(json_string_value(pod));
		return p->ep_pod ? 0 : -ENOMEM;
	}
	if (!labels)
		return weir_doc_err(err, err_len, "policy", where, "", "needs pod or labels");
	return selector_of(labels, NULL, where, "labels", &p->ep_sel, err, err_len);
}

int weir_policy_parse(const json_t *doc, const char *where, struct weir_policy **out, char *err,
		      size_t err_len)
{
	static const char *const known[] = {
		"name", "endpoint", "mode", "ingress", "egress", NULL
	};
	const json_t *name = json_object_get(doc, "name"), *mode = json_object_get(doc, "mode");
	struct weir_policy *p;
	char w[128];
	int ret;

	if (!json_is_object(doc))
		return weir_doc_err(err, err_len, "policy", where, "", "must be a JSON object");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = weir_doc_check_keys(doc, known, "policy", where, "", err, err_len);
	if (ret)
		goto err_free;
	if (!json_is_string(name) || !label_chars_ok(json_string_value(name), false) ||
	    strlen(json_string_value(name)) > WEIR_POLICY_NAME_MAX) {
		ret = weir_doc_err(err, err_len, "policy", where, "name",
				   "is required: letters, digits, '.', '_', '-', at most %d",
				   WEIR_POLICY_NAME_MAX);
		goto err_free;
	}
	p->name = strdup(json_string_value(name));
	ret = -ENOMEM;
	if (!p->name)
		goto err_free;
	if (mode && (!json_is_string(mode) || (strcmp(json_string_value(mode), "enforce") != 0 &&
					       strcmp(json_string_value(mode), "audit") != 0))) {
		ret = weir_doc_err(err, err_len, "policy", where, "mode",
				   "must be \"enforce\" or \"audit\"");
		goto err_free;
	}
	p->audit = mode && !strcmp(json_string_value(mode), "audit");
	snprintf(w, sizeof(w), "%s%sendpoint", where, *where ? "." : "");
	ret = parse_endpoint(json_object_get(doc, "endpoint"), w, p, err, err_len);
	if (ret)
		goto err_free;
	snprintf(w, sizeof(w), "%s%singress", where, *where ? "." : "");
	ret = parse_dir(json_object_get(doc, "ingress"), w, true, &p->dir[0], err, err_len);
	if (ret)
		goto err_free;
	snprintf(w, sizeof(w), "%s%segress", where, *where ? "." : "");
	ret = parse_dir(json_object_get(doc, "egress"), w, false, &p->dir[1], err, err_len);
	if (ret)
		goto err_free;
	if (!p->dir[0].present && !p->dir[1].present) {
		ret = weir_doc_err(err, err_len, "policy", where, "ingress",
				   "or egress is required");
		goto err_free;
	}
	p->doc = json_deep_copy(doc);
	ret = -ENOMEM;
	if (!p->doc)
		goto err_free;
	*out = p;
	return 0;

err_free:
	if (ret == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	weir_policy_free(p);
	return ret;
}

void weir_policy_free(struct weir_policy *p)
{
	size_t d, i;

	if (!p)
		return;
	for (d = 0; d < 2; d++) {
		for (i = 0; i < p->dir[d].n_rules; i++) {
			weir_label_selector_free(p->dir[d].rules[i].sel);
			free(p->dir[d].rules[i].ports);
		}
		free(p->dir[d].rules);
	}
	weir_label_selector_free(p->ep_sel);
	free(p->ep_namespace);
	free(p->ep_pod);
	free(p->name);
	json_decref(p->doc);
	free(p);
}

bool weir_policy_selects(const struct weir_policy *p, const struct weir_policy_subject *s)
{
	if (!s->namespace || !s->pod_name)
		return false;
	if (p->ep_namespace && strcmp(p->ep_namespace, s->namespace) != 0)
		return false;
	if (p->ep_pod)
		return !strcmp(p->ep_pod, s->pod_name);
	return weir_label_selector_match(p->ep_sel, (const char *const *)s->labels, s->n_labels,
					 NULL);
}

/* --- entries ------------------------------------------------------------ */

static int entry_push(struct weir_policy_entries *es, uint32_t identity, uint8_t dir, uint8_t proto,
		      uint16_t port, uint32_t prefixlen, uint8_t action, uint8_t flags)
{
	struct weir_policy_entry *e;

	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 64;
		struct weir_policy_entry *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		es->v = v;
		es->cap = cap;
	}
	e = &es->v[es->n++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = prefixlen;
	e->key.identity = htonl(identity);
	e->key.dir = dir;
	e->key.proto = proto;
	e->key.dport = htons(port);
	e->val.action = action;
	e->val.flags = flags;
	return 0;
}

/* A port range as aligned power-of-two blocks: (port, prefixlen) entries. */
static int push_range(struct weir_policy_entries *es, uint32_t id, uint8_t dir, uint8_t proto,
		      struct weir_port_range r, uint8_t action, uint8_t flags)
{
	uint32_t lo = r.lo, hi = r.hi;
	int ret = 0;

	while (lo <= hi && !ret) {
		uint32_t k = 0;

		/* the largest block aligned at lo that ends within hi */
		while (k < 16 && !(lo & ((2u << k) - 1)) && lo + (2u << k) - 1 <= hi)
			k++;
		ret = entry_push(es, id, dir, proto, (uint16_t)lo, WEIR_POLICY_PREFIX_FULL - k,
				 action, flags);
		lo += 1u << k;
	}
	return ret;
}

static int push_rule(struct weir_policy_entries *es, uint32_t id, uint8_t dir,
		     const struct weir_policy_rule *r, uint8_t flags)
{
	static const uint8_t l4[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	size_t i, j;
	int ret = 0;

	if (!r->proto && !r->n_ports)
		return entry_push(es, id, dir, 0, 0, WEIR_POLICY_PREFIX_DIR, r->action, flags);
	for (j = 0; j < (r->proto ? 1 : sizeof(l4)) && !ret; j++) {
		uint8_t proto = r->proto ? r->proto : l4[j];

		if (!r->n_ports)
			ret = entry_push(es, id, dir, proto, 0, WEIR_POLICY_PREFIX_PROTO, r->action,
					 flags);
		for (i = 0; i < r->n_ports && !ret; i++)
			ret = push_range(es, id, dir, proto, r->ports[i], r->action, flags);
	}
	return ret;
}

struct label_match {
	const struct weir_label_selector *sel;
	struct weir_policy_entries *es;
	const struct weir_policy_rule *r;
	uint8_t dir, flags;
	int ret;
};

static void on_label_identity(void *ctx, uint32_t id, char *const *labels, size_t n)
{
	struct label_match *m = ctx;

	if (!m->ret && weir_label_selector_match(m->sel, (const char *const *)labels, n, NULL))
		m->ret = push_rule(m->es, id, m->dir, m->r, m->flags);
}

int weir_policy_entries_add(struct weir_policy_entries *es, const struct weir_policy *p,
			    const struct weir_identities *ids, const struct weir_cidr *cidrs,
			    const uint32_t *cidr_ids, size_t n_cidrs)
{
	uint8_t flags = p->audit ? WEIR_POLICY_F_AUDIT : 0;
	size_t d, i, c;
	int ret = 0;

	for (d = 0; d < 2 && !ret; d++) {
		const struct weir_policy_side *pd = &p->dir[d];
		uint8_t dir = d ? WEIR_POLICY_EGRESS : WEIR_POLICY_INGRESS;

		if (!pd->present)
			continue;
		ret = entry_push(es, WEIR_ID_ANY, dir, 0, 0, WEIR_POLICY_PREFIX_DIR, pd->def_action,
				 flags | WEIR_POLICY_F_DEFAULT);
		for (i = 0; i < pd->n_rules && !ret; i++) {
			const struct weir_policy_rule *r = &pd->rules[i];
			struct label_match m = { r->sel, es, r, dir, flags, 0 };

			switch (r->peer) {
			case WEIR_PEER_ANY:
				ret = push_rule(es, WEIR_ID_ANY, dir, r, flags);
				break;
			case WEIR_PEER_LABELS:
				weir_identities_for_each_labels(ids, on_label_identity, &m);
				ret = m.ret;
				break;
			case WEIR_PEER_CIDR:
				for (c = 0; c < n_cidrs && !ret; c++)
					if (weir_cidr_contains(&r->cidr, cidrs[c].family,
							       cidrs[c].bytes, cidrs[c].prefixlen))
						ret = push_rule(es, cidr_ids[c], dir, r, flags);
				break;
			}
		}
	}
	return ret;
}

static int key_cmp(const void *a, const void *b)
{
	const struct weir_policy_entry *x = a, *y = b;

	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* One key, two entries: a rule beats a default; otherwise deny wins, and a
 * deny (or allow) stays audit-only if both are.
 */
static void merge(struct weir_policy_value *into, const struct weir_policy_value *v)
{
	bool into_def = into->flags & WEIR_POLICY_F_DEFAULT,
	     v_def = v->flags & WEIR_POLICY_F_DEFAULT;
	uint8_t audit;

	if (into_def != v_def &&
	    !(into->action == WEIR_POLICY_DENY && v->action == WEIR_POLICY_DENY)) {
		if (into_def)
			*into = *v;
		return;
	}
	if (into->action != v->action) {
		if (v->action == WEIR_POLICY_DENY)
			*into = *v;
		return;
	}
	audit = (into->flags & v->flags) & WEIR_POLICY_F_AUDIT;
	into->flags = (uint8_t)(((into->flags & v->flags) & WEIR_POLICY_F_DEFAULT) | audit);
}

/* The key with its port/protocol bits past prefixlen cleared. */
static struct weir_policy_key key_masked(struct weir_policy_key k, uint32_t prefixlen)
{
	uint16_t port = ntohs(k.dport);

	k.prefixlen = prefixlen;
	if (prefixlen <= WEIR_POLICY_PREFIX_DIR)
		k.proto = 0;
	if (prefixlen <= WEIR_POLICY_PREFIX_PROTO)
		port = 0;
	else if (prefixlen < WEIR_POLICY_PREFIX_FULL)
		port &= (uint16_t)(0xffff << (WEIR_POLICY_PREFIX_FULL - prefixlen));
	k.dport = htons(port);
	return k;
}

int weir_policy_entries_finish(struct weir_policy_entries *es)
{
	size_t i, o = 0;
	uint32_t plen;

	if (!es->n)
		return 0;
	for (i = 0; i < es->n; i++) /* bits past the prefix must not make keys differ */
		es->v[i].key = key_masked(es->v[i].key, es->v[i].key.prefixlen);
	qsort(es->v, es->n, sizeof(es->v[0]), key_cmp);
	for (i = 1; i < es->n; i++) {
		if (!key_cmp(&es->v[o], &es->v[i]))
			merge(&es->v[o].val, &es->v[i].val);
		else
			es->v[++o] = es->v[i];
	}
	es->n = o + 1;
	/* An allow under a broader deny of the same peer would win the longest
	 * prefix match: drop it, so the deny answers.
	 */
	for (i = 0; i < es->n; i++) {
		struct weir_policy_entry *e = &es->v[i];
		bool covered = false;

		for (plen = WEIR_POLICY_PREFIX_DIR;
		     e->val.action == WEIR_POLICY_ALLOW &&
		     !(e->val.flags & WEIR_POLICY_F_DEFAULT) && plen < e->key.prefixlen && !covered;
		     plen++) {
			struct weir_policy_entry probe = { .key = key_masked(e->key, plen) };
			const struct weir_policy_entry *d =
				bsearch(&probe, es->v, es->n, sizeof(es->v[0]), key_cmp);

			covered = d && d->val.action == WEIR_POLICY_DENY &&
				  !(d->val.flags & WEIR_POLICY_F_DEFAULT);
		}
		e->val.pad[0] = covered; /* the array stays whole while others search it */
	}
	for (i = 0, o = 0; i < es->n; i++) {
		if (!es->v[i].val.pad[0])
			es->v[o++] = es->v[i];
	}
	es->n = o;
	return 0;
}

void weir_policy_entries_release(struct weir_policy_entries *es)
{
	free(es->v);
	memset(es, 0, sizeof(*es));
}
