/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading the whole flow table (weir_flows) from user space, as the agent's
 * sweep does: through a BPF map-element iterator (datapath/flow_dump.bpf.c)
 * that copies the entries out in large reads, or, on a kernel without
 * iterators, through batch lookups.
 *
 * Neither read is a snapshot. An entry that changes bucket while the
 * iterator walks (an LRU eviction reusing it) can be seen twice or missed:
 * a reader must confirm with a lookup before it takes an entry for gone.
 */
#ifndef WEIR_FLOW_TABLE_H
#define WEIR_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <weir/abi.h>

struct weir_flow_table;

enum weir_flow_table_method {
	WEIR_FLOW_TABLE_AUTO,	  /* the iterator, else batch lookups */
	WEIR_FLOW_TABLE_ITERATOR, /* the iterator or an error */
	WEIR_FLOW_TABLE_BATCH,	  /* batch lookups */
};

/* Receives the entries of a read, up to the reader's batch at a time. */
typedef void (*weir_flow_entries_fn)(void *ctx, const struct weir_flow_entry *e, size_t n);

/* A reader of the table at flows_fd that hands out up to batch entries at a
 * time. The fd must stay open while the reader lives.
 */
int weir_flow_table_open(struct weir_flow_table **out, int flows_fd, size_t batch,
			 enum weir_flow_table_method method);
void weir_flow_table_close(struct weir_flow_table *t);
/* Reads every entry once, in the table's order; returns how many, or -errno. */
long long weir_flow_table_read(struct weir_flow_table *t, weir_flow_entries_fn fn, void *ctx);
/* "iterator" or "batch". */
const char *weir_flow_table_method_name(const struct weir_flow_table *t);

#endif /* WEIR_FLOW_TABLE_H */
