// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The network configuration on stdin: the spec's fields, prevResult, and
 * weir-cni's own keys (agent_socket, fail_open, timeout_ms). Other keys are
 * the runtime's or other plugins' and are left alone.
 */
#include <string.h>
#include "cni.h"

/* CHECK came with 0.4.0; the result format weir-cni reads is the same from 0.3.0 on. */
static const char *const versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", NULL };

#define TIMEOUT_MS_MAX 60000

bool weir_cni_version_supported(const char *v)
{
	size_t i;

	for (i = 0; versions[i]; i++)
		if (!strcmp(v, versions[i]))
			return true;
	return false;
}

json_t *weir_cni_versions_json(void)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && versions[i]; i++)
		json_array_append_new(arr, json_string(versions[i]));
	return arr;
}

int weir_cni_conf_parse(struct weir_cni_conf *conf, const char *text, size_t len,
			struct weir_cni_err *e)
{
	const json_t *v;
	json_error_t jerr;

	memset(conf, 0, sizeof(*conf));
	conf->socket_path = WEIR_CNI_SOCKET_DEFAULT;
	conf->timeout_ms = WEIR_CNI_TIMEOUT_MS_DEFAULT;
	conf->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!conf->root)
		return weir_cni_fail(e, WEIR_CNI_E_DECODE,
				     "network configuration: bad JSON at line %d column %d: %s",
				     jerr.line, jerr.column, jerr.text);
	if (!json_is_object(conf->root))
		return weir_cni_fail(e, WEIR_CNI_E_DECODE,
				     "network configuration: not a JSON object");
	v = json_object_get(conf->root, "cniVersion");
	if (!json_is_string(v))
		return weir_cni_fail(e, WEIR_CNI_E_CONFIG, "cniVersion is missing or not a string");
	conf->cni_version = json_string_value(v);
	if (!weir_cni_version_supported(conf->cni_version))
		return weir_cni_fail(e, WEIR_CNI_E_VERSION,
				     "cniVersion \"%.32s\" is not supported: weir-cni supports "
				     "0.3.0, 0.3.1, 0.4.0 and 1.0.0",
				     conf->cni_version);
	v = json_object_get(conf->root, "name");
	if (!json_is_string(v) || !json_string_length(v))
		return weir_cni_fail(e, WEIR_CNI_E_CONFIG, "name is missing or not a string");
	conf->name = json_string_value(v);
	v = json_object_get(conf->root, "prevResult");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v))
			return weir_cni_fail(e, WEIR_CNI_E_DECODE, "prevResult is not an object");
		conf->prev_result = v;
	}
	v = json_object_get(conf->root, "agent_socket");
	if (v) {
		if (!json_is_string(v) || !json_string_length(v))
			return weir_cni_fail(e, WEIR_CNI_E_CONFIG,
					     "agent_socket is not a path to the agent's socket");
		conf->socket_path = json_string_value(v);
	}
	v = json_object_get(conf->root, "fail_open");
	if (v) {
		if (!json_is_boolean(v))
			return weir_cni_fail(e, WEIR_CNI_E_CONFIG,
					     "fail_open is not true or false");
		conf->fail_open = json_is_true(v);
	}
	v = json_object_get(conf->root, "timeout_ms");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > TIMEOUT_MS_MAX)
			return weir_cni_fail(e, WEIR_CNI_E_CONFIG,
					     "timeout_ms is not a number of milliseconds in "
					     "1..%d",
					     TIMEOUT_MS_MAX);
		conf->timeout_ms = (unsigned int)json_integer_value(v);
	}
	return 0;
}

void weir_cni_conf_release(struct weir_cni_conf *conf)
{
	json_decref(conf->root);
	conf->root = NULL;
}
