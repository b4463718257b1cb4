// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow records as Hubble's JSON (a GetFlowsResponse line, protojson with proto
 * field names: zero values left out, enums by name) and back. Decoding reads
 * Weir's output losslessly and Hubble's as far as a record can hold it; it
 * ignores fields it does not know and rejects known fields of the wrong type.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "flow.h"
#include "flow_json_priv.h"
#include "hubble_names.h"
#include "json_writer.h"
#include "timefmt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Cilium's monitor event types (pkg/monitor/api/types.go). */
#define EVENT_DROP  WEIR_FLOW_JSON_EVENT_DROP
#define EVENT_TRACE 4

/* Hubble's reserved security identities. */
#define IDENTITY_HOST  WEIR_FLOW_JSON_IDENTITY_HOST
#define IDENTITY_WORLD WEIR_FLOW_JSON_IDENTITY_WORLD

#define LABEL_WORLD "reserved:world"
#define LABEL_HOST  "reserved:host"

/* The uuid holds the record id in its last 62 bits (see uuid_format()). */
#define UUID_ID_MASK 0x3fffffffffffffffULL

static const char *const record_names[] = {
	[WEIR_RECORD_START] = "start",
	[WEIR_RECORD_UPDATE] = "update",
	[WEIR_RECORD_END] = "end",
	[WEIR_RECORD_DROP] = "drop",
};

/* IPFIX flowEndReason, spelled as in RFC 7012's descriptions. */
static const char *const end_reason_names[] = {
	[WEIR_END_IDLE] = "idle",
	[WEIR_END_ACTIVE] = "active",
	[WEIR_END_DETECTED] = "end_detected",
	[WEIR_END_FORCED] = "forced",
	[WEIR_END_RESOURCES] = "lack_of_resources",
};

static const char *const hook_names[] = {
	[WEIR_HOOK_XDP] = "xdp",
	[WEIR_HOOK_TC] = "tc",
};

struct l4_name {
	uint8_t proto;
	const char *name;
};

/* flow.proto's Layer4 oneof; Weir decodes ports for the first three only. */
static const struct l4_name l4_names[] = {
	{ IPPROTO_TCP, "TCP" },	    { IPPROTO_UDP, "UDP" },	  { IPPROTO_SCTP, "SCTP" },
	{ IPPROTO_ICMP, "ICMPv4" }, { IPPROTO_ICMPV6, "ICMPv6" }, { IPPROTO_IGMP, "IGMP" },
	{ 112 /* VRRP */, "VRRP" },
};

static const char *l4_name(uint8_t proto)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(l4_names); i++)
		if (l4_names[i].proto == proto)
			return l4_names[i].name;
	return NULL;
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* FNV-1a, 64 bits: stable across runs and machines. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; s && *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* An RFC 9562 version-8 (custom) UUID: the first half hashes the node name,
 * the last 62 bits are the record id, so it is unique per node and id and
 * decodes back to the id.
 */
static void uuid_format(const char *node, uint64_t id, char buf[37])
{
	uint64_t hi = (fnv1a(node) & ~0xf000ULL) | 0x8000ULL;
	uint64_t lo = (id & UUID_ID_MASK) | 0x8000000000000000ULL;

	snprintf(buf, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned int)(hi >> 32),
		 (unsigned int)(hi >> 16 & 0xffff), (unsigned int)(hi & 0xffff),
		 (unsigned int)(lo >> 48), (unsigned long long)(lo & 0xffffffffffffULL));
}

static int uuid_parse(const char *s, uint64_t *lo)
{
	uint64_t v = 0;
	int i, nhex = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (i = 0; i < 36; i++) {
		char c = s[i];
		int x;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -EINVAL;
			continue;
		}
		if (c >= '0' && c <= '9')
			x = c - '0';
		else if (c >= 'a' && c <= 'f')
			x = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			x = c - 'A' + 10;
		else
			return -EINVAL;
		/* only the last 16 hex digits (the low 64 bits) are kept */
		if (++nhex > 16)
			v = v << 4 | (uint64_t)x;
	}
	*lo = v;
	return 0;
}

/* ---- encoding ---- */

/* Sets o[k] = v (stealing v); a NULL v (a failed allocation) fails. */
static int set(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v) ? -1 : 0;
}

/* protojson writes 64-bit integers as strings; Weir's counters are plain
 * numbers while they fit jansson's json_int_t, as they always do in practice.
 */
static json_t *json_u64(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_string(buf);
}

/* An enum by name, or by number when it has none (as protojson does). */
static json_t *json_enum(const char *name, unsigned int code)
{
	return name ? json_string(name) : json_integer(code);
}

/* Names come from outside (network namespace names, interface names): bytes
 * that are not UTF-8 become '?' rather than costing the whole record.
 */
static json_t *json_text(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *copy;
	size_t i;

	if (j)
		return j;
	copy = strndup(s, n);
	if (!copy)
		return NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)copy[i] >= 0x80 || !copy[i])
			copy[i] = '?';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

static json_t *json_str(const char *s)
{
	return json_text(s, strlen(s));
}

static json_t *json_time(uint64_t ns)
{
	char buf[WEIR_TIME_STR_LEN];

	return json_string(weir_time_format(ns, buf, sizeof(buf)));
}

static bool labels_have(const struct weir_endpoint *ep, const char *prefix, bool whole)
{
	size_t i, n = strlen(prefix);

	for (i = 0; i < ep->n_labels; i++)
		if (!strncmp(ep->labels[i], prefix, n) && (!whole || !ep->labels[i][n]))
			return true;
	return false;
}

static json_t *endpoint_json(const struct weir_endpoint *ep)
{
	json_t *o = json_object(), *labels = json_array();
	const char *reserved = NULL;
	int err = 0;
	size_t i;

	if (!o || !labels)
		goto err;
	if (ep->identity == WEIR_IDENTITY_WORLD) {
		err |= set(o, "identity", json_integer(IDENTITY_WORLD));
		/* Cilium also has reserved:world-ipv4 and reserved:world-ipv6 */
		if (!labels_have(ep, LABEL_WORLD, false))
			reserved = LABEL_WORLD;
	} else if (ep->identity == WEIR_IDENTITY_HOST) {
		err |= set(o, "identity", json_integer(IDENTITY_HOST));
		if (!labels_have(ep, LABEL_HOST, true))
			reserved = LABEL_HOST;
	}
	if (ep->namespace && *ep->namespace)
		err |= set(o, "namespace", json_str(ep->namespace));
	if (reserved)
		err |= json_array_append_new(labels, json_string(reserved));
	for (i = 0; i < ep->n_labels; i++)
		err |= json_array_append_new(labels, json_str(ep->labels[i]));
	if (json_array_size(labels))
		err |= set(o, "labels", json_incref(labels));
	if (ep->pod_name && *ep->pod_name)
		err |= set(o, "pod_name", json_str(ep->pod_name));
	if ((ep->workload_name && *ep->workload_name) ||
	    (ep->workload_kind && *ep->workload_kind)) {
		json_t *w = json_object();

		if (w && ep->workload_name && *ep->workload_name)
			err |= set(w, "name", json_str(ep->workload_name));
		if (w && ep->workload_kind && *ep->workload_kind)
			err |= set(w, "kind", json_str(ep->workload_kind));
		err |= set(o, "workloads", w ? json_pack("[o]", w) : NULL);
	}
	if (err)
		goto err;
	json_decref(labels);
	return o;

err:
	json_decref(labels);
	json_decref(o);
	return NULL;
}

static json_t *l4_json(const struct weir_flow_record *r, const char *name)
{
	json_t *l4 = json_object(), *p = json_object();
	int err = !l4 || !p;
	size_t i;

	if (err)
		goto out;
	if (has_ports(r->proto)) {
		if (r->sport)
			err |= set(p, "source_port", json_integer(r->sport));
		if (r->dport)
			err |= set(p, "destination_port", json_integer(r->dport));
	} else if (is_icmp(r->proto)) {
		if (r->icmp_type)
			err |= set(p, "type", json_integer(r->icmp_type));
		if (r->icmp_code)
			err |= set(p, "code", json_integer(r->icmp_code));
	}
	if (r->proto == IPPROTO_TCP) {
		/* Hubble sets flags on every TCP flow, so they show even when empty */
		json_t *f = json_object();

		for (i = 0; f && i < ARRAY_SIZE(weir_tcp_flags); i++)
			if (r->tcp_flags & weir_tcp_flags[i].bit)
				err |= set(f, weir_tcp_flags[i].name, json_true());
		err |= set(p, "flags", f);
	}
	err |= set(l4, name, json_incref(p));
out:
	json_decref(p);
	if (err) {
		json_decref(l4);
		return NULL;
	}
	return l4;
}

static void summary(const struct weir_flow_record *r, char *buf, size_t len)
{
	char s[64];

	if (r->l3_only) {
		snprintf(buf, len, "IPv%u", r->family);
		return;
	}
	switch (r->proto) {
	case IPPROTO_TCP:
		weir_tcp_flags_summary(r->tcp_flags, s, sizeof(s));
		snprintf(buf, len, "TCP Flags: %s", s);
		return;
	case IPPROTO_UDP:
		snprintf(buf, len, "UDP");
		return;
	case IPPROTO_SCTP:
		snprintf(buf, len, "SCTP");
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		weir_icmp_summary(r->proto, r->icmp_type, r->icmp_code, s, sizeof(s));
		snprintf(buf, len, "ICMPv%c %s", r->proto == IPPROTO_ICMP ? '4' : '6', s);
		return;
	}
	snprintf(buf, len, "IPv%u", r->family);
}

static json_t *weir_json(const struct weir_flow_record *r)
{
	json_t *w = json_object();
	int err = !w;

	if (err)
		return NULL;
	if (r->type > 0 && (size_t)r->type < ARRAY_SIZE(record_names))
		err |= set(w, "record", json_string(record_names[r->type]));
	if (r->end_reason > 0 && (size_t)r->end_reason < ARRAY_SIZE(end_reason_names))
		err |= set(w, "end_reason", json_string(end_reason_names[r->end_reason]));
	if (r->first_seen_ns)
		err |= set(w, "first_seen", json_time(r->first_seen_ns));
	if (r->last_seen_ns)
		err |= set(w, "last_seen", json_time(r->last_seen_ns));
	if (r->packets)
		err |= set(w, "packets", json_u64(r->packets));
	if (r->bytes)
		err |= set(w, "bytes", json_u64(r->bytes));
	if (r->reply_packets)
		err |= set(w, "reply_packets", json_u64(r->reply_packets));
	if (r->reply_bytes)
		err |= set(w, "reply_bytes", json_u64(r->reply_bytes));
	/* xdp is hook 0: written whenever the record is Weir's own (has a type) */
	if (r->type && r->hook < ARRAY_SIZE(hook_names))
		err |= set(w, "hook", json_string(hook_names[r->hook]));
	if (r->l3_only)
		err |= set(w, "l3_only", json_true());
	if (r->lb_backend_port) {
		char a[INET6_ADDRSTRLEN];

		err |= set(w, "lb",
			   json_pack("{s:s,s:i}", "backend",
				     weir_addr_str(r->family, r->lb_backend, a, sizeof(a)),
				     "backend_port", (int)r->lb_backend_port));
	}
	/* a protocol the l4 object cannot name */
	if (r->proto && !l4_name(r->proto))
		err |= set(w, "protocol", json_integer(r->proto));
	if (err) {
		json_decref(w);
		return NULL;
	}
	return w;
}

/* Adds o[k] = v unless v is an empty object. */
static int set_nonempty(json_t *o, const char *k, json_t *v)
{
	if (json_is_object(v) && !json_object_size(v)) {
		json_decref(v);
		return 0;
	}
	return set(o, k, v);
}

json_t *weir_flow_record_to_json(const struct weir_flow_record *r)
{
	json_t *resp = NULL, *flow = json_object();
	bool dropped = r->verdict == WEIR_VERDICT_DROPPED;
	char buf[INET6_ADDRSTRLEN], uuid[37], sum[96];
	const char *node = r->node_name && *r->node_name ? r->node_name : NULL;
	int err = !flow;

	if (err)
		return NULL;
	if (r->time_ns)
		err |= set(flow, "time", json_time(r->time_ns));
	uuid_format(node, r->id, uuid);
	err |= set(flow, "uuid", json_string(uuid));
	if (r->verdict)
		err |= set(flow, "verdict",
			   json_enum(weir_hubble_verdict_name(r->verdict), r->verdict));
	if (r->family == 4 || r->family == 6) {
		json_t *ip = json_object();

		if (ip) {
			err |= set(
				ip, "source",
				json_string(weir_addr_str(r->family, r->saddr, buf, sizeof(buf))));
			err |= set(
				ip, "destination",
				json_string(weir_addr_str(r->family, r->daddr, buf, sizeof(buf))));
			err |= set(ip, "ipVersion", json_string(r->family == 4 ? "IPv4" : "IPv6"));
		}
		err |= set(flow, "IP", ip);
	}
	if (l4_name(r->proto))
		err |= set(flow, "l4", l4_json(r, l4_name(r->proto)));
	if (r->src)
		err |= set_nonempty(flow, "source", endpoint_json(r->src));
	if (r->dst)
		err |= set_nonempty(flow, "destination", endpoint_json(r->dst));
	if (r->dst_service)
		err |= set(flow, "destination_service",
			   json_pack("{s:o}", "name", json_str(r->dst_service)));
	err |= set(flow, "Type", json_string("L3_L4"));
	if (node)
		err |= set(flow, "node_name", json_str(node));
	if (dropped && r->reason)
		err |= set(flow, "event_type",
			   json_pack("{s:i,s:i}", "type", EVENT_DROP, "sub_type", r->reason));
	else
		err |= set(flow, "event_type",
			   json_pack("{s:i}", "type", dropped ? EVENT_DROP : EVENT_TRACE));
	if (r->dir)
		err |= set(flow, "traffic_direction",
			   json_enum(weir_hubble_dir_name(r->dir), r->dir));
	if (dropped && r->reason)
		err |= set(flow, "drop_reason_desc",
			   json_enum(weir_hubble_drop_reason_name(r->reason), r->reason));
	if (r->is_reply != WEIR_REPLY_UNKNOWN)
		err |= set(flow, "is_reply", json_boolean(r->is_reply == WEIR_REPLY_YES));
	if (r->ifindex || r->ifname[0]) {
		json_t *itf = json_object();

		if (itf && r->ifindex)
			err |= set(itf, "index", json_integer(r->ifindex));
		if (itf && r->ifname[0])
			err |= set(itf, "name",
				   json_text(r->ifname, strnlen(r->ifname, sizeof(r->ifname))));
		err |= set(flow, "interface", itf);
	}
	if (r->family == 4 || r->family == 6) {
		summary(r, sum, sizeof(sum));
		err |= set(flow, "Summary", json_string(sum));
	}
	err |= set_nonempty(flow, "weir", weir_json(r));
	if (err)
		goto err;

	resp = json_object();
	if (!resp)
		goto err;
	err |= set(resp, "flow", flow);
	if (node)
		err |= set(resp, "node_name", json_str(node));
	if (r->time_ns)
		err |= set(resp, "time", json_time(r->time_ns));
	if (err) {
		json_decref(resp);
		return NULL;
	}
	return resp;

err:
	json_decref(flow);
	return NULL;
}

/* ---- writing text directly ----
 *
 * The same JSON as json_dumps(weir_flow_record_to_json(r), JSON_COMPACT),
 * byte for byte (tests/unit/test_json_writer.c compares them), written into a
 * buffer with no tree, no allocation per field and no printf: the key order
 * is the order the functions above insert keys in.
 */

/* Two decimal digits at p. */
static char *put2(char *p, unsigned int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm, as timefmt.c). */
static void civil_date(uint64_t days, unsigned int *y, unsigned int *m, unsigned int *d)
{
	uint64_t z = days + 719468, era = z / 146097;
	unsigned int doe = (unsigned int)(z - era * 146097), yoe, doy, mp;

	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned int)(yoe + era * 400 + (*m <= 2));
}

/* weir_time_format()'s text without printf: "2026-08-05T10:12:18.510Z".
 * Returns its length (at most 30).
 */
static size_t time_text(uint64_t ns, char buf[WEIR_TIME_STR_LEN])
{
	uint64_t sec = ns / 1000000000ULL, sod = sec % 86400;
	uint32_t frac = (uint32_t)(ns % 1000000000ULL);
	unsigned int y, m, d, digits = 9, i;
	char *p = buf;

	civil_date(sec / 86400, &y, &m, &d);
	p = put2(p, y / 100);
	p = put2(p, y % 100);
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, (unsigned int)(sod / 3600));
	*p++ = ':';
	p = put2(p, (unsigned int)(sod / 60 % 60));
	*p++ = ':';
	p = put2(p, (unsigned int)(sod % 60));
	/* protojson: the shortest of 0, 3, 6 or 9 digits that is exact */
	if (frac % 1000000 == 0) {
		digits = frac ? 3 : 0;
		frac /= 1000000;
	} else if (frac % 1000 == 0) {
		digits = 6;
		frac /= 1000;
	}
	if (digits) {
		*p++ = '.';
		for (i = digits; i > 0; i--) {
			p[i - 1] = (char)('0' + frac % 10);
			frac /= 10;
		}
		p += digits;
	}
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - buf);
}

/* uuid_format() without printf. */
static void uuid_text(const char *node, uint64_t id, char buf[37])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t hi = (fnv1a(node) & ~0xf000ULL) | 0x8000ULL;
	uint64_t lo = (id & UUID_ID_MASK) | 0x8000000000000000ULL;
	int i, k = 35;

	buf[36] = '\0';
	for (i = 0; i < 16; i++, k--) {
		if (k == 23)
			buf[k--] = '-';
		buf[k] = hex[lo & 0xf];
		lo >>= 4;
	}
	for (i = 0; i < 16; i++, k--) {
		if (k == 18 || k == 13 || k == 8)
			buf[k--] = '-';
		buf[k] = hex[hi & 0xf];
		hi >>= 4;
	}
}

/* weir_addr_str(): IPv4 without printf, IPv6 through inet_ntop(). */
static const char *addr_text(uint8_t family, const uint8_t *a, char *buf, size_t len)
{
	char *p = buf;
	int i;

	if (family != 4)
		return weir_addr_str(family, a, buf, len);
	for (i = 0; i < 4; i++) {
		if (a[i] >= 100)
			*p++ = (char)('0' + a[i] / 100);
		if (a[i] >= 10)
			*p++ = (char)('0' + a[i] / 10 % 10);
		*p++ = (char)('0' + a[i] % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return buf;
}

/* "TCP Flags: ..." for every combination of the 9 flags, made once. */
#define TCP_SUMMARIES 512
static char tcp_summaries[TCP_SUMMARIES][64];
static pthread_once_t tcp_summaries_once = PTHREAD_ONCE_INIT;

static void tcp_summaries_make(void)
{
	char s[48];
	uint32_t bits, flags;
	size_t i;

	for (bits = 0; bits < TCP_SUMMARIES; bits++) {
		for (i = 0, flags = 0; i < ARRAY_SIZE(weir_tcp_flags); i++)
			if (bits & (1u << i))
				flags |= weir_tcp_flags[i].bit;
		weir_tcp_flags_summary(flags, s, sizeof(s));
		snprintf(tcp_summaries[bits], sizeof(tcp_summaries[bits]), "TCP Flags: %s", s);
	}
}

static const char *tcp_summary(uint32_t flags)
{
	uint32_t bits = 0;
	size_t i;

	pthread_once(&tcp_summaries_once, tcp_summaries_make);
	for (i = 0; i < ARRAY_SIZE(weir_tcp_flags); i++)
		if (flags & weir_tcp_flags[i].bit)
			bits |= 1u << i;
	return tcp_summaries[bits];
}

static void w_key(struct weir_json_buf *b, bool *first, const char *key, size_t n)
{
	if (!*first)
		weir_json_char(b, ',');
	*first = false;
	weir_json_char(b, '"');
	weir_json_raw(b, key, n);
	weir_json_lit(b, "\":");
}

/* A key that needs no escape: a string literal. */
#define W_KEY(b, first, key) w_key((b), (first), (key), sizeof(key) - 1)

static void w_cstr(struct weir_json_buf *b, const char *s)
{
	weir_json_str(b, s, strlen(s));
}

static void w_ctext(struct weir_json_buf *b, const char *s)
{
	weir_json_text(b, s, strlen(s));
}

static void w_u64(struct weir_json_buf *b, uint64_t v)
{
	if (v <= INT64_MAX) {
		weir_json_u64(b, v);
		return;
	}
	weir_json_char(b, '"');
	weir_json_u64(b, v);
	weir_json_char(b, '"');
}

static void w_enum(struct weir_json_buf *b, const char *name, unsigned int code)
{
	if (name)
		w_cstr(b, name);
	else
		weir_json_u64(b, code);
}

static void w_time(struct weir_json_buf *b, const char *text, size_t n)
{
	weir_json_char(b, '"');
	weir_json_raw(b, text, n);
	weir_json_char(b, '"');
}

static void w_endpoint(struct weir_json_buf *b, const struct weir_endpoint *ep, const char *key,
		       size_t key_len, bool *first_out)
{
	const char *reserved = NULL;
	bool first = true, wn, wk;
	size_t i;

	wn = ep->workload_name && *ep->workload_name;
	wk = ep->workload_kind && *ep->workload_kind;
	if (ep->identity == WEIR_IDENTITY_WORLD && !labels_have(ep, LABEL_WORLD, false))
		reserved = LABEL_WORLD;
	else if (ep->identity == WEIR_IDENTITY_HOST && !labels_have(ep, LABEL_HOST, true))
		reserved = LABEL_HOST;
	/* set_nonempty(): an endpoint with nothing to say is left out */
	if (ep->identity != WEIR_IDENTITY_WORLD && ep->identity != WEIR_IDENTITY_HOST &&
	    !(ep->namespace && *ep->namespace) && !reserved && !ep->n_labels &&
	    !(ep->pod_name && *ep->pod_name) && !wn && !wk)
		return;
	w_key(b, first_out, key, key_len);
	weir_json_char(b, '{');
	if (ep->identity == WEIR_IDENTITY_WORLD || ep->identity == WEIR_IDENTITY_HOST) {
		W_KEY(b, &first, "identity");
		weir_json_u64(b,
			      ep->identity == WEIR_IDENTITY_WORLD ? IDENTITY_WORLD : IDENTITY_HOST);
	}
	if (ep->namespace && *ep->namespace) {
		W_KEY(b, &first, "namespace");
		w_ctext(b, ep->namespace);
	}
	if (reserved || ep->n_labels) {
		W_KEY(b, &first, "labels");
		weir_json_char(b, '[');
		if (reserved)
			w_cstr(b, reserved);
		for (i = 0; i < ep->n_labels; i++) {
			if (i || reserved)
				weir_json_char(b, ',');
			w_ctext(b, ep->labels[i]);
		}
		weir_json_char(b, ']');
	}
	if (ep->pod_name && *ep->pod_name) {
		W_KEY(b, &first, "pod_name");
		w_ctext(b, ep->pod_name);
	}
	if (wn || wk) {
		bool wfirst = true;

		W_KEY(b, &first, "workloads");
		weir_json_lit(b, "[{");
		if (wn) {
			W_KEY(b, &wfirst, "name");
			w_ctext(b, ep->workload_name);
		}
		if (wk) {
			W_KEY(b, &wfirst, "kind");
			w_ctext(b, ep->workload_kind);
		}
		weir_json_lit(b, "}]");
	}
	weir_json_char(b, '}');
}

static void w_l4(struct weir_json_buf *b, const struct weir_flow_record *r, const char *name)
{
	bool first = true;
	size_t i;

	weir_json_lit(b, "{\"");
	weir_json_raw(b, name, strlen(name));
	weir_json_lit(b, "\":{");
	if (has_ports(r->proto)) {
		if (r->sport) {
			W_KEY(b, &first, "source_port");
			weir_json_u64(b, r->sport);
		}
		if (r->dport) {
			W_KEY(b, &first, "destination_port");
			weir_json_u64(b, r->dport);
		}
	} else if (is_icmp(r->proto)) {
		if (r->icmp_type) {
			W_KEY(b, &first, "type");
			weir_json_u64(b, r->icmp_type);
		}
		if (r->icmp_code) {
			W_KEY(b, &first, "code");
			weir_json_u64(b, r->icmp_code);
		}
	}
	if (r->proto == IPPROTO_TCP) {
		bool ffirst = true;

		W_KEY(b, &first, "flags");
		weir_json_char(b, '{');
		for (i = 0; i < ARRAY_SIZE(weir_tcp_flags); i++) {
			if (!(r->tcp_flags & weir_tcp_flags[i].bit))
				continue;
			w_key(b, &ffirst, weir_tcp_flags[i].name, strlen(weir_tcp_flags[i].name));
			weir_json_lit(b, "true");
		}
		weir_json_char(b, '}');
	}
	weir_json_lit(b, "}}");
}

static void w_weir(struct weir_json_buf *b, const struct weir_flow_record *r, bool *first_out)
{
	char t[WEIR_TIME_STR_LEN];
	bool first = true;
	size_t n;

	/* weir_json() and set_nonempty(): the key only with something in it */
#define W_WEIR_KEY(key)                              \
	do {                                         \
		if (first)                           \
			W_KEY(b, first_out, "weir"); \
		if (first)                           \
			weir_json_char(b, '{');      \
		W_KEY(b, &first, key);               \
	} while (0)
	if (r->type > 0 && (size_t)r->type < ARRAY_SIZE(record_names)) {
		W_WEIR_KEY("record");
		w_cstr(b, record_names[r->type]);
	}
	if (r->end_reason > 0 && (size_t)r->end_reason < ARRAY_SIZE(end_reason_names)) {
		W_WEIR_KEY("end_reason");
		w_cstr(b, end_reason_names[r->end_reason]);
	}
	if (r->first_seen_ns) {
		W_WEIR_KEY("first_seen");
		n = time_text(r->first_seen_ns, t);
		w_time(b, t, n);
	}
	if (r->last_seen_ns) {
		W_WEIR_KEY("last_seen");
		n = time_text(r->last_seen_ns, t);
		w_time(b, t, n);
	}
	if (r->packets) {
		W_WEIR_KEY("packets");
		w_u64(b, r->packets);
	}
	if (r->bytes) {
		W_WEIR_KEY("bytes");
		w_u64(b, r->bytes);
	}
	if (r->reply_packets) {
		W_WEIR_KEY("reply_packets");
		w_u64(b, r->reply_packets);
	}
	if (r->reply_bytes) {
		W_WEIR_KEY("reply_bytes");
		w_u64(b, r->reply_bytes);
	}
	if (r->type && r->hook < ARRAY_SIZE(hook_names)) {
		W_WEIR_KEY("hook");
		w_cstr(b, hook_names[r->hook]);
	}
	if (r->l3_only) {
		W_WEIR_KEY("l3_only");
		weir_json_lit(b, "true");
	}
	if (r->lb_backend_port) {
		char a[INET6_ADDRSTRLEN];

		W_WEIR_KEY("lb");
		weir_json_lit(b, "{\"backend\":");
		w_cstr(b, addr_text(r->family, r->lb_backend, a, sizeof(a)));
		weir_json_lit(b, ",\"backend_port\":");
		weir_json_u64(b, r->lb_backend_port);
		weir_json_char(b, '}');
	}
	if (r->proto && !l4_name(r->proto)) {
		W_WEIR_KEY("protocol");
		weir_json_u64(b, r->proto);
	}
#undef W_WEIR_KEY
	if (!first)
		weir_json_char(b, '}');
}

int weir_flow_record_write_json(const struct weir_flow_record *r, struct weir_json_buf *b)
{
	bool dropped = r->verdict == WEIR_VERDICT_DROPPED, first = true;
	const char *node = r->node_name && *r->node_name ? r->node_name : NULL;
	char buf[INET6_ADDRSTRLEN], uuid[37], sum[96], time[WEIR_TIME_STR_LEN];
	size_t start = b->len, time_len = 0;

	/* a record is ~1 KiB: one growth up front, not many small ones */
	weir_json_buf_reserve(b, 2048);
	if (r->time_ns)
		time_len = time_text(r->time_ns, time);
	weir_json_lit(b, "{\"flow\":{");
	if (r->time_ns) {
		W_KEY(b, &first, "time");
		w_time(b, time, time_len);
	}
	uuid_text(node, r->id, uuid);
	W_KEY(b, &first, "uuid");
	weir_json_raw(b, "\"", 1);
	weir_json_raw(b, uuid, 36);
	weir_json_raw(b, "\"", 1);
	if (r->verdict) {
		W_KEY(b, &first, "verdict");
		w_enum(b, weir_hubble_verdict_name(r->verdict), r->verdict);
	}
	if (r->family == 4 || r->family == 6) {
		W_KEY(b, &first, "IP");
		weir_json_lit(b, "{\"source\":");
		w_cstr(b, addr_text(r->family, r->saddr, buf, sizeof(buf)));
		weir_json_lit(b, ",\"destination\":");
		w_cstr(b, addr_text(r->family, r->daddr, buf, sizeof(buf)));
		if (r->family == 4)
			weir_json_lit(b, ",\"ipVersion\":\"IPv4\"}");
		else
			weir_json_lit(b, ",\"ipVersion\":\"IPv6\"}");
	}
	if (l4_name(r->proto)) {
		W_KEY(b, &first, "l4");
		w_l4(b, r, l4_name(r->proto));
	}
	if (r->src)
		w_endpoint(b, r->src, "source", strlen("source"), &first);
	if (r->dst)
		w_endpoint(b, r->dst, "destination", strlen("destination"), &first);
	if (r->dst_service) {
		W_KEY(b, &first, "destination_service");
		weir_json_lit(b, "{\"name\":");
		w_ctext(b, r->dst_service);
		weir_json_char(b, '}');
	}
	W_KEY(b, &first, "Type");
	weir_json_lit(b, "\"L3_L4\"");
	if (node) {
		W_KEY(b, &first, "node_name");
		w_ctext(b, node);
	}
	W_KEY(b, &first, "event_type");
	if (dropped && r->reason) {
		weir_json_lit(b, "{\"type\":1,\"sub_type\":");
		weir_json_u64(b, r->reason);
		weir_json_char(b, '}');
	} else if (dropped) {
		weir_json_lit(b, "{\"type\":1}");
	} else {
		weir_json_lit(b, "{\"type\":4}");
	}
	if (r->dir) {
		W_KEY(b, &first, "traffic_direction");
		w_enum(b, weir_hubble_dir_name(r->dir), r->dir);
	}
	if (dropped && r->reason) {
		W_KEY(b, &first, "drop_reason_desc");
		w_enum(b, weir_hubble_drop_reason_name(r->reason), r->reason);
	}
	if (r->is_reply != WEIR_REPLY_UNKNOWN) {
		W_KEY(b, &first, "is_reply");
		if (r->is_reply == WEIR_REPLY_YES)
			weir_json_lit(b, "true");
		else
			weir_json_lit(b, "false");
	}
	if (r->ifindex || r->ifname[0]) {
		bool ifirst = true;

		W_KEY(b, &first, "interface");
		weir_json_char(b, '{');
		if (r->ifindex) {
			W_KEY(b, &ifirst, "index");
			weir_json_u64(b, r->ifindex);
		}
		if (r->ifname[0]) {
			W_KEY(b, &ifirst, "name");
			weir_json_text(b, r->ifname, strnlen(r->ifname, sizeof(r->ifname)));
		}
		weir_json_char(b, '}');
	}
	if (r->family == 4 || r->family == 6) {
		W_KEY(b, &first, "Summary");
		if (!r->l3_only && r->proto == IPPROTO_TCP) {
			w_cstr(b, tcp_summary(r->tcp_flags));
		} else {
			summary(r, sum, sizeof(sum));
			w_cstr(b, sum);
		}
	}
	w_weir(b, r, &first);
	weir_json_char(b, '}');
	if (node) {
		weir_json_lit(b, ",\"node_name\":");
		w_ctext(b, node);
	}
	if (r->time_ns) {
		weir_json_lit(b, ",\"time\":");
		w_time(b, time, time_len);
	}
	weir_json_char(b, '}');
	if (b->err) {
		/* what was there before stays; the caller sees err */
		if (b->cap && start <= b->len) {
			b->len = start;
			b->data[start] = '\0';
		}
		return b->err;
	}
	return 0;
}

/* ---- decoding ---- */

struct dec {
	const char *pfx; /* "flow." inside a GetFlowsResponse, "" for a bare Flow */
	char *err;
	size_t err_len;
};

__attribute__((format(printf, 3, 4))) static int bad(struct dec *d, const char *field,
						     const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (d->err && d->err_len)
		snprintf(d->err, d->err_len, "%s%s: %s", d->pfx, field, what);
	return -EINVAL;
}

/* Each getter leaves *out alone and returns 0 when the key is absent or null. */
static const json_t *field(const json_t *o, const char *key)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;

	return v && !json_is_null(v) ? v : NULL;
}

static int get_str(struct dec *d, const json_t *o, const char *key, const char *name,
		   const char **out)
{
	const json_t *v = field(o, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return bad(d, name, "expected a string");
	*out = json_string_value(v);
	return 0;
}

static int get_obj(struct dec *d, const json_t *o, const char *key, const char *name,
		   const json_t **out)
{
	const json_t *v = field(o, key);

	if (!v)
		return 0;
	if (!json_is_object(v))
		return bad(d, name, "expected an object");
	*out = v;
	return 0;
}

static int get_arr(struct dec *d, const json_t *o, const char *key, const char *name,
		   const json_t **out)
{
	const json_t *v = field(o, key);

	if (!v)
		return 0;
	if (!json_is_array(v))
		return bad(d, name, "expected an array");
	*out = v;
	return 0;
}

static int get_bool(struct dec *d, const json_t *o, const char *key, const char *name, bool *out)
{
	const json_t *v = field(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return bad(d, name, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

/* An unsigned integer up to max; protojson's 64-bit integers come as strings. */
static int get_uint(struct dec *d, const json_t *o, const char *key, const char *name, uint64_t max,
		    uint64_t *out)
{
	const json_t *v = field(o, key);
	uint64_t u = 0;

	if (!v)
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return bad(d, name, "expected an integer from 0 to %llu",
				   (unsigned long long)max);
		u = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (!*s)
			return bad(d, name, "expected an integer");
		for (; *s; s++)
			if (*s < '0' || *s > '9' || __builtin_mul_overflow(u, 10, &u) ||
			    __builtin_add_overflow(u, (uint64_t)(*s - '0'), &u))
				return bad(d, name, "expected an integer");
	} else {
		return bad(d, name, "expected an integer");
	}
	if (u > max)
		return bad(d, name, "expected an integer from 0 to %llu", (unsigned long long)max);
	*out = u;
	return 0;
}

static int get_time(struct dec *d, const json_t *o, const char *key, const char *name,
		    uint64_t *out)
{
	const char *s = NULL;
	int err = get_str(d, o, key, name, &s);

	if (err || !s)
		return err;
	if (weir_time_parse_rfc3339(s, out))
		return bad(d, name, "not an RFC 3339 time: \"%.40s\"", s);
	return 0;
}

/* An enum given by name (parse) or by number up to max. */
static int get_enum(struct dec *d, const json_t *o, const char *key, const char *name,
		    int (*parse)(const char *), unsigned int max, unsigned int *out)
{
	const json_t *v = field(o, key);
	uint64_t u = 0;
	int code;

	if (!v)
		return 0;
	if (json_is_string(v)) {
		code = parse(json_string_value(v));
		if (code < 0)
			return bad(d, name, "unknown value \"%.40s\"", json_string_value(v));
		*out = (unsigned int)code;
		return 0;
	}
	if (get_uint(d, o, key, name, max, &u))
		return -EINVAL;
	*out = (unsigned int)u;
	return 0;
}

static int parse_names(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -EINVAL;
}

static int parse_record(const char *s)
{
	return parse_names(record_names, ARRAY_SIZE(record_names), s);
}

static int parse_end_reason(const char *s)
{
	return parse_names(end_reason_names, ARRAY_SIZE(end_reason_names), s);
}

static int parse_hook(const char *s)
{
	return parse_names(hook_names, ARRAY_SIZE(hook_names), s);
}

static int parse_ip_version(const char *s)
{
	if (!strcmp(s, "IPv4"))
		return 4;
	if (!strcmp(s, "IPv6"))
		return 6;
	if (!strcmp(s, "IP_NOT_USED"))
		return 0;
	return -EINVAL;
}

static int dup_str(struct dec *d, const char *name, const char *s, char **out)
{
	if (!s || !*s)
		return 0;
	*out = strdup(s);
	if (!*out) {
		bad(d, name, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int ip_from_json(struct dec *d, const json_t *flow, struct weir_flow_record *r)
{
	const char *src = NULL, *dst = NULL;
	unsigned int ver = 0;
	const json_t *ip = NULL;
	int err;

	err = get_obj(d, flow, "IP", "IP", &ip);
	if (err || !ip)
		return err;
	err = get_str(d, ip, "source", "IP.source", &src);
	err = err ?: get_str(d, ip, "destination", "IP.destination", &dst);
	err = err ?: get_enum(d, ip, "ipVersion", "IP.ipVersion", parse_ip_version, 2, &ver);
	if (err)
		return err;
	/* ipVersion by number: IPv4 is 1, IPv6 is 2 */
	if (ver == 1 || ver == 2)
		ver = ver == 1 ? 4 : 6;
	if (!ver && src)
		ver = strchr(src, ':') ? 6 : 4;
	r->family = (uint8_t)ver;
	if (src && *src && inet_pton(ver == 6 ? AF_INET6 : AF_INET, src, r->saddr) != 1)
		return bad(d, "IP.source", "not an IPv%u address: \"%.46s\"", ver, src);
	if (dst && *dst && inet_pton(ver == 6 ? AF_INET6 : AF_INET, dst, r->daddr) != 1)
		return bad(d, "IP.destination", "not an IPv%u address: \"%.46s\"", ver, dst);
	return 0;
}

static int l4_from_json(struct dec *d, const json_t *flow, struct weir_flow_record *r)
{
	const json_t *l4 = NULL, *p = NULL, *flags = NULL;
	char name[64];
	uint64_t u;
	size_t i;
	int err;

	err = get_obj(d, flow, "l4", "l4", &l4);
	if (err || !l4)
		return err;
	for (i = 0; i < ARRAY_SIZE(l4_names) && !p; i++) {
		snprintf(name, sizeof(name), "l4.%s", l4_names[i].name);
		err = get_obj(d, l4, l4_names[i].name, name, &p);
		if (err)
			return err;
		if (p)
			r->proto = l4_names[i].proto;
	}
	if (!p)
		return 0;
	if (has_ports(r->proto)) {
		snprintf(name, sizeof(name), "l4.%s.source_port", l4_name(r->proto));
		u = 0;
		err = get_uint(d, p, "source_port", name, UINT16_MAX, &u);
		r->sport = (uint16_t)u;
		snprintf(name, sizeof(name), "l4.%s.destination_port", l4_name(r->proto));
		u = 0;
		err = err ?: get_uint(d, p, "destination_port", name, UINT16_MAX, &u);
		r->dport = (uint16_t)u;
	} else if (is_icmp(r->proto)) {
		snprintf(name, sizeof(name), "l4.%s.type", l4_name(r->proto));
		u = 0;
		err = get_uint(d, p, "type", name, UINT8_MAX, &u);
		r->icmp_type = (uint8_t)u;
		snprintf(name, sizeof(name), "l4.%s.code", l4_name(r->proto));
		u = 0;
		err = err ?: get_uint(d, p, "code", name, UINT8_MAX, &u);
		r->icmp_code = (uint8_t)u;
	}
	if (err || r->proto != IPPROTO_TCP)
		return err;
	err = get_obj(d, p, "flags", "l4.TCP.flags", &flags);
	for (i = 0; !err && flags && i < ARRAY_SIZE(weir_tcp_flags); i++) {
		bool set_flag = false;

		snprintf(name, sizeof(name), "l4.TCP.flags.%s", weir_tcp_flags[i].name);
		err = get_bool(d, flags, weir_tcp_flags[i].name, name, &set_flag);
		if (set_flag)
			r->tcp_flags |= weir_tcp_flags[i].bit;
	}
	return err;
}

static bool label_is(const char *label, const char *prefix, bool whole)
{
	size_t n = strlen(prefix);

	return !strncmp(label, prefix, n) && (!whole || !label[n]);
}

/* side is "source" or "destination". */
static int endpoint_from_json(struct dec *d, const json_t *flow, const char *side,
			      struct weir_endpoint **out)
{
	const char *ns = NULL, *pod = NULL, *wname = NULL, *wkind = NULL;
	const json_t *o = NULL, *labels = NULL, *workloads = NULL, *w;
	enum weir_identity identity = WEIR_IDENTITY_POD;
	struct weir_endpoint *ep;
	uint64_t id_num = 0;
	char name[64];
	size_t i, n;
	int err;

	err = get_obj(d, flow, side, side, &o);
	if (err)
		return err;
#define NAME(f) (snprintf(name, sizeof(name), "%s.%s", side, f), name)
	err = get_str(d, o, "namespace", NAME("namespace"), &ns);
	err = err ?: get_str(d, o, "pod_name", NAME("pod_name"), &pod);
	err = err ?: get_arr(d, o, "labels", NAME("labels"), &labels);
	err = err ?: get_arr(d, o, "workloads", NAME("workloads"), &workloads);
	err = err ?: get_uint(d, o, "identity", NAME("identity"), UINT32_MAX, &id_num);
	if (err)
		return err;
	n = json_array_size(labels);
	for (i = 0; i < n; i++) {
		const char *l = json_string_value(json_array_get(labels, i));

		if (!l) {
			snprintf(name, sizeof(name), "%s.labels[%zu]", side, i);
			return bad(d, name, "expected a string");
		}
		if (label_is(l, LABEL_WORLD, false))
			identity = WEIR_IDENTITY_WORLD;
		else if (label_is(l, LABEL_HOST, true) && identity == WEIR_IDENTITY_POD)
			identity = WEIR_IDENTITY_HOST;
	}
	w = json_array_get(workloads, 0);
	if (w) {
		if (!json_is_object(w)) {
			snprintf(name, sizeof(name), "%s.workloads[0]", side);
			return bad(d, name, "expected an object");
		}
		err = get_str(d, w, "name", NAME("workloads[0].name"), &wname);
		err = err ?: get_str(d, w, "kind", NAME("workloads[0].kind"), &wkind);
		if (err)
			return err;
	}
#undef NAME
	/* by reserved identity number; with nothing known, an address from outside */
	if (identity == WEIR_IDENTITY_POD && id_num == IDENTITY_HOST)
		identity = WEIR_IDENTITY_HOST;
	else if (identity == WEIR_IDENTITY_POD &&
		 (id_num == IDENTITY_WORLD || (!n && !(ns && *ns) && !(pod && *pod) && !w)))
		identity = WEIR_IDENTITY_WORLD;
	if (identity == WEIR_IDENTITY_WORLD && !(ns && *ns) && !(pod && *pod) && !w &&
	    (!n ||
	     (n == 1 && !strcmp(json_string_value(json_array_get(labels, 0)), LABEL_WORLD)))) {
		*out = weir_endpoint_world();
		return 0;
	}

	ep = weir_endpoint_new(identity);
	if (!ep)
		goto nomem;
	*out = ep;
	if (n) {
		ep->labels = calloc(n, sizeof(*ep->labels));
		if (!ep->labels)
			goto nomem;
		for (i = 0; i < n; i++) {
			ep->labels[i] = strdup(json_string_value(json_array_get(labels, i)));
			if (!ep->labels[i])
				goto nomem;
			ep->n_labels++;
		}
	}
	err = dup_str(d, side, ns, &ep->namespace);
	err = err ?: dup_str(d, side, pod, &ep->pod_name);
	err = err ?: dup_str(d, side, wname, &ep->workload_name);
	err = err ?: dup_str(d, side, wkind, &ep->workload_kind);
	return err;

nomem:
	bad(d, side, "out of memory");
	return -ENOMEM;
}

static int iface_from_json(struct dec *d, const json_t *flow, struct weir_flow_record *r)
{
	const json_t *itf = NULL;
	const char *name = NULL;
	uint64_t idx = 0;
	int err;

	err = get_obj(d, flow, "interface", "interface", &itf);
	err = err ?: get_uint(d, itf, "index", "interface.index", UINT32_MAX, &idx);
	err = err ?: get_str(d, itf, "name", "interface.name", &name);
	if (err)
		return err;
	r->ifindex = (uint32_t)idx;
	if (name && strlen(name) >= sizeof(r->ifname))
		return bad(d, "interface.name", "longer than %zu characters",
			   sizeof(r->ifname) - 1);
	if (name)
		memcpy(r->ifname, name, strlen(name) + 1);
	return 0;
}

/* weir.lb: {"backend": IP, "backend_port": N}, in the record's family. */
static int lb_from_json(struct dec *d, const json_t *w, struct weir_flow_record *r)
{
	const json_t *lb = NULL;
	const char *ip = NULL;
	uint64_t port = 0;
	int err;

	err = get_obj(d, w, "lb", "weir.lb", &lb);
	if (err || !lb)
		return err;
	err = get_str(d, lb, "backend", "weir.lb.backend", &ip);
	err = err ?: get_uint(d, lb, "backend_port", "weir.lb.backend_port", UINT16_MAX, &port);
	if (err)
		return err;
	if (ip && inet_pton(r->family == 6 ? AF_INET6 : AF_INET, ip, r->lb_backend) != 1)
		return bad(d, "weir.lb.backend", "not an IPv%u address: \"%.46s\"", r->family, ip);
	r->lb_backend_port = (uint16_t)port;
	return 0;
}

/* destination_service: Hubble's Service {name, namespace}; the name is kept. */
static int service_from_json(struct dec *d, const json_t *flow, struct weir_flow_record *r)
{
	const json_t *svc = NULL;
	const char *name = NULL;
	int err;

	err = get_obj(d, flow, "destination_service", "destination_service", &svc);
	err = err ?: get_str(d, svc, "name", "destination_service.name", &name);
	return err ?: dup_str(d, "destination_service.name", name, &r->dst_service);
}

static int weir_from_json(struct dec *d, const json_t *flow, struct weir_flow_record *r)
{
	unsigned int type = 0, end = 0, hook = 0;
	const json_t *w = NULL;
	uint64_t proto = 0;
	bool l3 = false;
	int err;

	err = get_obj(d, flow, "weir", "weir", &w);
	if (err || !w)
		return err;
	err = get_enum(d, w, "record", "weir.record", parse_record, WEIR_RECORD_DROP, &type);
	err = err   ?:
		      get_enum(d, w, "end_reason", "weir.end_reason", parse_end_reason,
			       WEIR_END_RESOURCES, &end);
	err = err ?: get_time(d, w, "first_seen", "weir.first_seen", &r->first_seen_ns);
	err = err ?: get_time(d, w, "last_seen", "weir.last_seen", &r->last_seen_ns);
	err = err ?: get_uint(d, w, "packets", "weir.packets", UINT64_MAX, &r->packets);
	err = err ?: get_uint(d, w, "bytes", "weir.bytes", UINT64_MAX, &r->bytes);
	err = err   ?:
		      get_uint(d, w, "reply_packets", "weir.reply_packets", UINT64_MAX,
			       &r->reply_packets);
	err = err ?: get_uint(d, w, "reply_bytes", "weir.reply_bytes", UINT64_MAX, &r->reply_bytes);
	err = err ?: get_enum(d, w, "hook", "weir.hook", parse_hook, WEIR_HOOK_MAX - 1, &hook);
	err = err ?: get_bool(d, w, "l3_only", "weir.l3_only", &l3);
	err = err ?: get_uint(d, w, "protocol", "weir.protocol", UINT8_MAX, &proto);
	err = err ?: lb_from_json(d, w, r);
	if (err)
		return err;
	r->type = (enum weir_record_type)type;
	r->end_reason = (enum weir_end_reason)end;
	r->hook = (uint8_t)hook;
	r->l3_only = l3;
	if (proto && !r->proto)
		r->proto = (uint8_t)proto;
	return 0;
}

/* Verdict, drop reason (by name, else the deprecated number, else the drop
 * event's sub_type), direction and reply.
 */
static int verdict_from_json(struct dec *d, const json_t *flow, struct weir_flow_record *r)
{
	unsigned int verdict = 0, reason = 0, dir = 0;
	uint64_t old_reason = 0, ev_type = 0, ev_sub = 0, fallback;
	const json_t *ev = NULL, *desc;
	bool reply = false, newer;
	int err;

	err = get_enum(d, flow, "verdict", "verdict", weir_hubble_verdict_parse, UINT8_MAX,
		       &verdict);
	err = err ?: get_uint(d, flow, "drop_reason", "drop_reason", UINT8_MAX, &old_reason);
	err = err ?: get_obj(d, flow, "event_type", "event_type", &ev);
	err = err ?: get_uint(d, ev, "type", "event_type.type", INT32_MAX, &ev_type);
	err = err ?: get_uint(d, ev, "sub_type", "event_type.sub_type", INT32_MAX, &ev_sub);
	err = err   ?:
		      get_enum(d, flow, "traffic_direction", "traffic_direction",
			       weir_hubble_dir_parse, UINT8_MAX, &dir);
	err = err ?: get_bool(d, flow, "is_reply", "is_reply", &reply);
	if (err)
		return err;
	fallback = old_reason;
	if (!fallback && ev_type == EVENT_DROP && ev_sub <= UINT8_MAX)
		fallback = ev_sub;
	desc = field(flow, "drop_reason_desc");
	/* a name newer than Hubble's table here: its number is elsewhere */
	newer = json_is_string(desc) &&
		weir_hubble_drop_reason_parse(json_string_value(desc)) < 0 && fallback;
	reason = (unsigned int)fallback;
	if (desc && !newer) {
		err = get_enum(d, flow, "drop_reason_desc", "drop_reason_desc",
			       weir_hubble_drop_reason_parse, UINT8_MAX, &reason);
		if (err)
			return err;
	}
	r->verdict = (uint8_t)verdict;
	r->reason = (uint8_t)reason;
	r->dir = (uint8_t)dir;
	if (field(flow, "is_reply"))
		r->is_reply = reply ? WEIR_REPLY_YES : WEIR_REPLY_NO;
	return 0;
}

int weir_flow_record_from_json(const json_t *j, struct weir_flow_record **out, char *err,
			       size_t err_len)
{
	struct dec d = { .pfx = "", .err = err, .err_len = err_len };
	const char *node = NULL, *uuid = NULL;
	const json_t *flow, *outer = NULL;
	struct weir_flow_record *r;
	uint64_t lo;
	int ret;

	*out = NULL;
	if (!json_is_object(j))
		return bad(&d, "flow", "expected a JSON object");
	flow = field(j, "flow");
	if (flow) {
		if (!json_is_object(flow))
			return bad(&d, "flow", "expected an object");
		outer = j;
		d.pfx = "flow.";
	} else if (field(j, "node_status") || field(j, "lost_events")) {
		if (err && err_len)
			snprintf(err, err_len, "not a flow: a %s event",
				 field(j, "node_status") ? "node_status" : "lost_events");
		return -ENODATA;
	} else {
		flow = j;
	}

	r = weir_flow_record_new();
	if (!r)
		return bad(&d, "flow", "out of memory");
	ret = get_time(&d, flow, "time", "time", &r->time_ns);
	if (!ret && !r->time_ns && outer) {
		d.pfx = "";
		ret = get_time(&d, outer, "time", "time", &r->time_ns);
		d.pfx = "flow.";
	}
	ret = ret ?: get_str(&d, flow, "node_name", "node_name", &node);
	if (!ret && !node && outer) {
		d.pfx = "";
		ret = get_str(&d, outer, "node_name", "node_name", &node);
		d.pfx = "flow.";
	}
	ret = ret ?: dup_str(&d, "node_name", node, &r->node_name);
	ret = ret ?: get_str(&d, flow, "uuid", "uuid", &uuid);
	if (!ret && uuid) {
		if (uuid_parse(uuid, &lo))
			ret = bad(&d, "uuid", "not a UUID: \"%.40s\"", uuid);
		else
			r->id = lo & UUID_ID_MASK;
	}
	ret = ret ?: verdict_from_json(&d, flow, r);
	ret = ret ?: ip_from_json(&d, flow, r);
	ret = ret ?: l4_from_json(&d, flow, r);
	ret = ret ?: endpoint_from_json(&d, flow, "source", &r->src);
	ret = ret ?: endpoint_from_json(&d, flow, "destination", &r->dst);
	ret = ret ?: iface_from_json(&d, flow, r);
	ret = ret ?: service_from_json(&d, flow, r);
	ret = ret ?: weir_from_json(&d, flow, r);
	if (ret) {
		weir_flow_record_put(r);
		return ret;
	}
	*out = r;
	return 0;
}

/* ---- for flow_parse.c (flow_json_priv.h): one set of names and rules ---- */

int weir_flow_json_uuid_id(const char *s, uint64_t *id)
{
	uint64_t lo;

	if (uuid_parse(s, &lo))
		return -EINVAL;
	*id = lo & UUID_ID_MASK;
	return 0;
}

int weir_flow_json_record_type(const char *s)
{
	return parse_record(s);
}

int weir_flow_json_end_reason(const char *s)
{
	return parse_end_reason(s);
}

int weir_flow_json_hook(const char *s)
{
	return parse_hook(s);
}

int weir_flow_json_ip_version(const char *s)
{
	return parse_ip_version(s);
}

int weir_flow_json_l4_proto(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(l4_names); i++)
		if (strlen(l4_names[i].name) == n && !memcmp(l4_names[i].name, name, n))
			return l4_names[i].proto;
	return -1;
}
