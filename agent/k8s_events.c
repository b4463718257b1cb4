// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Watch events into the endpoint cache: ADDED and MODIFIED upsert the pod
 * (or remove it when it stopped being an endpoint: finished, no address),
 * DELETED removes it, BOOKMARK only moves the resourceVersion, ERROR with a
 * 410 Status asks for a relist.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "endpoints.h"
#include "k8s_pod.h"
#include "k8s_watch.h"
#include "log.h"

#define ERR_LEN 256

static void pod_gone(struct weir_endpoints *eps, const json_t *pod, const char *why)
{
	const char *ns, *name;

	if (weir_k8s_pod_id(pod, &ns, &name))
		return;
	if (!weir_endpoints_k8s_remove(eps, ns, name))
		log_debug("k8s: pod removed namespace=%s pod=%s: %s", ns, name, why);
}

static int pod_update(struct weir_endpoints *eps, const json_t *pod)
{
	char err[ERR_LEN];
	const char *why;
	json_t *doc;
	int ret;

	doc = weir_k8s_pod_doc(pod, &why);
	if (!doc) {
		pod_gone(eps, pod, why);
		return 0;
	}
	ret = weir_endpoints_k8s_upsert(eps, doc, err, sizeof(err));
	json_decref(doc);
	if (ret == -EINVAL) {
		/* Whatever the cache held for it is out of date now. */
		log_warn("k8s: pod skipped: %s", err);
		pod_gone(eps, pod, "its new version is not a valid endpoint");
		return 0;
	}
	return ret;
}

int weir_k8s_apply_event(struct weir_endpoints *eps, const char *line, size_t len, char *rv,
			 size_t rv_len, char *err, size_t err_len)
{
	const char *type, *version;
	const json_t *obj;
	json_error_t jerr;
	json_t *ev;
	int ret = 0;

	ev = json_loadb(line, len, 0, &jerr);
	if (!ev) {
		snprintf(err, err_len, "watch event is not JSON: %s", jerr.text);
		return -EPROTO;
	}
	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj)) {
		snprintf(err, err_len, "watch event without a type and an object");
		ret = -EPROTO;
		goto out;
	}
	if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *msg = json_string_value(json_object_get(obj, "message"));

		snprintf(err, err_len, "watch ERROR %lld: %s", (long long)code, msg ? msg : "");
		ret = code == 410 ? -ESTALE : -EPROTO;
		goto out;
	}
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED"))
		ret = pod_update(eps, obj);
	else if (!strcmp(type, "DELETED"))
		pod_gone(eps, obj, "deleted");
	else if (strcmp(type, "BOOKMARK") != 0)
		log_warn("k8s: watch event of unknown type=%.32s ignored", type);
	version = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	if (!ret && version && *version)
		snprintf(rv, rv_len, "%s", version);
out:
	json_decref(ev);
	return ret;
}
