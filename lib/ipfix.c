// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPFIX message encoding: the header, Weir's two templates and their data
 * records. The templates are tables; the data records follow them field by
 * field (ipfix_flow_put() and the tables must agree: the unit test checks
 * both against hand-decoded bytes).
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "ipfix.h"

#define VARLEN	   0xffff /* a field specifier's length: variable */
#define ENTERPRISE 0x8000 /* the enterprise bit of an element id */

struct field {
	uint16_t id; /* ENTERPRISE | Weir's element, or an IANA element */
	uint16_t len;
};

/* IANA element ids (RFC 7012 and the registry). */
enum {
	IE_OCTET_DELTA = 1,
	IE_PACKET_DELTA = 2,
	IE_PROTOCOL = 4,
	IE_TCP_FLAGS = 6,
	IE_SRC_PORT = 7,
	IE_SRC_V4 = 8,
	IE_INGRESS_IF = 10,
	IE_DST_PORT = 11,
	IE_DST_V4 = 12,
	IE_SRC_V6 = 27,
	IE_DST_V6 = 28,
	IE_ICMP_V4 = 32,
	IE_FWD_STATUS = 89,
	IE_END_REASON = 136,
	IE_ICMP_V6 = 139,
	IE_START_MS = 152,
	IE_END_MS = 153,
};

/* Weir's enterprise elements (ipfix.h). */
enum {
	WE_SRC_NAMESPACE = 1,
	WE_SRC_POD = 2,
	WE_DST_NAMESPACE = 3,
	WE_DST_POD = 4,
	WE_DROP_REASON = 5,
};

/* clang-format off */
#define COMMON_FIELDS							\
	{ IE_SRC_PORT, 2 }, { IE_DST_PORT, 2 }, { IE_PROTOCOL, 1 },	\
	{ IE_TCP_FLAGS, 2 }

#define TAIL_FIELDS							\
	{ IE_INGRESS_IF, 4 }, { IE_PACKET_DELTA, 8 }, { IE_OCTET_DELTA, 8 },	\
	{ IE_START_MS, 8 }, { IE_END_MS, 8 }, { IE_END_REASON, 1 },	\
	{ IE_FWD_STATUS, 1 }, { ENTERPRISE | WE_DROP_REASON, 1 },	\
	{ ENTERPRISE | WE_SRC_NAMESPACE, VARLEN }, { ENTERPRISE | WE_SRC_POD, VARLEN },	\
	{ ENTERPRISE | WE_DST_NAMESPACE, VARLEN }, { ENTERPRISE | WE_DST_POD, VARLEN }

static const struct field tmpl_v4[] = {
	{ IE_SRC_V4, 4 }, { IE_DST_V4, 4 }, COMMON_FIELDS, { IE_ICMP_V4, 2 }, TAIL_FIELDS,
};

static const struct field tmpl_v6[] = {
	{ IE_SRC_V6, 16 }, { IE_DST_V6, 16 }, COMMON_FIELDS, { IE_ICMP_V6, 2 }, TAIL_FIELDS,
};
/* clang-format on */

#define N_FIELDS(t) (sizeof(t) / sizeof((t)[0]))
#define N_STRINGS   4

/* Network byte order at any alignment: memcpy of the swapped value. */
static uint8_t *put8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof(v));
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
	return p + 4;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
	return p + 8;
}

static size_t str_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > WEIR_IPFIX_STRING_MAX ? WEIR_IPFIX_STRING_MAX : n;
}

/* A variable-length string of n bytes in its one-byte length form (RFC 7011 7). */
static uint8_t *put_str(uint8_t *p, const char *s, size_t n)
{
	p = put8(p, n);
	if (n)
		memcpy(p, s, n);
	return p + n;
}

static size_t fixed_len(const struct field *t, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		if (t[i].len != VARLEN)
			len += t[i].len;
	return len;
}

/* The record's strings and their lengths, in template order. */
static void strings_of(const struct weir_ipfix_flow *f, const char *s[N_STRINGS],
		       size_t n[N_STRINGS])
{
	int i;

	s[0] = f->src_namespace;
	s[1] = f->src_pod;
	s[2] = f->dst_namespace;
	s[3] = f->dst_pod;
	for (i = 0; i < N_STRINGS; i++)
		n[i] = str_len(s[i]);
}

static size_t fixed_len_of(uint8_t family)
{
	return family == 6 ? fixed_len(tmpl_v6, N_FIELDS(tmpl_v6)) :
			     fixed_len(tmpl_v4, N_FIELDS(tmpl_v4));
}

static size_t flow_len(const struct weir_ipfix_flow *f, const size_t n[N_STRINGS])
{
	return fixed_len_of(f->family) + N_STRINGS + n[0] + n[1] + n[2] + n[3];
}

size_t weir_ipfix_flow_len(const struct weir_ipfix_flow *f)
{
	const char *s[N_STRINGS];
	size_t n[N_STRINGS];

	strings_of(f, s, n);
	return flow_len(f, n);
}

void weir_ipfix_msg_init(struct weir_ipfix_msg *m, uint8_t *buf, size_t cap)
{
	memset(m, 0, sizeof(*m));
	m->buf = buf;
	m->cap = cap > WEIR_IPFIX_MSG_MAX ? WEIR_IPFIX_MSG_MAX : cap;
	m->len = WEIR_IPFIX_HEADER_BYTES;
}

/* Closes the open set: its length goes in its header. */
static void set_close(struct weir_ipfix_msg *m)
{
	if (!m->set_off)
		return;
	put16(m->buf + m->set_off + 2, (uint16_t)(m->len - m->set_off));
	m->set_off = 0;
	m->set_id = 0;
}

static size_t template_len(size_t n, const struct field *t)
{
	size_t i, len = 4; /* template id, field count */

	for (i = 0; i < n; i++)
		len += t[i].id & ENTERPRISE ? 8 : 4;
	return len;
}

static uint8_t *put_template(uint8_t *p, uint16_t id, const struct field *t, size_t n, uint32_t pen)
{
	size_t i;

	p = put16(p, id);
	p = put16(p, n);
	for (i = 0; i < n; i++) {
		p = put16(p, t[i].id);
		p = put16(p, t[i].len);
		if (t[i].id & ENTERPRISE)
			p = put32(p, pen);
	}
	return p;
}

int weir_ipfix_add_templates(struct weir_ipfix_msg *m, uint32_t pen)
{
	size_t len = WEIR_IPFIX_SET_HEADER + template_len(N_FIELDS(tmpl_v4), tmpl_v4) +
		     template_len(N_FIELDS(tmpl_v6), tmpl_v6);
	uint8_t *p;

	set_close(m);
	if (m->len + len > m->cap)
		return -ENOSPC;
	p = m->buf + m->len;
	p = put16(p, WEIR_IPFIX_SET_TEMPLATE);
	p = put16(p, len);
	p = put_template(p, WEIR_IPFIX_TEMPLATE_V4, tmpl_v4, N_FIELDS(tmpl_v4), pen);
	put_template(p, WEIR_IPFIX_TEMPLATE_V6, tmpl_v6, N_FIELDS(tmpl_v6), pen);
	m->len += len;
	m->n_templates += 2;
	return 0;
}

/* The record's fields, in the order of tmpl_v4 / tmpl_v6. */
static uint8_t *ipfix_flow_put(uint8_t *p, const struct weir_ipfix_flow *f,
			       const char *const s[N_STRINGS], const size_t n[N_STRINGS])
{
	size_t alen = f->family == 6 ? 16 : 4;
	int i;

	memcpy(p, f->saddr, alen);
	p += alen;
	memcpy(p, f->daddr, alen);
	p += alen;
	p = put16(p, f->sport);
	p = put16(p, f->dport);
	p = put8(p, f->proto);
	p = put16(p, f->tcp_flags);
	p = put16(p, f->icmp_type_code);
	p = put32(p, f->ifindex);
	p = put64(p, f->packets);
	p = put64(p, f->bytes);
	p = put64(p, f->start_ms);
	p = put64(p, f->end_ms);
	p = put8(p, f->end_reason);
	p = put8(p, f->fwd_status);
	p = put8(p, f->drop_reason);
	for (i = 0; i < N_STRINGS; i++)
		p = put_str(p, s[i], n[i]);
	return p;
}

int weir_ipfix_add_flow(struct weir_ipfix_msg *m, const struct weir_ipfix_flow *f)
{
	uint16_t tid = f->family == 6 ? WEIR_IPFIX_TEMPLATE_V6 : WEIR_IPFIX_TEMPLATE_V4;
	bool new_set = m->set_id != tid;
	const char *s[N_STRINGS];
	size_t n[N_STRINGS], need;

	if (f->family != 4 && f->family != 6)
		return -EINVAL;
	strings_of(f, s, n);
	need = flow_len(f, n);
	if (new_set)
		need += WEIR_IPFIX_SET_HEADER;
	if (m->len + need > m->cap)
		return -ENOSPC;
	if (new_set) {
		set_close(m);
		m->set_off = m->len;
		m->set_id = tid;
		put16(m->buf + m->len, tid);
		m->len += WEIR_IPFIX_SET_HEADER; /* length written by set_close() */
	}
	m->len = (size_t)(ipfix_flow_put(m->buf + m->len, f, s, n) - m->buf);
	m->n_records++;
	return 0;
}

size_t weir_ipfix_msg_finish(struct weir_ipfix_msg *m, uint32_t export_time_s, uint32_t seq,
			     uint32_t domain_id)
{
	uint8_t *p = m->buf;

	set_close(m);
	p = put16(p, WEIR_IPFIX_VERSION);
	p = put16(p, m->len);
	p = put32(p, export_time_s);
	p = put32(p, seq);
	put32(p, domain_id);
	return m->len;
}
