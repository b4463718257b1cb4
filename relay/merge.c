// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The time-ordered merge on (sort time, arrival order). Each peer's records
 * come in time order almost always, so what is held is kept as a few sorted
 * runs (FIFO rings: a record goes at the end of the run whose last record is
 * the latest not after it) merged through a small heap of their heads: a
 * release is a ring read and a few comparisons, not a sift through a heap of
 * every held record. What fits no run once MAX_RUNS are open goes to a
 * binary heap merged in too, so the order is exactly the one a single heap of
 * everything gives.
 */
#include <errno.h>
#include <stdlib.h>
#include "merge.h"

#define MAX_RUNS 64
#define RUN_MIN	 256   /* entries a run starts with */
#define RUN_KEEP 16384 /* an emptied run keeps a ring this large, frees a larger one */

struct entry {
	uint64_t key_ns; /* the record's time, or its arrival when that is earlier */
	uint64_t seq;	 /* arrival order: ties keep it */
	struct weir_flow_record *r;
};

/* A run: entries in release order, a ring (cap a power of 2); added at the
 * tail, released from the head.
 */
struct run {
	struct entry *v;
	size_t cap;
	size_t head;
	size_t n;
};

struct weir_merge {
	/* Runs with entries, and a min-heap of them by their head entry. */
	struct run runs[MAX_RUNS];
	struct run *heads[MAX_RUNS];
	size_t n_heads;
	/* What fits no run once MAX_RUNS are open: a binary min-heap. */
	struct entry *heap;
	size_t n_heap;
	size_t cap_heap;
	size_t n; /* held in all */
	size_t max_held;
	uint64_t window_ns;
	uint64_t seq;
	weir_merge_release_fn release;
	void *ctx;
	/* Written by the merging thread only; read anywhere, hence atomics. */
	uint64_t released;
	uint64_t late;
	uint64_t early;
	uint64_t watermark_ns;
	uint64_t held;
};

#define STORE(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define LOAD(field)	__atomic_load_n(&(field), __ATOMIC_RELAXED)

int weir_merge_new(struct weir_merge **out, uint64_t window_ns, size_t max_held,
		   weir_merge_release_fn release, void *ctx)
{
	struct weir_merge *m;

	if (!release || !max_held)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->window_ns = window_ns;
	m->max_held = max_held;
	m->release = release;
	m->ctx = ctx;
	*out = m;
	return 0;
}

static struct entry *run_at(const struct run *u, size_t i)
{
	return &u->v[(u->head + i) & (u->cap - 1)];
}

void weir_merge_free(struct weir_merge *m)
{
	size_t i, k;

	if (!m)
		return;
	for (k = 0; k < MAX_RUNS; k++) {
		for (i = 0; i < m->runs[k].n; i++)
			weir_flow_record_put(run_at(&m->runs[k], i)->r);
		free(m->runs[k].v);
	}
	for (i = 0; i < m->n_heap; i++)
		weir_flow_record_put(m->heap[i].r);
	free(m->heap);
	free(m);
}

static bool before(const struct entry *a, const struct entry *b)
{
	return a->key_ns < b->key_ns || (a->key_ns == b->key_ns && a->seq < b->seq);
}

/* ---- the overflow heap ---- */

static void swap(struct entry *a, struct entry *b)
{
	struct entry t = *a;

	*a = *b;
	*b = t;
}

static void sift_up(struct weir_merge *m, size_t i)
{
	while (i && before(&m->heap[i], &m->heap[(i - 1) / 2])) {
		swap(&m->heap[i], &m->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct weir_merge *m, size_t i)
{
	size_t l, r, min;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		min = i;
		if (l < m->n_heap && before(&m->heap[l], &m->heap[min]))
			min = l;
		if (r < m->n_heap && before(&m->heap[r], &m->heap[min]))
			min = r;
		if (min == i)
			return;
		swap(&m->heap[i], &m->heap[min]);
		i = min;
	}
}

static int heap_push(struct weir_merge *m, const struct entry *e)
{
	struct entry *h;
	size_t cap;

	if (m->n_heap == m->cap_heap) {
		cap = m->cap_heap ? m->cap_heap * 2 : 1024;
		if (cap > m->max_held)
			cap = m->max_held;
		h = realloc(m->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		m->heap = h;
		m->cap_heap = cap;
	}
	m->heap[m->n_heap] = *e;
	sift_up(m, m->n_heap++);
	return 0;
}

/* ---- the runs, and the heap of their heads ---- */

static const struct entry *head_of(const struct run *u)
{
	return &u->v[u->head];
}

static void heads_sift_down(struct weir_merge *m, size_t i)
{
	size_t l, r, min;
	struct run *t;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		min = i;
		if (l < m->n_heads && before(head_of(m->heads[l]), head_of(m->heads[min])))
			min = l;
		if (r < m->n_heads && before(head_of(m->heads[r]), head_of(m->heads[min])))
			min = r;
		if (min == i)
			return;
		t = m->heads[i];
		m->heads[i] = m->heads[min];
		m->heads[min] = t;
		i = min;
	}
}

static void heads_push(struct weir_merge *m, struct run *u)
{
	size_t i = m->n_heads++;
	struct run *t;

	m->heads[i] = u;
	while (i && before(head_of(m->heads[i]), head_of(m->heads[(i - 1) / 2]))) {
		t = m->heads[i];
		m->heads[i] = m->heads[(i - 1) / 2];
		m->heads[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/* The run e can go at the end of, keeping its order: the one with the
 * latest tail not after e (fewest runs), a new one, or NULL when every run
 * is open and none fits.
 */
static struct run *run_for(struct weir_merge *m, const struct entry *e)
{
	struct run *best = NULL;
	uint64_t best_ns = 0, tail_ns;
	size_t k;

	for (k = 0; k < m->n_heads; k++) {
		tail_ns = run_at(m->heads[k], m->heads[k]->n - 1)->key_ns;
		if (tail_ns <= e->key_ns && (!best || tail_ns > best_ns)) {
			best = m->heads[k];
			best_ns = tail_ns;
		}
	}
	if (best || m->n_heads == MAX_RUNS)
		return best;
	for (k = 0; k < MAX_RUNS; k++)
		if (!m->runs[k].n)
			return &m->runs[k];
	return NULL;
}

static int run_push(struct run *u, const struct entry *e)
{
	struct entry *v;
	size_t i, cap;

	if (u->n == u->cap) {
		cap = u->cap ? u->cap * 2 : RUN_MIN;
		v = malloc(cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (i = 0; i < u->n; i++)
			v[i] = *run_at(u, i);
		free(u->v);
		u->v = v;
		u->cap = cap;
		u->head = 0;
	}
	*run_at(u, u->n++) = *e;
	return 0;
}

static void emit(struct weir_merge *m, struct weir_flow_record *r, uint64_t key_ns, bool late)
{
	if (late) {
		STORE(m->late, m->late + 1);
	} else if (key_ns > m->watermark_ns) {
		STORE(m->watermark_ns, key_ns);
	}
	STORE(m->released, m->released + 1);
	m->release(m->ctx, r, late);
	weir_flow_record_put(r);
}

/* The oldest held entry (m->n is not 0). */
static const struct entry *oldest(const struct weir_merge *m)
{
	const struct entry *a = m->n_heads ? head_of(m->heads[0]) : NULL;

	if (!m->n_heap)
		return a;
	return !a || before(&m->heap[0], a) ? &m->heap[0] : a;
}

/* Releases the oldest held record. */
static void pop(struct weir_merge *m)
{
	const struct entry *o = oldest(m);
	struct entry e = *o;
	struct run *u;

	if (o == &m->heap[0]) {
		m->heap[0] = m->heap[--m->n_heap];
		sift_down(m, 0);
	} else {
		u = m->heads[0];
		u->head = (u->head + 1) & (u->cap - 1);
		if (--u->n) {
			heads_sift_down(m, 0);
		} else {
			/* a run that grew large gives its memory back */
			if (u->cap > RUN_KEEP) {
				free(u->v);
				u->v = NULL;
				u->cap = 0;
			}
			u->head = 0;
			m->heads[0] = m->heads[--m->n_heads];
			heads_sift_down(m, 0);
		}
	}
	m->n--;
	STORE(m->held, m->n);
	emit(m, e.r, e.key_ns, false);
}

int weir_merge_add(struct weir_merge *m, struct weir_flow_record *r, uint64_t now_ns)
{
	uint64_t key = r->time_ns < now_ns ? r->time_ns : now_ns;
	struct entry e;
	struct run *u;
	int err;

	if (key < m->watermark_ns) {
		emit(m, weir_flow_record_get(r), key, true);
		return 0;
	}
	if (m->n == m->max_held) {
		STORE(m->early, m->early + 1);
		pop(m);
		/* The record that pushed the oldest out may now be late itself. */
		if (key < m->watermark_ns) {
			emit(m, weir_flow_record_get(r), key, true);
			return 0;
		}
	}
	e = (struct entry){ .key_ns = key, .seq = m->seq, .r = r };
	u = run_for(m, &e);
	if (u) {
		err = run_push(u, &e);
		if (!err && u->n == 1)
			heads_push(m, u);
	} else {
		err = heap_push(m, &e);
	}
	if (err) {
		/* Kept out of order rather than lost. */
		emit(m, weir_flow_record_get(r), key, true);
		return err;
	}
	m->seq++;
	weir_flow_record_get(r);
	m->n++;
	STORE(m->held, m->n);
	return 0;
}

size_t weir_merge_release(struct weir_merge *m, uint64_t now_ns)
{
	size_t n = 0;

	while (m->n && oldest(m)->key_ns + m->window_ns <= now_ns) {
		pop(m);
		n++;
	}
	return n;
}

void weir_merge_flush(struct weir_merge *m)
{
	while (m->n)
		pop(m);
}

uint64_t weir_merge_due_in(const struct weir_merge *m, uint64_t now_ns)
{
	uint64_t due;

	if (!m->n)
		return UINT64_MAX;
	due = oldest(m)->key_ns + m->window_ns;
	return due > now_ns ? due - now_ns : 0;
}

void weir_merge_stats(const struct weir_merge *m, struct weir_merge_stats *st)
{
	st->released = LOAD(m->released);
	st->late = LOAD(m->late);
	st->early = LOAD(m->early);
	st->watermark_ns = LOAD(m->watermark_ns);
	st->held = LOAD(m->held);
}
