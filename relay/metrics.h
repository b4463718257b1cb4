/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The relay's Prometheus exposition (format 0.0.4): each node's state, records
 * and errors, the merge (late records, the sort window), the store's fill and
 * the relay's follow streams.
 */
#ifndef WEIR_RELAY_METRICS_H
#define WEIR_RELAY_METRICS_H

#include <stddef.h>
#include "relay.h"

/* malloc'ed text in *out. */
int weir_relay_metrics_render(struct weir_relay *r, char **out, size_t *len);

#endif /* WEIR_RELAY_METRICS_H */
