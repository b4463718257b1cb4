// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The lines of an agent's flow stream. Splitting: lines split across reads,
 * several in one read, CRLF, empty lines, an over-long line (in one read and
 * across many), a never-ending line, a truncated last line, a callback that
 * stops. Judging: flows, lost events, node status, and garbage with a reason.
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
#include "ingest.h"
#include "linebuf.h"

struct lines {
	char v[16][64];
	size_t n;
	size_t stop_at; /* the callback fails on this line (1-based); 0: never */
};

static int collect(void *ctx, const char *line, size_t len)
{
	struct lines *l = ctx;

	assert_true(l->n < 16);
	assert_true(len < 64);
	memcpy(l->v[l->n], line, len);
	l->v[l->n][len] = '\0';
	l->n++;
	return l->n == l->stop_at ? -EPROTO : 0;
}

static int feed(struct weir_linebuf *lb, const char *s, struct lines *l)
{
	return weir_linebuf_feed(lb, s, strlen(s), collect, l);
}

static void lines_split_across_reads_come_out_whole(void **state)
{
	struct weir_linebuf lb;
	struct lines l = { 0 };

	(void)state;
	weir_linebuf_init(&lb, 64);
	assert_int_equal(feed(&lb, "{\"a\":", &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(weir_linebuf_pending(&lb), 5);
	assert_int_equal(feed(&lb, "1}\n{\"b\"", &l), 0);
	assert_int_equal(feed(&lb, ":2}\n{\"c\":3}\n{\"d\"", &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "{\"a\":1}");
	assert_string_equal(l.v[1], "{\"b\":2}");
	assert_string_equal(l.v[2], "{\"c\":3}");
	/* The end of the stream in the middle of a line: what is pending is truncated. */
	assert_int_equal(weir_linebuf_pending(&lb), 4);
	weir_linebuf_reset(&lb);
	assert_int_equal(weir_linebuf_pending(&lb), 0);
	weir_linebuf_release(&lb);
}

static void one_byte_at_a_time(void **state)
{
	const char *s = "ab\ncd\r\n\n\nef\n";
	struct weir_linebuf lb;
	struct lines l = { 0 };
	size_t i;

	(void)state;
	weir_linebuf_init(&lb, 64);
	for (i = 0; s[i]; i++)
		assert_int_equal(weir_linebuf_feed(&lb, s + i, 1, collect, &l), 0);
	assert_int_equal(l.n, 3); /* empty lines are skipped, CRLF is a newline */
	assert_string_equal(l.v[0], "ab");
	assert_string_equal(l.v[1], "cd");
	assert_string_equal(l.v[2], "ef");
	weir_linebuf_release(&lb);
}

static void a_line_of_exactly_max_bytes_is_taken(void **state)
{
	struct weir_linebuf lb;
	struct lines l = { 0 };

	(void)state;
	weir_linebuf_init(&lb, 8);
	assert_int_equal(feed(&lb, "12345678\n", &l), 0);
	assert_int_equal(feed(&lb, "1234", &l), 0);
	assert_int_equal(feed(&lb, "5678\r\n", &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1], "12345678");
	weir_linebuf_release(&lb);
}

static void over_long_lines_are_refused(void **state)
{
	struct weir_linebuf lb;
	struct lines l = { 0 };

	(void)state;
	weir_linebuf_init(&lb, 8);
	/* Whole in one read. */
	assert_int_equal(feed(&lb, "ok\n123456789\nnever\n", &l), -EMSGSIZE);
	assert_int_equal(l.n, 1);
	assert_int_equal(weir_linebuf_pending(&lb), 0);
	/* Across reads. */
	assert_int_equal(feed(&lb, "12345", &l), 0);
	assert_int_equal(feed(&lb, "6789\n", &l), -EMSGSIZE);
	assert_int_equal(weir_linebuf_pending(&lb), 0);
	/* The buffer starts clean after an error. */
	assert_int_equal(feed(&lb, "ab\n", &l), 0);
	assert_string_equal(l.v[1], "ab");
	weir_linebuf_release(&lb);
}

/* A line that never ends is refused once it passes the bound, and the buffer
 * never grows past it.
 */
static void a_never_ending_line_stops_at_the_bound(void **state)
{
	char chunk[1000];
	struct weir_linebuf lb;
	struct lines l = { 0 };
	int i, rc = 0;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	weir_linebuf_init(&lb, 100000);
	for (i = 0; i < 1000 && !rc; i++) {
		rc = weir_linebuf_feed(&lb, chunk, sizeof(chunk), collect, &l);
		assert_true(lb.cap <= 100001);
	}
	assert_int_equal(rc, -EMSGSIZE);
	assert_int_equal(i, 101); /* the 101st kilobyte passes 100000 bytes */
	assert_int_equal(l.n, 0);
	weir_linebuf_release(&lb);
}

static void the_callback_can_stop_the_feed(void **state)
{
	struct weir_linebuf lb;
	struct lines l = { .stop_at = 2 };

	(void)state;
	weir_linebuf_init(&lb, 64);
	assert_int_equal(feed(&lb, "a\nb\nc\nd", &l), -EPROTO);
	assert_int_equal(l.n, 2);
	assert_int_equal(weir_linebuf_pending(&lb), 0); /* the rest is dropped */
	weir_linebuf_release(&lb);
}

/* Garbage is the parser's business: bytes of any value go through whole. */
static void binary_garbage_is_split_not_judged(void **state)
{
	static const char garbage[] = { 'x', 0, (char)0xff, '\n', (char)0x80, '{', '\n' };
	struct weir_linebuf lb;
	struct lines l = { 0 };

	(void)state;
	weir_linebuf_init(&lb, 64);
	assert_int_equal(weir_linebuf_feed(&lb, garbage, sizeof(garbage), collect, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal((unsigned char)l.v[0][2], 0xff);
	assert_int_equal((unsigned char)l.v[1][0], 0x80);
	weir_linebuf_release(&lb);
}

static enum weir_line_kind judge(const char *line, struct weir_flow_record **r, char *err,
				 size_t err_len)
{
	uint64_t n_lost;
	json_t *obj;
	enum weir_line_kind k;

	k = weir_line_parse(line, strlen(line), r, &obj, &n_lost, err, err_len);
	json_decref(obj);
	return k;
}

static void flow_lines_become_records(void **state)
{
	const char *line = "{\"flow\": {\"time\": \"2026-08-05T10:12:18.5Z\", \"verdict\": "
			   "\"FORWARDED\", \"IP\": {\"source\": \"10.0.0.1\", \"destination\": "
			   "\"10.0.0.2\", \"ipVersion\": \"IPv4\"}}, \"node_name\": \"node-b\"}";
	struct weir_flow_record *r;
	char err[160];

	(void)state;
	assert_int_equal(judge(line, &r, err, sizeof(err)), WEIR_LINE_FLOW);
	assert_non_null(r);
	assert_string_equal(r->node_name, "node-b");
	assert_int_equal(r->time_ns, 1785924738500000000ULL);
	weir_flow_record_put(r);
}

static void lost_events_and_node_status_are_not_flows(void **state)
{
	const char *lost = "{\"lost_events\": {\"source\": \"OBSERVER_EVENTS_QUEUE\", "
			   "\"num_events_lost\": 12}, \"node_name\": \"n\"}";
	struct weir_flow_record *r;
	uint64_t n_lost;
	char err[160];
	json_t *obj;

	(void)state;
	assert_int_equal(weir_line_parse(lost, strlen(lost), &r, &obj, &n_lost, err, sizeof(err)),
			 WEIR_LINE_LOST);
	assert_null(r);
	assert_int_equal(n_lost, 12);
	assert_non_null(json_object_get(obj, "lost_events"));
	json_decref(obj);
	assert_int_equal(judge("{\"node_status\": {\"state_change\": \"NODE_CONNECTED\"}}", &r, err,
			       sizeof(err)),
			 WEIR_LINE_STATUS);
}

static void garbage_lines_are_bad_with_a_reason(void **state)
{
	static const char *const garbage[] = {
		"{\"flow\": {\"time\": \"2026-08-05T10:1", /* truncated */
		"not json at all",
		"[1, 2, 3]",
		"{\"hello\": \"world\"}",
		"{\"flow\": \"a string\"}",
		"{\"flow\": {\"time\": \"yesterday\"}}",
		"{\"lost_events\": {\"num_events_lost\": -3}}",
		"\"flow\"",
	};
	struct weir_flow_record *r;
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		err[0] = '\0';
		assert_int_equal(judge(garbage[i], &r, err, sizeof(err)), WEIR_LINE_BAD);
		assert_null(r);
		assert_true(strlen(err) > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_split_across_reads_come_out_whole),
		cmocka_unit_test(one_byte_at_a_time),
		cmocka_unit_test(a_line_of_exactly_max_bytes_is_taken),
		cmocka_unit_test(over_long_lines_are_refused),
		cmocka_unit_test(a_never_ending_line_stops_at_the_bound),
		cmocka_unit_test(the_callback_can_stop_the_feed),
		cmocka_unit_test(binary_garbage_is_split_not_judged),
		cmocka_unit_test(flow_lines_become_records),
		cmocka_unit_test(lost_events_and_node_status_are_not_flows),
		cmocka_unit_test(garbage_lines_are_bad_with_a_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
