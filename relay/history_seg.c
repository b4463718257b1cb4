// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The history's segments and posting lists (see history_seg.h): the open
 * segment's in-memory postings, their encoding, and the candidate rows a
 * filter set's indexed fields select in a closed segment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <weir/abi.h>
#include "hashtab.h"
#include "history_seg.h"
#include "log.h"

struct weir_history_post {
	uint32_t *offs;
	uint32_t n, cap;
	size_t key_len;
	uint8_t field;
	uint8_t key[];
};

void weir_history_seg_reset(struct weir_history_seg *s)
{
	size_t i;

	for (i = 0; s->n_posts && i < s->n_slots; i++) {
		if (!s->slots[i].p)
			continue;
		free(s->slots[i].p->offs);
		free(s->slots[i].p);
		s->slots[i].p = NULL;
	}
	s->n_posts = 0;
	s->rows = 0;
	s->first_row = 0;
	s->last_row = 0;
	s->min_time = 0;
	s->max_time = 0;
	s->broken = false;
}

void weir_history_seg_release(struct weir_history_seg *s)
{
	weir_history_seg_reset(s);
	free(s->slots);
	free(s->key);
	memset(s, 0, sizeof(*s));
}

static bool grow_slots(struct weir_history_seg *s)
{
	size_t n = s->n_slots ? s->n_slots * 2 : 2048, i, j;
	struct weir_history_slot *v = calloc(n, sizeof(*v));

	if (!v)
		return false;
	for (i = 0; i < s->n_slots; i++) {
		if (!s->slots[i].p)
			continue;
		for (j = s->slots[i].hash & (n - 1); v[j].p; j = (j + 1) & (n - 1))
			;
		v[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = v;
	s->n_slots = n;
	return true;
}

/* Keys of 16 bytes or less (addresses, ports, verdicts): one multiply
 * round per 8 bytes, inline; longer ones (pods) the library's hash.
 */
static inline uint64_t key_hash(uint8_t field, const void *key, size_t len)
{
	uint64_t a = 0, b = 0, h;

	if (len > 16)
		return weir_hash_bytes(key, len) ^ field;
	memcpy(&a, key, len < 8 ? len : 8);
	if (len > 8)
		memcpy(&b, (const uint8_t *)key + 8, len - 8);
	h = (a ^ (uint64_t)field << 56 ^ len) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ b) * 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

/* The row at offset off has key in field. */
static void post_add(struct weir_history_seg *s, uint8_t field, const void *key, size_t len,
		     uint32_t off)
{
	uint64_t hash = key_hash(field, key, len);
	struct weir_history_post *p;
	size_t i;

	/* at most half full */
	if (2 * (s->n_posts + 1) > s->n_slots && !grow_slots(s)) {
		s->broken = true;
		return;
	}
	for (i = hash & (s->n_slots - 1); (p = s->slots[i].p); i = (i + 1) & (s->n_slots - 1))
		if (s->slots[i].hash == hash && p->field == field && p->key_len == len &&
		    !memcmp(p->key, key, len))
			break;
	if (!p) {
		p = calloc(1, sizeof(*p) + len);
		if (!p) {
			s->broken = true;
			return;
		}
		p->field = field;
		p->key_len = len;
		memcpy(p->key, key, len);
		s->slots[i].hash = hash;
		s->slots[i].p = p;
		s->n_posts++;
	}
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 4;
		uint32_t *v = realloc(p->offs, cap * sizeof(*v));

		if (!v) {
			s->broken = true;
			return;
		}
		p->offs = v;
		p->cap = cap;
	}
	p->offs[p->n++] = off;
}

/* namespace '\0' pod name, in the segment's scratch buffer */
static void pod_add(struct weir_history_seg *s, uint8_t field, const char *ns, const char *pod,
		    uint32_t off)
{
	size_t ns_len = ns ? strlen(ns) : 0, pod_len = pod ? strlen(pod) : 0;
	size_t len = ns_len + 1 + pod_len;

	if (!ns_len && !pod_len)
		return; /* matches no pod filter (pods_match()) */
	if (len > s->key_cap) {
		uint8_t *k = realloc(s->key, len);

		if (!k) {
			s->broken = true;
			return;
		}
		s->key = k;
		s->key_cap = len;
	}
	if (ns_len)
		memcpy(s->key, ns, ns_len);
	s->key[ns_len] = 0;
	if (pod_len)
		memcpy(s->key + ns_len + 1, pod, pod_len);
	post_add(s, field, s->key, len, off);
}

void weir_history_seg_add(struct weir_history_seg *s, int64_t row,
			  const struct weir_history_keys *k)
{
	uint8_t port[2] = { (uint8_t)(k->dport >> 8), (uint8_t)k->dport };
	uint32_t off;

	if (!s->rows) {
		s->first_row = row;
		s->min_time = k->time_ns;
		s->max_time = k->time_ns;
	}
	s->last_row = row;
	s->rows++;
	if (k->time_ns < s->min_time)
		s->min_time = k->time_ns;
	if (k->time_ns > s->max_time)
		s->max_time = k->time_ns;
	if (s->broken)
		return;
	off = (uint32_t)(row - s->first_row);
	post_add(s, WEIR_SQL_IX_SADDR, k->saddr, k->alen, off);
	post_add(s, WEIR_SQL_IX_DADDR, k->daddr, k->alen, off);
	pod_add(s, WEIR_SQL_IX_SRC_POD, k->src_ns, k->src_pod, off);
	pod_add(s, WEIR_SQL_IX_DST_POD, k->dst_ns, k->dst_pod, off);
	post_add(s, WEIR_SQL_IX_DPORT, port, 2, off);
	if (k->verdict != WEIR_VERDICT_FORWARDED)
		post_add(s, WEIR_SQL_IX_VERDICT, &k->verdict, 1, off);
}

size_t weir_history_postings_encode(const uint32_t *offs, size_t n, uint8_t *out)
{
	uint32_t prev = 0, v;
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		v = offs[i] - prev;
		prev = offs[i];
		do {
			out[len] = (uint8_t)(v & 0x7f);
			v >>= 7;
			if (v)
				out[len] |= 0x80;
			len++;
		} while (v);
	}
	return len;
}

int weir_history_postings_decode(const uint8_t *p, size_t len, struct weir_history_ids *ids)
{
	uint64_t prev = 0;
	size_t i = 0;
	bool first = true;

	while (i < len) {
		uint64_t v = 0;
		unsigned int shift = 0;

		do {
			if (i >= len || shift > 28)
				return -EINVAL;
			v |= (uint64_t)(p[i] & 0x7f) << shift;
			shift += 7;
		} while (p[i++] & 0x80);
		/* ascending: every delta but the first is at least 1 */
		if ((!first && !v) || prev + v > UINT32_MAX)
			return -EINVAL;
		prev += v;
		first = false;
		if (ids->n == ids->cap) {
			size_t cap = ids->cap ? ids->cap * 2 : 256;
			uint32_t *nv = realloc(ids->v, cap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			ids->v = nv;
			ids->cap = cap;
		}
		ids->v[ids->n++] = (uint32_t)prev;
	}
	return 0;
}

void weir_history_ids_release(struct weir_history_ids *ids)
{
	free(ids->v);
	memset(ids, 0, sizeof(*ids));
}

int weir_history_seg_write(struct weir_history_seg *s, sqlite3 *db)
{
	sqlite3_stmt *seg = NULL, *post = NULL;
	uint8_t *buf = NULL;
	size_t cap = 0, i;
	int rc;

	if (!s->rows)
		return 0;
	rc = sqlite3_prepare_v2(db,
				"INSERT INTO segments (id, first_row, last_row, min_time, max_time,"
				" rows, indexed) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6)",
				-1, &seg, NULL);
	if (rc == SQLITE_OK && !s->broken)
		rc = sqlite3_prepare_v2(
			db, "INSERT INTO postings (seg, field, key, ids) VALUES (?, ?, ?, ?)", -1,
			&post, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(seg, 1, s->first_row);
	sqlite3_bind_int64(seg, 2, s->last_row);
	sqlite3_bind_int64(seg, 3, (sqlite3_int64)s->min_time);
	sqlite3_bind_int64(seg, 4, (sqlite3_int64)s->max_time);
	sqlite3_bind_int64(seg, 5, (sqlite3_int64)s->rows);
	sqlite3_bind_int(seg, 6, !s->broken);
	rc = sqlite3_step(seg);
	if (rc != SQLITE_DONE)
		goto out;
	rc = SQLITE_OK;
	for (i = 0; post && i < s->n_slots && rc == SQLITE_OK; i++) {
		struct weir_history_post *p = s->slots[i].p;

		if (p) {
			size_t len;

			if (!buf || (size_t)p->n * 5 > cap) {
				uint8_t *b = realloc(buf, (size_t)p->n * 5);

				if (!b) {
					rc = SQLITE_NOMEM;
					break;
				}
				buf = b;
				cap = (size_t)p->n * 5;
			}
			len = weir_history_postings_encode(p->offs, p->n, buf);
			sqlite3_bind_int64(post, 1, s->first_row);
			sqlite3_bind_int(post, 2, p->field);
			sqlite3_bind_blob(post, 3, p->key, (int)p->key_len, SQLITE_STATIC);
			sqlite3_bind_blob(post, 4, buf, (int)len, SQLITE_STATIC);
			rc = sqlite3_step(post);
			sqlite3_reset(post);
			rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		}
	}
out:
	sqlite3_finalize(seg);
	sqlite3_finalize(post);
	free(buf);
	if (rc != SQLITE_OK && rc != SQLITE_DONE) {
		log_err("history: segment rows=%lld..%lld not written: %s", (long long)s->first_row,
			(long long)s->last_row, sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

/* Rows as bits: one per row of the segment. */
struct bitmap {
	uint64_t *w;
	size_t n; /* words */
};

static int bitmap_init(struct bitmap *b, size_t rows)
{
	b->n = (rows + 63) / 64;
	b->w = calloc(b->n ? b->n : 1, sizeof(*b->w));
	return b->w ? 0 : -ENOMEM;
}

static void bitmap_set(struct bitmap *b, const struct weir_history_ids *ids)
{
	size_t i;

	for (i = 0; i < ids->n; i++)
		if (ids->v[i] / 64 < b->n)
			b->w[ids->v[i] / 64] |= 1ULL << (ids->v[i] % 64);
}

static int ids_reserve(struct weir_history_ids *ids, size_t n)
{
	uint32_t *v;

	if (n <= ids->cap)
		return 0;
	v = realloc(ids->v, n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ids->v = v;
	ids->cap = n;
	return 0;
}

/* The rows of one term (any of its ranges) into bits (cleared first). */
static int term_rows(sqlite3_stmt *lookup, int64_t seg, const struct weir_sql_index_term *t,
		     struct weir_history_ids *scratch, struct bitmap *bits)
{
	size_t i;
	int rc, err = 0;

	memset(bits->w, 0, bits->n * sizeof(*bits->w));
	for (i = 0; i < t->n_ranges && !err; i++) {
		const struct weir_sql_key_range *r = &t->ranges[i];

		sqlite3_bind_int64(lookup, 1, seg);
		sqlite3_bind_int(lookup, 2, (int)t->field);
		sqlite3_bind_blob(lookup, 3, r->lo, (int)r->lo_len, SQLITE_STATIC);
		sqlite3_bind_blob(lookup, 4, r->hi, (int)r->hi_len, SQLITE_STATIC);
		while (!err && (rc = sqlite3_step(lookup)) == SQLITE_ROW) {
			/* several keys (a CIDR, a pod prefix, several values): one set */
			scratch->n = 0;
			err = weir_history_postings_decode(sqlite3_column_blob(lookup, 0),
							   (size_t)sqlite3_column_bytes(lookup, 0),
							   scratch);
			bitmap_set(bits, scratch);
		}
		if (!err && rc != SQLITE_DONE)
			err = -EIO;
		sqlite3_reset(lookup);
	}
	return err;
}

int weir_history_seg_candidates(sqlite3_stmt *lookup, int64_t seg, size_t rows,
				const struct weir_sql_index *ix, struct weir_history_ids *out)
{
	struct bitmap all = { 0 }, fil = { 0 }, term = { 0 };
	struct weir_history_ids scratch = { 0 };
	size_t i, j, w, n = 0;
	int err;

	out->n = 0;
	err = bitmap_init(&all, rows);
	err = err ?: bitmap_init(&fil, rows);
	err = err ?: bitmap_init(&term, rows);
	for (i = 0; i < ix->n_allow && !err; i++) {
		const struct weir_sql_index_filter *f = &ix->allow[i];
		uint64_t any = 0;

		/* the filter's rows: in every term's */
		for (j = 0; j < f->n_terms && !err; j++) {
			err = term_rows(lookup, seg, &f->terms[j], &scratch, j ? &term : &fil);
			for (w = 0, any = 0; j && w < fil.n; w++) {
				fil.w[w] &= term.w[w];
				any |= fil.w[w];
			}
			if (j && !any)
				break;
		}
		/* the set's: in any filter's */
		for (w = 0; !err && f->n_terms && w < all.n; w++)
			all.w[w] |= fil.w[w];
	}
	for (w = 0; !err && w < all.n; w++)
		n += (size_t)__builtin_popcountll(all.w[w]);
	err = err ?: ids_reserve(out, n);
	for (w = 0; !err && w < all.n; w++) {
		uint64_t x = all.w[w];

		while (x) {
			out->v[out->n++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
			x &= x - 1;
		}
	}
	free(all.w);
	free(fil.w);
	free(term.w);
	weir_history_ids_release(&scratch);
	return err;
}
