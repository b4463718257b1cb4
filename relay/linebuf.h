/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NDJSON line splitting with a bound: bytes arrive in whatever pieces the
 * network delivers, whole lines go to a callback, and a line longer than the
 * bound is an error instead of a reason to grow without end.
 */
#ifndef WEIR_RELAY_LINEBUF_H
#define WEIR_RELAY_LINEBUF_H

#include <stddef.h>

#define WEIR_LINE_MAX_BYTES_DEFAULT (1 << 20)

struct weir_linebuf {
	char *buf; /* the start of an unfinished line */
	size_t len;
	size_t cap;
	size_t max_bytes; /* longest line taken, its newline not counted */
};

/* A whole line, without its "\n" (or "\r\n"); never empty. Non-zero stops the feed. */
typedef int (*weir_line_fn)(void *ctx, const char *line, size_t len);

void weir_linebuf_init(struct weir_linebuf *lb, size_t max_bytes);
void weir_linebuf_release(struct weir_linebuf *lb);
/* Forgets an unfinished line (a new connection starts clean). */
void weir_linebuf_reset(struct weir_linebuf *lb);
/* Splits n more bytes: fn for each line they complete. Returns 0, fn's first
 * non-zero result (what was left of data is dropped), -EMSGSIZE when a line
 * passes max_bytes, or -ENOMEM; after an error the buffer is reset.
 */
int weir_linebuf_feed(struct weir_linebuf *lb, const char *data, size_t n, weir_line_fn fn,
		      void *ctx);
/* Bytes of an unfinished line: at the end of a stream, a truncated line. */
size_t weir_linebuf_pending(const struct weir_linebuf *lb);

#endif /* WEIR_RELAY_LINEBUF_H */
