/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The relay's persistent history: every record the merge releases, in an
 * SQLite database, so queries reach back past the ring.
 *
 * Writes: weir_history_add() queues a reference (never blocks the merge; a
 * full queue drops the record, counted); a writer thread commits the queue in
 * one transaction every commit interval (100 ms) or every batch_max records,
 * with prepared statements. WAL mode with synchronous=NORMAL: a commit
 * survives the relay's crash (kill -9) whole; what is lost is what had not
 * been committed yet (at most one interval of records, counted as pending
 * on a clean stop they are committed). An OS crash or power loss may also
 * roll back the last commits (NORMAL does not fsync the WAL on each).
 *
 * Rows have no per-row index: the writer indexes them by segment (see
 * history_seg.h), in the same transactions.
 *
 * Retention, in the writer after commits: records older than retention_age
 * (whole segments, and the older rows of the segment the cut falls in) and,
 * while the database's used pages pass max_bytes, the oldest segments
 * whole (the oldest rows when all are in the open segment), each deletion
 * counted.
 *
 * Errors (a full disk, I/O errors, a corrupt file) are logged, kept as the
 * last error, counted with the records they cost (write_lost), and shown by
 * the relay's /v1/status and /metrics; the relay keeps serving from its ring.
 *
 * Reads (history_query.c) go through their own connection, so a long query
 * never holds up the writer (WAL readers do not block the writer).
 */
#ifndef WEIR_RELAY_HISTORY_H
#define WEIR_RELAY_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "filter.h"
#include "flow.h"

#define WEIR_HISTORY_SCHEMA_VERSION	   4
#define WEIR_HISTORY_COMMIT_INTERVAL_NS	   100000000ULL /* 100 ms */
#define WEIR_HISTORY_BATCH_MAX		   16384	/* records per transaction, at most */
#define WEIR_HISTORY_QUEUE_MAX		   262144	/* records waiting for the writer */
#define WEIR_HISTORY_QUERY_MAX		   100000	/* records one /v1/flows answer takes */
#define WEIR_HISTORY_RETENTION_AGE_DEFAULT (7ULL * 24 * 3600 * 1000000000ULL) /* 7 days */
#define WEIR_HISTORY_MAX_BYTES_DEFAULT	   (10ULL << 30)		      /* 10 GiB */

struct weir_history;

struct weir_history_opts {
	const char *path;
	uint64_t retention_age_ns;   /* 0: no age limit */
	uint64_t max_bytes;	     /* 0: no size limit */
	uint64_t commit_interval_ns; /* 0: WEIR_HISTORY_COMMIT_INTERVAL_NS */
	size_t queue_max;	     /* 0: WEIR_HISTORY_QUEUE_MAX */
	size_t query_max;	     /* 0: WEIR_HISTORY_QUERY_MAX */
	size_t segment_rows;	     /* 0: WEIR_HISTORY_SEG_ROWS (history_seg.h) */
	bool no_thread;		     /* tests: no writer thread; weir_history_flush() writes */
};

struct weir_history_stats {
	uint64_t added;		  /* records handed to weir_history_add() */
	uint64_t written;	  /* records committed */
	uint64_t queue_dropped;	  /* records dropped because the queue was full */
	uint64_t write_lost;	  /* records in transactions that failed */
	uint64_t write_errors;	  /* failed transactions and failed retention runs */
	uint64_t commits;	  /* transactions committed */
	uint64_t pending;	  /* records waiting for the writer now */
	uint64_t deleted_age;	  /* records removed by retention_age */
	uint64_t deleted_size;	  /* records removed by max_bytes */
	uint64_t query_truncated; /* /v1/flows answers cut at query_max */
	uint64_t flows_untracked; /* records of flows the writer could not follow (counted whole) */
	uint64_t db_bytes;	  /* pages in use, the last time the writer looked */
	uint64_t file_bytes;	  /* the database file's size, same time */
	uint64_t rows;		  /* records stored, as the writer counts them */
	uint64_t oldest_ns;	  /* the oldest record's time, 0 when empty */
	uint64_t last_error_ns;	  /* CLOCK_REALTIME, 0: none */
	char last_error[160];
};

int weir_history_open(struct weir_history **out, const struct weir_history_opts *o);
/* Commits what is queued, stops the writer and closes the database. */
void weir_history_close(struct weir_history *h);
/* Queues r (takes a new reference) for the next commit. Thread-safe. */
void weir_history_add(struct weir_history *h, struct weir_flow_record *r);
/* Returns once every record added before the call is committed (or lost,
 * counted), or -ETIMEDOUT after timeout_ms.
 */
int weir_history_flush(struct weir_history *h, int timeout_ms);
/* Runs retention now (the writer does it on its own every second). */
int weir_history_retain(struct weir_history *h, uint64_t now_ns);
void weir_history_stats(struct weir_history *h, struct weir_history_stats *st);

/* history_query.c */

/* The stored records req selects (filters, since/until, number/first),
 * oldest first, each a new record the caller puts; at most max (0: the
 * configured query_max), the newest kept (the oldest with first), and
 * *truncated says whether some were left out.
 */
int weir_history_query(struct weir_history *h, const struct weir_flow_request *req, size_t max,
		       struct weir_flow_record ***out, size_t *n, bool *truncated);

/* GET /v1/flows/aggregate: a group-by over stored records. */
#define WEIR_AGG_KEYS_MAX 8

struct weir_agg_request {
	struct weir_flow_request flows; /* filters and since/until; number is ignored */
	int keys[WEIR_AGG_KEYS_MAX];	/* indexes into the field table (history_query.c) */
	size_t n_keys;
	int order; /* what to sort groups by, descending: WEIR_AGG_ORDER_* */
	uint64_t limit;
};

enum {
	WEIR_AGG_ORDER_BYTES,
	WEIR_AGG_ORDER_PACKETS,
	WEIR_AGG_ORDER_FLOWS,
};

/* One query-string pair of an aggregate request: by (a comma-separated list
 * of field names), order (bytes, packets, flows), limit, and the flows
 * request's since, until, allowlist, denylist. -EINVAL naming it in err.
 */
int weir_agg_request_set(struct weir_agg_request *ar, const char *key, const char *value, char *err,
			 size_t err_len);
int weir_agg_request_finish(struct weir_agg_request *ar, char *err, size_t err_len);
void weir_agg_request_release(struct weir_agg_request *ar);
/* {"by": [...], "groups": [{"key": {...}, "flows": n, "packets": n, "bytes": n,
 * "reply_packets": n, "reply_bytes": n}, ...]}: the traffic of the records in
 * the time range (each record counts what it added to its flow; records carry
 * cumulative counters), and the flows that began in it. An observation point
 * counts on its own: a conversation seen at both ends' interfaces counts at
 * both. -EINVAL (a filter SQL cannot express exactly, named in err), -EIO.
 */
int weir_history_aggregate(struct weir_history *h, const struct weir_agg_request *ar, json_t **out,
			   char *err, size_t err_len);

#endif /* WEIR_RELAY_HISTORY_H */
