// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow log aggregation: records summed per key per wall-clock interval,
 * with delta counters, emitted as one GetFlowsResponse per key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flow_delta.h"
#include "flowlog.h"
#include "hashtab.h"
#include "timefmt.h"

#define NS_PER_S	  1000000000ULL
#define DELTA_MAX_AGE_MIN (120 * NS_PER_S)
#define KEY_MAX		  1024
#define SEP		  '\x1f' /* between a key's fields: not in names or addresses */

struct agg_entry {
	struct weir_hnode node;
	char *key;
	struct weir_flow_record *rep; /* the key's fields, from the first record */
	uint64_t flows, records, ingress, egress, unknown;
	struct agg_entry *next; /* in order of arrival */
};

struct weir_flow_agg {
	uint64_t interval_ns;
	unsigned int fields;
	uint64_t start_ns, end_ns; /* the interval being summed; 0: none yet */
	struct weir_htab tab;
	struct agg_entry *head, *tail;
	struct weir_flow_delta *delta;
};

static const struct {
	const char *name;
	unsigned int bit;
} agg_names[] = {
	{ "node_name", WEIR_AGG_NODE },
	{ "source_ip", WEIR_AGG_SRC_IP },
	{ "source_pod", WEIR_AGG_SRC_POD },
	{ "destination_ip", WEIR_AGG_DST_IP },
	{ "destination_pod", WEIR_AGG_DST_POD },
	{ "destination_port", WEIR_AGG_DST_PORT },
	{ "protocol", WEIR_AGG_PROTO },
	{ "verdict", WEIR_AGG_VERDICT },
	{ "traffic_direction", WEIR_AGG_DIRECTION },
	{ "interface", WEIR_AGG_INTERFACE },
};

int weir_agg_fields_parse(const char *spec, unsigned int *out, char *err, size_t err_len)
{
	char *copy, *tok, *save = NULL;
	unsigned int bits = 0;
	size_t i;

	if (!spec || !*spec) {
		*out = WEIR_AGG_DEFAULT;
		return 0;
	}
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok += strspn(tok, " ");
		tok[strcspn(tok, " ")] = '\0';
		for (i = 0; i < sizeof(agg_names) / sizeof(agg_names[0]); i++)
			if (!strcmp(agg_names[i].name, tok))
				break;
		if (i == sizeof(agg_names) / sizeof(agg_names[0])) {
			snprintf(err, err_len,
				 "aggregate-by: unknown field '%.64s' (node_name, source_ip, "
				 "source_pod, destination_ip, destination_pod, destination_port, "
				 "protocol, verdict, traffic_direction, interface)",
				 tok);
			free(copy);
			return -EINVAL;
		}
		bits |= agg_names[i].bit;
	}
	free(copy);
	if (!bits) {
		snprintf(err, err_len, "aggregate-by: no fields");
		return -EINVAL;
	}
	*out = bits;
	return 0;
}

int weir_flow_agg_new(struct weir_flow_agg **out, uint64_t interval_ns, unsigned int fields)
{
	struct weir_flow_agg *g;
	uint64_t age = 3 * interval_ns;
	int err;

	if (!interval_ns)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->interval_ns = interval_ns;
	g->fields = fields;
	err = weir_htab_init(&g->tab, 256);
	err = err   ?:
		      weir_flow_delta_new(&g->delta,
					  age > DELTA_MAX_AGE_MIN ? age : DELTA_MAX_AGE_MIN);
	if (err) {
		weir_htab_release(&g->tab);
		free(g);
		return err;
	}
	*out = g;
	return 0;
}

static void entries_free(struct weir_flow_agg *g)
{
	struct agg_entry *e, *next;

	for (e = g->head; e; e = next) {
		next = e->next;
		weir_htab_remove(&g->tab, &e->node);
		weir_flow_record_put(e->rep);
		free(e->key);
		free(e);
	}
	g->head = g->tail = NULL;
}

void weir_flow_agg_free(struct weir_flow_agg *g)
{
	if (!g)
		return;
	entries_free(g);
	weir_htab_release(&g->tab);
	weir_flow_delta_free(g->delta);
	free(g);
}

static const char *str_or_empty(bool keyed, const char *s)
{
	return keyed && s ? s : "";
}

/* The key's fields of r as one string, SEP between them. */
static size_t key_of(const struct weir_flow_agg *g, const struct weir_flow_record *r, char *k,
		     size_t len)
{
	unsigned int f = g->fields;
	bool sp = f & WEIR_AGG_SRC_POD && r->src, dp = f & WEIR_AGG_DST_POD && r->dst;
	bool port = f & WEIR_AGG_DST_PORT, verdict = f & WEIR_AGG_VERDICT;
	unsigned int dport = port ? r->dport : 0, type = port ? r->icmp_type : 0;
	unsigned int code = port ? r->icmp_code : 0, proto = f & WEIR_AGG_PROTO ? r->proto : 0;
	unsigned int v = verdict ? r->verdict : 0, reason = verdict ? r->reason : 0;
	unsigned int dir = f & WEIR_AGG_DIRECTION ? r->dir : 0;
	unsigned int ifindex = f & WEIR_AGG_INTERFACE ? r->ifindex : 0;
	char a[64] = "", b[64] = "";
	int n;

	if (f & WEIR_AGG_SRC_IP)
		weir_addr_str(r->family, r->saddr, a, sizeof(a));
	if (f & WEIR_AGG_DST_IP)
		weir_addr_str(r->family, r->daddr, b, sizeof(b));
	n = snprintf(k, len, "%u%c%s%c%s%c%s/%s%c%s%c%s/%s%c%u:%u:%u%c%u%c%u:%u%c%u%c%u",
		     (unsigned int)r->family, SEP, str_or_empty(f & WEIR_AGG_NODE, r->node_name),
		     SEP, a, SEP, str_or_empty(sp, sp ? r->src->namespace : NULL),
		     str_or_empty(sp, sp ? r->src->pod_name : NULL), SEP, b, SEP,
		     str_or_empty(dp, dp ? r->dst->namespace : NULL),
		     str_or_empty(dp, dp ? r->dst->pod_name : NULL), SEP, dport, type, code, SEP,
		     proto, SEP, v, reason, SEP, dir, SEP, ifindex);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

/* A record holding only the key's fields of r. */
static struct weir_flow_record *rep_of(const struct weir_flow_agg *g,
				       const struct weir_flow_record *r)
{
	struct weir_flow_record *rep = weir_flow_record_new();

	if (!rep)
		return NULL;
	rep->family = r->family;
	if (g->fields & WEIR_AGG_SRC_IP)
		memcpy(rep->saddr, r->saddr, sizeof(rep->saddr));
	if (g->fields & WEIR_AGG_DST_IP)
		memcpy(rep->daddr, r->daddr, sizeof(rep->daddr));
	if (g->fields & WEIR_AGG_DST_PORT) {
		rep->dport = r->dport;
		rep->icmp_type = r->icmp_type;
		rep->icmp_code = r->icmp_code;
	}
	if (g->fields & WEIR_AGG_PROTO)
		rep->proto = r->proto;
	if (g->fields & WEIR_AGG_VERDICT) {
		rep->verdict = r->verdict;
		rep->reason = r->reason;
	}
	if (g->fields & WEIR_AGG_DIRECTION)
		rep->dir = r->dir;
	if (g->fields & WEIR_AGG_INTERFACE) {
		rep->ifindex = r->ifindex;
		memcpy(rep->ifname, r->ifname, sizeof(rep->ifname));
	}
	if (g->fields & WEIR_AGG_NODE && r->node_name) {
		rep->node_name = strdup(r->node_name);
		if (!rep->node_name) {
			weir_flow_record_put(rep);
			return NULL;
		}
	}
	if (g->fields & WEIR_AGG_SRC_POD)
		rep->src = weir_endpoint_get(r->src);
	if (g->fields & WEIR_AGG_DST_POD)
		rep->dst = weir_endpoint_get(r->dst);
	return rep;
}

static json_t *json_time(uint64_t ns)
{
	char buf[WEIR_TIME_STR_LEN];

	return json_string(weir_time_format(ns, buf, sizeof(buf)));
}

static json_t *entry_json(const struct weir_flow_agg *g, struct agg_entry *e)
{
	json_t *resp, *flow, *ip, *w;

	e->rep->time_ns = g->end_ns;
	resp = weir_flow_record_to_json(e->rep);
	flow = json_object_get(resp, "flow");
	if (!flow) {
		json_decref(resp);
		return NULL;
	}
	/* a record's identity and summary mean nothing for a sum of them */
	json_object_del(flow, "uuid");
	json_object_del(flow, "Summary");
	ip = json_object_get(flow, "IP");
	if (ip && !(g->fields & WEIR_AGG_SRC_IP))
		json_object_del(ip, "source");
	if (ip && !(g->fields & WEIR_AGG_DST_IP))
		json_object_del(ip, "destination");
	w = json_object_get(flow, "weir");
	if (!w) {
		w = json_object();
		json_object_set_new(flow, "weir", w);
	}
	json_object_set_new(w, "aggregate",
			    json_pack("{s:o,s:o,s:I,s:I}", "start", json_time(g->start_ns), "end",
				      json_time(g->end_ns), "flows", (json_int_t)e->flows,
				      "records", (json_int_t)e->records));
	json_object_set_new(flow, "aggregate",
			    json_pack("{s:I,s:I,s:I}", "ingress_flow_count", (json_int_t)e->ingress,
				      "egress_flow_count", (json_int_t)e->egress,
				      "unknown_direction_flow_count", (json_int_t)e->unknown));
	return resp;
}

static void emit_all(struct weir_flow_agg *g, weir_agg_emit_fn emit, void *ctx)
{
	struct agg_entry *e;
	json_t *j;

	for (e = g->head; e; e = e->next) {
		j = entry_json(g, e);
		if (j)
			emit(ctx, j);
	}
	entries_free(g);
}

void weir_flow_agg_tick(struct weir_flow_agg *g, uint64_t now_ns, bool force, weir_agg_emit_fn emit,
			void *ctx)
{
	if (!g->end_ns || (!force && now_ns < g->end_ns))
		return;
	emit_all(g, emit, ctx);
	g->start_ns = g->end_ns = 0;
	weir_flow_delta_expire(g->delta, now_ns);
}

uint64_t weir_flow_agg_due(const struct weir_flow_agg *g)
{
	return g->end_ns;
}

static struct agg_entry *entry_get(struct weir_flow_agg *g, const struct weir_flow_record *r)
{
	struct weir_hnode *pos;
	struct agg_entry *e;
	char key[KEY_MAX];
	size_t len = key_of(g, r, key, sizeof(key));
	uint64_t h = weir_hash_bytes(key, len);

	weir_htab_for_each_possible(&g->tab, pos, h)
	{
		e = (struct agg_entry *)pos;
		if (!strcmp(e->key, key))
			return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = strdup(key);
	e->rep = rep_of(g, r);
	if (!e->key || !e->rep || weir_htab_insert(&g->tab, &e->node, h)) {
		weir_flow_record_put(e->rep);
		free(e->key);
		free(e);
		return NULL;
	}
	if (g->tail)
		g->tail->next = e;
	else
		g->head = e;
	g->tail = e;
	return e;
}

void weir_flow_agg_add(struct weir_flow_agg *g, const struct weir_flow_record *r, uint64_t now_ns,
		       weir_agg_emit_fn emit, void *ctx)
{
	struct weir_flow_counts d;
	struct agg_entry *e;

	weir_flow_agg_tick(g, now_ns, false, emit, ctx);
	if (!g->end_ns) {
		g->start_ns = now_ns - now_ns % g->interval_ns;
		g->end_ns = g->start_ns + g->interval_ns;
	}
	/* taken even if the entry cannot be made, so the next interval's deltas stay right */
	weir_flow_delta_take(g->delta, r, now_ns, &d);
	e = entry_get(g, r);
	if (!e)
		return;
	e->rep->packets += d.packets;
	e->rep->bytes += d.bytes;
	e->rep->reply_packets += d.reply_packets;
	e->rep->reply_bytes += d.reply_bytes;
	e->rep->tcp_flags |= r->tcp_flags;
	e->records++;
	if (r->type == WEIR_RECORD_START || r->type == WEIR_RECORD_DROP)
		e->flows++;
	if (r->dir == WEIR_DIR_INGRESS)
		e->ingress++;
	else if (r->dir == WEIR_DIR_EGRESS)
		e->egress++;
	else
		e->unknown++;
}
