// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* NDJSON line splitting with a bound on the line length. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "linebuf.h"

void weir_linebuf_init(struct weir_linebuf *lb, size_t max_bytes)
{
	memset(lb, 0, sizeof(*lb));
	lb->max_bytes = max_bytes ? max_bytes : WEIR_LINE_MAX_BYTES_DEFAULT;
}

void weir_linebuf_release(struct weir_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->len = 0;
	lb->cap = 0;
}

void weir_linebuf_reset(struct weir_linebuf *lb)
{
	lb->len = 0;
}

size_t weir_linebuf_pending(const struct weir_linebuf *lb)
{
	return lb->len;
}

static int emit(const char *line, size_t len, weir_line_fn fn, void *ctx)
{
	if (len && line[len - 1] == '\r')
		len--;
	return len ? fn(ctx, line, len) : 0;
}

/* Keeps n more bytes of the unfinished line; the newline is not kept. */
static int keep(struct weir_linebuf *lb, const char *data, size_t n)
{
	size_t cap;
	char *p;

	/* A "\r" may still be followed by its "\n": allow one byte over. */
	if (n > lb->max_bytes + 1 - lb->len)
		return -EMSGSIZE;
	if (lb->len + n > lb->cap) {
		cap = lb->cap ? lb->cap : 4096;
		while (cap < lb->len + n)
			cap *= 2;
		if (cap > lb->max_bytes + 1)
			cap = lb->max_bytes + 1;
		p = realloc(lb->buf, cap);
		if (!p)
			return -ENOMEM;
		lb->buf = p;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, n);
	lb->len += n;
	return 0;
}

int weir_linebuf_feed(struct weir_linebuf *lb, const char *data, size_t n, weir_line_fn fn,
		      void *ctx)
{
	const char *end = data + n, *nl;
	size_t len, content;
	int ret;

	while (data < end) {
		nl = memchr(data, '\n', (size_t)(end - data));
		if (!nl) {
			ret = keep(lb, data, (size_t)(end - data));
			goto out;
		}
		len = (size_t)(nl - data);
		if (lb->len) {
			/* The end of a line begun in an earlier piece. */
			ret = keep(lb, data, len);
			if (!ret && lb->len && lb->buf[lb->len - 1] != '\r' &&
			    lb->len > lb->max_bytes)
				ret = -EMSGSIZE;
			if (!ret)
				ret = emit(lb->buf, lb->len, fn, ctx);
			lb->len = 0;
		} else {
			/* A whole line in this piece: no copy. */
			content = len && data[len - 1] == '\r' ? len - 1 : len;
			ret = content > lb->max_bytes ? -EMSGSIZE : emit(data, len, fn, ctx);
		}
		if (ret)
			goto out;
		data = nl + 1;
	}
	return 0;

out:
	if (ret)
		lb->len = 0;
	return ret;
}
