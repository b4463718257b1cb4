// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Kubernetes label selectors, parsed once into requirements whose keys and
 * values point into one copy of the text, and matched without allocating.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "label_selector.h"

struct span {
	const char *p;
	size_t len;
};

enum op {
	OP_EXISTS,     /* k */
	OP_NOT_EXISTS, /* !k */
	OP_IN,	       /* k=v, k==v, k in (a,b) */
	OP_NOT_IN,     /* k!=v, k notin (a,b) */
};

struct req {
	enum op op;
	struct span source; /* p NULL: any source */
	struct span key;
	size_t first_value; /* into weir_label_selector.values */
	size_t n_values;
};

struct weir_label_selector {
	struct req *reqs;
	size_t n_reqs;
	struct span *values;
	size_t n_values;
	char *text; /* every span points in here */
};

enum tok {
	T_END,
	T_IDENT,
	T_NOT,	  /* ! */
	T_EQ,	  /* = or == */
	T_NEQ,	  /* != */
	T_LPAREN, /* ( */
	T_RPAREN, /* ) */
	T_COMMA,  /* , */
	T_CMP,	  /* < or >: Kubernetes has them, Weir does not */
};

struct lexer {
	const char *p;
	struct span ident;
	char *err;
	size_t err_len;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_ident(char c)
{
	return c && !is_space(c) && !strchr("!=(),<>", c);
}

static enum tok next(struct lexer *lx)
{
	const char *p = lx->p;

	while (is_space(*p))
		p++;
	lx->p = p + 1;
	switch (*p) {
	case '\0':
		lx->p = p;
		return T_END;
	case '!':
		if (p[1] == '=') {
			lx->p = p + 2;
			return T_NEQ;
		}
		return T_NOT;
	case '=':
		if (p[1] == '=')
			lx->p = p + 2;
		return T_EQ;
	case '(':
		return T_LPAREN;
	case ')':
		return T_RPAREN;
	case ',':
		return T_COMMA;
	case '<':
	case '>':
		return T_CMP;
	}
	lx->ident.p = p;
	while (is_ident(*p))
		p++;
	lx->ident.len = (size_t)(p - lx->ident.p);
	lx->p = p;
	return T_IDENT;
}

static enum tok peek(const struct lexer *lx)
{
	struct lexer copy = *lx;

	return next(&copy);
}

__attribute__((format(printf, 2, 3))) static int fail(struct lexer *lx, const char *fmt, ...)
{
	va_list ap;

	if (lx->err && lx->err_len) {
		va_start(ap, fmt);
		vsnprintf(lx->err, lx->err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && !memcmp(s.p, word, s.len);
}

/* "k8s:app" -> source "k8s", key "app"; "app" and "any:app" -> any source. */
static int parse_key(struct lexer *lx, struct span ident, struct req *r)
{
	const char *colon = memchr(ident.p, ':', ident.len);

	r->source.p = NULL;
	r->source.len = 0;
	r->key = ident;
	if (colon) {
		r->source.p = ident.p;
		r->source.len = (size_t)(colon - ident.p);
		r->key.p = colon + 1;
		r->key.len = ident.len - r->source.len - 1;
		if (!r->source.len || !r->key.len)
			return fail(lx, "label key \"%.*s\": empty source or key", (int)ident.len,
				    ident.p);
		if (span_is(r->source, "any"))
			r->source.p = NULL;
	}
	return 0;
}

static int add_value(struct weir_label_selector *sel, struct span v)
{
	struct span *vs = realloc(sel->values, (sel->n_values + 1) * sizeof(*vs));

	if (!vs)
		return -ENOMEM;
	sel->values = vs;
	vs[sel->n_values++] = v;
	return 0;
}

/* One requirement, up to (not including) the ',' or the end. */
static int parse_req(struct lexer *lx, struct weir_label_selector *sel, struct req *r)
{
	enum tok t = next(lx);
	struct span empty = { lx->p, 0 };
	int err;

	r->first_value = sel->n_values;
	r->n_values = 0;
	if (t == T_NOT) {
		if (next(lx) != T_IDENT)
			return fail(lx, "expected a label key after '!'");
		r->op = OP_NOT_EXISTS;
		return parse_key(lx, lx->ident, r);
	}
	if (t != T_IDENT)
		return fail(lx, "expected a label key");
	err = parse_key(lx, lx->ident, r);
	if (err)
		return err;

	t = peek(lx);
	if (t == T_END || t == T_COMMA) {
		r->op = OP_EXISTS;
		return 0;
	}
	t = next(lx);
	if (t == T_EQ || t == T_NEQ) {
		r->op = t == T_EQ ? OP_IN : OP_NOT_IN;
		r->n_values = 1;
		/* "k=" selects the empty value, as in Kubernetes */
		if (peek(lx) == T_END || peek(lx) == T_COMMA)
			return add_value(sel, empty);
		if (next(lx) != T_IDENT)
			return fail(lx, "expected a value after \"%.*s\"", (int)r->key.len,
				    r->key.p);
		return add_value(sel, lx->ident);
	}
	if (t == T_CMP)
		return fail(lx, "operators < and > are not supported");
	if (t != T_IDENT || (!span_is(lx->ident, "in") && !span_is(lx->ident, "notin")))
		return fail(lx, "expected =, ==, !=, in or notin after \"%.*s\"", (int)r->key.len,
			    r->key.p);
	r->op = span_is(lx->ident, "in") ? OP_IN : OP_NOT_IN;
	if (next(lx) != T_LPAREN)
		return fail(lx, "expected '(' after %s", r->op == OP_IN ? "in" : "notin");
	for (;;) {
		if (next(lx) != T_IDENT)
			return fail(lx, "expected a value in the set of \"%.*s\"", (int)r->key.len,
				    r->key.p);
		err = add_value(sel, lx->ident);
		if (err)
			return err;
		r->n_values++;
		t = next(lx);
		if (t == T_RPAREN)
			return 0;
		if (t != T_COMMA)
			return fail(lx, "expected ',' or ')' in the set of \"%.*s\"",
				    (int)r->key.len, r->key.p);
	}
}

int weir_label_selector_parse(const char *s, struct weir_label_selector **out, char *err,
			      size_t err_len)
{
	struct weir_label_selector *sel = calloc(1, sizeof(*sel));
	struct lexer lx = { .err = err, .err_len = err_len };
	int ret = -ENOMEM;

	*out = NULL;
	if (!sel)
		goto err;
	sel->text = strdup(s);
	if (!sel->text)
		goto err;
	lx.p = sel->text;
	if (peek(&lx) == T_END) {
		ret = fail(&lx, "empty label selector");
		goto err;
	}
	for (;;) {
		struct req *reqs = realloc(sel->reqs, (sel->n_reqs + 1) * sizeof(*reqs));
		enum tok t;

		ret = -ENOMEM;
		if (!reqs)
			goto err;
		sel->reqs = reqs;
		ret = parse_req(&lx, sel, &reqs[sel->n_reqs]);
		if (ret)
			goto err;
		sel->n_reqs++;
		t = next(&lx);
		if (t == T_END)
			break;
		if (t != T_COMMA) {
			ret = fail(&lx, "expected ',' or the end after a requirement");
			goto err;
		}
	}
	*out = sel;
	return 0;

err:
	if (ret == -ENOMEM && err && err_len)
		snprintf(err, err_len, "out of memory");
	weir_label_selector_free(sel);
	return ret;
}

void weir_label_selector_free(struct weir_label_selector *sel)
{
	if (!sel)
		return;
	free(sel->reqs);
	free(sel->values);
	free(sel->text);
	free(sel);
}

/* Does l start with s? Stops at l's NUL, which s (a span of the selector)
 * never contains, so it never reads past the end of l.
 */
static bool starts_with(const char *l, struct span s)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (l[i] != s.p[i])
			return false;
	return true;
}

/* Only the source is split off: most labels fail on the first character of
 * the key, so the rest is never read.
 */
void weir_label_view_init(struct weir_label_view *v, const char *label)
{
	const char *p;

	/* a colon only counts before the '=' */
	for (p = label; *p && *p != ':' && *p != '='; p++)
		;
	v->source = *p == ':' ? label : NULL;
	v->source_len = *p == ':' ? (size_t)(p - label) : 0;
	v->key = *p == ':' ? p + 1 : label;
}

size_t weir_label_views_init(struct weir_label_view *views, size_t max, char *const *labels,
			     size_t n, const char *extra)
{
	size_t i;

	if (n + !!extra > max)
		return SIZE_MAX;
	for (i = 0; i < n; i++)
		weir_label_view_init(&views[i], labels[i]);
	if (extra)
		weir_label_view_init(&views[n++], extra);
	return n;
}

/* The label's value if its key is r's, from a source r accepts; else NULL. */
static const char *view_value(const struct req *r, const struct weir_label_view *v)
{
	const char *k = v->key, *end;

	if (k[0] != r->key.p[0] || !starts_with(k, r->key))
		return NULL;
	end = k + r->key.len;
	if (*end && *end != '=')
		return NULL;
	if (r->source.p && (v->source_len != r->source.len || !v->source ||
			    memcmp(v->source, r->source.p, r->source.len) != 0))
		return NULL;
	return *end ? end + 1 : end;
}

static void req_scan(const struct weir_label_selector *sel, const struct req *r,
		     const struct weir_label_view *v, bool *has_key, bool *has_value)
{
	const char *val = view_value(r, v);
	size_t i;

	if (!val)
		return;
	*has_key = true;
	for (i = 0; i < r->n_values && !*has_value; i++) {
		struct span want = sel->values[r->first_value + i];

		*has_value = starts_with(val, want) && !val[want.len];
	}
}

static bool req_result(const struct req *r, bool has_key, bool has_value)
{
	switch (r->op) {
	case OP_EXISTS:
		return has_key;
	case OP_NOT_EXISTS:
		return !has_key;
	case OP_IN:
		return has_value;
	default:
		return !has_value;
	}
}

bool weir_label_selector_match(const struct weir_label_selector *sel, const char *const *labels,
			       size_t n, const char *extra)
{
	struct weir_label_view v;
	size_t i, j;

	for (i = 0; i < sel->n_reqs; i++) {
		const struct req *r = &sel->reqs[i];
		bool has_key = false, has_value = false;

		for (j = 0; j < n; j++) {
			weir_label_view_init(&v, labels[j]);
			req_scan(sel, r, &v, &has_key, &has_value);
		}
		if (extra) {
			weir_label_view_init(&v, extra);
			req_scan(sel, r, &v, &has_key, &has_value);
		}
		if (!req_result(r, has_key, has_value))
			return false;
	}
	return true;
}

bool weir_label_selector_match_views(const struct weir_label_selector *sel,
				     const struct weir_label_view *views, size_t n)
{
	size_t i, j;

	for (i = 0; i < sel->n_reqs; i++) {
		const struct req *r = &sel->reqs[i];
		bool has_key = false, has_value = false;
		char first = r->key.p[0];

		for (j = 0; j < n; j++)
			/* the first character turns most labels away without a call */
			if (views[j].key[0] == first)
				req_scan(sel, r, &views[j], &has_key, &has_value);
		if (!req_result(r, has_key, has_value))
			return false;
	}
	return true;
}
