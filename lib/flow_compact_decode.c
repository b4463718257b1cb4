// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading the compact flow stream (weir/flow_compact.h), strictly: a record
 * line is read field by field in its fixed order with no key to match and
 * no tree, every number and ID checked against its bound, and anything else
 * (whitespace, a missing or extra field, an ID not defined yet) refuses the
 * line. The rare lines (the header, definitions) go through jansson.
 *
 * The IDs name endpoints the decoder holds a reference to: every record of
 * the stream that names one shares it, as the fast NDJSON parser's cache
 * shares endpoints decoded from the same text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <jansson.h>
#include "flow_compact.h"

#define ADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN, its NUL included */

_Static_assert(WEIR_COMPACT_N_FIELDS == 33 && WEIR_COMPACT_F_SRC == 28 && WEIR_COMPACT_TAIL == 3,
	       "record_fields() reads the fields of WEIR_COMPACT_FIELDS in their order");

struct dstr {
	char *s;
	size_t n;
};

struct weir_compact_decoder {
	bool header; /* the stream's header was read */
	size_t n_eps, n_strs;
	struct weir_endpoint *eps[WEIR_COMPACT_ENDPOINTS_MAX];
	struct dstr strs[WEIR_COMPACT_STRINGS_MAX];
};

static void forget(struct weir_compact_decoder *d)
{
	size_t i;

	for (i = 0; i < d->n_eps; i++)
		weir_endpoint_put(d->eps[i]);
	for (i = 0; i < d->n_strs; i++)
		free(d->strs[i].s);
	d->n_eps = 0;
	d->n_strs = 0;
}

int weir_compact_decoder_new(struct weir_compact_decoder **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void weir_compact_decoder_free(struct weir_compact_decoder *d)
{
	if (!d)
		return;
	forget(d);
	free(d);
}

void weir_compact_decoder_reset(struct weir_compact_decoder *d)
{
	forget(d);
	d->header = false;
}

static enum weir_compact_line bad(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum weir_compact_line bad(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return WEIR_COMPACT_LINE_BAD;
}

/* ---- the rare lines: header, definitions, reset ---- */

static enum weir_compact_line header(struct weir_compact_decoder *d, const json_t *j, char *err,
				     size_t err_len)
{
	const char *format = json_string_value(json_object_get(j, "format"));
	const json_t *v = json_object_get(j, "version");

	if (!format || strcmp(format, WEIR_COMPACT_FORMAT) != 0 || !json_is_integer(v))
		return bad(err, err_len, "expected the compact stream's header first");
	if (json_integer_value(v) != WEIR_COMPACT_VERSION)
		return bad(err, err_len, "compact format version %lld, not %d",
			   (long long)json_integer_value(v), WEIR_COMPACT_VERSION);
	d->header = true;
	return WEIR_COMPACT_LINE_DEF;
}

/* A string or null (*out NULL): false for anything else. */
static bool opt_string(const json_t *v, char **out)
{
	*out = NULL;
	if (json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	*out = strdup(json_string_value(v));
	return *out != NULL;
}

/* The next ID, as the writer numbers them. */
static bool next_id(const json_t *v, size_t next)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 &&
	       (uint64_t)json_integer_value(v) == next;
}

static enum weir_compact_line ep_def(struct weir_compact_decoder *d, const json_t *j, char *err,
				     size_t err_len)
{
	const json_t *labels = json_array_get(j, 5), *ident = json_array_get(j, 2);
	struct weir_endpoint *ep;
	bool ok;
	size_t i;

	if (json_array_size(j) != 9 || !json_is_array(labels) || !json_is_integer(ident) ||
	    json_integer_value(ident) < WEIR_IDENTITY_WORLD ||
	    json_integer_value(ident) > WEIR_IDENTITY_POD ||
	    json_array_size(labels) > WEIR_COMPACT_LABELS_MAX)
		return bad(err, err_len,
			   "endpoint definition: not [\"ep\",ID,IDENTITY,NS,POD,"
			   "[LABELS],WORKLOAD,KIND,NODE]");
	if (d->n_eps == WEIR_COMPACT_ENDPOINTS_MAX || !next_id(json_array_get(j, 1), d->n_eps))
		return bad(err, err_len, "endpoint definition: ID is not %zu", d->n_eps);
	if (json_integer_value(ident) == WEIR_IDENTITY_WORLD && !json_array_size(labels) &&
	    json_is_null(json_array_get(j, 3)) && json_is_null(json_array_get(j, 4)) &&
	    json_is_null(json_array_get(j, 6)) && json_is_null(json_array_get(j, 7)) &&
	    json_is_null(json_array_get(j, 8))) {
		d->eps[d->n_eps++] = weir_endpoint_world();
		return WEIR_COMPACT_LINE_DEF;
	}
	ep = weir_endpoint_new((enum weir_identity)json_integer_value(ident));
	if (!ep)
		return bad(err, err_len, "out of memory");
	ok = opt_string(json_array_get(j, 3), &ep->namespace) &&
	     opt_string(json_array_get(j, 4), &ep->pod_name) &&
	     opt_string(json_array_get(j, 6), &ep->workload_name) &&
	     opt_string(json_array_get(j, 7), &ep->workload_kind) &&
	     opt_string(json_array_get(j, 8), &ep->node_name);
	if (ok && json_array_size(labels)) {
		ep->labels = calloc(json_array_size(labels), sizeof(char *));
		ok = ep->labels != NULL;
		for (i = 0; ok && i < json_array_size(labels); i++, ep->n_labels++)
			ok = json_is_string(json_array_get(labels, i)) &&
			     opt_string(json_array_get(labels, i), &ep->labels[i]);
		if (!ok && ep->labels && i)
			ep->n_labels = i; /* the last one failed: NULL, freed as such */
	}
	if (!ok) {
		weir_endpoint_put(ep);
		return bad(err, err_len, "endpoint definition: a string or null expected");
	}
	d->eps[d->n_eps++] = ep;
	return WEIR_COMPACT_LINE_DEF;
}

static enum weir_compact_line str_def(struct weir_compact_decoder *d, const json_t *j, char *err,
				      size_t err_len)
{
	const json_t *v = json_array_get(j, 2);
	struct dstr *s;

	if (json_array_size(j) != 3 || !json_is_string(v) ||
	    json_string_length(v) > WEIR_COMPACT_STRING_MAX)
		return bad(err, err_len, "string definition: not [\"str\",ID,TEXT]");
	if (d->n_strs == WEIR_COMPACT_STRINGS_MAX || !next_id(json_array_get(j, 1), d->n_strs))
		return bad(err, err_len, "string definition: ID is not %zu", d->n_strs);
	s = &d->strs[d->n_strs];
	s->n = json_string_length(v);
	s->s = malloc(s->n + 1);
	if (!s->s)
		return bad(err, err_len, "out of memory");
	memcpy(s->s, json_string_value(v), s->n + 1);
	d->n_strs++;
	return WEIR_COMPACT_LINE_DEF;
}

static enum weir_compact_line rare_line(struct weir_compact_decoder *d, const char *line,
					size_t len, char *err, size_t err_len)
{
	enum weir_compact_line rc;
	const char *tag;
	json_t *j;

	j = json_loadb(line, len, 0, NULL);
	if (!j)
		return bad(err, err_len, "not JSON");
	if (json_is_object(j)) {
		rc = d->header ? WEIR_COMPACT_LINE_OTHER : header(d, j, err, err_len);
		json_decref(j);
		return rc;
	}
	tag = json_string_value(json_array_get(j, 0));
	if (!d->header)
		rc = bad(err, err_len, "expected the compact stream's header first");
	else if (!tag)
		rc = bad(err, err_len, "not a compact line");
	else if (!strcmp(tag, "ep"))
		rc = ep_def(d, j, err, err_len);
	else if (!strcmp(tag, "str"))
		rc = str_def(d, j, err, err_len);
	else if (!strcmp(tag, "reset") && json_array_size(j) == 1) {
		forget(d);
		rc = WEIR_COMPACT_LINE_DEF;
	} else
		rc = bad(err, err_len, "unknown compact line \"%.16s\"", tag);
	json_decref(j);
	return rc;
}

/* ---- records ---- */

struct cur {
	const char *p, *end;
};

/* An unsigned decimal integer up to max, with no leading zero. */
static inline bool num(struct cur *c, uint64_t max, uint64_t *out)
{
	const char *p = c->p;
	uint64_t v, dig;

	if (p == c->end || (uint8_t)(*p - '0') > 9)
		return false;
	v = (uint64_t)(*p++ - '0');
	if (v) {
		while (p != c->end && (dig = (uint8_t)(*p - '0')) <= 9) {
			if (v > (UINT64_MAX - dig) / 10)
				return false;
			v = v * 10 + dig;
			p++;
		}
	}
	if (v > max)
		return false;
	c->p = p;
	*out = v;
	return true;
}

static inline bool ch(struct cur *c, char want)
{
	if (c->p == c->end || *c->p != want)
		return false;
	c->p++;
	return true;
}

/* A number then ','. */
static inline bool field(struct cur *c, uint64_t max, uint64_t *out)
{
	return num(c, max, out) && ch(c, ',');
}

static bool null_tok(struct cur *c)
{
	if (c->end - c->p < 4 || memcmp(c->p, "null", 4) != 0)
		return false;
	c->p += 4;
	return true;
}

/* Dotted quad, each part 0-255 without a leading zero. */
static bool ipv4(const char *s, size_t n, uint8_t *out)
{
	struct cur c = { s, s + n };
	uint64_t v;
	int i;

	for (i = 0; i < 4; i++) {
		if ((i && !ch(&c, '.')) || !num(&c, 255, &v))
			return false;
		out[i] = (uint8_t)v;
	}
	return c.p == c.end;
}

/* An address in family (4 or 6) as text, or null for any other family. */
static bool addr(struct cur *c, unsigned int family, uint8_t *out)
{
	char buf[ADDR_TEXT_MAX];
	const char *q;
	size_t n;

	if (family != 4 && family != 6)
		return null_tok(c);
	if (!ch(c, '"'))
		return false;
	q = memchr(c->p, '"', (size_t)(c->end - c->p));
	if (!q)
		return false;
	n = (size_t)(q - c->p);
	if (family == 4) {
		if (!ipv4(c->p, n, out))
			return false;
	} else {
		if (n >= sizeof(buf) || memchr(c->p, '\\', n))
			return false;
		memcpy(buf, c->p, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET6, buf, out) != 1)
			return false;
	}
	c->p = q + 1;
	return true;
}

/* A defined ID (below n), or null (*id -1) when nullable. */
static bool id_tok(struct cur *c, size_t n, bool nullable, long *id)
{
	uint64_t v;

	if (nullable && c->p != c->end && *c->p == 'n') {
		*id = -1;
		return null_tok(c);
	}
	if (!n || !num(c, n - 1, &v))
		return false;
	*id = (long)v;
	return true;
}

/* The fields into *t (zeroed), the IDs it names into the rest. */
static bool record_fields(const struct weir_compact_decoder *d, struct cur *c,
			  struct weir_flow_record *t, long *node, long *src, long *dst, long *svc)
{
	uint64_t v[8];
	long ifname;
	size_t n;

	if (!ch(c, '[') || !field(c, UINT64_MAX, &t->time_ns) || !field(c, UINT64_MAX, &t->id) ||
	    !field(c, UINT64_MAX, &t->first_seen_ns) || !field(c, UINT64_MAX, &t->last_seen_ns) ||
	    !field(c, UINT8_MAX, &v[0]) || !field(c, UINT8_MAX, &v[1]) ||
	    !field(c, UINT8_MAX, &v[2]) || !field(c, UINT8_MAX, &v[3]))
		return false;
	t->type = (enum weir_record_type)v[0];
	t->end_reason = (enum weir_end_reason)v[1];
	t->family = (uint8_t)v[2];
	t->proto = (uint8_t)v[3];
	if (!addr(c, t->family, t->saddr) || !ch(c, ',') || !addr(c, t->family, t->daddr) ||
	    !ch(c, ',') || !field(c, UINT16_MAX, &v[0]) || !field(c, UINT16_MAX, &v[1]) ||
	    !field(c, UINT8_MAX, &v[2]) || !field(c, UINT8_MAX, &v[3]) || !field(c, 1, &v[4]) ||
	    !field(c, UINT32_MAX, &v[5]) || !id_tok(c, d->n_strs, true, &ifname) || !ch(c, ','))
		return false;
	t->sport = (uint16_t)v[0];
	t->dport = (uint16_t)v[1];
	t->icmp_type = (uint8_t)v[2];
	t->icmp_code = (uint8_t)v[3];
	t->l3_only = v[4];
	t->ifindex = (uint32_t)v[5];
	if (ifname >= 0) {
		n = d->strs[ifname].n;
		if (n > sizeof(t->ifname))
			return false;
		memcpy(t->ifname, d->strs[ifname].s, n);
	}
	if (!field(c, UINT8_MAX, &v[0]) || !field(c, UINT8_MAX, &v[1]) ||
	    !field(c, UINT8_MAX, &v[2]) || !field(c, UINT8_MAX, &v[3]) ||
	    !field(c, UINT8_MAX, &v[4]) || !field(c, UINT32_MAX, &v[5]) ||
	    !field(c, UINT64_MAX, &t->packets) || !field(c, UINT64_MAX, &t->bytes) ||
	    !field(c, UINT64_MAX, &t->reply_packets) || !field(c, UINT64_MAX, &t->reply_bytes) ||
	    !id_tok(c, d->n_strs, true, node) || !ch(c, ',') || !id_tok(c, d->n_eps, false, src) ||
	    !ch(c, ',') || !id_tok(c, d->n_eps, false, dst))
		return false;
	t->dir = (uint8_t)v[0];
	t->hook = (uint8_t)v[1];
	t->verdict = (uint8_t)v[2];
	t->reason = (uint8_t)v[3];
	t->is_reply = (enum weir_reply)v[4];
	t->tcp_flags = (uint32_t)v[5];
	*svc = -1;
	if (ch(c, ',')) {
		/* the load-balancing tail: all three */
		if (!id_tok(c, d->n_strs, true, svc) || !ch(c, ',') ||
		    !addr(c, t->family, t->lb_backend) || !ch(c, ',') || !num(c, UINT16_MAX, &v[0]))
			return false;
		t->lb_backend_port = (uint16_t)v[0];
	}
	return ch(c, ']') && c->p == c->end;
}

static enum weir_compact_line record(struct weir_compact_decoder *d, const char *line, size_t len,
				     struct weir_flow_record **out, char *err, size_t err_len)
{
	struct cur c = { line, line + len };
	struct weir_flow_record t, *r;
	long node, src, dst, svc;
	char *svc_copy = NULL;

	memset(&t, 0, sizeof(t));
	if (!record_fields(d, &c, &t, &node, &src, &dst, &svc))
		return bad(err, err_len, "bad compact record at byte %zu", (size_t)(c.p - line));
	if (svc >= 0) {
		svc_copy = strdup(d->strs[svc].s);
		if (!svc_copy)
			return bad(err, err_len, "out of memory");
	}
	r = node >= 0 ? weir_flow_record_new_named(d->strs[node].s, d->strs[node].n) :
			weir_flow_record_new();
	if (!r) {
		free(svc_copy);
		return bad(err, err_len, "out of memory");
	}
	t.refcnt = 1;
	t.node_name = r->node_name;
	t.dst_service = svc_copy;
	t.src = weir_endpoint_get(d->eps[src]);
	t.dst = weir_endpoint_get(d->eps[dst]);
	*r = t;
	*out = r;
	return WEIR_COMPACT_LINE_RECORD;
}

enum weir_compact_line weir_compact_decode_line(struct weir_compact_decoder *d, const char *line,
						size_t len, struct weir_flow_record **out,
						char *err, size_t err_len)
{
	*out = NULL;
	if (len >= 2 && line[0] == '[' && (uint8_t)(line[1] - '0') <= 9) {
		if (!d->header)
			return bad(err, err_len, "expected the compact stream's header first");
		return record(d, line, len, out, err, err_len);
	}
	if (len && (line[0] == '[' || line[0] == '{'))
		return rare_line(d, line, len, err, err_len);
	return bad(err, err_len, "not a compact line");
}
