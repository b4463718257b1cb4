// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The relay's HTTP API: its status, its nodes, its metrics, and node status
 * events to open follow streams; the rest is libweir's server.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <microhttpd.h>
#include "flowlog.h"
#include "http.h"
#include "http_server.h"
#include "history_flows.h"
#include "history_http.h"
#include "merge.h"
#include "metrics.h"
#include "peers.h"
#include "store.h"
#include "timefmt.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* An RFC 3339 time, or null for 0 (never). */
static json_t *json_time(uint64_t ns)
{
	char buf[WEIR_TIME_STR_LEN];

	if (!ns || !weir_time_format(ns, buf, sizeof(buf)))
		return json_null();
	return json_string(buf);
}

static json_t *json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* Sets key to v (stolen); false when either is missing. */
static bool set(json_t *o, const char *key, json_t *v)
{
	return v && !json_object_set_new(o, key, v);
}

static json_t *node_json(const struct weir_node_info *n)
{
	json_t *o = json_object();
	bool ok;

	if (!o)
		return NULL;
	ok = set(o, "name", json_string(n->name));
	ok = ok && set(o, "address", json_string(n->address));
	ok = ok && set(o, "state", json_string(weir_node_state_name(n->state)));
	ok = ok && set(o, "connection", json_string(weir_peer_state_name(n->connection)));
	ok = ok && set(o, "source", json_string(n->from_dns ? "dns" : "static"));
	ok = ok && set(o, "last_contact", json_time(n->last_contact_ns));
	ok = ok && set(o, "connected_since", json_time(n->connected_since_ns));
	ok = ok && set(o, "flows_seen", json_u64(n->flows_seen));
	ok = ok && set(o, "flows_per_second", json_real(n->flows_per_second));
	ok = ok && set(o, "flows_rate", json_real(n->flows_per_second)); /* Hubble's name */
	ok = ok && set(o, "num_flows", json_u64(n->node.num_flows));
	ok = ok && set(o, "max_flows", json_u64(n->node.max_flows));
	ok = ok && set(o, "seen_flows", json_u64(n->node.seen_flows));
	ok = ok && set(o, "lost_events", json_u64(n->node.lost_events));
	ok = ok && set(o, "uptime_ns", json_u64(n->node.uptime_ns));
	ok = ok && set(o, "version", json_string(n->node.version));
	ok = ok &&
	     set(o, "last_error", n->last_error[0] ? json_string(n->last_error) : json_null());
	ok = ok && set(o, "last_error_time", json_time(n->last_error_ns));
	ok = ok && set(o, "next_attempt", json_time(n->next_attempt_ns));
	ok = ok && set(o, "parse_errors", json_u64(n->parse_errors));
	ok = ok && set(o, "stream_lost", json_u64(n->lost_events));
	ok = ok && set(o, "connects", json_u64(n->connects));
	ok = ok && set(o, "failures", json_u64(n->failures));
	ok = ok && set(o, "format", n->format ? json_string(n->format) : json_null());
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *weir_relay_nodes_json(struct weir_relay *r)
{
	struct weir_node_info *v;
	json_t *list, *o;
	size_t n, i;

	if (weir_peers_snapshot(r->peers, &v, &n))
		return NULL;
	list = json_array();
	for (i = 0; list && i < n; i++) {
		o = node_json(&v[i]);
		if (!o || json_array_append_new(list, o)) {
			json_decref(list);
			list = NULL;
		}
	}
	weir_node_info_free(v, n);
	return list;
}

/* Hubble's ServerStatus, summed over the connected nodes, then the relay's own. */
json_t *weir_relay_status_json(struct weir_relay *r)
{
	uint64_t num = 0, max = 0, seen = 0, lost = 0, parse = 0;
	size_t n, i, connected = 0;
	struct weir_store_stats ss;
	struct weir_merge_stats ms;
	struct weir_node_info *v;
	json_t *j, *down, *relay;
	double rate = 0;
	bool ok;

	if (weir_peers_snapshot(r->peers, &v, &n))
		return NULL;
	down = json_array();
	for (i = 0; i < n; i++) {
		parse += v[i].parse_errors;
		if (v[i].state != WEIR_NODE_CONNECTED) {
			if (down)
				json_array_append_new(down, json_string(v[i].name));
			continue;
		}
		connected++;
		num += v[i].node.num_flows;
		max += v[i].node.max_flows;
		seen += v[i].node.seen_flows;
		lost += v[i].node.lost_events;
		rate += v[i].flows_per_second;
	}
	weir_node_info_free(v, n);
	weir_store_stats(r->store, &ss);
	weir_merge_stats(r->merge, &ms);
	j = json_object();
	relay = json_object();
	ok = j && relay && down;
	ok = ok && set(j, "num_flows", json_u64(num));
	ok = ok && set(j, "max_flows", json_u64(max));
	ok = ok && set(j, "seen_flows", json_u64(seen));
	ok = ok && set(j, "lost_events", json_u64(lost));
	ok = ok && set(j, "flows_rate", json_real(rate));
	ok = ok && set(j, "uptime_ns", json_u64(clock_ns(CLOCK_MONOTONIC) - r->start_mono_ns));
	ok = ok && set(j, "version", json_string(WEIR_VERSION));
	ok = ok && set(j, "num_connected_nodes", json_u64(connected));
	ok = ok && set(j, "num_unavailable_nodes", json_u64(n - connected));
	ok = ok && set(j, "unavailable_nodes", json_incref(down));
	ok = ok && set(relay, "name", json_string(r->cfg.name ? r->cfg.name : ""));
	ok = ok && set(relay, "num_flows", json_u64(ss.num_flows));
	ok = ok && set(relay, "max_flows", json_u64(ss.max_flows));
	ok = ok && set(relay, "seen_flows", json_u64(ss.seen_flows));
	ok = ok && set(relay, "late_records", json_u64(ms.late));
	ok = ok && set(relay, "early_records", json_u64(ms.early));
	ok = ok && set(relay, "sort_buffer_records", json_u64(ms.held));
	ok = ok && set(relay, "parse_errors", json_u64(parse));
	ok = ok && set(relay, "follow_streams", json_u64(ss.followers));
	ok = ok && set(relay, "follower_lost", json_u64(ss.follower_lost));
	ok = ok && set(relay, "flowlogs", weir_flowlogs_status_json(r->flowlogs, r->n_flowlogs));
	ok = ok && set(relay, "history", weir_history_status_json(r->history));
	ok = ok && set(j, "relay", json_incref(relay));
	json_decref(down);
	json_decref(relay);
	if (!ok) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *status_cb(void *ctx)
{
	return weir_relay_status_json(ctx);
}

static int metrics_cb(void *ctx, char **text, size_t *len)
{
	struct weir_relay *r = ctx;
	int err = weir_relay_metrics_render(r, text, len);

	if (!err)
		err = weir_history_metrics_append(r->history, text, len);
	if (err) {
		free(*text);
		*text = NULL;
	}
	return err;
}

static int flows_more_cb(void *ctx, const struct weir_flow_request *req,
			 struct weir_flow_record ***recs, size_t *n)
{
	struct weir_relay *r = ctx;

	return weir_relay_flows_more(r->store, r->history, req, recs, n);
}

static void follow_open_cb(void *ctx, struct weir_follower *f)
{
	struct weir_relay *r = ctx;

	weir_peers_greet(r->peers, f);
}

static enum MHD_Result nodes_get(void *ctx, struct MHD_Connection *c,
				 const struct weir_http_request *rq)
{
	(void)rq;
	return weir_http_respond_json(c, MHD_HTTP_OK, weir_relay_nodes_json(ctx));
}

static enum MHD_Result aggregate_get(void *ctx, struct MHD_Connection *c,
				     const struct weir_http_request *rq)
{
	struct weir_relay *r = ctx;

	(void)rq;
	return weir_history_aggregate_get(r->history, c);
}

static const struct weir_http_route relay_routes[] = {
	{ .path = "/v1/nodes", .methods = "GET", .handle = nodes_get },
	{ .path = "/v1/flows/aggregate", .methods = "GET", .handle = aggregate_get },
};

int weir_relay_http_start(struct weir_relay *r, struct weir_http_server **out)
{
	struct weir_http_server_opts opts = {
		.name = "relay",
		.listen = r->cfg.listen,
		.socket_path = r->cfg.socket_path,
		.store = r->store,
		.follow_queue = r->cfg.follow_queue,
		.node_name = r->cfg.name,
		.follow_open = follow_open_cb,
		.flows_more = flows_more_cb,
		.status = status_cb,
		.metrics = metrics_cb,
		.routes = relay_routes,
		.n_routes = sizeof(relay_routes) / sizeof(relay_routes[0]),
		.ctx = r,
	};

	return weir_http_server_start(&opts, out);
}
