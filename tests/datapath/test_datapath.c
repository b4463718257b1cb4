// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Datapath tests: the real BPF object, loaded (never attached) and run with
 * BPF_PROG_TEST_RUN on crafted packets. Each test asserts the verdict and the
 * map contents and ring-buffer records the packet leaves behind.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include <weir/abi.h>
#include "datapath.h"
#include "log.h"
#include "names.h"
#include "weir.skel.h"
#include "datapath/pkt.h"

#define LO_IFINDEX 1 /* test runs see the netns loopback device */
#define MAX_EVENTS 32768

struct fixture {
	struct weir_datapath *dp;
	struct weir_bpf *skel;
	struct ring_buffer *rb;
	int n_events;
	struct weir_event events[MAX_EVENTS];
};

enum hook_point { XDP, TC_IN, TC_OUT };

static int on_event(void *ctx, void *data, size_t size)
{
	struct fixture *f = ctx;

	assert_int_equal(size, sizeof(struct weir_event));
	if (f->n_events < MAX_EVENTS)
		memcpy(&f->events[f->n_events++], data, sizeof(struct weir_event));
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(weir_datapath_load(&f->dp, NULL), 0);
	f->skel = weir_datapath_skel(f->dp);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.weir_events), on_event, f, NULL);
	assert_non_null(f->rb);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ring_buffer__free(f->rb);
	weir_datapath_destroy(f->dp);
	free(f);
	return 0;
}

static int prog_fd(struct fixture *f, enum hook_point h)
{
	switch (h) {
	case XDP:
		return bpf_program__fd(f->skel->progs.weir_xdp_ingress);
	case TC_IN:
		return bpf_program__fd(f->skel->progs.weir_tc_ingress);
	default:
		return bpf_program__fd(f->skel->progs.weir_tc_egress);
	}
}

/* Runs the program once on len bytes of p; returns the program's verdict,
 * or minus errno when the kernel refuses the run. Collects events.
 */
static int run_len(struct fixture *f, enum hook_point h, const struct pkt *p, __u32 len)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = p->buf, .data_size_in = len, .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog_fd(f, h), &run);
	if (err)
		return -errno;
	ring_buffer__consume(f->rb);
	return run.retval;
}

static int run(struct fixture *f, enum hook_point h, const struct pkt *p)
{
	return run_len(f, h, p, p->len);
}

static int pass_of(enum hook_point h)
{
	return h == XDP ? XDP_PASS : TC_ACT_UNSPEC;
}

static int drop_of(enum hook_point h)
{
	return h == XDP ? XDP_DROP : TC_ACT_SHOT;
}

static __u8 dir_of(enum hook_point h)
{
	return h == TC_OUT ? WEIR_DIR_EGRESS : WEIR_DIR_INGRESS;
}

static __u8 hook_of(enum hook_point h)
{
	return h == XDP ? WEIR_HOOK_XDP : WEIR_HOOK_TC;
}

static struct weir_flow_key key_at(const struct pkt_spec *s, enum hook_point h)
{
	return pkt_flow_key(s, LO_IFINDEX, dir_of(h), hook_of(h));
}

/* 0 and the value if the flow exists, -ENOENT otherwise. */
static int flow_get(struct fixture *f, const struct weir_flow_key *k, struct weir_flow_value *v)
{
	if (bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weir_flows), k, v))
		return -errno;
	return 0;
}

static int flow_count(struct fixture *f)
{
	int fd = bpf_map__fd(f->skel->maps.weir_flows);
	struct weir_flow_key k, next;
	int n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static struct weir_metrics_value metrics(struct fixture *f, __u8 reason, enum hook_point h)
{
	__u64 sum[2];

	assert_int_equal(weir_percpu_sum(bpf_map__fd(f->skel->maps.weir_metrics),
					 weir_metrics_index(reason, dir_of(h), hook_of(h)), sum, 2),
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

static int events_of(struct fixture *f, __u8 type)
{
	int i, n = 0;

	for (i = 0; i < f->n_events; i++)
		n += f->events[i].type == type;
	return n;
}

static const struct weir_event *last_event(struct fixture *f, __u8 type)
{
	int i;

	for (i = f->n_events - 1; i >= 0; i--)
		if (f->events[i].type == type)
			return &f->events[i];
	return NULL;
}

/* Packets used throughout. */
static const struct pkt_spec tcp4 = {
	.family = 4,
	.proto = IPPROTO_TCP,
	.saddr = "10.0.0.1",
	.daddr = "10.0.0.2",
	.sport = 40000,
	.dport = 80,
	.tcp_flags = WEIR_TCP_SYN,
};
static const struct pkt_spec udp6 = {
	.family = 6,
	.proto = IPPROTO_UDP,
	.saddr = "fd00::1",
	.daddr = "fd00::2",
	.sport = 5353,
	.dport = 53,
	.payload_bytes = 16,
};

/* A packet that passes leaves exactly one flow with its counters. */
static void assert_one_flow(struct fixture *f, const struct pkt_spec *s, enum hook_point h,
			    __u64 packets, __u64 bytes)
{
	struct weir_flow_key k = key_at(s, h);
	struct weir_flow_value v;

	assert_int_equal(flow_get(f, &k, &v), 0);
	assert_int_equal(v.packets, packets);
	assert_int_equal(v.bytes, bytes);
	assert_int_equal(v.verdict, WEIR_VERDICT_FORWARDED);
	assert_int_equal(v.reason, WEIR_REASON_FORWARDED);
	assert_true(v.first_seen_ns > 0 && v.first_seen_ns <= v.last_seen_ns);
	assert_int_equal(flow_count(f), 1);
}

static void counts_flow(void **state, const struct pkt_spec *s, enum hook_point h)
{
	struct fixture *f = *state;
	struct pkt p;
	const struct weir_event *ev;

	pkt_build(s, &p);
	assert_int_equal(run(f, h, &p), pass_of(h));
	assert_one_flow(f, s, h, 1, p.len);
	assert_int_equal(metrics(f, WEIR_REASON_FORWARDED, h).packets, 1);
	assert_int_equal(metrics(f, WEIR_REASON_FORWARDED, h).bytes, p.len);

	ev = last_event(f, WEIR_EV_FLOW_START);
	assert_non_null(ev);
	assert_int_equal(events_of(f, WEIR_EV_FLOW_START), 1);
	assert_int_equal(ev->version, WEIR_EVENT_VERSION);
	assert_int_equal(ev->len_bytes, sizeof(*ev));
	assert_int_equal(ev->pkt_len_bytes, p.len);
	assert_int_equal(ev->verdict, WEIR_VERDICT_FORWARDED);
	{
		struct weir_flow_key k = key_at(s, h);

		assert_memory_equal(&ev->key, &k, sizeof(k));
	}
}

static void xdp_counts_tcp4(void **state)
{
	counts_flow(state, &tcp4, XDP);
}

static void tc_ingress_counts_tcp4(void **state)
{
	counts_flow(state, &tcp4, TC_IN);
}

static void tc_egress_counts_tcp4(void **state)
{
	counts_flow(state, &tcp4, TC_OUT);
}

static void xdp_counts_udp6(void **state)
{
	counts_flow(state, &udp6, XDP);
}

static void tc_ingress_counts_udp6(void **state)
{
	counts_flow(state, &udp6, TC_IN);
}

static void tc_egress_counts_udp6(void **state)
{
	counts_flow(state, &udp6, TC_OUT);
}

static void xdp_counts_udp4(void **state)
{
	struct pkt_spec s = tcp4;

	s.proto = IPPROTO_UDP;
	s.payload_bytes = 100;
	counts_flow(state, &s, XDP);
}

static void xdp_counts_tcp6(void **state)
{
	struct pkt_spec s = udp6;

	s.proto = IPPROTO_TCP;
	s.tcp_flags = WEIR_TCP_SYN;
	counts_flow(state, &s, XDP);
}

static void xdp_counts_sctp4(void **state)
{
	struct pkt_spec s = tcp4;

	s.proto = 132; /* SCTP */
	s.tcp_flags = 0;
	counts_flow(state, &s, XDP);
}

static void tc_counts_sctp6(void **state)
{
	struct pkt_spec s = udp6;

	s.proto = 132;
	counts_flow(state, &s, TC_IN);
}

static void xdp_keys_icmp4_by_type_and_code(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = tcp4;
	struct weir_flow_key k;
	struct weir_flow_value v;
	struct pkt p;

	s.proto = IPPROTO_ICMP;
	s.tcp_flags = 0;
	s.icmp_type = 8; /* echo request */
	s.payload_bytes = 56;
	counts_flow(state, &s, XDP);
	k = key_at(&s, XDP);
	assert_int_equal(ntohs(k.sport), 8 << 8);
	assert_int_equal(k.dport, 0);

	s.icmp_type = 3; /* destination unreachable, port unreachable */
	s.icmp_code = 3;
	pkt_build(&s, &p);
	assert_int_equal(run(f, XDP, &p), XDP_PASS);
	k = key_at(&s, XDP);
	assert_int_equal(flow_get(f, &k, &v), 0);
	assert_int_equal(ntohs(k.sport), 3 << 8 | 3);
	assert_int_equal(flow_count(f), 2);
}

static void xdp_keys_icmp6_by_type_and_code(void **state)
{
	struct pkt_spec s = udp6;

	s.proto = IPPROTO_ICMPV6;
	s.icmp_type = 128; /* echo request */
	s.payload_bytes = 56;
	counts_flow(state, &s, XDP);
}

static void tcp_flags_accumulate_and_fin_rst_raise_events(void **state)
{
	struct fixture *f = *state;
	static const __u16 flags[] = {
		WEIR_TCP_SYN,
		WEIR_TCP_ACK,
		WEIR_TCP_PSH | WEIR_TCP_ACK,
		WEIR_TCP_FIN | WEIR_TCP_ACK,
		WEIR_TCP_RST,
		WEIR_TCP_ECE | WEIR_TCP_CWR | WEIR_TCP_NS,
	};
	struct pkt_spec s = tcp4;
	struct weir_flow_key k = key_at(&s, XDP);
	struct weir_flow_value v;
	__u64 bytes = 0;
	struct pkt p;
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		s.tcp_flags = flags[i];
		s.payload_bytes = 10 * i;
		pkt_build(&s, &p);
		bytes += p.len;
		assert_int_equal(run(f, XDP, &p), XDP_PASS);
	}
	assert_int_equal(flow_get(f, &k, &v), 0);
	assert_int_equal(v.packets, 6);
	assert_int_equal(v.bytes, bytes);
	assert_int_equal(v.tcp_flags, WEIR_TCP_SYN | WEIR_TCP_ACK | WEIR_TCP_PSH | WEIR_TCP_FIN |
					      WEIR_TCP_RST | WEIR_TCP_ECE | WEIR_TCP_CWR |
					      WEIR_TCP_NS);
	assert_int_equal(events_of(f, WEIR_EV_FLOW_START), 1);
	assert_int_equal(events_of(f, WEIR_EV_FLOW_END), 2); /* FIN, then RST */
	assert_int_equal(f->events[f->n_events - 1].type, WEIR_EV_FLOW_END);
	assert_int_equal(f->events[f->n_events - 1].tcp_flags, WEIR_TCP_RST);
	assert_int_equal(flow_count(f), 1);
}

static void vlan_8021q_is_parsed(void **state)
{
	struct pkt_spec s = tcp4;

	s.n_vlan = 1;
	s.vlan_id[0] = 100;
	counts_flow(state, &s, XDP);
}

static void qinq_8021ad_is_parsed(void **state)
{
	struct pkt_spec s = udp6;

	s.n_vlan = 2;
	s.vlan_id[0] = 100;
	s.vlan_id[1] = 200;
	counts_flow(state, &s, XDP);
}

static void unparsed_is_forwarded_and_counted(void **state, struct pkt_spec *s, __u8 reason)
{
	struct fixture *f = *state;
	struct pkt p;

	pkt_build(s, &p);
	assert_int_equal(run(f, XDP, &p), XDP_PASS);
	assert_int_equal(run(f, TC_OUT, &p), TC_ACT_UNSPEC);
	assert_int_equal(flow_count(f), 0);
	assert_int_equal(metrics(f, reason, XDP).packets, 1);
	assert_int_equal(metrics(f, reason, XDP).bytes, p.len);
	assert_int_equal(metrics(f, reason, TC_OUT).packets, 1);
	assert_int_equal(metrics(f, WEIR_REASON_FORWARDED, XDP).packets, 0);
	assert_int_equal(f->n_events, 0);
}

static void three_vlan_tags_pass_unparsed(void **state)
{
	struct pkt_spec s = tcp4;

	s.n_vlan = 3;
	unparsed_is_forwarded_and_counted(state, &s, WEIR_REASON_UNPARSED_VLAN_DEPTH);
}

static void arp_passes_unparsed(void **state)
{
	struct pkt_spec s = { .ethertype = ETH_P_ARP, .payload_bytes = 28 };

	unparsed_is_forwarded_and_counted(state, &s, WEIR_REASON_UNPARSED_L2);
}

static void ipv4_options_are_skipped(void **state)
{
	struct pkt_spec s = tcp4;

	s.ip_opts_bytes = 12;
	counts_flow(state, &s, XDP);
}

static void ipv6_extension_chain_is_walked(void **state)
{
	struct pkt_spec s = udp6;

	s.proto = IPPROTO_TCP;
	s.tcp_flags = WEIR_TCP_SYN;
	s.n_ext = 3;
	s.ext[0] = IPPROTO_HOPOPTS;
	s.ext[1] = IPPROTO_ROUTING;
	s.ext[2] = IPPROTO_DSTOPTS;
	counts_flow(state, &s, XDP);
}

static void unknown_l4_counts_as_l3_only(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = tcp4;
	struct weir_flow_key k;

	s.proto = IPPROTO_GRE;
	s.payload_bytes = 24;
	counts_flow(state, &s, XDP);
	k = key_at(&s, XDP);
	assert_int_equal(k.flags, WEIR_FLOW_F_L3_ONLY);
	assert_int_equal(k.sport, 0);
	(void)f;
}

static void ethernet_padding_is_counted_not_parsed(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = tcp4;
	struct pkt p;

	s.proto = IPPROTO_UDP;
	s.payload_bytes = 2; /* 14 + 20 + 8 + 2 = 44 bytes: padded to 60 */
	pkt_build(&s, &p);
	p.len = 60; /* the builder zeroed the padding */
	assert_int_equal(run(f, XDP, &p), XDP_PASS);
	assert_one_flow(f, &s, XDP, 1, 60);
}

/* Drops: the verdict, the reason in metrics and in one drop event, no flow. */
static void assert_dropped(struct fixture *f, const struct pkt *p, __u32 len, enum hook_point h,
			   __u8 reason)
{
	struct weir_metrics_value before = metrics(f, reason, h);
	int n_drop = events_of(f, WEIR_EV_DROP);
	const struct weir_event *ev;

	assert_int_equal(run_len(f, h, p, len), drop_of(h));
	assert_int_equal(metrics(f, reason, h).packets, before.packets + 1);
	assert_int_equal(metrics(f, reason, h).bytes, before.bytes + len);
	assert_int_equal(events_of(f, WEIR_EV_DROP), n_drop + 1);
	ev = last_event(f, WEIR_EV_DROP);
	assert_int_equal(ev->reason, reason);
	assert_int_equal(ev->verdict, WEIR_VERDICT_DROPPED);
	assert_int_equal(ev->pkt_len_bytes, len);
	assert_int_equal(ev->key.dir, dir_of(h));
	assert_int_equal(ev->key.hook, hook_of(h));
	assert_int_equal(flow_count(f), 0);
}

static void bad_ipv4_headers_are_dropped(void **state)
{
	struct fixture *f = *state;
	struct pkt p;
	struct pkt_spec s = tcp4;
	__u8 *ip;

	pkt_build(&s, &p);
	ip = p.buf + p.l3_off;
	ip[0] = 0x44; /* IHL 4: shorter than the fixed header */
	assert_dropped(f, &p, p.len, XDP, WEIR_REASON_INVALID_PACKET_DROPPED);

	pkt_build(&s, &p);
	ip[0] = 0x65; /* version 6 in an IPv4 ethertype */
	assert_dropped(f, &p, p.len, TC_IN, WEIR_REASON_INVALID_PACKET_DROPPED);

	pkt_build(&s, &p);
	*(__be16 *)&ip[2] = htons(p.len - p.l3_off + 1); /* total length beyond the frame */
	assert_dropped(f, &p, p.len, XDP, WEIR_REASON_INVALID_PACKET_DROPPED);

	pkt_build(&s, &p);
	*(__be16 *)&ip[2] = htons(16); /* total length shorter than the header */
	assert_dropped(f, &p, p.len, TC_OUT, WEIR_REASON_INVALID_PACKET_DROPPED);

	pkt_build(&s, &p);
	ip[0] = 0x4f; /* IHL 15: 60 bytes of header in a 20-byte header */
	assert_dropped(f, &p, p.len, XDP, WEIR_REASON_INVALID_PACKET_DROPPED);
}

static void bad_tcp_data_offset_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct pkt p;

	pkt_build(&tcp4, &p);
	p.buf[p.l4_off + 12] = 4 << 4; /* doff 4: shorter than the fixed header */
	assert_dropped(f, &p, p.len, XDP, WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER);

	pkt_build(&tcp4, &p);
	p.buf[p.l4_off + 12] = 6 << 4; /* doff 6: options beyond the IP length */
	assert_dropped(f, &p, p.len, XDP, WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER);
}

static void bad_ipv6_payload_length_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct pkt p;

	pkt_build(&udp6, &p);
	*(__be16 *)&p.buf[p.l3_off + 4] = htons(p.len - p.l3_off - 40 + 1);
	assert_dropped(f, &p, p.len, XDP, WEIR_REASON_INVALID_PACKET_DROPPED);

	pkt_build(&udp6, &p);
	p.buf[p.l3_off] = 0x40; /* version 4 in an IPv6 ethertype */
	assert_dropped(f, &p, p.len, TC_IN, WEIR_REASON_INVALID_PACKET_DROPPED);
}

static void too_many_ipv6_extension_headers_are_dropped(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = udp6;
	struct pkt p;
	int i;

	s.n_ext = 7; /* one more than WEIR_IPV6_MAX_EXT_HDRS */
	for (i = 0; i < s.n_ext; i++)
		s.ext[i] = IPPROTO_DSTOPTS;
	pkt_build(&s, &p);
	assert_dropped(f, &p, p.len, XDP, WEIR_REASON_INVALID_IPV6_EXTENSION_HEADER);

	s.n_ext = 6; /* exactly the limit still parses */
	pkt_build(&s, &p);
	assert_int_equal(run(f, XDP, &p), XDP_PASS);
	assert_int_equal(flow_count(f), 1);
}

static void ipv6_extension_beyond_payload_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = udp6;
	struct pkt p;

	s.n_ext = 1;
	s.ext[0] = IPPROTO_DSTOPTS;
	pkt_build(&s, &p);
	p.buf[p.l3_off + 40 + 1] = 200; /* claims (200 + 1) * 8 bytes */
	assert_dropped(f, &p, p.len, XDP, WEIR_REASON_INVALID_IPV6_EXTENSION_HEADER);
}

/* Fragments: a later fragment joins its first fragment's flow. */
static void fragments_join_their_first_fragments_flow(void **state, struct pkt_spec *s)
{
	struct fixture *f = *state;
	struct weir_flow_key k = key_at(s, XDP);
	struct weir_flow_value v;
	struct pkt first, later;

	s->frag = true;
	s->frag_id = 0x1234;
	s->frag_more = true;
	s->payload_bytes = 64;
	pkt_build(s, &first);
	s->frag_offset_bytes = 72;
	s->frag_more = false;
	s->payload_bytes = 40;
	pkt_build(s, &later);

	assert_int_equal(run(f, XDP, &first), XDP_PASS);
	assert_int_equal(run(f, XDP, &later), XDP_PASS);
	assert_int_equal(flow_get(f, &k, &v), 0);
	assert_int_equal(v.packets, 2);
	assert_int_equal(v.bytes, first.len + later.len);
	assert_int_equal(flow_count(f), 1);
	assert_int_equal(counter(f, WEIR_CNT_FRAG_L3_ONLY), 0);
}

static void ipv4_fragments_join_their_flow(void **state)
{
	struct pkt_spec s = tcp4;

	s.proto = IPPROTO_UDP;
	s.tcp_flags = 0;
	fragments_join_their_first_fragments_flow(state, &s);
}

static void ipv6_fragments_join_their_flow(void **state)
{
	struct pkt_spec s = udp6;

	s.n_ext = 2;
	s.ext[0] = IPPROTO_HOPOPTS;
	s.ext[1] = IPPROTO_FRAGMENT;
	fragments_join_their_first_fragments_flow(state, &s);
}

/* Without its first fragment, a later one counts against an L3-only key. */
static void orphan_fragment_is_l3_only(void **state, struct pkt_spec *s)
{
	struct fixture *f = *state;
	struct weir_flow_key k;
	struct weir_flow_value v;
	struct pkt p;

	s->frag = true;
	s->frag_id = 77;
	s->frag_offset_bytes = 1480;
	s->payload_bytes = 100;
	pkt_build(s, &p);
	assert_int_equal(run(f, XDP, &p), XDP_PASS);

	k = key_at(s, XDP);
	k.sport = k.dport = 0;
	k.flags = WEIR_FLOW_F_L3_ONLY;
	assert_int_equal(flow_get(f, &k, &v), 0);
	assert_int_equal(v.packets, 1);
	assert_int_equal(v.bytes, p.len);
	assert_int_equal(flow_count(f), 1);
	assert_int_equal(counter(f, WEIR_CNT_FRAG_L3_ONLY), 1);
}

static void orphan_ipv4_fragment_is_l3_only(void **state)
{
	struct pkt_spec s = tcp4;

	orphan_fragment_is_l3_only(state, &s);
}

static void orphan_ipv6_fragment_is_l3_only(void **state)
{
	struct pkt_spec s = udp6;

	s.n_ext = 1;
	s.ext[0] = IPPROTO_FRAGMENT;
	orphan_fragment_is_l3_only(state, &s);
}

/* Every truncation of a valid packet, from 0 bytes to its full size, at every
 * hook: every short frame is dropped with a reason and an event, and never
 * makes a flow. The kernel refuses to run frames shorter than Ethernet, and,
 * for an skb, frames whose fixed IP header is incomplete; the XDP sweep runs
 * those lengths through the same parser.
 */
static void truncation_sweep(void **state, const struct pkt_spec *s)
{
	static const enum hook_point hooks[] = { XDP, TC_IN, TC_OUT };
	struct fixture *f = *state;
	struct pkt p;
	__u32 len;
	size_t h;

	int n_drop_events = 0;

	pkt_build(s, &p);
	for (h = 0; h < sizeof(hooks) / sizeof(hooks[0]); h++) {
		__u32 min_len = hooks[h] == XDP ? ETH_HLEN : ETH_HLEN + (s->family == 4 ? 20 : 40);
		__u64 dropped = 0, dropped_bytes = 0;

		for (len = 0; len < p.len; len++) {
			int ret = run_len(f, hooks[h], &p, len);

			if (len < min_len) {
				assert_int_equal(ret, -EINVAL);
				continue;
			}
			if (ret != drop_of(hooks[h]))
				fail_msg("hook %zu: %u of %u bytes: verdict %d, want drop", h, len,
					 p.len, ret);
			dropped++;
			dropped_bytes += len;
			assert_int_equal(flow_count(f), 0);
		}
		assert_int_equal(
			metrics(f, WEIR_REASON_INVALID_PACKET_DROPPED, hooks[h]).packets +
				metrics(f, WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER, hooks[h])
					.packets,
			dropped);
		assert_int_equal(
			metrics(f, WEIR_REASON_INVALID_PACKET_DROPPED, hooks[h]).bytes +
				metrics(f, WEIR_REASON_CT_TRUNCATED_OR_INVALID_HEADER, hooks[h])
					.bytes,
			dropped_bytes);
		assert_int_equal(metrics(f, WEIR_REASON_FORWARDED, hooks[h]).packets, 0);
		n_drop_events += dropped;

		assert_int_equal(run(f, hooks[h], &p), pass_of(hooks[h]));
		assert_one_flow(f, s, hooks[h], 1, p.len);
		{ /* the next hook starts from an empty table */
			struct weir_flow_key k = key_at(s, hooks[h]);

			assert_int_equal(
				bpf_map_delete_elem(bpf_map__fd(f->skel->maps.weir_flows), &k), 0);
		}
	}
	assert_int_equal(events_of(f, WEIR_EV_DROP), n_drop_events);
	assert_int_equal(counter(f, WEIR_CNT_LOST_EVENTS), 0);
}

static void truncated_tcp4_never_makes_a_flow(void **state)
{
	struct pkt_spec s = tcp4;

	s.payload_bytes = 6;
	truncation_sweep(state, &s);
}

static void truncated_udp6_never_makes_a_flow(void **state)
{
	truncation_sweep(state, &udp6);
}

/* A full ring buffer loses events, and every lost one is counted. */
static void lost_events_are_counted(void **state)
{
	struct fixture *f = *state;
	const __u32 repeat = 20000; /* more drop events than the 1 MiB ring holds */
	struct pkt p;
	LIBBPF_OPTS(bpf_test_run_opts, run_opts, .repeat = repeat);

	pkt_build(&tcp4, &p);
	p.buf[p.l3_off] = 0x44; /* bad IHL: one drop event per run */
	run_opts.data_in = p.buf;
	run_opts.data_size_in = p.len;
	assert_int_equal(bpf_prog_test_run_opts(prog_fd(f, XDP), &run_opts), 0);
	assert_int_equal(run_opts.retval, XDP_DROP);
	ring_buffer__consume(f->rb);

	assert_true(counter(f, WEIR_CNT_LOST_EVENTS) > 0);
	assert_int_equal(events_of(f, WEIR_EV_DROP) + counter(f, WEIR_CNT_LOST_EVENTS), repeat);
	assert_int_equal(metrics(f, WEIR_REASON_INVALID_PACKET_DROPPED, XDP).packets, repeat);
}

static void reason_names_follow_hubble(void **state)
{
	(void)state;
	assert_string_equal(weir_reason_name(134), "INVALID_PACKET_DROPPED");
	assert_string_equal(weir_reason_name(135), "CT_TRUNCATED_OR_INVALID_HEADER");
	assert_string_equal(weir_reason_name(156), "INVALID_IPV6_EXTENSION_HEADER");
	assert_int_equal(weir_reason_parse("INVALID_IPV6_EXTENSION_HEADER"), 156);
	assert_int_equal(weir_reason_parse("NO_SUCH_REASON"), -EINVAL);
	assert_null(weir_reason_name(250));
	assert_string_equal(weir_verdict_name(WEIR_VERDICT_DROPPED), "DROPPED");
	assert_string_equal(weir_counter_name(WEIR_CNT_LOST_EVENTS), "LOST_EVENTS");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(xdp_counts_tcp4),
		T(tc_ingress_counts_tcp4),
		T(tc_egress_counts_tcp4),
		T(xdp_counts_udp6),
		T(tc_ingress_counts_udp6),
		T(tc_egress_counts_udp6),
		T(xdp_counts_udp4),
		T(xdp_counts_tcp6),
		T(xdp_counts_sctp4),
		T(tc_counts_sctp6),
		T(xdp_keys_icmp4_by_type_and_code),
		T(xdp_keys_icmp6_by_type_and_code),
		T(tcp_flags_accumulate_and_fin_rst_raise_events),
		T(vlan_8021q_is_parsed),
		T(qinq_8021ad_is_parsed),
		T(three_vlan_tags_pass_unparsed),
		T(arp_passes_unparsed),
		T(ipv4_options_are_skipped),
		T(ipv6_extension_chain_is_walked),
		T(unknown_l4_counts_as_l3_only),
		T(ethernet_padding_is_counted_not_parsed),
		T(bad_ipv4_headers_are_dropped),
		T(bad_tcp_data_offset_is_dropped),
		T(bad_ipv6_payload_length_is_dropped),
		T(too_many_ipv6_extension_headers_are_dropped),
		T(ipv6_extension_beyond_payload_is_dropped),
		T(ipv4_fragments_join_their_flow),
		T(ipv6_fragments_join_their_flow),
		T(orphan_ipv4_fragment_is_l3_only),
		T(orphan_ipv6_fragment_is_l3_only),
		T(truncated_tcp4_never_makes_a_flow),
		T(truncated_udp6_never_makes_a_flow),
		T(lost_events_are_counted),
		cmocka_unit_test(reason_names_follow_hubble),
	};

	weir_log_libbpf();
	return cmocka_run_group_tests_name("datapath", tests, NULL, NULL);
}
