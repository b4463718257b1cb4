// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* /metrics: the exposition format, datapath sums, per-pod bounds and forgetting,
 * rendered from a real agent (datapath loaded, nothing attached or pinned).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include "weir.skel.h"
#include "agent.h"
#include "datapath.h"
#include "endpoints.h"
#include "flow.h"
#include "log.h"
#include "metrics.h"
#include "state_file.h"
#include "store.h"

#define SERIES_MAX 512 /* what these tests render, with room */

struct fixture {
	struct weir_agent a;
	char *text;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int setup(void **state)
{
	struct weir_datapath_opts opts = { .flows_max = 1024 };
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	weir_log_set_level(WEIR_LOG_ERR);
	if (weir_datapath_load(&f->a.dp, &opts)) {
		free(f);
		return -1;
	}
	if (weir_store_new(&f->a.store, 16) || weir_endpoints_new(&f->a.endpoints, "node-a") ||
	    weir_metrics_new(&f->a.metrics, 4) || pthread_mutex_init(&f->a.stats_lock, NULL))
		return -1;
	f->a.start_realtime_ns = realtime_ns() - 5000000000ULL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->text);
	weir_metrics_free(f->a.metrics);
	weir_endpoints_free(f->a.endpoints);
	weir_store_free(f->a.store);
	weir_datapath_destroy(f->a.dp);
	pthread_mutex_destroy(&f->a.stats_lock);
	free(f);
	return 0;
}

static const char *render(struct fixture *f)
{
	size_t len;

	free(f->text);
	f->text = NULL;
	assert_int_equal(weir_metrics_render(f->a.metrics, &f->a, &f->text, &len), 0);
	assert_non_null(f->text);
	assert_int_equal(strlen(f->text), len);
	return f->text;
}

/* Sets one per-CPU metrics entry: `packets` on CPU 0 and as many on the last. */
static void set_metric(struct fixture *f, __u8 reason, __u8 dir, __u8 hook, __u64 packets)
{
	int ncpu = libbpf_num_possible_cpus();
	struct weir_metrics_value *v = calloc(ncpu, sizeof(*v));
	__u32 idx = weir_metrics_index(reason, dir, hook);
	struct weir_bpf *skel = weir_datapath_skel(f->a.dp);

	assert_non_null(v);
	v[0].packets += packets;
	v[0].bytes += packets * 100;
	v[ncpu - 1].packets += packets;
	v[ncpu - 1].bytes += packets * 100;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.weir_metrics), &idx, v, 0), 0);
	free(v);
}

static void set_counter(struct fixture *f, __u32 idx, __u64 n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v = calloc(ncpu, sizeof(*v));
	struct weir_bpf *skel = weir_datapath_skel(f->a.dp);

	assert_non_null(v);
	v[ncpu - 1] = n;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.weir_counters), &idx, v, 0), 0);
	free(v);
}

static struct weir_endpoint *pod(const char *ns, const char *name)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);

	assert_non_null(ep);
	ep->namespace = strdup(ns);
	ep->pod_name = strdup(name);
	return ep;
}

/* Observes one record from src to dst (either may be NULL: world). */
static void observe_on(struct fixture *f, enum weir_record_type type, uint8_t verdict,
		       uint32_t ifindex, const char *ifname, struct weir_endpoint *src,
		       struct weir_endpoint *dst)
{
	struct weir_flow_record *r = weir_flow_record_new();

	assert_non_null(r);
	r->type = type;
	r->verdict = verdict;
	r->ifindex = ifindex;
	snprintf(r->ifname, sizeof(r->ifname), "%s", ifname);
	r->node_name = strdup("node-a");
	r->src = src ? weir_endpoint_get(src) : weir_endpoint_get(weir_endpoint_world());
	r->dst = dst ? weir_endpoint_get(dst) : weir_endpoint_get(weir_endpoint_world());
	weir_metrics_observe(f->a.metrics, r);
	weir_flow_record_put(r);
}

static void observe(struct fixture *f, enum weir_record_type type, uint8_t verdict,
		    const char *ifname, struct weir_endpoint *src, struct weir_endpoint *dst)
{
	observe_on(f, type, verdict, 7, ifname, src, dst);
}

/* The value of the sample whose name and labels are exactly `series`; -1 if absent. */
static int64_t sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* The exposition rules a scraper relies on: every sample's family has HELP
 * and TYPE before it, families are contiguous, no series appears twice, and
 * every line ends in a newline.
 */
static void check_exposition(const char *text)
{
	char family[128] = "", line[1024], seen_families[64][128];
	size_t n_families = 0, i, len;
	const char *p = text, *nl;
	char *series[SERIES_MAX];
	size_t n_series = 0;
	bool help = false;

	assert_true(strlen(text) > 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		len = (size_t)(nl - p);
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s", family), 1);
			assert_int_equal(strncmp(family, "weir_", 5), 0);
			for (i = 0; i < n_families; i++)
				assert_string_not_equal(seen_families[i], family);
			assert_true(n_families < 64);
			snprintf(seen_families[n_families++], sizeof(seen_families[0]), "%s",
				 family);
			help = true;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char name[128], type[16];

			assert_true(help);
			assert_int_equal(sscanf(line + 7, "%127s %15s", name, type), 2);
			assert_string_equal(name, family);
			assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge"));
			continue;
		}
		assert_int_not_equal(line[0], '#');
		/* A sample: its name is the current family's. */
		len = strcspn(line, "{ ");
		assert_int_equal(len, strlen(family));
		assert_int_equal(strncmp(line, family, len), 0);
		*strrchr(line, ' ') = '\0';
		for (i = 0; i < n_series; i++)
			assert_string_not_equal(series[i], line);
		assert_true(n_series < SERIES_MAX);
		series[n_series++] = strdup(line);
	}
	for (i = 0; i < n_series; i++)
		free(series[i]);
}

static void datapath_counters_are_summed_over_cpus(void **state)
{
	struct fixture *f = *state;
	const char *t;

	set_metric(f, WEIR_REASON_FORWARDED, WEIR_DIR_INGRESS, WEIR_HOOK_XDP, 5);
	set_metric(f, WEIR_REASON_FORWARDED, WEIR_DIR_INGRESS, WEIR_HOOK_TC, 1);
	set_metric(f, WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER, WEIR_DIR_EGRESS, WEIR_HOOK_TC, 3);
	set_metric(f, WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER, WEIR_DIR_EGRESS, WEIR_HOOK_XDP,
		   2);
	set_counter(f, WEIR_CNT_LOST_EVENTS, 9);
	t = render(f);
	check_exposition(t);

	/* Each entry was set on two CPUs (or counted twice on one). */
	assert_int_equal(sample(t, "weir_datapath_packets_total{verdict=\"FORWARDED\","
				   "reason=\"FORWARDED\",direction=\"INGRESS\",hook=\"xdp\"}"),
			 10);
	assert_int_equal(sample(t, "weir_datapath_bytes_total{verdict=\"DROPPED\","
				   "reason=\"CT_TRUNCATED_OR_INVALID_HEADER\",direction=\"EGRESS\","
				   "hook=\"tc\"}"),
			 600);
	/* Zero series are left out. */
	assert_null(strstr(t, "reason=\"UNPARSED_L2\""));
	/* Cilium's shapes: drops by reason and direction, forwards by direction, over hooks. */
	assert_int_equal(sample(t, "weir_drop_total{reason=\"CT_TRUNCATED_OR_INVALID_HEADER\","
				   "direction=\"EGRESS\"}"),
			 10);
	assert_int_equal(sample(t,
				"weir_drop_bytes_total{reason=\"CT_TRUNCATED_OR_INVALID_HEADER\","
				"direction=\"EGRESS\"}"),
			 1000);
	assert_int_equal(sample(t, "weir_forward_total{direction=\"INGRESS\"}"), 12);
	assert_int_equal(sample(t, "weir_forward_total{direction=\"EGRESS\"}"), 0);
	assert_int_equal(sample(t, "weir_datapath_health_total{counter=\"LOST_EVENTS\"}"), 9);
	assert_int_equal(sample(t, "weir_datapath_health_total{counter=\"FLOW_INSERT_FAILED\"}"),
			 0);
	assert_int_equal(sample(t, "weir_lost_events_total{source=\"ring_buffer\"}"), 9);
	assert_int_equal(sample(t, "weir_lost_events_total{source=\"follower_queue\"}"), 0);
	assert_int_equal(sample(t, "weir_flow_table_max"), 1024);
	assert_int_equal(sample(t, "weir_flows_max"), 16);
	assert_int_equal(sample(t, "weir_agent_uptime_seconds"), 5);
	assert_true(sample(t, "weir_agent_resident_memory_bytes") > 0);
}

static void flows_count_once_per_start_or_drop(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoint *web = pod("shop", "web-1"), *db = pod("shop", "db-1");
	const char *t;

	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", web, db);
	observe(f, WEIR_RECORD_UPDATE, WEIR_VERDICT_FORWARDED, "veth1", web, db);
	observe(f, WEIR_RECORD_END, WEIR_VERDICT_FORWARDED, "veth1", web, db);
	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", web, NULL);
	observe(f, WEIR_RECORD_DROP, WEIR_VERDICT_DROPPED, "", NULL, db);
	t = render(f);
	check_exposition(t);

	assert_int_equal(sample(t, "weir_flows_total{namespace=\"shop\",pod=\"web-1\","
				   "direction=\"source\",verdict=\"FORWARDED\"}"),
			 2);
	assert_int_equal(sample(t, "weir_flows_total{namespace=\"shop\",pod=\"db-1\","
				   "direction=\"destination\",verdict=\"FORWARDED\"}"),
			 1);
	assert_int_equal(sample(t, "weir_flows_total{namespace=\"shop\",pod=\"db-1\","
				   "direction=\"destination\",verdict=\"DROPPED\"}"),
			 1);
	/* World is no pod. */
	assert_null(strstr(t, "direction=\"source\",verdict=\"DROPPED\""));
	assert_int_equal(sample(t, "weir_interface_flows_total{interface=\"veth1\","
				   "verdict=\"FORWARDED\"}"),
			 2);
	/* An interface without a name goes by its index. */
	assert_int_equal(sample(t, "weir_interface_flows_total{interface=\"if7\","
				   "verdict=\"DROPPED\"}"),
			 1);
	weir_endpoint_put(web);
	weir_endpoint_put(db);
}

static void label_values_are_escaped(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoint *odd = pod("a\\b", "q\"uote\nnl");
	const char *t;

	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "ve\"th", odd, NULL);
	t = render(f);
	check_exposition(t);
	assert_int_equal(sample(t, "weir_flows_total{namespace=\"a\\\\b\",pod=\"q\\\"uote\\nnl\","
				   "direction=\"source\",verdict=\"FORWARDED\"}"),
			 1);
	assert_int_equal(sample(t, "weir_interface_flows_total{interface=\"ve\\\"th\","
				   "verdict=\"FORWARDED\"}"),
			 1);
	weir_endpoint_put(odd);
}

/* The fixture allows 4 per-pod series: the fifth goes to pod="_other", and
 * forgetting a pod frees its series for the next.
 */
static void pod_series_are_bounded_and_forgotten(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoint *p[6];
	char name[16];
	const char *t;
	int i;

	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		p[i] = pod("ns", name);
	}
	for (i = 0; i < 5; i++)
		observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", p[i], NULL);
	/* Counting on into an existing series is always allowed. */
	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", p[0], NULL);
	t = render(f);
	check_exposition(t);
	assert_int_equal(sample(t, "weir_flows_total{namespace=\"ns\",pod=\"p0\","
				   "direction=\"source\",verdict=\"FORWARDED\"}"),
			 2);
	assert_int_equal(sample(t, "weir_flows_total{namespace=\"ns\",pod=\"p3\","
				   "direction=\"source\",verdict=\"FORWARDED\"}"),
			 1);
	assert_int_equal(sample(t, "weir_flows_total{namespace=\"ns\",pod=\"p4\","
				   "direction=\"source\",verdict=\"FORWARDED\"}"),
			 -1);
	assert_int_equal(sample(t, "weir_flows_total{namespace=\"_other\",pod=\"_other\","
				   "direction=\"source\",verdict=\"FORWARDED\"}"),
			 1);

	weir_metrics_forget_pod(f->a.metrics, "ns", "p1");
	weir_metrics_forget_pod(f->a.metrics, "ns", "nobody"); /* harmless */
	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", p[5], NULL);
	t = render(f);
	check_exposition(t);
	assert_null(strstr(t, "pod=\"p1\""));
	assert_int_equal(sample(t, "weir_flows_total{namespace=\"ns\",pod=\"p5\","
				   "direction=\"source\",verdict=\"FORWARDED\"}"),
			 1);
	for (i = 0; i < 6; i++)
		weir_endpoint_put(p[i]);
}

/* The registry remembers each endpoint object's series: a forgotten pod's
 * series starts again from its next flow, and another object naming the
 * same pod counts into the same series.
 */
static void remembered_pods_count_right_after_forgetting(void **state)
{
	static const char *const web_src = "weir_flows_total{namespace=\"ns\",pod=\"web\","
					   "direction=\"source\",verdict=\"FORWARDED\"}";
	struct fixture *f = *state;
	struct weir_endpoint *web = pod("ns", "web"), *again = pod("ns", "web");

	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", web, NULL);
	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", web, NULL);
	assert_int_equal(sample(render(f), web_src), 2);
	weir_metrics_forget_pod(f->a.metrics, "ns", "web");
	assert_int_equal(sample(render(f), web_src), -1);
	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", web, NULL);
	assert_int_equal(sample(render(f), web_src), 1);
	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth1", again, NULL);
	assert_int_equal(sample(render(f), web_src), 2);
	check_exposition(f->text);
	weir_endpoint_put(web);
	weir_endpoint_put(again);
}

/* Interface series go by name, whatever index the name had and whatever
 * name an index had before.
 */
static void interface_series_follow_the_name(void **state)
{
	struct fixture *f = *state;
	const char *t;

	observe_on(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, 5, "lxc1", NULL, NULL);
	observe_on(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, 5, "lxc1", NULL, NULL);
	observe_on(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, 5, "lxc2", NULL, NULL);
	observe_on(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, 9, "lxc1", NULL, NULL);
	observe_on(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, 5, "", NULL, NULL);
	observe_on(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, 5, "lxc1", NULL, NULL);
	t = render(f);
	check_exposition(t);
	assert_int_equal(sample(t, "weir_interface_flows_total{interface=\"lxc1\","
				   "verdict=\"FORWARDED\"}"),
			 4);
	assert_int_equal(sample(t, "weir_interface_flows_total{interface=\"lxc2\","
				   "verdict=\"FORWARDED\"}"),
			 1);
	assert_int_equal(sample(t, "weir_interface_flows_total{interface=\"if5\","
				   "verdict=\"FORWARDED\"}"),
			 1);
}

/* A state file's failed writes show, by file, and the file is stale until a
 * write succeeds.
 */
static void state_file_failures_are_exposed(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/weir-test-metrics-XXXXXX", path[64], tmp[72];
	json_t *doc = json_pack("{s:i}", "x", 1);
	const char *t;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics-state.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), 0);
	t = render(f);
	check_exposition(t);
	assert_int_equal(sample(t, "weir_state_write_failures_total{file=\"metrics-state.json\"}"),
			 0);
	assert_int_equal(sample(t, "weir_state_file_stale{file=\"metrics-state.json\"}"), 0);

	assert_int_equal(mkdir(tmp, 0700), 0); /* the write cannot start */
	assert_int_not_equal(weir_state_file_write(path, doc, JSON_COMPACT), 0);
	t = render(f);
	check_exposition(t);
	assert_int_equal(sample(t, "weir_state_write_failures_total{file=\"metrics-state.json\"}"),
			 1);
	assert_int_equal(sample(t, "weir_state_file_stale{file=\"metrics-state.json\"}"), 1);

	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), 0);
	t = render(f);
	assert_int_equal(sample(t, "weir_state_file_stale{file=\"metrics-state.json\"}"), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	json_decref(doc);
}

/* Without an agent or a registry the output is still a valid exposition. */
static void renders_without_agent_or_registry(void **state)
{
	char *text = NULL;
	size_t len;

	(void)state;
	assert_int_equal(weir_metrics_render(NULL, NULL, &text, &len), 0);
	check_exposition(text);
	assert_non_null(strstr(text, "# TYPE weir_flows_total counter\n"));
	assert_int_equal(sample(text, "weir_flows_seen_total"), -1);
	free(text);
}

/* Prometheus' own checker, when it is installed (Debian: prometheus). */
static void promtool_accepts_the_output(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoint *odd = pod("a\\b", "q\"uote\nnl");
	const char *t;
	FILE *p;
	int status;

	if (system("command -v promtool >/dev/null 2>&1")) {
		print_message("# promtool not installed (apt-get install prometheus)\n");
		skip();
	}
	set_metric(f, WEIR_REASON_FORWARDED, WEIR_DIR_EGRESS, WEIR_HOOK_TC, 4);
	set_metric(f, WEIR_REASON_INVALID_PACKET_DROPPED, WEIR_DIR_INGRESS, WEIR_HOOK_XDP, 1);
	observe(f, WEIR_RECORD_START, WEIR_VERDICT_FORWARDED, "veth\\0", odd, odd);
	observe(f, WEIR_RECORD_DROP, WEIR_VERDICT_DROPPED, "eth0", NULL, odd);
	t = render(f);
	p = popen("promtool check metrics", "w");
	assert_non_null(p);
	fputs(t, p);
	status = pclose(p);
	assert_int_equal(status, 0);
	weir_endpoint_put(odd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(datapath_counters_are_summed_over_cpus, setup,
						teardown),
		cmocka_unit_test_setup_teardown(flows_count_once_per_start_or_drop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(label_values_are_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(pod_series_are_bounded_and_forgotten, setup,
						teardown),
		cmocka_unit_test_setup_teardown(remembered_pods_count_right_after_forgetting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(interface_series_follow_the_name, setup, teardown),
		cmocka_unit_test_setup_teardown(state_file_failures_are_exposed, setup, teardown),
		cmocka_unit_test(renders_without_agent_or_registry),
		cmocka_unit_test_setup_teardown(promtool_accepts_the_output, setup, teardown),
	};

	if (geteuid()) {
		printf("1..0 # SKIP loading the datapath needs root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
