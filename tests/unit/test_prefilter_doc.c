// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The prefilter's documents (agent/prefilter_doc.c): CIDRs parsed strictly,
 * lists sorted and deduplicated, and a bad document refused with the bad
 * field named.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "prefilter_doc.h"

static char err[256];

/* The canonical text of s, or its error. */
static const char *canon(const char *s)
{
	static char out[WEIR_PF_CIDR_STRLEN + 256];
	struct weir_pf_cidr c;

	err[0] = '\0';
	if (weir_pf_cidr_parse(s, &c, err, sizeof(err)))
		snprintf(out, sizeof(out), "error: %s", err);
	else
		weir_pf_cidr_format(&c, out, sizeof(out));
	return out;
}

static void cidrs_parse_and_print_canonically(void **state)
{
	(void)state;
	assert_string_equal(canon("10.0.0.0/8"), "10.0.0.0/8");
	assert_string_equal(canon("192.0.2.7"), "192.0.2.7/32");
	assert_string_equal(canon("0.0.0.0/0"), "0.0.0.0/0");
	assert_string_equal(canon("192.0.2.4/31"), "192.0.2.4/31");
	assert_string_equal(canon("2001:DB8:0:0::/64"), "2001:db8::/64");
	assert_string_equal(canon("2001:db8::7"), "2001:db8::7/128");
	assert_string_equal(canon("::/0"), "::/0");
	assert_string_equal(canon("::ffff:10.0.0.1"), "::ffff:10.0.0.1/128");
}

static void bad_cidrs_are_refused_with_a_reason(void **state)
{
	(void)state;
	assert_non_null(strstr(canon("10.0.0.1/8"), "bits set past its prefix length"));
	assert_non_null(strstr(canon("192.0.2.5/31"), "bits set past its prefix length"));
	assert_non_null(strstr(canon("2001:db8::1/64"), "bits set past its prefix length"));
	assert_non_null(strstr(canon("10.0.0.0/33"), "prefix length must be 0 to 32"));
	assert_non_null(strstr(canon("::/129"), "prefix length must be 0 to 128"));
	assert_non_null(strstr(canon("10.0.0.0/"), "prefix length"));
	assert_non_null(strstr(canon("10.0.0.0/-1"), "prefix length"));
	assert_non_null(strstr(canon("10.0.0.0/8x"), "prefix length"));
	assert_non_null(strstr(canon("10.0.0.0/ 8"), "prefix length"));
	assert_non_null(strstr(canon("300.0.0.0/8"), "not an IPv4 or IPv6 address"));
	assert_non_null(strstr(canon("10.0.0/8"), "not an IPv4 or IPv6 address"));
	assert_non_null(strstr(canon("example.com"), "not an IPv4 or IPv6 address"));
	assert_non_null(strstr(canon(""), "not an address or CIDR"));
	assert_non_null(strstr(canon("/8"), "not an address or CIDR"));
}

/* doc parsed as a PUT document; 0 and the list, or the error. */
static int put(const char *text, struct weir_pf_list *l, int64_t *rev)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	int ret;

	assert_non_null(doc);
	memset(l, 0, sizeof(*l));
	err[0] = '\0';
	ret = weir_pf_doc_parse(doc, l, rev, err, sizeof(err));
	json_decref(doc);
	return ret;
}

static void put_document_is_sorted_and_deduplicated(void **state)
{
	struct weir_pf_list l;
	char s[WEIR_PF_CIDR_STRLEN];
	int64_t rev;

	(void)state;
	assert_int_equal(put("{\"deny\": [\"2001:db8::/32\", \"10.0.0.0/8\", \"192.0.2.7\", "
			     "\"10.0.0.0/8\", \"10.0.0.0/16\"]}",
			     &l, &rev),
			 0);
	assert_int_equal(rev, -1);
	assert_int_equal(l.n, 4);
	weir_pf_cidr_format(&l.v[0], s, sizeof(s));
	assert_string_equal(s, "10.0.0.0/8");
	weir_pf_cidr_format(&l.v[1], s, sizeof(s));
	assert_string_equal(s, "10.0.0.0/16");
	weir_pf_cidr_format(&l.v[3], s, sizeof(s));
	assert_string_equal(s, "2001:db8::/32");
	assert_true(weir_pf_list_find(&l, &l.v[2]) == 2);
	weir_pf_list_release(&l);

	assert_int_equal(put("{\"deny\": [], \"revision\": 7, \"hits\": []}", &l, &rev), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(rev, 7);
}

static void bad_put_documents_name_the_field(void **state)
{
	struct weir_pf_list l;
	int64_t rev;

	(void)state;
	assert_int_equal(put("{\"deny\": [\"10.0.0.0/8\", \"10.0.0.1/8\"]}", &l, &rev), -EINVAL);
	assert_non_null(strstr(err, "deny[1]: \"10.0.0.1/8\" has bits set"));
	assert_null(l.v); /* nothing kept */
	assert_int_equal(put("{\"deny\": [\"10.0.0.0/8\", 7]}", &l, &rev), -EINVAL);
	assert_string_equal(err, "deny[1]: expected a CIDR string");
	assert_int_equal(put("{\"deny\": \"10.0.0.0/8\"}", &l, &rev), -EINVAL);
	assert_string_equal(err, "deny: expected an array of CIDR strings");
	assert_int_equal(put("{}", &l, &rev), -EINVAL);
	assert_string_equal(err, "deny: expected an array of CIDR strings");
	assert_int_equal(put("{\"deny\": [], \"allow\": []}", &l, &rev), -EINVAL);
	assert_string_equal(err, "allow: unknown field");
	assert_int_equal(put("{\"deny\": [], \"revision\": -1}", &l, &rev), -EINVAL);
	assert_non_null(strstr(err, "revision: expected an integer"));
	assert_int_equal(put("{\"deny\": [], \"revision\": \"3\"}", &l, &rev), -EINVAL);
	assert_non_null(strstr(err, "revision:"));
	assert_int_equal(put("[\"10.0.0.0/8\"]", &l, &rev), -EINVAL);
	assert_non_null(strstr(err, "expected a JSON object"));
}

static int patch(const char *text, struct weir_pf_list *a, struct weir_pf_list *d)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	int64_t rev;
	int ret;

	assert_non_null(doc);
	memset(a, 0, sizeof(*a));
	memset(d, 0, sizeof(*d));
	err[0] = '\0';
	ret = weir_pf_patch_parse(doc, a, d, &rev, err, sizeof(err));
	json_decref(doc);
	return ret;
}

static void patch_documents(void **state)
{
	struct weir_pf_list a, d;

	(void)state;
	assert_int_equal(patch("{\"add\": [\"10.0.0.0/8\"], \"delete\": [\"::1\"]}", &a, &d), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].family, 6);
	weir_pf_list_release(&a);
	weir_pf_list_release(&d);
	assert_int_equal(patch("{\"delete\": [\"192.0.2.1\"]}", &a, &d), 0);
	assert_int_equal(a.n, 0);
	weir_pf_list_release(&d);

	assert_int_equal(patch("{}", &a, &d), -EINVAL);
	assert_string_equal(err, "add, delete: neither is given");
	assert_int_equal(patch("{\"add\": [\"10.0.0.0/8\"], \"delete\": [\"x\"]}", &a, &d),
			 -EINVAL);
	assert_non_null(strstr(err, "delete[0]: \"x\" is not"));
	assert_null(a.v); /* refused whole */
	assert_int_equal(patch("{\"add\": [], \"deny\": []}", &a, &d), -EINVAL);
	assert_string_equal(err, "deny: unknown field");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cidrs_parse_and_print_canonically),
		cmocka_unit_test(bad_cidrs_are_refused_with_a_reason),
		cmocka_unit_test(put_document_is_sorted_and_deduplicated),
		cmocka_unit_test(bad_put_documents_name_the_field),
		cmocka_unit_test(patch_documents),
	};

	return cmocka_run_group_tests_name("prefilter_doc", tests, NULL, NULL);
}
