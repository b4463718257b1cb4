// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Endpoint documents: JSON to a pod endpoint and its addresses, refusing
 * anything unexpected by the name of the field; and the document back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include "doc_check.h"
#include "endpoint_doc.h"

#define IPS_MAX	     256 /* per endpoint; duplicates are found pairwise */
#define FIELD_LEN    384 /* "labels." and the longest label key */
#define LABEL_PREFIX "k8s:"

enum text_rule {
	TEXT_NONEMPTY = 1 << 0,
	TEXT_NO_SLASH = 1 << 1,	 /* names in the API path /v1/endpoints/NAMESPACE/POD */
	TEXT_NO_EQUALS = 1 << 2, /* label keys: "k8s:key=value" must split at the first '=' */
};

/* What is wrong with s under rules, or NULL. Printable means ASCII 0x20-0x7e. */
static const char *text_problem(const char *s, size_t n, size_t max, unsigned int rules, char *buf,
				size_t len)
{
	size_t i;

	if (!n && (rules & TEXT_NONEMPTY))
		return "is empty";
	if (n > max) {
		snprintf(buf, len, "is longer than %zu characters", max);
		return buf;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c < 0x20 || c > 0x7e)
			return "has a non-printable character";
		if (c == '/' && (rules & TEXT_NO_SLASH))
			return "contains '/'";
		if (c == '=' && (rules & TEXT_NO_EQUALS))
			return "contains '='";
	}
	return NULL;
}

static int check_string(const json_t *v, size_t max, unsigned int rules, const char *where,
			const char *field, char *err, size_t err_len)
{
	char shown[WEIR_DOC_SHOW_LEN], why[64];
	const char *problem;

	if (!json_is_string(v))
		return weir_doc_err(err, err_len, "endpoint", where, field, "%s is not a string",
				    weir_doc_show(v, shown, sizeof(shown)));
	problem = text_problem(json_string_value(v), json_string_length(v), max, rules, why,
			       sizeof(why));
	if (problem)
		return weir_doc_err(err, err_len, "endpoint", where, field, "%s %s",
				    weir_doc_show(v, shown, sizeof(shown)), problem);
	return 0;
}

/* A required string: *out points into doc. */
static int get_required(const json_t *obj, const char *key, size_t max, unsigned int rules,
			const char *where, const char *field, const char **out, char *err,
			size_t err_len)
{
	const json_t *v = json_object_get(obj, key);
	int ret;

	if (!v) {
		weir_doc_err(err, err_len, "endpoint", where, field, "is required");
		return -EINVAL;
	}
	ret = check_string(v, max, rules, where, field, err, err_len);
	if (ret)
		return ret;
	*out = json_string_value(v);
	return 0;
}

static int parse_ips(const json_t *doc, const char *where, struct weir_addr **out, size_t *n_out,
		     char *err, size_t err_len)
{
	const json_t *ips = json_object_get(doc, "ips");
	char field[32], shown[WEIR_DOC_SHOW_LEN];
	struct weir_addr *a;
	size_t i, j, n;

	if (!ips)
		return weir_doc_err(err, err_len, "endpoint", where, "ips", "is required");
	n = json_array_size(ips);
	if (!json_is_array(ips) || !n)
		return weir_doc_err(err, err_len, "endpoint", where, "ips",
				    "%s is not a non-empty array of IP addresses",
				    weir_doc_show(ips, shown, sizeof(shown)));
	if (n > IPS_MAX)
		return weir_doc_err(err, err_len, "endpoint", where, "ips",
				    "has %zu addresses, at most %d", n, IPS_MAX);
	a = calloc(n, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(ips, i);

		snprintf(field, sizeof(field), "ips[%zu]", i);
		if (weir_doc_ip(v, &a[i])) {
			free(a);
			return weir_doc_err(err, err_len, "endpoint", where, field,
					    "%s is not an IP address",
					    weir_doc_show(v, shown, sizeof(shown)));
		}
		for (j = 0; j < i; j++) {
			if (!memcmp(&a[j], &a[i], sizeof(a[i]))) {
				free(a);
				return weir_doc_err(err, err_len, "endpoint", where, field,
						    "%s is listed twice (also ips[%zu])",
						    weir_doc_show(v, shown, sizeof(shown)), j);
			}
		}
	}
	*out = a;
	*n_out = n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* labels {"app": "cart"} -> ep->labels ["k8s:app=cart"], sorted. */
static int parse_labels(const json_t *doc, const char *where, struct weir_endpoint *ep, char *err,
			size_t err_len)
{
	const json_t *labels = json_object_get(doc, "labels");
	char field[FIELD_LEN], shown[WEIR_DOC_SHOW_LEN], why[64];
	const char *key, *problem;
	json_t *v;
	size_t n;

	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_object(labels))
		return weir_doc_err(err, err_len, "endpoint", where, "labels",
				    "%s is not an object of strings",
				    weir_doc_show(labels, shown, sizeof(shown)));
	n = json_object_size(labels);
	if (!n)
		return 0;
	ep->labels = calloc(n, sizeof(*ep->labels));
	if (!ep->labels)
		return -ENOMEM;
	json_object_foreach((json_t *)labels, key, v)
	{
		char *label;
		size_t len;
		int ret;

		problem = text_problem(key, strlen(key), WEIR_EP_LABEL_KEY_MAX,
				       TEXT_NONEMPTY | TEXT_NO_EQUALS, why, sizeof(why));
		if (problem)
			return weir_doc_err(
				err, err_len, "endpoint", where, "labels", "key %s %s",
				weir_doc_show_text(key, strlen(key), shown, sizeof(shown)),
				problem);
		snprintf(field, sizeof(field), "labels.%s", key);
		ret = check_string(v, WEIR_EP_NAME_MAX, 0, where, field, err, err_len);
		if (ret)
			return ret;
		len = strlen(LABEL_PREFIX) + strlen(key) + 1 + json_string_length(v) + 1;
		label = malloc(len);
		if (!label)
			return -ENOMEM;
		snprintf(label, len, LABEL_PREFIX "%s=%s", key, json_string_value(v));
		ep->labels[ep->n_labels++] = label;
	}
	qsort(ep->labels, ep->n_labels, sizeof(*ep->labels), cmp_str);
	return 0;
}

static int parse_workload(const json_t *doc, const char *where, struct weir_endpoint *ep, char *err,
			  size_t err_len)
{
	static const char *const known[] = { "name", "kind", NULL };
	const json_t *w = json_object_get(doc, "workload");
	const char *name = NULL, *kind = NULL;
	char shown[WEIR_DOC_SHOW_LEN];
	int ret;

	if (!w || json_is_null(w))
		return 0;
	if (!json_is_object(w))
		return weir_doc_err(err, err_len, "endpoint", where, "workload",
				    "%s is not an object {\"name\", \"kind\"}",
				    weir_doc_show(w, shown, sizeof(shown)));
	ret = weir_doc_check_keys(w, known, "endpoint", where, "workload", err, err_len);
	if (!ret)
		ret = get_required(w, "name", WEIR_EP_NAME_MAX, TEXT_NONEMPTY, where,
				   "workload.name", &name, err, err_len);
	if (!ret)
		ret = get_required(w, "kind", WEIR_EP_NAME_MAX, TEXT_NONEMPTY, where,
				   "workload.kind", &kind, err, err_len);
	if (ret)
		return ret;
	ep->workload_name = strdup(name);
	ep->workload_kind = strdup(kind);
	return ep->workload_name && ep->workload_kind ? 0 : -ENOMEM;
}

int weir_endpoint_doc_parse(const json_t *doc, const char *where, const char *node_name,
			    struct weir_endpoint **ep_out, struct weir_addr **ips_out,
			    size_t *n_ips_out, char *err, size_t err_len)
{
	static const char *const known[] = { "ips",	 "namespace", "pod_name",  "labels",
					     "workload", "node_name", "interface", "container_id",
					     "pod_uid",	 NULL };
	const char *namespace = NULL, *pod_name = NULL;
	struct weir_addr *ips = NULL;
	struct weir_endpoint *ep;
	char shown[WEIR_DOC_SHOW_LEN];
	const json_t *node;
	size_t n_ips = 0;
	int ret;

	if (!json_is_object(doc))
		return weir_doc_err(err, err_len, "endpoint", where, "", "%s is not an object",
				    doc ? weir_doc_show(doc, shown, sizeof(shown)) : "nothing");
	ret = weir_doc_check_keys(doc, known, "endpoint", where, "", err, err_len);
	if (ret)
		return ret;
	ret = parse_ips(doc, where, &ips, &n_ips, err, err_len);
	if (ret)
		return ret;
	ep = weir_endpoint_new(WEIR_IDENTITY_POD);
	if (!ep) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = get_required(doc, "namespace", WEIR_EP_NAME_MAX, TEXT_NONEMPTY | TEXT_NO_SLASH, where,
			   "namespace", &namespace, err, err_len);
	if (!ret)
		ret = get_required(doc, "pod_name", WEIR_EP_NAME_MAX, TEXT_NONEMPTY | TEXT_NO_SLASH,
				   where, "pod_name", &pod_name, err, err_len);
	if (!ret)
		ret = parse_labels(doc, where, ep, err, err_len);
	if (!ret)
		ret = parse_workload(doc, where, ep, err, err_len);
	node = json_object_get(doc, "node_name");
	if (!ret && node && !json_is_null(node)) {
		ret = check_string(node, WEIR_EP_NAME_MAX, TEXT_NONEMPTY, where, "node_name", err,
				   err_len);
		node_name = json_string_value(node);
	}
	if (ret)
		goto err_put;
	ep->namespace = strdup(namespace);
	ep->pod_name = strdup(pod_name);
	ep->node_name = node_name ? strdup(node_name) : NULL;
	if (!ep->namespace || !ep->pod_name || (node_name && !ep->node_name)) {
		ret = -ENOMEM;
		goto err_put;
	}
	*ep_out = ep;
	*ips_out = ips;
	*n_ips_out = n_ips;
	return 0;

err_put:
	weir_endpoint_put(ep);
err_free:
	free(ips);
	if (ret == -ENOMEM && err && err_len)
		snprintf(err, err_len, "out of memory");
	return ret;
}

/* An optional string field into *out (a copy), NULL when absent or null. */
static int get_optional(const json_t *doc, const char *key, size_t max, unsigned int rules,
			const char *where, char **out, char *err, size_t err_len)
{
	const json_t *v = json_object_get(doc, key);
	int ret;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	ret = check_string(v, max, rules, where, key, err, err_len);
	if (ret)
		return ret;
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

int weir_endpoint_doc_reg(const json_t *doc, const char *where, struct weir_endpoint_reg *reg,
			  char *err, size_t err_len)
{
	int ret;

	memset(reg, 0, sizeof(*reg));
	if (!json_is_object(doc))
		return 0;
	ret = get_optional(doc, "interface", IF_NAMESIZE - 1, TEXT_NONEMPTY | TEXT_NO_SLASH, where,
			   &reg->interface, err, err_len);
	if (!ret)
		ret = get_optional(doc, "container_id", WEIR_EP_ID_MAX, TEXT_NONEMPTY, where,
				   &reg->container_id, err, err_len);
	if (!ret)
		ret = get_optional(doc, "pod_uid", WEIR_EP_ID_MAX, TEXT_NONEMPTY, where,
				   &reg->pod_uid, err, err_len);
	if (!ret && reg->interface && strchr(reg->interface, ' '))
		ret = weir_doc_err(err, err_len, "endpoint", where, "interface",
				   "\"%s\" contains a space", reg->interface);
	if (ret) {
		weir_endpoint_reg_release(reg);
		if (ret == -ENOMEM && err && err_len)
			snprintf(err, err_len, "out of memory");
	}
	return ret;
}

void weir_endpoint_reg_release(struct weir_endpoint_reg *reg)
{
	free(reg->interface);
	free(reg->container_id);
	free(reg->pod_uid);
	memset(reg, 0, sizeof(*reg));
}

int weir_endpoint_reg_json(json_t *doc, const struct weir_endpoint_reg *reg)
{
	int failed = 0;

	if (reg->interface)
		failed |= json_object_set_new(doc, "interface", json_string(reg->interface));
	if (reg->container_id)
		failed |= json_object_set_new(doc, "container_id", json_string(reg->container_id));
	if (reg->pod_uid)
		failed |= json_object_set_new(doc, "pod_uid", json_string(reg->pod_uid));
	return failed ? -1 : 0;
}

int weir_endpoint_doc_file(const json_t *root, const json_t **docs, char *err, size_t err_len)
{
	static const char *const known[] = { "endpoints", NULL };
	char shown[WEIR_DOC_SHOW_LEN];
	const json_t *v;
	int ret;

	if (!json_is_object(root))
		return weir_doc_err(err, err_len, "endpoint", "file", "",
				    "%s is not an object {\"endpoints\": [...]}",
				    weir_doc_show(root, shown, sizeof(shown)));
	ret = weir_doc_check_keys(root, known, "endpoint", "file", "", err, err_len);
	if (ret)
		return ret;
	v = json_object_get(root, "endpoints");
	if (!v)
		return weir_doc_err(err, err_len, "endpoint", "", "endpoints", "is required");
	if (!json_is_array(v))
		return weir_doc_err(err, err_len, "endpoint", "", "endpoints", "%s is not an array",
				    weir_doc_show(v, shown, sizeof(shown)));
	*docs = v;
	return 0;
}

static int labels_json(json_t *obj, const struct weir_endpoint *ep)
{
	json_t *labels = json_object();
	size_t i, prefix = strlen(LABEL_PREFIX);

	if (!labels)
		return -1;
	for (i = 0; i < ep->n_labels; i++) {
		const char *key = ep->labels[i], *eq;

		if (!strncmp(key, LABEL_PREFIX, prefix))
			key += prefix;
		eq = strchr(key, '=');
		if (!eq)
			eq = key + strlen(key);
		if (json_object_setn_new(labels, key, eq - key, json_string(*eq ? eq + 1 : ""))) {
			json_decref(labels);
			return -1;
		}
	}
	return json_object_set_new(obj, "labels", labels);
}

json_t *weir_endpoint_doc_json(const struct weir_endpoint *ep, const struct weir_addr *ips,
			       size_t n_ips)
{
	json_t *obj = json_object(), *arr = json_array();
	char buf[INET6_ADDRSTRLEN];
	int failed = !obj || !arr;
	size_t i;

	for (i = 0; !failed && i < n_ips; i++) {
		int af = ips[i].family == 4 ? AF_INET : AF_INET6;

		failed = !inet_ntop(af, ips[i].bytes, buf, sizeof(buf)) ||
			 json_array_append_new(arr, json_string(buf));
	}
	if (failed) {
		json_decref(arr);
		json_decref(obj);
		return NULL;
	}
	failed = json_object_set_new(obj, "ips", arr);
	if (ep->namespace)
		failed |= json_object_set_new(obj, "namespace", json_string(ep->namespace));
	if (ep->pod_name)
		failed |= json_object_set_new(obj, "pod_name", json_string(ep->pod_name));
	failed |= labels_json(obj, ep);
	if (ep->workload_name)
		failed |= json_object_set_new(obj, "workload",
					      json_pack("{s:s, s:s?}", "name", ep->workload_name,
							"kind", ep->workload_kind));
	if (ep->node_name)
		failed |= json_object_set_new(obj, "node_name", json_string(ep->node_name));
	if (failed) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}
