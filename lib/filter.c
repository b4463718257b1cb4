// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Hubble's FlowFilter, compiled: every value is parsed once (addresses to
 * bytes and prefix, ports to integers, enums to bitmaps, label selectors to
 * requirements), so matching a record is comparisons only, with no allocation.
 */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "filter.h"
#include "filter_priv.h"
#include "flow_json_priv.h"
#include "hubble_names.h"
#include "label_selector.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- construction ---- */

struct ctx {
	const char *where; /* "allowlist[0]" */
	const char *key;   /* "source_ip" */
	size_t idx;	   /* index in the key's list */
	char *err;
	size_t err_len;
};

__attribute__((format(printf, 2, 3))) static int fail(struct ctx *c, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->err && c->err_len)
		snprintf(c->err, c->err_len, "%s.%s[%zu]: %s", c->where, c->key, c->idx, what);
	return -EINVAL;
}

static int nomem(struct ctx *c)
{
	if (c->err && c->err_len)
		snprintf(c->err, c->err_len, "out of memory");
	return -ENOMEM;
}

static const char *str_value(struct ctx *c, const json_t *v)
{
	if (!json_is_string(v)) {
		fail(c, "expected a string");
		return NULL;
	}
	return json_string_value(v);
}

/* calloc for a list of n; n is never 0 here. */
static void *list_alloc(struct ctx *c, size_t n, size_t size, void *out)
{
	void *p = calloc(n, size);

	if (!p)
		nomem(c);
	*(void **)out = p;
	return p;
}

/* One item of a list field from its JSON value, into a zeroed item. */
typedef int (*item_parse_fn)(struct ctx *c, const json_t *v, void *item);

/* A list field: *out a zeroed array of one item of size bytes per element
 * of arr, each made by parse. *n counts the items parse was given, a failed
 * one too, so filter_free() releases whatever it holds.
 */
static int parse_list(struct ctx *c, const json_t *arr, size_t size, void **out, size_t *n,
		      item_parse_fn parse)
{
	const json_t *v;
	char *items;
	size_t i;
	int err;

	items = list_alloc(c, json_array_size(arr), size, out);
	if (!items)
		return -ENOMEM;
	json_array_foreach(arr, i, v)
	{
		c->idx = i;
		(*n)++;
		err = parse(c, v, items + i * size);
		if (err)
			return err;
	}
	return 0;
}

#define PARSE_LIST(c, arr, list, n, item) \
	parse_list(c, arr, sizeof(*(list)), (void **)&(list), &(n), item)

static int parse_cidr(struct ctx *c, const char *s, void *item)
{
	struct cidr *out = item;
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int max, plen, i;
	char *end;

	if (alen >= sizeof(addr))
		return fail(c, "invalid IP address or CIDR \"%.64s\"", s);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->bytes) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, addr, out->bytes) == 1)
		out->family = 6;
	else
		return fail(c, "invalid IP address or CIDR \"%.64s\"", s);
	max = out->family == 4 ? 32 : 128;
	plen = max;
	if (slash) {
		unsigned long v;

		if (slash[1] < '0' || slash[1] > '9')
			return fail(c, "invalid CIDR prefix length in \"%.64s\"", s);
		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (errno || *end || v > max)
			return fail(c, "invalid CIDR prefix length in \"%.64s\"", s);
		plen = (unsigned int)v;
	}
	out->prefix_len = (uint8_t)plen;
	/* clear host bits, as Go's net.ParseCIDR does */
	for (i = 0; i < 16; i++) {
		if (i * 8 >= plen)
			out->bytes[i] = 0;
		else if (i * 8 + 8 > plen)
			out->bytes[i] &= (uint8_t)(0xff00 >> (plen - i * 8));
	}
	return 0;
}

static int ip_item(struct ctx *c, const json_t *v, void *item)
{
	const char *s = str_value(c, v);

	return s ? parse_cidr(c, s, item) : -EINVAL;
}

/* Hubble: "ns/prefix", "ns/" (the whole namespace), "prefix" in namespace
 * "default", and (cilium/cilium#28921, for --all-namespaces) "/prefix" and "/"
 * in any namespace.
 */
static int pod_item(struct ctx *c, const json_t *v, void *item)
{
	struct pod *p = item;
	const char *s = str_value(c, v), *slash;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash && strchr(slash + 1, '/'))
		return fail(c, "\"%.64s\": expected [namespace/][pod-name-prefix]", s);
	if (!slash && !*s)
		return fail(c, "empty pod filter: expected [namespace/][pod-name-prefix]");
	p->ns = slash ? strndup(s, (size_t)(slash - s)) : strdup("default");
	p->prefix = strdup(slash ? slash + 1 : s);
	if (!p->ns || !p->prefix)
		return nomem(c);
	p->prefix_len = strlen(p->prefix);
	return 0;
}

static int label_item(struct ctx *c, const json_t *v, void *item)
{
	const char *s = str_value(c, v);
	char why[128];
	int err;

	if (!s)
		return -EINVAL;
	err = weir_label_selector_parse(s, item, why, sizeof(why));
	if (err == -ENOMEM)
		return nomem(c);
	if (err)
		return fail(c, "label selector \"%.64s\": %s", s, why);
	return 0;
}

/* Ports travel as strings in Hubble's FlowFilter; numbers are accepted too. */
static int port_item(struct ctx *c, const json_t *v, void *item)
{
	unsigned long port;
	char *end;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > UINT16_MAX)
			return fail(c, "invalid port %lld", (long long)json_integer_value(v));
		port = (unsigned long)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		errno = 0;
		port = strtoul(s, &end, 10);
		if (*s < '0' || *s > '9' || *end || errno || port > UINT16_MAX)
			return fail(c, "invalid port \"%.32s\"", s);
	} else {
		return fail(c, "expected a port number as a string");
	}
	*(uint16_t *)item = (uint16_t)port;
	return 0;
}

static int parse_protocols(struct ctx *c, const json_t *arr, uint8_t *out)
{
	static const struct {
		const char *name;
		uint8_t bits;
	} protos[] = {
		{ "tcp", PROTO_TCP },
		{ "udp", PROTO_UDP },
		{ "sctp", PROTO_SCTP },
		{ "icmp", PROTO_ICMPV4 | PROTO_ICMPV6 },
		{ "icmpv4", PROTO_ICMPV4 },
		{ "icmpv6", PROTO_ICMPV6 },
		{ "dns", 0 },
		{ "http", 0 },
		{ "kafka", 0 },
	};
	const json_t *v;
	size_t i, j;

	json_array_foreach(arr, i, v)
	{
		const char *s;

		c->idx = i;
		s = str_value(c, v);
		if (!s)
			return -EINVAL;
		for (j = 0; j < ARRAY_SIZE(protos); j++)
			if (!strcasecmp(s, protos[j].name))
				break;
		if (j == ARRAY_SIZE(protos))
			return fail(c, "unknown protocol \"%.32s\"", s);
		*out |= protos[j].bits;
	}
	return 0;
}

/* Enum values by name (parse) or number, into a bitmap. */
static int parse_enums(struct ctx *c, const json_t *arr, int (*parse)(const char *),
		       const char *what, struct bits *out)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		int code;

		c->idx = i;
		if (json_is_integer(v)) {
			if (json_integer_value(v) < 0 || json_integer_value(v) > 255)
				return fail(c, "unknown %s %lld", what,
					    (long long)json_integer_value(v));
			code = (int)json_integer_value(v);
		} else if (json_is_string(v)) {
			code = parse(json_string_value(v));
			if (code < 0 || code > 255)
				return fail(c, "unknown %s \"%.64s\"", what, json_string_value(v));
		} else {
			return fail(c, "expected a string");
		}
		bits_set(out, (unsigned int)code);
	}
	return 0;
}

static int parse_ip_versions(struct ctx *c, const json_t *arr, uint8_t *out)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		json_int_t num = json_is_integer(v) ? json_integer_value(v) : -1;

		c->idx = i;
		if (!strcasecmp(s, "IP_NOT_USED") || num == 0)
			*out |= IPV_NONE;
		else if (!strcasecmp(s, "IPv4") || num == 1)
			*out |= IPV_4;
		else if (!strcasecmp(s, "IPv6") || num == 2)
			*out |= IPV_6;
		else if (json_is_string(v))
			return fail(c, "unknown IP version \"%.32s\"", s);
		else
			return fail(c, "expected \"IPv4\", \"IPv6\" or \"IP_NOT_USED\"");
	}
	return 0;
}

static int parse_replies(struct ctx *c, const json_t *arr, uint8_t *out)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		c->idx = i;
		if (!json_is_boolean(v))
			return fail(c, "expected true or false");
		*out |= json_is_true(v) ? 2 : 1;
	}
	return 0;
}

static int tcp_flags_item(struct ctx *c, const json_t *v, void *item)
{
	const json_t *fv;
	const char *name;
	uint32_t want = 0;

	if (!json_is_object(v))
		return fail(c, "expected an object like {\"SYN\": true}");
	json_object_foreach((json_t *)v, name, fv)
	{
		uint32_t bit = weir_tcp_flag_parse(name);

		if (!bit)
			return fail(c, "unknown TCP flag \"%.16s\"", name);
		if (!json_is_boolean(fv))
			return fail(c, "%s: expected true or false", name);
		if (json_is_true(fv))
			want |= bit;
	}
	*(uint32_t *)item = want;
	return 0;
}

static int iface_item(struct ctx *c, const json_t *v, void *item)
{
	struct iface *itf = item;
	const json_t *fv;
	const char *name;

	if (!json_is_object(v))
		return fail(c, "expected an object like {\"name\": \"eth0\"}");
	json_object_foreach((json_t *)v, name, fv)
	{
		if (!strcmp(name, "index")) {
			if (!json_is_integer(fv) || json_integer_value(fv) < 0 ||
			    json_integer_value(fv) > UINT32_MAX)
				return fail(c, "index: expected an interface index");
			itf->index = (uint32_t)json_integer_value(fv);
		} else if (!strcmp(name, "name")) {
			if (!json_is_string(fv))
				return fail(c, "name: expected a string");
			if (json_string_length(fv) >= sizeof(itf->name))
				return fail(c, "name: longer than %zu characters",
					    sizeof(itf->name) - 1);
			memcpy(itf->name, json_string_value(fv), json_string_length(fv) + 1);
		} else {
			return fail(c, "unknown field \"%.32s\" (index, name)", name);
		}
	}
	return 0;
}

static int parse_pat(struct ctx *c, const char *s, size_t len, struct pat *p)
{
	size_t globs = 0, i;

	if (!len) {
		p->kind = PAT_ANY;
		return 0;
	}
	for (i = 0; i < len; i++)
		globs += !!strchr("*?[", s[i]);
	p->kind = PAT_GLOB;
	if (!globs)
		p->kind = PAT_EXACT;
	else if (globs == 1 && s[len - 1] == '*')
		p->kind = PAT_PREFIX;
	p->len = p->kind == PAT_PREFIX ? len - 1 : len;
	p->s = strndup(s, p->len);
	return p->s ? 0 : nomem(c);
}

static int node_item(struct ctx *c, const json_t *v, void *item)
{
	struct node_pat *np = item;
	const char *s = str_value(c, v), *slash;
	int err;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!*s)
		return fail(c, "empty node name pattern");
	if (slash && strchr(slash + 1, '/'))
		return fail(c, "\"%.64s\": too many slashes (expected [cluster/]node)", s);
	if (slash) {
		err = parse_pat(c, s, (size_t)(slash - s), &np->cluster);
		err = err ?: parse_pat(c, slash + 1, strlen(slash + 1), &np->node);
	} else {
		np->cluster.kind = PAT_ANY;
		err = parse_pat(c, s, strlen(s), &np->node);
	}
	return err;
}

/* Hubble: "ns/name-prefix", or "name-prefix" (and "/name-prefix") in any
 * namespace.
 */
static int svc_item(struct ctx *c, const json_t *v, void *item)
{
	struct svc *sv = item;
	const char *s = str_value(c, v), *slash;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if ((slash && strchr(slash + 1, '/')) || !*s || (slash == s && !slash[1]))
		return fail(c, "\"%.64s\": expected [namespace/]service-name-prefix", s);
	sv->ns = slash ? strndup(s, (size_t)(slash - s)) : strdup("");
	sv->prefix = strdup(slash ? slash + 1 : s);
	if (!sv->ns || !sv->prefix)
		return nomem(c);
	sv->prefix_len = strlen(sv->prefix);
	return 0;
}

/* Hubble's Workload objects: {"kind": "Deployment", "name": "web"}. */
static int workload_item(struct ctx *c, const json_t *v, void *item)
{
	struct workload *w = item;
	const json_t *fv;
	const char *key;

	if (!json_is_object(v))
		return fail(c, "expected an object like {\"kind\": \"Deployment\", "
			       "\"name\": \"web\"}");
	json_object_foreach((json_t *)v, key, fv)
	{
		char **dst;

		if (!strcmp(key, "kind"))
			dst = &w->kind;
		else if (!strcmp(key, "name"))
			dst = &w->name;
		else
			return fail(c, "unknown field \"%.32s\" (kind, name)", key);
		if (!json_is_string(fv))
			return fail(c, "%s: expected a string", key);
		free(*dst);
		*dst = json_string_length(fv) ? strdup(json_string_value(fv)) : NULL;
		if (json_string_length(fv) && !*dst)
			return nomem(c);
	}
	return 0;
}

/* Numeric security identities, as numbers or strings of digits. */
static int identity_item(struct ctx *c, const json_t *v, void *item)
{
	unsigned long long id;
	char *end;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
			return fail(c, "invalid identity %lld", (long long)json_integer_value(v));
		id = (unsigned long long)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *str = json_string_value(v);

		errno = 0;
		id = strtoull(str, &end, 10);
		if (*str < '0' || *str > '9' || *end || errno || id > UINT32_MAX)
			return fail(c, "invalid identity \"%.32s\"", str);
	} else {
		return fail(c, "expected a numeric identity");
	}
	*(uint32_t *)item = (uint32_t)id;
	return 0;
}

/* The FlowFilter fields Weir knows; Hubble's others are refused by name. */
enum field_id {
	K_SRC_IP,
	K_DST_IP,
	K_SRC_POD,
	K_DST_POD,
	K_SRC_LABEL,
	K_DST_LABEL,
	K_SRC_PORT,
	K_DST_PORT,
	K_PROTOCOL,
	K_VERDICT,
	K_DROP_REASON,
	K_DIR,
	K_NODE,
	K_TCP_FLAGS,
	K_IP_VERSION,
	K_IFACE,
	K_REPLY,
	K_SRC_SERVICE,
	K_DST_SERVICE,
	K_SRC_WORKLOAD,
	K_DST_WORKLOAD,
	K_SRC_IDENTITY,
	K_DST_IDENTITY,
};

static const char *const field_names[] = {
	[K_SRC_IP] = "source_ip",
	[K_DST_IP] = "destination_ip",
	[K_SRC_POD] = "source_pod",
	[K_DST_POD] = "destination_pod",
	[K_SRC_LABEL] = "source_label",
	[K_DST_LABEL] = "destination_label",
	[K_SRC_PORT] = "source_port",
	[K_DST_PORT] = "destination_port",
	[K_PROTOCOL] = "protocol",
	[K_VERDICT] = "verdict",
	[K_DROP_REASON] = "drop_reason_desc",
	[K_DIR] = "traffic_direction",
	[K_NODE] = "node_name",
	[K_TCP_FLAGS] = "tcp_flags",
	[K_IP_VERSION] = "ip_version",
	[K_IFACE] = "interface",
	[K_REPLY] = "reply",
	[K_SRC_SERVICE] = "source_service",
	[K_DST_SERVICE] = "destination_service",
	[K_SRC_WORKLOAD] = "source_workload",
	[K_DST_WORKLOAD] = "destination_workload",
	[K_SRC_IDENTITY] = "source_identity",
	[K_DST_IDENTITY] = "destination_identity",
};

static const char *const hubble_only_fields[] = {
	"uuid",
	"source_ip_xlated",
	"source_fqdn",
	"destination_fqdn",
	"source_cluster_name",
	"destination_cluster_name",
	"event_type",
	"http_status_code",
	"http_method",
	"http_path",
	"http_url",
	"http_header",
	"dns_query",
	"node_labels",
	"trace_id",
	"ip_trace_id",
	"encrypted",
	"experimental",
};

static int parse_field(struct ctx *c, struct weir_filter *f, enum field_id k, const json_t *arr)
{
	static const uint32_t flag[] = {
		[K_SRC_IP] = F_SRC_IP,
		[K_DST_IP] = F_DST_IP,
		[K_SRC_POD] = F_SRC_POD,
		[K_DST_POD] = F_DST_POD,
		[K_SRC_LABEL] = F_SRC_LABEL,
		[K_DST_LABEL] = F_DST_LABEL,
		[K_SRC_PORT] = F_SRC_PORT,
		[K_DST_PORT] = F_DST_PORT,
		[K_PROTOCOL] = F_PROTOCOL,
		[K_VERDICT] = F_VERDICT,
		[K_DROP_REASON] = F_DROP_REASON,
		[K_DIR] = F_DIR,
		[K_NODE] = F_NODE,
		[K_TCP_FLAGS] = F_TCP_FLAGS,
		[K_IP_VERSION] = F_IP_VERSION,
		[K_IFACE] = F_IFACE,
		[K_REPLY] = F_REPLY,
		[K_SRC_SERVICE] = F_SRC_SERVICE,
		[K_DST_SERVICE] = F_DST_SERVICE,
		[K_SRC_WORKLOAD] = F_SRC_WORKLOAD,
		[K_DST_WORKLOAD] = F_DST_WORKLOAD,
		[K_SRC_IDENTITY] = F_SRC_IDENTITY,
		[K_DST_IDENTITY] = F_DST_IDENTITY,
	};

	if (f->fields & flag[k]) {
		snprintf(c->err, c->err_len, "%s.%s: given twice (by proto and JSON name)",
			 c->where, field_names[k]);
		return -EINVAL;
	}
	f->fields |= flag[k];
	switch (k) {
	case K_SRC_IP:
		return PARSE_LIST(c, arr, f->src_ips, f->n_src_ips, ip_item);
	case K_DST_IP:
		return PARSE_LIST(c, arr, f->dst_ips, f->n_dst_ips, ip_item);
	case K_SRC_POD:
		return PARSE_LIST(c, arr, f->src_pods, f->n_src_pods, pod_item);
	case K_DST_POD:
		return PARSE_LIST(c, arr, f->dst_pods, f->n_dst_pods, pod_item);
	case K_SRC_LABEL:
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): a list of pointers */
		return PARSE_LIST(c, arr, f->src_labels, f->n_src_labels, label_item);
	case K_DST_LABEL:
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): a list of pointers */
		return PARSE_LIST(c, arr, f->dst_labels, f->n_dst_labels, label_item);
	case K_SRC_PORT:
		return PARSE_LIST(c, arr, f->src_ports, f->n_src_ports, port_item);
	case K_DST_PORT:
		return PARSE_LIST(c, arr, f->dst_ports, f->n_dst_ports, port_item);
	case K_PROTOCOL:
		return parse_protocols(c, arr, &f->protocols);
	case K_VERDICT:
		return parse_enums(c, arr, weir_hubble_verdict_parse, "verdict", &f->verdicts);
	case K_DROP_REASON:
		return parse_enums(c, arr, weir_hubble_drop_reason_parse, "drop reason",
				   &f->drop_reasons);
	case K_DIR:
		return parse_enums(c, arr, weir_hubble_dir_parse, "traffic direction", &f->dirs);
	case K_NODE:
		return PARSE_LIST(c, arr, f->nodes, f->n_nodes, node_item);
	case K_TCP_FLAGS:
		return PARSE_LIST(c, arr, f->tcp_flags, f->n_tcp_flags, tcp_flags_item);
	case K_IP_VERSION:
		return parse_ip_versions(c, arr, &f->ip_versions);
	case K_IFACE:
		return PARSE_LIST(c, arr, f->ifaces, f->n_ifaces, iface_item);
	case K_REPLY:
		return parse_replies(c, arr, &f->replies);
	case K_SRC_SERVICE:
		return PARSE_LIST(c, arr, f->src_svcs, f->n_src_svcs, svc_item);
	case K_DST_SERVICE:
		return PARSE_LIST(c, arr, f->dst_svcs, f->n_dst_svcs, svc_item);
	case K_SRC_WORKLOAD:
		return PARSE_LIST(c, arr, f->src_wls, f->n_src_wls, workload_item);
	case K_DST_WORKLOAD:
		return PARSE_LIST(c, arr, f->dst_wls, f->n_dst_wls, workload_item);
	case K_SRC_IDENTITY:
		return PARSE_LIST(c, arr, f->src_ids, f->n_src_ids, identity_item);
	case K_DST_IDENTITY:
		return PARSE_LIST(c, arr, f->dst_ids, f->n_dst_ids, identity_item);
	}
	return -EINVAL;
}

/* protojson takes a field by its proto name or its JSON name: "sourceIp" is
 * "source_ip".
 */
static void proto_name(const char *key, char *buf, size_t len)
{
	size_t n = 0;

	for (; *key && n + 2 < len; key++) {
		if (*key >= 'A' && *key <= 'Z') {
			buf[n++] = '_';
			buf[n++] = (char)(*key - 'A' + 'a');
		} else {
			buf[n++] = *key;
		}
	}
	buf[n] = '\0';
}

static int filter_parse(struct ctx *c, const json_t *obj, struct weir_filter *f)
{
	const char *key;
	const json_t *v;
	size_t i;

	if (!json_is_object(obj)) {
		snprintf(c->err, c->err_len, "%s: expected a FlowFilter object", c->where);
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v)
	{
		char name[64];
		int err;

		proto_name(key, name, sizeof(name));
		for (i = 0; i < ARRAY_SIZE(field_names); i++)
			if (!strcmp(name, field_names[i]))
				break;
		if (i == ARRAY_SIZE(field_names)) {
			size_t j;

			for (j = 0; j < ARRAY_SIZE(hubble_only_fields); j++)
				if (!strcmp(name, hubble_only_fields[j]))
					break;
			if (j < ARRAY_SIZE(hubble_only_fields))
				snprintf(c->err, c->err_len,
					 "%s.%s: Hubble's filter field is not supported by Weir",
					 c->where, key);
			else
				snprintf(c->err, c->err_len, "%s: unknown filter field \"%.64s\"",
					 c->where, key);
			return -EINVAL;
		}
		/* protojson: null and [] leave a repeated field unset */
		if (json_is_null(v) || (json_is_array(v) && !json_array_size(v)))
			continue;
		if (!json_is_array(v)) {
			snprintf(c->err, c->err_len, "%s.%s: expected an array", c->where, key);
			return -EINVAL;
		}
		c->key = key;
		err = parse_field(c, f, (enum field_id)i, v);
		if (err)
			return err;
	}
	return 0;
}

static void pat_free(struct pat *p)
{
	free(p->s);
}

static void filter_free(struct weir_filter *f)
{
	size_t i;

	free(f->src_ports);
	free(f->dst_ports);
	free(f->tcp_flags);
	free(f->ifaces);
	free(f->src_ips);
	free(f->dst_ips);
	for (i = 0; i < f->n_src_pods; i++) {
		free(f->src_pods[i].ns);
		free(f->src_pods[i].prefix);
	}
	for (i = 0; i < f->n_dst_pods; i++) {
		free(f->dst_pods[i].ns);
		free(f->dst_pods[i].prefix);
	}
	free(f->src_pods);
	free(f->dst_pods);
	for (i = 0; i < f->n_nodes; i++) {
		pat_free(&f->nodes[i].cluster);
		pat_free(&f->nodes[i].node);
	}
	free(f->nodes);
	for (i = 0; i < f->n_src_labels; i++)
		weir_label_selector_free(f->src_labels[i]);
	for (i = 0; i < f->n_dst_labels; i++)
		weir_label_selector_free(f->dst_labels[i]);
	free((void *)f->src_labels);
	free((void *)f->dst_labels);
	for (i = 0; i < f->n_src_svcs; i++) {
		free(f->src_svcs[i].ns);
		free(f->src_svcs[i].prefix);
	}
	for (i = 0; i < f->n_dst_svcs; i++) {
		free(f->dst_svcs[i].ns);
		free(f->dst_svcs[i].prefix);
	}
	free(f->src_svcs);
	free(f->dst_svcs);
	for (i = 0; i < f->n_src_wls; i++) {
		free(f->src_wls[i].kind);
		free(f->src_wls[i].name);
	}
	for (i = 0; i < f->n_dst_wls; i++) {
		free(f->dst_wls[i].kind);
		free(f->dst_wls[i].name);
	}
	free(f->src_wls);
	free(f->dst_wls);
	free(f->src_ids);
	free(f->dst_ids);
}

static int list_parse(const json_t *arr, const char *name, struct weir_filter **out, size_t *n,
		      char *err, size_t err_len)
{
	char where[48];
	struct ctx c = { .where = where, .err = err, .err_len = err_len };
	const json_t *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, err_len, "%s: expected an array of FlowFilter objects", name);
		return -EINVAL;
	}
	if (!json_array_size(arr))
		return 0;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (!*out)
		return nomem(&c);
	json_array_foreach(arr, i, v)
	{
		int ret;

		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		(*n)++;
		ret = filter_parse(&c, v, &(*out)[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int weir_filter_set_new(struct weir_filter_set **out, const json_t *allow, const json_t *deny,
			char *err, size_t err_len)
{
	struct weir_filter_set *fs = calloc(1, sizeof(*fs));
	char dummy[1];
	int ret;

	*out = NULL;
	if (!err || !err_len) {
		err = dummy;
		err_len = sizeof(dummy);
	}
	if (!fs) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	ret = list_parse(allow, "allowlist", &fs->allow, &fs->n_allow, err, err_len);
	if (!ret)
		ret = list_parse(deny, "denylist", &fs->deny, &fs->n_deny, err, err_len);
	if (ret) {
		weir_filter_set_free(fs);
		return ret;
	}
	*out = fs;
	return 0;
}

void weir_filter_set_free(struct weir_filter_set *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->n_allow; i++)
		filter_free(&fs->allow[i]);
	for (i = 0; i < fs->n_deny; i++)
		filter_free(&fs->deny[i]);
	free(fs->allow);
	free(fs->deny);
	free(fs);
}

/* ---- matching ---- */

static bool cidr_match(const struct cidr *c, uint8_t family, const uint8_t *addr)
{
	size_t full = c->prefix_len / 8, rest = c->prefix_len % 8;

	if (c->family != family || memcmp(c->bytes, addr, full) != 0)
		return false;
	return !rest || ((addr[full] ^ c->bytes[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

static bool ips_match(const struct cidr *cs, size_t n, uint8_t family, const uint8_t *addr)
{
	size_t i;

	if (family != 4 && family != 6)
		return false;
	for (i = 0; i < n; i++)
		if (cidr_match(&cs[i], family, addr))
			return true;
	return false;
}

static bool ports_match(const uint16_t *ports, size_t n, const struct weir_flow_record *r,
			uint16_t port)
{
	size_t i;

	if (r->l3_only ||
	    (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP && r->proto != IPPROTO_SCTP))
		return false;
	for (i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* Names are short: compared inline, byte by byte, up to the first
 * difference (a NUL differs from any other byte, so neither string is read
 * past its end), cheaper than calls to strcmp() and strncmp() for every
 * record of a scan.
 */
static inline bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static inline bool has_prefix(const char *s, const char *prefix, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != prefix[i])
			return false;
	return true;
}

/* Hubble: the namespace must be equal (an empty one is any), the pod name
 * start with the prefix.
 */
static bool pods_match(const struct pod *pods, size_t n, const struct weir_endpoint *ep)
{
	const char *ns = ep && ep->namespace ? ep->namespace : "";
	const char *name = ep && ep->pod_name ? ep->pod_name : "";
	size_t i;

	if (!*ns && !*name)
		return false;
	/* the name first: more selective than the namespace */
	for (i = 0; i < n; i++)
		if (has_prefix(name, pods[i].prefix, pods[i].prefix_len) &&
		    (!pods[i].ns[0] || str_eq(pods[i].ns, ns)))
			return true;
	return false;
}

/* Endpoints with more labels than this take the slower path that splits
 * each label once per requirement instead of once per record.
 */
#define LABEL_VIEWS_MAX 32

static bool labels_match(struct weir_label_selector *const *sels, size_t n,
			 const struct weir_endpoint *ep)
{
	struct weir_label_view views[LABEL_VIEWS_MAX];
	const char *extra = NULL;
	size_t i, nv;

	if (!ep)
		return false;
	/* the reserved label is implied by the identity (see flow JSON) */
	if (ep->identity == WEIR_IDENTITY_WORLD)
		extra = "reserved:world";
	else if (ep->identity == WEIR_IDENTITY_HOST)
		extra = "reserved:host";
	nv = weir_label_views_init(views, LABEL_VIEWS_MAX, ep->labels, ep->n_labels, extra);
	for (i = 0; i < n; i++) {
		if (nv == SIZE_MAX ?
			    weir_label_selector_match(sels[i], (const char *const *)ep->labels,
						      ep->n_labels, extra) :
			    weir_label_selector_match_views(sels[i], views, nv))
			return true;
	}
	return false;
}

static bool pat_match(const struct pat *p, const char *s, size_t len)
{
	switch (p->kind) {
	case PAT_ANY:
		return len > 0;
	case PAT_EXACT:
		return len == p->len && !strncasecmp(p->s, s, len);
	case PAT_PREFIX:
		return len >= p->len && !strncasecmp(p->s, s, p->len);
	case PAT_GLOB:
		break;
	}
	/* s is NUL-terminated at len wherever a glob is matched (see nodes_match) */
	return !fnmatch(p->s, s, FNM_PATHNAME | FNM_CASEFOLD);
}

/* Hubble names nodes "cluster/node"; a bare name is in cluster "default". */
static bool nodes_match(const struct node_pat *pats, size_t n, const char *node_name)
{
	const char *slash, *cluster = "default", *node = node_name;
	char cbuf[256];
	size_t clen = 7, i;

	if (!node_name || !*node_name)
		return false;
	slash = strchr(node_name, '/');
	if (slash) {
		clen = (size_t)(slash - node_name);
		if (clen >= sizeof(cbuf))
			return false;
		memcpy(cbuf, node_name, clen);
		cbuf[clen] = '\0';
		cluster = cbuf;
		node = slash + 1;
	}
	for (i = 0; i < n; i++)
		if (pat_match(&pats[i].cluster, cluster, clen) &&
		    pat_match(&pats[i].node, node, strlen(node)))
			return true;
	return false;
}

static bool ifaces_match(const struct iface *ifs, size_t n, const struct weir_flow_record *r)
{
	size_t i;

	if (!r->ifindex && !r->ifname[0])
		return false;
	for (i = 0; i < n; i++)
		if ((!ifs[i].index || ifs[i].index == r->ifindex) &&
		    (!ifs[i].name[0] || !strncmp(ifs[i].name, r->ifname, sizeof(r->ifname))))
			return true;
	return false;
}

static uint8_t proto_bit(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return PROTO_TCP;
	case IPPROTO_UDP:
		return PROTO_UDP;
	case IPPROTO_SCTP:
		return PROTO_SCTP;
	case IPPROTO_ICMP:
		return PROTO_ICMPV4;
	case IPPROTO_ICMPV6:
		return PROTO_ICMPV6;
	}
	return 0;
}

static bool tcp_flags_match(const uint32_t *entries, size_t n, const struct weir_flow_record *r)
{
	size_t i;

	if (r->proto != IPPROTO_TCP)
		return false;
	for (i = 0; i < n; i++)
		if (!(entries[i] & ~r->tcp_flags))
			return true;
	return false;
}

/* Hubble: the service's namespace equal (Weir's services have none, so only
 * a filter without one matches), its name starting with the prefix. Weir
 * knows no source service: a source_service filter matches nothing.
 */
static bool svcs_match(const struct svc *svcs, size_t n, const char *name)
{
	size_t i;

	if (!name)
		return false;
	for (i = 0; i < n; i++)
		if (!svcs[i].ns[0] && has_prefix(name, svcs[i].prefix, svcs[i].prefix_len))
			return true;
	return false;
}

/* Hubble: some workload of the endpoint has the kind and the name (each
 * when set); a Weir endpoint has one workload at most.
 */
static bool workloads_match(const struct workload *wls, size_t n, const struct weir_endpoint *ep)
{
	size_t i;

	if (!ep || (!ep->workload_name && !ep->workload_kind))
		return false;
	for (i = 0; i < n; i++)
		if ((!wls[i].kind ||
		     (ep->workload_kind && str_eq(wls[i].kind, ep->workload_kind))) &&
		    (!wls[i].name || (ep->workload_name && str_eq(wls[i].name, ep->workload_name))))
			return true;
	return false;
}

/* The endpoint's numeric identity as Weir's JSON gives it: Hubble's reserved
 * host and world; pods have none (0).
 */
uint32_t weir_filter_identity_num(const struct weir_endpoint *ep)
{
	if (!ep)
		return 0;
	if (ep->identity == WEIR_IDENTITY_HOST)
		return WEIR_FLOW_JSON_IDENTITY_HOST;
	if (ep->identity == WEIR_IDENTITY_WORLD)
		return WEIR_FLOW_JSON_IDENTITY_WORLD;
	return 0;
}

static bool ids_match(const uint32_t *ids, size_t n, const struct weir_endpoint *ep)
{
	uint32_t id = weir_filter_identity_num(ep);
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* The fields of the record itself that the filter sets must match; cheap
 * comparisons go first.
 */
bool weir_filter_match_fields(const struct weir_filter *f, const struct weir_flow_record *r)
{
	uint32_t m = f->fields;

	if ((m & F_VERDICT) && !bits_test(&f->verdicts, r->verdict))
		return false;
	if ((m & F_DROP_REASON) &&
	    (r->verdict != WEIR_VERDICT_DROPPED || !bits_test(&f->drop_reasons, r->reason)))
		return false;
	if ((m & F_DIR) && !bits_test(&f->dirs, r->dir))
		return false;
	if ((m & F_PROTOCOL) && !(f->protocols & proto_bit(r->proto)))
		return false;
	if ((m & F_IP_VERSION) && !(f->ip_versions & (r->family == 4 ? IPV_4 :
						      r->family == 6 ? IPV_6 :
								       IPV_NONE)))
		return false;
	if (m & F_REPLY) {
		/* Hubble: an unknown is_reply counts as false for drops, else never matches */
		if (r->is_reply == WEIR_REPLY_UNKNOWN && r->verdict != WEIR_VERDICT_DROPPED)
			return false;
		if (!(f->replies & (r->is_reply == WEIR_REPLY_YES ? 2 : 1)))
			return false;
	}
	if ((m & F_SRC_PORT) && !ports_match(f->src_ports, f->n_src_ports, r, r->sport))
		return false;
	if ((m & F_DST_PORT) && !ports_match(f->dst_ports, f->n_dst_ports, r, r->dport))
		return false;
	if ((m & F_TCP_FLAGS) && !tcp_flags_match(f->tcp_flags, f->n_tcp_flags, r))
		return false;
	if ((m & F_IFACE) && !ifaces_match(f->ifaces, f->n_ifaces, r))
		return false;
	if ((m & F_SRC_IP) && !ips_match(f->src_ips, f->n_src_ips, r->family, r->saddr))
		return false;
	if ((m & F_DST_IP) && !ips_match(f->dst_ips, f->n_dst_ips, r->family, r->daddr))
		return false;
	if ((m & F_SRC_SERVICE) && !svcs_match(f->src_svcs, f->n_src_svcs, NULL))
		return false;
	if ((m & F_DST_SERVICE) && !svcs_match(f->dst_svcs, f->n_dst_svcs, r->dst_service))
		return false;
	if ((m & F_NODE) && !nodes_match(f->nodes, f->n_nodes, r->node_name))
		return false;
	return true;
}

bool weir_filter_match_src(const struct weir_filter *f, const struct weir_endpoint *ep)
{
	uint32_t m = f->fields;

	if ((m & F_SRC_IDENTITY) && !ids_match(f->src_ids, f->n_src_ids, ep))
		return false;
	if ((m & F_SRC_POD) && !pods_match(f->src_pods, f->n_src_pods, ep))
		return false;
	if ((m & F_SRC_WORKLOAD) && !workloads_match(f->src_wls, f->n_src_wls, ep))
		return false;
	if ((m & F_SRC_LABEL) && !labels_match(f->src_labels, f->n_src_labels, ep))
		return false;
	return true;
}

bool weir_filter_match_dst(const struct weir_filter *f, const struct weir_endpoint *ep)
{
	uint32_t m = f->fields;

	if ((m & F_DST_IDENTITY) && !ids_match(f->dst_ids, f->n_dst_ids, ep))
		return false;
	if ((m & F_DST_POD) && !pods_match(f->dst_pods, f->n_dst_pods, ep))
		return false;
	if ((m & F_DST_WORKLOAD) && !workloads_match(f->dst_wls, f->n_dst_wls, ep))
		return false;
	if ((m & F_DST_LABEL) && !labels_match(f->dst_labels, f->n_dst_labels, ep))
		return false;
	return true;
}

/* Every field the filter sets must match: the record's own, then its endpoints'. */
static bool filter_match(const struct weir_filter *f, const struct weir_flow_record *r)
{
	return weir_filter_match_fields(f, r) && weir_filter_match_src(f, r->src) &&
	       weir_filter_match_dst(f, r->dst);
}

bool weir_filter_set_match(const struct weir_filter_set *fs, const struct weir_flow_record *r)
{
	bool allowed;
	size_t i;

	if (!fs)
		return true;
	allowed = !fs->n_allow;
	for (i = 0; i < fs->n_allow && !allowed; i++)
		allowed = filter_match(&fs->allow[i], r);
	if (!allowed)
		return false;
	for (i = 0; i < fs->n_deny; i++)
		if (filter_match(&fs->deny[i], r))
			return false;
	return true;
}
