/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by the history's files: history.c (the database and its writer),
 * history_codec.c (records to rows and back), history_query.c (reads).
 */
#ifndef WEIR_RELAY_HISTORY_PRIV_H
#define WEIR_RELAY_HISTORY_PRIV_H

#include <pthread.h>
#include <sqlite3.h>
#include "hashtab.h"
#include "history.h"
#include "history_seg.h"

/* Rows one INSERT writes: a statement's own cost (its cursor, its seek)
 * shared by several rows.
 */
#define WEIR_HISTORY_INSERT_ROWS 32

/* The writer's connection: WAL pages between checkpoints (SQLite's default
 * is 1000, less than one batch's, so every commit would checkpoint).
 */
#define WEIR_HISTORY_WAL_PRAGMAS "PRAGMA wal_autocheckpoint = 8192"

/* A reusable buffer for the rec BLOB. */
struct weir_history_buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

struct weir_history {
	struct weir_history_opts o;
	char *path;
	sqlite3 *wdb; /* the writer's connection */
	sqlite3_stmt *insert;
	sqlite3 *rdb; /* readers', one at a time (rlock) */
	pthread_mutex_t rlock;

	pthread_mutex_t lock; /* the queue, the counters, the error */
	pthread_cond_t wake;  /* the writer: records, a flush, or stop */
	pthread_cond_t done;  /* flushers: a batch was done */
	struct weir_flow_record **q;
	size_t q_len, q_cap;
	uint64_t seq_added; /* records queued, all time */
	uint64_t seq_done;  /* records committed or lost, all time */
	bool flush_now;
	bool stop;
	bool thread_started;
	pthread_t thread;
	struct weir_history_stats st;
	uint64_t last_retain_ns;     /* CLOCK_MONOTONIC */
	struct weir_htab flows;	     /* the writer's: struct weir_history_flow */
	uint64_t newest_ns;	     /* the newest record's time the writer saw */
	struct weir_history_seg seg; /* the writer's open segment: rows >= tail_first */
	int64_t tail_first;	     /* the first row no closed segment has */
	int64_t next_seq;	     /* the next row's seq */
	sqlite3_stmt *insert_n;	     /* WEIR_HISTORY_INSERT_ROWS rows at once */
	struct weir_history_buf rec[WEIR_HISTORY_INSERT_ROWS]; /* the rows' rec BLOBs */
};

/* The flows view's columns as history_codec.c reads them (some of them
 * computed from the stored ones: see history.c's schema version 4).
 */
#define WEIR_HISTORY_COLUMNS                                                                     \
	"time_ns, fstart, family, proto, saddr, daddr, sport, dport, l3_only, verdict, reason, " \
	"dir, is_reply, tcp_flags, ifindex, ifname, node, src_ns, src_pod, dst_ns, dst_pod, "    \
	"packets, bytes, rpackets, rbytes, rec, dpackets, dbytes, drpackets, drbytes"
#define WEIR_HISTORY_N_COLUMNS 30

/* The stored columns, as weir_history_bind() binds them: the small codes
 * packed into meta, the ports into ports (flow_rows, schema versions 3 and 4).
 */
#define WEIR_HISTORY_STORED_COLUMNS                                                           \
	"time_ns, meta, saddr, daddr, ports, tcp_flags, ifindex, ifname, node, src_ns, "      \
	"src_pod, dst_ns, dst_pod, packets, bytes, rpackets, rbytes, rec, dpackets, dbytes, " \
	"drpackets, drbytes"
#define WEIR_HISTORY_N_STORED	   22
/* "?, ..." for them */
#define WEIR_HISTORY_STORED_PARAMS "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?"

/* What a record adds to its flow since the flow's previous record (records
 * carry cumulative counters), and whether it begins the flow: aggregates
 * sum these, so a time range counts the traffic within it.
 */
struct weir_history_delta {
	bool start;
	uint64_t packets, bytes, reply_packets, reply_bytes;
};

/* A flow's state between its records (history.c). */
struct weir_history_flow {
	struct weir_hnode node; /* hash: weir_history_flow_key() */
	uint64_t first_seen_ns;
	uint64_t packets, bytes, reply_packets, reply_bytes;
	uint64_t last_ns; /* the last record's time */
};

/* The flow a record belongs to: what the agent keys it by, and the node. */
uint64_t weir_history_flow_key(const struct weir_flow_record *r);
/* Binds r to the insert statement's parameters first..first +
 * WEIR_HISTORY_N_STORED - 1 (WEIR_HISTORY_STORED_COLUMNS); the rec BLOB is
 * built in buf, which must stay until the statement is stepped.
 */
int weir_history_bind(sqlite3_stmt *stmt, int first, const struct weir_flow_record *r,
		      const struct weir_history_delta *d, struct weir_history_buf *buf);
/* A record from a row whose first WEIR_HISTORY_N_COLUMNS columns are WEIR_HISTORY_COLUMNS. */
int weir_history_decode(sqlite3_stmt *stmt, struct weir_flow_record **out);

/* Records an error: logged, kept as the last one, counted. */
void weir_history_error(struct weir_history *h, const char *what, sqlite3 *db, int rc);

#endif /* WEIR_RELAY_HISTORY_PRIV_H */
