// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-cni's calls to the agent: libcurl over the agent's unix socket, each
 * bounded by timeout_ms, so a stuck agent never hangs the container runtime.
 */
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "cni.h"

#define REPLY_MAX_BYTES (16 << 20) /* a GET /v1/endpoints of a very full node */

static size_t on_data(char *data, size_t size, size_t n, void *userp)
{
	struct weir_cni_reply *r = userp;
	size_t len = size * n;
	char *p;

	if (r->len + len > REPLY_MAX_BYTES)
		return 0; /* aborts the transfer */
	p = realloc(r->body, r->len + len + 1);
	if (!p)
		return 0;
	memcpy(p + r->len, data, len);
	r->body = p;
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

int weir_cni_agent_call(const struct weir_cni_conf *conf, const char *method, const char *path,
			const char *body, struct weir_cni_reply *reply, struct weir_cni_err *e)
{
	struct curl_slist *hdrs = NULL;
	char url[512];
	CURLcode rc;
	CURL *c;

	memset(reply, 0, sizeof(*reply));
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return weir_cni_fail(e, WEIR_CNI_E_IO, "libcurl initialisation failed");
	c = curl_easy_init();
	if (!c)
		return weir_cni_fail(e, WEIR_CNI_E_IO, "libcurl: out of memory");
	snprintf(url, sizeof(url), "http://agent%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, conf->socket_path);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)conf->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc == CURLE_OK)
		return 0;
	weir_cni_reply_release(reply);
	return weir_cni_fail(e, WEIR_CNI_E_TRY_AGAIN, "weir-agent at %s: %s%s", conf->socket_path,
			     curl_easy_strerror(rc),
			     rc == CURLE_OPERATION_TIMEDOUT ? " (is the agent stuck?)" :
			     rc == CURLE_COULDNT_CONNECT    ? " (is weir-agent running?)" :
							      "");
}

void weir_cni_reply_release(struct weir_cni_reply *reply)
{
	free(reply->body);
	memset(reply, 0, sizeof(*reply));
}

const char *weir_cni_reply_error(const struct weir_cni_reply *reply)
{
	static char msg[WEIR_CNI_MSG_LEN];
	json_t *j;

	if (!reply->body)
		return "(no body)";
	j = json_loads(reply->body, 0, NULL);
	snprintf(msg, sizeof(msg), "%s",
		 json_string_value(json_object_get(j, "error")) ?: reply->body);
	json_decref(j);
	return msg;
}
