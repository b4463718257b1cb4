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
				n = random_mutate(buf, n, sizeof(buf));
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

/* One field of a good line set to each of values, the rest kept: the memos
 * (times, names) and the hand-written parsers (IPv4, uuid) decode as the
 * general path, after a hit and a miss alike.
 */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GOOD_TIME    "2026-08-05T10:12:18.123456789Z"
#define GOOD_UUID    "18cadc1e-4459-88ed-8000-000000000005"

static const char *const times[] = {
	GOOD_TIME,
	"2026-08-05T10:12:18Z",
	"2026-08-05T10:12:18.5z",
	"2026-08-05T10:12:18.1234567891Z",
	"2026-08-05T10:12:18.Z",
	"2026-08-05T10:12:18.5+01:00",
	"2026-08-05T10:12:18+01:00",
	"2026-08-05T10:12:18.5Zx",
	"2026-08-05T10:12:18.5",
	"2026-08-05T10:12:18",
	"2026-08-05t10:12:18.5Z",
	"2026-08-05 10:12:18.5Z",
	"2026-08-05T10:12:19.000000001Z",
	"2026-02-30T10:12:18.5Z",
	"2026-08-05T10:12:18.-5Z",
};
static const char *const ipv4s[] = {
	"10.0.0.7", "0.0.0.0",	 "255.255.255.255", "010.0.0.1",  "10.0.0.256",
	"10.0.0",   "10.0.0.1.", "10..0.1",	    "1.2.3.4.5",  "00.0.0.1",
	".1.2.3",   "1.2.3.4 ",	 "1.2.3.-4",	    "1.2.3.1000", "::1",
	"1.2.3.a",  "0.0.0.00",	 "9.99.199.249",
};
static const char *const uuids[] = {
	GOOD_UUID,
	"18CADC1E-4459-88ED-8000-0000000000FF",
	"18cadc1e-4459-88ed-8000-ffffffffffff",
	"18cadc1e-4459-88ed-c000-000000000005",
	"18cadc1e-4459-88ed-8000-00000000000g",
	"18cadc1e-4459-88ed-8000000000000005-",
	"18cadc1e-4459-88ed-8000-00000000005",
	"18cadc1e-4459-88ed-8000-0000000000055",
	"18cadc1e44459-88ed-8000-000000000005",
};
static const char *const verdicts[] = {
	"FORWARDED", "forwarded", "DROPPED", "Dropped", "NOPE", "FORWARDED", "AUDIT", "",
};
static const char *const descs[] = {
	"POLICY_DENIED", "policy_denied", "UNKNOWN_REASON_NAME", "", "POLICY_DENIED",
};

static bool variant(struct weir_endpoint_cache *cache, const char *t, const char *uuid,
		    const char *verdict, const char *ip, const char *desc)
{
	char line[1024];
	int n;
	bool cached, plain;

	n = snprintf(line, sizeof(line),
		     "{\"flow\":{\"time\":\"%s\",\"uuid\":\"%s\",\"verdict\":\"%s\","
		     "\"IP\":{\"source\":\"%s\",\"destination\":\"10.0.0.9\"},"
		     "\"l4\":{\"TCP\":{\"source_port\":1,\"destination_port\":2}},"
		     "\"event_type\":{\"type\":1,\"sub_type\":133},\"drop_reason_desc\":\"%s\","
		     "\"weir\":{\"first_seen\":\"%s\",\"last_seen\":\"%s\"}},\"time\":\"%s\"}",
		     t, uuid, verdict, ip, desc, t, t, t);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	cached = compare(line, (size_t)n, cache);
	/* again: now from the memos */
	assert_int_equal(compare(line, (size_t)n, cache), cached);
	plain = compare(line, (size_t)n, NULL);
	assert_int_equal(cached, plain);
	return cached;
}

static void memos_and_hand_parsers_decode_as_the_general_path(void **state)
{
	struct weir_endpoint_cache *cache;
	size_t i, j;
	int taken = 0, all = 0;

	(void)state;
	assert_int_equal(weir_endpoint_cache_new(&cache), 0);
	/* the good line, taken */
	assert_true(variant(cache, GOOD_TIME, GOOD_UUID, "DROPPED", "10.0.0.7", "POLICY_DENIED"));
	for (j = 0; j < 2; j++) { /* twice: the second round hits what the first left */
		for (i = 0; i < ARRAY_LEN(times); i++, all++)
			taken += variant(cache, times[i], GOOD_UUID, "DROPPED", "10.0.0.7",
					 "POLICY_DENIED");
		for (i = 0; i < ARRAY_LEN(ipv4s); i++, all++)
			taken += variant(cache, GOOD_TIME, GOOD_UUID, "DROPPED", ipv4s[i],
					 "POLICY_DENIED");
		for (i = 0; i < ARRAY_LEN(uuids); i++, all++)
			taken += variant(cache, GOOD_TIME, uuids[i], "DROPPED", "10.0.0.7",
					 "POLICY_DENIED");
		for (i = 0; i < ARRAY_LEN(verdicts); i++, all++)
			taken += variant(cache, GOOD_TIME, GOOD_UUID, verdicts[i], "10.0.0.7",
					 "POLICY_DENIED");
		for (i = 0; i < ARRAY_LEN(descs); i++, all++)
			taken += variant(cache, GOOD_TIME, GOOD_UUID, "DROPPED", "10.0.0.7",
					 descs[i]);
	}
	printf("# %d of %d variants took the fast path\n", taken, all);
	assert_true(taken > all / 3 && taken < all);
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
		cmocka_unit_test(memos_and_hand_parsers_decode_as_the_general_path),
		cmocka_unit_test(gives_up_on_what_is_not_a_flow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
