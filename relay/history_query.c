// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reads of the history: flows requests (the filter language through
 * lib/filter_sql.c, rows checked again with lib/filter.c when the SQL is not
 * exact) and aggregates (group-by on a fixed table of fields: no text from a
 * request ever becomes SQL).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include "filter_sql.h"
#include "history_priv.h"
#include "hubble_names.h"
#include "log.h"

static int bind_params(sqlite3_stmt *st, int first, const struct weir_sql_where *w)
{
	size_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < w->n_params && rc == SQLITE_OK; i++) {
		const struct weir_sql_param *p = &w->params[i];
		int col = first + (int)i;

		if (p->type == WEIR_SQL_INT)
			rc = sqlite3_bind_int64(st, col, p->i);
		else if (p->type == WEIR_SQL_TEXT)
			rc = sqlite3_bind_text(st, col, (const char *)p->p, (int)p->len,
					       SQLITE_STATIC);
		else
			rc = sqlite3_bind_blob(st, col, p->p, (int)p->len, SQLITE_STATIC);
	}
	return rc;
}

/* Each allow filter carries the time range too, for the planner (see
 * weir_filter_sql_each()).
 */
#define TIME_RANGE "time_ns BETWEEN ?1 AND ?2"

/* "... FROM flows WHERE <TIME_RANGE> AND <filters>" bound and ready. */
static int prepare(struct weir_history *h, const char *head, const struct weir_sql_where *w,
		   const char *tail, uint64_t since_ns, uint64_t until_ns, sqlite3_stmt **out)
{
	size_t n = strlen(head) + strlen(w->sql) + strlen(tail) + 128;
	char *sql = malloc(n);
	int rc;

	if (!sql)
		return -ENOMEM;
	snprintf(sql, n, "%s FROM flows WHERE " TIME_RANGE " AND %s%s", head, w->sql, tail);
	rc = sqlite3_prepare_v2(h->rdb, sql, -1, out, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "prepare a query", h->rdb, rc);
		return -EIO;
	}
	rc = sqlite3_bind_int64(*out, 1, (sqlite3_int64)since_ns);
	rc = rc	   ?:
		     sqlite3_bind_int64(*out, 2,
					until_ns ? (sqlite3_int64)until_ns :
						   (sqlite3_int64)INT64_MAX);
	rc = rc ?: bind_params(*out, 3, w);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "bind a query", h->rdb, rc);
		sqlite3_finalize(*out);
		*out = NULL;
		return -EIO;
	}
	return 0;
}

/* A part of the history a query reads: a closed segment (its candidate
 * rows through its postings, or all its rows) or the tail (rows no closed
 * segment has yet: all read).
 */
struct unit {
	int64_t first, last;
	int64_t min_time, max_time;
	bool indexed;
};

struct hit {
	int64_t time, seq;
	struct weir_flow_record *r;
};

/* The segments whose time range meets [since, until], and the tail; in a
 * read transaction the caller holds.
 */
static int units_load(struct weir_history *h, int64_t since, int64_t until, struct unit **out,
		      size_t *n)
{
	struct unit *v = NULL, *nv;
	size_t cap = 0, k = 0;
	int64_t tail_first = 1;
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(h->rdb,
				"SELECT id, last_row, min_time, max_time, indexed FROM segments"
				" WHERE max_time >= ?1 AND min_time <= ?2 OR id = (SELECT max(id)"
				" FROM segments) ORDER BY id",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		weir_history_error(h, "read the segments", h->rdb, rc);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t min_time = sqlite3_column_int64(st, 2),
			max_time = sqlite3_column_int64(st, 3);

		/* the newest segment says where the tail begins, whatever its times */
		tail_first = sqlite3_column_int64(st, 1) + 1;
		if (max_time < since || min_time > until)
			continue;
		if (k + 2 > cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				sqlite3_finalize(st);
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[k].first = sqlite3_column_int64(st, 0);
		v[k].last = sqlite3_column_int64(st, 1);
		v[k].min_time = min_time;
		v[k].max_time = max_time;
		v[k].indexed = sqlite3_column_int(st, 4) != 0;
		k++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		weir_history_error(h, "read the segments", h->rdb, rc);
		free(v);
		return -EIO;
	}
	nv = k + 1 > cap ? realloc(v, (k + 1) * sizeof(*v)) : v;
	if (!nv) {
		free(v);
		return -ENOMEM;
	}
	v = nv;
	v[k++] = (struct unit){ tail_first, INT64_MAX, 0, INT64_MAX, false };
	*out = v;
	*n = k;
	return 0;
}

static int cmp_newest(const void *a, const void *b)
{
	const struct unit *x = a, *y = b;

	return x->max_time > y->max_time ? -1 : x->max_time < y->max_time;
}

static int cmp_oldest(const void *a, const void *b)
{
	const struct unit *x = a, *y = b;

	return x->min_time < y->min_time ? -1 : x->min_time > y->min_time;
}

static int cmp_hit_desc(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

static int cmp_hit_asc(const void *a, const void *b)
{
	return cmp_hit_desc(b, a);
}

/* The rows a query found: the best limit kept (newest, or oldest with first). */
struct hits {
	struct hit *v;
	size_t n, cap, limit;
	bool first;
	bool full; /* limit hits kept at the last trim: worst is the bar */
	struct hit worst;
};

static void hits_trim(struct hits *hs)
{
	if (hs->n > 1) /* v is NULL before the first hit: not for qsort() */
		qsort(hs->v, hs->n, sizeof(*hs->v), hs->first ? cmp_hit_asc : cmp_hit_desc);
	while (hs->n > hs->limit)
		weir_flow_record_put(hs->v[--hs->n].r);
	if (hs->n == hs->limit) {
		hs->full = true;
		hs->worst = hs->v[hs->n - 1];
	}
}

/* Whether a row at (time, seq) would be cut: not worth decoding. */
static bool hits_below_bar(const struct hits *hs, int64_t time, int64_t seq)
{
	struct hit x = { time, seq, NULL };

	return hs->full && (hs->first ? cmp_hit_asc : cmp_hit_desc)(&x, &hs->worst) > 0;
}

static void hits_release(struct hits *hs)
{
	while (hs->n)
		weir_flow_record_put(hs->v[--hs->n].r);
	free(hs->v);
}

/* Keeps r (its reference), or puts it. */
static int hits_add(struct hits *hs, int64_t time, int64_t seq, struct weir_flow_record *r)
{
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 1024;
		struct hit *v;

		if (hs->n >= 2 * hs->limit) {
			hits_trim(hs);
		} else {
			v = realloc(hs->v, cap * sizeof(*v));
			if (!v) {
				weir_flow_record_put(r);
				return -ENOMEM;
			}
			hs->v = v;
			hs->cap = cap;
		}
	}
	hs->v[hs->n++] = (struct hit){ time, seq, r };
	return 0;
}

/* Whether no row of u can be among the best: hs is full and u's times are
 * all past the worst kept.
 */
static bool hits_done(struct hits *hs, const struct unit *u)
{
	if (hs->n < hs->limit)
		return false;
	hits_trim(hs);
	return hs->first ? u->min_time > hs->v[hs->limit - 1].time :
			   u->max_time < hs->v[hs->limit - 1].time;
}

/* One row of a query's statement (the record's columns, seq). */
static int hit_row(sqlite3_stmt *st, const struct weir_flow_request *req, bool exact,
		   struct hits *hs)
{
	int64_t time = sqlite3_column_int64(st, 0), seq;
	struct weir_flow_record *r;
	int err;

	seq = sqlite3_column_int64(st, WEIR_HISTORY_N_COLUMNS);
	if (hits_below_bar(hs, time, seq))
		return 0;
	err = weir_history_decode(st, &r);
	if (err == -EINVAL) {
		/* a row this relay cannot read is skipped, not the query */
		log_warn("history: undecodable row seq=%lld skipped", (long long)seq);
		return 0;
	}
	if (err)
		return err;
	if (!exact && !weir_filter_set_match(req->filters, r)) {
		weir_flow_record_put(r);
		return 0;
	}
	return hits_add(hs, time, seq, r);
}

/* Steps st to its end, each row a hit; -EIO. */
static int hits_step(struct weir_history *h, sqlite3_stmt *st, const struct weir_flow_request *req,
		     bool exact, struct hits *hs)
{
	int rc, err = 0;

	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = hit_row(st, req, exact, hs);
	if (!err && rc != SQLITE_DONE) {
		weir_history_error(h, "query", h->rdb, rc);
		err = -EIO;
	}
	sqlite3_reset(st);
	return err;
}

struct query {
	struct weir_history *h;
	const struct weir_flow_request *req;
	struct weir_sql_where w;
	struct weir_sql_index ix;
	sqlite3_stmt *scan;   /* ... AND seq BETWEEN ? AND ? [ORDER BY ... LIMIT ?] */
	sqlite3_stmt *point;  /* ... AND seq = ? */
	sqlite3_stmt *lookup; /* postings */
	struct weir_history_ids ids;
	struct hits hs;
};

/* A segment's rows (or the tail's) that the query selects, into q->hs. */
static int unit_read(struct query *q, const struct unit *u)
{
	int p = 3 + (int)q->w.n_params;
	size_t i;
	int err;

	if (u->indexed && !q->ix.scan) {
		err = weir_history_seg_candidates(
			q->lookup, u->first, (size_t)(u->last - u->first + 1), &q->ix, &q->ids);
		if (err == -EIO)
			weir_history_error(q->h, "read postings", q->h->rdb,
					   sqlite3_errcode(q->h->rdb));
		if (err)
			return err;
		/* many candidates: reading the segment through is cheaper */
		if (q->ids.n * 4 < (size_t)(u->last - u->first + 1)) {
			for (i = 0; i < q->ids.n; i++) {
				sqlite3_bind_int64(q->point, p, u->first + q->ids.v[i]);
				err = hits_step(q->h, q->point, q->req, q->w.exact, &q->hs);
				if (err)
					return err;
			}
			return 0;
		}
	}
	sqlite3_bind_int64(q->scan, p, u->first);
	sqlite3_bind_int64(q->scan, p + 1, u->last);
	if (q->w.exact)
		sqlite3_bind_int64(q->scan, p + 2, (sqlite3_int64)q->hs.limit);
	return hits_step(q->h, q->scan, q->req, q->w.exact, &q->hs);
}

/* The records of the hits kept, oldest first, into v (cap at most). */
static void hits_take(struct hits *hs, size_t cap, struct weir_flow_record **v, size_t *k)
{
	size_t i, n = hs->n < cap ? hs->n : cap;

	for (i = 0; i < n; i++) {
		/* the best first: newest first unless first, read backwards then */
		struct hit *x = &hs->v[hs->first ? i : n - 1 - i];

		v[i] = x->r;
		x->r = NULL;
	}
	*k = n;
}

int weir_history_query(struct weir_history *h, const struct weir_flow_request *req, size_t max,
		       struct weir_flow_record ***out, size_t *n, bool *truncated)
{
	struct query q = { .h = h, .req = req };
	struct weir_flow_record **v = NULL;
	struct unit *units = NULL;
	size_t cap, k = 0, n_units = 0, i;
	int64_t until;
	char tail[160];
	int err;

	*out = NULL;
	*n = 0;
	*truncated = false;
	if (!max)
		max = h->o.query_max;
	cap = req->number && req->number < max ? (size_t)req->number : max;
	until = req->until_ns ? (int64_t)req->until_ns : INT64_MAX;
	q.hs.limit = cap + 1; /* one more than asked for: the answer is cut */
	q.hs.first = req->first;
	err = weir_filter_sql_each(req->filters, TIME_RANGE, &q.w);
	if (err)
		return err;
	err = weir_filter_sql_index(req->filters, &q.ix);
	v = err ? NULL : calloc(cap + 1, sizeof(void *));
	if (!err && !v)
		err = -ENOMEM;
	if (err)
		goto out_free;
	pthread_mutex_lock(&h->rlock);
	/* one snapshot: the segments and the rows as one commit left them */
	if (sqlite3_exec(h->rdb, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		weir_history_error(h, "begin a query", h->rdb, sqlite3_errcode(h->rdb));
		err = -EIO;
		goto out_unlock;
	}
	snprintf(tail, sizeof(tail), " AND seq BETWEEN ? AND ?%s",
		 !q.w.exact ? "" :
		 req->first ? " ORDER BY time_ns ASC, seq ASC LIMIT ?" :
			      " ORDER BY time_ns DESC, seq DESC LIMIT ?");
	/* rows are decoded as they are found: the hits a later segment pushes out
	 * are at most a limit's per segment
	 */
	err = prepare(h, "SELECT " WEIR_HISTORY_COLUMNS ", seq", &q.w, tail, req->since_ns,
		      req->until_ns, &q.scan);
	err = err   ?:
		      prepare(h, "SELECT " WEIR_HISTORY_COLUMNS ", seq", &q.w, " AND seq = ?",
			      req->since_ns, req->until_ns, &q.point);
	if (!err && sqlite3_prepare_v2(h->rdb, WEIR_HISTORY_LOOKUP_SQL, -1, &q.lookup, NULL)) {
		weir_history_error(h, "prepare a query", h->rdb, sqlite3_errcode(h->rdb));
		err = -EIO;
	}
	err = err ?: units_load(h, (int64_t)req->since_ns, until, &units, &n_units);
	if (!err)
		qsort(units, n_units, sizeof(*units), req->first ? cmp_oldest : cmp_newest);
	for (i = 0; !err && i < n_units && !hits_done(&q.hs, &units[i]); i++)
		err = unit_read(&q, &units[i]);
	if (!err) {
		hits_trim(&q.hs);
		hits_take(&q.hs, cap, v, &k);
		*truncated = q.hs.n > cap && (!req->number || req->number > cap);
	}
	sqlite3_exec(h->rdb, "COMMIT", NULL, NULL, NULL);
out_unlock:
	sqlite3_finalize(q.scan);
	sqlite3_finalize(q.point);
	sqlite3_finalize(q.lookup);
	pthread_mutex_unlock(&h->rlock);
	if (err) {
		for (i = 0; i < k; i++)
			weir_flow_record_put(v[i]);
		free(v);
		goto out_free;
	}
	if (*truncated) {
		pthread_mutex_lock(&h->lock);
		h->st.query_truncated++;
		pthread_mutex_unlock(&h->lock);
	}
	*out = v;
	*n = k;
out_free:
	free(units);
	hits_release(&q.hs);
	weir_history_ids_release(&q.ids);
	weir_sql_index_release(&q.ix);
	weir_sql_where_release(&q.w);
	return err;
}

/* ---- aggregates ---- */

enum agg_kind { AGG_TEXT, AGG_ADDR, AGG_PORT, AGG_PROTO, AGG_VERDICT, AGG_REASON, AGG_DIR };

/* The fields a request may group by: Hubble's JSON names, each a fixed column. */
static const struct agg_field {
	const char *name;
	const char *column;
	enum agg_kind kind;
	int proto; /* l4.TCP.* and l4.UDP.* group that protocol's flows only; 0: any */
} agg_fields[] = {
	{ "source.namespace", "src_ns", AGG_TEXT, 0 },
	{ "source.pod_name", "src_pod", AGG_TEXT, 0 },
	{ "destination.namespace", "dst_ns", AGG_TEXT, 0 },
	{ "destination.pod_name", "dst_pod", AGG_TEXT, 0 },
	{ "IP.source", "saddr", AGG_ADDR, 0 },
	{ "IP.destination", "daddr", AGG_ADDR, 0 },
	{ "l4.TCP.source_port", "sport", AGG_PORT, IPPROTO_TCP },
	{ "l4.TCP.destination_port", "dport", AGG_PORT, IPPROTO_TCP },
	{ "l4.UDP.source_port", "sport", AGG_PORT, IPPROTO_UDP },
	{ "l4.UDP.destination_port", "dport", AGG_PORT, IPPROTO_UDP },
	{ "source_port", "sport", AGG_PORT, 0 },
	{ "destination_port", "dport", AGG_PORT, 0 },
	{ "protocol", "proto", AGG_PROTO, 0 },
	{ "verdict", "verdict", AGG_VERDICT, 0 },
	{ "drop_reason_desc", "reason", AGG_REASON, 0 },
	{ "traffic_direction", "dir", AGG_DIR, 0 },
	{ "node_name", "node", AGG_TEXT, 0 },
};

#define N_AGG_FIELDS (sizeof(agg_fields) / sizeof(agg_fields[0]))

static int agg_bad(char *err, size_t err_len, const char *fmt, const char *what)
{
	if (err && err_len)
		snprintf(err, err_len, fmt, what);
	return -EINVAL;
}

static int parse_by(struct weir_agg_request *ar, const char *value, char *err, size_t err_len)
{
	char *copy = strdup(value), *save = NULL, *tok;
	size_t i;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	ar->n_keys = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < N_AGG_FIELDS; i++)
			if (!strcmp(tok, agg_fields[i].name))
				break;
		if (i == N_AGG_FIELDS)
			ret = agg_bad(
				err, err_len,
				"by: unknown field \"%.64s\" (source.namespace, "
				"source.pod_name, destination.namespace, destination.pod_name, "
				"IP.source, IP.destination, l4.TCP.source_port, "
				"l4.TCP.destination_port, l4.UDP.source_port, "
				"l4.UDP.destination_port, source_port, destination_port, "
				"protocol, verdict, drop_reason_desc, traffic_direction, "
				"node_name)",
				tok);
		else if (ar->n_keys == WEIR_AGG_KEYS_MAX)
			ret = agg_bad(err, err_len, "by: at most %s fields", "8");
		else
			ar->keys[ar->n_keys++] = (int)i;
	}
	free(copy);
	return ret;
}

int weir_agg_request_set(struct weir_agg_request *ar, const char *key, const char *value, char *err,
			 size_t err_len)
{
	const char *v = value ? value : "";

	if (!strcmp(key, "by"))
		return parse_by(ar, v, err, err_len);
	if (!strcmp(key, "order")) {
		if (!strcmp(v, "bytes"))
			ar->order = WEIR_AGG_ORDER_BYTES;
		else if (!strcmp(v, "packets"))
			ar->order = WEIR_AGG_ORDER_PACKETS;
		else if (!strcmp(v, "flows"))
			ar->order = WEIR_AGG_ORDER_FLOWS;
		else
			return agg_bad(err, err_len,
				       "order: expected bytes, packets or flows, got \"%.32s\"", v);
		return 0;
	}
	if (!strcmp(key, "limit")) {
		char *end;

		ar->limit = strtoull(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || !ar->limit)
			return agg_bad(err, err_len, "limit: expected a count, got \"%.32s\"", v);
		return 0;
	}
	if (!strcmp(key, "number") || !strcmp(key, "first") || !strcmp(key, "follow"))
		return agg_bad(err, err_len, "%s: not an aggregate parameter (use limit)", key);
	return weir_flow_request_set(&ar->flows, key, value, err, err_len);
}

int weir_agg_request_finish(struct weir_agg_request *ar, char *err, size_t err_len)
{
	if (!ar->n_keys)
		return agg_bad(err, err_len,
			       "%s: give the fields to group by, e.g. "
			       "by=source.pod_name,destination.pod_name",
			       "by");
	if (!ar->limit)
		ar->limit = 100;
	return weir_flow_request_finish(&ar->flows, err, err_len);
}

void weir_agg_request_release(struct weir_agg_request *ar)
{
	weir_flow_request_release(&ar->flows);
}

static json_t *key_json(sqlite3_stmt *st, int col, enum agg_kind kind)
{
	char buf[64];
	const char *name;
	unsigned int code = (unsigned int)sqlite3_column_int64(st, col);

	switch (kind) {
	case AGG_TEXT:
		return json_string((const char *)sqlite3_column_text(st, col));
	case AGG_ADDR: {
		int len = sqlite3_column_bytes(st, col);
		uint8_t addr[16] = { 0 };
		const void *p = sqlite3_column_blob(st, col);

		if (p && (len == 4 || len == 16))
			memcpy(addr, p, (size_t)len);
		return json_string(weir_addr_str(len == 4 ? 4 : 6, addr, buf, sizeof(buf)));
	}
	case AGG_PORT:
		return json_integer(code);
	case AGG_PROTO:
		return json_string(weir_proto_name((uint8_t)code, buf, sizeof(buf)));
	case AGG_VERDICT:
		name = weir_hubble_verdict_name(code);
		break;
	case AGG_REASON:
		name = weir_hubble_drop_reason_name(code);
		break;
	case AGG_DIR:
		name = weir_hubble_dir_name(code);
		break;
	default:
		name = NULL;
	}
	if (name)
		return json_string(name);
	return json_integer(code);
}

/* Text from the field table only: column names and fixed keywords. */
static void cat(char *sql, size_t len, const char *s)
{
	strncat(sql, s, len - strlen(sql) - 1);
}

int weir_history_aggregate(struct weir_history *h, const struct weir_agg_request *ar, json_t **out,
			   char *err, size_t err_len)
{
	static const char *const alias[WEIR_AGG_KEYS_MAX] = { "k0", "k1", "k2", "k3",
							      "k4", "k5", "k6", "k7" };
	static const char *const order_by[] = {
		[WEIR_AGG_ORDER_BYTES] = "sum(dbytes) + sum(drbytes)",
		[WEIR_AGG_ORDER_PACKETS] = "sum(dpackets) + sum(drpackets)",
		[WEIR_AGG_ORDER_FLOWS] = "sum(fstart)",
	};
	char head[1024] = "SELECT ", tail[512] = "";
	json_t *groups = NULL, *by = NULL;
	int64_t first_row = INT64_MAX;
	struct unit *units = NULL;
	size_t n_units = 0;
	struct weir_sql_where w;
	sqlite3_stmt *st = NULL;
	int proto = 0, rc = SQLITE_DONE, ret;
	size_t i;

	*out = NULL;
	ret = weir_filter_sql_each(ar->flows.filters, TIME_RANGE, &w);
	if (ret)
		return ret;
	if (!w.exact) {
		weir_sql_where_release(&w);
		return agg_bad(
			err, err_len,
			"%s: label selectors and node name globs cannot be used in aggregates",
			"allowlist/denylist");
	}
	for (i = 0; i < ar->n_keys; i++) {
		const struct agg_field *f = &agg_fields[ar->keys[i]];

		if (f->proto && proto && f->proto != proto) {
			weir_sql_where_release(&w);
			return agg_bad(err, err_len, "by: %s: TCP and UDP fields together",
				       f->name);
		}
		if (f->proto)
			proto = f->proto;
	}
	/* Each record carries what it added to its flow (history.c: account()):
	 * the sums are the traffic within the time range, and the flows those
	 * that began in it.
	 */
	for (i = 0; i < ar->n_keys; i++) {
		cat(head, sizeof(head), agg_fields[ar->keys[i]].column);
		cat(head, sizeof(head), " AS ");
		cat(head, sizeof(head), alias[i]);
		cat(head, sizeof(head), ", ");
	}
	cat(head, sizeof(head),
	    "sum(dpackets), sum(dbytes), sum(drpackets), sum(drbytes), sum(fstart)");
	/* the rows from the oldest segment the time range meets */
	cat(tail, sizeof(tail), " AND seq >= ?");
	cat(tail, sizeof(tail), proto ? " AND proto = ? GROUP BY " : " GROUP BY ");
	for (i = 0; i < ar->n_keys; i++) {
		cat(tail, sizeof(tail), i ? ", " : "");
		cat(tail, sizeof(tail), alias[i]);
	}
	cat(tail, sizeof(tail), " ORDER BY ");
	cat(tail, sizeof(tail), order_by[ar->order]);
	cat(tail, sizeof(tail), " DESC LIMIT ?");

	groups = json_array();
	by = json_array();
	if (!groups || !by) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ar->n_keys; i++)
		json_array_append_new(by, json_string(agg_fields[ar->keys[i]].name));
	pthread_mutex_lock(&h->rlock);
	ret = units_load(h, (int64_t)ar->flows.since_ns,
			 ar->flows.until_ns ? (int64_t)ar->flows.until_ns : INT64_MAX, &units,
			 &n_units);
	for (i = 0; !ret && i < n_units; i++)
		if (units[i].first < first_row)
			first_row = units[i].first;
	ret = ret ?: prepare(h, head, &w, tail, ar->flows.since_ns, ar->flows.until_ns, &st);
	if (!ret) {
		int next = 3 + (int)w.n_params;

		sqlite3_bind_int64(st, next++, first_row);
		if (proto)
			sqlite3_bind_int(st, next++, proto);
		sqlite3_bind_int64(st, next, (sqlite3_int64)ar->limit);
	}
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *g = json_object(), *key = json_object();
		int c = (int)ar->n_keys;

		for (i = 0; key && i < ar->n_keys; i++)
			json_object_set_new(key, agg_fields[ar->keys[i]].name,
					    key_json(st, (int)i, agg_fields[ar->keys[i]].kind));
		if (!g || !key || json_object_set_new(g, "key", key) ||
		    json_object_set_new(g, "flows",
					json_integer(sqlite3_column_int64(st, c + 4))) ||
		    json_object_set_new(g, "packets", json_integer(sqlite3_column_int64(st, c))) ||
		    json_object_set_new(g, "bytes",
					json_integer(sqlite3_column_int64(st, c + 1))) ||
		    json_object_set_new(g, "reply_packets",
					json_integer(sqlite3_column_int64(st, c + 2))) ||
		    json_object_set_new(g, "reply_bytes",
					json_integer(sqlite3_column_int64(st, c + 3))) ||
		    json_array_append_new(groups, g))
			ret = -ENOMEM;
	}
	if (!ret && rc != SQLITE_DONE) {
		weir_history_error(h, "aggregate", h->rdb, rc);
		ret = -EIO;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&h->rlock);
	if (!ret) {
		*out = json_object();
		if (!*out || json_object_set(*out, "by", by) ||
		    json_object_set(*out, "groups", groups)) {
			json_decref(*out);
			*out = NULL;
			ret = -ENOMEM;
		}
	}
out:
	free(units);
	json_decref(groups);
	json_decref(by);
	weir_sql_where_release(&w);
	if (ret == -EIO && err && err_len) {
		pthread_mutex_lock(&h->lock);
		snprintf(err, err_len, "history: %s", h->st.last_error);
		pthread_mutex_unlock(&h->lock);
	}
	return ret;
}
