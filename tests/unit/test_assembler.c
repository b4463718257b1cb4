// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow assembler's record state machine, through real BPF maps: the test
 * writes flow-table entries as the datapath would (timestamps on
 * CLOCK_MONOTONIC_COARSE) and sweeps; each test names the record it expects.
 * Every test runs twice: sweeps reading the table through its iterator, and
 * through batch lookups (lib/flow_table.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <cmocka.h>
#include <weir/abi.h>
#include "assembler.h"
#include "endpoints.h"
#include "flow.h"

#define MAX_RECORDS 64
#define NS	    1000000000ULL

struct fixture {
	int flows_fd, events_fd, counters_fd;
	struct weir_endpoints *eps;
	struct weir_assembler *a;
	struct weir_flow_record *recs[MAX_RECORDS];
	int n;
};

static uint64_t now_coarse(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void on_record(void *ctx, struct weir_flow_record *r)
{
	struct fixture *f = ctx;

	assert_true(f->n < MAX_RECORDS);
	f->recs[f->n++] = weir_flow_record_get(r);
}

static enum weir_flow_table_method table_method;

static int setup_timeouts(void **state, uint32_t active_s, uint32_t idle_s)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct weir_assembler_opts o = {
		.node_name = "node-t",
		.active_timeout_s = active_s,
		.idle_timeout_s = idle_s,
		.table_method = table_method,
		.on_record = on_record,
	};

	assert_non_null(f);
	f->flows_fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "t_flows", sizeof(struct weir_flow_key),
				     sizeof(struct weir_flow_value), 1024, NULL);
	f->events_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "t_events", 0, 0, 4096, NULL);
	f->counters_fd =
		bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_counters", 4, 8, WEIR_CNT_MAX, NULL);
	assert_true(f->flows_fd >= 0 && f->events_fd >= 0 && f->counters_fd >= 0);
	assert_int_equal(weir_endpoints_new(&f->eps, "node-t"), 0);
	o.flows_fd = f->flows_fd;
	o.events_fd = f->events_fd;
	o.counters_fd = f->counters_fd;
	o.endpoints = f->eps;
	o.ctx = f;
	assert_int_equal(weir_assembler_new(&f->a, &o), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_timeouts(state, 10, 30);
}

static int setup_fast(void **state)
{
	return setup_timeouts(state, 1, 30);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < f->n; i++)
		weir_flow_record_put(f->recs[i]);
	weir_assembler_free(f->a);
	weir_endpoints_free(f->eps);
	close(f->flows_fd);
	close(f->events_fd);
	close(f->counters_fd);
	free(f);
	return 0;
}

static struct weir_flow_key key4(const char *src, uint16_t sport, const char *dst, uint16_t dport,
				 uint8_t proto, uint8_t dir, uint8_t hook)
{
	struct weir_flow_key k;

	memset(&k, 0, sizeof(k));
	inet_pton(AF_INET, src, &k.saddr[0]);
	inet_pton(AF_INET, dst, &k.daddr[0]);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	k.family = 4;
	k.ifindex = 7;
	k.dir = dir;
	k.hook = hook;
	return k;
}

static struct weir_flow_key reverse_of(struct weir_flow_key k)
{
	struct weir_flow_key r = k;

	memcpy(r.saddr, k.daddr, sizeof(r.saddr));
	memcpy(r.daddr, k.saddr, sizeof(r.daddr));
	r.sport = k.dport;
	r.dport = k.sport;
	r.dir = k.dir == WEIR_DIR_INGRESS ? WEIR_DIR_EGRESS : WEIR_DIR_INGRESS;
	return r;
}

/* An entry as the datapath writes it, last seen `age_ns` ago. */
static void put_entry(struct fixture *f, const struct weir_flow_key *k, uint64_t packets,
		      uint64_t bytes, uint32_t tcp_flags, uint64_t age_ns)
{
	uint64_t now = now_coarse();
	struct weir_flow_value v = {
		.packets = packets,
		.bytes = bytes,
		.first_seen_ns = now - age_ns,
		.last_seen_ns = now - age_ns,
		.tcp_flags = tcp_flags,
		.verdict = WEIR_VERDICT_FORWARDED,
	};

	assert_int_equal(bpf_map_update_elem(f->flows_fd, k, &v, BPF_ANY), 0);
}

static bool in_table(struct fixture *f, const struct weir_flow_key *k)
{
	struct weir_flow_value v;

	return !bpf_map_lookup_elem(f->flows_fd, k, &v);
}

static const struct weir_flow_record *last(struct fixture *f)
{
	assert_true(f->n > 0);
	return f->recs[f->n - 1];
}

static void new_entry_makes_a_start_record(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key4("10.0.0.1", 40000, "10.0.0.2", 80, IPPROTO_TCP,
				      WEIR_DIR_INGRESS, WEIR_HOOK_TC);

	put_entry(f, &k, 3, 180, WEIR_TCP_SYN | WEIR_TCP_ACK, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1);
	assert_int_equal(last(f)->type, WEIR_RECORD_START);
	assert_int_equal(last(f)->packets, 3);
	assert_int_equal(last(f)->bytes, 180);
	assert_int_equal(last(f)->sport, 40000);
	assert_int_equal(last(f)->dport, 80);
	assert_int_equal(last(f)->dir, WEIR_DIR_INGRESS);
	assert_string_equal(last(f)->node_name, "node-t");
	assert_int_equal(last(f)->src->identity, WEIR_IDENTITY_WORLD);

	/* nothing new: no record */
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1);
}

static void both_directions_make_one_record(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key4("10.0.0.1", 40000, "10.0.0.2", 80, IPPROTO_TCP,
				      WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	struct weir_flow_key r = reverse_of(k);
	struct weir_assembler_stats st;

	put_entry(f, &k, 5, 500, WEIR_TCP_SYN, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	put_entry(f, &r, 4, 4000, WEIR_TCP_SYN | WEIR_TCP_ACK, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1); /* the reply joins, no second start */
	weir_assembler_stats(f->a, &st);
	assert_int_equal(st.active_flows, 1);
	assert_int_equal(st.table_entries, 2);

	weir_assembler_flush(f->a);
	assert_int_equal(f->n, 2);
	assert_int_equal(last(f)->type, WEIR_RECORD_END);
	assert_int_equal(last(f)->end_reason, WEIR_END_FORCED);
	assert_int_equal(last(f)->packets, 5);
	assert_int_equal(last(f)->reply_packets, 4);
	assert_int_equal(last(f)->reply_bytes, 4000);
	assert_int_equal(last(f)->tcp_flags, WEIR_TCP_SYN | WEIR_TCP_ACK);
	assert_true(in_table(f, &k) && in_table(f, &r)); /* flush leaves the kernel alone */
}

static void xdp_ingress_pairs_with_tc_egress(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key4("10.0.0.1", 5000, "10.0.0.2", 53, IPPROTO_UDP,
				      WEIR_DIR_INGRESS, WEIR_HOOK_XDP);
	struct weir_flow_key r = reverse_of(k);

	r.hook = WEIR_HOOK_TC;
	put_entry(f, &k, 1, 100, 0, 0);
	put_entry(f, &r, 1, 200, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	weir_assembler_flush(f->a);
	assert_int_equal(f->n, 2);
	assert_int_equal(last(f)->reply_bytes, 200);
}

static void icmp_echo_pairs_with_its_reply(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key4("10.0.0.1", 8 << 8, "10.0.0.2", 0, IPPROTO_ICMP,
				      WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	struct weir_flow_key r = reverse_of(k);

	r.sport = htons(0 << 8); /* echo reply */
	r.dport = 0;
	put_entry(f, &k, 3, 294, 0, 0);
	put_entry(f, &r, 3, 294, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1);
	assert_int_equal(last(f)->icmp_type, 8);
	assert_int_equal(last(f)->sport, 0);
	weir_assembler_flush(f->a);
	assert_int_equal(last(f)->reply_packets, 3);
}

static void idle_flow_ends_and_leaves_the_table(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k =
		key4("10.0.0.1", 5000, "10.0.0.2", 53, IPPROTO_UDP, WEIR_DIR_INGRESS, WEIR_HOOK_TC);

	put_entry(f, &k, 2, 200, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	put_entry(f, &k, 2, 200, 0, 31 * NS); /* quiet for longer than the idle timeout */
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 2);
	assert_int_equal(last(f)->type, WEIR_RECORD_END);
	assert_int_equal(last(f)->end_reason, WEIR_END_IDLE);
	assert_false(in_table(f, &k));
}

static void fin_both_ways_ends_after_the_linger(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key4("10.0.0.1", 40000, "10.0.0.2", 80, IPPROTO_TCP,
				      WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	struct weir_flow_key r = reverse_of(k);
	uint32_t flags = WEIR_TCP_SYN | WEIR_TCP_ACK | WEIR_TCP_FIN;

	put_entry(f, &k, 6, 600, flags, 0);
	put_entry(f, &r, 5, 500, flags, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1); /* within the linger: not yet */
	put_entry(f, &k, 6, 600, flags, WEIR_END_LINGER_NS + NS);
	put_entry(f, &r, 5, 500, flags, WEIR_END_LINGER_NS + NS);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 2);
	assert_int_equal(last(f)->end_reason, WEIR_END_DETECTED);
	assert_int_equal(last(f)->reply_packets, 5);
	assert_false(in_table(f, &k) || in_table(f, &r));
}

static void fin_one_way_does_not_end(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key4("10.0.0.1", 40000, "10.0.0.2", 80, IPPROTO_TCP,
				      WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	struct weir_flow_key r = reverse_of(k);

	put_entry(f, &k, 6, 600, WEIR_TCP_ACK | WEIR_TCP_FIN, WEIR_END_LINGER_NS + NS);
	put_entry(f, &r, 5, 500, WEIR_TCP_ACK, WEIR_END_LINGER_NS + NS);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1);
	assert_int_equal(last(f)->end_reason, WEIR_END_ACTIVE); /* an update, not an end */
}

/* Both sides found in one sweep: the client (sending to the server's port)
 * is the source, whichever entry the table lists first.
 */
static void both_sides_in_one_sweep_are_oriented_client_first(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key4("10.0.0.1", 40000, "10.0.0.2", 80, IPPROTO_TCP,
				      WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	struct weir_flow_key r = reverse_of(k);
	uint64_t now = now_coarse();
	struct weir_flow_value v = { .packets = 1, .first_seen_ns = now, .last_seen_ns = now };

	assert_int_equal(bpf_map_update_elem(f->flows_fd, &r, &v, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->flows_fd, &k, &v, BPF_ANY), 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1);
	assert_int_equal(last(f)->type, WEIR_RECORD_START);
	assert_int_equal(last(f)->sport, 40000);
	assert_int_equal(last(f)->dport, 80);
	assert_int_equal(last(f)->dir, WEIR_DIR_INGRESS);
}

static void rst_ends_the_flow(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key4("10.0.0.1", 40000, "10.0.0.2", 80, IPPROTO_TCP,
				      WEIR_DIR_INGRESS, WEIR_HOOK_TC);

	put_entry(f, &k, 2, 120, WEIR_TCP_SYN | WEIR_TCP_RST, WEIR_END_LINGER_NS + NS);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 2);				/* seen and ended in one sweep */
	assert_int_equal(f->recs[0]->type, WEIR_RECORD_UPDATE); /* older than the agent */
	assert_int_equal(last(f)->end_reason, WEIR_END_DETECTED);
}

static void evicted_entry_ends_its_flow(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k =
		key4("10.0.0.1", 5000, "10.0.0.2", 53, IPPROTO_UDP, WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	struct weir_assembler_stats st;

	put_entry(f, &k, 1, 100, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(bpf_map_delete_elem(f->flows_fd, &k), 0); /* as an LRU eviction does */
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 2);
	assert_int_equal(last(f)->end_reason, WEIR_END_RESOURCES);
	weir_assembler_stats(f->a, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.active_flows, 0);
}

static void flow_from_before_the_agent_continues_with_an_update(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k =
		key4("10.0.0.1", 5000, "10.0.0.2", 53, IPPROTO_UDP, WEIR_DIR_INGRESS, WEIR_HOOK_TC);

	put_entry(f, &k, 9, 900, 0, 5 * NS); /* first seen before this assembler existed */
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1);
	assert_int_equal(last(f)->type, WEIR_RECORD_UPDATE);
	assert_int_equal(last(f)->packets, 9);
}

static void live_flow_gets_an_update_every_active_timeout(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k =
		key4("10.0.0.1", 5000, "10.0.0.2", 53, IPPROTO_UDP, WEIR_DIR_INGRESS, WEIR_HOOK_TC);

	put_entry(f, &k, 1, 100, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1);
	usleep(1100 * 1000); /* the fixture's active timeout is 1 s */
	put_entry(f, &k, 7, 700, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 2);
	assert_int_equal(last(f)->type, WEIR_RECORD_UPDATE);
	assert_int_equal(last(f)->end_reason, WEIR_END_ACTIVE);
	assert_int_equal(last(f)->packets, 7);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 2); /* not again before the next timeout */
}

static void records_are_enriched_from_the_endpoint_cache(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k =
		key4("10.9.0.5", 5000, "10.0.0.2", 53, IPPROTO_UDP, WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	json_t *doc = json_pack("{s:[s], s:s, s:s, s:{s:s}}", "ips", "10.9.0.5", "namespace",
				"shop", "pod_name", "cart-1", "labels", "app", "cart");
	char err[256];

	assert_int_equal(weir_endpoints_register(f->eps, doc, err, sizeof(err)), 0);
	json_decref(doc);
	put_entry(f, &k, 1, 100, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(last(f)->src->identity, WEIR_IDENTITY_POD);
	assert_string_equal(last(f)->src->namespace, "shop");
	assert_string_equal(last(f)->src->pod_name, "cart-1");
	assert_int_equal(last(f)->dst->identity, WEIR_IDENTITY_WORLD);
}

/* On the host side of a pod's veth, what the interface receives the pod
 * sends: records say EGRESS, from the pod's side, as Hubble does.
 */
static void pod_facing_interface_reports_the_pods_direction(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k =
		key4("10.0.0.1", 5000, "10.0.0.2", 53, IPPROTO_UDP, WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	struct weir_flow_key up = k;

	up.ifindex = 8;
	weir_assembler_set_ifname(f->a, 7, "wpod", true);
	weir_assembler_set_ifname(f->a, 8, "eth0", false);
	put_entry(f, &k, 1, 100, 0, 0);
	put_entry(f, &up, 1, 100, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 2);
	for (int i = 0; i < 2; i++) {
		if (f->recs[i]->ifindex == 7) {
			assert_string_equal(f->recs[i]->ifname, "wpod");
			assert_int_equal(f->recs[i]->dir, WEIR_DIR_EGRESS);
		} else {
			assert_string_equal(f->recs[i]->ifname, "eth0");
			assert_int_equal(f->recs[i]->dir, WEIR_DIR_INGRESS);
		}
	}
}

/* Records remember interface entries by index (two indexes here share a
 * slot of that memo): a renamed interface, or one that turns pod-facing,
 * shows in the next record, and each index keeps its own name.
 */
static void interface_changes_show_in_the_next_record(void **state)
{
	struct fixture *f = *state;
	struct weir_flow_key k =
		key4("10.0.0.1", 5000, "10.0.0.2", 53, IPPROTO_UDP, WEIR_DIR_INGRESS, WEIR_HOOK_TC);
	struct weir_flow_key other = k;

	other.ifindex = k.ifindex + 4096;
	other.sport = htons(5001);
	weir_assembler_set_ifname(f->a, k.ifindex, "eth0", false);
	weir_assembler_set_ifname(f->a, other.ifindex, "eth9", false);
	put_entry(f, &k, 1, 100, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 1);
	assert_string_equal(last(f)->ifname, "eth0");
	assert_int_equal(last(f)->dir, WEIR_DIR_INGRESS);

	put_entry(f, &other, 1, 100, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 2);
	assert_string_equal(last(f)->ifname, "eth9");

	weir_assembler_set_ifname(f->a, k.ifindex, "wpod", true);
	k.sport = htons(5002);
	put_entry(f, &k, 1, 100, 0, 0);
	assert_int_equal(weir_assembler_sweep(f->a), 0);
	assert_int_equal(f->n, 3);
	assert_string_equal(last(f)->ifname, "wpod");
	assert_int_equal(last(f)->dir, WEIR_DIR_EGRESS);
}

static void register_pod(struct fixture *f, const char *ip, const char *pod)
{
	json_t *doc =
		json_pack("{s:[s], s:s, s:s}", "ips", ip, "namespace", "shop", "pod_name", pod);
	char err[256];

	assert_non_null(doc);
	assert_int_equal(weir_endpoints_register(f->eps, doc, err, sizeof(err)), 0);
	json_decref(doc);
}

/* Sweeps of conversations from one pod's address (a sweep remembers what
 * the endpoint cache said of an address) and from an IPv6 address whose first
 * bytes are the same: each names what the cache says at that sweep.
 */
static void each_sweep_asks_the_endpoint_cache_anew(void **state)
{
	static const char *const pods[] = { "cart-1", "cart-2", NULL };
	struct fixture *f = *state;
	struct weir_flow_key k, k6;
	int round, i, n0;

	register_pod(f, "10.9.0.5", "cart-1");
	for (round = 0; round < 3; round++) {
		n0 = f->n;
		for (i = 0; i < 8; i++) {
			k = key4("10.9.0.5", (uint16_t)(5000 + round * 100 + i), "10.0.0.2", 53,
				 IPPROTO_UDP, WEIR_DIR_INGRESS, WEIR_HOOK_TC);
			put_entry(f, &k, 1, 100, 0, 0);
			/* 0a09:5:: begins with the bytes of 10.9.0.5 */
			k6 = k;
			k6.family = 6;
			assert_int_equal(inet_pton(AF_INET6, "a09:5::", k6.saddr), 1);
			assert_int_equal(inet_pton(AF_INET6, "a00:2::", k6.daddr), 1);
			put_entry(f, &k6, 1, 100, 0, 0);
		}
		assert_int_equal(weir_assembler_sweep(f->a), 0);
		assert_int_equal(f->n - n0, 16);
		for (i = n0; i < f->n; i++) {
			const struct weir_flow_record *r = f->recs[i];

			assert_int_equal(r->dst->identity, WEIR_IDENTITY_WORLD);
			if (r->family == 6 || !pods[round]) {
				assert_int_equal(r->src->identity, WEIR_IDENTITY_WORLD);
				continue;
			}
			assert_int_equal(r->src->identity, WEIR_IDENTITY_POD);
			assert_string_equal(r->src->pod_name, pods[round]);
		}
		/* between sweeps: the pod behind the address changes, then goes */
		assert_int_equal(weir_endpoints_unregister(f->eps, "shop",
							   pods[round] ? pods[round] : "none"),
				 pods[round] ? 0 : -ENOENT);
		if (round == 0)
			register_pod(f, "10.9.0.5", "cart-2");
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(new_entry_makes_a_start_record),
		T(both_directions_make_one_record),
		T(xdp_ingress_pairs_with_tc_egress),
		T(icmp_echo_pairs_with_its_reply),
		T(idle_flow_ends_and_leaves_the_table),
		T(fin_both_ways_ends_after_the_linger),
		T(fin_one_way_does_not_end),
		T(both_sides_in_one_sweep_are_oriented_client_first),
		T(rst_ends_the_flow),
		T(evicted_entry_ends_its_flow),
		T(flow_from_before_the_agent_continues_with_an_update),
		cmocka_unit_test_setup_teardown(live_flow_gets_an_update_every_active_timeout,
						setup_fast, teardown),
		T(records_are_enriched_from_the_endpoint_cache),
		T(each_sweep_asks_the_endpoint_cache_anew),
		T(pod_facing_interface_reports_the_pods_direction),
		T(interface_changes_show_in_the_next_record),
	};

	int failed;

	table_method = WEIR_FLOW_TABLE_ITERATOR;
	failed = cmocka_run_group_tests_name("assembler, iterator", tests, NULL, NULL);
	table_method = WEIR_FLOW_TABLE_BATCH;
	failed += cmocka_run_group_tests_name("assembler, batch lookups", tests, NULL, NULL);
	return failed;
}
