/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* /v1/flows on the relay: the ring's answer, completed from the history when
 * the request's time bounds reach before the ring (see history_flows.c).
 */
#ifndef WEIR_RELAY_HISTORY_FLOWS_H
#define WEIR_RELAY_HISTORY_FLOWS_H

#include <stddef.h>
#include "filter.h"
#include "flow.h"

struct weir_store;
struct weir_history;

/* The http server's flows_more hook: *recs and *n, the store's answer, replaced
 * by the ring's and the history's united (h NULL: left alone). On an error
 * *recs is left as it was.
 */
int weir_relay_flows_more(struct weir_store *store, struct weir_history *h,
			  const struct weir_flow_request *req, struct weir_flow_record ***recs,
			  size_t *n);

#endif /* WEIR_RELAY_HISTORY_FLOWS_H */
