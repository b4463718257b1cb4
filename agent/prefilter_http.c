// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* /v1/prefilter: the XDP deny list over HTTP.
 *   GET     the list as the datapath has it, with per-CIDR counters
 *   PUT     {"deny": [...]}: replaces the whole list
 *   PATCH   {"add": [...], "delete": [...]}: changes it, as one replacement
 *   DELETE  empties it
 * Every change is atomic in the datapath; a bad document changes nothing and
 * the answer names the bad field. Answers to changes carry the new list.
 */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include <microhttpd.h>
#include "agent.h"
#include "http.h"
#include "http_server.h"
#include "log.h"
#include "prefilter.h"
#include "prefilter_http.h"

#define ERR_LEN 256

#ifndef MHD_HTTP_INSUFFICIENT_STORAGE
#define MHD_HTTP_INSUFFICIENT_STORAGE 507
#endif

static unsigned int status_of(int rc)
{
	switch (rc) {
	case -EINVAL:
		return MHD_HTTP_BAD_REQUEST;
	case -ESTALE:
		return MHD_HTTP_CONFLICT;
	case -ENOENT:
		return MHD_HTTP_NOT_FOUND;
	case -ENOSPC:
		return MHD_HTTP_INSUFFICIENT_STORAGE;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

static enum MHD_Result respond_list(struct MHD_Connection *c, struct weir_prefilter *pf)
{
	json_t *doc = weir_prefilter_to_json(pf);

	if (!doc)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					       "prefilter: out of memory");
	return weir_http_respond_json(c, MHD_HTTP_OK, doc);
}

static enum MHD_Result change(struct MHD_Connection *c, struct weir_prefilter *pf,
			      const struct weir_http_request *rq)
{
	struct weir_pf_list a = { 0 }, d = { 0 };
	char err[ERR_LEN] = "";
	int64_t revision = -1;
	json_error_t jerr;
	json_t *doc = NULL;
	int rc;

	if (!strcmp(rq->method, "DELETE")) {
		rc = weir_prefilter_replace(pf, &a, -1, err, sizeof(err));
		goto done;
	}
	if (!rq->len)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "empty body: %s a prefilter document", rq->method);
	doc = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "bad JSON at line %d column %d: %s", jerr.line,
					       jerr.column, jerr.text);
	if (!strcmp(rq->method, "PUT")) {
		rc = weir_pf_doc_parse(doc, &a, &revision, err, sizeof(err));
		rc = rc ?: weir_prefilter_replace(pf, &a, revision, err, sizeof(err));
	} else {
		rc = weir_pf_patch_parse(doc, &a, &d, &revision, err, sizeof(err));
		rc = rc ?: weir_prefilter_patch(pf, &a, &d, revision, err, sizeof(err));
	}
	json_decref(doc);
	weir_pf_list_release(&a);
	weir_pf_list_release(&d);
done:
	if (rc) {
		if (status_of(rc) == MHD_HTTP_INTERNAL_SERVER_ERROR)
			log_warn("http: prefilter %s: %s", rq->method,
				 err[0] ? err : strerror(-rc));
		return weir_http_respond_error(c, status_of(rc), "bad prefilter document: %s",
					       err[0] ? err : strerror(-rc));
	}
	return respond_list(c, pf);
}

enum MHD_Result weir_prefilter_http(void *ctx, struct MHD_Connection *c,
				    const struct weir_http_request *rq)
{
	struct weir_agent *a = ctx;

	if (!a->prefilter)
		return weir_http_respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					       "the prefilter is not loaded");
	if (!strcmp(rq->method, "GET"))
		return respond_list(c, a->prefilter);
	return change(c, a->prefilter, rq);
}
