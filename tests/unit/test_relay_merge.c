// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The relay's time-ordered merge: peers interleaved, the window's release
 * order, duplicate timestamps, late records kept and counted, records from
 * the future, and the bound on what the window holds; and, for random
 * streams of every shape (sorted peers, jitter, stragglers, more peers than
 * runs, a small bound), the very release sequence of a one-heap model.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "flow.h"
#include "merge.h"

#define S  1000000000ULL /* ns per second */
#define T0 (1700000000ULL * S)

/* What the merge released, in order. */
struct sink {
	uint64_t times[64];
	uint64_t ids[64];
	bool late[64];
	size_t n;
};

static void collect(void *ctx, struct weir_flow_record *r, bool late)
{
	struct sink *s = ctx;

	assert_true(s->n < 64);
	s->times[s->n] = r->time_ns;
	s->ids[s->n] = r->id;
	s->late[s->n] = late;
	s->n++;
}

/* A record stamped t; the id tells records apart in the checks. */
static void add(struct weir_merge *m, uint64_t t, uint64_t id, uint64_t now)
{
	struct weir_flow_record *r = weir_flow_record_new();

	assert_non_null(r);
	r->time_ns = t;
	r->id = id;
	assert_int_equal(weir_merge_add(m, r, now), 0);
	weir_flow_record_put(r);
}

static void interleaved_peers_come_out_in_time_order(void **state)
{
	static const uint64_t want[] = { 1, 2, 3, 4, 5, 6 };
	struct weir_merge_stats st;
	struct sink s = { 0 };
	struct weir_merge *m;
	size_t i;

	(void)state;
	assert_int_equal(weir_merge_new(&m, S, 1000, collect, &s), 0);
	/* Node A sends 1, 3, 5 and node B 2, 4, 6, each in its own order,
	 * interleaved in arrival; all within the window.
	 */
	add(m, T0 + 1, 0xa1, T0 + 10);
	add(m, T0 + 3, 0xa3, T0 + 10);
	add(m, T0 + 2, 0xb2, T0 + 11);
	add(m, T0 + 5, 0xa5, T0 + 12);
	add(m, T0 + 4, 0xb4, T0 + 12);
	add(m, T0 + 6, 0xb6, T0 + 13);
	assert_int_equal(weir_merge_release(m, T0 + 20), 0); /* nothing is 1 s old yet */
	assert_int_equal(s.n, 0);
	assert_int_equal(weir_merge_release(m, T0 + S + 6), 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(s.times[i], T0 + want[i]);
		assert_false(s.late[i]);
	}
	weir_merge_stats(m, &st);
	assert_int_equal(st.released, 6);
	assert_int_equal(st.late, 0);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.watermark_ns, T0 + 6);
	weir_merge_free(m);
}

/* Only what is older than the window goes; the rest waits its turn. */
static void window_releases_only_what_is_older_than_it(void **state)
{
	struct sink s = { 0 };
	struct weir_merge *m;

	(void)state;
	assert_int_equal(weir_merge_new(&m, S, 1000, collect, &s), 0);
	add(m, T0 + 3 * S, 3, T0 + 3 * S);
	add(m, T0 + 1 * S, 1, T0 + 3 * S);
	add(m, T0 + 2 * S, 2, T0 + 3 * S);
	assert_int_equal(weir_merge_due_in(m, T0 + 3 * S), 0); /* T0 + 1 s is 2 s old */
	assert_int_equal(weir_merge_release(m, T0 + 3 * S), 2);
	assert_int_equal(s.times[0], T0 + 1 * S);
	assert_int_equal(s.times[1], T0 + 2 * S);
	assert_int_equal(weir_merge_due_in(m, T0 + 3 * S), S);
	assert_int_equal(weir_merge_release(m, T0 + 4 * S - 1), 0);
	assert_int_equal(weir_merge_release(m, T0 + 4 * S), 1);
	assert_int_equal(s.times[2], T0 + 3 * S);
	assert_int_equal(weir_merge_due_in(m, T0 + 4 * S), UINT64_MAX);
	weir_merge_free(m);
}

/* Equal times keep their arrival order, and none is late. */
static void duplicate_timestamps_keep_arrival_order(void **state)
{
	struct weir_merge_stats st;
	struct sink s = { 0 };
	struct weir_merge *m;
	size_t i;

	(void)state;
	assert_int_equal(weir_merge_new(&m, S, 1000, collect, &s), 0);
	for (i = 0; i < 5; i++)
		add(m, T0 + 7, 100 + i, T0 + 10);
	assert_int_equal(weir_merge_release(m, T0 + 2 * S), 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(s.ids[i], 100 + i);
	/* One more at the watermark itself is still in order. */
	add(m, T0 + 7, 200, T0 + 2 * S);
	assert_int_equal(s.n, 5);
	assert_int_equal(weir_merge_release(m, T0 + 3 * S), 1);
	weir_merge_stats(m, &st);
	assert_int_equal(st.late, 0);
	weir_merge_free(m);
}

/* Older than a record released already: out at once, counted, kept. */
static void late_records_are_kept_and_counted(void **state)
{
	struct weir_merge_stats st;
	struct sink s = { 0 };
	struct weir_merge *m;

	(void)state;
	assert_int_equal(weir_merge_new(&m, S, 1000, collect, &s), 0);
	add(m, T0 + 5 * S, 5, T0 + 5 * S);
	assert_int_equal(weir_merge_release(m, T0 + 6 * S), 1);
	/* A slow node's record from before that. */
	add(m, T0 + 4 * S, 4, T0 + 6 * S);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.times[1], T0 + 4 * S);
	assert_true(s.late[1]);
	/* An old record newer than the watermark is not late: it waits its turn. */
	add(m, T0 + 5 * S + 1, 6, T0 + 9 * S);
	assert_int_equal(s.n, 2);
	assert_int_equal(weir_merge_release(m, T0 + 9 * S), 1);
	assert_false(s.late[2]);
	weir_merge_stats(m, &st);
	assert_int_equal(st.released, 3);
	assert_int_equal(st.late, 1);
	weir_merge_free(m);
}

/* A node whose clock runs ahead is held no longer than the window. */
static void future_records_sort_at_their_arrival(void **state)
{
	struct sink s = { 0 };
	struct weir_merge *m;

	(void)state;
	assert_int_equal(weir_merge_new(&m, S, 1000, collect, &s), 0);
	add(m, T0 + 3600 * S, 1, T0); /* an hour ahead */
	add(m, T0 + S / 2, 2, T0 + S / 2);
	assert_int_equal(weir_merge_release(m, T0 + S), 1);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(weir_merge_release(m, T0 + 2 * S), 1);
	assert_int_equal(s.ids[1], 2);
	assert_false(s.late[1]);
	weir_merge_free(m);
}

/* Past max_held the oldest goes early, and memory stays bounded. */
static void full_window_releases_the_oldest_early(void **state)
{
	struct weir_merge_stats st;
	struct sink s = { 0 };
	struct weir_merge *m;
	uint64_t t;

	(void)state;
	assert_int_equal(weir_merge_new(&m, S, 4, collect, &s), 0);
	for (t = 1; t <= 6; t++)
		add(m, T0 + t, t, T0 + 10);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.times[0], T0 + 1);
	assert_int_equal(s.times[1], T0 + 2);
	weir_merge_stats(m, &st);
	assert_int_equal(st.held, 4);
	assert_int_equal(st.early, 2);
	/* What comes after, older than what went early, is late. */
	add(m, T0 + 1, 99, T0 + 11);
	assert_true(s.late[2]);
	weir_merge_flush(m);
	assert_int_equal(s.n, 7);
	assert_int_equal(s.times[6], T0 + 6);
	weir_merge_free(m);
}

/* Freed with records held: their references are put, not released. */
static void free_puts_held_records(void **state)
{
	struct weir_flow_record *r = weir_flow_record_new();
	struct sink s = { 0 };
	struct weir_merge *m;

	(void)state;
	assert_non_null(r);
	r->time_ns = T0;
	assert_int_equal(weir_merge_new(&m, S, 8, collect, &s), 0);
	assert_int_equal(weir_merge_add(m, r, T0), 0);
	assert_int_equal(r->refcnt, 2);
	weir_merge_free(m);
	assert_int_equal(r->refcnt, 1);
	assert_int_equal(s.n, 0);
	weir_flow_record_put(r);
	assert_int_equal(weir_merge_new(&m, S, 0, collect, &s), -EINVAL);
}

/* ---- against a model: one list of everything held, the oldest found by a scan ---- */

struct model_entry {
	uint64_t key, seq;
	struct weir_flow_record *r;
};

struct model {
	struct model_entry *v;
	size_t n, max;
	uint64_t seq, watermark, late, early, released;
	uint64_t *out_ids; /* what it released, as id << 1 | late */
	size_t n_out;
};

static void model_emit(struct model *md, uint64_t id, uint64_t key, bool late)
{
	if (late)
		md->late++;
	else if (key > md->watermark)
		md->watermark = key;
	md->released++;
	md->out_ids[md->n_out++] = id << 1 | late;
}

static void model_pop(struct model *md)
{
	size_t i, min = 0;

	for (i = 1; i < md->n; i++)
		if (md->v[i].key < md->v[min].key ||
		    (md->v[i].key == md->v[min].key && md->v[i].seq < md->v[min].seq))
			min = i;
	model_emit(md, md->v[min].r->id, md->v[min].key, false);
	md->v[min] = md->v[--md->n];
}

static void model_add(struct model *md, struct weir_flow_record *r, uint64_t now)
{
	uint64_t key = r->time_ns < now ? r->time_ns : now;

	if (key < md->watermark) {
		model_emit(md, r->id, key, true);
		return;
	}
	if (md->n == md->max) {
		md->early++;
		model_pop(md);
		if (key < md->watermark) {
			model_emit(md, r->id, key, true);
			return;
		}
	}
	md->v[md->n++] = (struct model_entry){ .key = key, .seq = md->seq++, .r = r };
}

static void model_release(struct model *md, uint64_t window, uint64_t now)
{
	for (;;) {
		size_t i, min = 0;

		if (!md->n)
			return;
		for (i = 1; i < md->n; i++)
			if (md->v[i].key < md->v[min].key ||
			    (md->v[i].key == md->v[min].key && md->v[i].seq < md->v[min].seq))
				min = i;
		if (md->v[min].key + window > now)
			return;
		model_pop(md);
	}
}

struct seq_sink {
	uint64_t *ids;
	size_t n;
};

static void seq_collect(void *ctx, struct weir_flow_record *r, bool late)
{
	struct seq_sink *s = ctx;

	s->ids[s->n++] = r->id << 1 | late;
}

static uint64_t mrng = 0x243f6a8885a308d3ULL;

static uint64_t mrnd(uint64_t n)
{
	mrng ^= mrng >> 12;
	mrng ^= mrng << 25;
	mrng ^= mrng >> 27;
	return (mrng * 0x2545f4914f6cdd1dULL) % n;
}

#define MODEL_ADDS 20000

static void random_streams_release_as_one_heap_would(void **state)
{
	static const size_t peers[] = { 1, 3, 8, 40, 64, 65, 200 };
	static const size_t bounds[] = { 7, 100, 1000, 100000 };
	struct weir_flow_record **recs = calloc(MODEL_ADDS, sizeof(struct weir_flow_record *));
	uint64_t *last = calloc(200, sizeof(uint64_t));
	size_t pi, bi, i, total = 0;

	(void)state;
	assert_non_null(recs);
	assert_non_null(last);
	for (pi = 0; pi < sizeof(peers) / sizeof(peers[0]); pi++) {
		for (bi = 0; bi < sizeof(bounds) / sizeof(bounds[0]); bi++) {
			struct model md = { .max = bounds[bi] };
			struct seq_sink sk = { 0 };
			struct weir_merge_stats st;
			struct weir_merge *m;
			uint64_t now = T0, window = S / 10;

			md.v = calloc(bounds[bi], sizeof(*md.v));
			md.out_ids = calloc(MODEL_ADDS, sizeof(uint64_t));
			sk.ids = calloc(MODEL_ADDS, sizeof(uint64_t));
			assert_non_null(md.v);
			assert_non_null(md.out_ids);
			assert_non_null(sk.ids);
			assert_int_equal(weir_merge_new(&m, window, bounds[bi], seq_collect, &sk),
					 0);
			for (i = 0; i < peers[pi]; i++)
				last[i] = now - mrnd(S);
			for (i = 0; i < MODEL_ADDS; i++) {
				size_t p = mrnd(peers[pi]);
				struct weir_flow_record *r = weir_flow_record_new();

				assert_non_null(r);
				now += mrnd(S / 10000);
				switch (mrnd(20)) {
				case 0: /* a straggler */
					r->time_ns = now - mrnd(S);
					break;
				case 1: /* from the future */
					r->time_ns = now + mrnd(S);
					break;
				case 2: /* the same time as the peer's last */
					r->time_ns = last[p];
					break;
				default: /* in order for its peer, behind now by up to half the
					    window */
					if (now - S / 20 + mrnd(S / 20) > last[p])
						last[p] = now - S / 20 + mrnd(S / 20);
					r->time_ns = last[p] - (mrnd(10) ? 0 : mrnd(S / 100));
					break;
				}
				r->id = i;
				recs[i] = r;
				assert_int_equal(weir_merge_add(m, r, now), 0);
				model_add(&md, r, now);
				if (!mrnd(50)) {
					weir_merge_release(m, now);
					model_release(&md, window, now);
				}
			}
			weir_merge_flush(m);
			while (md.n)
				model_pop(&md);
			assert_int_equal(sk.n, MODEL_ADDS);
			assert_int_equal(md.n_out, MODEL_ADDS);
			for (i = 0; i < MODEL_ADDS; i++) {
				if (sk.ids[i] != md.out_ids[i])
					fprintf(stderr,
						"# peers %zu bound %zu: release %zu is %llu, the "
						"model's %llu\n",
						peers[pi], bounds[bi], i,
						(unsigned long long)sk.ids[i],
						(unsigned long long)md.out_ids[i]);
				assert_int_equal(sk.ids[i], md.out_ids[i]);
			}
			weir_merge_stats(m, &st);
			assert_int_equal(st.late, md.late);
			assert_int_equal(st.early, md.early);
			assert_int_equal(st.released, md.released);
			assert_int_equal(st.watermark_ns, md.watermark);
			assert_int_equal(st.held, 0);
			total += md.late;
			weir_merge_free(m);
			for (i = 0; i < MODEL_ADDS; i++)
				weir_flow_record_put(recs[i]);
			free(md.v);
			free(md.out_ids);
			free(sk.ids);
		}
	}
	printf("# %zu records, %llu late among them, all where the model has them\n",
	       sizeof(peers) / sizeof(peers[0]) * sizeof(bounds) / sizeof(bounds[0]) * MODEL_ADDS,
	       (unsigned long long)total);
	free(recs);
	free(last);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interleaved_peers_come_out_in_time_order),
		cmocka_unit_test(window_releases_only_what_is_older_than_it),
		cmocka_unit_test(duplicate_timestamps_keep_arrival_order),
		cmocka_unit_test(late_records_are_kept_and_counted),
		cmocka_unit_test(future_records_sort_at_their_arrival),
		cmocka_unit_test(full_window_releases_the_oldest_early),
		cmocka_unit_test(free_puts_held_records),
		cmocka_unit_test(random_streams_release_as_one_heap_would),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
