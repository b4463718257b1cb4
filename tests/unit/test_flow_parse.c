// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The fast flow-line parser against the general decoder (json_loadb() and
 * weir_flow_record_from_json()): every line it takes decodes to the same
 * record, for random records of every shape and for random mutations of
 * them (bytes flipped, cut, inserted, duplicated, lines truncated); what it
 * gives up on includes what the general path rejects; the lines agents write
 * take the fast path; endpoints shared through the cache decode the same.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <jansson.h>
#include "flow.h"
#include "flow_parse.h"
#include "json_writer.h"
#include "random_record.h"

#define RECORDS	  20000
#define MUTATIONS 120000

/* The general path: 0 and *out, or an error. */
static int general(const char *line, size_t len, struct weir_flow_record **out)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	char err[256];
	int rc;

	*out = NULL;
	if (!j)
		return -EINVAL;
	rc = json_is_object(j) && json_object_get(j, "flow") ?
		     weir_flow_record_from_json(j, out, err, sizeof(err)) :
		     -EINVAL;
	json_decref(j);
	return rc;
}

/* Two records are the same when they write the same JSON (every decoded
 * field is written) and are world endpoints alike.
 */
static void assert_same(const struct weir_flow_record *a, const struct weir_flow_record *b,
			const char *line, size_t len)
{
	struct weir_json_buf x = WEIR_JSON_BUF_INIT, y = WEIR_JSON_BUF_INIT;

	if (!a || !b) {
		fail();
		return;
	}
	assert_int_equal(weir_flow_record_write_json(a, &x), 0);
	assert_int_equal(weir_flow_record_write_json(b, &y), 0);
	if (strcmp(x.data, y.data) != 0) {
		fprintf(stderr, "# line %.*s\n# fast    %s\n# general %s\n", (int)len, line, x.data,
			y.data);
		fail();
	}
	assert_int_equal(a->src == weir_endpoint_world(), b->src == weir_endpoint_world());
	assert_int_equal(a->dst == weir_endpoint_world(), b->dst == weir_endpoint_world());
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->time_ns, b->time_ns);
	weir_json_buf_release(&x);
	weir_json_buf_release(&y);
}

/* Returns whether the fast path took the line. */
static bool compare(const char *line, size_t len, struct weir_endpoint_cache *cache)
{
	struct weir_flow_record *f = NULL, *g = NULL;
	int rf, rg;

	rf = weir_flow_record_parse_line(line, len, cache, &f);
	assert_true(rf == 0 || rf == -EAGAIN);
	if (rf)
		return false;
	rg = general(line, len, &g);
	if (rg) {
		fprintf(stderr, "# the fast path took a line the general one refuses: %.*s\n",
			(int)len, line);
		fail();
	}
	assert_non_null(g);
	assert_same(f, g, line, len);
	weir_flow_record_put(f);
	weir_flow_record_put(g);
	return true;
}

static char *line_of(const struct weir_flow_record *r, size_t *len)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;

	assert_int_equal(weir_flow_record_write_json(r, &b), 0);
	return weir_json_buf_steal(&b, len);
}

static void takes_weirs_own_lines_and_decodes_them_the_same(void **state)
{
	struct weir_endpoint_cache *cache;
	int i, fast = 0, plain = 0, plain_fast = 0;

	(void)state;
	rr_plain = false;
	assert_int_equal(weir_endpoint_cache_new(&cache), 0);
	for (i = 0; i < RECORDS; i++) {
		struct weir_flow_record *r = random_record();
		size_t len;
		char *line = line_of(r, &len);
		bool escapes = strchr(line, '\\') != NULL, took;

		took = compare(line, len, i % 2 ? cache : NULL);
		fast += took;
		/* a line with no escape is one the fast path takes, unless a
		 * counter past INT64_MAX went out as a string, or the name has
		 * no room for its NUL (which the general path refuses too)
		 */
		if (!escapes && strnlen(r->ifname, sizeof(r->ifname)) < sizeof(r->ifname) &&
		    r->packets <= INT64_MAX && r->bytes <= INT64_MAX &&
		    r->reply_packets <= INT64_MAX && r->reply_bytes <= INT64_MAX) {
			plain++;
			plain_fast += took;
			if (!took)
				fprintf(stderr, "# not taken: %s\n", line);
		}
		/* the same line again through the cache: the same record */
		assert_int_equal(compare(line, len, cache), took);
		free(line);
		weir_flow_record_put(r);
	}
	printf("# %d of %d random lines took the fast path; %d of %d plain ones\n", fast, RECORDS,
	       plain_fast, plain);
	assert_int_equal(plain_fast, plain);
	assert_true(plain > RECORDS / 40);
	weir_endpoint_cache_free(cache);
}

/* Bytes that make JSON and break it. */
static const char alphabet[] = "{}[]:,\" \\\n\t0123456789-.eEtruefalsn\x01\x7f\xc3\xa9\xff/aZ";

static size_t mutate(char *buf, size_t len, size_t cap)
{
	size_t pos = len ? rnd_below(len) : 0, n;

	switch (rnd_below(6)) {
	case 0: /* a byte changed */
		if (len)
			buf[pos] = alphabet[rnd_below(sizeof(alphabet) - 1)];
		return len;
	case 1: /* bytes cut out */
		n = 1 + rnd_below(8);
		if (pos + n > len)
			n = len - pos;
		memmove(buf + pos, buf + pos + n, len - pos - n);
		return len - n;
	case 2: /* a byte inserted */
		if (len + 1 > cap)
			return len;
		memmove(buf + pos + 1, buf + pos, len - pos);
		buf[pos] = alphabet[rnd_below(sizeof(alphabet) - 1)];
		return len + 1;
	case 3: /* truncated */
		return pos;
	case 4: /* a piece repeated (duplicate keys, among others) */
		n = 1 + rnd_below(40);
		if (pos + n > len)
			n = len - pos;
		if (len + n > cap)
			return len;
		memmove(buf + pos + n, buf + pos, len - pos);
		return len + n;
	default: /* a digit bumped: numbers out of range, other enum codes */
		for (; pos < len; pos++)
			if (buf[pos] >= '0' && buf[pos] <= '9') {
				buf[pos] = (char)('0' + rnd_below(10));
				break;
			}
		return len;
	}
}

static void mutations_never_decode_differently(void **state)
{
	struct weir_endpoint_cache *cache;
	int i, k, taken = 0, refused = 0;
	char buf[8192];

	(void)state;
	assert_int_equal(weir_endpoint_cache_new(&cache), 0);
	for (i = 0; i < MUTATIONS / 4; i++) {
		struct weir_flow_record *r, *g;

		/* mostly lines the fast path takes as they are: its own mistakes */
		rr_plain = i % 4 != 0;
		r = random_record();
		size_t len;
		char *line = line_of(r, &len);

		weir_flow_record_put(r);
		if (len > sizeof(buf) / 2) {
			free(line);
			continue;
		}
		for (k = 0; k < 4; k++) {
			size_t n = len;
			int m, rounds = 1 + (int)rnd_below(3);

			memcpy(buf, line, len);
			for (m = 0; m < rounds; m++)
				n = mutate(buf, n, sizeof(buf));
			if (compare(buf, n, k % 2 ? cache : NULL)) {
				taken++;
			} else if (general(buf, n, &g)) {
				refused++;
			} else {
				weir_flow_record_put(g);
			}
		}
		free(line);
	}
	rr_plain = false;
	printf("# %d mutated lines taken by the fast path (each decoded as the general path "
	       "does), %d refused by both\n",
	       taken, refused);
	assert_true(taken > 0 && refused > 0);
	weir_endpoint_cache_free(cache);
}

static void gives_up_on_what_is_not_a_flow(void **state)
{
	static const char *const lines[] = {
		"",
		"{}",
		"[]",
		"{\"lost_events\":{\"num_events_lost\":3}}",
		"{\"node_status\":{\"state_change\":\"NODE_CONNECTED\"}}",
		"{\"flow\":null}",
		"{\"flow\":{}} x",
		"{\"flow\":{\"uuid\":\"nope\"}}",
		"{\"flow\":{\"time\":\"yesterday\"}}",
		"{\"flow\":{},\"flow\":{}}",
		"{\"flow\":{\"IP\":{\"source\":\"10.0.0.300\"}}}",
		"{\"flow\":{\"l4\":{\"TCP\":{\"source_port\":65536}}}}",
		"{\"flow\":{\"interface\":{\"name\":\"a-name-too-long-for-ifname\"}}}",
		"{\"flow\":{\"weir\":{\"packets\":\"12\"}}}",
		"{\"flow\":{\"verdict\":\"NOT_A_VERDICT\"}}",
		"{\"flow\":{\"node_name\":\"a\\nb\"}}",
		"{\"flow\":{\"is_reply\":truex}}",
		"{\"flow\":{\"l4\":{\"TCP\":{\"flags\":{\"syn\":true}}}}}",
	};
	struct weir_flow_record *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(weir_flow_record_parse_line(lines[i], strlen(lines[i]), NULL, &r),
				 -EAGAIN);
		assert_null(r);
	}
	/* the smallest flow, and the world endpoints the general path makes */
	assert_false(compare("{\"flow\":{}}", 11, NULL) == false);
	assert_int_equal(weir_flow_record_parse_line(" {\"flow\" : { } }\r\n", 18, NULL, &r), 0);
	assert_ptr_equal(r->src, weir_endpoint_world());
	weir_flow_record_put(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(takes_weirs_own_lines_and_decodes_them_the_same),
		cmocka_unit_test(mutations_never_decode_differently),
		cmocka_unit_test(gives_up_on_what_is_not_a_flow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
