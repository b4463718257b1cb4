/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* JSON text written straight into a growable buffer, with no tree in between:
 * strings escaped as jansson's json_dumps() escapes them (so the text is the
 * same byte for byte), integers by a small formatter. For the hot paths that
 * write many records: /v1/flows answers, follow streams, exporters.
 */
#ifndef WEIR_JSON_WRITER_H
#define WEIR_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct weir_json_buf {
	char *data; /* NUL-terminated while err is 0 and cap is not 0 */
	size_t len;
	size_t cap;
	int err; /* -ENOMEM once an append failed: the text is incomplete */
};

#define WEIR_JSON_BUF_INIT \
	{                  \
		0          \
	}

void weir_json_buf_release(struct weir_json_buf *b);
/* Empties the buffer (and clears err), keeping its memory. */
static inline void weir_json_buf_reset(struct weir_json_buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->cap)
		b->data[0] = '\0';
}

/* Room for n more bytes and a NUL: 0, or -ENOMEM (also left in b->err). */
int weir_json_buf_grow(struct weir_json_buf *b, size_t n);
static inline int weir_json_buf_reserve(struct weir_json_buf *b, size_t n)
{
	if (b->err)
		return b->err;
	if (b->len + n < b->cap)
		return 0;
	return weir_json_buf_grow(b, n);
}

/* n bytes as they are (already JSON: punctuation, keys without escapes). */
static inline void weir_json_raw(struct weir_json_buf *b, const char *s, size_t n)
{
	if (weir_json_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* A string literal as it is: weir_json_lit(b, "{\"flow\":"). */
#define weir_json_lit(b, s) weir_json_raw((b), (s), sizeof(s) - 1)

static inline void weir_json_char(struct weir_json_buf *b, char c)
{
	weir_json_raw(b, &c, 1);
}

/* Integers as json_dumps() writes json_integer()s. */
void weir_json_u64(struct weir_json_buf *b, uint64_t v);
void weir_json_i64(struct weir_json_buf *b, int64_t v);
/* A quoted string: s[0..n) must be UTF-8 (weir_json_utf8_valid()); '"', '\\'
 * and control characters are escaped as jansson does ("\n", "\u001F").
 */
void weir_json_str(struct weir_json_buf *b, const char *s, size_t n);
/* As weir_json_str(), but text from outside that is not UTF-8 has each byte
 * from 0x80 on written as '?' (the whole string, as flow_json.c always did).
 */
void weir_json_text(struct weir_json_buf *b, const char *s, size_t n);
/* Whether s[0..n) is UTF-8 as jansson accepts it (no overlong forms, no
 * surrogates, nothing past U+10FFFF; NUL bytes allowed).
 */
bool weir_json_utf8_valid(const char *s, size_t n);

/* The text, handed to the caller (free() it), and the buffer emptied; NULL
 * after a failed append.
 */
char *weir_json_buf_steal(struct weir_json_buf *b, size_t *len);

#endif /* WEIR_JSON_WRITER_H */
