/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The history's index: rows are stored in arrival order (flows.seq) with no
 * per-row index; they are grouped into segments of consecutive rows, each
 * with its time range and, per indexed field value (lib/filter_sql.h: the
 * keys), the list of its rows, delta-encoded (a posting list).
 *
 * The open segment is built in memory while rows are committed (a few hash
 * insertions per record) and written — its segments row and its postings —
 * in the transaction of the batch that closes it (by size or age), so rows
 * and index never part. Rows after the last closed segment (the tail) are
 * read directly by queries, and indexed again at open after a crash.
 *
 * Tables (schema versions 3 and 4):
 *   segments (id = first_row, first_row, last_row, min_time, max_time, rows,
 *             indexed: 0 when its postings could not be built, read whole)
 *   postings (seg, field, key, ids) WITHOUT ROWID, primary key (seg, field, key)
 * A posting list's ids are the rows' offsets from first_row, ascending, as
 * LEB128 varints: the first offset, then each offset minus the previous.
 */
#ifndef WEIR_RELAY_HISTORY_SEG_H
#define WEIR_RELAY_HISTORY_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "filter_sql.h"

#define WEIR_HISTORY_SEG_ROWS	65536		      /* a segment closes at this many rows */
#define WEIR_HISTORY_SEG_AGE_NS (600 * 1000000000ULL) /* or when open this long */

/* The values of a row's indexed fields. */
struct weir_history_keys {
	uint64_t time_ns;
	const uint8_t *saddr, *daddr;
	size_t alen; /* 4 or 16 */
	const char *src_ns, *src_pod, *dst_ns, *dst_pod;
	uint16_t dport;
	uint8_t verdict;
};

struct weir_history_post;

/* The open segment's postings by key: open addressing, the hash kept in
 * the slot so a probe reads no post but the one it finds.
 */
struct weir_history_slot {
	uint64_t hash;
	struct weir_history_post *p;
};

/* The open segment. */
struct weir_history_seg {
	int64_t first_row, last_row; /* rows == 0: empty */
	uint64_t min_time, max_time;
	uint64_t rows;
	uint64_t opened_ns; /* CLOCK_MONOTONIC, when its first row came */
	bool broken;	    /* a posting could not be kept: written unindexed */
	struct weir_history_slot *slots;
	size_t n_slots, n_posts;
	uint8_t *key;
	size_t key_cap;
};

/* Row ids as offsets from a segment's first row. */
struct weir_history_ids {
	uint32_t *v;
	size_t n, cap;
};

/* Empties the segment (keeps its buckets); release frees everything. */
void weir_history_seg_reset(struct weir_history_seg *s);
void weir_history_seg_release(struct weir_history_seg *s);
/* Adds row (after the segment's last) and its keys. */
void weir_history_seg_add(struct weir_history_seg *s, int64_t row,
			  const struct weir_history_keys *k);
/* Writes the segment and its postings (in the caller's transaction);
 * -EIO. The caller resets it once committed.
 */
int weir_history_seg_write(struct weir_history_seg *s, sqlite3 *db);

/* Encodes n ascending offsets into out (5 bytes each at most): its length. */
size_t weir_history_postings_encode(const uint32_t *offs, size_t n, uint8_t *out);
/* Appends a posting list's offsets to ids: 0, -EINVAL (malformed), -ENOMEM. */
int weir_history_postings_decode(const uint8_t *p, size_t len, struct weir_history_ids *ids);

/* The candidate rows of segment seg (rows rows) for ix (ix->scan false): lookup is
 * "SELECT ids FROM postings WHERE seg = ?1 AND field = ?2 AND key >= ?3
 * AND key < ?4". out gets ascending unique offsets. 0, -EIO, -ENOMEM.
 */
#define WEIR_HISTORY_LOOKUP_SQL \
	"SELECT ids FROM postings WHERE seg = ?1 AND field = ?2 AND key >= ?3 AND key < ?4"
int weir_history_seg_candidates(sqlite3_stmt *lookup, int64_t seg, size_t rows,
				const struct weir_sql_index *ix, struct weir_history_ids *out);
void weir_history_ids_release(struct weir_history_ids *ids);

#endif /* WEIR_RELAY_HISTORY_SEG_H */
