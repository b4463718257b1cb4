// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The direct JSON writer against jansson: UTF-8 judged and strings escaped the
 * same way for every byte and for random byte strings, and flow records
 * written by weir_flow_record_write_json() byte for byte what
 * json_dumps(weir_flow_record_to_json(), JSON_COMPACT) writes, for thousands of
 * random records that set every optional field and odd strings (quotes,
 * controls, UTF-8, bytes that are not UTF-8).
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
#include "json_writer.h"
#include "random_record.h"

#define RECORDS 20000

/* What the jansson encoder writes for r, or NULL when it cannot (it cannot
 * be asked about the text then: the writer must still produce valid JSON).
 */
static char *jansson_text(const struct weir_flow_record *r)
{
	json_t *j = weir_flow_record_to_json(r);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return text;
}

static void writes_records_as_jansson_does(void **state)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	size_t i, start;
	int compared = 0;

	(void)state;
	weir_json_lit(&b, "[");
	for (i = 0; i < RECORDS; i++) {
		struct weir_flow_record *r = random_record();
		char *want = jansson_text(r);

		start = b.len;
		assert_int_equal(weir_flow_record_write_json(r, &b), 0);
		assert_non_null(want);
		if (strcmp(want, b.data + start) != 0) {
			fprintf(stderr, "# record %zu\n# want %s\n# got  %s\n", i, want,
				b.data + start);
			fail();
		}
		compared++;
		free(want);
		weir_flow_record_put(r);
		/* the buffer keeps growing, then starts over: appends at any offset */
		if (b.len > (1 << 20))
			weir_json_buf_reset(&b);
	}
	assert_int_equal(compared, RECORDS);
	weir_json_buf_release(&b);
}

/* Every record written is JSON jansson reads back to the same text. */
static void writes_json_that_reads_back(void **state)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	json_error_t jerr;
	size_t i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		struct weir_flow_record *r = random_record();
		json_t *j;
		char *again;

		weir_json_buf_reset(&b);
		assert_int_equal(weir_flow_record_write_json(r, &b), 0);
		j = json_loadb(b.data, b.len, 0, &jerr);
		assert_non_null(j);
		again = json_dumps(j, JSON_COMPACT);
		assert_string_equal(again, b.data);
		free(again);
		json_decref(j);
		weir_flow_record_put(r);
	}
	weir_json_buf_release(&b);
}

/* One byte, and random byte strings: valid for one exactly when valid for
 * the other, and escaped the same.
 */
static void judges_and_escapes_strings_as_jansson_does(void **state)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	char s[16];
	size_t i, n, k;

	(void)state;
	for (i = 0; i < 200000; i++) {
		json_t *j;
		char *want;

		n = i < 256 ? 1 : 1 + rnd_below(sizeof(s));
		for (k = 0; k < n; k++)
			s[k] = (char)(i < 256 ? i : rnd_below(4) ? 0x80 + rnd_below(0x80) : rnd());
		j = json_stringn(s, n);
		assert_int_equal(weir_json_utf8_valid(s, n), j != NULL);
		if (!j)
			continue;
		want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
		weir_json_buf_reset(&b);
		weir_json_str(&b, s, n);
		assert_non_null(want);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
		free(want);
		json_decref(j);
	}
	weir_json_buf_release(&b);
}

static void writes_integers(void **state)
{
	static const int64_t v[] = { 0, 1, -1, 9, 10, 99, 100, INT64_MAX, INT64_MIN, -4200 };
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	char want[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		weir_json_buf_reset(&b);
		weir_json_i64(&b, v[i]);
		snprintf(want, sizeof(want), "%lld", (long long)v[i]);
		assert_string_equal(b.data, want);
	}
	weir_json_buf_reset(&b);
	weir_json_u64(&b, UINT64_MAX);
	assert_string_equal(b.data, "18446744073709551615");
	weir_json_buf_release(&b);
}

static void steals_the_text(void **state)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	size_t len = 0;
	char *text;

	(void)state;
	text = weir_json_buf_steal(&b, &len);
	assert_non_null(text);
	assert_string_equal(text, "");
	free(text);
	weir_json_lit(&b, "[1,2]");
	text = weir_json_buf_steal(&b, &len);
	assert_string_equal(text, "[1,2]");
	assert_int_equal(len, 5);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writes_records_as_jansson_does),
		cmocka_unit_test(writes_json_that_reads_back),
		cmocka_unit_test(judges_and_escapes_strings_as_jansson_does),
		cmocka_unit_test(writes_integers),
		cmocka_unit_test(steals_the_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
