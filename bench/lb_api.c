// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/lb_api: how long the service API takes to apply a change to a
 * service of 1000 backends, through the agent's real code: PUT
 * /v1/services/NAME over the agent's unix socket (libcurl as the client),
 * the document parsed and validated, the Maglev table built, a new inner map
 * filled and swapped in, the backends and the service entry written to the
 * datapath's maps (loaded, not attached), and the state file rewritten.
 *
 * Each round changes one thing (a weight, a drain, an added backend, a
 * removed backend, in turn) and times the PUT from the client's side; the
 * same changes are also applied in-process (weir_services_put(), no HTTP) to
 * show what HTTP adds. After every change the table in the kernel is read
 * back and must name exactly the service's active backends: a wrong table
 * makes the exit status 1, a missed target only prints MISS. Wall time is
 * what a caller waits on a loaded machine; CPU time (the whole process: the
 * server's threads, the client, the kernel work they cause) is the cost.
 *
 *   bench/lb_api [-n BACKENDS] [-r ROUNDS] [-m TABLE_SIZE]
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <curl/curl.h>
#include <jansson.h>
#include <weir/lb.h>
#include "agent.h"
#include "common.h"
#include "datapath.h"
#include "http.h"
#include "lb_maps.h"
#include "log.h"
#include "maglev.h"
#include "services.h"
#include "store.h"

#define BACKENDS_DEFAULT 1000
#define ROUNDS_DEFAULT	 40
#define ROUNDS_MAX	 1000
#define TARGET_MS	 50.0
#define SVC_NAME	 "bench"

struct bench {
	struct weir_agent a;
	struct weir_http *http;
	struct weir_lb_maps maps;
	char dir[64], sock[96], state[96];
	int backends;
	uint32_t table_size;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return bench_ts_ns(&ts) / 1e6;
}

/* CPU time of the whole process (the HTTP server's threads, the client and
 * the kernel work they cause): what a change costs whatever else runs.
 */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return bench_ts_ns(&ts) / 1e6;
}

/* Backend i: 10.(1 + i / 65536).(i / 256 % 256).(i % 256):8080. */
static json_t *backend_doc(int i, int weight, const char *state)
{
	char ip[32];

	snprintf(ip, sizeof(ip), "10.%d.%d.%d", 1 + i / 65536, i / 256 % 256, i % 256);
	return json_pack("{s:s,s:i,s:i,s:s}", "ip", ip, "port", 8080, "weight", weight, "state",
			 state);
}

static json_t *service_doc(const struct bench *b)
{
	json_t *doc = json_pack("{s:s,s:s,s:i,s:s,s:I,s:[]}", "name", SVC_NAME, "vip", "10.96.0.10",
				"port", 80, "protocol", "TCP", "table_size",
				(json_int_t)b->table_size, "backends");
	json_t *arr = json_object_get(doc, "backends");
	int i;

	for (i = 0; i < b->backends; i++)
		json_array_append_new(arr, backend_doc(i, 100, "active"));
	return doc;
}

/* Round r's change to doc: a weight, a drain (undone next time), an added
 * backend, a removed one.
 */
static void change(json_t *doc, int r, int *next_id)
{
	json_t *arr = json_object_get(doc, "backends");
	size_t n = json_array_size(arr);
	json_t *b = json_array_get(arr, (size_t)r * 7919 % n);

	switch (r % 4) {
	case 0:
		json_object_set_new(b, "weight", json_integer(50 + r % 100));
		break;
	case 1:
		json_object_set_new(
			b, "state",
			json_string(
				strcmp(json_string_value(json_object_get(b, "state")), "active") ?
					"active" :
					"draining"));
		break;
	case 2:
		json_array_append_new(arr, backend_doc((*next_id)++, 100, "active"));
		break;
	default:
		json_array_remove(arr, (size_t)r * 104729 % n);
		break;
	}
}

static size_t body_sink(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static int put_http(CURL *curl, const char *sock, const char *text, long *status)
{
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, "http://agent/v1/services/" SVC_NAME);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_sink);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(curl) != CURLE_OK)
		return -EIO;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	return *status == 200 || *status == 201 ? 0 : -EPROTO;
}

/* The kernel's table of the service names exactly its active backends. */
static int check_table(const struct bench *b, const json_t *doc)
{
	json_t *svc = weir_services_json(b->a.services, SVC_NAME, NULL), *be;
	uint32_t svc_id = (uint32_t)json_integer_value(json_object_get(svc, "id"));
	uint32_t inner_id, m = 0, slot, id, *seen_ids = NULL;
	size_t i, n_active = 0, n_seen = 0, k;
	int fd = -1, err = -EBADMSG;

	if (bpf_map_lookup_elem(b->maps.maglev, &svc_id, &inner_id))
		goto out;
	fd = bpf_map_get_fd_by_id(inner_id);
	slot = 0;
	if (fd < 0 || bpf_map_lookup_elem(fd, &slot, &m) || m != b->table_size)
		goto out;
	json_array_foreach(json_object_get(doc, "backends"), i, be) n_active +=
		!strcmp(json_string_value(json_object_get(be, "state")), "active");
	seen_ids = calloc(n_active + 1, sizeof(*seen_ids));
	if (!seen_ids)
		goto out;
	for (slot = 1; slot <= m; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, &id) || !id)
			goto out;
		for (k = 0; k < n_seen && seen_ids[k] != id; k++)
			;
		if (k == n_seen) {
			if (n_seen == n_active)
				goto out; /* more backends than are active */
			seen_ids[n_seen++] = id;
		}
	}
	err = n_seen == n_active ? 0 : -EBADMSG;
out:
	if (err)
		fprintf(stderr,
			"bench/lb_api: the kernel's table is wrong (svc_id=%u size=%u, "
			"%zu of %zu active backends)\n",
			svc_id, m, n_seen, n_active);
	free(seen_ids);
	if (fd >= 0)
		close(fd);
	json_decref(svc);
	return err;
}

static int setup(struct bench *b)
{
	struct weir_datapath_opts o = { 0 };
	struct weir_services_opts so = { 0 };
	int err;

	snprintf(b->dir, sizeof(b->dir), "/tmp/weir-bench-lb-XXXXXX");
	if (!mkdtemp(b->dir))
		return -errno;
	snprintf(b->sock, sizeof(b->sock), "%s/agent.sock", b->dir);
	snprintf(b->state, sizeof(b->state), "%s/lb-services.json", b->dir);
	weir_agent_config_defaults(&b->a.cfg);
	free(b->a.cfg.listen);
	b->a.cfg.listen = strdup("");
	free(b->a.cfg.socket_path);
	b->a.cfg.socket_path = strdup(b->sock);
	err = weir_datapath_load(&b->a.dp, &o);
	err = err ?: weir_lb_maps_open(&b->maps, b->a.dp);
	err = err ?: weir_lb_maps_seed(&b->maps, &so.seed);
	if (err)
		return err;
	so.maps = &b->maps;
	so.table_size = b->table_size;
	so.state_file = b->state;
	err = weir_services_new(&b->a.services, &so);
	err = err ?: weir_store_new(&b->a.store, 1024);
	err = err ?: weir_http_start(&b->a, &b->http);
	return err;
}

static void teardown(struct bench *b)
{
	weir_http_stop(b->http);
	weir_services_free(b->a.services);
	weir_store_free(b->a.store);
	if (b->a.dp)
		weir_datapath_destroy(b->a.dp);
	weir_agent_config_release(&b->a.cfg);
	unlink(b->state);
	rmdir(b->dir);
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	printf("  %-34s %8.2f %8.2f %8.2f %8.2f   %s\n", what, v[0], bench_median(v, n),
	       v[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1], v[n - 1],
	       bench_verdict(v[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1] < TARGET_MS));
}

int main(int argc, char **argv)
{
	struct bench b = { .backends = BACKENDS_DEFAULT, .table_size = WEIR_MAGLEV_SIZE_DEFAULT };
	double *http_ms = NULL, *direct_ms = NULL, *http_cpu = NULL, *direct_cpu = NULL;
	double create_ms, t0, c0;
	long long v;
	int rounds = ROUNDS_DEFAULT, next_id, r, opt, err, ret = 1;
	char errbuf[256] = "";
	CURL *curl = NULL;
	json_t *doc = NULL;
	long status = 0;
	char *text;
	bool created;

	while ((opt = getopt(argc, argv, "n:r:m:")) != -1) {
		if (opt == 'n' && !bench_parse_num(optarg, 1, 60000, &v))
			b.backends = (int)v;
		else if (opt == 'r' && !bench_parse_num(optarg, 4, ROUNDS_MAX, &v))
			rounds = (int)v;
		else if (opt == 'm' &&
			 !bench_parse_num(optarg, WEIR_MAGLEV_SIZE_MIN, WEIR_LB_MAGLEV_M_MAX, &v) &&
			 weir_maglev_is_prime((uint32_t)v))
			b.table_size = (uint32_t)v;
		else {
			fprintf(stderr,
				"usage: bench/lb_api [-n BACKENDS] [-r ROUNDS 4-%d] "
				"[-m PRIME TABLE SIZE]\n",
				ROUNDS_MAX);
			return 2;
		}
	}
	weir_log_set_level(WEIR_LOG_WARN);
	bench_pin_cpu(-1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	http_ms = calloc((size_t)rounds, sizeof(*http_ms));
	direct_ms = calloc((size_t)rounds, sizeof(*direct_ms));
	http_cpu = calloc((size_t)rounds, sizeof(*http_cpu));
	direct_cpu = calloc((size_t)rounds, sizeof(*direct_cpu));
	curl = curl_easy_init();
	err = http_ms && direct_ms && http_cpu && direct_cpu && curl ? setup(&b) : -ENOMEM;
	if (err) {
		fprintf(stderr, "bench/lb_api: setup: %s\n", strerror(-err));
		goto out;
	}
	doc = service_doc(&b);
	next_id = b.backends;

	text = json_dumps(doc, JSON_COMPACT);
	t0 = now_ms();
	err = put_http(curl, b.sock, text, &status);
	create_ms = now_ms() - t0;
	free(text);
	if (err || check_table(&b, doc)) {
		fprintf(stderr, "bench/lb_api: create: HTTP %ld\n", status);
		goto out;
	}
	for (r = 0; r < rounds; r++) {
		change(doc, r, &next_id);
		text = json_dumps(doc, JSON_COMPACT);
		c0 = cpu_ms();
		t0 = now_ms();
		err = put_http(curl, b.sock, text, &status);
		http_ms[r] = now_ms() - t0;
		http_cpu[r] = cpu_ms() - c0;
		free(text);
		if (err || check_table(&b, doc)) {
			fprintf(stderr, "bench/lb_api: round %d: HTTP %ld\n", r, status);
			goto out;
		}
		/* The same kind of change again, applied in-process. */
		change(doc, r, &next_id);
		c0 = cpu_ms();
		t0 = now_ms();
		err = weir_services_put(b.a.services, SVC_NAME, doc, &created, errbuf,
					sizeof(errbuf));
		direct_ms[r] = now_ms() - t0;
		direct_cpu[r] = cpu_ms() - c0;
		if (err || check_table(&b, doc)) {
			fprintf(stderr, "bench/lb_api: round %d: %s\n", r, errbuf);
			goto out;
		}
	}
	printf("bench/lb_api: one change to a service of %d backends, Maglev table %u,\n"
	       "%d rounds (weight, drain, add, remove in turn); target: p95 under %.0f ms\n\n",
	       b.backends, b.table_size, rounds, TARGET_MS);
	printf("  %-34s %8s %8s %8s %8s\n", "ms per change", "min", "median", "p95", "max");
	report("PUT /v1/services/NAME, wall", http_ms, rounds);
	report("PUT /v1/services/NAME, CPU", http_cpu, rounds);
	report("weir_services_put(), wall", direct_ms, rounds);
	report("weir_services_put(), CPU", direct_cpu, rounds);
	printf("  %-34s %8.2f\n", "first PUT (creates the service)", create_ms);
	ret = 0;
out:
	json_decref(doc);
	if (curl)
		curl_easy_cleanup(curl);
	teardown(&b);
	free(http_ms);
	free(direct_ms);
	free(http_cpu);
	free(direct_cpu);
	curl_global_cleanup();
	return ret;
}
