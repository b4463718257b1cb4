/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The /v1/prefilter route of the agent's API (agent/prefilter_http.c). */
#ifndef WEIR_AGENT_PREFILTER_HTTP_H
#define WEIR_AGENT_PREFILTER_HTTP_H

#include <microhttpd.h>
#include "http_server.h"

/* GET, PUT, PATCH, DELETE /v1/prefilter; ctx is the struct weir_agent. */
enum MHD_Result weir_prefilter_http(void *ctx, struct MHD_Connection *c,
				    const struct weir_http_request *rq);

#endif /* WEIR_AGENT_PREFILTER_HTTP_H */
