// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The history database: its schema and migrations, the writer thread that
 * commits queued records in batches, and retention.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "filter_sql.h"
#include "history_priv.h"
#include "log.h"

#define RETAIN_INTERVAL_NS 1000000000ULL /* retention runs at most once a second */
#define RETAIN_CHUNK_ROWS  50000	 /* rows one DELETE takes, bounding a run's latency */
#define RETAIN_CHUNKS_MAX  20		 /* DELETEs one run makes */
#define FLOWS_MAX	   (1 << 20)	 /* flows whose counters the writer follows */
#define FLOW_IDLE_NS	   (600 * 1000000000ULL) /* a flow quiet this long is forgotten */
#define FLOW_SAME_NS	   1000000000ULL	 /* first_seen jitter within one flow */
#define REPLAY_ROWS_MAX	   1000000		 /* rows read back at open to follow flows */

/* Schema version 1 (version 2 changes its indexes, below). node_cluster and
 * node_base are computed, not stored.
 */
static const char *const schema_v1[] = {
	"CREATE TABLE flows ("
	" seq INTEGER PRIMARY KEY,"
	" time_ns INTEGER NOT NULL,"
	" fstart INTEGER NOT NULL,"
	" family INTEGER NOT NULL,"
	" proto INTEGER NOT NULL,"
	" saddr BLOB NOT NULL,"
	" daddr BLOB NOT NULL,"
	" sport INTEGER NOT NULL,"
	" dport INTEGER NOT NULL,"
	" l3_only INTEGER NOT NULL,"
	" verdict INTEGER NOT NULL,"
	" reason INTEGER NOT NULL,"
	" dir INTEGER NOT NULL,"
	" is_reply INTEGER NOT NULL,"
	" tcp_flags INTEGER NOT NULL,"
	" ifindex INTEGER NOT NULL,"
	" ifname TEXT NOT NULL,"
	" node TEXT NOT NULL,"
	" src_ns TEXT NOT NULL,"
	" src_pod TEXT NOT NULL,"
	" dst_ns TEXT NOT NULL,"
	" dst_pod TEXT NOT NULL,"
	" packets INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" rpackets INTEGER NOT NULL,"
	" rbytes INTEGER NOT NULL,"
	" rec BLOB NOT NULL,"
	" dpackets INTEGER NOT NULL,"
	" dbytes INTEGER NOT NULL,"
	" drpackets INTEGER NOT NULL,"
	" drbytes INTEGER NOT NULL,"
	" node_cluster TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0"
	"  THEN substr(node, 1, instr(node, '/') - 1) ELSE 'default' END) VIRTUAL,"
	" node_base TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0"
	"  THEN substr(node, instr(node, '/') + 1) ELSE node END) VIRTUAL)",
	/* the filter language's common fields, each with time for ranges and
	 * order; each costs about as much as the row itself on insert, so node
	 * names (a few per cluster, rarely selective) have none
	 */
	"CREATE INDEX flows_time ON flows (time_ns)",
	"CREATE INDEX flows_saddr ON flows (saddr, time_ns)",
	"CREATE INDEX flows_daddr ON flows (daddr, time_ns)",
	"CREATE INDEX flows_src_pod ON flows (src_ns, src_pod, time_ns)",
	"CREATE INDEX flows_dst_pod ON flows (dst_ns, dst_pod, time_ns)",
	"CREATE INDEX flows_dport ON flows (dport, time_ns)",
	"CREATE INDEX flows_verdict ON flows (verdict, time_ns)",
};

/* Version 2 (replaced by version 3): verdicts other than FORWARDED (drops, audits: the rare rows a
 * verdict filter is for) indexed by partial indexes, alone and with either
 * side's namespace, so `-n shop --verdict DROPPED` reads only its rows. A
 * partial index costs nothing on the FORWARDED rows, where the full verdict
 * index of version 1 cost as much as the row itself and served no query (a
 * filter on FORWARDED is better served by time). lib/filter_sql.c writes
 * the same WEIR_SQL_NOT_FORWARDED the planner needs to use them.
 */
static const char *const schema_v2[] = {
	"DROP INDEX flows_verdict",
	"CREATE INDEX flows_rare ON flows (verdict, time_ns) WHERE " WEIR_SQL_NOT_FORWARDED,
	"CREATE INDEX flows_rare_src ON flows (src_ns, verdict, time_ns) WHERE " WEIR_SQL_NOT_FORWARDED,
	"CREATE INDEX flows_rare_dst ON flows (dst_ns, verdict, time_ns) WHERE " WEIR_SQL_NOT_FORWARDED,
};

/* Version 3: no per-row index (each cost about as much as the row); rows
 * are indexed by segment (history_seg.h). Cheaper rows: the small codes
 * packed into one integer (meta) and the ports into another, the old
 * columns computed from them (VIRTUAL: nothing stored), so every reader
 * (lib/filter_sql.c, history_query.c) names the same columns. A database of
 * an older version is copied into the new table; its rows are the tail,
 * indexed at open.
 */
static const char *const schema_v3[] = {
	"CREATE TABLE flows_v3 ("
	" seq INTEGER PRIMARY KEY,"
	" time_ns INTEGER NOT NULL,"
	" meta INTEGER NOT NULL,"
	" saddr BLOB NOT NULL,"
	" daddr BLOB NOT NULL,"
	" ports INTEGER NOT NULL,"
	" tcp_flags INTEGER NOT NULL,"
	" ifindex INTEGER NOT NULL,"
	" ifname TEXT NOT NULL,"
	" node TEXT NOT NULL,"
	" src_ns TEXT NOT NULL,"
	" src_pod TEXT NOT NULL,"
	" dst_ns TEXT NOT NULL,"
	" dst_pod TEXT NOT NULL,"
	" packets INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" rpackets INTEGER NOT NULL,"
	" rbytes INTEGER NOT NULL,"
	" rec BLOB NOT NULL,"
	" dpackets INTEGER NOT NULL,"
	" dbytes INTEGER NOT NULL,"
	" drpackets INTEGER NOT NULL,"
	" drbytes INTEGER NOT NULL,"
	" family INTEGER GENERATED ALWAYS AS (meta & 255) VIRTUAL,"
	" proto INTEGER GENERATED ALWAYS AS (meta >> 8 & 255) VIRTUAL,"
	" l3_only INTEGER GENERATED ALWAYS AS (meta >> 16 & 1) VIRTUAL,"
	" fstart INTEGER GENERATED ALWAYS AS (meta >> 17 & 1) VIRTUAL,"
	" verdict INTEGER GENERATED ALWAYS AS (meta >> 24 & 255) VIRTUAL,"
	" reason INTEGER GENERATED ALWAYS AS (meta >> 32 & 255) VIRTUAL,"
	" dir INTEGER GENERATED ALWAYS AS (meta >> 40 & 255) VIRTUAL,"
	" is_reply INTEGER GENERATED ALWAYS AS (meta >> 48 & 255) VIRTUAL,"
	" sport INTEGER GENERATED ALWAYS AS (ports >> 16 & 65535) VIRTUAL,"
	" dport INTEGER GENERATED ALWAYS AS (ports & 65535) VIRTUAL,"
	" node_cluster TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0"
	"  THEN substr(node, 1, instr(node, '/') - 1) ELSE 'default' END) VIRTUAL,"
	" node_base TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0"
	"  THEN substr(node, instr(node, '/') + 1) ELSE node END) VIRTUAL)",
	"INSERT INTO flows_v3 (seq, time_ns, meta, saddr, daddr, ports, tcp_flags, ifindex,"
	" ifname, node, src_ns, src_pod, dst_ns, dst_pod, packets, bytes, rpackets, rbytes, rec,"
	" dpackets, dbytes, drpackets, drbytes)"
	/* <<, >>, & and | have one precedence in SQL, left to right */
	" SELECT seq, time_ns, family | (proto << 8) | ((l3_only <> 0) << 16)"
	"  | ((fstart <> 0) << 17) | (verdict << 24) | (reason << 32) | (dir << 40)"
	"  | (is_reply << 48), saddr, daddr,"
	"  (sport << 16) | dport, tcp_flags, ifindex, ifname, node, src_ns, src_pod, dst_ns,"
	"  dst_pod, packets, bytes, rpackets, rbytes, rec, dpackets, dbytes, drpackets, drbytes"
	" FROM flows ORDER BY seq",
	"DROP TABLE flows", /* and its indexes */
	"ALTER TABLE flows_v3 RENAME TO flows",
	"CREATE TABLE segments ("
	" id INTEGER PRIMARY KEY,"
	" first_row INTEGER NOT NULL,"
	" last_row INTEGER NOT NULL,"
	" min_time INTEGER NOT NULL,"
	" max_time INTEGER NOT NULL,"
	" rows INTEGER NOT NULL,"
	" indexed INTEGER NOT NULL)",
	"CREATE TABLE postings ("
	" seg INTEGER NOT NULL,"
	" field INTEGER NOT NULL,"
	" key BLOB NOT NULL,"
	" ids BLOB NOT NULL,"
	" PRIMARY KEY (seg, field, key)) WITHOUT ROWID",
};

/* Version 4: the rows in a plain table (flow_rows), and flows a view with
 * version 3's computed columns: SQLite computes a table's generated columns
 * on every INSERT (VIRTUAL ones too, ~20% of a row), a view's only when a
 * query names them. Readers name the view's columns as before (the planner
 * flattens it: seq is still the rowid); writes go to flow_rows. No row is
 * copied: a RENAME and the DROP COLUMN of a VIRTUAL column change the schema
 * only.
 */
#define FLOWS_VIEW                                                                               \
	"CREATE VIEW flows AS SELECT seq, time_ns, meta & 255 AS family,"                        \
	" meta >> 8 & 255 AS proto, meta >> 16 & 1 AS l3_only, meta >> 17 & 1 AS fstart,"        \
	" meta >> 24 & 255 AS verdict, meta >> 32 & 255 AS reason, meta >> 40 & 255 AS dir,"     \
	" meta >> 48 & 255 AS is_reply, saddr, daddr, ports >> 16 & 65535 AS sport,"             \
	" ports & 65535 AS dport, tcp_flags, ifindex, ifname, node, src_ns, src_pod, dst_ns,"    \
	" dst_pod, packets, bytes, rpackets, rbytes, rec, dpackets, dbytes, drpackets, drbytes," \
	" meta, ports,"                                                                          \
	" CASE WHEN instr(node, '/') > 0 THEN substr(node, 1, instr(node, '/') - 1)"             \
	"  ELSE 'default' END AS node_cluster,"                                                  \
	" CASE WHEN instr(node, '/') > 0 THEN substr(node, instr(node, '/') + 1)"                \
	"  ELSE node END AS node_base"                                                           \
	" FROM flow_rows"

static const char *const schema_v4[] = {
	"ALTER TABLE flows RENAME TO flow_rows",
	"ALTER TABLE flow_rows DROP COLUMN node_base",
	"ALTER TABLE flow_rows DROP COLUMN node_cluster",
	"ALTER TABLE flow_rows DROP COLUMN dport",
	"ALTER TABLE flow_rows DROP COLUMN sport",
	"ALTER TABLE flow_rows DROP COLUMN is_reply",
	"ALTER TABLE flow_rows DROP COLUMN dir",
	"ALTER TABLE flow_rows DROP COLUMN reason",
	"ALTER TABLE flow_rows DROP COLUMN verdict",
	"ALTER TABLE flow_rows DROP COLUMN fstart",
	"ALTER TABLE flow_rows DROP COLUMN l3_only",
	"ALTER TABLE flow_rows DROP COLUMN proto",
	"ALTER TABLE flow_rows DROP COLUMN family",
	FLOWS_VIEW,
};

static const struct {
	const char *const *sql;
	size_t n;
} migrations[] = {
	{ schema_v1, sizeof(schema_v1) / sizeof(schema_v1[0]) }, /* 0 -> 1 */
	{ schema_v2, sizeof(schema_v2) / sizeof(schema_v2[0]) }, /* 1 -> 2 */
	{ schema_v3, sizeof(schema_v3) / sizeof(schema_v3[0]) }, /* 2 -> 3 */
	{ schema_v4, sizeof(schema_v4) / sizeof(schema_v4[0]) }, /* 3 -> 4 */
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == WEIR_HISTORY_SCHEMA_VERSION,
	       "one migration per schema version");

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void weir_history_error(struct weir_history *h, const char *what, sqlite3 *db, int rc)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	log_err("history: %s: %s (sqlite code %d) path=%s", what, msg, rc, h->path);
	pthread_mutex_lock(&h->lock);
	snprintf(h->st.last_error, sizeof(h->st.last_error), "%s: %s", what, msg);
	h->st.last_error_ns = clock_ns(CLOCK_REALTIME);
	h->st.write_errors++;
	pthread_mutex_unlock(&h->lock);
}

static int exec(struct weir_history *h, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(h->wdb, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		weir_history_error(h, sql, h->wdb, rc);
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Creates the schema in an empty database, or brings an older one up to
 * date, one version after the other in one transaction; refuses one made by
 * a newer relay.
 */
static int migrate(struct weir_history *h)
{
	int64_t version = pragma_int(h->wdb, "PRAGMA user_version"), v;
	char sql[64];
	size_t i;
	int err;

	if (version < 0) {
		weir_history_error(h, "read the schema version", h->wdb, sqlite3_errcode(h->wdb));
		return -EIO;
	}
	if (version == WEIR_HISTORY_SCHEMA_VERSION)
		return 0;
	if (version > WEIR_HISTORY_SCHEMA_VERSION) {
		log_err("history: %s has schema version %lld, newer than this relay's %d", h->path,
			(long long)version, WEIR_HISTORY_SCHEMA_VERSION);
		return -EPROTO;
	}
	err = exec(h, "BEGIN IMMEDIATE");
	for (v = version; !err && v < WEIR_HISTORY_SCHEMA_VERSION; v++)
		for (i = 0; !err && i < migrations[v].n; i++)
			err = exec(h, migrations[v].sql[i]);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", WEIR_HISTORY_SCHEMA_VERSION);
	err = err ?: exec(h, sql);
	err = err ?: exec(h, "COMMIT");
	if (err)
		sqlite3_exec(h->wdb, "ROLLBACK", NULL, NULL, NULL);
	else if (version)
		log_info("history: migrated %s from schema version %lld to %d", h->path,
			 (long long)version, WEIR_HISTORY_SCHEMA_VERSION);
	else
		log_info("history: created %s (schema version %d)", h->path,
			 WEIR_HISTORY_SCHEMA_VERSION);
	return err;
}

/* SQLite's memory statistics take a global mutex on each of its
 * allocations (several a row); the relay reads none of them. Only possible
 * before SQLite is first used in the process: else it stays as it was.
 */
static void sqlite_setup(void)
{
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
		log_debug("history: SQLite's memory statistics stay on (already initialized)");
}

/* Each connection is one thread's at a time (the writer's: the opener's,
 * then the writer thread's alone; the readers': under rlock), so neither
 * takes SQLite's per-connection mutex.
 */
static int db_open(struct weir_history *h, sqlite3 **db, int flags)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc;

	pthread_once(&once, sqlite_setup);
	rc = sqlite3_open_v2(h->path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		weir_history_error(h, "open", *db, rc);
		sqlite3_close(*db);
		*db = NULL;
		return -EIO;
	}
	sqlite3_extended_result_codes(*db, 1);
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

/* Pages in use, the file's size, the row count and the oldest time. */
static void sizes_update(struct weir_history *h)
{
	int64_t pages = pragma_int(h->wdb, "PRAGMA page_count");
	int64_t free_pages = pragma_int(h->wdb, "PRAGMA freelist_count");
	int64_t page_size = pragma_int(h->wdb, "PRAGMA page_size");
	int64_t oldest = pragma_int(h->wdb, "SELECT min(min_time) FROM segments");
	struct stat sb;

	if (h->seg.rows && (oldest <= 0 || h->seg.min_time < (uint64_t)oldest))
		oldest = (int64_t)h->seg.min_time;

	pthread_mutex_lock(&h->lock);
	if (pages >= 0 && free_pages >= 0 && page_size > 0)
		h->st.db_bytes = (uint64_t)(pages - free_pages) * (uint64_t)page_size;
	if (!stat(h->path, &sb))
		h->st.file_bytes = (uint64_t)sb.st_size;
	h->st.oldest_ns = oldest > 0 ? (uint64_t)oldest : 0;
	pthread_mutex_unlock(&h->lock);
}

static void *writer(void *arg);
static int flows_replay(struct weir_history *h);

/* The keys history_seg.c indexes, from a record. */
static void record_keys(const struct weir_flow_record *r, struct weir_history_keys *k)
{
	k->time_ns = r->time_ns;
	k->saddr = r->saddr;
	k->daddr = r->daddr;
	k->alen = r->family == 4 ? 4 : 16;
	k->src_ns = r->src ? r->src->namespace : NULL;
	k->src_pod = r->src ? r->src->pod_name : NULL;
	k->dst_ns = r->dst ? r->dst->namespace : NULL;
	k->dst_pod = r->dst ? r->dst->pod_name : NULL;
	k->dport = r->dport;
	k->verdict = r->verdict;
}

static bool seg_due(struct weir_history *h)
{
	return h->seg.rows >= h->o.segment_rows ||
	       (h->seg.rows &&
		clock_ns(CLOCK_MONOTONIC) - h->seg.opened_ns >= WEIR_HISTORY_SEG_AGE_NS);
}

/* Writes the open segment in the caller's transaction; reset once committed. */
static int seg_close(struct weir_history *h)
{
	if (weir_history_seg_write(&h->seg, h->wdb)) {
		weir_history_error(h, "write a segment", h->wdb, sqlite3_errcode(h->wdb));
		return -EIO;
	}
	return 0;
}

static void seg_closed(struct weir_history *h)
{
	h->tail_first = h->seg.last_row + 1;
	weir_history_seg_reset(&h->seg);
}

/* The rows no closed segment has (after a crash, a rolled back commit, or
 * a migration: all of them) into the open segment, closing full ones in
 * one transaction; and the next row's seq.
 */
static int tail_index(struct weir_history *h)
{
	int64_t last = pragma_int(h->wdb, "SELECT coalesce(max(last_row), 0) FROM segments");
	int64_t max_seq = pragma_int(h->wdb, "SELECT coalesce(max(seq), 0) FROM flow_rows");
	sqlite3_stmt *st = NULL;
	size_t closed = 0;
	int rc, err = 0;

	weir_history_seg_reset(&h->seg);
	if (last < 0 || max_seq < 0) {
		weir_history_error(h, "read the segments", h->wdb, sqlite3_errcode(h->wdb));
		return -EIO;
	}
	h->tail_first = last + 1;
	h->next_seq = (max_seq > last ? max_seq : last) + 1;
	h->seg.opened_ns = clock_ns(CLOCK_MONOTONIC);
	if (max_seq <= last)
		return 0;
	rc = sqlite3_exec(h->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
			h->wdb,
			"SELECT seq, time_ns, saddr, daddr, src_ns, src_pod, dst_ns,"
			" dst_pod, dport, verdict FROM flows WHERE seq >= ? ORDER BY seq",
			-1, &st, NULL);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "index the tail", h->wdb, rc);
		sqlite3_exec(h->wdb, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, h->tail_first);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct weir_history_keys k = {
			.time_ns = (uint64_t)sqlite3_column_int64(st, 1),
			.saddr = sqlite3_column_blob(st, 2),
			.alen = (size_t)sqlite3_column_bytes(st, 2),
			.daddr = sqlite3_column_blob(st, 3),
			.src_ns = (const char *)sqlite3_column_text(st, 4),
			.src_pod = (const char *)sqlite3_column_text(st, 5),
			.dst_ns = (const char *)sqlite3_column_text(st, 6),
			.dst_pod = (const char *)sqlite3_column_text(st, 7),
			.dport = (uint16_t)sqlite3_column_int(st, 8),
			.verdict = (uint8_t)sqlite3_column_int(st, 9),
		};
		static const uint8_t zero[16];

		/* a row whose addresses are not as written is indexed by none */
		if (!k.saddr || !k.daddr || (k.alen != 4 && k.alen != 16) ||
		    (size_t)sqlite3_column_bytes(st, 3) != k.alen) {
			k.saddr = zero;
			k.daddr = zero;
			k.alen = 16;
			h->seg.broken = true;
		}
		weir_history_seg_add(&h->seg, sqlite3_column_int64(st, 0), &k);
		if (h->seg.rows >= h->o.segment_rows) {
			err = seg_close(h);
			if (!err) {
				seg_closed(h);
				closed++;
			}
		}
	}
	if (!err && rc != SQLITE_DONE) {
		weir_history_error(h, "index the tail", h->wdb, rc);
		err = -EIO;
	}
	sqlite3_finalize(st);
	if (!err && sqlite3_exec(h->wdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		weir_history_error(h, "index the tail", h->wdb, sqlite3_errcode(h->wdb));
		err = -EIO;
	}
	if (err) {
		sqlite3_exec(h->wdb, "ROLLBACK", NULL, NULL, NULL);
		weir_history_seg_reset(&h->seg);
		h->tail_first = last + 1;
		return err;
	}
	h->seg.opened_ns = clock_ns(CLOCK_MONOTONIC);
	log_info("history: indexed the tail: segments=%zu open rows=%llu", closed,
		 (unsigned long long)h->seg.rows);
	return 0;
}

static int writer_start(struct weir_history *h)
{
	int err = -pthread_create(&h->thread, NULL, writer, h);

	if (err) {
		log_err("history: writer thread: %s", strerror(-err));
		return err;
	}
	h->thread_started = true;
	return 0;
}

/* INSERT INTO flow_rows of n rows at once. */
static int insert_prepare(struct weir_history *h, int n, sqlite3_stmt **out)
{
#define ROW "(" WEIR_HISTORY_STORED_PARAMS ", ?)"
	static const char head[] =
		"INSERT INTO flow_rows (" WEIR_HISTORY_STORED_COLUMNS ", seq) VALUES ";
	size_t len = sizeof(head) + (size_t)n * sizeof(ROW ", "), off;
	char *sql = malloc(len);
	int i, rc;

	if (!sql)
		return -ENOMEM;
	off = (size_t)snprintf(sql, len, "%s", head);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(sql + off, len - off, "%s" ROW, i ? ", " : "");
#undef ROW
	rc = sqlite3_prepare_v3(h->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "prepare the insert", h->wdb, rc);
		return -EIO;
	}
	return 0;
}

int weir_history_open(struct weir_history **out, const struct weir_history_opts *o)
{
	struct weir_history *h = calloc(1, sizeof(*h));
	int64_t rows;
	int err;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->o = *o;
	if (!h->o.commit_interval_ns)
		h->o.commit_interval_ns = WEIR_HISTORY_COMMIT_INTERVAL_NS;
	if (!h->o.queue_max)
		h->o.queue_max = WEIR_HISTORY_QUEUE_MAX;
	if (!h->o.query_max)
		h->o.query_max = WEIR_HISTORY_QUERY_MAX;
	if (!h->o.segment_rows)
		h->o.segment_rows = WEIR_HISTORY_SEG_ROWS;
	h->path = strdup(o->path ? o->path : "");
	h->o.path = h->path;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->rlock, NULL);
	pthread_cond_init(&h->wake, NULL);
	pthread_cond_init(&h->done, NULL);
	if (!h->path || !h->path[0]) {
		err = -EINVAL;
		goto err_close;
	}
	err = db_open(h, &h->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (err)
		goto err_close;
	/* WAL: readers never block the writer; NORMAL: a commit survives a crash
	 * of the process (see history.h for what an OS crash may cost).
	 */
	err = exec(h, "PRAGMA journal_mode = WAL");
	err = err ?: exec(h, "PRAGMA synchronous = NORMAL");
	err = err ?: exec(h, "PRAGMA cache_size = -131072"); /* 128 MiB */
	err = err ?: exec(h, "PRAGMA temp_store = MEMORY");
	err = err ?: exec(h, WEIR_HISTORY_WAL_PRAGMAS);
	err = err ?: exec(h, "PRAGMA journal_size_limit = 67108864");
	err = err ?: migrate(h);
	if (err)
		goto err_close;
	err = insert_prepare(h, 1, &h->insert);
	err = err ?: insert_prepare(h, WEIR_HISTORY_INSERT_ROWS, &h->insert_n);
	if (err)
		goto err_close;
	err = db_open(h, &h->rdb, SQLITE_OPEN_READONLY);
	/* queries read rows by seq all over a segment: a cache of their own that
	 * outlives a transaction while the file does not change under it
	 */
	if (!err && sqlite3_exec(h->rdb, "PRAGMA cache_size = -65536", NULL, NULL, NULL))
		log_warn("history: the readers' cache: %s", sqlite3_errmsg(h->rdb));
	err = err ?: weir_htab_init(&h->flows, 1024);
	err = err ?: tail_index(h);
	err = err ?: flows_replay(h);
	if (err)
		goto err_close;
	rows = pragma_int(h->wdb, "SELECT total(rows) FROM segments");
	h->st.rows = (rows > 0 ? (uint64_t)rows : 0) + h->seg.rows;
	sizes_update(h);
	log_info("history: open path=%s records=%llu bytes=%llu", h->path,
		 (unsigned long long)h->st.rows, (unsigned long long)h->st.db_bytes);
	/* from here on the writer's connection is the writer thread's alone */
	if (!h->o.no_thread) {
		err = writer_start(h);
		if (err)
			goto err_close;
	}
	*out = h;
	return 0;

err_close:
	weir_history_close(h);
	return err;
}

/* Bytes of the pages in use (the file keeps freed pages for reuse). */
static int64_t used_bytes(struct weir_history *h)
{
	int64_t pages = pragma_int(h->wdb, "PRAGMA page_count");
	int64_t free_pages = pragma_int(h->wdb, "PRAGMA freelist_count");
	int64_t page_size = pragma_int(h->wdb, "PRAGMA page_size");

	if (pages < 0 || free_pages < 0 || page_size <= 0)
		return -1;
	return (pages - free_pages) * page_size;
}

static int64_t rows_changed(struct weir_history *h)
{
	int64_t n = sqlite3_changes(h->wdb);

	pthread_mutex_lock(&h->lock);
	h->st.rows -= (uint64_t)n < h->st.rows ? (uint64_t)n : h->st.rows;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* Runs sql with up to 3 integer parameters; -EIO. */
static int run(struct weir_history *h, const char *sql, int64_t a, int64_t b, int64_t c)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(h->wdb, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		int np = sqlite3_bind_parameter_count(st);

		if (np >= 1)
			sqlite3_bind_int64(st, 1, a);
		if (np >= 2)
			sqlite3_bind_int64(st, 2, b);
		if (np >= 3)
			sqlite3_bind_int64(st, 3, c);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		weir_history_error(h, "retention", h->wdb, rc);
		return -EIO;
	}
	return 0;
}

/* A closed segment's rows older than cut (all: cut INT64_MAX) are deleted,
 * and the segment with its postings when none is left, in one transaction;
 * returns the rows deleted or -EIO.
 */
static int64_t segment_cut(struct weir_history *h, int64_t id, int64_t last, int64_t max_time,
			   int64_t cut)
{
	int64_t n;
	int err;

	err = exec(h, "BEGIN");
	if (err)
		return err;
	err = run(h, "DELETE FROM flow_rows WHERE seq BETWEEN ?1 AND ?2 AND time_ns < ?3", id, last,
		  cut);
	n = err ? 0 : sqlite3_changes(h->wdb);
	if (!err && max_time < cut) {
		err = run(h, "DELETE FROM postings WHERE seg = ?1", id, 0, 0);
		err = err ?: run(h, "DELETE FROM segments WHERE id = ?1", id, 0, 0);
	} else if (!err) {
		err = run(
			h,
			"UPDATE segments SET rows = max(rows - ?2, 0), min_time = coalesce("
			"(SELECT min(time_ns) FROM flow_rows WHERE seq BETWEEN ?1 AND ?3), max_time)"
			" WHERE id = ?1",
			id, n, last);
	}
	err = err ?: exec(h, "COMMIT");
	if (err) {
		sqlite3_exec(h->wdb, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	pthread_mutex_lock(&h->lock);
	h->st.rows -= (uint64_t)n < h->st.rows ? (uint64_t)n : h->st.rows;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* The oldest closed segments (by their oldest record) whose rows are
 * older than cut, at most RETAIN_CHUNKS_MAX, each cut; returns the rows
 * deleted or -EIO. size: while the pages in use pass max_bytes, whole.
 */
static int64_t segments_cut(struct weir_history *h, int64_t cut, bool size)
{
	int64_t total = 0, n;
	int i;

	for (i = 0; i < RETAIN_CHUNKS_MAX; i++) {
		int64_t id = -1, last = 0, max_time = 0, used;
		sqlite3_stmt *st;

		if (size) {
			used = used_bytes(h);
			if (used < 0 || (uint64_t)used <= h->o.max_bytes)
				break;
		}
		if (sqlite3_prepare_v2(h->wdb,
				       "SELECT id, last_row, max_time FROM segments"
				       " WHERE min_time < ?1 ORDER BY min_time, id LIMIT 1",
				       -1, &st, NULL) != SQLITE_OK) {
			weir_history_error(h, "retention", h->wdb, sqlite3_errcode(h->wdb));
			return -EIO;
		}
		sqlite3_bind_int64(st, 1, cut);
		if (sqlite3_step(st) == SQLITE_ROW) {
			id = sqlite3_column_int64(st, 0);
			last = sqlite3_column_int64(st, 1);
			max_time = sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
		if (id < 0)
			break;
		n = segment_cut(h, id, last, size ? INT64_MIN : max_time, size ? INT64_MAX : cut);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

/* The open segment's time range after rows of it were deleted. */
static void tail_times(struct weir_history *h)
{
	int64_t lo = -1;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(h->wdb, "SELECT min(time_ns) FROM flow_rows WHERE seq >= ?", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, h->tail_first);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		lo = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (lo >= 0)
		h->seg.min_time = (uint64_t)lo;
	else
		h->seg.min_time = h->seg.max_time; /* none left */
}

/* Rows to delete from the open segment for the pages in use to fall under
 * max_bytes: the excess's share of the rows, and a percent more so the next
 * commits have room.
 */
static int64_t size_chunk(struct weir_history *h)
{
	int64_t used = used_bytes(h), rows, want;

	if (used < 0 || (uint64_t)used <= h->o.max_bytes)
		return 0;
	pthread_mutex_lock(&h->lock);
	rows = (int64_t)h->st.rows;
	pthread_mutex_unlock(&h->lock);
	want = (int64_t)((double)rows * (double)((uint64_t)used - h->o.max_bytes) / (double)used) +
	       rows / 100 + 1;
	return want < RETAIN_CHUNK_ROWS ? want : RETAIN_CHUNK_ROWS;
}

/* The open segment's rows older than cut; returns the rows deleted or -EIO. */
static int64_t tail_cut(struct weir_history *h, int64_t cut)
{
	int64_t n;

	if (!h->seg.rows || h->seg.min_time >= (uint64_t)cut)
		return 0;
	if (run(h, "DELETE FROM flow_rows WHERE seq >= ?1 AND time_ns < ?2", h->tail_first, cut, 0))
		return -EIO;
	n = rows_changed(h);
	tail_times(h);
	return n;
}

/* The open segment's oldest rows while the pages in use pass max_bytes. */
static int64_t tail_trim(struct weir_history *h)
{
	int64_t total = 0, want, n;
	int i;

	for (i = 0; i < RETAIN_CHUNKS_MAX && h->seg.rows; i++) {
		want = size_chunk(h);
		if (want <= 0)
			break;
		if (run(h,
			"DELETE FROM flow_rows WHERE seq IN (SELECT seq FROM flow_rows WHERE seq >= ?1"
			" ORDER BY time_ns, seq LIMIT ?2)",
			h->tail_first, want, 0))
			return -EIO;
		n = rows_changed(h);
		total += n;
		if (n < want)
			break;
	}
	if (total)
		tail_times(h);
	return total;
}

int weir_history_retain(struct weir_history *h, uint64_t now_ns)
{
	int64_t by_age = 0, by_size = 0, n;

	if (h->o.retention_age_ns && now_ns > h->o.retention_age_ns) {
		int64_t cut = (int64_t)(now_ns - h->o.retention_age_ns);

		/* oldest first: whole segments, the rows of the one the cut falls in */
		by_age = segments_cut(h, cut, false);
		n = by_age < 0 ? by_age : tail_cut(h, cut);
		by_age = n < 0 ? n : by_age + n;
	}
	if (by_age >= 0 && h->o.max_bytes) {
		/* the oldest segments whole; freed pages are reused, the file stays
		 * near max_bytes
		 */
		by_size = segments_cut(h, INT64_MAX, true);
		n = by_size < 0 ? by_size : tail_trim(h);
		by_size = n < 0 ? n : by_size + n;
	}
	pthread_mutex_lock(&h->lock);
	if (by_age > 0)
		h->st.deleted_age += (uint64_t)by_age;
	if (by_size > 0)
		h->st.deleted_size += (uint64_t)by_size;
	pthread_mutex_unlock(&h->lock);
	if (by_age > 0 || by_size > 0)
		log_debug("history: retention deleted age=%lld size=%lld", (long long)by_age,
			  (long long)by_size);
	sizes_update(h);
	return by_age < 0 || by_size < 0 ? -EIO : 0;
}

/* Forgets flows quiet for FLOW_IDLE_NS (their end record was lost, or the
 * flow outlived the agent), so the table stays bounded.
 */
static void flows_expire(struct weir_history *h)
{
	struct weir_hnode *pos, *tmp;
	size_t i;

	weir_htab_for_each_safe(&h->flows, i, pos, tmp)
	{
		struct weir_history_flow *f = (struct weir_history_flow *)pos;

		if (f->last_ns + FLOW_IDLE_NS < h->newest_ns) {
			weir_htab_remove(&h->flows, pos);
			free(f);
		}
	}
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* What r adds to its flow (see struct weir_history_delta); follows the flow
 * until its end record. A flow the table cannot hold counts whole at each
 * record: that is counted (flows_untracked).
 */
static void account(struct weir_history *h, const struct weir_flow_record *r,
		    struct weir_history_delta *d)
{
	struct weir_history_flow *f = NULL;
	struct weir_hnode *pos;
	uint64_t key, gap;

	d->start = true;
	d->packets = r->packets;
	d->bytes = r->bytes;
	d->reply_packets = r->reply_packets;
	d->reply_bytes = r->reply_bytes;
	if (r->time_ns > h->newest_ns)
		h->newest_ns = r->time_ns;
	/* a drop event is one packet of its own */
	if (r->type == WEIR_RECORD_DROP)
		return;
	key = weir_history_flow_key(r);
	weir_htab_for_each_possible(&h->flows, pos, key)
	{
		f = (struct weir_history_flow *)pos;
		break;
	}
	gap = f && f->first_seen_ns > r->first_seen_ns ? f->first_seen_ns - r->first_seen_ns :
	      f					       ? r->first_seen_ns - f->first_seen_ns :
							 0;
	/* the same flow: no start record, counters that only grew, its first_seen */
	if (f && r->type != WEIR_RECORD_START && r->packets >= f->packets && r->bytes >= f->bytes &&
	    r->reply_packets >= f->reply_packets && r->reply_bytes >= f->reply_bytes &&
	    gap <= FLOW_SAME_NS) {
		d->start = false;
		d->packets = sub0(r->packets, f->packets);
		d->bytes = sub0(r->bytes, f->bytes);
		d->reply_packets = sub0(r->reply_packets, f->reply_packets);
		d->reply_bytes = sub0(r->reply_bytes, f->reply_bytes);
	}
	if (r->type == WEIR_RECORD_END) {
		if (f) {
			weir_htab_remove(&h->flows, &f->node);
			free(f);
		}
		return;
	}
	if (!f) {
		if (h->flows.n >= FLOWS_MAX)
			flows_expire(h);
		f = h->flows.n < FLOWS_MAX ? calloc(1, sizeof(*f)) : NULL;
		if (!f || weir_htab_insert(&h->flows, &f->node, key)) {
			free(f);
			pthread_mutex_lock(&h->lock);
			h->st.flows_untracked++;
			pthread_mutex_unlock(&h->lock);
			return;
		}
	}
	f->first_seen_ns = r->first_seen_ns;
	f->packets = r->packets;
	f->bytes = r->bytes;
	f->reply_packets = r->reply_packets;
	f->reply_bytes = r->reply_bytes;
	f->last_ns = r->time_ns;
}

/* At open: the flows of the last FLOW_IDLE_NS are followed again, so a
 * restart does not count a live flow's traffic twice.
 */
static int flows_replay(struct weir_history *h)
{
	struct weir_history_delta d;
	struct weir_flow_record *r;
	sqlite3_stmt *st;
	int64_t newest = pragma_int(h->wdb, "SELECT coalesce(max(max_time), 0) FROM segments");
	int64_t from, first;
	size_t n = 0;
	int rc;

	if (h->seg.rows && h->seg.max_time > (uint64_t)newest)
		newest = (int64_t)h->seg.max_time;
	if (newest <= 0)
		return 0;
	from = newest - (int64_t)FLOW_IDLE_NS;
	/* the rows of the segments that reach into the last FLOW_IDLE_NS */
	rc = sqlite3_prepare_v2(
		h->wdb, "SELECT coalesce(min(first_row), ?2) FROM segments WHERE max_time >= ?1",
		-1, &st, NULL);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "prepare the replay", h->wdb, rc);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, h->tail_first);
	first = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : h->tail_first;
	sqlite3_finalize(st);
	rc = sqlite3_prepare_v2(h->wdb,
				"SELECT " WEIR_HISTORY_COLUMNS " FROM flows WHERE seq >= ?"
				" AND time_ns >= ? ORDER BY seq LIMIT ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "prepare the replay", h->wdb, rc);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, REPLAY_ROWS_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (weir_history_decode(st, &r))
			continue;
		account(h, r, &d);
		weir_flow_record_put(r);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		weir_history_error(h, "replay", h->wdb, rc);
		return -EIO;
	}
	log_info("history: following flows=%zu from records=%zu", h->flows.n, n);
	return 0;
}

/* A record, what it adds to its flow and its row, bound and waiting for
 * the rows of its INSERT.
 */
struct pending {
	struct weir_flow_record *r;
	struct weir_history_delta d;
	int64_t seq;
};

/* Binds r as row `slot` of stmt: -EINVAL (logged), or 0. */
static int bind_row(struct weir_history *h, sqlite3_stmt *stmt, int slot, const struct pending *p)
{
	int first = slot * (WEIR_HISTORY_N_STORED + 1) + 1;
	int err = weir_history_bind(stmt, first, p->r, &p->d, &h->rec[slot]);

	if (!err && sqlite3_bind_int64(stmt, first + WEIR_HISTORY_N_STORED, p->seq))
		err = -EINVAL;
	if (err)
		/* one record that cannot be stored is lost alone, counted */
		log_warn("history: record id=%llu not stored: %s", (unsigned long long)p->r->id,
			 strerror(-err));
	return err;
}

static int step(struct weir_history *h, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		weir_history_error(h, "insert", h->wdb, rc);
		return -EIO;
	}
	return 0;
}

/* One transaction of n records and, when it closes the open segment, its
 * postings; returns how many records were written.
 */
static size_t write_batch(struct weir_history *h, struct weir_flow_record **v, size_t n)
{
	struct pending pend[WEIR_HISTORY_INSERT_ROWS];
	int64_t seq0 = h->next_seq;
	size_t i, written = 0;
	bool closing = false;
	int rc, k = 0, j;

	rc = sqlite3_exec(h->wdb, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "begin", h->wdb, rc);
		return 0;
	}
	if (!h->seg.rows)
		h->seg.opened_ns = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		struct weir_history_keys keys;
		struct pending *p = &pend[k];

		p->r = v[i];
		p->seq = h->next_seq;
		account(h, v[i], &p->d);
		if (bind_row(h, h->insert_n, k, p))
			continue;
		record_keys(v[i], &keys);
		weir_history_seg_add(&h->seg, h->next_seq++, &keys);
		if (++k < WEIR_HISTORY_INSERT_ROWS)
			continue;
		if (step(h, h->insert_n))
			goto rollback;
		written += (size_t)k;
		k = 0;
	}
	/* the last rows one by one (bound before: they bind again) */
	for (j = 0; j < k; j++) {
		if (bind_row(h, h->insert, 0, &pend[j]) || step(h, h->insert))
			goto rollback;
		written++;
	}
	sqlite3_clear_bindings(h->insert_n);
	if (seg_due(h)) {
		if (seg_close(h))
			goto rollback;
		closing = true;
	}
	rc = sqlite3_exec(h->wdb, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "commit", h->wdb, rc);
		goto rollback;
	}
	if (closing)
		seg_closed(h);
	return written;

rollback:
	sqlite3_exec(h->wdb, "ROLLBACK", NULL, NULL, NULL);
	/* the open segment has rows that are not there: built again from those that are */
	h->next_seq = seq0;
	if (tail_index(h)) {
		/* the tail stays readable: its segment will be written unindexed */
		log_warn("history: the open segment could not be rebuilt: rows=%lld.. unindexed",
			 (long long)h->tail_first);
		weir_history_seg_reset(&h->seg);
		if (h->next_seq > h->tail_first) {
			h->seg.first_row = h->tail_first;
			h->seg.last_row = h->next_seq - 1;
			h->seg.rows = (uint64_t)(h->next_seq - h->tail_first);
			h->seg.max_time = INT64_MAX;
			h->seg.broken = true;
		}
	}
	return 0;
}

/* Writes what is queued, batch by batch; called with h->lock held, which it
 * drops while writing.
 */
static void drain(struct weir_history *h)
{
	while (h->q_len) {
		struct weir_flow_record **v = h->q;
		size_t n = h->q_len, i, written;

		h->q = NULL;
		h->q_len = 0;
		h->q_cap = 0;
		h->flush_now = false;
		pthread_mutex_unlock(&h->lock);
		written = 0;
		for (i = 0; i < n; i += WEIR_HISTORY_BATCH_MAX) {
			size_t k = n - i < WEIR_HISTORY_BATCH_MAX ? n - i : WEIR_HISTORY_BATCH_MAX;
			size_t w = write_batch(h, v + i, k);

			written += w;
			pthread_mutex_lock(&h->lock);
			h->st.written += w;
			h->st.rows += w;
			h->st.write_lost += k - w;
			h->st.commits += w > 0;
			pthread_mutex_unlock(&h->lock);
		}
		for (i = 0; i < n; i++)
			weir_flow_record_put(v[i]);
		free(v);
		(void)written;
		pthread_mutex_lock(&h->lock);
		h->seq_done += n;
		pthread_cond_broadcast(&h->done);
	}
}

static void retain_maybe(struct weir_history *h)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	if (now - h->last_retain_ns < RETAIN_INTERVAL_NS)
		return;
	h->last_retain_ns = now;
	pthread_mutex_unlock(&h->lock);
	weir_history_retain(h, clock_ns(CLOCK_REALTIME));
	pthread_mutex_lock(&h->lock);
}

static void *writer(void *arg)
{
	struct weir_history *h = arg;
	struct timespec until;
	uint64_t deadline;

	pthread_mutex_lock(&h->lock);
	while (!h->stop || h->q_len) {
		deadline = clock_ns(CLOCK_REALTIME) + h->o.commit_interval_ns;
		until.tv_sec = (time_t)(deadline / 1000000000ULL);
		until.tv_nsec = (long)(deadline % 1000000000ULL);
		/* a batch fills, a flush is asked for, or the interval ends */
		while (!h->stop && !h->flush_now && h->q_len < WEIR_HISTORY_BATCH_MAX &&
		       pthread_cond_timedwait(&h->wake, &h->lock, &until) != ETIMEDOUT)
			;
		drain(h);
		retain_maybe(h);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

void weir_history_add(struct weir_history *h, struct weir_flow_record *r)
{
	pthread_mutex_lock(&h->lock);
	h->st.added++;
	if (h->q_len >= h->o.queue_max) {
		h->st.queue_dropped++;
		pthread_mutex_unlock(&h->lock);
		return;
	}
	if (h->q_len == h->q_cap) {
		size_t cap = h->q_cap ? h->q_cap * 2 : 1024;
		struct weir_flow_record **q = realloc(h->q, cap * sizeof(void *));

		if (!q) {
			h->st.queue_dropped++;
			pthread_mutex_unlock(&h->lock);
			return;
		}
		h->q = q;
		h->q_cap = cap;
	}
	h->q[h->q_len++] = weir_flow_record_get(r);
	h->seq_added++;
	if (h->q_len == WEIR_HISTORY_BATCH_MAX)
		pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
}

int weir_history_flush(struct weir_history *h, int timeout_ms)
{
	uint64_t target, deadline;
	struct timespec until;
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	target = h->seq_added;
	if (!h->thread_started) {
		drain(h);
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	h->flush_now = true;
	pthread_cond_signal(&h->wake);
	deadline = clock_ns(CLOCK_REALTIME) + (uint64_t)timeout_ms * 1000000ULL;
	until.tv_sec = (time_t)(deadline / 1000000000ULL);
	until.tv_nsec = (long)(deadline % 1000000000ULL);
	while (h->seq_done < target && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&h->done, &h->lock, &until);
	rc = h->seq_done < target ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void weir_history_close(struct weir_history *h)
{
	size_t i;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	if (h->thread_started)
		pthread_join(h->thread, NULL);
	else if (h->wdb && h->insert) {
		pthread_mutex_lock(&h->lock);
		drain(h);
		pthread_mutex_unlock(&h->lock);
	}
	for (i = 0; i < h->q_len; i++)
		weir_flow_record_put(h->q[i]);
	free(h->q);
	{
		struct weir_hnode *pos, *tmp;

		weir_htab_for_each_safe(&h->flows, i, pos, tmp) free(pos);
		weir_htab_release(&h->flows);
	}
	weir_history_seg_release(&h->seg);
	for (i = 0; i < WEIR_HISTORY_INSERT_ROWS; i++)
		free(h->rec[i].p);
	sqlite3_finalize(h->insert_n);
	sqlite3_finalize(h->insert);
	/* the readers' first: the writer's, the last, checkpoints the WAL into
	 * the database and removes it
	 */
	sqlite3_close(h->rdb);
	if (h->wdb && sqlite3_close(h->wdb) != SQLITE_OK)
		log_warn("history: close: %s", sqlite3_errmsg(h->wdb));
	pthread_cond_destroy(&h->wake);
	pthread_cond_destroy(&h->done);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->rlock);
	free(h->path);
	free(h);
}

void weir_history_stats(struct weir_history *h, struct weir_history_stats *st)
{
	pthread_mutex_lock(&h->lock);
	*st = h->st;
	st->pending = h->seq_added - h->seq_done;
	pthread_mutex_unlock(&h->lock);
}
