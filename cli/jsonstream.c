// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Top-level JSON objects out of a byte stream: brackets are counted outside
 * strings until an object closes, then jansson parses just that object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonstream.h"

void weir_jsonstream_init(struct weir_jsonstream *s, weir_jsonstream_fn fn,
			  weir_jsonstream_warn_fn warn, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->fn = fn;
	s->warn = warn;
	s->ctx = ctx;
	s->line = 1;
}

void weir_jsonstream_release(struct weir_jsonstream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = s->scan = s->start = 0;
}

/* A syntax error: strict streams end, lenient ones skip to the next line. */
static int syntax(struct weir_jsonstream *s, unsigned long line, const char *what)
{
	if (!s->warn) {
		snprintf(s->err, sizeof(s->err), "line %lu: %s", line, what);
		return -EBADMSG;
	}
	s->warn(s->ctx, line, what);
	s->depth = 0;
	s->in_string = s->escape = false;
	s->skip_line = true;
	return 0;
}

static int object_done(struct weir_jsonstream *s, size_t end)
{
	json_error_t jerr;
	json_t *obj;
	int ret;

	obj = json_loadb(s->buf + s->start, end - s->start, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		char what[200];

		snprintf(what, sizeof(what), "not JSON: %s", jerr.text);
		return syntax(s, s->start_line + (unsigned long)(jerr.line > 0 ? jerr.line - 1 : 0),
			      what);
	}
	ret = s->fn(s->ctx, obj, s->start_line);
	json_decref(obj);
	return ret;
}

/* Looks at the bytes not yet scanned. */
static int scan(struct weir_jsonstream *s)
{
	int ret;

	for (; s->scan < s->len; s->scan++) {
		char c = s->buf[s->scan];

		if (c == '\n') {
			s->line++;
			s->skip_line = false;
			if (s->in_string && s->depth) {
				ret = syntax(s, s->line - 1, "line break inside a string");
				if (ret)
					return ret;
			}
			continue;
		}
		if (s->skip_line)
			continue;
		if (s->depth) {
			if (s->in_string) {
				if (s->escape)
					s->escape = false;
				else if (c == '\\')
					s->escape = true;
				else if (c == '"')
					s->in_string = false;
			} else if (c == '"') {
				s->in_string = true;
			} else if (c == '{' || c == '[') {
				s->depth++;
			} else if ((c == '}' || c == ']') && !--s->depth) {
				ret = object_done(s, s->scan + 1);
				if (ret)
					return ret;
			}
			continue;
		}
		switch (c) {
		case ' ':
		case '\t':
		case '\r':
			break;
		case '{':
			s->depth = 1;
			s->start = s->scan;
			s->start_line = s->line;
			break;
		case '[':
			if (s->in_array)
				return syntax(s, s->line, "expected a JSON object, got an array");
			s->in_array = true;
			break;
		case ',':
			if (!s->in_array)
				return syntax(s, s->line, "unexpected ','");
			break;
		case ']':
			if (!s->in_array)
				return syntax(s, s->line, "unexpected ']'");
			s->in_array = false;
			break;
		default:
			ret = syntax(s, s->line, "expected a JSON object");
			if (ret)
				return ret;
		}
	}
	return 0;
}

int weir_jsonstream_feed(struct weir_jsonstream *s, const char *data, size_t n)
{
	size_t keep;
	int ret;

	/* drop what was consumed: everything before the open object, or all */
	keep = s->depth ? s->start : s->scan;
	if (keep) {
		memmove(s->buf, s->buf + keep, s->len - keep);
		s->len -= keep;
		s->scan -= keep;
		s->start -= s->depth ? keep : s->start;
	}
	if (s->len + n > s->cap) {
		size_t cap = (s->len + n) * 2 + 4096;
		char *b;

		if (s->len + n > WEIR_JSONSTREAM_MAX_BYTES + 4096) {
			ret = syntax(s, s->start_line, "object larger than 16 MiB");
			s->len = s->scan = s->start = 0;
			return ret;
		}
		b = realloc(s->buf, cap);
		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return scan(s);
}

int weir_jsonstream_end(struct weir_jsonstream *s)
{
	if (s->depth)
		return syntax(s, s->start_line, "truncated JSON object");
	return 0;
}
