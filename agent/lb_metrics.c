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

#define STATS_U64	(sizeof(struct weir_lb_stats) / sizeof(__u64))
#define CT_BATCH	4096 /* conntrack entries per batch lookup */
#define ENOTSUPP_KERNEL 524  /* ENOTSUPP: the kernel's "not supported", not in errno.h */

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* bpf_ktime_get_coarse_ns's clock */
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void ct_add(struct weir_lb_ct_counts *out, uint32_t svc_max, uint32_t backend_max,
		   const struct weir_lb_ct_value *v, uint64_t now)
{
	if (v->last_seen_ns + weir_lb_ct_timeout_ns(v->state) < now)
		return; /* expired: the datapath chooses again on the next packet */
	if (v->svc_id <= svc_max)
		out->svc[v->svc_id]++;
	if (v->backend_id <= backend_max)
		out->backend[v->backend_id]++;
}

/* One entry at a time: kernels without batch lookups on LRU hashes. */
static void ct_walk_slow(const struct weir_lb_maps *m, uint32_t svc_max, uint32_t backend_max,
			 struct weir_lb_ct_counts *out, uint64_t now)
{
	struct weir_lb_tuple key, next;
	struct weir_lb_ct_value v;
	void *prev = NULL;

	while (!bpf_map_get_next_key(m->ct, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(m->ct, &key, &v)) /* else gone meanwhile */
			ct_add(out, svc_max, backend_max, &v, now);
	}
}

int weir_lb_ct_count(const struct weir_lb_maps *m, uint32_t svc_max, uint32_t backend_max,
		     struct weir_lb_ct_counts *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct weir_lb_tuple *keys = NULL;
	struct weir_lb_ct_value *vals = NULL;
	uint64_t now = coarse_now_ns();
	__u32 batch, n, i;
	bool first = true;
	int err = 0;

	out->svc = calloc((size_t)svc_max + 1, sizeof(*out->svc));
	out->backend = calloc((size_t)backend_max + 1, sizeof(*out->backend));
	keys = malloc(CT_BATCH * sizeof(*keys));
	vals = malloc(CT_BATCH * sizeof(*vals));
	if (!out->svc || !out->backend || !keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		n = CT_BATCH;
		err = bpf_map_lookup_batch(m->ct, first ? NULL : &batch, &batch, keys, vals, &n,
					   &bo);
		err = err ? -errno : 0;
		if (err && err != -ENOENT) {
			if (first &&
			    (err == -EINVAL || err == -ENOTSUP || err == -ENOTSUPP_KERNEL)) {
				ct_walk_slow(m, svc_max, backend_max, out, now);
				err = 0;
			}
			break;
		}
		for (i = 0; i < n; i++)
			ct_add(out, svc_max, backend_max, &vals[i], now);
		first = false;
		if (err == -ENOENT) { /* the last batch */
			err = 0;
			break;
		}
	}
out:
	free(keys);
	free(vals);
	if (err)
		weir_lb_ct_counts_release(out);
	return err;
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

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t u64_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) :
								 0;
}

static const char *str_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* Where a sample's value comes from: a key of the object's "stats", or of
 * the object itself.
 */
struct fam {
	const char *name, *type, *help, *key;
	bool in_stats;
};

static const struct fam svc_fams[] = {
	{ "weir_lb_service_new_flows_total", "counter",
	  "New flows (conntrack entries) of the service.", "new_flows", true },
	{ "weir_lb_service_packets_total", "counter",
	  "Packets to the service the load balancer forwarded.", "packets", true },
	{ "weir_lb_service_bytes_total", "counter",
	  "Bytes (L2 frames) to the service the load balancer forwarded.", "bytes", true },
	{ "weir_lb_service_drops_total", "counter",
	  "Packets to the service dropped for want of a usable backend.", "drops", true },
	{ "weir_lb_service_active_flows", "gauge", "Live conntrack entries of the service.",
	  "active_flows", true },
};

static const struct fam backend_fams[] = {
	{ "weir_lb_backend_new_flows_total", "counter",
	  "New flows (conntrack entries) the load balancer sent to the backend.", "new_flows",
	  true },
	{ "weir_lb_backend_packets_total", "counter",
	  "Packets the load balancer forwarded to the backend.", "packets", true },
	{ "weir_lb_backend_bytes_total", "counter",
	  "Bytes (L2 frames) the load balancer forwarded to the backend.", "bytes", true },
	{ "weir_lb_backend_active_flows", "gauge", "Live conntrack entries naming the backend.",
	  "active_flows", true },
	{ "weir_lb_backend_healthy", "gauge",
	  "1 when the backend passes its health check (or has none), else 0.", NULL, false },
	{ "weir_lb_backend_health_changes_total", "counter",
	  "Times the backend's health changed since the agent started.", "health_changes", false },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Label values are service names ([A-Za-z0-9._-]), addresses and state
 * names: nothing to escape.
 */
static void backend_sample(FILE *f, const struct fam *fam, const json_t *svc, const json_t *b)
{
	const char *ip = str_of(b, "ip");
	bool v6 = strchr(ip, ':') != NULL;
	uint64_t v;

	if (!fam->key)
		v = strcmp(str_of(b, "health"), "down") != 0;
	else
		v = u64_of(fam->in_stats ? json_object_get(b, "stats") : b, fam->key);
	fprintf(f, "%s{service=\"%s\",backend=\"%s%s%s:%" PRIu64 "\",state=\"%s\"} %" PRIu64 "\n",
		fam->name, str_of(svc, "name"), v6 ? "[" : "", ip, v6 ? "]" : "", u64_of(b, "port"),
		str_of(b, "state"), v);
}

void weir_lb_metrics_render(FILE *f, struct weir_services *s)
{
	json_t *all = s ? weir_services_json(s, NULL, NULL) : NULL, *list, *svc, *b;
	uint64_t tr[2] = { 0, 0 };
	size_t k, i, j;

	list = json_object_get(all, "services");
	family(f, "weir_lb_services", "gauge", "Load-balancer services configured.");
	if (all)
		fprintf(f, "weir_lb_services %zu\n", json_array_size(list));
	for (k = 0; k < N_OF(svc_fams); k++) {
		family(f, svc_fams[k].name, svc_fams[k].type, svc_fams[k].help);
		json_array_foreach(list, i, svc)
			fprintf(f, "%s{service=\"%s\"} %" PRIu64 "\n", svc_fams[k].name,
				str_of(svc, "name"),
				u64_of(json_object_get(svc, "stats"), svc_fams[k].key));
	}
	for (k = 0; k < N_OF(backend_fams); k++) {
		family(f, backend_fams[k].name, backend_fams[k].type, backend_fams[k].help);
		json_array_foreach(list, i, svc)
			json_array_foreach(json_object_get(svc, "backends"), j, b)
				backend_sample(f, &backend_fams[k], svc, b);
	}
	family(f, "weir_lb_health_transitions_total", "counter",
	       "Backends the health checks took out (to=\"down\") or put back (to=\"up\").");
	if (s) {
		weir_services_health_transitions(s, tr);
		fprintf(f, "weir_lb_health_transitions_total{to=\"down\"} %" PRIu64 "\n", tr[0]);
		fprintf(f, "weir_lb_health_transitions_total{to=\"up\"} %" PRIu64 "\n", tr[1]);
	}
	json_decref(all);
}
