// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The time-ordered merge: a binary min-heap on (sort time, arrival order). */
#include <errno.h>
#include <stdlib.h>
#include "merge.h"

struct entry {
	uint64_t key_ns; /* the record's time, or its arrival when that is earlier */
	uint64_t seq;	 /* arrival order: ties keep it */
	struct weir_flow_record *r;
};

struct weir_merge {
	struct entry *heap;
	size_t n;
	size_t cap;
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

void weir_merge_free(struct weir_merge *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		weir_flow_record_put(m->heap[i].r);
	free(m->heap);
	free(m);
}

static bool before(const struct entry *a, const struct entry *b)
{
	return a->key_ns < b->key_ns || (a->key_ns == b->key_ns && a->seq < b->seq);
}

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
		if (l < m->n && before(&m->heap[l], &m->heap[min]))
			min = l;
		if (r < m->n && before(&m->heap[r], &m->heap[min]))
			min = r;
		if (min == i)
			return;
		swap(&m->heap[i], &m->heap[min]);
		i = min;
	}
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

/* Releases the oldest held record. */
static void pop(struct weir_merge *m)
{
	struct entry e = m->heap[0];

	m->heap[0] = m->heap[--m->n];
	STORE(m->held, m->n);
	sift_down(m, 0);
	emit(m, e.r, e.key_ns, false);
}

int weir_merge_add(struct weir_merge *m, struct weir_flow_record *r, uint64_t now_ns)
{
	uint64_t key = r->time_ns < now_ns ? r->time_ns : now_ns;
	struct entry *h;
	size_t cap;

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
	if (m->n == m->cap) {
		cap = m->cap ? m->cap * 2 : 1024;
		if (cap > m->max_held)
			cap = m->max_held;
		h = realloc(m->heap, cap * sizeof(*h));
		if (!h) {
			/* Kept out of order rather than lost. */
			emit(m, weir_flow_record_get(r), key, true);
			return -ENOMEM;
		}
		m->heap = h;
		m->cap = cap;
	}
	m->heap[m->n] =
		(struct entry){ .key_ns = key, .seq = m->seq++, .r = weir_flow_record_get(r) };
	sift_up(m, m->n++);
	STORE(m->held, m->n);
	return 0;
}

size_t weir_merge_release(struct weir_merge *m, uint64_t now_ns)
{
	size_t n = 0;

	while (m->n && m->heap[0].key_ns + m->window_ns <= now_ns) {
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
	due = m->heap[0].key_ns + m->window_ns;
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
