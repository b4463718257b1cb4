// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Pod objects to endpoint documents. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "k8s_pod.h"

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(obj, a), b));
}

int weir_k8s_pod_id(const json_t *pod, const char **namespace, const char **name)
{
	*namespace = str_at(pod, "metadata", "namespace");
	*name = str_at(pod, "metadata", "name");
	return *namespace && *name && **namespace && **name ? 0 : -EINVAL;
}

/* The controlling owner, or the first owner when none controls. */
static const json_t *owner_of(const json_t *pod)
{
	const json_t *refs = json_object_get(json_object_get(pod, "metadata"), "ownerReferences");
	const json_t *ref;
	size_t i;

	json_array_foreach(refs, i, ref)
	{
		if (json_is_true(json_object_get(ref, "controller")))
			return ref;
	}
	return json_array_get(refs, 0);
}

void weir_k8s_pod_workload(const json_t *pod, char *kind, size_t kind_len, char *name,
			   size_t name_len)
{
	const json_t *ref = owner_of(pod);
	const char *k = json_string_value(json_object_get(ref, "kind"));
	const char *n = json_string_value(json_object_get(ref, "name"));
	const char *hash;
	size_t nl, hl;

	kind[0] = name[0] = '\0';
	if (!k || !n || !*k || !*n)
		return;
	snprintf(kind, kind_len, "%s", k);
	snprintf(name, name_len, "%s", n);
	if (strcmp(k, "ReplicaSet") != 0)
		return;
	/* A Deployment's ReplicaSet is "<deployment>-<pod-template-hash>", and
	 * the hash is also the pod's label: strip it, and it is the Deployment.
	 */
	hash = json_string_value(json_object_get(
		json_object_get(json_object_get(pod, "metadata"), "labels"), "pod-template-hash"));
	if (!hash || !*hash)
		return;
	nl = strlen(n);
	hl = strlen(hash);
	if (nl > hl + 1 && n[nl - hl - 1] == '-' && !strcmp(n + nl - hl, hash)) {
		snprintf(kind, kind_len, "Deployment");
		snprintf(name, name_len, "%.*s", (int)(nl - hl - 1), n);
	}
}

/* status.podIPs[].ip, else status.podIP. */
static json_t *pod_ips(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	const json_t *list = json_object_get(status, "podIPs"), *e;
	json_t *ips = json_array();
	const char *ip;
	size_t i;

	if (!ips)
		return NULL;
	json_array_foreach(list, i, e)
	{
		ip = json_string_value(json_object_get(e, "ip"));
		if (ip && *ip)
			json_array_append_new(ips, json_string(ip));
	}
	ip = json_string_value(json_object_get(status, "podIP"));
	if (!json_array_size(ips) && ip && *ip)
		json_array_append_new(ips, json_string(ip));
	return ips;
}

json_t *weir_k8s_pod_doc(const json_t *pod, const char **why)
{
	const char *namespace, *name, *phase, *node;
	char kind[64], wname[256];
	const json_t *labels;
	json_t *doc, *ips;

	*why = NULL;
	if (weir_k8s_pod_id(pod, &namespace, &name)) {
		*why = "no metadata.namespace and metadata.name";
		return NULL;
	}
	if (json_is_true(json_object_get(json_object_get(pod, "spec"), "hostNetwork"))) {
		*why = "host network: its addresses are the node's";
		return NULL;
	}
	phase = str_at(pod, "status", "phase");
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
		*why = "finished: its address may go to another pod";
		return NULL;
	}
	ips = pod_ips(pod);
	if (!ips || !json_array_size(ips)) {
		json_decref(ips);
		*why = "no address yet";
		return NULL;
	}
	doc = json_pack("{s:o, s:s, s:s}", "ips", ips, "namespace", namespace, "pod_name", name);
	if (!doc) {
		*why = "out of memory";
		return NULL;
	}
	labels = json_object_get(json_object_get(pod, "metadata"), "labels");
	if (json_is_object(labels))
		json_object_set(doc, "labels", (json_t *)labels);
	weir_k8s_pod_workload(pod, kind, sizeof(kind), wname, sizeof(wname));
	if (kind[0])
		json_object_set_new(doc, "workload",
				    json_pack("{s:s, s:s}", "name", wname, "kind", kind));
	node = str_at(pod, "spec", "nodeName");
	if (node && *node)
		json_object_set_new(doc, "node_name", json_string(node));
	return doc;
}
