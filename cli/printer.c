// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow printers after Hubble's (hubble/pkg/printer): compact, table, dict and
 * json, all reading one JSON GetFlowsResponse per flow.
 *
 * Weir's differences: an endpoint without a security identity (Weir's pods)
 * prints none, a Weir record's type is "flow-<record>@<interface>", and its
 * counters follow the summary ("39/23 pkts 52582/1526 B", forward/reply).
 * Text taken from a flow has control characters replaced, so a name cannot
 * drive the terminal.
 */
#define _GNU_SOURCE /* strndup */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "flow.h"
#include "hubble_names.h"
#include "names.h"
#include "printer.h"
#include "table.h"
#include "timefmt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DICT_SEPARATOR "------------"

#define COLOR_RED    "\033[31m"
#define COLOR_GREEN  "\033[32m"
#define COLOR_YELLOW "\033[33m"
#define COLOR_RESET  "\033[0m"

/* Cilium's monitor event types (pkg/monitor/api/types.go). */
#define EVENT_DROP	     1
#define EVENT_CAPTURE	     3
#define EVENT_TRACE	     4
#define EVENT_POLICY_VERDICT 5
#define EVENT_TRACE_SOCK     7

struct weir_printer {
	struct weir_printer_opts o;
	FILE *out, *err;
	unsigned long line; /* flows (and lost-events lines) written */
	struct weir_table *table;
	bool table_counters; /* some row has counters: the table gets the column */
};

/* ---- names and formats ---- */

static const struct {
	const char *name;
	enum weir_output out;
} outputs[] = {
	{ "compact", WEIR_OUT_COMPACT }, { "table", WEIR_OUT_TABLE }, { "tab", WEIR_OUT_TABLE },
	{ "dict", WEIR_OUT_DICT },	 { "json", WEIR_OUT_JSON },   { "jsonpb", WEIR_OUT_JSON },
};

int weir_output_parse(const char *s, enum weir_output *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(outputs); i++)
		if (!strcasecmp(s, outputs[i].name)) {
			*out = outputs[i].out;
			return 0;
		}
	return -EINVAL;
}

static const char *const timefmt_names[] = {
	[WEIR_TIME_STAMP_MILLI] = "StampMilli",
	[WEIR_TIME_RFC3339] = "RFC3339",
	[WEIR_TIME_RFC3339_MILLI] = "RFC3339Milli",
	[WEIR_TIME_RFC3339_MICRO] = "RFC3339Micro",
	[WEIR_TIME_RFC3339_NANO] = "RFC3339Nano",
	[WEIR_TIME_RFC1123Z] = "RFC1123Z",
	[WEIR_TIME_YEAR_MONTH_DAY] = "YearMonthDay",
	[WEIR_TIME_YEAR_MONTH_DAY_HOUR] = "YearMonthDayHour",
	[WEIR_TIME_YEAR_MONTH_DAY_HOUR_MINUTE] = "YearMonthDayHourMinute",
};

int weir_timefmt_parse(const char *s, enum weir_timefmt *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(timefmt_names); i++)
		if (!strcasecmp(s, timefmt_names[i])) {
			*out = (enum weir_timefmt)i;
			return 0;
		}
	return -EINVAL;
}

/* The fraction of Go's ".999..." layouts: digits, trailing zeros cut. */
static void fraction(char *buf, size_t len, uint32_t nsec, int digits)
{
	char d[16];
	int n;

	snprintf(d, sizeof(d), "%09u", nsec);
	d[digits] = '\0';
	for (n = digits; n > 0 && d[n - 1] == '0'; n--)
		d[n - 1] = '\0';
	snprintf(buf, len, "%s%s", n ? "." : "", d);
}

char *weir_time_print(uint64_t ns, enum weir_timefmt f, char *buf, size_t len)
{
	time_t secs = (time_t)(ns / 1000000000ULL);
	uint32_t nsec = (uint32_t)(ns % 1000000000ULL);
	char base[64], frac[32] = "";
	struct tm tm;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, len, "N/A");
		return buf;
	}
	switch (f) {
	case WEIR_TIME_RFC3339:
	case WEIR_TIME_RFC3339_MILLI:
	case WEIR_TIME_RFC3339_MICRO:
	case WEIR_TIME_RFC3339_NANO:
		if (f != WEIR_TIME_RFC3339)
			fraction(frac, sizeof(frac), nsec,
				 f == WEIR_TIME_RFC3339_MILLI ? 3 :
				 f == WEIR_TIME_RFC3339_MICRO ? 6 :
								9);
		strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, len, "%s%sZ", base, frac);
		break;
	case WEIR_TIME_RFC1123Z:
		strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
		break;
	case WEIR_TIME_YEAR_MONTH_DAY:
		strftime(buf, len, "%Y-%m-%d", &tm);
		break;
	case WEIR_TIME_YEAR_MONTH_DAY_HOUR:
		strftime(buf, len, "%Y-%m-%dT%HZ", &tm);
		break;
	case WEIR_TIME_YEAR_MONTH_DAY_HOUR_MINUTE:
		strftime(buf, len, "%Y-%m-%dT%H:%MZ", &tm);
		break;
	case WEIR_TIME_STAMP_MILLI:
	default:
		strftime(base, sizeof(base), "%b %e %H:%M:%S", &tm);
		snprintf(buf, len, "%s.%03u", base, nsec / 1000000);
		break;
	}
	return buf;
}

char *weir_u64_grouped(uint64_t v, char *buf, size_t len)
{
	char digits[24];
	size_t n, i, o = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, v);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* ---- a growing string ---- */

struct sb {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);

		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sb_add(b, buf);
}

/* Text from a flow: control characters become '?'. */
static void sb_text(struct sb *b, const char *s)
{
	for (; s && *s; s++) {
		char c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;

		sb_addn(b, &c, 1);
	}
}

static const char *sb_str(struct sb *b)
{
	return b->s && !b->failed ? b->s : "";
}

static void sb_free(struct sb *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* ---- reading the JSON ---- */

/* o["a"]["b"]... for a path "a.b"; NULL when absent or null. */
static const json_t *jget(const json_t *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (!json_is_object(o) || n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path += n + (path[n] == '.');
	}
	return o && !json_is_null(o) ? o : NULL;
}

static const char *jstr(const json_t *o, const char *path)
{
	const json_t *v = jget(o, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An unsigned integer written as a number or, as protojson writes 64-bit
 * ones, a string. Returns false when absent or not one.
 */
static bool juint(const json_t *o, const char *path, uint64_t *out)
{
	const json_t *v = jget(o, path);
	char *end;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_string(v) && json_string_value(v)[0] >= '0' && json_string_value(v)[0] <= '9') {
		errno = 0;
		*out = strtoull(json_string_value(v), &end, 10);
		return !*end && !errno;
	}
	return false;
}

/* ---- the parts of a flow line ---- */

static void time_of(const struct weir_printer *p, const json_t *resp, const json_t *flow, char *buf,
		    size_t len)
{
	const char *t = jstr(flow, "time");
	uint64_t ns;

	if (!t)
		t = jstr(resp, "time");
	if (!t || weir_time_parse_rfc3339(t, &ns)) {
		snprintf(buf, len, "N/A");
		return;
	}
	weir_time_print(ns, p->o.time_format, buf, len);
}

static const char *node_of(const json_t *resp, const json_t *flow)
{
	const char *n = jstr(flow, "node_name");

	return n ? n : jstr(resp, "node_name");
}

/* Source and destination ports of TCP, UDP and SCTP; "" otherwise. */
static void ports_of(const json_t *flow, char *src, char *dst, size_t len)
{
	static const char *const l4[] = { "l4.TCP", "l4.UDP", "l4.SCTP" };
	char path[48];
	uint64_t v;
	size_t i;

	src[0] = dst[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(l4); i++) {
		if (!jget(flow, l4[i]))
			continue;
		snprintf(path, sizeof(path), "%s.source_port", l4[i]);
		snprintf(src, len, "%" PRIu64, juint(flow, path, &v) ? v : 0);
		snprintf(path, sizeof(path), "%s.destination_port", l4[i]);
		snprintf(dst, len, "%" PRIu64, juint(flow, path, &v) ? v : 0);
		return;
	}
}

/* Hubble's Printer.Hostname(): pod, service or DNS names unless numeric,
 * else the address; ":port" unless there is none (or it is 0).
 */
static void host_of(const struct weir_printer *p, const json_t *flow, const char *side,
		    const char *port, struct sb *b)
{
	const char *ip, *ns, *pod, *svc = NULL, *svc_ns = NULL;
	const json_t *names;
	char path[64];
	struct sb host = { 0 };

	snprintf(path, sizeof(path), "IP.%s", side);
	ip = jstr(flow, path);
	if (!jget(flow, "IP")) {
		snprintf(path, sizeof(path), "ethernet.%s", side);
		sb_text(b, jstr(flow, path));
		return;
	}
	ns = jstr(jget(flow, side), "namespace");
	pod = jstr(jget(flow, side), "pod_name");
	snprintf(path, sizeof(path), "%s_service", side);
	if (jget(flow, path)) {
		svc = jstr(jget(flow, path), "name");
		svc_ns = jstr(jget(flow, path), "namespace");
	}
	snprintf(path, sizeof(path), "%s_names", side);
	names = jget(flow, path);
	if (!p->o.numeric && pod && *pod) {
		if (ns && *ns) {
			sb_text(&host, ns);
			sb_add(&host, "/");
		}
		sb_text(&host, pod);
	} else if (!p->o.numeric && svc && *svc) {
		if (svc_ns && *svc_ns) {
			sb_text(&host, svc_ns);
			sb_add(&host, "/");
		}
		sb_text(&host, svc);
	} else if (!p->o.numeric && json_array_size(names)) {
		const json_t *n;
		size_t i;

		json_array_foreach(names, i, n)
		{
			if (i)
				sb_add(&host, ",");
			sb_text(&host, json_string_value(n));
		}
	} else {
		sb_text(&host, ip);
	}
	/* Go's net.JoinHostPort brackets a host with a colon in it */
	if (port && *port && strcmp(port, "0") != 0) {
		bool bracket = strchr(sb_str(&host), ':') != NULL;

		sb_printf(b, "%s%s%s:%s", bracket ? "[" : "", sb_str(&host), bracket ? "]" : "",
			  port);
	} else {
		sb_add(b, sb_str(&host));
	}
	sb_free(&host);
}

/* Cilium's reserved identities (pkg/identity/numericidentity.go). */
static const char *const reserved_identities[] = {
	[1] = "host",	    [2] = "world",	 [3] = "unmanaged",	 [4] = "health",
	[5] = "init",	    [6] = "remote-node", [7] = "kube-apiserver", [8] = "ingress",
	[9] = "world-ipv4", [10] = "world-ipv6",
};

/* " (ID:1234)", " (world)", or nothing for an endpoint without one. */
static void identity_of(const json_t *flow, const char *side, struct sb *b)
{
	uint64_t id = 0;
	char path[32];

	snprintf(path, sizeof(path), "%s.identity", side);
	if (!juint(flow, path, &id) || !id)
		return;
	if (id < ARRAY_SIZE(reserved_identities) && reserved_identities[id])
		sb_printf(b, " (%s)", reserved_identities[id]);
	else
		sb_printf(b, " (ID:%" PRIu64 ")", id);
}

/* Cilium's trace observation points by event sub-type (pkg/monitor/api). */
static const char *const trace_points[] = {
	[0] = "to-endpoint",  [1] = "to-proxy",	     [2] = "to-host",	    [3] = "to-stack",
	[4] = "to-overlay",   [5] = "from-endpoint", [6] = "from-proxy",    [7] = "from-host",
	[8] = "from-stack",   [9] = "from-overlay",  [10] = "from-network", [11] = "to-network",
	[12] = "from-crypto", [13] = "to-crypto",
};

static void drop_type(const json_t *flow, uint64_t sub, struct sb *b)
{
	const char *text = sub <= 255 && weir_reason_is_drop((unsigned int)sub) ?
				   weir_reason_text((unsigned int)sub) :
				   NULL;
	const char *desc = jstr(flow, "drop_reason_desc");

	if (text)
		sb_text(b, text);
	else if (desc)
		sb_text(b, desc);
	else
		sb_printf(b, "%" PRIu64, sub);
}

/* Hubble's GetFlowType(), and Weir's records. */
static void type_of(const json_t *flow, struct sb *b)
{
	const json_t *l7 = jget(flow, "l7");
	const char *record = jstr(flow, "weir.record");
	uint64_t type = 0, sub = 0;

	if (l7) {
		const char *t = jstr(l7, "type");
		const char *proto = jget(l7, "http")  ? "http" :
				    jget(l7, "dns")   ? "dns" :
				    jget(l7, "kafka") ? "kafka" :
							"l7";

		sb_printf(b, "%s-", proto);
		for (; t && *t; t++)
			sb_printf(b, "%c", *t >= 'A' && *t <= 'Z' ? *t - 'A' + 'a' : *t);
		return;
	}
	juint(flow, "event_type.type", &type);
	juint(flow, "event_type.sub_type", &sub);
	if (record && strcmp(record, "drop") != 0) {
		const char *itf = jstr(flow, "interface.name");
		const char *desc = jstr(flow, "drop_reason_desc");

		sb_add(b, "flow-");
		sb_text(b, record);
		if (itf && *itf) {
			sb_add(b, "@");
			sb_text(b, itf);
		}
		/* a flow dropped by policy is a record, not a drop event: say why */
		if (desc && *desc) {
			sb_add(b, " ");
			sb_text(b, desc);
		}
		return;
	}
	switch (type) {
	case EVENT_TRACE:
		if (sub < ARRAY_SIZE(trace_points) && trace_points[sub])
			sb_add(b, trace_points[sub]);
		else
			sb_printf(b, "%" PRIu64, sub);
		return;
	case EVENT_DROP:
		drop_type(flow, sub, b);
		return;
	case EVENT_POLICY_VERDICT:
		sb_add(b, "policy-verdict");
		return;
	case EVENT_CAPTURE:
		sb_text(b, jstr(flow, "debug_capture_point") ?: "capture");
		return;
	case EVENT_TRACE_SOCK:
		sb_text(b, jstr(flow, "sock_xlate_point") ?: "trace-sock");
		return;
	}
	sb_add(b, "UNKNOWN");
}

static void verdict_of(const struct weir_printer *p, const json_t *flow, bool color, struct sb *b)
{
	const json_t *v = jget(flow, "verdict");
	const char *name = json_is_string(v) ? json_string_value(v) : NULL;
	const char *c = NULL;

	if (!name && json_is_integer(v))
		name = weir_hubble_verdict_name((unsigned int)json_integer_value(v));
	if (!name)
		name = "VERDICT_UNKNOWN";
	if (color && p->o.color) {
		if (!strcmp(name, "FORWARDED") || !strcmp(name, "REDIRECTED"))
			c = COLOR_GREEN;
		else if (!strcmp(name, "DROPPED") || !strcmp(name, "ERROR"))
			c = COLOR_RED;
		else if (!strcmp(name, "AUDIT") || !strcmp(name, "TRACED") ||
			 !strcmp(name, "TRANSLATED"))
			c = COLOR_YELLOW;
	}
	if (c)
		sb_add(b, c);
	sb_text(b, name);
	if (c)
		sb_add(b, COLOR_RESET);
}

/* Weir's counters, forward/reply: "39/23 pkts 52582/1526 B"; "" for a flow without. */
static void counters_of(const json_t *flow, struct sb *b)
{
	uint64_t pk = 0, by = 0, rpk = 0, rby = 0;
	bool any;

	any = juint(flow, "weir.packets", &pk) | juint(flow, "weir.bytes", &by) |
	      juint(flow, "weir.reply_packets", &rpk) | juint(flow, "weir.reply_bytes", &rby);
	if (any)
		sb_printf(b, "%" PRIu64 "/%" PRIu64 " pkts %" PRIu64 "/%" PRIu64 " B", pk, rpk, by,
			  rby);
}

/* Everything a text printer shows of one flow. */
struct flow_text {
	char time[64];
	const char *node;
	struct sb src, dst, src_id, dst_id, type, verdict, summary, counters;
	const char *arrow;
};

static void flow_text_free(struct flow_text *t)
{
	sb_free(&t->src);
	sb_free(&t->dst);
	sb_free(&t->src_id);
	sb_free(&t->dst_id);
	sb_free(&t->type);
	sb_free(&t->verdict);
	sb_free(&t->summary);
	sb_free(&t->counters);
}

static void flow_text(const struct weir_printer *p, const json_t *resp, const json_t *flow,
		      bool color, struct flow_text *t)
{
	const json_t *reply = jget(flow, "is_reply");
	char sport[16], dport[16];

	memset(t, 0, sizeof(*t));
	time_of(p, resp, flow, t->time, sizeof(t->time));
	t->node = node_of(resp, flow);
	ports_of(flow, sport, dport, sizeof(sport));
	host_of(p, flow, "source", sport, &t->src);
	host_of(p, flow, "destination", dport, &t->dst);
	identity_of(flow, "source", &t->src_id);
	identity_of(flow, "destination", &t->dst_id);
	type_of(flow, &t->type);
	verdict_of(p, flow, color, &t->verdict);
	sb_text(&t->summary, jstr(flow, "Summary"));
	counters_of(flow, &t->counters);
	/* Hubble: unknown direction "<>"; a reply is drawn from its destination */
	t->arrow = "->";
	if (!json_is_boolean(reply)) {
		t->arrow = "<>";
	} else if (json_is_true(reply)) {
		struct sb tmp = t->src;

		t->src = t->dst;
		t->dst = tmp;
		tmp = t->src_id;
		t->src_id = t->dst_id;
		t->dst_id = tmp;
		t->arrow = "<-";
	}
}

/* ---- the printers ---- */

static int put(struct weir_printer *p, FILE *f, const char *s)
{
	(void)p;
	return fputs(s, f) < 0 ? -EIO : 0;
}

static int compact_flow(struct weir_printer *p, const json_t *resp, const json_t *flow)
{
	struct flow_text t;
	struct sb line = { 0 };
	int ret;

	flow_text(p, resp, flow, true, &t);
	sb_add(&line, t.time);
	if (p->o.node_name) {
		sb_add(&line, " [");
		sb_text(&line, t.node);
		sb_add(&line, "]");
	}
	sb_printf(&line, ": ");
	sb_add(&line, sb_str(&t.src));
	sb_add(&line, sb_str(&t.src_id));
	sb_printf(&line, " %s ", t.arrow);
	sb_add(&line, sb_str(&t.dst));
	sb_add(&line, sb_str(&t.dst_id));
	sb_add(&line, " ");
	sb_add(&line, sb_str(&t.type));
	sb_add(&line, " ");
	sb_add(&line, sb_str(&t.verdict));
	sb_add(&line, " (");
	sb_add(&line, sb_str(&t.summary));
	sb_add(&line, ")");
	if (t.counters.len) {
		sb_add(&line, " ");
		sb_add(&line, sb_str(&t.counters));
	}
	sb_add(&line, "\n");
	ret = line.failed ? -ENOMEM : put(p, p->out, sb_str(&line));
	sb_free(&line);
	flow_text_free(&t);
	return ret;
}

static int dict_flow(struct weir_printer *p, const json_t *resp, const json_t *flow)
{
	struct flow_text t;
	struct sb out = { 0 };
	int ret;

	flow_text(p, resp, flow, true, &t);
	if (p->line)
		sb_add(&out, DICT_SEPARATOR "\n");
	sb_printf(&out, "  TIMESTAMP: %s\n", t.time);
	if (p->o.node_name) {
		sb_add(&out, "       NODE: ");
		sb_text(&out, t.node);
		sb_add(&out, "\n");
	}
	sb_printf(&out, "     SOURCE: ");
	sb_add(&out, sb_str(&t.src));
	sb_add(&out, "\nDESTINATION: ");
	sb_add(&out, sb_str(&t.dst));
	sb_add(&out, "\n       TYPE: ");
	sb_add(&out, sb_str(&t.type));
	sb_add(&out, "\n    VERDICT: ");
	sb_add(&out, sb_str(&t.verdict));
	sb_add(&out, "\n    SUMMARY: ");
	sb_add(&out, sb_str(&t.summary));
	sb_add(&out, "\n");
	if (t.counters.len) {
		sb_add(&out, "   COUNTERS: ");
		sb_add(&out, sb_str(&t.counters));
		sb_add(&out, "\n");
	}
	ret = out.failed ? -ENOMEM : put(p, p->out, sb_str(&out));
	sb_free(&out);
	flow_text_free(&t);
	return ret;
}

static int table_row(struct weir_printer *p, const char *time, const char *node, const char *src,
		     const char *dst, const char *type, const char *verdict, const char *summary,
		     const char *counters)
{
	const char *cells[8];
	size_t n = 0;

	cells[n++] = time;
	if (p->o.node_name)
		cells[n++] = node;
	cells[n++] = src;
	cells[n++] = dst;
	cells[n++] = type;
	cells[n++] = verdict;
	cells[n++] = summary;
	cells[n++] = counters;
	if (counters && *counters)
		p->table_counters = true;
	return weir_table_add(p->table, cells, n);
}

static int table_flow(struct weir_printer *p, const json_t *resp, const json_t *flow)
{
	struct flow_text t;
	struct sb node = { 0 };
	int ret;

	flow_text(p, resp, flow, false, &t);
	sb_text(&node, t.node);
	ret = table_row(p, t.time, sb_str(&node), sb_str(&t.src), sb_str(&t.dst), sb_str(&t.type),
			sb_str(&t.verdict), sb_str(&t.summary), sb_str(&t.counters));
	sb_free(&node);
	flow_text_free(&t);
	return ret;
}

static int json_line(FILE *f, const json_t *resp)
{
	char *text = json_dumps(resp, JSON_COMPACT);
	int ret;

	if (!text)
		return -ENOMEM;
	ret = fputs(text, f) < 0 || fputc('\n', f) == EOF ? -EIO : 0;
	free(text);
	return ret;
}

/* Hubble's WriteLostEvent(). */
static int lost_events(struct weir_printer *p, const json_t *resp, const json_t *lost)
{
	uint64_t n = 0, cpu = 0;
	struct sb src = { 0 }, out = { 0 };
	char cnt[64];
	int ret = 0;

	juint(lost, "num_events_lost", &n);
	if (!juint(lost, "cpu", &cpu))
		juint(lost, "cpu.value", &cpu);
	sb_text(&src, jstr(lost, "source") ?: "UNKNOWN");
	switch (p->o.output) {
	case WEIR_OUT_JSON:
		ret = json_line(p->out, resp);
		break;
	case WEIR_OUT_TABLE:
		snprintf(cnt, sizeof(cnt), "CPU(%" PRIu64 ") - %" PRIu64, cpu, n);
		ret = table_row(p, "", "", sb_str(&src), "", "EVENTS LOST", "", cnt, "");
		break;
	case WEIR_OUT_DICT:
		if (p->line)
			sb_add(&out, DICT_SEPARATOR "\n");
		sb_add(&out, "  TIMESTAMP: \n");
		if (p->o.node_name)
			sb_add(&out, "       NODE: \n");
		sb_printf(&out,
			  "     SOURCE: %s\n       TYPE: EVENTS LOST\n    VERDICT: \n"
			  "    SUMMARY: CPU(%" PRIu64 ") - %" PRIu64 "\n",
			  sb_str(&src), cpu, n);
		ret = put(p, p->out, sb_str(&out));
		break;
	case WEIR_OUT_COMPACT:
		sb_printf(&out, "EVENTS LOST: %s CPU(%" PRIu64 ") %" PRIu64 "\n", sb_str(&src), cpu,
			  n);
		ret = put(p, p->out, sb_str(&out));
		break;
	}
	sb_free(&src);
	sb_free(&out);
	return ret;
}

/* Hubble's WriteProtoNodeStatusEvent(): a relay's unavailable or failing
 * nodes, on the error stream.
 */
static int node_status(struct weir_printer *p, const json_t *resp, const json_t *st)
{
	const char *state = jstr(st, "state_change") ?: "";
	const json_t *names = jget(st, "node_names"), *n;
	struct sb out = { 0 }, list = { 0 };
	char time[64];
	size_t i;
	int ret;

	if (p->o.output == WEIR_OUT_JSON)
		return json_line(p->err, resp);
	if (strcmp(state, "NODE_ERROR") != 0 && strcmp(state, "NODE_UNAVAILABLE") != 0)
		return 0;
	time_of(p, resp, NULL, time, sizeof(time));
	json_array_foreach(names, i, n)
	{
		if (i)
			sb_add(&list, ", ");
		sb_text(&list, json_string_value(n));
	}
	sb_add(&out, time);
	if (jstr(resp, "node_name") && *jstr(resp, "node_name")) {
		sb_add(&out, " [");
		sb_text(&out, jstr(resp, "node_name"));
		sb_add(&out, "]");
	}
	sb_add(&out, ": ");
	if (!strcmp(state, "NODE_ERROR")) {
		sb_add(&out, "Error \"");
		sb_text(&out, jstr(st, "message"));
		sb_printf(&out, "\" on %zu nodes: ", json_array_size(names));
	} else {
		sb_printf(&out, "%zu nodes are unavailable: ", json_array_size(names));
	}
	sb_add(&out, sb_str(&list));
	sb_add(&out, "\n");
	ret = put(p, p->err, sb_str(&out));
	sb_free(&out);
	sb_free(&list);
	return ret;
}

struct weir_printer *weir_printer_new(FILE *out, FILE *err, const struct weir_printer_opts *o)
{
	struct weir_printer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->o = *o;
	p->out = out;
	p->err = err;
	if (o->output == WEIR_OUT_TABLE) {
		/* Hubble: the tabwriter and colors do not mix */
		p->o.color = false;
		p->table = weir_table_new();
		if (!p->table) {
			free(p);
			return NULL;
		}
	}
	return p;
}

int weir_printer_write(struct weir_printer *p, const json_t *resp)
{
	const json_t *flow = jget(resp, "flow"), *v;
	int ret;

	if ((v = jget(resp, "lost_events"))) {
		ret = lost_events(p, resp, v);
		p->line++;
		return ret;
	}
	if ((v = jget(resp, "node_status")))
		return node_status(p, resp, v);
	if (!flow)
		flow = resp; /* a bare Flow, as some files hold them */
	switch (p->o.output) {
	case WEIR_OUT_JSON:
		ret = json_line(p->out, resp);
		break;
	case WEIR_OUT_TABLE:
		ret = table_flow(p, resp, flow);
		break;
	case WEIR_OUT_DICT:
		ret = dict_flow(p, resp, flow);
		break;
	case WEIR_OUT_COMPACT:
	default:
		ret = compact_flow(p, resp, flow);
		break;
	}
	p->line++;
	return ret;
}

static int table_close(struct weir_printer *p)
{
	static const char *const head[] = { "TIMESTAMP", "NODE",    "SOURCE",  "DESTINATION",
					    "TYPE",	 "VERDICT", "SUMMARY", "COUNTERS" };
	struct weir_table *t;
	const char *cells[8];
	size_t i, n = 0;
	int ret;

	if (!weir_table_rows(p->table))
		return 0;
	t = weir_table_new();
	if (!t)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(head); i++) {
		if ((i == 1 && !p->o.node_name) || (i == 7 && !p->table_counters))
			continue;
		cells[n++] = head[i];
	}
	ret = weir_table_add(t, cells, n);
	/* the rows again, without the counters column when no row has counters */
	for (i = 0; !ret && i < weir_table_rows(p->table); i++) {
		const char *row[8];
		size_t k, m = 0;

		for (k = 0; k < n; k++)
			row[m++] = weir_table_cell(p->table, i, k);
		ret = weir_table_add(t, row, n);
	}
	if (!ret)
		ret = weir_table_print(t, p->out);
	weir_table_free(t);
	return ret;
}

int weir_printer_close(struct weir_printer *p)
{
	int ret = 0;

	if (!p)
		return 0;
	if (p->table)
		ret = table_close(p);
	if (!ret && fflush(p->out))
		ret = -EIO;
	weir_table_free(p->table);
	free(p);
	return ret;
}
