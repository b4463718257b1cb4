// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Load-balancer statistics and their Prometheus families. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "datapath.h"
#include "lb_maps.h"
#include "lb_metrics.h"
#include "services.h"

#define STATS_U64 (sizeof(struct weir_lb_stats) / sizeof(__u64))

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* bpf_ktime_get_coarse_ns's clock */
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int weir_lb_ct_count(const struct weir_lb_maps *m, uint32_t svc_max, uint32_t backend_max,
		     struct weir_lb_ct_counts *out)
{
	struct weir_lb_tuple key, next;
	struct weir_lb_ct_value v;
	uint64_t now = coarse_now_ns();
	void *prev = NULL;

	out->svc = calloc((size_t)svc_max + 1, sizeof(*out->svc));
	out->backend = calloc((size_t)backend_max + 1, sizeof(*out->backend));
	if (!out->svc || !out->backend) {
		weir_lb_ct_counts_release(out);
		return -ENOMEM;
	}
	while (!bpf_map_get_next_key(m->ct, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->ct, &key, &v))
			continue; /* gone meanwhile */
		if (v.last_seen_ns + weir_lb_ct_timeout_ns(v.state) < now)
			continue; /* expired: the datapath re-chooses on the next packet */
		if (v.svc_id <= svc_max)
			out->svc[v.svc_id]++;
		if (v.backend_id <= backend_max)
			out->backend[v.backend_id]++;
	}
	return 0;
}

void weir_lb_ct_counts_release(struct weir_lb_ct_counts *c)
{
	free(c->svc);
	free(c->backend);
	c->svc = NULL;
	c->backend = NULL;
}

void weir_lb_stats_read(int fd, uint32_t id, struct weir_lb_stats *out)
{
	__u64 sums[STATS_U64];

	memset(out, 0, sizeof(*out));
	if (weir_percpu_sum(fd, id, sums, STATS_U64))
		return;
	memcpy(out, sums, sizeof(*out));
}

json_t *weir_lb_stats_json(const struct weir_lb_stats *st, uint64_t active)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I}", "new_flows", (json_int_t)st->new_flows, "packets",
			 (json_int_t)st->packets, "bytes", (json_int_t)st->bytes, "drops",
			 (json_int_t)st->drops, "active_flows", (json_int_t)active);
}

/* Label values here are service names ([A-Za-z0-9._-]) and addresses:
 * nothing to escape.
 */
static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct render {
	FILE *f;
	const struct weir_lb_maps *m;
	const struct weir_lb_ct_counts *ct;
	int pass; /* which family the walk prints */
};

enum {
	PASS_NEW_FLOWS,
	PASS_PACKETS,
	PASS_BYTES,
	PASS_ACTIVE,
	PASS_HEALTHY,
	PASS_CHANGES,
	PASS_MAX,
};

static const struct {
	const char *name, *type, *help;
} backend_families[PASS_MAX] = {
	{ "weir_lb_backend_new_flows_total", "counter",
	  "New flows (conntrack entries) the load balancer sent to the backend." },
	{ "weir_lb_backend_packets_total", "counter",
	  "Packets the load balancer forwarded to the backend." },
	{ "weir_lb_backend_bytes_total", "counter",
	  "Bytes (L2 frames) the load balancer forwarded to the backend." },
	{ "weir_lb_backend_active_flows", "gauge", "Live conntrack entries naming the backend." },
	{ "weir_lb_backend_healthy", "gauge",
	  "1 when the backend passes its health check (or has none), else 0." },
	{ "weir_lb_backend_health_changes_total", "counter",
	  "Times the backend's health changed since the agent started." },
};

static void backend_sample(void *ctx, const struct weir_lb_backend_info *b)
{
	struct render *r = ctx;
	struct weir_lb_stats st = { 0 };
	char addr[64];
	uint64_t v = 0;

	if (r->m && r->pass <= PASS_BYTES)
		weir_lb_stats_read(r->m->backend_stats, b->id, &st);
	switch (r->pass) {
	case PASS_NEW_FLOWS:
		v = st.new_flows;
		break;
	case PASS_PACKETS:
		v = st.packets;
		break;
	case PASS_BYTES:
		v = st.bytes;
		break;
	case PASS_ACTIVE:
		v = r->ct && r->ct->backend ? r->ct->backend[b->id] : 0;
		break;
	case PASS_HEALTHY:
		v = b->healthy;
		break;
	case PASS_CHANGES:
		v = b->health_changes;
		break;
	}
	weir_addr_str(b->cfg->addr.family, b->cfg->addr.bytes, addr, sizeof(addr));
	fprintf(r->f, "%s{service=\"%s\",backend=\"%s%s%s:%u\",state=\"%s\"} %" PRIu64 "\n",
		backend_families[r->pass].name, b->svc, b->cfg->addr.family == 6 ? "[" : "", addr,
		b->cfg->addr.family == 6 ? "]" : "", b->cfg->port,
		weir_backend_state_name(b->cfg->state), v);
}

/* One sample per service, from the services' JSON (stats included). */
static void svc_sample(FILE *f, const char *family_name, const char *svc, uint64_t v)
{
	fprintf(f, "%s{service=\"%s\"} %" PRIu64 "\n", family_name, svc, v);
}

void weir_lb_metrics_render(FILE *f, struct weir_services *s)
{
	static const char *const svc_families[][3] = {
		{ "weir_lb_service_new_flows_total", "counter",
		  "New flows (conntrack entries) of the service." },
		{ "weir_lb_service_packets_total", "counter",
		  "Packets to the service the load balancer forwarded." },
		{ "weir_lb_service_bytes_total", "counter",
		  "Bytes (L2 frames) to the service the load balancer forwarded." },
		{ "weir_lb_service_drops_total", "counter",
		  "Packets to the service dropped for want of a usable backend." },
		{ "weir_lb_service_active_flows", "gauge",
		  "Live conntrack entries of the service." },
	};
	struct weir_lb_ct_counts ct = { 0 };
	const struct weir_lb_maps *m = NULL;
	uint32_t svc_max = 0, backend_max = 0;
	struct render r = { .f = f };
	uint64_t tr[2] = { 0, 0 };
	json_t *all = NULL, *svc;
	size_t i, k;

	if (s) {
		m = weir_services_maps(s, &svc_max, &backend_max);
		if (m && !weir_lb_ct_count(m, svc_max, backend_max, &ct))
			r.ct = &ct;
		r.m = m;
		weir_services_health_transitions(s, tr);
		all = weir_services_json(s, NULL, NULL);
	}
	family(f, "weir_lb_services", "gauge", "Load-balancer services configured.");
	if (s)
		fprintf(f, "weir_lb_services %zu\n",
			json_array_size(json_object_get(all, "services")));
	for (k = 0; k < 5; k++) {
		static const char *const keys[] = { "new_flows", "packets", "bytes", "drops",
						    "active_flows" };

		family(f, svc_families[k][0], svc_families[k][1], svc_families[k][2]);
		json_array_foreach(json_object_get(all, "services"), i, svc)
		{
			json_t *st = json_object_get(svc, "stats");

			svc_sample(f, svc_families[k][0],
				   json_string_value(json_object_get(svc, "name")),
				   (uint64_t)json_integer_value(json_object_get(st, keys[k])));
		}
	}
	for (r.pass = 0; r.pass < PASS_MAX; r.pass++) {
		family(f, backend_families[r.pass].name, backend_families[r.pass].type,
		       backend_families[r.pass].help);
		if (s)
			weir_services_for_each_backend(s, backend_sample, &r);
	}
	family(f, "weir_lb_health_transitions_total", "counter",
	       "Backends the health checks took out (to=\"down\") or put back (to=\"up\").");
	if (s) {
		fprintf(f, "weir_lb_health_transitions_total{to=\"down\"} %" PRIu64 "\n", tr[0]);
		fprintf(f, "weir_lb_health_transitions_total{to=\"up\"} %" PRIu64 "\n", tr[1]);
	}
	json_decref(all);
	weir_lb_ct_counts_release(&ct);
}
