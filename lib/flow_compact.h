/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The compact flow stream (weir/flow_compact.h says what it is): a writer
 * per stream that remembers which endpoints and strings it has defined, and
 * a strict reader per stream that turns lines back into records. Neither is
 * thread-safe: one per stream.
 */
#ifndef WEIR_FLOW_COMPACT_LIB_H
#define WEIR_FLOW_COMPACT_LIB_H

#include <stddef.h>
#include <weir/flow_compact.h>
#include "flow.h"

struct weir_json_buf;

/* ---- writing (lib/flow_compact_encode.c) ---- */

struct weir_compact_encoder;

/* max_endpoints, max_strings: the dictionary's bounds (0: the format's
 * maximum); past them the writer starts over with a reset line.
 */
int weir_compact_encoder_new(struct weir_compact_encoder **out, size_t max_endpoints,
			     size_t max_strings);
void weir_compact_encoder_free(struct weir_compact_encoder *e);
/* The stream's first line, "\n" included. */
int weir_compact_write_header(struct weir_json_buf *b);
/* r's line, after the definitions it needs (each line ends in "\n"). A NULL
 * endpoint goes as the world. 0, or -ENOMEM with b as it was before the call
 * (and the dictionary as it was).
 */
int weir_compact_write_record(struct weir_compact_encoder *e, const struct weir_flow_record *r,
			      struct weir_json_buf *b);

/* ---- reading (lib/flow_compact_decode.c) ---- */

struct weir_compact_decoder;

enum weir_compact_line {
	WEIR_COMPACT_LINE_BAD = -1, /* err says why; the decoder is unchanged */
	WEIR_COMPACT_LINE_DEF = 0,  /* the header, a definition or a reset: taken */
	WEIR_COMPACT_LINE_RECORD,   /* *out: a record to put */
	WEIR_COMPACT_LINE_OTHER,    /* an object that is not the header: a plain NDJSON line */
};

int weir_compact_decoder_new(struct weir_compact_decoder **out);
void weir_compact_decoder_free(struct weir_compact_decoder *d);
/* A new stream: no header seen, nothing defined. */
void weir_compact_decoder_reset(struct weir_compact_decoder *d);
/* One line (no "\n"). The first line of a stream must be the header. */
enum weir_compact_line weir_compact_decode_line(struct weir_compact_decoder *d, const char *line,
						size_t len, struct weir_flow_record **out,
						char *err, size_t err_len);

#endif /* WEIR_FLOW_COMPACT_LIB_H */
