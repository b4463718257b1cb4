// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow store: ring wraparound, resizing, queries, followers, notes, losses
 * and close.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "filter.h"
#include "flow.h"
#include "store.h"

/* A published-looking record: time_ns = id = t, both ends world. */
static struct weir_flow_record *rec(uint64_t t, uint8_t verdict)
{
	struct weir_flow_record *r = weir_flow_record_new();

	assert_non_null(r);
	r->id = t;
	r->time_ns = t;
	r->first_seen_ns = t;
	r->last_seen_ns = t;
	r->type = verdict == WEIR_VERDICT_DROPPED ? WEIR_RECORD_DROP : WEIR_RECORD_START;
	r->family = 4;
	r->proto = 6;
	r->saddr[0] = 10;
	r->saddr[3] = 1;
	r->daddr[0] = 10;
	r->daddr[3] = 2;
	r->sport = 40000;
	r->dport = 80;
	r->dir = WEIR_DIR_INGRESS;
	r->verdict = verdict;
	r->reason = verdict == WEIR_VERDICT_DROPPED ? WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER :
						      WEIR_REASON_FORWARDED;
	r->node_name = strdup("node-a");
	r->src = weir_endpoint_get(weir_endpoint_world());
	r->dst = weir_endpoint_get(weir_endpoint_world());
	return r;
}

/* Adds records with times first..last (the store keeps its own references). */
static void add_range(struct weir_store *s, uint64_t first, uint64_t last, uint8_t verdict)
{
	uint64_t t;

	for (t = first; t <= last; t++) {
		struct weir_flow_record *r = rec(t, verdict);

		weir_store_add(s, r);
		weir_flow_record_put(r);
	}
}

static struct weir_flow_request request(uint64_t number, bool first, uint64_t since_ns,
					uint64_t until_ns)
{
	struct weir_flow_request req = {
		.number = number,
		.first = first,
		.since_ns = since_ns,
		.until_ns = until_ns,
	};
	char err[256];

	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	return req;
}

/* Queries and checks that the result is exactly the times want[0..n), oldest first. */
static void expect_times(struct weir_store *s, const struct weir_flow_request *req,
			 const uint64_t *want, size_t n_want)
{
	struct weir_flow_record **v;
	size_t n, i;

	assert_int_equal(weir_store_query(s, req, &v, &n), 0);
	assert_int_equal(n, n_want);
	for (i = 0; i < n && i < n_want; i++) {
		assert_int_equal(v[i]->time_ns, want[i]);
		weir_flow_record_put(v[i]);
	}
	free(v);
}

static void ring_wraps_and_keeps_the_newest(void **state)
{
	struct weir_flow_request req = request(0, false, 0, 0);
	static const uint64_t want[] = { 3, 4, 5, 6 };
	struct weir_store_stats st;
	struct weir_flow_record *first = rec(1, WEIR_VERDICT_FORWARDED);
	struct weir_store *s;

	(void)state;
	assert_int_equal(weir_store_new(&s, 4), 0);
	weir_store_add(s, first);
	assert_int_equal(first->refcnt, 2);
	add_range(s, 2, 6, WEIR_VERDICT_FORWARDED);
	/* Fell out of the ring: the store's reference is gone. */
	assert_int_equal(first->refcnt, 1);
	expect_times(s, &req, want, 4);
	weir_store_stats(s, &st);
	assert_int_equal(st.seen_flows, 6);
	assert_int_equal(st.num_flows, 4);
	assert_int_equal(st.max_flows, 4);
	assert_int_equal(st.followers, 0);
	assert_int_equal(st.follower_lost, 0);
	weir_store_free(s);
	weir_flow_record_put(first);
	weir_flow_request_release(&req);
}

static void store_refuses_zero_capacity(void **state)
{
	struct weir_store *s = NULL;

	(void)state;
	assert_int_equal(weir_store_new(&s, 0), -EINVAL);
}

static void empty_store_answers_nothing(void **state)
{
	struct weir_flow_request req = request(5, false, 0, 0);
	static const uint64_t none[1];
	struct weir_store *s;

	(void)state;
	assert_int_equal(weir_store_new(&s, 8), 0);
	expect_times(s, &req, none, 0);
	weir_store_free(s);
	weir_flow_request_release(&req);
}

static void query_number_takes_newest_or_first(void **state)
{
	struct weir_flow_request last3 = request(3, false, 0, 0);
	struct weir_flow_request first3 = request(3, true, 0, 0);
	struct weir_flow_request many = request(100, false, 0, 0);
	static const uint64_t want_last[] = { 8, 9, 10 };
	static const uint64_t want_first[] = { 3, 4, 5 };
	static const uint64_t want_all[] = { 3, 4, 5, 6, 7, 8, 9, 10 };
	struct weir_store *s;

	(void)state;
	assert_int_equal(weir_store_new(&s, 8), 0);
	add_range(s, 1, 10, WEIR_VERDICT_FORWARDED); /* wraps: 3..10 kept */
	expect_times(s, &last3, want_last, 3);
	expect_times(s, &first3, want_first, 3);
	expect_times(s, &many, want_all, 8);
	weir_store_free(s);
	weir_flow_request_release(&last3);
	weir_flow_request_release(&first3);
	weir_flow_request_release(&many);
}

static void query_since_until_are_inclusive(void **state)
{
	struct weir_flow_request range = request(0, false, 3, 6);
	struct weir_flow_request since = request(0, false, 8, 0);
	struct weir_flow_request until = request(0, false, 0, 2);
	struct weir_flow_request range_last = request(2, false, 3, 6);
	struct weir_flow_request range_first = request(2, true, 3, 6);
	static const uint64_t want_range[] = { 3, 4, 5, 6 };
	static const uint64_t want_since[] = { 8, 9, 10 };
	static const uint64_t want_until[] = { 1, 2 };
	static const uint64_t want_range_last[] = { 5, 6 };
	static const uint64_t want_range_first[] = { 3, 4 };
	struct weir_store *s;

	(void)state;
	assert_int_equal(weir_store_new(&s, 16), 0);
	add_range(s, 1, 10, WEIR_VERDICT_FORWARDED);
	expect_times(s, &range, want_range, 4);
	expect_times(s, &since, want_since, 3);
	expect_times(s, &until, want_until, 2);
	expect_times(s, &range_last, want_range_last, 2);
	expect_times(s, &range_first, want_range_first, 2);
	weir_store_free(s);
	weir_flow_request_release(&range);
	weir_flow_request_release(&since);
	weir_flow_request_release(&until);
	weir_flow_request_release(&range_last);
	weir_flow_request_release(&range_first);
}

static void query_applies_filters_before_number(void **state)
{
	struct weir_flow_request req = { .number = 2 };
	static const uint64_t want[] = { 4, 6 };
	struct weir_store *s;
	char err[256];
	int rc;

	(void)state;
	rc = weir_flow_request_set(&req, "allowlist", "[{\"verdict\": [\"DROPPED\"]}]", err,
				   sizeof(err));
	assert_int_equal(rc, 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	assert_int_equal(weir_store_new(&s, 16), 0);
	add_range(s, 1, 1, WEIR_VERDICT_FORWARDED);
	add_range(s, 2, 2, WEIR_VERDICT_DROPPED);
	add_range(s, 3, 3, WEIR_VERDICT_FORWARDED);
	add_range(s, 4, 4, WEIR_VERDICT_DROPPED);
	add_range(s, 5, 5, WEIR_VERDICT_FORWARDED);
	add_range(s, 6, 6, WEIR_VERDICT_DROPPED);
	add_range(s, 7, 7, WEIR_VERDICT_FORWARDED);
	/* The newest two drops, not the drops among the newest two records. */
	expect_times(s, &req, want, 2);
	weir_store_free(s);
	weir_flow_request_release(&req);
}

/* A record from pod ns/<name> (a new endpoint object, shared by nothing). */
static struct weir_flow_record *pod_rec(uint64_t t, const char *name)
{
	struct weir_flow_record *r = rec(t, WEIR_VERDICT_FORWARDED);

	weir_endpoint_put(r->src);
	r->src = weir_endpoint_new(WEIR_IDENTITY_POD);
	assert_non_null(r->src);
	r->src->namespace = strdup("ns");
	r->src->pod_name = strdup(name);
	return r;
}

static struct weir_flow_request pod_request(const char *allow, uint64_t since_ns)
{
	struct weir_flow_request req = { .since_ns = since_ns };
	char err[256];

	assert_int_equal(weir_flow_request_set(&req, "allowlist", allow, err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	return req;
}

/* A pod query over a wrapped ring of several query batches, records of a pod
 * sharing its endpoint as the agent's do: exactly the pod's records since the
 * time asked, oldest first.
 */
static void query_by_pod_reads_every_batch_of_a_wrapped_ring(void **state)
{
	struct weir_flow_request req = pod_request("[{\"source_pod\": [\"ns/pod-7\"]}]", 3001);
	struct weir_endpoint *eps[50];
	struct weir_flow_record **v;
	struct weir_store *s;
	uint64_t t, want = 0;
	size_t i, n;

	(void)state;
	for (i = 0; i < 50; i++) {
		char name[16];
		struct weir_flow_record *r;

		snprintf(name, sizeof(name), "pod-%zu", i);
		r = pod_rec(0, name);
		eps[i] = weir_endpoint_get(r->src);
		weir_flow_record_put(r);
	}
	assert_int_equal(weir_store_new(&s, 12000), 0);
	for (t = 1; t <= 20000; t++) {
		struct weir_flow_record *r = rec(t, WEIR_VERDICT_FORWARDED);

		weir_endpoint_put(r->src);
		r->src = weir_endpoint_get(eps[t % 50]);
		weir_store_add(s, r);
		weir_flow_record_put(r);
		/* in the ring (the newest 12000) and since 3001: pod-7 only, not pod-17 */
		want += t > 8000 && t % 50 == 7;
	}
	assert_int_equal(weir_store_query(s, &req, &v, &n), 0);
	assert_int_equal(n, want);
	for (i = 0; i < n; i++) {
		assert_int_equal(v[i]->time_ns % 50, 7);
		assert_true(v[i]->time_ns > 8000);
		assert_true(!i || v[i]->time_ns > v[i - 1]->time_ns);
		weir_flow_record_put(v[i]);
	}
	free(v);
	for (i = 0; i < 50; i++)
		weir_endpoint_put(eps[i]);
	weir_store_free(s);
	weir_flow_request_release(&req);
}

struct pod_writer {
	struct weir_store *s;
	bool stop; /* atomic */
	uint64_t added;
};

/* Records of short-lived pods: each endpoint object dies with its records
 * as they fall out of the ring, and its address comes back as another pod.
 */
static void *pod_writer_main(void *arg)
{
	struct pod_writer *w = arg;
	char name[16];
	int i;

	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		struct weir_flow_record *first;

		snprintf(name, sizeof(name), "pod-%llu", (unsigned long long)(w->added / 4 % 97));
		first = pod_rec(__atomic_add_fetch(&w->added, 1, __ATOMIC_RELAXED), name);
		weir_store_add(w->s, first);
		for (i = 0; i < 3; i++) {
			struct weir_flow_record *r =
				rec(__atomic_add_fetch(&w->added, 1, __ATOMIC_RELAXED),
				    WEIR_VERDICT_FORWARDED);

			weir_endpoint_put(r->src);
			r->src = weir_endpoint_get(first->src);
			weir_store_add(w->s, r);
			weir_flow_record_put(r);
		}
		weir_flow_record_put(first);
	}
	return NULL;
}

/* Queries while a writer replaces the ring's records, and with them the
 * endpoints: every record answered is one the filter matches. (A writer
 * rarely gets the lock between a query's batches, so this seldom sees an
 * endpoint freed mid-query; test_filter's scan tests check forgetting.)
 */
static void query_by_pod_while_endpoints_come_and_go(void **state)
{
	struct weir_flow_request req = pod_request("[{\"source_pod\": [\"ns/pod-7\"]}]", 0);
	struct pod_writer w = { 0 };
	struct weir_flow_record **v;
	size_t i, n, answered = 0;
	pthread_t th;
	int q;

	(void)state;
	assert_int_equal(weir_store_new(&w.s, 10000), 0);
	assert_int_equal(pthread_create(&th, NULL, pod_writer_main, &w), 0);
	while (__atomic_load_n(&w.added, __ATOMIC_RELAXED) < 10000)
		usleep(1000);
	/* until the ring has turned over twice more, within reason */
	for (q = 0; q < 100000 && (q < 300 || __atomic_load_n(&w.added, __ATOMIC_RELAXED) < 30000);
	     q++) {
		assert_int_equal(weir_store_query(w.s, &req, &v, &n), 0);
		for (i = 0; i < n; i++) {
			if (!weir_filter_set_match(req.filters, v[i]))
				fail_msg("query %d answered pod %s", q, v[i]->src->pod_name);
			weir_flow_record_put(v[i]);
		}
		free(v);
		answered += n;
	}
	__atomic_store_n(&w.stop, true, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(answered > 0);
	assert_true(w.added >= 30000);
	weir_store_free(w.s);
	weir_flow_request_release(&req);
}

static void follower_receives_records_added_after_it(void **state)
{
	struct weir_flow_record *r;
	struct weir_follower *f;
	struct weir_store_stats st;
	struct weir_store *s;
	uint64_t lost = 99;

	(void)state;
	assert_int_equal(weir_store_new(&s, 16), 0);
	add_range(s, 1, 3, WEIR_VERDICT_FORWARDED);
	assert_int_equal(weir_store_follow(s, NULL, 8, &f), 0);
	assert_int_equal(weir_follower_next(f, 0, &r, &lost), -EAGAIN);
	assert_null(r);
	assert_int_equal(lost, 0);
	assert_int_equal(weir_follower_next(f, 20, &r, &lost), -EAGAIN);

	add_range(s, 4, 5, WEIR_VERDICT_FORWARDED);
	assert_int_equal(weir_follower_next(f, 1000, &r, &lost), 0);
	assert_int_equal(r->time_ns, 4);
	assert_int_equal(lost, 0);
	weir_flow_record_put(r);
	assert_int_equal(weir_follower_next(f, 1000, &r, &lost), 0);
	assert_int_equal(r->time_ns, 5);
	weir_flow_record_put(r);
	assert_int_equal(weir_follower_next(f, 0, &r, &lost), -EAGAIN);

	weir_store_stats(s, &st);
	assert_int_equal(st.followers, 1);
	weir_follower_free(f);
	weir_store_stats(s, &st);
	assert_int_equal(st.followers, 0);
	weir_store_free(s);
}

static void follower_gets_only_matching_records(void **state)
{
	struct weir_filter_set *fs;
	struct weir_flow_record *r;
	struct weir_follower *f;
	struct weir_store *s;
	json_t *allow;
	uint64_t lost;
	char err[256];

	(void)state;
	allow = json_loads("[{\"verdict\": [\"DROPPED\"]}]", 0, NULL);
	assert_non_null(allow);
	assert_int_equal(weir_filter_set_new(&fs, allow, NULL, err, sizeof(err)), 0);
	json_decref(allow);
	assert_int_equal(weir_store_new(&s, 16), 0);
	assert_int_equal(weir_store_follow(s, fs, 8, &f), 0);
	add_range(s, 1, 1, WEIR_VERDICT_FORWARDED);
	add_range(s, 2, 2, WEIR_VERDICT_DROPPED);
	add_range(s, 3, 3, WEIR_VERDICT_FORWARDED);
	assert_int_equal(weir_follower_next(f, 1000, &r, &lost), 0);
	assert_int_equal(r->time_ns, 2);
	weir_flow_record_put(r);
	assert_int_equal(weir_follower_next(f, 0, &r, &lost), -EAGAIN);
	weir_follower_free(f);
	weir_store_free(s);
	weir_filter_set_free(fs);
}

static void slow_follower_loses_oldest_and_counts(void **state)
{
	struct weir_flow_record *r;
	struct weir_follower *f;
	struct weir_store_stats st;
	struct weir_store *s;
	uint64_t lost, t;

	(void)state;
	assert_int_equal(weir_store_new(&s, 64), 0);
	assert_int_equal(weir_store_follow(s, NULL, 4, &f), 0);
	add_range(s, 1, 10, WEIR_VERDICT_FORWARDED); /* never blocks: one thread */
	assert_int_equal(weir_follower_next(f, 0, &r, &lost), 0);
	assert_int_equal(r->time_ns, 7);
	assert_int_equal(lost, 6);
	weir_flow_record_put(r);
	for (t = 8; t <= 10; t++) {
		assert_int_equal(weir_follower_next(f, 0, &r, &lost), 0);
		assert_int_equal(r->time_ns, t);
		assert_int_equal(lost, 0);
		weir_flow_record_put(r);
	}
	weir_store_stats(s, &st);
	assert_int_equal(st.follower_lost, 6);
	assert_int_equal(st.seen_flows, 10);
	weir_follower_free(f);
	weir_store_free(s);
}

/* A follower freed with records still queued puts them. */
static void follower_free_puts_its_queue(void **state)
{
	struct weir_flow_record *r = rec(1, WEIR_VERDICT_FORWARDED);
	struct weir_follower *f;
	struct weir_store *s;

	(void)state;
	assert_int_equal(weir_store_new(&s, 4), 0);
	assert_int_equal(weir_store_follow(s, NULL, 4, &f), 0);
	weir_store_add(s, r);
	assert_int_equal(r->refcnt, 3);
	weir_follower_free(f);
	assert_int_equal(r->refcnt, 2);
	weir_store_free(s);
	assert_int_equal(r->refcnt, 1);
	weir_flow_record_put(r);
}

static void resize_keeps_the_newest_records(void **state)
{
	struct weir_flow_request req = request(0, false, 0, 0);
	static const uint64_t after_shrink[] = { 7, 8, 9, 10 };
	static const uint64_t after_grow[] = { 7, 8, 9, 10, 11, 12, 13, 14 };
	struct weir_flow_record *old = rec(5, WEIR_VERDICT_FORWARDED);
	struct weir_store_stats st;
	struct weir_store *s;

	(void)state;
	assert_int_equal(weir_store_new(&s, 10), 0);
	add_range(s, 1, 4, WEIR_VERDICT_FORWARDED);
	weir_store_add(s, old);
	add_range(s, 6, 10, WEIR_VERDICT_FORWARDED);
	assert_int_equal(weir_store_resize(s, 4), 0);
	/* Shrunk out of the ring: the store's reference is gone. */
	assert_int_equal(old->refcnt, 1);
	expect_times(s, &req, after_shrink, 4);
	assert_int_equal(weir_store_resize(s, 8), 0);
	add_range(s, 11, 14, WEIR_VERDICT_FORWARDED);
	expect_times(s, &req, after_grow, 8);
	weir_store_stats(s, &st);
	assert_int_equal(st.max_flows, 8);
	assert_int_equal(st.num_flows, 8);
	assert_int_equal(st.seen_flows, 14);
	assert_int_equal(weir_store_resize(s, 0), -EINVAL);
	weir_store_free(s);
	weir_flow_record_put(old);
	weir_flow_request_release(&req);
}

/* Notes go past the filter, first, and only to those that ask for them. */
static void notes_reach_followers_past_their_filters(void **state)
{
	struct weir_filter_set *fs;
	struct weir_flow_record *r;
	struct weir_follower *f, *g;
	struct weir_store *s;
	json_t *allow;
	uint64_t lost;
	char err[256], *note;

	(void)state;
	allow = json_loads("[{\"verdict\": [\"DROPPED\"]}]", 0, NULL);
	assert_non_null(allow);
	assert_int_equal(weir_filter_set_new(&fs, allow, NULL, err, sizeof(err)), 0);
	json_decref(allow);
	assert_int_equal(weir_store_new(&s, 16), 0);
	assert_int_equal(weir_store_follow(s, fs, 8, &f), 0);
	assert_int_equal(weir_store_follow(s, NULL, 8, &g), 0);
	add_range(s, 1, 1, WEIR_VERDICT_DROPPED);
	weir_store_notify(s, "{\"node_status\":{}}");
	assert_int_equal(weir_follower_notify(g, "{\"only\":\"g\"}"), 0);

	assert_int_equal(weir_follower_next_note(f, 1000, &r, &note, &lost), 0);
	assert_null(r);
	assert_string_equal(note, "{\"node_status\":{}}");
	free(note);
	note = NULL;
	assert_int_equal(weir_follower_next_note(f, 1000, &r, &note, &lost), 0);
	assert_null(note);
	assert_int_equal(r->time_ns, 1);
	weir_flow_record_put(r);
	assert_int_equal(weir_follower_next_note(f, 0, &r, &note, &lost), -EAGAIN);

	/* weir_follower_next takes records and leaves the notes. */
	assert_int_equal(weir_follower_next(g, 1000, &r, &lost), 0);
	assert_int_equal(r->time_ns, 1);
	weir_flow_record_put(r);
	assert_int_equal(weir_follower_next(g, 0, &r, &lost), -EAGAIN);
	assert_int_equal(weir_follower_next_note(g, 0, &r, &note, &lost), 0);
	assert_string_equal(note, "{\"node_status\":{}}");
	free(note);
	note = NULL;
	assert_int_equal(weir_follower_next_note(g, 0, &r, &note, &lost), 0);
	assert_string_equal(note, "{\"only\":\"g\"}");
	free(note);
	note = NULL;
	weir_follower_free(f);
	weir_follower_free(g);
	weir_store_free(s);
	weir_filter_set_free(fs);
}

static void unread_notes_are_bounded_and_counted(void **state)
{
	struct weir_flow_record *r;
	struct weir_follower *f;
	struct weir_store_stats st;
	struct weir_store *s;
	char line[32], *note;
	uint64_t lost;
	int i;

	(void)state;
	assert_int_equal(weir_store_new(&s, 4), 0);
	assert_int_equal(weir_store_follow(s, NULL, 4, &f), 0);
	for (i = 0; i < WEIR_FOLLOW_NOTES_MAX + 3; i++) {
		snprintf(line, sizeof(line), "%d", i);
		weir_store_notify(s, line);
	}
	assert_int_equal(weir_follower_next_note(f, 0, &r, &note, &lost), 0);
	assert_string_equal(note, "3");
	assert_int_equal(lost, 3);
	free(note);
	note = NULL;
	weir_store_stats(s, &st);
	assert_int_equal(st.follower_lost, 3);
	weir_follower_free(f); /* frees the notes still queued */
	weir_store_free(s);
}

struct reader {
	struct weir_follower *f;
	int timeout_ms;
	int rc;
	uint64_t received;
	uint64_t lost;
	uint64_t last_time;
	bool ordered;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct weir_flow_record *r;
	struct timespec pause = { .tv_nsec = 20000 }; /* slower than the writer */
	uint64_t lost;

	rd->ordered = true;
	for (;;) {
		rd->rc = weir_follower_next(rd->f, rd->timeout_ms, &r, &lost);
		rd->lost += lost;
		if (rd->rc == -EAGAIN)
			continue;
		if (rd->rc)
			break;
		if (r->time_ns <= rd->last_time)
			rd->ordered = false;
		rd->last_time = r->time_ns;
		rd->received++;
		weir_flow_record_put(r);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A reader sleeping between records loses some, never blocks the writer, and
 * every record is either received (in order) or counted as lost.
 */
static void writer_never_waits_for_a_slow_follower(void **state)
{
	struct reader rd = { .timeout_ms = 50 };
	const uint64_t n = 200000;
	struct weir_store_stats st;
	struct weir_store *s;
	uint64_t start;
	pthread_t th;

	(void)state;
	assert_int_equal(weir_store_new(&s, 1024), 0);
	assert_int_equal(weir_store_follow(s, NULL, 16, &rd.f), 0);
	assert_int_equal(pthread_create(&th, NULL, reader_main, &rd), 0);
	start = now_ms();
	add_range(s, 1, n, WEIR_VERDICT_FORWARDED);
	/* 200k adds take well under a second; a writer paced by a 20 us
	 * reader would need several.
	 */
	assert_true(now_ms() - start < 3000);
	/* Let the reader drain what is queued, then end it. */
	usleep(200000);
	weir_store_close(s);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(rd.rc, -EPIPE);
	assert_true(rd.ordered);
	assert_true(rd.lost > 0);
	assert_int_equal(rd.received + rd.lost, n);
	weir_store_stats(s, &st);
	assert_int_equal(st.follower_lost, rd.lost);
	weir_follower_free(rd.f);
	weir_store_free(s);
}

static void close_wakes_waiting_followers(void **state)
{
	struct reader rd[2] = { { .timeout_ms = -1 }, { .timeout_ms = 60000 } };
	struct weir_follower *late = NULL;
	struct weir_store *s;
	pthread_t th[2];
	uint64_t start;
	int i;

	(void)state;
	assert_int_equal(weir_store_new(&s, 16), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(weir_store_follow(s, NULL, 8, &rd[i].f), 0);
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
	}
	usleep(50000); /* both are waiting now */
	start = now_ms();
	weir_store_close(s);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(rd[i].rc, -EPIPE);
		assert_int_equal(rd[i].received, 0);
		weir_follower_free(rd[i].f);
	}
	assert_true(now_ms() - start < 1000);
	/* A closed store takes no new followers; adds still land in the ring. */
	assert_int_equal(weir_store_follow(s, NULL, 8, &late), -EPIPE);
	assert_null(late);
	add_range(s, 1, 2, WEIR_VERDICT_FORWARDED);
	weir_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_wraps_and_keeps_the_newest),
		cmocka_unit_test(query_by_pod_reads_every_batch_of_a_wrapped_ring),
		cmocka_unit_test(query_by_pod_while_endpoints_come_and_go),
		cmocka_unit_test(store_refuses_zero_capacity),
		cmocka_unit_test(empty_store_answers_nothing),
		cmocka_unit_test(query_number_takes_newest_or_first),
		cmocka_unit_test(query_since_until_are_inclusive),
		cmocka_unit_test(query_applies_filters_before_number),
		cmocka_unit_test(follower_receives_records_added_after_it),
		cmocka_unit_test(follower_gets_only_matching_records),
		cmocka_unit_test(slow_follower_loses_oldest_and_counts),
		cmocka_unit_test(follower_free_puts_its_queue),
		cmocka_unit_test(resize_keeps_the_newest_records),
		cmocka_unit_test(notes_reach_followers_past_their_filters),
		cmocka_unit_test(unread_notes_are_bounded_and_counted),
		cmocka_unit_test(writer_never_waits_for_a_slow_follower),
		cmocka_unit_test(close_wakes_waiting_followers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
