// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A relay peer's state machine and its backoff, on a made-up clock and a
 * made-up random source: transitions, the events clients hear, retry delays,
 * invalid lines, flows per second and the node's status.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "backoff.h"
#include "peer.h"

#define S  1000000000ULL
#define MS 1000000ULL

/* A random source that returns what the test says. */
static uint64_t fixed_rand(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void backoff_doubles_up_to_max(void **state)
{
	static const uint64_t want_s[] = { 1, 2, 4, 8, 16, 30, 30, 30 };
	uint64_t zero = 0;
	struct weir_backoff b;
	size_t i;

	(void)state;
	weir_backoff_init(&b, S, 30 * S, fixed_rand, &zero);
	for (i = 0; i < sizeof(want_s) / sizeof(want_s[0]); i++)
		assert_int_equal(weir_backoff_next(&b), want_s[i] * S);
	weir_backoff_reset(&b);
	assert_int_equal(weir_backoff_next(&b), S);
}

/* Jitter cuts up to a quarter: never more, never above the delay. */
static void backoff_jitter_stays_within_a_quarter(void **state)
{
	uint64_t r = 250 * MS; /* 250 ms mod (1 s / 4 + 1) is 250 ms: the largest cut */
	struct weir_backoff b;
	uint64_t seed = 42, d;
	unsigned int i, j;

	(void)state;
	weir_backoff_init(&b, S, 30 * S, fixed_rand, &r);
	assert_int_equal(weir_backoff_next(&b), 750 * MS);
	for (j = 0; j < 100; j++) {
		weir_backoff_init(&b, S, 30 * S, weir_rand_xorshift, &seed);
		for (i = 0; i < 10; i++) {
			uint64_t full = i < 5 ? S << i : 30 * S;

			d = weir_backoff_next(&b);
			assert_true(d <= full);
			assert_true(d >= full - full / 4);
		}
	}
}

/* Huge failure counts neither overflow nor pass max. */
static void backoff_never_overflows(void **state)
{
	uint64_t zero = 0;
	struct weir_backoff b;
	int i;

	(void)state;
	weir_backoff_init(&b, 1, UINT64_MAX / 2, fixed_rand, &zero);
	for (i = 0; i < 200; i++)
		assert_true(weir_backoff_next(&b) <= UINT64_MAX / 2);
	weir_backoff_init(&b, 0, 0, fixed_rand, &zero);
	assert_int_equal(weir_backoff_next(&b), WEIR_BACKOFF_MIN_NS_DEFAULT);
}

static void peer_new(struct weir_peer *p, uint64_t *rand_value)
{
	struct weir_backoff b;

	weir_backoff_init(&b, S, 30 * S, fixed_rand, rand_value);
	assert_int_equal(weir_peer_init(p, "10.0.0.1:4244", false, &b, 3), 0);
}

static void peer_connects_fails_and_retries(void **state)
{
	uint64_t zero = 0, now = 100 * S;
	struct weir_peer_event ev;
	struct weir_peer p;

	(void)state;
	peer_new(&p, &zero);
	assert_int_equal(p.state, WEIR_PEER_CONNECTING);
	assert_int_equal(p.node_state, WEIR_NODE_UNAVAILABLE);
	assert_string_equal(p.name, "10.0.0.1:4244");
	assert_false(weir_peer_due(&p, now)); /* connecting, not waiting */

	ev = weir_peer_connected(&p, now);
	assert_int_equal(ev.state, WEIR_NODE_CONNECTED);
	assert_int_equal(p.state, WEIR_PEER_CONNECTED);
	assert_int_equal(p.connected_since_ns, now);
	assert_int_equal(p.connects, 1);

	/* The node goes away: unavailable, first retry after 1 s. */
	now += 10 * S;
	ev = weir_peer_failed(&p, false, "connection refused", now);
	assert_int_equal(ev.state, WEIR_NODE_UNAVAILABLE);
	assert_string_equal(ev.message, "connection refused");
	assert_int_equal(p.state, WEIR_PEER_UNAVAILABLE);
	assert_int_equal(p.connected_since_ns, 0);
	assert_false(weir_peer_due(&p, now + S - 1));
	assert_true(weir_peer_due(&p, now + S));

	/* The retry fails the same way: no news, the delay doubles. */
	now += S;
	weir_peer_attempt(&p, now);
	assert_int_equal(p.state, WEIR_PEER_CONNECTING);
	assert_int_equal(p.node_state, WEIR_NODE_UNAVAILABLE); /* as announced */
	ev = weir_peer_failed(&p, false, "connection refused", now);
	assert_int_equal(ev.state, WEIR_NODE_UNKNOWN);
	assert_int_equal(p.next_attempt_ns, now + 2 * S);

	/* Back: connected again; a healthy status resets the backoff. */
	now += 2 * S;
	weir_peer_attempt(&p, now);
	ev = weir_peer_connected(&p, now);
	assert_int_equal(ev.state, WEIR_NODE_CONNECTED);
	weir_peer_healthy(&p);
	ev = weir_peer_failed(&p, false, "stream ended", now);
	assert_int_equal(ev.state, WEIR_NODE_UNAVAILABLE);
	assert_int_equal(p.next_attempt_ns, now + S);
	assert_int_equal(p.failures, 3);
	weir_peer_release(&p);
}

/* Without a healthy status in between, reconnects keep backing off. */
static void flapping_peer_keeps_backing_off(void **state)
{
	uint64_t zero = 0, now = 0;
	struct weir_peer p;
	int i;

	(void)state;
	peer_new(&p, &zero);
	for (i = 0; i < 6; i++) {
		weir_peer_attempt(&p, now);
		weir_peer_connected(&p, now);
		weir_peer_failed(&p, false, "stream ended", now);
		now = p.next_attempt_ns;
	}
	assert_int_equal(now, (1 + 2 + 4 + 8 + 16 + 30) * S);
	weir_peer_release(&p);
}

static void errors_are_news_when_their_message_changes(void **state)
{
	uint64_t zero = 0, now = 0;
	struct weir_peer_event ev;
	struct weir_peer p;

	(void)state;
	peer_new(&p, &zero);
	ev = weir_peer_failed(&p, true, "status: HTTP 404", now);
	assert_int_equal(ev.state, WEIR_NODE_ERROR);
	assert_int_equal(p.state, WEIR_PEER_ERROR);
	assert_string_equal(p.last_error, "status: HTTP 404");
	weir_peer_attempt(&p, p.next_attempt_ns);
	ev = weir_peer_failed(&p, true, "status: HTTP 404", now);
	assert_int_equal(ev.state, WEIR_NODE_UNKNOWN);
	weir_peer_attempt(&p, p.next_attempt_ns);
	ev = weir_peer_failed(&p, true, "a line over 1048576 bytes", now);
	assert_int_equal(ev.state, WEIR_NODE_ERROR);
	assert_string_equal(ev.message, "a line over 1048576 bytes");
	/* From error to unavailable is news too. */
	weir_peer_attempt(&p, p.next_attempt_ns);
	ev = weir_peer_failed(&p, false, "connection refused", now);
	assert_int_equal(ev.state, WEIR_NODE_UNAVAILABLE);
	weir_peer_release(&p);
}

static void bad_lines_reach_the_threshold_per_connection(void **state)
{
	uint64_t zero = 0;
	struct weir_peer p;

	(void)state;
	peer_new(&p, &zero); /* 3 bad lines per connection */
	weir_peer_connected(&p, 0);
	assert_false(weir_peer_bad_line(&p, 1));
	assert_false(weir_peer_bad_line(&p, 2));
	assert_true(weir_peer_bad_line(&p, 3));
	assert_int_equal(p.parse_errors, 3);
	assert_int_equal(p.last_contact_ns, 3);
	weir_peer_failed(&p, true, "3 invalid lines", 3);
	/* A new connection starts from zero; the total carries on. */
	weir_peer_attempt(&p, p.next_attempt_ns);
	weir_peer_connected(&p, p.next_attempt_ns);
	assert_false(weir_peer_bad_line(&p, p.next_attempt_ns));
	assert_int_equal(p.parse_errors, 4);
	weir_peer_release(&p);
}

static void flows_per_second_over_the_last_ten_seconds(void **state)
{
	uint64_t zero = 0, t;
	struct weir_peer p;
	int i;

	(void)state;
	peer_new(&p, &zero);
	weir_peer_connected(&p, 1000 * S);
	/* 5 records a second for 20 s. */
	for (t = 1000; t < 1020; t++)
		for (i = 0; i < 5; i++)
			weir_peer_record(&p, t * S, t * S + (uint64_t)i * 100 * MS);
	assert_true(weir_peer_flows_per_second(&p, 1020 * S) == 5.0);
	assert_int_equal(p.flows_seen, 100);
	assert_int_equal(p.last_record_real_ns, 1019 * S);
	/* Quiet for 4 s: 6 of the last 10 s had records. */
	assert_true(weir_peer_flows_per_second(&p, 1024 * S) == 3.0);
	/* Quiet for a minute: nothing. */
	assert_true(weir_peer_flows_per_second(&p, 1080 * S) == 0.0);
	weir_peer_record(&p, 1080 * S, 1080 * S);
	assert_true(weir_peer_flows_per_second(&p, 1081 * S) == 0.1);
	weir_peer_release(&p);
}

static void status_names_the_node(void **state)
{
	uint64_t zero = 0;
	struct weir_peer p;
	json_t *j;

	(void)state;
	peer_new(&p, &zero);
	j = json_loads(
		"{\"node_name\": \"node-b\", \"num_flows\": 7, \"max_flows\": 65535,"
		" \"seen_flows\": 9, \"lost_events\": 2, \"uptime_ns\": 5, \"version\": \"dev\"}",
		0, NULL);
	assert_non_null(j);
	assert_int_equal(weir_peer_status(&p, j, 42), 0);
	json_decref(j);
	assert_string_equal(p.name, "node-b");
	assert_int_equal(p.node.num_flows, 7);
	assert_int_equal(p.node.max_flows, 65535);
	assert_int_equal(p.node.seen_flows, 9);
	assert_int_equal(p.node.lost_events, 2);
	assert_string_equal(p.node.version, "dev");
	assert_int_equal(p.last_contact_ns, 42);
	/* No name, or a bad figure: the name stays, the figure is 0. */
	j = json_loads("{\"num_flows\": -1, \"node_name\": \"\"}", 0, NULL);
	assert_int_equal(weir_peer_status(&p, j, 43), 0);
	json_decref(j);
	assert_string_equal(p.name, "node-b");
	assert_int_equal(p.node.num_flows, 0);
	j = json_loads("[1]", 0, NULL);
	assert_int_equal(weir_peer_status(&p, j, 44), -EINVAL);
	json_decref(j);
	weir_peer_release(&p);
}

static void state_names_are_hubbles(void **state)
{
	(void)state;
	assert_string_equal(weir_node_state_name(WEIR_NODE_CONNECTED), "NODE_CONNECTED");
	assert_string_equal(weir_node_state_name(WEIR_NODE_UNAVAILABLE), "NODE_UNAVAILABLE");
	assert_string_equal(weir_node_state_name(WEIR_NODE_GONE), "NODE_GONE");
	assert_string_equal(weir_node_state_name(WEIR_NODE_ERROR), "NODE_ERROR");
	assert_string_equal(weir_peer_state_name(WEIR_PEER_CONNECTING), "connecting");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_doubles_up_to_max),
		cmocka_unit_test(backoff_jitter_stays_within_a_quarter),
		cmocka_unit_test(backoff_never_overflows),
		cmocka_unit_test(peer_connects_fails_and_retries),
		cmocka_unit_test(flapping_peer_keeps_backing_off),
		cmocka_unit_test(errors_are_news_when_their_message_changes),
		cmocka_unit_test(bad_lines_reach_the_threshold_per_connection),
		cmocka_unit_test(flows_per_second_over_the_last_ten_seconds),
		cmocka_unit_test(status_names_the_node),
		cmocka_unit_test(state_names_are_hubbles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
