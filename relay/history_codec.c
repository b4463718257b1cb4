// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A flow record as a row of the history's flow_rows table: the fields queries
 * filter and group on as columns, the rest in a compact BLOB (rec) of
 * varints and length-prefixed strings:
 *   u8 version (1)
 *   varint id, first_seen_ns, last_seen_ns
 *   u8 type, end_reason, icmp_type, icmp_code, hook
 *   endpoint src, endpoint dst:
 *     u8 identity; varint n_labels, strings; string workload_name, workload_kind, node_name
 *   then, for load-balanced flows (rows written before have nothing more):
 *     string dst_service; varint lb_backend_port; if the port is not 0, the
 *     backend address (4 or 16 bytes, the record's family)
 * A string is varint (length + 1) then its bytes; 0 is NULL. The endpoints'
 * namespace and pod name are columns ("" for none).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "history_priv.h"

#define REC_VERSION 1
#define REC_MAX	    65536 /* a record's BLOB, at most; longer ones are refused */

#define wbuf weir_history_buf

static void put_bytes(struct wbuf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_u8(struct wbuf *b, uint8_t v)
{
	put_bytes(b, &v, 1);
}

static void put_varint(struct wbuf *b, uint64_t v)
{
	uint8_t out[10];
	size_t n = 0;

	do {
		out[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	put_bytes(b, out, n);
}

static void put_str(struct wbuf *b, const char *s)
{
	size_t n;

	if (!s) {
		put_varint(b, 0);
		return;
	}
	n = strlen(s);
	put_varint(b, n + 1);
	put_bytes(b, s, n);
}

static void put_endpoint(struct wbuf *b, const struct weir_endpoint *ep)
{
	size_t i;

	put_u8(b, ep ? (uint8_t)ep->identity : WEIR_IDENTITY_WORLD);
	put_varint(b, ep ? ep->n_labels : 0);
	for (i = 0; ep && i < ep->n_labels; i++)
		put_str(b, ep->labels[i]);
	put_str(b, ep ? ep->workload_name : NULL);
	put_str(b, ep ? ep->workload_kind : NULL);
	put_str(b, ep ? ep->node_name : NULL);
}

uint64_t weir_history_flow_key(const struct weir_flow_record *r)
{
	struct {
		uint8_t saddr[16], daddr[16];
		uint32_t ifindex;
		uint16_t sport, dport;
		uint8_t family, proto, dir, icmp_type, icmp_code, pad[3];
	} k;
	const char *node = r->node_name ? r->node_name : "";

	memset(&k, 0, sizeof(k));
	memcpy(k.saddr, r->saddr, 16);
	memcpy(k.daddr, r->daddr, 16);
	k.ifindex = r->ifindex;
	k.sport = r->sport;
	k.dport = r->dport;
	k.family = r->family;
	k.proto = r->proto;
	k.dir = r->dir;
	k.icmp_type = r->icmp_type;
	k.icmp_code = r->icmp_code;
	return weir_hash_bytes(&k, sizeof(k)) ^ weir_hash_bytes(node, strlen(node));
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

int weir_history_bind(sqlite3_stmt *stmt, int first, const struct weir_flow_record *r,
		      const struct weir_history_delta *d, struct weir_history_buf *buf)
{
	size_t alen = r->family == 4 ? 4 : 16;
	struct wbuf *b = buf;
	int rc = SQLITE_OK, col = first;
	uint64_t meta;

	b->len = 0;
	b->oom = false;
	put_u8(b, REC_VERSION);
	put_varint(b, r->id);
	put_varint(b, r->first_seen_ns);
	put_varint(b, r->last_seen_ns);
	put_u8(b, (uint8_t)r->type);
	put_u8(b, (uint8_t)r->end_reason);
	put_u8(b, r->icmp_type);
	put_u8(b, r->icmp_code);
	put_u8(b, r->hook);
	put_endpoint(b, r->src);
	put_endpoint(b, r->dst);
	if (r->dst_service || r->lb_backend_port) {
		put_str(b, r->dst_service);
		put_varint(b, r->lb_backend_port);
		if (r->lb_backend_port)
			put_bytes(b, r->lb_backend, alen);
	}
	if (b->oom)
		return -ENOMEM;
	if (b->len > REC_MAX)
		return -E2BIG;
	/* the flows view (history.c's schema version 4) takes these apart */
	meta = (uint64_t)r->family | (uint64_t)r->proto << 8 | (uint64_t)(r->l3_only != 0) << 16 |
	       (uint64_t)(d->start != 0) << 17 | (uint64_t)r->verdict << 24 |
	       (uint64_t)r->reason << 32 | (uint64_t)r->dir << 40 |
	       (uint64_t)((uint8_t)r->is_reply) << 48;
#define BIND_INT(v)  (rc = rc ?: sqlite3_bind_int64(stmt, col++, (sqlite3_int64)(v)))
#define BIND_TEXT(s) (rc = rc ?: sqlite3_bind_text(stmt, col++, or_empty(s), -1, SQLITE_STATIC))
	BIND_INT(r->time_ns);
	BIND_INT(meta);
	rc = rc ?: sqlite3_bind_blob(stmt, col++, r->saddr, (int)alen, SQLITE_STATIC);
	rc = rc ?: sqlite3_bind_blob(stmt, col++, r->daddr, (int)alen, SQLITE_STATIC);
	BIND_INT((uint32_t)r->sport << 16 | r->dport);
	BIND_INT(r->tcp_flags);
	BIND_INT(r->ifindex);
	rc = rc	   ?:
		     sqlite3_bind_text(stmt, col++, r->ifname, (int)strnlen(r->ifname, IF_NAMESIZE),
				       SQLITE_STATIC);
	BIND_TEXT(r->node_name);
	BIND_TEXT(r->src ? r->src->namespace : NULL);
	BIND_TEXT(r->src ? r->src->pod_name : NULL);
	BIND_TEXT(r->dst ? r->dst->namespace : NULL);
	BIND_TEXT(r->dst ? r->dst->pod_name : NULL);
	BIND_INT(r->packets);
	BIND_INT(r->bytes);
	BIND_INT(r->reply_packets);
	BIND_INT(r->reply_bytes);
	rc = rc ?: sqlite3_bind_blob(stmt, col++, b->p, (int)b->len, SQLITE_STATIC);
	BIND_INT(d->packets);
	BIND_INT(d->bytes);
	BIND_INT(d->reply_packets);
	BIND_INT(d->reply_bytes);
	if (rc != SQLITE_OK)
		return -EINVAL;
#undef BIND_INT
#undef BIND_TEXT
	return 0;
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint8_t get_u8(struct rbuf *b)
{
	if (b->off >= b->len) {
		b->bad = true;
		return 0;
	}
	return b->p[b->off++];
}

static uint64_t get_varint(struct rbuf *b)
{
	uint64_t v = 0;
	unsigned int shift;

	for (shift = 0; shift < 64; shift += 7) {
		uint8_t c = get_u8(b);

		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	b->bad = true;
	return 0;
}

/* 0 and *out (NULL or a new string), or -EINVAL/-ENOMEM. */
static int get_str(struct rbuf *b, char **out)
{
	uint64_t n = get_varint(b);

	*out = NULL;
	if (b->bad)
		return -EINVAL;
	if (!n)
		return 0;
	n--;
	if (n > b->len - b->off) {
		b->bad = true;
		return -EINVAL;
	}
	*out = strndup((const char *)b->p + b->off, (size_t)n);
	b->off += (size_t)n;
	return *out ? 0 : -ENOMEM;
}

static char *col_str_or_null(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	return s && *s ? strdup((const char *)s) : NULL;
}

static int get_endpoint(struct rbuf *b, sqlite3_stmt *stmt, int ns_col, struct weir_endpoint **out)
{
	struct weir_endpoint *ep;
	uint8_t identity = get_u8(b);
	uint64_t n, i;
	int err;

	if (b->bad || identity > WEIR_IDENTITY_POD)
		return -EINVAL;
	ep = weir_endpoint_new((enum weir_identity)identity);
	if (!ep)
		return -ENOMEM;
	n = get_varint(b);
	err = b->bad || n > b->len ? -EINVAL : 0;
	if (!err && n) {
		ep->labels = calloc((size_t)n, sizeof(char *));
		err = ep->labels ? 0 : -ENOMEM;
	}
	for (i = 0; !err && i < n; i++) {
		err = get_str(b, &ep->labels[i]);
		if (!err && !ep->labels[i])
			err = -EINVAL;
		if (!err)
			ep->n_labels++;
	}
	err = err ?: get_str(b, &ep->workload_name);
	err = err ?: get_str(b, &ep->workload_kind);
	err = err ?: get_str(b, &ep->node_name);
	if (!err) {
		ep->namespace = col_str_or_null(stmt, ns_col);
		ep->pod_name = col_str_or_null(stmt, ns_col + 1);
	}
	if (err) {
		weir_endpoint_put(ep);
		return err;
	}
	*out = ep;
	return 0;
}

static uint64_t col_u64(sqlite3_stmt *stmt, int col)
{
	return (uint64_t)sqlite3_column_int64(stmt, col);
}

int weir_history_decode(sqlite3_stmt *stmt, struct weir_flow_record **out)
{
	struct weir_flow_record *r = weir_flow_record_new();
	struct rbuf b = { 0 };
	const void *a;
	int err = 0, n;

	if (!r)
		return -ENOMEM;
	r->time_ns = col_u64(stmt, 0);
	r->family = (uint8_t)col_u64(stmt, 2);
	r->proto = (uint8_t)col_u64(stmt, 3);
	a = sqlite3_column_blob(stmt, 4);
	n = sqlite3_column_bytes(stmt, 4);
	if (a && n <= 16)
		memcpy(r->saddr, a, (size_t)n);
	a = sqlite3_column_blob(stmt, 5);
	n = sqlite3_column_bytes(stmt, 5);
	if (a && n <= 16)
		memcpy(r->daddr, a, (size_t)n);
	r->sport = (uint16_t)col_u64(stmt, 6);
	r->dport = (uint16_t)col_u64(stmt, 7);
	r->l3_only = col_u64(stmt, 8) != 0;
	r->verdict = (uint8_t)col_u64(stmt, 9);
	r->reason = (uint8_t)col_u64(stmt, 10);
	r->dir = (uint8_t)col_u64(stmt, 11);
	r->is_reply = (enum weir_reply)col_u64(stmt, 12);
	r->tcp_flags = (uint32_t)col_u64(stmt, 13);
	r->ifindex = (uint32_t)col_u64(stmt, 14);
	a = sqlite3_column_text(stmt, 15);
	if (a)
		strncpy(r->ifname, a, sizeof(r->ifname) - 1);
	r->node_name = col_str_or_null(stmt, 16);
	r->packets = col_u64(stmt, 21);
	r->bytes = col_u64(stmt, 22);
	r->reply_packets = col_u64(stmt, 23);
	r->reply_bytes = col_u64(stmt, 24);

	b.p = sqlite3_column_blob(stmt, 25);
	b.len = (size_t)sqlite3_column_bytes(stmt, 25);
	if (!b.p || get_u8(&b) != REC_VERSION) {
		err = -EINVAL;
		goto out;
	}
	r->id = get_varint(&b);
	r->first_seen_ns = get_varint(&b);
	r->last_seen_ns = get_varint(&b);
	r->type = (enum weir_record_type)get_u8(&b);
	r->end_reason = (enum weir_end_reason)get_u8(&b);
	r->icmp_type = get_u8(&b);
	r->icmp_code = get_u8(&b);
	r->hook = get_u8(&b);
	err = b.bad ? -EINVAL : 0;
	err = err ?: get_endpoint(&b, stmt, 17, &r->src);
	err = err ?: get_endpoint(&b, stmt, 19, &r->dst);
	if (!err && b.off < b.len) {
		size_t alen = r->family == 4 ? 4 : 16;

		err = get_str(&b, &r->dst_service);
		r->lb_backend_port = (uint16_t)get_varint(&b);
		if (!err && r->lb_backend_port) {
			if (b.bad || alen > b.len - b.off) {
				err = -EINVAL;
			} else {
				memcpy(r->lb_backend, b.p + b.off, alen);
				b.off += alen;
			}
		}
		if (!err && b.bad)
			err = -EINVAL;
	}
out:
	if (err) {
		/* a published record never has NULL endpoints */
		if (!r->src)
			r->src = weir_endpoint_world();
		if (!r->dst)
			r->dst = weir_endpoint_world();
		weir_flow_record_put(r);
		return err;
	}
	*out = r;
	return 0;
}
