/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The filter language in SQL: a compiled filter set (lib/filter.c) as a WHERE
 * clause with ? placeholders and the values to bind to them, for the relay's
 * history. The clause is made of fixed text only: every value from a filter
 * travels as a bound parameter, never inside the SQL.
 *
 * Fields SQL expresses exactly (addresses and CIDRs as ranges of address
 * BLOBs, pods as ranges of names, ports, protocols, verdicts, drop reasons,
 * directions, IP versions, is_reply, TCP flags, interfaces, node names
 * without globs) are translated; label selectors and node name globs are
 * not: their filter's clause is wider than the filter (the field is left
 * out), exact is false, and the caller runs weir_filter_set_match() on each
 * row. A deny filter that cannot be translated exactly is left out of the
 * clause for the same reason (its negation would be narrower).
 *
 * The clause reads these columns (relay/history.c's flows table):
 *   family      4 or 6                 proto      IPPROTO_*
 *   saddr/daddr BLOB of 4 (IPv4) or 16 bytes, network order
 *   sport/dport host order             l3_only    0 or 1
 *   verdict, reason, dir, is_reply, tcp_flags, ifindex   integers as in the record
 *   ifname      TEXT                   node       TEXT, the node name ("" when none)
 *   node_cluster, node_base            the node name split at its first '/' (the
 *                                      cluster "default" when there is none)
 *   src_ns, src_pod, dst_ns, dst_pod   TEXT, "" when none
 */
#ifndef WEIR_FILTER_SQL_H
#define WEIR_FILTER_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "filter.h"

enum weir_sql_type {
	WEIR_SQL_INT,
	WEIR_SQL_TEXT,
	WEIR_SQL_BLOB,
};

struct weir_sql_param {
	enum weir_sql_type type;
	int64_t i;  /* WEIR_SQL_INT */
	uint8_t *p; /* TEXT (NUL-terminated) or BLOB, owned */
	size_t len; /* bytes, without the NUL */
};

struct weir_sql_where {
	char *sql; /* "(...)": the parameters in order of their '?' */
	struct weir_sql_param *params;
	size_t n_params;
	bool exact; /* the clause selects exactly what the filter set matches */
};

/* The term a clause adds to a verdict filter that leaves out FORWARDED
 * (e.g. --verdict DROPPED), as fixed text: partial indexes made WHERE this
 * (relay/history.c: the rare verdicts) are only used by the planner when a
 * query says it in these words (a bound value does not count).
 */
#define WEIR_SQL_NOT_FORWARDED "verdict <> 1"

/* fs NULL matches everything ("1"). Returns 0 or -ENOMEM. */
int weir_filter_sql(const struct weir_filter_set *fs, struct weir_sql_where *out);
/* The same, with each (fixed SQL text, or NULL) ANDed into every allow
 * filter's clause: e.g. a time range written with numbered parameters
 * ("time_ns BETWEEN ?1 AND ?2") that the caller also puts before the clause,
 * so SQLite's planner sees it inside each branch of an OR (it does not carry
 * terms outside an OR into the branches' index searches).
 */
int weir_filter_sql_each(const struct weir_filter_set *fs, const char *each,
			 struct weir_sql_where *out);
void weir_sql_where_release(struct weir_sql_where *w);

/* The history's inverted index (relay/history_seg.c): per segment of rows
 * and per indexed field, the rows of each key. A key is the field's value
 * as bytes, compared as memcmp (then length) compares them, so a CIDR or a
 * pod name prefix is a range of keys:
 *   SADDR, DADDR  the address, 4 (IPv4) or 16 bytes, network order
 *   SRC_POD, DST_POD  namespace, '\0', pod name (an endpoint with neither
 *                 has no key: it matches no pod filter)
 *   DPORT         the destination port, 2 bytes big-endian
 *   VERDICT       1 byte; only verdicts other than FORWARDED are indexed
 */
enum weir_sql_index_field {
	WEIR_SQL_IX_SADDR = 1,
	WEIR_SQL_IX_DADDR,
	WEIR_SQL_IX_SRC_POD,
	WEIR_SQL_IX_DST_POD,
	WEIR_SQL_IX_DPORT,
	WEIR_SQL_IX_VERDICT,
};

/* Keys lo <= key < hi (hi is never empty). */
struct weir_sql_key_range {
	uint8_t *lo, *hi;
	size_t lo_len, hi_len;
};

/* One field of an allow filter: the rows of any of its ranges. */
struct weir_sql_index_term {
	enum weir_sql_index_field field;
	struct weir_sql_key_range *ranges;
	size_t n_ranges;
};

/* An allow filter's indexed fields: its rows are among those every term
 * has. A filter with no term cannot be narrowed by the index.
 */
struct weir_sql_index_filter {
	struct weir_sql_index_term *terms;
	size_t n_terms;
};

/* The rows a filter set may match are those of one of its allow filters;
 * scan says some cannot be narrowed (or there are no allow filters), so
 * every row is a candidate. Deny filters narrow nothing here: the WHERE
 * clause applies them (and everything else) to the candidates.
 */
struct weir_sql_index {
	struct weir_sql_index_filter *allow;
	size_t n_allow;
	bool scan;
};

int weir_filter_sql_index(const struct weir_filter_set *fs, struct weir_sql_index *out);
void weir_sql_index_release(struct weir_sql_index *ix);

/* The node_cluster and node_base columns of a node name (see above):
 * pointers into name, and lengths.
 */
void weir_node_name_split(const char *name, const char **cluster, size_t *cluster_len,
			  const char **base);

#endif /* WEIR_FILTER_SQL_H */
