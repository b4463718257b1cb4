// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What weir-cni tells the agent (a POST /v1/endpoints document, agent/endpoints.h)
 * and how CHECK reads it back from GET /v1/endpoints.
 */
#include <string.h>
#include "cni.h"

#define CNI_NAMESPACE "cni" /* pods of runtimes that pass no Kubernetes names */

void weir_cni_pod_id(const struct weir_cni_env *env, const char **namespace, const char **pod)
{
	if (env->pod_namespace[0]) {
		*namespace = env->pod_namespace;
		*pod = env->pod_name;
	} else {
		*namespace = CNI_NAMESPACE;
		*pod = env->container_id;
	}
}

json_t *weir_cni_reg_doc(const struct weir_cni_env *env, const struct weir_cni_prev *prev)
{
	const char *namespace, *pod;
	json_t *doc, *ips;
	size_t i;

	weir_cni_pod_id(env, &namespace, &pod);
	doc = json_pack("{s:[], s:s, s:s, s:s}", "ips", "namespace", namespace, "pod_name", pod,
			"container_id", env->container_id);
	if (!doc)
		return NULL;
	ips = json_object_get(doc, "ips");
	for (i = 0; i < prev->n_ips; i++)
		json_array_append_new(ips, json_string(prev->ips[i]));
	if (prev->host_if[0])
		json_object_set_new(doc, "interface", json_string(prev->host_if));
	if (env->pod_uid[0])
		json_object_set_new(doc, "pod_uid", json_string(env->pod_uid));
	return doc;
}

static bool str_is(const json_t *obj, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v && !strcmp(v, want);
}

static bool ips_equal(const json_t *ips, const struct weir_cni_prev *prev)
{
	size_t i, j;

	if (json_array_size(ips) != prev->n_ips)
		return false;
	for (i = 0; i < prev->n_ips; i++) {
		for (j = 0; j < prev->n_ips; j++) {
			const char *s = json_string_value(json_array_get(ips, j));

			if (s && !strcmp(s, prev->ips[i]))
				break;
		}
		if (j == prev->n_ips)
			return false;
	}
	return true;
}

int weir_cni_check_registration(const json_t *all, const struct weir_cni_env *env,
				const struct weir_cni_prev *prev, struct weir_cni_err *e)
{
	const char *namespace, *pod;
	const json_t *ep = NULL, *v;
	size_t i;

	weir_cni_pod_id(env, &namespace, &pod);
	if (!json_is_array(all))
		return weir_cni_fail(e, WEIR_CNI_E_AGENT,
				     "the agent's endpoint list is not an array");
	json_array_foreach(all, i, v)
	{
		if (str_is(v, "source", "api") && str_is(v, "namespace", namespace) &&
		    str_is(v, "pod_name", pod)) {
			ep = v;
			break;
		}
	}
	if (!ep)
		return weir_cni_fail(e, WEIR_CNI_E_UNREGISTERED,
				     "pod %s/%s is not registered with the agent", namespace, pod);
	if (!str_is(ep, "container_id", env->container_id))
		return weir_cni_fail(e, WEIR_CNI_E_MISMATCH,
				     "pod %s/%s is registered by another container", namespace,
				     pod);
	if (!ips_equal(json_object_get(ep, "ips"), prev))
		return weir_cni_fail(e, WEIR_CNI_E_MISMATCH,
				     "pod %s/%s is registered with other addresses than "
				     "prevResult's",
				     namespace, pod);
	if (prev->host_if[0] && !str_is(ep, "interface", prev->host_if))
		return weir_cni_fail(e, WEIR_CNI_E_MISMATCH,
				     "pod %s/%s is registered with another interface than %s",
				     namespace, pod, prev->host_if);
	if (prev->host_if[0] && !json_is_true(json_object_get(ep, "attached")))
		return weir_cni_fail(e, WEIR_CNI_E_DETACHED,
				     "Weir's TC programs are not on %s (pod %s/%s)", prev->host_if,
				     namespace, pod);
	return 0;
}
