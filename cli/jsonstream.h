/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* JSON objects out of a byte stream as it arrives: NDJSON (a follow stream,
 * `-o json` output), a JSON array of objects (a flows query, saved `curl`
 * output) or objects pretty-printed over several lines (`jq .`). Each
 * complete top-level object is handed over as soon as its last byte is in.
 */
#ifndef WEIR_CLI_JSONSTREAM_H
#define WEIR_CLI_JSONSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* The largest object taken: bigger ones are an error, not a memory hog. */
#define WEIR_JSONSTREAM_MAX_BYTES (16u << 20)

/* Called with each object (borrowed) and the line it starts on. A non-zero
 * return stops the stream and is returned by feed().
 */
typedef int (*weir_jsonstream_fn)(void *ctx, json_t *obj, unsigned long line);
/* Lenient streams report what they skip here (a line that is not JSON). */
typedef void (*weir_jsonstream_warn_fn)(void *ctx, unsigned long line, const char *what);

struct weir_jsonstream {
	weir_jsonstream_fn fn;
	weir_jsonstream_warn_fn warn; /* NULL: strict, the first error ends the stream */
	void *ctx;
	char *buf;
	size_t len, cap;
	size_t scan;  /* next byte to look at */
	size_t start; /* first byte of the object being read */
	int depth;    /* nesting inside the current object; 0: between values */
	bool in_string, escape, in_array, skip_line;
	unsigned long line, start_line; /* 1-based */
	char err[256];			/* what ended a strict stream */
};

void weir_jsonstream_init(struct weir_jsonstream *s, weir_jsonstream_fn fn,
			  weir_jsonstream_warn_fn warn, void *ctx);
/* Returns 0, the callback's non-zero value, -EBADMSG (err says why) or -ENOMEM. */
int weir_jsonstream_feed(struct weir_jsonstream *s, const char *data, size_t n);
/* At the end of input: a truncated object is -EBADMSG (strict) or a warning. */
int weir_jsonstream_end(struct weir_jsonstream *s);
void weir_jsonstream_release(struct weir_jsonstream *s);

#endif /* WEIR_CLI_JSONSTREAM_H */
