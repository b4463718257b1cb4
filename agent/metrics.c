// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's Prometheus registry and its text exposition (format 0.0.4). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include "weir.skel.h"
#include "datapath.h"
#include "exporters.h"
#include "log.h"
#include "lb_metrics.h"
#include "metrics.h"
#include "state_file.h"
#include "prefilter.h"
#include "names.h"
#include "store.h"

#define POD_BUCKETS	 4096
#define POD_MEMO	 4096 /* endpoints whose pod entry pod_count() remembers */
#define IFACE_BUCKETS	 256
#define IFACE_MEMO	 256  /* interfaces, by index, whose entry iface_count() remembers */
#define IFACE_SERIES_MAX 4096 /* interfaces with their own series; pod veths come and go */
#define VERDICTS	 (WEIR_VERDICT_AUDIT + 1)
#define OTHER		 "_other"

enum side {
	SIDE_SOURCE,
	SIDE_DESTINATION,
	SIDE_MAX,
};

static const char *const side_names[SIDE_MAX] = { "source", "destination" };

struct pod_entry {
	struct pod_entry *next;
	uint32_t hash; /* pod_hash() */
	char *namespace;
	char *pod_name;
	uint64_t flows[SIDE_MAX][VERDICTS];
};

/* A first sweep counts a million flow starts between a few thousand pods:
 * the entry of a record's endpoint object is remembered, without hashing
 * and comparing its names. The reference keeps the object's address from
 * being another endpoint's.
 */
struct pod_memo {
	struct weir_endpoint *ep; /* a reference, or NULL */
	struct pod_entry *e;
};

struct iface_entry {
	struct iface_entry *next;
	uint32_t hash;		     /* hash_str() of the name */
	uint32_t ifindex;	     /* of the last record counted here */
	char name[IF_NAMESIZE + 16]; /* an ifname, or "if" and the index */
	uint64_t flows[VERDICTS];
};

struct weir_metrics {
	pthread_mutex_t lock;
	size_t max_pod_series;
	size_t pod_series; /* non-zero (pod, side, verdict) counters */
	struct pod_entry *pods[POD_BUCKETS];
	struct pod_memo pod_memo[POD_MEMO];
	uint64_t pod_other[SIDE_MAX][VERDICTS];
	size_t n_ifaces;
	struct iface_entry *ifaces[IFACE_BUCKETS];
	/* by ifindex % IFACE_MEMO; entries live as long as the registry */
	struct iface_entry *iface_memo[IFACE_MEMO];
	uint64_t iface_other[VERDICTS];
};

int weir_metrics_new(struct weir_metrics **out, size_t max_pod_series)
{
	struct weir_metrics *m;
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	err = -pthread_mutex_init(&m->lock, NULL);
	if (err) {
		free(m);
		return err;
	}
	m->max_pod_series = max_pod_series ? max_pod_series : WEIR_METRICS_POD_SERIES_DEFAULT;
	*out = m;
	return 0;
}

static void pod_entry_free(struct pod_entry *e)
{
	free(e->namespace);
	free(e->pod_name);
	free(e);
}

void weir_metrics_free(struct weir_metrics *m)
{
	struct pod_entry *p, *pn;
	struct iface_entry *i, *in;
	size_t b;

	if (!m)
		return;
	for (b = 0; b < POD_BUCKETS; b++) {
		for (p = m->pods[b]; p; p = pn) {
			pn = p->next;
			pod_entry_free(p);
		}
	}
	for (b = 0; b < POD_MEMO; b++)
		weir_endpoint_put(m->pod_memo[b].ep);
	for (b = 0; b < IFACE_BUCKETS; b++) {
		for (i = m->ifaces[b]; i; i = in) {
			in = i->next;
			free(i);
		}
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* FNV-1a, continued from h. */
static uint32_t hash_str(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

#define HASH_INIT 2166136261u

/* Namespace and pod, with a separator neither contains. */
static uint32_t pod_hash(const char *ns, const char *pod)
{
	return hash_str(hash_str(hash_str(HASH_INIT, ns), "/"), pod);
}

/* h: pod_hash(ns, pod); entries of other hashes are passed over unread. */
static struct pod_entry **pod_slot(struct weir_metrics *m, const char *ns, const char *pod,
				   uint32_t h)
{
	struct pod_entry **pp = &m->pods[h % POD_BUCKETS];

	while (*pp && ((*pp)->hash != h || strcmp((*pp)->namespace, ns) != 0 ||
		       strcmp((*pp)->pod_name, pod) != 0))
		pp = &(*pp)->next;
	return pp;
}

static unsigned int verdict_idx(uint8_t verdict)
{
	return verdict < VERDICTS ? verdict : WEIR_VERDICT_VERDICT_UNKNOWN;
}

/* Called locked. A counter that would become a new series past the bound
 * goes to pod="_other" instead, so the series count never exceeds it.
 */
static void pod_count(struct weir_metrics *m, struct weir_endpoint *ep, enum side side,
		      unsigned int v)
{
	struct pod_memo *memo = &m->pod_memo[((uintptr_t)ep / sizeof(*ep)) % POD_MEMO];
	struct pod_entry **pp, *e;
	uint32_t h;

	if (!ep || ep->identity != WEIR_IDENTITY_POD || !ep->namespace || !ep->pod_name)
		return;
	if (memo->ep == ep && memo->e->flows[side][v]) {
		memo->e->flows[side][v]++;
		return;
	}
	h = pod_hash(ep->namespace, ep->pod_name);
	pp = pod_slot(m, ep->namespace, ep->pod_name, h);
	e = *pp;
	if (e) {
		weir_endpoint_put(memo->ep);
		memo->ep = weir_endpoint_get(ep);
		memo->e = e;
	}
	if (e && e->flows[side][v]) {
		e->flows[side][v]++;
		return;
	}
	if (m->pod_series >= m->max_pod_series)
		goto other;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			goto other;
		e->hash = h;
		e->namespace = strdup(ep->namespace);
		e->pod_name = strdup(ep->pod_name);
		if (!e->namespace || !e->pod_name) {
			pod_entry_free(e);
			goto other;
		}
		*pp = e;
	}
	e->flows[side][v] = 1;
	m->pod_series++;
	return;

other:
	m->pod_other[side][v]++;
}

static void iface_count(struct weir_metrics *m, const struct weir_flow_record *r, unsigned int v)
{
	struct iface_entry **pp, *e;
	struct iface_entry **memo = &m->iface_memo[r->ifindex % IFACE_MEMO];
	char name[sizeof(e->name)];
	size_t len;
	uint32_t h;

	e = *memo;
	if (e && e->ifindex == r->ifindex && r->ifname[0] &&
	    !strncmp(e->name, r->ifname, IF_NAMESIZE)) {
		e->flows[v]++;
		return;
	}
	if (r->ifname[0]) {
		/* no printf for a record's every flow start */
		len = strnlen(r->ifname, IF_NAMESIZE);
		memcpy(name, r->ifname, len);
		name[len] = '\0';
	} else {
		snprintf(name, sizeof(name), "if%u", r->ifindex);
	}
	h = hash_str(HASH_INIT, name);
	pp = &m->ifaces[h % IFACE_BUCKETS];
	while (*pp && ((*pp)->hash != h || strcmp((*pp)->name, name) != 0))
		pp = &(*pp)->next;
	e = *pp;
	if (!e) {
		if (m->n_ifaces >= IFACE_SERIES_MAX)
			goto other;
		e = calloc(1, sizeof(*e));
		if (!e)
			goto other;
		memcpy(e->name, name, sizeof(e->name));
		e->hash = h;
		*pp = e;
		m->n_ifaces++;
	}
	e->ifindex = r->ifindex; /* a name can move to another index */
	*memo = e;
	e->flows[v]++;
	return;

other:
	m->iface_other[v]++;
}

void weir_metrics_observe(struct weir_metrics *m, const struct weir_flow_record *r)
{
	unsigned int v;

	/* Flows, not packets: a flow counts once, at its start (or its drop).
	 * Its later records carry cumulative counters of the same packets.
	 */
	if (!m || !r || (r->type != WEIR_RECORD_START && r->type != WEIR_RECORD_DROP))
		return;
	v = verdict_idx(r->verdict);
	pthread_mutex_lock(&m->lock);
	pod_count(m, r->src, SIDE_SOURCE, v);
	pod_count(m, r->dst, SIDE_DESTINATION, v);
	iface_count(m, r, v);
	pthread_mutex_unlock(&m->lock);
}

void weir_metrics_forget_pod(struct weir_metrics *m, const char *namespace, const char *pod_name)
{
	struct pod_entry **pp, *e;
	size_t s, v;

	if (!m || !namespace || !pod_name)
		return;
	pthread_mutex_lock(&m->lock);
	pp = pod_slot(m, namespace, pod_name, pod_hash(namespace, pod_name));
	e = *pp;
	if (e) {
		*pp = e->next;
		for (s = 0; s < POD_MEMO; s++) {
			if (m->pod_memo[s].e != e)
				continue;
			weir_endpoint_put(m->pod_memo[s].ep);
			m->pod_memo[s].ep = NULL;
			m->pod_memo[s].e = NULL;
		}
		for (s = 0; s < SIDE_MAX; s++)
			for (v = 0; v < VERDICTS; v++)
				m->pod_series -= e->flows[s][v] != 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (e)
		pod_entry_free(e);
}

/* Exposition helpers. */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values escape backslash, double quote and line feed. */
static void put_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

/* name{k1="v1",...} value, with n_labels key, value pairs of strings. */
static void sample(FILE *f, const char *name, uint64_t value, int n_labels, ...)
{
	const char *k;
	va_list ap;
	int i;

	fputs(name, f);
	va_start(ap, n_labels);
	for (i = 0; i < n_labels; i++) {
		k = va_arg(ap, const char *);
		fprintf(f, "%s%s=\"", i ? "," : "{", k);
		put_label_value(f, va_arg(ap, const char *));
		fputc('"', f);
	}
	va_end(ap);
	fprintf(f, "%s %" PRIu64 "\n", n_labels ? "}" : "", value);
}

static const char *dir_name(unsigned int dir)
{
	switch (dir) {
	case WEIR_DIR_INGRESS:
		return "INGRESS";
	case WEIR_DIR_EGRESS:
		return "EGRESS";
	default:
		return "UNKNOWN";
	}
}

static const char *hook_name(unsigned int hook)
{
	return hook == WEIR_HOOK_XDP ? "xdp" : "tc";
}

static const char *reason_label(unsigned int reason, char *buf, size_t len)
{
	const char *name = weir_reason_name(reason);

	if (name)
		return name;
	snprintf(buf, len, "%u", reason);
	return buf;
}

/* Datapath counters, summed over CPUs at render time. */

struct dp_sums {
	struct weir_metrics_value m[WEIR_METRICS_ENTRIES];
	__u64 counters[WEIR_CNT_MAX];
	bool have_m;
	bool have_counters;
};

static void read_datapath(struct weir_agent *a, struct dp_sums *d)
{
	if (!a || !a->dp)
		return;
	d->have_m = !weir_datapath_read_metrics(a->dp, d->m);
	d->have_counters = !weir_datapath_read_counters(a->dp, d->counters);
}

static void render_datapath(FILE *f, const struct dp_sums *d)
{
	uint64_t drop[256][WEIR_DIR_MAX][2] = { 0 }; /* [reason][dir]{packets, bytes} */
	uint64_t fwd[WEIR_DIR_MAX][2] = { 0 };
	const struct weir_metrics_value *v;
	struct weir_metrics_key k;
	unsigned int dir, reason;
	char buf[16];
	__u32 idx;
	int bytes;

	for (bytes = 0; bytes < 2; bytes++) {
		if (bytes)
			family(f, "weir_datapath_bytes_total", "counter",
			       "Bytes the datapath handled, by verdict, reason, direction "
			       "and hook.");
		else
			family(f, "weir_datapath_packets_total", "counter",
			       "Packets the datapath handled, by verdict, reason, "
			       "direction and hook.");
		for (idx = 0; d->have_m && idx < WEIR_METRICS_ENTRIES; idx++) {
			v = &d->m[idx];
			if (!v->packets && !v->bytes)
				continue;
			k = weir_metrics_key_of(idx);
			sample(f,
			       bytes ? "weir_datapath_bytes_total" : "weir_datapath_packets_total",
			       bytes ? v->bytes : v->packets, 4, "verdict",
			       weir_verdict_name(weir_reason_verdict(k.reason)), "reason",
			       reason_label(k.reason, buf, sizeof(buf)), "direction",
			       dir_name(k.dir), "hook", hook_name(k.hook));
		}
	}

	for (idx = 0; d->have_m && idx < WEIR_METRICS_ENTRIES; idx++) {
		k = weir_metrics_key_of(idx);
		if (k.dir >= WEIR_DIR_MAX)
			continue;
		if (weir_reason_is_drop(k.reason)) {
			drop[k.reason][k.dir][0] += d->m[idx].packets;
			drop[k.reason][k.dir][1] += d->m[idx].bytes;
		} else {
			fwd[k.dir][0] += d->m[idx].packets;
			fwd[k.dir][1] += d->m[idx].bytes;
		}
	}
	for (bytes = 0; bytes < 2; bytes++) {
		if (bytes)
			family(f, "weir_drop_bytes_total", "counter",
			       "Bytes dropped, by reason and direction (all hooks).");
		else
			family(f, "weir_drop_total", "counter",
			       "Packets dropped, by reason and direction (all hooks).");
		for (reason = WEIR_DROP_MIN; d->have_m && reason < 256; reason++) {
			for (dir = 0; dir < WEIR_DIR_MAX; dir++) {
				if (!drop[reason][dir][0] && !drop[reason][dir][1])
					continue;
				sample(f, bytes ? "weir_drop_bytes_total" : "weir_drop_total",
				       drop[reason][dir][bytes], 2, "reason",
				       reason_label(reason, buf, sizeof(buf)), "direction",
				       dir_name(dir));
			}
		}
	}
	for (bytes = 0; bytes < 2; bytes++) {
		if (bytes)
			family(f, "weir_forward_bytes_total", "counter",
			       "Bytes forwarded, by direction, summed over hooks (XDP "
			       "and TC ingress on one interface count a packet twice).");
		else
			family(f, "weir_forward_total", "counter",
			       "Packets forwarded, by direction, summed over hooks (XDP "
			       "and TC ingress on one interface count a packet twice).");
		for (dir = WEIR_DIR_INGRESS; d->have_m && dir < WEIR_DIR_MAX; dir++)
			sample(f, bytes ? "weir_forward_bytes_total" : "weir_forward_total",
			       fwd[dir][bytes], 1, "direction", dir_name(dir));
	}

	family(f, "weir_datapath_health_total", "counter",
	       "Datapath health counters, named as in WEIR_COUNTERS "
	       "(LOST_EVENTS: ring-buffer events lost to a full buffer).");
	for (idx = 0; d->have_counters && idx < WEIR_CNT_MAX; idx++)
		sample(f, "weir_datapath_health_total", d->counters[idx], 1, "counter",
		       weir_counter_name(idx));
}

/* The state files (--state-dir, --lb-state-file): a failed write leaves the
 * file older than what the agent holds, until a later write succeeds.
 */
static void render_state_files(FILE *f, bool have_agent)
{
	struct weir_state_file_health h[WEIR_STATE_FILES_MAX];
	size_t i, n = have_agent ? weir_state_file_health(h, WEIR_STATE_FILES_MAX) : 0;

	family(f, "weir_state_write_failures_total", "counter",
	       "State file writes that failed (a full or read-only disk), by file.");
	for (i = 0; i < n; i++)
		sample(f, "weir_state_write_failures_total", h[i].failures, 1, "file", h[i].name);
	family(f, "weir_state_file_stale", "gauge",
	       "1 while the last write of the state file failed: a restart would lose changes.");
	for (i = 0; i < n; i++)
		sample(f, "weir_state_file_stale", h[i].stale ? 1 : 0, 1, "file", h[i].name);
}

static void render_agent(FILE *f, struct weir_agent *a)
{
	struct weir_agent_status st = { 0 };
	struct weir_store_stats ss = { 0 };

	if (a) {
		weir_agent_status(a, &st);
		if (a->store)
			weir_store_stats(a->store, &ss);
	}

	family(f, "weir_lost_events_total", "counter",
	       "Events lost: ring_buffer (the datapath could not write "
	       "them), follower_queue (dropped from slow follow streams).");
	if (a) {
		sample(f, "weir_lost_events_total", st.lost_events, 1, "source", "ring_buffer");
		sample(f, "weir_lost_events_total", st.follower_lost, 1, "source",
		       "follower_queue");
	}
	family(f, "weir_flows_seen_total", "counter", "Flow records made since the agent started.");
	if (a)
		sample(f, "weir_flows_seen_total", st.seen_flows, 0);
	family(f, "weir_flows_stored", "gauge", "Flow records held in the store.");
	if (a)
		sample(f, "weir_flows_stored", st.num_flows, 0);
	family(f, "weir_flows_max", "gauge", "Capacity of the flow store, in records.");
	if (a)
		sample(f, "weir_flows_max", st.max_flows, 0);
	family(f, "weir_flows_active", "gauge", "Flows the assembler is tracking.");
	if (a)
		sample(f, "weir_flows_active", st.active_flows, 0);
	family(f, "weir_follow_streams", "gauge", "Open follow streams on /v1/flows.");
	if (a && a->store)
		sample(f, "weir_follow_streams", ss.followers, 0);
	family(f, "weir_flow_table_entries", "gauge",
	       "Entries in the kernel flow table at the last sweep.");
	if (a)
		sample(f, "weir_flow_table_entries", st.flow_table_entries, 0);
	family(f, "weir_flow_table_max", "gauge", "Size of the kernel flow table.");
	if (a)
		sample(f, "weir_flow_table_max", st.flow_table_max, 0);
	family(f, "weir_flow_evictions_total", "counter",
	       "Flows the kernel evicted from a full flow table before the agent ended them.");
	if (a)
		sample(f, "weir_flow_evictions_total", st.flow_evictions, 0);
	family(f, "weir_agent_uptime_seconds", "gauge", "Seconds since the agent started.");
	if (a)
		fprintf(f, "weir_agent_uptime_seconds %.3f\n", (double)st.uptime_ns / 1e9);
	family(f, "weir_agent_resident_memory_bytes", "gauge", "Resident memory of the agent.");
	if (a)
		sample(f, "weir_agent_resident_memory_bytes", st.rss_bytes, 0);
	family(f, "weir_endpoints", "gauge", "Endpoints in the endpoint cache, all sources.");
	if (a)
		sample(f, "weir_endpoints", st.endpoints, 0);
	render_state_files(f, a != NULL);
}

static void render_flows(FILE *f, struct weir_metrics *m)
{
	const struct pod_entry *p;
	const struct iface_entry *i;
	const char *vname;
	size_t b, s, v;

	family(f, "weir_flows_total", "counter",
	       "Flows started or dropped, by the pod at either end "
	       "(pod=\"_other\" beyond the series limit).");
	if (m) {
		pthread_mutex_lock(&m->lock);
		for (b = 0; b < POD_BUCKETS; b++) {
			for (p = m->pods[b]; p; p = p->next) {
				for (s = 0; s < SIDE_MAX; s++) {
					for (v = 0; v < VERDICTS; v++) {
						if (!p->flows[s][v])
							continue;
						vname = weir_verdict_name(v);
						sample(f, "weir_flows_total", p->flows[s][v], 4,
						       "namespace", p->namespace, "pod",
						       p->pod_name, "direction", side_names[s],
						       "verdict",
						       vname ? vname : "VERDICT_UNKNOWN");
					}
				}
			}
		}
		for (s = 0; s < SIDE_MAX; s++) {
			for (v = 0; v < VERDICTS; v++) {
				if (!m->pod_other[s][v])
					continue;
				vname = weir_verdict_name(v);
				sample(f, "weir_flows_total", m->pod_other[s][v], 4, "namespace",
				       OTHER, "pod", OTHER, "direction", side_names[s], "verdict",
				       vname ? vname : "VERDICT_UNKNOWN");
			}
		}
		pthread_mutex_unlock(&m->lock);
	}

	family(f, "weir_interface_flows_total", "counter",
	       "Flows started or dropped, by the interface that saw them.");
	if (m) {
		pthread_mutex_lock(&m->lock);
		for (b = 0; b < IFACE_BUCKETS; b++) {
			for (i = m->ifaces[b]; i; i = i->next) {
				for (v = 0; v < VERDICTS; v++) {
					if (!i->flows[v])
						continue;
					vname = weir_verdict_name(v);
					sample(f, "weir_interface_flows_total", i->flows[v], 2,
					       "interface", i->name, "verdict",
					       vname ? vname : "VERDICT_UNKNOWN");
				}
			}
		}
		for (v = 0; v < VERDICTS; v++) {
			if (!m->iface_other[v])
				continue;
			vname = weir_verdict_name(v);
			sample(f, "weir_interface_flows_total", m->iface_other[v], 2, "interface",
			       OTHER, "verdict", vname ? vname : "VERDICT_UNKNOWN");
		}
		pthread_mutex_unlock(&m->lock);
	}
}

int weir_metrics_render(struct weir_metrics *m, struct weir_agent *a, char **out, size_t *len)
{
	struct dp_sums *d;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int err = 0;

	*out = NULL;
	*len = 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	/* Map reads are syscalls: do them before any lock is taken. */
	read_datapath(a, d);
	f = open_memstream(&buf, &size);
	if (!f) {
		err = -errno;
		goto out;
	}
	render_datapath(f, d);
	if (a && a->prefilter)
		weir_prefilter_metrics(a->prefilter, f);
	render_agent(f, a);
	render_flows(f, m);
	weir_agent_exporters_metrics(a, f);
	weir_lb_metrics_render(f, a ? a->services : NULL);
	if (ferror(f))
		err = -ENOMEM;
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(buf);
		goto out;
	}
	*out = buf;
	*len = size;
out:
	free(d);
	return err;
}
