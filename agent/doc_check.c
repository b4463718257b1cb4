// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "doc_check.h"

int weir_doc_err(char *err, size_t err_len, const char *doc, const char *where, const char *field,
		 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !err_len)
		return -EINVAL;
	n = snprintf(err, err_len, "%s%s%s: ", where, *where && *field ? "." : "",
		     *where || *field ? field : doc);
	if (n >= 0 && (size_t)n < err_len) {
		va_start(ap, fmt);
		vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *weir_doc_show(const json_t *v, char *buf, size_t len)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII | JSON_COMPACT);

	if (!s)
		snprintf(buf, len, "(value)");
	else if (strlen(s) < len)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%.*s...", (int)(len - 4), s);
	free(s);
	return buf;
}

const char *weir_doc_show_text(const char *s, size_t n, char *buf, size_t len)
{
	json_t *v = json_stringn_nocheck(s, n);

	weir_doc_show(v, buf, len);
	json_decref(v);
	return buf;
}

int weir_doc_check_keys(const json_t *obj, const char *const *known, const char *doc,
			const char *where, const char *field, char *err, size_t err_len)
{
	char shown[WEIR_DOC_SHOW_LEN];
	const char *key;
	json_t *v;
	size_t i;

	/* jansson iterates over a non-const object; nothing is changed. */
	json_object_foreach((json_t *)obj, key, v)
	{
		for (i = 0; known[i]; i++)
			if (!strcmp(key, known[i]))
				break;
		if (!known[i])
			return weir_doc_err(
				err, err_len, doc, where, field, "unknown key %s",
				weir_doc_show_text(key, strlen(key), shown, sizeof(shown)));
	}
	return 0;
}

int weir_doc_ip(const json_t *v, struct weir_addr *a)
{
	const char *s;

	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->bytes) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->bytes) == 1) {
		a->family = 6;
		return 0;
	}
	return -EINVAL;
}
