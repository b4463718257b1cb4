// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Names and texts of the datapath's lists, from the X-macros in include/weir/. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "names.h"

struct reason_desc {
	unsigned int code;
	const char *name;
	const char *text;
};

/* clang-format off */
#define REASON_DESC(n, c, t) { .code = c, .name = #n, .text = t }, /* NOLINT(bugprone-macro-parentheses) */
static const struct reason_desc reasons[] = {
	WEIR_FWD_REASONS(REASON_DESC)
	WEIR_DROP_REASONS(REASON_DESC)
};
/* clang-format on */
#undef REASON_DESC

static const struct reason_desc *reason_find(unsigned int code)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return &reasons[i];
	return NULL;
}

const char *weir_reason_name(unsigned int code)
{
	const struct reason_desc *r = reason_find(code);

	return r ? r->name : NULL;
}

const char *weir_reason_text(unsigned int code)
{
	const struct reason_desc *r = reason_find(code);

	return r ? r->text : NULL;
}

int weir_reason_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(reasons[i].name, name))
			return reasons[i].code;
	return -EINVAL;
}

const char *weir_verdict_name(unsigned int verdict)
{
	/* clang-format off */
#define VERDICT_CASE(n, c) case c: return #n;
	switch (verdict) {
	WEIR_VERDICTS(VERDICT_CASE)
	}
#undef VERDICT_CASE
	/* clang-format on */
	return NULL;
}

#define COUNTER_NAME(n, t) #n,
static const char *const counter_names[] = { WEIR_COUNTERS(COUNTER_NAME) };
#undef COUNTER_NAME
#define COUNTER_TEXT(n, t) t,
static const char *const counter_texts[] = { WEIR_COUNTERS(COUNTER_TEXT) };
#undef COUNTER_TEXT

const char *weir_counter_name(unsigned int idx)
{
	return idx < WEIR_CNT_MAX ? counter_names[idx] : NULL;
}

const char *weir_counter_text(unsigned int idx)
{
	return idx < WEIR_CNT_MAX ? counter_texts[idx] : NULL;
}
