// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* HTTP responses for the API servers: JSON bodies, {"error": "..."}, text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <microhttpd.h>
#include "http_server.h"

enum MHD_Result weir_http_queue(struct MHD_Connection *c, unsigned int status,
				struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct MHD_Response *json_response(json_t *j)
{
	struct MHD_Response *resp;
	char *text, *body;
	size_t len;

	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!text)
		return NULL;
	/* A newline at the end, for people reading with curl. */
	len = strlen(text);
	body = realloc(text, len + 2);
	if (!body) {
		free(text);
		return NULL;
	}
	body[len++] = '\n';
	body[len] = '\0';
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, WEIR_HTTP_JSON_MEDIA);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return resp;
}

enum MHD_Result weir_http_respond_json(struct MHD_Connection *c, unsigned int status, json_t *j)
{
	struct MHD_Response *resp = json_response(j);

	json_decref(j);
	return weir_http_queue(c, status, resp);
}

enum MHD_Result weir_http_respond_text(struct MHD_Connection *c, unsigned int status,
				       const char *media, char *text, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, media);
	return weir_http_queue(c, status, resp);
}

enum MHD_Result weir_http_respond_empty(struct MHD_Connection *c, unsigned int status)
{
	return weir_http_queue(
		c, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT));
}

enum MHD_Result weir_http_respond_error_hdr(struct MHD_Connection *c, unsigned int status,
					    const char *hdr, const char *hdr_value, const char *fmt,
					    ...)
{
	struct MHD_Response *resp;
	char msg[512], *p;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote what the client sent, which need not be UTF-8 (JSON
	 * strings must be): keep printable ASCII only.
	 */
	for (p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	j = json_pack("{s:s}", "error", msg);
	resp = json_response(j);
	json_decref(j);
	if (resp && hdr)
		MHD_add_response_header(resp, hdr, hdr_value);
	return weir_http_queue(c, status, resp);
}
