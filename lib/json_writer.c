// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JSON text into a growable buffer: see json_writer.h. The escaping and the
 * UTF-8 rules are jansson 2.14's (dump.c, utf8.c), so that records written
 * here and records written through a json_t tree are the same bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include "json_writer.h"

#define BUF_MIN_BYTES 256

void weir_json_buf_release(struct weir_json_buf *b)
{
	free(b->data);
	*b = (struct weir_json_buf)WEIR_JSON_BUF_INIT;
}

int weir_json_buf_grow(struct weir_json_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : BUF_MIN_BYTES;
	char *p;

	if (b->err)
		return b->err;
	if (n > SIZE_MAX / 2 - b->len)
		goto nomem;
	while (cap <= b->len + n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		goto nomem;
	b->data = p;
	b->cap = cap;
	return 0;
nomem:
	b->err = -ENOMEM;
	return b->err;
}

char *weir_json_buf_steal(struct weir_json_buf *b, size_t *len)
{
	char *text = NULL;

	if (!b->err && !weir_json_buf_reserve(b, 0)) {
		b->data[b->len] = '\0';
		text = b->data;
		*len = b->len;
		*b = (struct weir_json_buf)WEIR_JSON_BUF_INIT;
		return text;
	}
	weir_json_buf_release(b);
	return NULL;
}

void weir_json_u64(struct weir_json_buf *b, uint64_t v)
{
	char tmp[20], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	weir_json_raw(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void weir_json_i64(struct weir_json_buf *b, int64_t v)
{
	if (v < 0) {
		weir_json_char(b, '-');
		weir_json_u64(b, -(uint64_t)v);
		return;
	}
	weir_json_u64(b, (uint64_t)v);
}

/* utf8_check_first(): the length of the sequence byte u starts, 0 if none. */
static size_t utf8_first(unsigned char u)
{
	if (u < 0x80)
		return 1;
	if (u < 0xc2) /* a continuation byte, or an overlong ASCII (0xc0, 0xc1) */
		return 0;
	if (u <= 0xdf)
		return 2;
	if (u <= 0xef)
		return 3;
	if (u <= 0xf4)
		return 4;
	return 0;
}

/* utf8_check_full(): whether s[0..size) is one well-formed sequence. */
static bool utf8_full(const unsigned char *s, size_t size)
{
	uint32_t v;
	size_t i;

	if (size == 2)
		v = s[0] & 0x1f;
	else if (size == 3)
		v = s[0] & 0x0f;
	else
		v = s[0] & 0x07;
	for (i = 1; i < size; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return false;
		v = (v << 6) + (s[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return false;
	return !((size == 2 && v < 0x80) || (size == 3 && v < 0x800) || (size == 4 && v < 0x10000));
}

bool weir_json_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;
	size_t k;

	while (s < end) {
		if (*s < 0x80) {
			s++;
			continue;
		}
		k = utf8_first(*s);
		if (!k || k > (size_t)(end - s) || !utf8_full(s, k))
			return false;
		s += k;
	}
	return true;
}

/* Which bytes need an escape: '"', '\\' and the controls. */
static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

void weir_json_str(struct weir_json_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, run;
	char esc[6];

	/* at most 6 bytes per byte, and the quotes */
	if (weir_json_buf_reserve(b, n + 2))
		return;
	b->data[b->len++] = '"';
	while (i < n) {
		for (run = i; run < n && !needs_escape((unsigned char)s[run]); run++)
			;
		if (run > i) {
			weir_json_raw(b, s + i, run - i);
			i = run;
			if (i == n)
				break;
		}
		switch (s[i]) {
		case '"':
			weir_json_lit(b, "\\\"");
			break;
		case '\\':
			weir_json_lit(b, "\\\\");
			break;
		case '\b':
			weir_json_lit(b, "\\b");
			break;
		case '\f':
			weir_json_lit(b, "\\f");
			break;
		case '\n':
			weir_json_lit(b, "\\n");
			break;
		case '\r':
			weir_json_lit(b, "\\r");
			break;
		case '\t':
			weir_json_lit(b, "\\t");
			break;
		default:
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[(unsigned char)s[i] >> 4];
			esc[5] = hex[(unsigned char)s[i] & 0xf];
			weir_json_raw(b, esc, sizeof(esc));
		}
		i++;
	}
	weir_json_char(b, '"');
}

void weir_json_text(struct weir_json_buf *b, const char *s, size_t n)
{
	char small[64], *copy = small;
	size_t i;

	if (weir_json_utf8_valid(s, n)) {
		weir_json_str(b, s, n);
		return;
	}
	if (n > sizeof(small)) {
		copy = malloc(n);
		if (!copy) {
			b->err = -ENOMEM;
			return;
		}
	}
	for (i = 0; i < n; i++)
		copy[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
	weir_json_str(b, copy, n);
	if (copy != small)
		free(copy);
}
