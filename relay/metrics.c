// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The relay's Prometheus exposition. Node names come from the nodes: every
 * label value is escaped, and the address label keeps series apart when two
 * nodes give the same name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "flowlog.h"
#include "merge.h"
#include "metrics.h"
#include "peers.h"
#include "store.h"

struct out {
	char *buf;
	size_t len;
	size_t cap;
	bool oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *p;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		cap = o->cap * 2 + (size_t)n;
		p = realloc(o->buf, cap);
		if (!p) {
			o->oom = true;
			return;
		}
		o->buf = p;
		o->cap = cap;
	}
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(struct out *o, const char *s)
{
	char esc[3] = "\\";

	for (; *s; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			esc[1] = *s == '\n' ? 'n' : *s;
			put(o, "%s", esc);
		} else {
			put(o, "%c", *s);
		}
	}
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void node_labels(struct out *o, const struct weir_node_info *n)
{
	put(o, "node=\"");
	put_label(o, n->name);
	put(o, "\",address=\"");
	put_label(o, n->address);
	put(o, "\"");
}

typedef uint64_t (*node_value_fn)(const struct weir_node_info *n);

static uint64_t v_records(const struct weir_node_info *n)
{
	return n->flows_seen;
}

static uint64_t v_parse(const struct weir_node_info *n)
{
	return n->parse_errors;
}

static uint64_t v_lost(const struct weir_node_info *n)
{
	return n->lost_events;
}

static uint64_t v_connects(const struct weir_node_info *n)
{
	return n->connects;
}

static uint64_t v_failures(const struct weir_node_info *n)
{
	return n->failures;
}

static void per_node(struct out *o, const struct weir_node_info *v, size_t n, const char *name,
		     const char *type, const char *help, node_value_fn fn)
{
	size_t i;

	head(o, name, type, help);
	for (i = 0; i < n; i++) {
		put(o, "%s{", name);
		node_labels(o, &v[i]);
		put(o, "} %" PRIu64 "\n", fn(&v[i]));
	}
}

static void nodes_section(struct out *o, const struct weir_node_info *v, size_t n)
{
	static const enum weir_node_state states[] = { WEIR_NODE_CONNECTED, WEIR_NODE_UNAVAILABLE,
						       WEIR_NODE_ERROR };
	size_t i, k, count;

	head(o, "weir_relay_nodes", "gauge", "Nodes by state (Hubble's NodeState).");
	for (k = 0; k < 3; k++) {
		for (i = 0, count = 0; i < n; i++)
			count += v[i].state == states[k];
		put(o, "weir_relay_nodes{state=\"%s\"} %zu\n", weir_node_state_name(states[k]),
		    count);
	}
	head(o, "weir_relay_node_state", "gauge",
	     "1 for the state each node is in, 0 for the others.");
	for (i = 0; i < n; i++) {
		for (k = 0; k < 3; k++) {
			put(o, "weir_relay_node_state{");
			node_labels(o, &v[i]);
			put(o, ",state=\"%s\"} %d\n", weir_node_state_name(states[k]),
			    v[i].state == states[k]);
		}
	}
	per_node(o, v, n, "weir_relay_node_records_total", "counter",
		 "Flow records received from the node.", v_records);
	per_node(o, v, n, "weir_relay_node_parse_errors_total", "counter",
		 "Invalid lines from the node (bad JSON, not a flow, over-long, truncated).",
		 v_parse);
	per_node(o, v, n, "weir_relay_node_stream_lost_total", "counter",
		 "Records the node reported lost on the relay's stream (the relay fell behind).",
		 v_lost);
	per_node(o, v, n, "weir_relay_node_connects_total", "counter",
		 "Times the node's flow stream was opened.", v_connects);
	per_node(o, v, n, "weir_relay_node_failures_total", "counter",
		 "Times the connection to the node failed or ended.", v_failures);
	head(o, "weir_relay_node_flows_per_second", "gauge",
	     "Records per second from the node over the last 10 s.");
	for (i = 0; i < n; i++) {
		put(o, "weir_relay_node_flows_per_second{");
		node_labels(o, &v[i]);
		put(o, "} %.3f\n", v[i].flows_per_second);
	}
	head(o, "weir_relay_node_last_contact_timestamp_seconds", "gauge",
	     "When the relay last heard from the node (0: never).");
	for (i = 0; i < n; i++) {
		put(o, "weir_relay_node_last_contact_timestamp_seconds{");
		node_labels(o, &v[i]);
		put(o, "} %.3f\n", (double)v[i].last_contact_ns / 1e9);
	}
}

/* The flow logs' families, rendered by lib/flowlog. */
static void flowlogs_section(struct out *o, struct weir_relay *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!r->n_flowlogs)
		return;
	f = open_memstream(&text, &len);
	if (!f) {
		o->oom = true;
		return;
	}
	weir_flowlogs_metrics(r->flowlogs, r->n_flowlogs, f);
	if (fclose(f))
		o->oom = true;
	else
		put(o, "%s", text);
	free(text);
}

int weir_relay_metrics_render(struct weir_relay *r, char **out, size_t *len)
{
	struct out o = { .cap = 8192 };
	struct weir_store_stats ss;
	struct weir_merge_stats ms;
	struct weir_node_info *v;
	struct timespec ts;
	uint64_t parse = 0;
	size_t n, i;
	int err;

	err = weir_peers_snapshot(r->peers, &v, &n);
	if (err)
		return err;
	o.buf = malloc(o.cap);
	if (!o.buf) {
		weir_node_info_free(v, n);
		return -ENOMEM;
	}
	o.buf[0] = '\0';
	for (i = 0; i < n; i++)
		parse += v[i].parse_errors;
	nodes_section(&o, v, n);
	weir_node_info_free(v, n);
	weir_store_stats(r->store, &ss);
	weir_merge_stats(r->merge, &ms);

	head(&o, "weir_relay_records_total", "counter",
	     "Records merged into the store, late ones included.");
	put(&o, "weir_relay_records_total %" PRIu64 "\n", ms.released);
	head(&o, "weir_relay_late_records_total", "counter",
	     "Records that came after newer ones had left the sort window: stored out of order.");
	put(&o, "weir_relay_late_records_total %" PRIu64 "\n", ms.late);
	head(&o, "weir_relay_early_records_total", "counter",
	     "Records released before their time because the sort window was full.");
	put(&o, "weir_relay_early_records_total %" PRIu64 "\n", ms.early);
	head(&o, "weir_relay_parse_errors_total", "counter", "Invalid lines from every node.");
	put(&o, "weir_relay_parse_errors_total %" PRIu64 "\n", parse);
	head(&o, "weir_relay_sort_buffer_records", "gauge", "Records held in the sort window.");
	put(&o, "weir_relay_sort_buffer_records %" PRIu64 "\n", ms.held);
	head(&o, "weir_relay_store_records", "gauge", "Records in the relay's store.");
	put(&o, "weir_relay_store_records %" PRIu64 "\n", ss.num_flows);
	head(&o, "weir_relay_store_capacity", "gauge", "The store's capacity in records.");
	put(&o, "weir_relay_store_capacity %" PRIu64 "\n", ss.max_flows);
	head(&o, "weir_relay_store_fill_ratio", "gauge", "Store records over capacity.");
	put(&o, "weir_relay_store_fill_ratio %.6f\n",
	    ss.max_flows ? (double)ss.num_flows / (double)ss.max_flows : 0.0);
	head(&o, "weir_relay_follow_streams", "gauge", "Open follow streams.");
	put(&o, "weir_relay_follow_streams %" PRIu64 "\n", ss.followers);
	head(&o, "weir_relay_follower_lost_total", "counter",
	     "Records and events dropped from slow follow streams' queues.");
	put(&o, "weir_relay_follower_lost_total %" PRIu64 "\n", ss.follower_lost);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	head(&o, "weir_relay_uptime_seconds", "gauge", "Seconds since the relay started.");
	put(&o, "weir_relay_uptime_seconds %.3f\n",
	    ((double)ts.tv_sec * 1e9 + (double)ts.tv_nsec - (double)r->start_mono_ns) / 1e9);
	flowlogs_section(&o, r);
	if (o.oom) {
		free(o.buf);
		return -ENOMEM;
	}
	*out = o.buf;
	*len = o.len;
	return 0;
}
