/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the API's documents (endpoints, services, policies) share when they
 * are checked: an error that names the field ("backends[2].weight: ..."),
 * a value quoted safely in it, unknown keys refused, addresses read.
 */
#ifndef WEIR_AGENT_DOC_CHECK_H
#define WEIR_AGENT_DOC_CHECK_H

#include <stddef.h>
#include <jansson.h>
#include "flow.h"

#define WEIR_DOC_SHOW_LEN 72 /* a value quoted in an error message */

/* "where.field: message" into err (either part may be ""; with neither,
 * "doc: message"). Returns -EINVAL, so a check can return it.
 */
int weir_doc_err(char *err, size_t err_len, const char *doc, const char *where, const char *field,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* v as compact, ASCII-only JSON, cut to fit buf: safe in a one-line message. */
const char *weir_doc_show(const json_t *v, char *buf, size_t len);
/* The same for n bytes of text (any bytes: they are escaped). */
const char *weir_doc_show_text(const char *s, size_t n, char *buf, size_t len);

/* Refuses the first key of obj that known (NULL-terminated) does not list:
 * "where.field: unknown key "k"".
 */
int weir_doc_check_keys(const json_t *obj, const char *const *known, const char *doc,
			const char *where, const char *field, char *err, size_t err_len);

/* A JSON string holding an IPv4 or IPv6 address (no prefix, no NUL): 0 or
 * -EINVAL.
 */
int weir_doc_ip(const json_t *v, struct weir_addr *a);

#endif /* WEIR_AGENT_DOC_CHECK_H */
