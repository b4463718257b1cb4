// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `weir observe` filter flags to FlowFilter JSON, as `hubble observe` builds
 * them (see observe_flags.h); values are checked by lib/filter.c.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "filter.h"
#include "hubble_names.h"
#include "observe_flags.h"
#include "opts.h"
#include "timefmt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum ff_kind {
	KIND_EITHER, /* source-side criterion on the left, destination-side on the right */
	KIND_BOTH,   /* the same criterion on both */
	KIND_NS,     /* a namespace list, applied when the filters are made */
	KIND_NOT,
	KIND_RAW,
};

enum ns_list { NS_ANY_SIDE, NS_SOURCE, NS_DESTINATION };

struct ff_desc {
	const char *name;
	enum ff_kind kind;
	enum weir_ff_field left, right; /* KIND_BOTH: left only */
	enum ns_list ns;		/* KIND_NS */
	/* turns the flag's value into the JSON value of its field */
	int (*value)(const struct ff_desc *d, const char *raw, json_t **out, char *err,
		     size_t err_len);
	const char *fixed; /* the value of a flag that takes none (-4, -6, -A) */
};

static int string_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			size_t err_len);
static int ip_version_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			    size_t err_len);
static int namespace_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			   size_t err_len);
static int tcp_flags_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			   size_t err_len);
static int verdict_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			 size_t err_len);
static int drop_reason_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			     size_t err_len);
static int direction_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			   size_t err_len);
static int interface_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			   size_t err_len);
static int workload_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			  size_t err_len);
static int identity_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			  size_t err_len);

#define SRC_DST(f) WEIR_FLD_SOURCE_##f, WEIR_FLD_DESTINATION_##f

/* clang-format off */
static const struct ff_desc descs[WEIR_FF_MAX] = {
	[WEIR_FF_NOT]		= { "not", KIND_NOT },
	[WEIR_FF_IP]		= { "ip", KIND_EITHER, SRC_DST(IP), .value = string_value },
	[WEIR_FF_FROM_IP]	= { "from-ip", KIND_BOTH, WEIR_FLD_SOURCE_IP, .value = string_value },
	[WEIR_FF_TO_IP]		= { "to-ip", KIND_BOTH, WEIR_FLD_DESTINATION_IP, .value = string_value },
	[WEIR_FF_IPV4]		= { "ipv4", KIND_BOTH, WEIR_FLD_IP_VERSION, .value = string_value,
				    .fixed = "IPv4" },
	[WEIR_FF_IPV6]		= { "ipv6", KIND_BOTH, WEIR_FLD_IP_VERSION, .value = string_value,
				    .fixed = "IPv6" },
	[WEIR_FF_IP_VERSION]	= { "ip-version", KIND_BOTH, WEIR_FLD_IP_VERSION,
				    .value = ip_version_value },
	[WEIR_FF_POD]		= { "pod", KIND_EITHER, SRC_DST(POD), .value = string_value },
	[WEIR_FF_FROM_POD]	= { "from-pod", KIND_BOTH, WEIR_FLD_SOURCE_POD, .value = string_value },
	[WEIR_FF_TO_POD]	= { "to-pod", KIND_BOTH, WEIR_FLD_DESTINATION_POD,
				    .value = string_value },
	[WEIR_FF_NAMESPACE]	= { "namespace", KIND_NS, .ns = NS_ANY_SIDE, .value = namespace_value },
	[WEIR_FF_FROM_NAMESPACE] = { "from-namespace", KIND_NS, .ns = NS_SOURCE,
				     .value = namespace_value },
	[WEIR_FF_TO_NAMESPACE]	= { "to-namespace", KIND_NS, .ns = NS_DESTINATION,
				    .value = namespace_value },
	[WEIR_FF_ALL_NAMESPACES] = { "all-namespaces", KIND_NS, .ns = NS_ANY_SIDE,
				     .value = namespace_value, .fixed = "" },
	[WEIR_FF_FROM_ALL_NAMESPACES] = { "from-all-namespaces", KIND_NS, .ns = NS_SOURCE,
					  .value = namespace_value, .fixed = "" },
	[WEIR_FF_TO_ALL_NAMESPACES] = { "to-all-namespaces", KIND_NS, .ns = NS_DESTINATION,
					.value = namespace_value, .fixed = "" },
	[WEIR_FF_LABEL]		= { "label", KIND_EITHER, SRC_DST(LABEL), .value = string_value },
	[WEIR_FF_FROM_LABEL]	= { "from-label", KIND_BOTH, WEIR_FLD_SOURCE_LABEL,
				    .value = string_value },
	[WEIR_FF_TO_LABEL]	= { "to-label", KIND_BOTH, WEIR_FLD_DESTINATION_LABEL,
				    .value = string_value },
	[WEIR_FF_SERVICE]	= { "service", KIND_EITHER, SRC_DST(SERVICE), .value = string_value },
	[WEIR_FF_FROM_SERVICE]	= { "from-service", KIND_BOTH, WEIR_FLD_SOURCE_SERVICE,
				    .value = string_value },
	[WEIR_FF_TO_SERVICE]	= { "to-service", KIND_BOTH, WEIR_FLD_DESTINATION_SERVICE,
				    .value = string_value },
	[WEIR_FF_WORKLOAD]	= { "workload", KIND_EITHER, SRC_DST(WORKLOAD),
				    .value = workload_value },
	[WEIR_FF_FROM_WORKLOAD]	= { "from-workload", KIND_BOTH, WEIR_FLD_SOURCE_WORKLOAD,
				    .value = workload_value },
	[WEIR_FF_TO_WORKLOAD]	= { "to-workload", KIND_BOTH, WEIR_FLD_DESTINATION_WORKLOAD,
				    .value = workload_value },
	[WEIR_FF_IDENTITY]	= { "identity", KIND_EITHER, SRC_DST(IDENTITY),
				    .value = identity_value },
	[WEIR_FF_FROM_IDENTITY]	= { "from-identity", KIND_BOTH, WEIR_FLD_SOURCE_IDENTITY,
				    .value = identity_value },
	[WEIR_FF_TO_IDENTITY]	= { "to-identity", KIND_BOTH, WEIR_FLD_DESTINATION_IDENTITY,
				    .value = identity_value },
	[WEIR_FF_PORT]		= { "port", KIND_EITHER, SRC_DST(PORT), .value = string_value },
	[WEIR_FF_FROM_PORT]	= { "from-port", KIND_BOTH, WEIR_FLD_SOURCE_PORT,
				    .value = string_value },
	[WEIR_FF_TO_PORT]	= { "to-port", KIND_BOTH, WEIR_FLD_DESTINATION_PORT,
				    .value = string_value },
	[WEIR_FF_PROTOCOL]	= { "protocol", KIND_BOTH, WEIR_FLD_PROTOCOL, .value = string_value },
	[WEIR_FF_TCP_FLAGS]	= { "tcp-flags", KIND_BOTH, WEIR_FLD_TCP_FLAGS,
				    .value = tcp_flags_value },
	[WEIR_FF_VERDICT]	= { "verdict", KIND_BOTH, WEIR_FLD_VERDICT, .value = verdict_value },
	[WEIR_FF_DROP_REASON_DESC] = { "drop-reason-desc", KIND_BOTH, WEIR_FLD_DROP_REASON_DESC,
				       .value = drop_reason_value },
	[WEIR_FF_TRAFFIC_DIRECTION] = { "traffic-direction", KIND_BOTH, WEIR_FLD_TRAFFIC_DIRECTION,
					.value = direction_value },
	[WEIR_FF_NODE_NAME]	= { "node-name", KIND_BOTH, WEIR_FLD_NODE_NAME,
				    .value = string_value },
	[WEIR_FF_INTERFACE]	= { "interface", KIND_BOTH, WEIR_FLD_INTERFACE,
				    .value = interface_value },
	[WEIR_FF_ALLOWLIST]	= { "allowlist", KIND_RAW },
	[WEIR_FF_DENYLIST]	= { "denylist", KIND_RAW },
};
/* clang-format on */

static const char *const field_names[WEIR_FLD_MAX] = {
	[WEIR_FLD_SOURCE_IP] = "source_ip",
	[WEIR_FLD_SOURCE_POD] = "source_pod",
	[WEIR_FLD_SOURCE_LABEL] = "source_label",
	[WEIR_FLD_SOURCE_SERVICE] = "source_service",
	[WEIR_FLD_SOURCE_WORKLOAD] = "source_workload",
	[WEIR_FLD_DESTINATION_IP] = "destination_ip",
	[WEIR_FLD_DESTINATION_POD] = "destination_pod",
	[WEIR_FLD_DESTINATION_LABEL] = "destination_label",
	[WEIR_FLD_DESTINATION_SERVICE] = "destination_service",
	[WEIR_FLD_DESTINATION_WORKLOAD] = "destination_workload",
	[WEIR_FLD_TRAFFIC_DIRECTION] = "traffic_direction",
	[WEIR_FLD_VERDICT] = "verdict",
	[WEIR_FLD_DROP_REASON_DESC] = "drop_reason_desc",
	[WEIR_FLD_INTERFACE] = "interface",
	[WEIR_FLD_PROTOCOL] = "protocol",
	[WEIR_FLD_SOURCE_PORT] = "source_port",
	[WEIR_FLD_DESTINATION_PORT] = "destination_port",
	[WEIR_FLD_SOURCE_IDENTITY] = "source_identity",
	[WEIR_FLD_DESTINATION_IDENTITY] = "destination_identity",
	[WEIR_FLD_TCP_FLAGS] = "tcp_flags",
	[WEIR_FLD_NODE_NAME] = "node_name",
	[WEIR_FLD_IP_VERSION] = "ip_version",
};

#define BIT(f) (1ULL << (f))

#define END WEIR_FF_MAX

/* Hubble's conflicting flags (flows_filter.go), those Weir has, in Hubble's
 * order (its message names the first two of a group that were given): any
 * two of a group given to the same list are an error.
 */
static const enum weir_ff conflicts[][7] = {
	{ WEIR_FF_FROM_IP, WEIR_FF_IP, WEIR_FF_FROM_NAMESPACE, WEIR_FF_NAMESPACE,
	  WEIR_FF_FROM_ALL_NAMESPACES, WEIR_FF_ALL_NAMESPACES, END },
	{ WEIR_FF_FROM_IP, WEIR_FF_IP, WEIR_FF_FROM_POD, WEIR_FF_POD, END },
	{ WEIR_FF_TO_IP, WEIR_FF_IP, WEIR_FF_TO_NAMESPACE, WEIR_FF_NAMESPACE,
	  WEIR_FF_TO_ALL_NAMESPACES, WEIR_FF_ALL_NAMESPACES, END },
	{ WEIR_FF_TO_IP, WEIR_FF_IP, WEIR_FF_TO_POD, WEIR_FF_POD, END },
	{ WEIR_FF_TO_POD, WEIR_FF_NAMESPACE, WEIR_FF_ALL_NAMESPACES, END },
	{ WEIR_FF_FROM_POD, WEIR_FF_NAMESPACE, WEIR_FF_ALL_NAMESPACES, END },
	{ WEIR_FF_LABEL, WEIR_FF_FROM_LABEL, END },
	{ WEIR_FF_LABEL, WEIR_FF_TO_LABEL, END },
	{ WEIR_FF_SERVICE, WEIR_FF_FROM_SERVICE, END },
	{ WEIR_FF_SERVICE, WEIR_FF_TO_SERVICE, END },
	{ WEIR_FF_PORT, WEIR_FF_TO_PORT, END },
	{ WEIR_FF_PORT, WEIR_FF_FROM_PORT, END },
	{ WEIR_FF_IDENTITY, WEIR_FF_FROM_IDENTITY, END },
	{ WEIR_FF_IDENTITY, WEIR_FF_TO_IDENTITY, END },
	{ WEIR_FF_WORKLOAD, WEIR_FF_FROM_WORKLOAD, END },
	{ WEIR_FF_WORKLOAD, WEIR_FF_TO_WORKLOAD, END },
};

const char *weir_ff_name(enum weir_ff flag)
{
	return (unsigned int)flag < WEIR_FF_MAX ? descs[flag].name : "?";
}

/* ---- values, checked by the filter code itself ---- */

/* lib/filter.c says "allowlist[0].source_ip[0]: why"; keep the why. */
static const char *lib_reason(const char *msg)
{
	const char *p = strstr(msg, ": ");

	return p ? p + 2 : msg;
}

/* Compiles {"field": [v]}; a refusal becomes "--flag: why". */
static int lib_check(const char *flag, enum weir_ff_field field, json_t *v, char *err,
		     size_t err_len)
{
	struct weir_filter_set *fs = NULL;
	char why[256] = "";
	json_t *allow;
	int ret;

	allow = json_pack("[{s:[O]}]", field_names[field], v);
	if (!allow) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	ret = weir_filter_set_new(&fs, allow, NULL, why, sizeof(why));
	json_decref(allow);
	weir_filter_set_free(fs);
	if (ret)
		snprintf(err, err_len, "--%s: %s", flag, lib_reason(why));
	return ret;
}

static int string_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			size_t err_len)
{
	*out = json_string(raw);
	if (!*out) {
		snprintf(err, err_len, "--%s: not valid UTF-8", d->name);
		return -EINVAL;
	}
	return 0;
}

/* Hubble's ipVersion(): 4, v4, ipv4, ip4 (and 6...), and none. */
static int ip_version_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			    size_t err_len)
{
	static const char *const v4[] = { "4", "v4", "ipv4", "ip4" };
	static const char *const v6[] = { "6", "v6", "ipv6", "ip6" };
	const char *name = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v4); i++) {
		if (!strcasecmp(raw, v4[i]))
			name = "IPv4";
		if (!strcasecmp(raw, v6[i]))
			name = "IPv6";
	}
	if (!strcasecmp(raw, "none") || !strcasecmp(raw, "IP_NOT_USED"))
		name = "IP_NOT_USED";
	if (!name) {
		snprintf(err, err_len,
			 "--%s: invalid IP version \"%.32s\", expected none, v4 or v6", d->name,
			 raw);
		return -EINVAL;
	}
	*out = json_string(name);
	return 0;
}

static int namespace_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			   size_t err_len)
{
	if (d->fixed) {
		*out = json_string("");
		return 0;
	}
	if (!*raw || strchr(raw, '/')) {
		snprintf(err, err_len, "--%s: expected a namespace name, got \"%.64s\"", d->name,
			 raw);
		return -EINVAL;
	}
	return string_value(d, raw, out, err, err_len);
}

/* "syn,ack" to {"SYN": true, "ACK": true}, in flow.proto's order. */
static int tcp_flags_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			   size_t err_len)
{
	const char *p = raw;
	uint32_t want = 0;
	size_t i;

	(void)d;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char name[16];
		uint32_t bit = 0;

		if (len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			bit = weir_tcp_flag_parse(name);
		}
		if (!bit) {
			snprintf(err, err_len, "unknown tcp flag: %.*s", (int)(len > 32 ? 32 : len),
				 p);
			return -EINVAL;
		}
		want |= bit;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = json_object();
	for (i = 0; *out && i < ARRAY_SIZE(weir_tcp_flags); i++)
		if ((want & weir_tcp_flags[i].bit) &&
		    json_object_set_new(*out, weir_tcp_flags[i].name, json_true()))
			return -ENOMEM;
	return *out ? 0 : -ENOMEM;
}

static int verdict_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			 size_t err_len)
{
	int code = weir_hubble_verdict_parse(raw);

	if (code < 0) {
		snprintf(err, err_len, "invalid --%s value: %.64s", d->name, raw);
		return -EINVAL;
	}
	*out = json_string(weir_hubble_verdict_name((unsigned int)code));
	return 0;
}

static int drop_reason_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			     size_t err_len)
{
	int code;

	if (!*raw) {
		snprintf(err, err_len, "empty --%s value", d->name);
		return -EINVAL;
	}
	code = weir_hubble_drop_reason_parse(raw);
	if (code < 0) {
		snprintf(err, err_len, "invalid --%s value: %.64s", d->name, raw);
		return -EINVAL;
	}
	*out = json_string(weir_hubble_drop_reason_name((unsigned int)code));
	return 0;
}

static int direction_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			   size_t err_len)
{
	(void)d;
	if (!strcasecmp(raw, "ingress") || !strcasecmp(raw, "egress")) {
		*out = json_string(!strcasecmp(raw, "ingress") ? "INGRESS" : "EGRESS");
		return 0;
	}
	snprintf(err, err_len, "%.32s: invalid traffic direction, expected ingress or egress", raw);
	return -EINVAL;
}

static int interface_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			   size_t err_len)
{
	(void)d;
	(void)err;
	(void)err_len;
	*out = json_pack("{s:s}", "name", raw);
	return *out ? 0 : -EINVAL;
}

/* Hubble's parseWorkload(): "[kind/]name" to {"kind": ..., "name": ...}. */
static int workload_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			  size_t err_len)
{
	const char *slash = strchr(raw, '/');

	if (!*raw || (slash && (!slash[1] || strchr(slash + 1, '/')))) {
		snprintf(err, err_len, "--%s: expected [kind/]name, got \"%.64s\"", d->name, raw);
		return -EINVAL;
	}
	if (slash)
		*out = json_pack("{s:s%,s:s}", "kind", raw, (size_t)(slash - raw), "name",
				 slash + 1);
	else
		*out = json_pack("{s:s}", "name", raw);
	if (!*out) {
		snprintf(err, err_len, "--%s: not valid UTF-8", d->name);
		return -EINVAL;
	}
	return 0;
}

/* A numeric security identity, or the reserved ones Weir knows by name. */
static int identity_value(const struct ff_desc *d, const char *raw, json_t **out, char *err,
			  size_t err_len)
{
	static const struct {
		const char *name;
		int id;
	} reserved[] = {
		{ "host", 1 },
		{ "reserved:host", 1 },
		{ "world", 2 },
		{ "reserved:world", 2 },
	};
	unsigned long long id;
	char *end;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		if (!strcasecmp(raw, reserved[i].name)) {
			*out = json_integer(reserved[i].id);
			return *out ? 0 : -ENOMEM;
		}
	}
	errno = 0;
	id = strtoull(raw, &end, 10);
	if (*raw < '0' || *raw > '9' || *end || errno || id > UINT32_MAX) {
		snprintf(err, err_len, "--%s: invalid identity \"%.32s\" (a number, host or world)",
			 d->name, raw);
		return -EINVAL;
	}
	*out = json_integer((json_int_t)id);
	return *out ? 0 : -ENOMEM;
}

/* ---- the trackers ---- */

static void tracker_release(struct weir_ff_tracker *t)
{
	size_t i;

	for (i = 0; i < WEIR_FLD_MAX; i++) {
		json_decref(t->left[i]);
		json_decref(t->right[i]);
	}
	json_decref(t->ns);
	json_decref(t->src_ns);
	json_decref(t->dst_ns);
	memset(t, 0, sizeof(*t));
}

void weir_ff_init(struct weir_ff_set *s)
{
	memset(s, 0, sizeof(*s));
}

void weir_ff_release(struct weir_ff_set *s)
{
	tracker_release(&s->allow);
	tracker_release(&s->deny);
	json_decref(s->raw_allow);
	json_decref(s->raw_deny);
	weir_ff_init(s);
}

static int append(json_t **arr, json_t *v)
{
	if (!*arr)
		*arr = json_array();
	return !*arr || json_array_append(*arr, v) ? -ENOMEM : 0;
}

static int check_conflicts(const struct weir_ff_tracker *t, char *err, size_t err_len)
{
	size_t g, i, j;

	for (g = 0; g < ARRAY_SIZE(conflicts); g++) {
		const enum weir_ff *grp = conflicts[g];

		for (i = 0; grp[i] != END; i++) {
			if (!(t->changed & BIT(grp[i])))
				continue;
			for (j = 0; grp[j] != END; j++) {
				if (j == i || !(t->changed & BIT(grp[j])))
					continue;
				snprintf(err, err_len, "filters --%s and --%s cannot be combined",
					 descs[grp[i]].name, descs[grp[j]].name);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* Hubble's namespaceModifier.conflicts(): "ns/name" outside every namespace given. */
static int ns_conflict(const json_t *nss, const json_t *pods, char *err, size_t err_len)
{
	const json_t *ns, *pod;
	size_t i, j;

	json_array_foreach(nss, i, ns)
	{
		json_array_foreach(pods, j, pod)
		{
			const char *name = json_string_value(pod), *slash = strchr(name, '/');
			size_t len = slash ? (size_t)(slash - name) : 0;

			if (len && (len != strlen(json_string_value(ns)) ||
				    strncmp(name, json_string_value(ns), len) != 0)) {
				snprintf(err, err_len,
					 "namespace conflict: \"%.64s\" does not contain \"%.64s\"",
					 json_string_value(ns), name);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int check_namespaces(const struct weir_ff_tracker *t, json_t *const *side, char *err,
			    size_t err_len)
{
	const json_t *src = side[WEIR_FLD_SOURCE_POD], *dst = side[WEIR_FLD_DESTINATION_POD];

	return ns_conflict(t->ns, src, err, err_len)		 ?:
		       ns_conflict(t->ns, dst, err, err_len)	 ?:
		       ns_conflict(t->src_ns, src, err, err_len) ?:
		       ns_conflict(t->dst_ns, dst, err, err_len);
}

static int tracker_add(struct weir_ff_tracker *t, enum weir_ff flag, json_t *v, char *err,
		       size_t err_len)
{
	const struct ff_desc *d = &descs[flag];
	int ret;

	t->changed |= BIT(flag);
	ret = check_conflicts(t, err, err_len);
	if (ret)
		return ret;
	switch (d->kind) {
	case KIND_EITHER:
		ret = append(&t->left[d->left], v) ?: append(&t->right[d->right], v);
		t->has_left = t->has_right = true;
		break;
	case KIND_BOTH:
		ret = append(&t->left[d->left], v) ?: append(&t->right[d->left], v);
		t->has_left = t->has_right = true;
		break;
	case KIND_NS:
		ret = append(d->ns == NS_ANY_SIDE ? &t->ns :
			     d->ns == NS_SOURCE	  ? &t->src_ns :
						    &t->dst_ns,
			     v);
		break;
	default:
		return -EINVAL;
	}
	if (ret) {
		snprintf(err, err_len, "out of memory");
		return ret;
	}
	return check_namespaces(t, t->left, err, err_len) ?:
		       check_namespaces(t, t->right, err, err_len);
}

/* --allowlist/--denylist: one or more FlowFilter objects (concatenated, as
 * Hubble's decoder reads them) or arrays of them.
 */
static int raw_add(json_t **list, const char *flag, const char *raw, char *err, size_t err_len)
{
	size_t pos = 0, len = strlen(raw), i;
	json_t *v, *item;

	while (pos < len) {
		json_error_t jerr;
		json_t *one;

		if (strchr(" \t\r\n", raw[pos])) {
			pos++;
			continue;
		}
		v = json_loadb(raw + pos, len - pos, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY,
			       &jerr);
		if (!v) {
			snprintf(err, err_len, "invalid --%s flag: %s", flag, jerr.text);
			return -EINVAL;
		}
		pos += (size_t)jerr.position;
		one = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		json_decref(v);
		json_array_foreach(one, i, item)
		{
			struct weir_filter_set *fs = NULL;
			char why[256] = "";
			json_t *probe = json_pack("[O]", item);
			int ret = weir_filter_set_new(&fs, probe, NULL, why, sizeof(why));

			weir_filter_set_free(fs);
			json_decref(probe);
			/* "allowlist[0].field: why" or "allowlist[0]: why" */
			if (ret) {
				const char *tail = why + strcspn(why, ".:");

				snprintf(err, err_len, "invalid --%s flag: %s", flag,
					 *tail == '.' ? tail + 1 : lib_reason(why));
				json_decref(one);
				return -EINVAL;
			}
			if (append(list, item)) {
				json_decref(one);
				return -ENOMEM;
			}
		}
		json_decref(one);
	}
	return 0;
}

#define FILTER(name, flag, ...) DEFINE_CALL(name, WEIR_FF_##flag, __VA_ARGS__)

/* clang-format off */
const struct weir_opt weir_ff_opts[] = {
	FILTER("not", NOT, .group = "Filters (each may be repeated; --not negates the next one)",
	       .help = "Put the next filter on the deny list: --not --from-ip 10.0.0.1"),
	FILTER("ip", IP, .metavar = "IP",
	       .help = "Flows from or to an address or CIDR (10.0.0.1, fd00::/64)"),
	FILTER("from-ip", FROM_IP, .metavar = "IP", .help = "Flows from an address or CIDR"),
	FILTER("to-ip", TO_IP, .metavar = "IP", .help = "Flows to an address or CIDR"),
	FILTER("ipv4", IPV4, .short_opt = '4', .help = "IPv4 flows only"),
	FILTER("ipv6", IPV6, .short_opt = '6', .help = "IPv6 flows only"),
	FILTER("ip-version", IP_VERSION, .metavar = "VERSION",
	       .help = "Flows of an IP version: v4, v6 or none"),
	FILTER("pod", POD, .metavar = "[NS/]NAME",
	       .help = "Flows from or to pods whose name starts with NAME\n"
		       "(namespace \"default\" unless given; /NAME: any namespace)"),
	FILTER("from-pod", FROM_POD, .metavar = "[NS/]NAME", .help = "Flows from pods, as --pod"),
	FILTER("to-pod", TO_POD, .metavar = "[NS/]NAME", .help = "Flows to pods, as --pod"),
	FILTER("namespace", NAMESPACE, .short_opt = 'n', .metavar = "NS",
	       .help = "Flows from or to a Kubernetes namespace"),
	FILTER("from-namespace", FROM_NAMESPACE, .metavar = "NS", .help = "Flows from a namespace"),
	FILTER("to-namespace", TO_NAMESPACE, .metavar = "NS", .help = "Flows to a namespace"),
	FILTER("all-namespaces", ALL_NAMESPACES, .short_opt = 'A',
	       .help = "Flows from or to pods in any namespace"),
	FILTER("from-all-namespaces", FROM_ALL_NAMESPACES,
	       .help = "Flows from pods in any namespace"),
	FILTER("to-all-namespaces", TO_ALL_NAMESPACES, .help = "Flows to pods in any namespace"),
	FILTER("label", LABEL, .short_opt = 'l', .metavar = "SELECTOR",
	       .help = "Flows from or to endpoints with labels (app=web, \"tier in (a,b)\",\n"
		       "!debug, reserved:world)"),
	FILTER("from-label", FROM_LABEL, .metavar = "SELECTOR", .help = "Flows from labelled endpoints"),
	FILTER("to-label", TO_LABEL, .metavar = "SELECTOR", .help = "Flows to labelled endpoints"),
	FILTER("service", SERVICE, .metavar = "NAME",
	       .help = "Flows to load-balanced services whose name starts with NAME\n"
		       "(records know no source service)"),
	FILTER("from-service", FROM_SERVICE, .metavar = "NAME", .help = "Flows from a service"),
	FILTER("to-service", TO_SERVICE, .metavar = "NAME", .help = "Flows to a service"),
	FILTER("workload", WORKLOAD, .metavar = "[KIND/]NAME",
	       .help = "Flows from or to pods of a workload (Deployment/web, web)"),
	FILTER("from-workload", FROM_WORKLOAD, .metavar = "[KIND/]NAME",
	       .help = "Flows from a workload"),
	FILTER("to-workload", TO_WORKLOAD, .metavar = "[KIND/]NAME", .help = "Flows to a workload"),
	FILTER("identity", IDENTITY, .metavar = "ID",
	       .help = "Flows from or to a security identity (1 or host, 2 or world)"),
	FILTER("from-identity", FROM_IDENTITY, .metavar = "ID", .help = "Flows from an identity"),
	FILTER("to-identity", TO_IDENTITY, .metavar = "ID", .help = "Flows to an identity"),
	FILTER("port", PORT, .metavar = "PORT", .help = "Flows with a source or destination port"),
	FILTER("from-port", FROM_PORT, .metavar = "PORT", .help = "Flows with a source port"),
	FILTER("to-port", TO_PORT, .metavar = "PORT", .help = "Flows with a destination port"),
	FILTER("protocol", PROTOCOL, .metavar = "PROTO",
	       .help = "Flows of an L4 protocol: tcp, udp, sctp, icmp, icmpv4, icmpv6"),
	FILTER("tcp-flags", TCP_FLAGS, .metavar = "FLAGS",
	       .help = "TCP flows that saw all these flags: syn,ack (also fin, rst, psh,\n"
		       "urg, ece, cwr, ns)"),
	FILTER("verdict", VERDICT, .metavar = "VERDICT",
	       .help = "Flows with a verdict: FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR,\n"
		       "TRACED, TRANSLATED"),
	FILTER("drop-reason-desc", DROP_REASON_DESC, .metavar = "REASON",
	       .help = "Drops for a reason (POLICY_DENIED, CT_TRUNCATED_OR_INVALID_HEADER)"),
	FILTER("traffic-direction", TRAFFIC_DIRECTION, .metavar = "DIR",
	       .help = "Flows in a direction: ingress or egress"),
	FILTER("node-name", NODE_NAME, .metavar = "GLOB",
	       .help = "Flows seen by nodes matching [cluster/]node (k8s*, prod/*)"),
	FILTER("interface", INTERFACE, .metavar = "IFNAME",
	       .help = "Flows seen on an interface (eth0, lxc12ab)"),

	FILTER("allowlist", ALLOWLIST, .metavar = "JSON", .group = "Raw filters",
	       .help = "Allow filter(s) as FlowFilter JSON: '{\"source_pod\":[\"shop/\"]}'"),
	FILTER("denylist", DENYLIST, .metavar = "JSON", .help = "Deny filter(s) as FlowFilter JSON"),
	END_OPTIONS
};
/* clang-format on */

int weir_ff_call(void *set, const struct weir_opt *o, const char *value, char *err, size_t err_len)
{
	return weir_ff_add(set, (enum weir_ff)o->id, value, err, err_len);
}

int weir_ff_add(struct weir_ff_set *s, enum weir_ff flag, const char *value, char *err,
		size_t err_len)
{
	const struct ff_desc *d;
	struct weir_ff_tracker *t;
	json_t *v = NULL;
	int ret;

	if ((unsigned int)flag >= WEIR_FF_MAX)
		return -EINVAL;
	d = &descs[flag];
	if (d->kind == KIND_NOT) {
		if (s->negate_next) {
			snprintf(err, err_len, "consecutive --not statements");
			return -EINVAL;
		}
		s->negate_next = true;
		return 0;
	}
	if (d->kind == KIND_RAW)
		return raw_add(flag == WEIR_FF_ALLOWLIST ? &s->raw_allow : &s->raw_deny, d->name,
			       value ? value : "", err, err_len);
	ret = d->value(d, d->fixed ? d->fixed : value ? value : "", &v, err, err_len);
	if (!ret && d->kind != KIND_NS)
		ret = lib_check(d->name, d->left, v, err, err_len);
	if (ret) {
		json_decref(v);
		return ret;
	}
	/* --not applies to this flag only */
	t = s->negate_next ? &s->deny : &s->allow;
	*(s->negate_next ? &s->has_deny : &s->has_allow) = true;
	s->negate_next = false;
	ret = tracker_add(t, flag, v, err, err_len);
	json_decref(v);
	return ret;
}

/* ---- the filters ---- */

/* Hubble's addNamespacesToFilter(): bare names get each namespace. */
static json_t *add_namespaces(json_t *pods, const json_t *nss)
{
	json_t *res, *pod, *ns;
	size_t i, j;

	if (!json_array_size(nss) || !json_array_size(pods))
		return json_incref(pods);
	res = json_array();
	json_array_foreach(pods, i, pod)
	{
		const char *name = json_string_value(pod);

		if (strchr(name, '/')) {
			json_array_append(res, pod);
			continue;
		}
		json_array_foreach(nss, j, ns)
		{
			char *s = NULL;

			if (asprintf(&s, "%s/%s", json_string_value(ns), name) < 0 ||
			    json_array_append_new(res, json_string(s))) {
				free(s);
				json_decref(res);
				return NULL;
			}
			free(s);
		}
	}
	return res;
}

/* Hubble's namespaceModifier.applySrc/applyDest on one side. */
static int apply_ns(json_t **side, enum weir_ff_field field, const json_t *nss)
{
	json_t *pods;

	if (!side[field])
		side[field] = json_pack("[s]", "");
	pods = side[field] ? add_namespaces(side[field], nss) : NULL;
	json_decref(side[field]);
	side[field] = pods;
	return pods ? 0 : -ENOMEM;
}

static json_t *filter_json(json_t *const *side)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < WEIR_FLD_MAX; i++)
		if (side[i] && json_object_set(o, field_names[i], side[i])) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* Hubble's filterTracker.flowFilters(): appended to list. */
static int tracker_filters(struct weir_ff_tracker *t, json_t *list)
{
	json_t *left, *right;
	int ret = 0;

	if (!t->has_left && !t->has_right && !json_array_size(t->ns) &&
	    !json_array_size(t->src_ns) && !json_array_size(t->dst_ns))
		return 0;
	if (json_array_size(t->dst_ns))
		ret = apply_ns(t->left, WEIR_FLD_DESTINATION_POD, t->dst_ns) ?:
			      apply_ns(t->right, WEIR_FLD_DESTINATION_POD, t->dst_ns);
	if (!ret && json_array_size(t->src_ns))
		ret = apply_ns(t->left, WEIR_FLD_SOURCE_POD, t->src_ns) ?:
			      apply_ns(t->right, WEIR_FLD_SOURCE_POD, t->src_ns);
	if (!ret && json_array_size(t->ns))
		ret = apply_ns(t->left, WEIR_FLD_SOURCE_POD, t->ns) ?:
			      apply_ns(t->right, WEIR_FLD_DESTINATION_POD, t->ns);
	if (ret)
		return ret;
	left = filter_json(t->left);
	right = filter_json(t->right);
	if (!left || !right)
		ret = -ENOMEM;
	else if (json_equal(left, right))
		ret = json_array_append(list, left);
	else
		ret = json_array_append(list, left) || json_array_append(list, right) ? -ENOMEM : 0;
	json_decref(left);
	json_decref(right);
	return ret ? -ENOMEM : 0;
}

static int list_finish(struct weir_ff_tracker *t, bool used, json_t *raw, json_t **out)
{
	json_t *list = json_array();

	*out = NULL;
	if (!list || (used && tracker_filters(t, list)) || (raw && json_array_extend(list, raw))) {
		json_decref(list);
		return -ENOMEM;
	}
	if (!json_array_size(list)) {
		json_decref(list);
		return 0;
	}
	*out = list;
	return 0;
}

int weir_ff_finish(struct weir_ff_set *s, json_t **allow, json_t **deny, char *err, size_t err_len)
{
	struct weir_filter_set *fs = NULL;
	char why[256] = "";
	int ret;

	*allow = *deny = NULL;
	if (s->negate_next) {
		snprintf(err, err_len, "trailing --not found in the arguments");
		return -EINVAL;
	}
	ret = list_finish(&s->allow, s->has_allow, s->raw_allow, allow) ?:
		      list_finish(&s->deny, s->has_deny, s->raw_deny, deny);
	if (ret) {
		snprintf(err, err_len, "out of memory");
		goto err;
	}
	/* the namespaces were applied last: check the whole lists once more */
	ret = weir_filter_set_new(&fs, *allow, *deny, why, sizeof(why));
	weir_filter_set_free(fs);
	if (ret) {
		snprintf(err, err_len, "invalid filter: %s", why);
		goto err;
	}
	return 0;
err:
	json_decref(*allow);
	json_decref(*deny);
	*allow = *deny = NULL;
	return ret;
}

/* A YAML single-quoted scalar: quotes doubled. */
static void yaml_quoted(FILE *out, const char *s)
{
	fputc('\'', out);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', out);
		fputc(*s, out);
	}
	fputc('\'', out);
}

static int yaml_list(FILE *out, const char *key, const json_t *list)
{
	const json_t *f;
	size_t i;

	if (!json_array_size(list))
		return 0;
	fprintf(out, "%s:\n", key);
	json_array_foreach(list, i, f)
	{
		char *text = json_dumps(f, JSON_COMPACT);

		if (!text)
			return -ENOMEM;
		fputs("    - ", out);
		yaml_quoted(out, text);
		fputc('\n', out);
		free(text);
	}
	return 0;
}

int weir_ff_print_raw(FILE *out, const json_t *allow, const json_t *deny)
{
	if (!json_array_size(allow) && !json_array_size(deny)) {
		fputs("{}\n", out);
		return 0;
	}
	return yaml_list(out, "allowlist", allow) ?: yaml_list(out, "denylist", deny);
}

/* ---- times ---- */

static bool digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int weir_observe_time_parse(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
	size_t len = strlen(s);
	char buf[64];

	if (!weir_time_parse(s, now_ns, out_ns))
		return 0;
	if (len < 10 || len > 40 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
	    s[7] != '-' || !digits(s + 8, 2))
		return -EINVAL;
	/* Hubble's YearMonthDay, YearMonthDayHour, YearMonthDayHourMinute */
	if (len == 10)
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
	else if (len > 13 && s[10] == 'T' && digits(s + 11, 2) && s[13] != ':')
		snprintf(buf, sizeof(buf), "%.13s:00:00%s", s, s + 13);
	else if (len > 16 && s[10] == 'T' && s[13] == ':' && digits(s + 14, 2) && s[16] != ':')
		snprintf(buf, sizeof(buf), "%.16s:00%s", s, s + 16);
	else
		return -EINVAL;
	return weir_time_parse_rfc3339(buf, out_ns);
}
