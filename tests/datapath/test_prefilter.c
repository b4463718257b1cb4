// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Prefilter tests: the real datapath object, loaded (never attached), the
 * deny list written through the agent's own code (agent/prefilter.c), and
 * weir_xdp_ingress run with BPF_PROG_TEST_RUN on packets on either side of
 * each prefix boundary. Each test asserts the verdict, the counters, the
 * metrics and the ring-buffer events.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include <weir/abi.h>
#include <weir/prefilter.h>
#include "datapath.h"
#include "log.h"
#include "prefilter.h"
#include "weir.skel.h"
#include "datapath/pkt.h"

#define MAX_EVENTS 1024
#define ERR_LEN	   256

struct fixture {
	struct weir_datapath *dp;
	struct weir_bpf *skel;
	struct weir_prefilter *pf;
	struct ring_buffer *rb;
	int n_events;
	struct weir_event events[MAX_EVENTS];
	char err[ERR_LEN];
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct fixture *f = ctx;

	assert_int_equal(size, sizeof(struct weir_event));
	if (f->n_events < MAX_EVENTS)
		memcpy(&f->events[f->n_events++], data, sizeof(struct weir_event));
	return 0;
}

static int setup_sized(void **state, __u32 pf_exact_max)
{
	struct weir_datapath_opts o = { .pf_exact_max = pf_exact_max };
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(weir_datapath_load(&f->dp, &o), 0);
	f->skel = weir_datapath_skel(f->dp);
	assert_int_equal(weir_prefilter_open(&f->pf, f->skel), 0);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.weir_events), on_event, f, NULL);
	assert_non_null(f->rb);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_sized(state, 0);
}

/* Room for 4 single addresses per family: to fill the maps. */
static int setup_small(void **state)
{
	return setup_sized(state, 4);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ring_buffer__free(f->rb);
	weir_prefilter_free(f->pf);
	weir_datapath_destroy(f->dp);
	free(f);
	return 0;
}

/* The list from CIDR strings, as PUT would give it. */
static int deny(struct fixture *f, const char *const *cidrs)
{
	struct weir_pf_list l = { 0 };
	struct weir_pf_cidr c;
	int i, ret;

	for (i = 0; cidrs[i]; i++) {
		assert_int_equal(weir_pf_cidr_parse(cidrs[i], &c, f->err, sizeof(f->err)), 0);
		assert_int_equal(weir_pf_list_add(&l, &c), 0);
	}
	weir_pf_list_normalize(&l);
	ret = weir_prefilter_replace(f->pf, &l, -1, f->err, sizeof(f->err));
	weir_pf_list_release(&l);
	return ret;
}

static int xdp_fd(struct fixture *f)
{
	return bpf_program__fd(f->skel->progs.weir_xdp_ingress);
}

/* Runs weir_xdp_ingress repeat times on p; the verdict of the last run. */
static int run_n(struct fixture *f, const struct pkt *p, __u32 repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = p->buf, .data_size_in = p->len,
		    .repeat = repeat);

	assert_int_equal(bpf_prog_test_run_opts(xdp_fd(f), &run), 0);
	ring_buffer__consume(f->rb);
	return run.retval;
}

static struct pkt tcp_from(const char *saddr)
{
	struct pkt_spec s = {
		.family = strchr(saddr, ':') ? 6 : 4,
		.proto = IPPROTO_TCP,
		.saddr = saddr,
		.daddr = strchr(saddr, ':') ? "fd00::2" : "10.99.0.2",
		.sport = 40000,
		.dport = 80,
		.tcp_flags = WEIR_TCP_SYN,
	};
	struct pkt p;

	pkt_build(&s, &p);
	return p;
}

/* XDP_DROP or XDP_PASS for one TCP SYN from saddr. */
static int verdict_of(struct fixture *f, const char *saddr)
{
	struct pkt p = tcp_from(saddr);

	return run_n(f, &p, 1);
}

static struct weir_metrics_value metrics(struct fixture *f, __u8 reason)
{
	__u64 sum[2];

	assert_int_equal(
		weir_percpu_sum(bpf_map__fd(f->skel->maps.weir_metrics),
				weir_metrics_index(reason, WEIR_DIR_INGRESS, WEIR_HOOK_XDP), sum,
				2),
		0);
	return (struct weir_metrics_value){ .packets = sum[0], .bytes = sum[1] };
}

static __u64 counter(struct fixture *f, __u32 idx)
{
	__u64 sum;

	assert_int_equal(weir_percpu_sum(bpf_map__fd(f->skel->maps.weir_counters), idx, &sum, 1),
			 0);
	return sum;
}

static int flow_count(struct fixture *f)
{
	int fd = bpf_map__fd(f->skel->maps.weir_flows);
	struct weir_flow_key k, next;
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static int drop_events(struct fixture *f)
{
	int i, n = 0;

	for (i = 0; i < f->n_events; i++)
		n += f->events[i].type == WEIR_EV_DROP;
	return n;
}

/* The "hits" entry of cidr in GET's document: packets, or -1 when absent. */
static long long hits_of(struct fixture *f, const char *cidr, long long *bytes)
{
	json_t *doc = weir_prefilter_to_json(f->pf), *h;
	long long packets = -1;
	size_t i;

	assert_non_null(doc);
	json_array_foreach(json_object_get(doc, "hits"), i, h)
	{
		if (strcmp(json_string_value(json_object_get(h, "cidr")), cidr) != 0)
			continue;
		packets = json_integer_value(json_object_get(h, "packets"));
		if (bytes)
			*bytes = json_integer_value(json_object_get(h, "bytes"));
	}
	json_decref(doc);
	return packets;
}

/* Each address of pass[] passes and each of drop[] is dropped. */
static void assert_boundary(struct fixture *f, const char *const *drop, const char *const *pass)
{
	int i;

	for (i = 0; drop[i]; i++)
		if (verdict_of(f, drop[i]) != XDP_DROP)
			fail_msg("source %s should be dropped", drop[i]);
	for (i = 0; pass[i]; i++)
		if (verdict_of(f, pass[i]) != XDP_PASS)
			fail_msg("source %s should pass", pass[i]);
}

static void empty_list_passes_everything(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(verdict_of(f, "10.0.0.1"), XDP_PASS);
	assert_int_equal(verdict_of(f, "2001:db8::1"), XDP_PASS);
	assert_int_equal(metrics(f, WEIR_REASON_PREFILTER_DENIED).packets, 0);
	assert_int_equal(metrics(f, WEIR_REASON_FORWARDED).packets, 2);
}

static void v4_slash0_denies_every_v4_source(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "0.0.0.0/0", NULL };
	const char *const drop[] = { "0.0.0.0", "10.0.0.1", "255.255.255.255", NULL };
	const char *const pass[] = { "2001:db8::1", "::", NULL };

	assert_int_equal(deny(f, list), 0);
	assert_boundary(f, drop, pass);
	assert_int_equal(hits_of(f, "0.0.0.0/0", NULL), 3);
}

static void v4_slash8_boundaries(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "10.0.0.0/8", NULL };
	const char *const drop[] = { "10.0.0.0", "10.0.0.1", "10.255.255.255", NULL };
	const char *const pass[] = { "9.255.255.255", "11.0.0.0", "110.0.0.1", NULL };

	assert_int_equal(deny(f, list), 0);
	assert_boundary(f, drop, pass);
}

static void v4_slash31_boundaries(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "192.0.2.4/31", NULL };
	const char *const drop[] = { "192.0.2.4", "192.0.2.5", NULL };
	const char *const pass[] = { "192.0.2.3", "192.0.2.6", NULL };

	assert_int_equal(deny(f, list), 0);
	assert_boundary(f, drop, pass);
}

static void v4_slash32_is_exact(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "192.0.2.7", "198.51.100.0/24", NULL };
	const char *const drop[] = { "192.0.2.7", "198.51.100.200", NULL };
	const char *const pass[] = { "192.0.2.6", "192.0.2.8", "198.51.101.0", NULL };
	struct weir_pf_state st;
	__u32 zero = 0;

	assert_int_equal(deny(f, list), 0);
	assert_boundary(f, drop, pass);
	/* the /32 sits in the exact hash, the /24 in the trie */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weir_pf_state), &zero, &st),
			 0);
	assert_int_equal(st.kinds[st.active], WEIR_PF_HAS_EXACT4 | WEIR_PF_HAS_LPM4);
	assert_int_equal(hits_of(f, "192.0.2.7/32", NULL), 1);
	assert_int_equal(hits_of(f, "198.51.100.0/24", NULL), 1);
}

static void v6_slash64_boundaries(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "2001:db8:1:2::/64", NULL };
	const char *const drop[] = { "2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff", NULL };
	const char *const pass[] = { "2001:db8:1:1:ffff:ffff:ffff:ffff",
				     "2001:db8:1:3::", "10.0.0.1", NULL };

	assert_int_equal(deny(f, list), 0);
	assert_boundary(f, drop, pass);
}

static void v6_slash128_is_exact(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "2001:db8::7", NULL };
	const char *const drop[] = { "2001:db8::7", NULL };
	const char *const pass[] = { "2001:db8::6", "2001:db8::8", "2001:db8:0:0:1::7", NULL };

	assert_int_equal(deny(f, list), 0);
	assert_boundary(f, drop, pass);
	assert_int_equal(hits_of(f, "2001:db8::7/128", NULL), 1);
}

static void v6_slash0_denies_every_v6_source(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "::/0", NULL };
	const char *const drop[] = { "::", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
				     NULL };
	const char *const pass[] = { "10.0.0.1", NULL };

	assert_int_equal(deny(f, list), 0);
	assert_boundary(f, drop, pass);
}

/* A drop is counted per CIDR, in the metrics as PREFILTER_DENIED, never in
 * the flow table, and raises one event per source per second; the rest are
 * counted as suppressed.
 */
static void drops_are_counted_and_events_rate_limited(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "10.0.0.0/8", NULL };
	struct pkt p = tcp_from("10.1.2.3"), q = tcp_from("10.1.2.4");
	struct weir_event ev = { 0 };
	int found = 0;
	long long bytes = 0;
	int i;

	assert_int_equal(deny(f, list), 0);
	assert_int_equal(run_n(f, &p, 100), XDP_DROP);
	assert_int_equal(hits_of(f, "10.0.0.0/8", &bytes), 100);
	assert_int_equal(bytes, 100 * p.len);
	assert_int_equal(metrics(f, WEIR_REASON_PREFILTER_DENIED).packets, 100);
	assert_int_equal(metrics(f, WEIR_REASON_PREFILTER_DENIED).bytes, 100 * p.len);
	assert_int_equal(metrics(f, WEIR_REASON_FORWARDED).packets, 0);
	assert_int_equal(flow_count(f), 0);
	assert_int_equal(drop_events(f), 1);
	assert_int_equal(counter(f, WEIR_CNT_PREFILTER_EVENTS_SUPPRESSED), 99);

	for (i = 0; i < f->n_events; i++)
		if (f->events[i].type == WEIR_EV_DROP) {
			ev = f->events[i];
			found = 1;
		}
	assert_true(found);
	assert_int_equal(ev.reason, WEIR_REASON_PREFILTER_DENIED);
	assert_int_equal(ev.verdict, WEIR_VERDICT_DROPPED);
	assert_int_equal(ev.pkt_len_bytes, p.len);
	{
		/* the event path parses the whole packet: ports and flags too */
		struct pkt_spec s = { .family = 4,
				      .proto = IPPROTO_TCP,
				      .saddr = "10.1.2.3",
				      .daddr = "10.99.0.2",
				      .sport = 40000,
				      .dport = 80 };
		struct weir_flow_key k = pkt_flow_key(&s, 1, WEIR_DIR_INGRESS, WEIR_HOOK_XDP);

		assert_memory_equal(&ev.key, &k, sizeof(k));
		assert_int_equal(ev.tcp_flags, WEIR_TCP_SYN);
	}
	/* another source has its own budget */
	assert_int_equal(run_n(f, &q, 10), XDP_DROP);
	assert_int_equal(drop_events(f), 2);
	assert_int_equal(counter(f, WEIR_CNT_PREFILTER_EVENTS_SUPPRESSED), 99 + 9);
}

static void vlan_tagged_source_is_matched(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "10.0.0.0/8", NULL };
	struct pkt_spec s = { .family = 4,
			      .proto = IPPROTO_UDP,
			      .saddr = "10.0.0.9",
			      .daddr = "10.99.0.2",
			      .sport = 1,
			      .dport = 2,
			      .n_vlan = 2,
			      .vlan_id = { 100, 200 } };
	struct pkt p;

	assert_int_equal(deny(f, list), 0);
	pkt_build(&s, &p);
	assert_int_equal(run_n(f, &p, 1), XDP_DROP);
	s.saddr = "11.0.0.9";
	pkt_build(&s, &p);
	assert_int_equal(run_n(f, &p, 1), XDP_PASS);
}

/* A short frame the prefilter cannot read goes on to the full parse. */
static void truncated_header_goes_to_the_full_parse(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "0.0.0.0/0", NULL };
	struct pkt p = tcp_from("10.0.0.1");

	assert_int_equal(deny(f, list), 0);
	p.len = p.l3_off + 12; /* IPv4 header cut before the source address */
	assert_int_equal(run_n(f, &p, 1), XDP_DROP);
	assert_int_equal(metrics(f, WEIR_REASON_PREFILTER_DENIED).packets, 0);
	assert_int_equal(metrics(f, WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER).packets, 1);
}

/* A replacement flips to the other set; CIDRs that stay keep their counts. */
static void replace_is_atomic_and_keeps_counts(void **state)
{
	struct fixture *f = *state;
	const char *const first[] = { "10.0.0.0/8", "192.0.2.7", NULL };
	const char *const second[] = { "10.0.0.0/8", "198.51.100.0/24", NULL };
	struct weir_pf_state st;
	__u32 zero = 0, active;

	assert_int_equal(deny(f, first), 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weir_pf_state), &zero, &st),
			 0);
	active = st.active;
	assert_int_equal(verdict_of(f, "10.0.0.1"), XDP_DROP);
	assert_int_equal(verdict_of(f, "192.0.2.7"), XDP_DROP);

	assert_int_equal(deny(f, second), 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weir_pf_state), &zero, &st),
			 0);
	assert_int_not_equal(st.active, active);
	assert_int_equal(st.revision, 2);
	assert_int_equal(verdict_of(f, "192.0.2.7"), XDP_PASS);
	assert_int_equal(verdict_of(f, "198.51.100.1"), XDP_DROP);
	assert_int_equal(verdict_of(f, "10.0.0.2"), XDP_DROP);
	assert_int_equal(hits_of(f, "10.0.0.0/8", NULL), 2);
	assert_int_equal(hits_of(f, "198.51.100.0/24", NULL), 1);
	assert_int_equal(hits_of(f, "192.0.2.7/32", NULL), -1);
}

/* A patch deletes and adds in one flip; deleting what is not there changes nothing. */
static void patch_adds_and_deletes(void **state)
{
	struct fixture *f = *state;
	const char *const first[] = { "10.0.0.0/8", "192.0.2.7", NULL };
	struct weir_pf_list add = { 0 }, del = { 0 };
	struct weir_pf_cidr c;

	assert_int_equal(deny(f, first), 0);
	assert_int_equal(weir_pf_cidr_parse("2001:db8::/32", &c, f->err, sizeof(f->err)), 0);
	assert_int_equal(weir_pf_list_add(&add, &c), 0);
	assert_int_equal(weir_pf_cidr_parse("192.0.2.7", &c, f->err, sizeof(f->err)), 0);
	assert_int_equal(weir_pf_list_add(&del, &c), 0);
	assert_int_equal(weir_prefilter_patch(f->pf, &add, &del, 1, f->err, sizeof(f->err)), 0);
	assert_int_equal(weir_prefilter_count(f->pf), 2);
	assert_int_equal(verdict_of(f, "192.0.2.7"), XDP_PASS);
	assert_int_equal(verdict_of(f, "2001:db8:ffff::1"), XDP_DROP);

	/* 192.0.2.7 is gone now: the same patch is refused whole */
	assert_int_equal(weir_prefilter_patch(f->pf, &add, &del, -1, f->err, sizeof(f->err)),
			 -ENOENT);
	assert_non_null(strstr(f->err, "192.0.2.7/32 is not on the deny list"));
	/* and a stale revision too */
	assert_int_equal(weir_prefilter_patch(f->pf, &add, &(struct weir_pf_list){ 0 }, 1, f->err,
					      sizeof(f->err)),
			 -ESTALE);
	assert_int_equal(weir_prefilter_revision(f->pf), 2);
	weir_pf_list_release(&add);
	weir_pf_list_release(&del);
}

/* A list that does not fit is refused and the old one keeps dropping. */
static void full_maps_keep_the_old_list(void **state)
{
	struct fixture *f = *state;
	const char *const first[] = { "192.0.2.1", NULL };
	const char *const big[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3",
				    "192.0.2.4", "192.0.2.5", NULL };

	assert_int_equal(deny(f, first), 0);
	assert_int_equal(deny(f, big), -ENOSPC);
	assert_non_null(strstr(f->err, "5 single IPv4 addresses, the datapath holds 4"));
	assert_int_equal(verdict_of(f, "192.0.2.1"), XDP_DROP);
	assert_int_equal(verdict_of(f, "192.0.2.2"), XDP_PASS);
	assert_int_equal(weir_prefilter_revision(f->pf), 1);
}

/* A new agent on the same maps reads the list back (what a restart does
 * with pinned maps), and the next update goes to the other set.
 */
static void reopen_reads_the_list_back(void **state)
{
	struct fixture *f = *state;
	const char *const list[] = { "10.0.0.0/8", "192.0.2.7", "2001:db8::/64", "2001:db8::7",
				     NULL };
	const char *const again[] = { "10.0.0.0/8", NULL };
	struct weir_prefilter *pf2;
	json_t *doc;

	assert_int_equal(deny(f, list), 0);
	assert_int_equal(verdict_of(f, "10.0.0.1"), XDP_DROP);
	assert_int_equal(weir_prefilter_open(&pf2, f->skel), 0);
	doc = weir_prefilter_to_json(pf2);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "deny")), 4);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "deny"), 0)),
			    "10.0.0.0/8");
	assert_int_equal(json_integer_value(json_object_get(doc, "revision")), 1);
	json_decref(doc);
	weir_prefilter_free(f->pf);
	f->pf = pf2;
	assert_int_equal(hits_of(f, "10.0.0.0/8", NULL), 1);
	assert_int_equal(deny(f, again), 0);
	assert_int_equal(hits_of(f, "10.0.0.0/8", NULL), 1); /* same CIDR, same counter */
	assert_int_equal(verdict_of(f, "192.0.2.7"), XDP_PASS);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, setup_small, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(empty_list_passes_everything),
		T(v4_slash0_denies_every_v4_source),
		T(v4_slash8_boundaries),
		T(v4_slash31_boundaries),
		T(v4_slash32_is_exact),
		T(v6_slash64_boundaries),
		T(v6_slash128_is_exact),
		T(v6_slash0_denies_every_v6_source),
		T(drops_are_counted_and_events_rate_limited),
		T(vlan_tagged_source_is_matched),
		T(truncated_header_goes_to_the_full_parse),
		T(replace_is_atomic_and_keeps_counts),
		T(patch_adds_and_deletes),
		TS(full_maps_keep_the_old_list),
		T(reopen_reads_the_list_back),
	};

	weir_log_set_level(WEIR_LOG_WARN);
	weir_log_libbpf();
	return cmocka_run_group_tests_name("prefilter", tests, NULL, NULL);
}
