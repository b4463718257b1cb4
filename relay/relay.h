/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The relay's shared state: what main() builds and the HTTP API and the
 * metrics read.
 */
#ifndef WEIR_RELAY_H
#define WEIR_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include "relay_config.h"

struct weir_store;
struct weir_merge;
struct weir_peers;
struct weir_flowlog;
struct weir_history;

struct weir_relay {
	struct weir_relay_config cfg;
	uint64_t start_real_ns;
	uint64_t start_mono_ns;
	struct weir_store *store;
	struct weir_merge *merge;
	struct weir_peers *peers;
	struct weir_history *history; /* NULL without --history-db */
	size_t store_capacity;	      /* on the peers' thread */
	/* the flow logs of the merged records */
	struct weir_flowlog **flowlogs;
	size_t n_flowlogs;
};

#endif /* WEIR_RELAY_H */
