// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Load-balancer datapath tests: the real BPF object, loaded through libweir
 * (never attached), its service maps filled the way the agent fills them
 * (include/weir/lb.h), run with BPF_PROG_TEST_RUN. Rewritten packets are
 * compared byte for byte with packets built from scratch, and their
 * checksums recomputed from scratch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include <weir/abi.h>
#include <weir/lb.h>
#include "datapath.h"
#include "log.h"
#include "weir.skel.h"
#include "datapath/pkt.h"

#define MAGLEV_M 251 /* a small prime: tables fill fast */
#define PORTS	 64  /* client ports a spread test tries */

#define CLIENT4 "10.0.0.1"
#define VIP4	"10.96.0.10"
#define CLIENT6 "fd00::1"
#define VIP6	"fd00:96::10"
#define VPORT	80
#define BPORT	8080

enum { SVC_TCP4 = 1, SVC_UDP4, SVC_TCP6, SVC_UDP6, SVC_EMPTY };

struct fixture {
	struct weir_datapath *dp;
	struct weir_bpf *skel;
	struct ring_buffer *rb;
	int n_drops[256]; /* drop events by reason */
	int svc_fd, maglev_fd, be_fd, ct_fd, revnat_fd, aff_fd, svc_stats_fd, be_stats_fd;
};

enum hook_point { XDP, TC_OUT };

static const char *backend4[] = { NULL, "10.1.0.1", "10.1.0.2", "10.1.0.3" };
static const char *backend6[] = { NULL, "fd00:1::1", "fd00:1::2", "fd00:1::3" };

static int on_event(void *ctx, void *data, size_t size)
{
	const struct weir_event *ev = data;
	struct fixture *f = ctx;

	assert_int_equal(size, sizeof(*ev));
	if (ev->type == WEIR_EV_DROP)
		f->n_drops[ev->reason]++;
	return 0;
}

static int map_fd(struct fixture *f, const char *name)
{
	int fd = weir_datapath_map_fd(f->dp, name);

	assert_true(fd >= 0);
	return fd;
}

static void addr_of(int family, const char *s, __be32 out[4])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, s, out), 1);
}

static void backend_set(struct fixture *f, __u32 id, int family, __u8 state)
{
	struct weir_lb_backend be;

	memset(&be, 0, sizeof(be));
	addr_of(family, family == 4 ? backend4[id] : backend6[id], be.addr);
	be.port = htons(BPORT);
	be.family = family;
	be.state = state;
	be.weight = 1;
	assert_int_equal(bpf_map_update_elem(f->be_fd, &id, &be, BPF_ANY), 0);
}

/* A Maglev table the way the agent installs one: a fresh inner map, filled,
 * then swapped in. Entries name ids[] in turn (a real build interleaves by
 * weight; the datapath cannot tell).
 */
static void table_set(struct fixture *f, __u32 svc_id, const __u32 *ids, int n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = WEIR_LB_MAGLEV_INNER_FLAGS);
	__u32 slot, v;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "weir_lb_mg_in", sizeof(__u32), sizeof(__u32),
			    WEIR_LB_MAGLEV_SLOTS(MAGLEV_M), &o);
	assert_true(fd >= 0);
	slot = 0;
	v = MAGLEV_M;
	assert_int_equal(bpf_map_update_elem(fd, &slot, &v, BPF_ANY), 0);
	for (slot = 1; n && slot <= MAGLEV_M; slot++) {
		v = ids[(slot - 1) % n];
		assert_int_equal(bpf_map_update_elem(fd, &slot, &v, BPF_ANY), 0);
	}
	assert_int_equal(bpf_map_update_elem(f->maglev_fd, &svc_id, &fd, BPF_ANY), 0);
	close(fd);
}

static void service_set(struct fixture *f, __u32 id, int family, __u8 proto, const char *vip,
			__u32 affinity_s, const __u32 *ids, int n)
{
	struct weir_lb_svc_key k;
	struct weir_lb_svc v = { .id = id, .affinity_timeout_s = affinity_s };

	memset(&k, 0, sizeof(k));
	addr_of(family, vip, k.addr);
	k.port = htons(VPORT);
	k.proto = proto;
	k.family = family;
	v.n_backends_usable = n;
	table_set(f, id, ids, n);
	assert_int_equal(bpf_map_update_elem(f->svc_fd, &k, &v, BPF_ANY), 0);
}

static int setup(void **state)
{
	struct weir_datapath_opts opts = {
		.lb_services_max = 64,
		.lb_backends_max = 64,
		.lb_ct_max = 4096,
		.lb_affinity_max = 1024,
	};
	static const __u32 ids[] = { 1, 2, 3 };
	struct fixture *f = calloc(1, sizeof(*f));
	__u32 id;

	assert_non_null(f);
	assert_int_equal(weir_datapath_load(&f->dp, &opts), 0);
	f->skel = weir_datapath_skel(f->dp);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.weir_events), on_event, f, NULL);
	assert_non_null(f->rb);
	f->svc_fd = map_fd(f, WEIR_MAP_LB_SERVICES);
	f->maglev_fd = map_fd(f, WEIR_MAP_LB_MAGLEV);
	f->be_fd = map_fd(f, WEIR_MAP_LB_BACKENDS);
	f->ct_fd = map_fd(f, WEIR_MAP_LB_CT);
	f->revnat_fd = map_fd(f, WEIR_MAP_LB_REVNAT);
	f->aff_fd = map_fd(f, WEIR_MAP_LB_AFFINITY);
	f->svc_stats_fd = map_fd(f, WEIR_MAP_LB_SVC_STATS);
	f->be_stats_fd = map_fd(f, WEIR_MAP_LB_BACKEND_STATS);

	/* Backends 1-3 are IPv4, 11-13 the same hosts' IPv6 addresses. */
	for (id = 1; id <= 3; id++) {
		struct weir_lb_backend be;
		__u32 id6 = id + 10;

		backend_set(f, id, 4, WEIR_LB_BACKEND_ACTIVE);
		memset(&be, 0, sizeof(be));
		addr_of(6, backend6[id], be.addr);
		be.port = htons(BPORT);
		be.family = 6;
		be.weight = 1;
		assert_int_equal(bpf_map_update_elem(f->be_fd, &id6, &be, BPF_ANY), 0);
	}
	service_set(f, SVC_TCP4, 4, IPPROTO_TCP, VIP4, 0, ids, 3);
	service_set(f, SVC_UDP4, 4, IPPROTO_UDP, VIP4, 0, ids, 3);
	{
		static const __u32 ids6[] = { 11, 12, 13 };

		service_set(f, SVC_TCP6, 6, IPPROTO_TCP, VIP6, 0, ids6, 3);
		service_set(f, SVC_UDP6, 6, IPPROTO_UDP, VIP6, 0, ids6, 3);
	}
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

/* Runs the program once on p; the packet as the program left it is in out
 * (same offsets). Returns the verdict.
 */
static int run(struct fixture *f, enum hook_point h, const struct pkt *p, struct pkt *out)
{
	struct pkt scratch;
	LIBBPF_OPTS(bpf_test_run_opts, r, .data_in = p->buf, .data_size_in = p->len, .repeat = 1);
	struct bpf_program *prog =
		h == XDP ? f->skel->progs.weir_xdp_ingress : f->skel->progs.weir_tc_egress;

	if (!out)
		out = &scratch;
	memset(out, 0, sizeof(*out));
	r.data_out = out->buf;
	r.data_size_out = sizeof(out->buf);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &r), 0);
	out->len = r.data_size_out;
	out->l3_off = p->l3_off;
	out->l4_off = p->l4_off;
	ring_buffer__consume(f->rb);
	return r.retval;
}

/* A packet with valid checksums (UDP: csum0 leaves it 0). */
static struct pkt build(int family, __u8 proto, const char *saddr, __u16 sport, const char *daddr,
			__u16 dport, __u16 tcp_flags, bool csum0)
{
	struct pkt_spec s = {
		.family = family,
		.proto = proto,
		.saddr = saddr,
		.daddr = daddr,
		.sport = sport,
		.dport = dport,
		.tcp_flags = tcp_flags,
		.payload_bytes = 37, /* odd: the checksum's trailing byte */
	};
	struct pkt p;

	pkt_build(&s, &p);
	if (!csum0)
		pkt_l4_csum_fill(&p, family, proto);
	return p;
}

static const char *client_of(int family)
{
	return family == 4 ? CLIENT4 : CLIENT6;
}

static const char *vip_of(int family)
{
	return family == 4 ? VIP4 : VIP6;
}

static const char *backend_addr(int family, __u32 id)
{
	__u32 host = id > 10 ? id - 10 : id; /* ids 11-13: the IPv6 side of hosts 1-3 */

	assert_true(host >= 1 && host <= 3);
	return family == 4 ? backend4[host] : backend6[host];
}

static __u32 svc_of(int family, __u8 proto)
{
	if (family == 4)
		return proto == IPPROTO_TCP ? SVC_TCP4 : SVC_UDP4;
	return proto == IPPROTO_TCP ? SVC_TCP6 : SVC_UDP6;
}

/* The backend the shared hash and a round-robin table of ids give. */
static __u32 predict(int family, __u8 proto, __u16 sport, const __u32 *ids, int n)
{
	__be32 a[4];

	addr_of(family, client_of(family), a);
	return ids[weir_lb_maglev_entry(weir_lb_hash(a, htons(sport), proto, WEIR_LB_SEED_DEFAULT),
					MAGLEV_M) %
		   n];
}

static struct weir_lb_tuple ct_key(int family, __u8 proto, __u16 sport)
{
	struct weir_lb_tuple t;

	memset(&t, 0, sizeof(t));
	addr_of(family, client_of(family), t.saddr);
	addr_of(family, vip_of(family), t.daddr);
	t.sport = htons(sport);
	t.dport = htons(VPORT);
	t.proto = proto;
	t.family = family;
	return t;
}

static int ct_get(struct fixture *f, int family, __u8 proto, __u16 sport,
		  struct weir_lb_ct_value *v)
{
	struct weir_lb_tuple t = ct_key(family, proto, sport);

	return bpf_map_lookup_elem(f->ct_fd, &t, v) ? -errno : 0;
}

static struct weir_lb_stats stats(int fd, __u32 id)
{
	struct weir_lb_stats s;

	assert_int_equal(weir_percpu_sum(fd, id, (__u64 *)&s, 4), 0);
	return s;
}

/* Sends client:sport -> VIP through XDP; returns the backend id the packet
 * went to (by its rewritten destination), 0 if dropped. Asserts the bytes.
 */
static __u32 send_to_vip(struct fixture *f, int family, __u8 proto, __u16 sport, __u16 tcp_flags)
{
	struct pkt in = build(family, proto, client_of(family), sport, vip_of(family), VPORT,
			      tcp_flags, false);
	struct weir_lb_ct_value ct;
	struct pkt out, want;
	int verdict;

	verdict = run(f, XDP, &in, &out);
	if (verdict == XDP_DROP)
		return 0;
	assert_int_equal(verdict, XDP_PASS);
	assert_int_equal(ct_get(f, family, proto, sport, &ct), 0);
	want = build(family, proto, client_of(family), sport, backend_addr(family, ct.backend_id),
		     BPORT, tcp_flags, false);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.buf, want.buf, want.len);
	assert_true(pkt_csums_ok(&out, family, proto));
	return ct.backend_id;
}

/* DNAT of the first packet, byte for byte, and what it leaves in the maps. */
static void dnat_case(struct fixture *f, int family, __u8 proto, bool csum0)
{
	static const __u32 ids4[] = { 1, 2, 3 }, ids6[] = { 11, 12, 13 };
	const __u32 *ids = family == 4 ? ids4 : ids6;
	__u16 flags = proto == IPPROTO_TCP ? WEIR_TCP_SYN : 0;
	__u32 want_id = predict(family, proto, 40000, ids, 3);
	struct pkt in =
		build(family, proto, client_of(family), 40000, vip_of(family), VPORT, flags, csum0);
	struct pkt want = build(family, proto, client_of(family), 40000,
				backend_addr(family, want_id), BPORT, flags, csum0);
	struct weir_lb_revnat_value rn;
	struct weir_lb_ct_value ct;
	struct weir_lb_tuple rt;
	struct weir_lb_stats s;
	struct pkt out;

	assert_true(pkt_csums_ok(&in, family, proto));
	assert_int_equal(run(f, XDP, &in, &out), XDP_PASS);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.buf, want.buf, want.len);
	assert_true(pkt_csums_ok(&out, family, proto));
	if (csum0) /* UDP over IPv4 without a checksum keeps none */
		assert_int_equal(out.buf[out.l4_off + 6] | out.buf[out.l4_off + 7], 0);

	assert_int_equal(ct_get(f, family, proto, 40000, &ct), 0);
	assert_int_equal(ct.backend_id, want_id);
	assert_int_equal(ct.svc_id, svc_of(family, proto));
	assert_int_equal(ct.state, proto == IPPROTO_TCP ? WEIR_LB_CT_TCP_SYN : WEIR_LB_CT_ANY);

	memset(&rt, 0, sizeof(rt));
	addr_of(family, backend_addr(family, want_id), rt.saddr);
	addr_of(family, client_of(family), rt.daddr);
	rt.sport = htons(BPORT);
	rt.dport = htons(40000);
	rt.proto = proto;
	rt.family = family;
	assert_int_equal(bpf_map_lookup_elem(f->revnat_fd, &rt, &rn), 0);
	assert_int_equal(rn.vport, htons(VPORT));
	assert_int_equal(rn.svc_id, svc_of(family, proto));
	assert_int_equal(rn.backend_id, want_id);

	s = stats(f->svc_stats_fd, svc_of(family, proto));
	assert_int_equal(s.new_flows, 1);
	assert_int_equal(s.packets, 1);
	assert_int_equal(s.bytes, in.len);
	s = stats(f->be_stats_fd, want_id);
	assert_int_equal(s.new_flows, 1);
	assert_int_equal(s.packets, 1);
}

/* The reply backend -> client leaves TC egress as VIP -> client. */
static void revnat_case(struct fixture *f, int family, __u8 proto, bool csum0)
{
	__u16 flags = proto == IPPROTO_TCP ? WEIR_TCP_SYN | WEIR_TCP_ACK : 0;
	struct weir_lb_ct_value ct;
	struct pkt in, out, want;
	__u32 id;

	id = send_to_vip(f, family, proto, 40000, proto == IPPROTO_TCP ? WEIR_TCP_SYN : 0);
	assert_int_not_equal(id, 0);
	in = build(family, proto, backend_addr(family, id), BPORT, client_of(family), 40000, flags,
		   csum0);
	want = build(family, proto, vip_of(family), VPORT, client_of(family), 40000, flags, csum0);
	assert_int_equal(run(f, TC_OUT, &in, &out), TC_ACT_UNSPEC);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.buf, want.buf, want.len);
	assert_true(pkt_csums_ok(&out, family, proto));
	if (csum0)
		assert_int_equal(out.buf[out.l4_off + 6] | out.buf[out.l4_off + 7], 0);
	assert_int_equal(ct_get(f, family, proto, 40000, &ct), 0);
	assert_int_equal(ct.backend_id, id);
}

static void tcp4_dnat_is_exact(void **state)
{
	dnat_case(*state, 4, IPPROTO_TCP, false);
}

static void udp4_dnat_is_exact(void **state)
{
	dnat_case(*state, 4, IPPROTO_UDP, false);
}

static void udp4_zero_checksum_stays_zero(void **state)
{
	dnat_case(*state, 4, IPPROTO_UDP, true);
	revnat_case(*state, 4, IPPROTO_UDP, true);
}

static bool udp_csum_is_ffff(const struct pkt *p)
{
	return p->buf[p->l4_off + 6] == 0xff && p->buf[p->l4_off + 7] == 0xff;
}

/* A UDP checksum that comes out 0 is sent as 0xffff (0 means "none"), after
 * DNAT and after reverse NAT: client ports are searched for packets whose
 * rewritten checksum is exactly that.
 */
static void udp4_computed_zero_checksum_is_ffff(void **state)
{
	static const __u32 ids[] = { 1, 2, 3 };
	struct fixture *f = *state;
	struct pkt want, out, in;
	__u32 port, id, dnat_port = 0, revnat_port = 0;

	for (port = 1024; port <= 65535 && (!dnat_port || !revnat_port); port++) {
		id = predict(4, IPPROTO_UDP, port, ids, 3);
		want = build(4, IPPROTO_UDP, CLIENT4, port, backend4[id], BPORT, 0, false);
		if (!dnat_port && udp_csum_is_ffff(&want))
			dnat_port = port;
		want = build(4, IPPROTO_UDP, VIP4, VPORT, CLIENT4, port, 0, false);
		if (!revnat_port && udp_csum_is_ffff(&want))
			revnat_port = port;
	}
	assert_int_not_equal(dnat_port, 0);
	assert_int_not_equal(revnat_port, 0);

	id = send_to_vip(f, 4, IPPROTO_UDP, dnat_port, 0); /* compares the bytes */
	assert_int_equal(id, predict(4, IPPROTO_UDP, dnat_port, ids, 3));

	id = send_to_vip(f, 4, IPPROTO_UDP, revnat_port, 0);
	in = build(4, IPPROTO_UDP, backend4[id], BPORT, CLIENT4, revnat_port, 0, false);
	want = build(4, IPPROTO_UDP, VIP4, VPORT, CLIENT4, revnat_port, 0, false);
	assert_int_equal(run(f, TC_OUT, &in, &out), TC_ACT_UNSPEC);
	assert_true(udp_csum_is_ffff(&out));
	assert_memory_equal(out.buf, want.buf, want.len);
}

static void tcp6_dnat_is_exact(void **state)
{
	dnat_case(*state, 6, IPPROTO_TCP, false);
}

static void udp6_dnat_is_exact(void **state)
{
	dnat_case(*state, 6, IPPROTO_UDP, false);
}

static void tcp4_reply_is_reverse_nated(void **state)
{
	revnat_case(*state, 4, IPPROTO_TCP, false);
}

static void udp4_reply_is_reverse_nated(void **state)
{
	revnat_case(*state, 4, IPPROTO_UDP, false);
}

static void tcp6_reply_is_reverse_nated(void **state)
{
	revnat_case(*state, 6, IPPROTO_TCP, false);
}

static void udp6_reply_is_reverse_nated(void **state)
{
	revnat_case(*state, 6, IPPROTO_UDP, false);
}

/* Headers further in: two VLAN tags and IPv4 options, or an IPv6 hop-by-hop
 * header; DNAT and reverse NAT find them where the parser did.
 */
static void nat_finds_headers_past_vlan_tags_options_and_extensions(void **state)
{
	struct fixture *f = *state;
	int family;

	for (family = 4; family <= 6; family += 2) {
		struct pkt_spec s = {
			.family = family,
			.proto = IPPROTO_TCP,
			.saddr = client_of(family),
			.daddr = vip_of(family),
			.sport = 40000,
			.dport = VPORT,
			.tcp_flags = WEIR_TCP_SYN,
			.payload_bytes = 21,
			.n_vlan = 2,
			.vlan_id = { 100, 200 },
			.ip_opts_bytes = family == 4 ? 8 : 0,
			.n_ext = family == 6,
			.ext = { IPPROTO_HOPOPTS },
		};
		struct weir_lb_ct_value ct;
		struct pkt in, out, want;

		pkt_build(&s, &in);
		pkt_l4_csum_fill(&in, family, IPPROTO_TCP);
		assert_int_equal(run(f, XDP, &in, &out), XDP_PASS);
		assert_int_equal(ct_get(f, family, IPPROTO_TCP, 40000, &ct), 0);
		s.daddr = backend_addr(family, ct.backend_id);
		s.dport = BPORT;
		pkt_build(&s, &want);
		pkt_l4_csum_fill(&want, family, IPPROTO_TCP);
		assert_int_equal(out.len, want.len);
		assert_memory_equal(out.buf, want.buf, want.len);
		assert_true(pkt_csums_ok(&out, family, IPPROTO_TCP));

		/* the reply, with the same headers, back to the VIP */
		s.saddr = backend_addr(family, ct.backend_id);
		s.sport = BPORT;
		s.daddr = client_of(family);
		s.dport = 40000;
		s.tcp_flags = WEIR_TCP_SYN | WEIR_TCP_ACK;
		pkt_build(&s, &in);
		pkt_l4_csum_fill(&in, family, IPPROTO_TCP);
		s.saddr = vip_of(family);
		s.sport = VPORT;
		pkt_build(&s, &want);
		pkt_l4_csum_fill(&want, family, IPPROTO_TCP);
		assert_int_equal(run(f, TC_OUT, &in, &out), TC_ACT_UNSPEC);
		assert_memory_equal(out.buf, want.buf, want.len);
		assert_true(pkt_csums_ok(&out, family, IPPROTO_TCP));
	}
}

/* A reply the datapath has no entry for leaves untouched. */
static void unknown_reply_is_untouched(void **state)
{
	struct fixture *f = *state;
	struct pkt in =
		build(4, IPPROTO_TCP, backend4[1], BPORT, CLIENT4, 41000, WEIR_TCP_ACK, false);
	struct pkt out;

	assert_int_equal(run(f, TC_OUT, &in, &out), TC_ACT_UNSPEC);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.buf, in.buf, in.len);
}

/* Packets to no service, or to the VIP on another port, pass unchanged. */
static void non_vip_packets_pass_unchanged(void **state)
{
	struct fixture *f = *state;
	struct pkt in[] = {
		build(4, IPPROTO_TCP, CLIENT4, 40000, "10.96.0.11", VPORT, WEIR_TCP_SYN, false),
		build(4, IPPROTO_TCP, CLIENT4, 40000, VIP4, VPORT + 1, WEIR_TCP_SYN, false),
		build(6, IPPROTO_UDP, CLIENT6, 40000, "fd00:96::11", VPORT, 0, false),
	};
	struct weir_flow_value fv;
	struct weir_flow_key k;
	struct pkt out;
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(run(f, XDP, &in[i], &out), XDP_PASS);
		assert_int_equal(out.len, in[i].len);
		assert_memory_equal(out.buf, in[i].buf, in[i].len);
	}
	assert_int_equal(stats(f->svc_stats_fd, SVC_TCP4).packets, 0);
	/* ... and are counted in their flows as usual */
	assert_int_equal(bpf_map_get_next_key(f->ct_fd, NULL, &k), -ENOENT);
	assert_int_equal(bpf_map_get_next_key(bpf_map__fd(f->skel->maps.weir_flows), NULL, &k), 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weir_flows), &k, &fv), 0);
	assert_int_equal(fv.packets, 1);
}

/* The flow record of a load-balanced packet keeps the client -> VIP key,
 * and that key is the conntrack key that names service and backend.
 */
static void flow_key_finds_the_conntrack_entry(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = {
		.family = 4,
		.proto = IPPROTO_TCP,
		.saddr = CLIENT4,
		.daddr = VIP4,
		.sport = 40000,
		.dport = VPORT,
	};
	struct weir_flow_key k = pkt_flow_key(&s, 1, WEIR_DIR_INGRESS, WEIR_HOOK_XDP);
	struct weir_lb_tuple t = weir_lb_tuple_of_flow(&k);
	struct weir_flow_value fv;
	struct weir_lb_ct_value ct;
	__u32 id;

	id = send_to_vip(f, 4, IPPROTO_TCP, 40000, WEIR_TCP_SYN);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weir_flows), &k, &fv), 0);
	assert_int_equal(fv.verdict, WEIR_VERDICT_FORWARDED);
	assert_int_equal(bpf_map_lookup_elem(f->ct_fd, &t, &ct), 0);
	assert_int_equal(ct.backend_id, id);
	assert_int_equal(ct.svc_id, SVC_TCP4);
}

/* Swapping in a new table (backend 1 gone, 4 more slots each for the rest)
 * moves no live flow; new flows follow the new table.
 */
static void conntrack_pins_flows_across_table_swaps(void **state)
{
	struct fixture *f = *state;
	static const __u32 old_ids[] = { 1, 2, 3 }, new_ids[] = { 3, 2 };
	__u32 before[PORTS], port;

	for (port = 0; port < PORTS; port++) {
		before[port] = send_to_vip(f, 4, IPPROTO_TCP, 40000 + port, WEIR_TCP_SYN);
		assert_int_equal(before[port], predict(4, IPPROTO_TCP, 40000 + port, old_ids, 3));
	}
	table_set(f, SVC_TCP4, new_ids, 2);
	for (port = 0; port < PORTS; port++)
		assert_int_equal(send_to_vip(f, 4, IPPROTO_TCP, 40000 + port, WEIR_TCP_ACK),
				 before[port]);
	for (port = PORTS; port < 2 * PORTS; port++)
		assert_int_equal(send_to_vip(f, 4, IPPROTO_TCP, 40000 + port, WEIR_TCP_SYN),
				 predict(4, IPPROTO_TCP, 40000 + port, new_ids, 2));
	assert_int_equal(stats(f->svc_stats_fd, SVC_TCP4).new_flows, 2 * PORTS);
	assert_int_equal(stats(f->svc_stats_fd, SVC_TCP4).packets, 3 * PORTS);
}

/* A draining backend keeps its flows and gets no new one, even before the
 * agent rebuilds the table (its entries pass new flows on); a down backend's
 * flows are chosen again.
 */
static void draining_keeps_flows_down_moves_them(void **state)
{
	struct fixture *f = *state;
	__u32 port, on1 = 0, id;

	for (port = 0; port < PORTS; port++)
		if (send_to_vip(f, 4, IPPROTO_TCP, 40000 + port, WEIR_TCP_SYN) == 1 && !on1)
			on1 = 40000 + port;
	assert_int_not_equal(on1, 0);

	backend_set(f, 1, 4, WEIR_LB_BACKEND_DRAINING);
	assert_int_equal(send_to_vip(f, 4, IPPROTO_TCP, on1, WEIR_TCP_ACK), 1);
	for (port = PORTS; port < 3 * PORTS; port++) {
		id = send_to_vip(f, 4, IPPROTO_TCP, 40000 + port, WEIR_TCP_SYN);
		assert_true(id == 2 || id == 3);
	}
	assert_int_equal(stats(f->be_stats_fd, 1).packets, stats(f->be_stats_fd, 1).new_flows + 1);

	backend_set(f, 1, 4, WEIR_LB_BACKEND_DOWN);
	id = send_to_vip(f, 4, IPPROTO_TCP, on1, WEIR_TCP_ACK);
	assert_true(id == 2 || id == 3);
}

/* No usable backend: dropped with SERVICE_BACKEND_NOT_FOUND, in the
 * metrics, as a drop event and in the service's drops.
 */
static void no_backend_drops_with_reason(void **state)
{
	struct fixture *f = *state;
	struct weir_metrics_value *m = calloc((size_t)WEIR_METRICS_ENTRIES, sizeof(*m));
	static const __u32 down[] = { 1 };
	struct pkt in =
		build(4, IPPROTO_TCP, CLIENT4, 40000, "10.96.0.99", VPORT, WEIR_TCP_SYN, false);
	struct weir_lb_ct_value ct;
	struct weir_lb_svc_key k;
	struct weir_lb_svc v = { .id = SVC_EMPTY };

	assert_non_null(m);
	memset(&k, 0, sizeof(k));
	addr_of(4, "10.96.0.99", k.addr);
	k.port = htons(VPORT);
	k.proto = IPPROTO_TCP;
	k.family = 4;
	assert_int_equal(bpf_map_update_elem(f->svc_fd, &k, &v, BPF_ANY), 0); /* no backends */
	assert_int_equal(run(f, XDP, &in, NULL), XDP_DROP);

	/* a table whose only backend is down drops too */
	backend_set(f, 1, 4, WEIR_LB_BACKEND_DOWN);
	service_set(f, SVC_EMPTY, 4, IPPROTO_TCP, "10.96.0.99", 0, down, 1);
	assert_int_equal(run(f, XDP, &in, NULL), XDP_DROP);

	assert_int_equal(weir_datapath_read_metrics(f->dp, m), 0);
	assert_int_equal(m[weir_metrics_index(WEIR_REASON_SERVICE_BACKEND_NOT_FOUND,
					      WEIR_DIR_INGRESS, WEIR_HOOK_XDP)]
				 .packets,
			 2);
	assert_int_equal(f->n_drops[WEIR_REASON_SERVICE_BACKEND_NOT_FOUND], 2);
	assert_int_equal(stats(f->svc_stats_fd, SVC_EMPTY).drops, 2);
	assert_int_equal(stats(f->svc_stats_fd, SVC_EMPTY).packets, 0);
	{
		struct weir_lb_tuple t = ct_key(4, IPPROTO_TCP, 40000);

		addr_of(4, "10.96.0.99", t.daddr);
		assert_int_not_equal(bpf_map_lookup_elem(f->ct_fd, &t, &ct), 0);
	}
	free(m);
}

/* A first fragment to a VIP is dropped: later ones carry no ports. */
static void fragment_to_vip_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = {
		.family = 4,
		.proto = IPPROTO_UDP,
		.saddr = CLIENT4,
		.daddr = VIP4,
		.sport = 40000,
		.dport = VPORT,
		.payload_bytes = 64,
		.frag = true,
		.frag_more = true,
		.frag_id = 7,
	};
	struct pkt in;

	pkt_build(&s, &in);
	assert_int_equal(run(f, XDP, &in, NULL), XDP_DROP);
	assert_int_equal(f->n_drops[WEIR_REASON_IP_FRAGMENTATION_NOT_SUPPORTED], 1);
}

/* TCP flags move the entry; a SYN on a closed entry chooses again, and so
 * does an expired entry.
 */
static void tcp_state_sets_the_timeout(void **state)
{
	struct fixture *f = *state;
	static const __u32 only2[] = { 2 };
	struct weir_lb_ct_value ct;
	struct weir_lb_tuple t;
	__u32 first;

	first = send_to_vip(f, 4, IPPROTO_TCP, 40000, WEIR_TCP_SYN);
	assert_int_equal(ct_get(f, 4, IPPROTO_TCP, 40000, &ct), 0);
	assert_int_equal(ct.state, WEIR_LB_CT_TCP_SYN);
	send_to_vip(f, 4, IPPROTO_TCP, 40000, WEIR_TCP_ACK);
	assert_int_equal(ct_get(f, 4, IPPROTO_TCP, 40000, &ct), 0);
	assert_int_equal(ct.state, WEIR_LB_CT_TCP_EST);
	assert_true(weir_lb_ct_timeout_ns(ct.state) ==
		    WEIR_LB_CT_TCP_EST_TIMEOUT_S * 1000000000ull);
	send_to_vip(f, 4, IPPROTO_TCP, 40000, WEIR_TCP_FIN | WEIR_TCP_ACK);
	assert_int_equal(ct_get(f, 4, IPPROTO_TCP, 40000, &ct), 0);
	assert_int_equal(ct.state, WEIR_LB_CT_TCP_CLOSING);
	assert_true(ct.flags & WEIR_LB_CT_F_FIN_CLIENT);

	/* the port is reused for a new connection after the table changed */
	table_set(f, SVC_TCP4, only2, 1);
	assert_int_equal(send_to_vip(f, 4, IPPROTO_TCP, 40000, WEIR_TCP_SYN), 2);
	assert_int_equal(ct_get(f, 4, IPPROTO_TCP, 40000, &ct), 0);
	assert_int_equal(ct.state, WEIR_LB_CT_TCP_SYN);

	/* an entry idle past its state's timeout is chosen again */
	send_to_vip(f, 4, IPPROTO_TCP, 40001, WEIR_TCP_SYN);
	t = ct_key(4, IPPROTO_TCP, 40001);
	assert_int_equal(bpf_map_lookup_elem(f->ct_fd, &t, &ct), 0);
	assert_true(ct.last_seen_ns > (WEIR_LB_CT_TCP_SYN_TIMEOUT_S + 1) * 1000000000ull);
	ct.backend_id = first == 2 ? 3 : first;
	ct.last_seen_ns -= (WEIR_LB_CT_TCP_SYN_TIMEOUT_S + 1) * 1000000000ull;
	assert_int_equal(bpf_map_update_elem(f->ct_fd, &t, &ct, BPF_EXIST), 0);
	assert_int_equal(send_to_vip(f, 4, IPPROTO_TCP, 40001, WEIR_TCP_ACK), 2);

	/* a FIN from the backend, seen at reverse NAT, closes the entry too */
	{
		struct pkt in = build(4, IPPROTO_TCP, backend4[2], BPORT, CLIENT4, 40001,
				      WEIR_TCP_FIN | WEIR_TCP_ACK, false);

		assert_int_equal(run(f, TC_OUT, &in, NULL), TC_ACT_UNSPEC);
		assert_int_equal(ct_get(f, 4, IPPROTO_TCP, 40001, &ct), 0);
		assert_int_equal(ct.state, WEIR_LB_CT_TCP_CLOSING);
		assert_true(ct.flags & WEIR_LB_CT_F_FIN_BACKEND);
	}
}

/* With affinity, every connection of a client goes to one backend, through
 * table changes, until the affinity entry expires.
 */
static void affinity_keeps_a_client_on_its_backend(void **state)
{
	struct fixture *f = *state;
	static const __u32 ids[] = { 1, 2, 3 };
	struct weir_lb_affinity_value av;
	struct weir_lb_affinity_key ak;
	__u32 first, port, others[2] = { 0, 0 }, n = 0, i;

	service_set(f, SVC_TCP4, 4, IPPROTO_TCP, VIP4, 60, ids, 3);
	first = send_to_vip(f, 4, IPPROTO_TCP, 40000, WEIR_TCP_SYN);
	for (i = 0; i < 3; i++)
		if (ids[i] != first)
			others[n++] = ids[i];
	table_set(f, SVC_TCP4, others, 2); /* the hash now lands elsewhere */
	for (port = 1; port < PORTS; port++)
		assert_int_equal(send_to_vip(f, 4, IPPROTO_TCP, 40000 + port, WEIR_TCP_SYN), first);

	memset(&ak, 0, sizeof(ak));
	addr_of(4, CLIENT4, ak.client);
	ak.svc_id = SVC_TCP4;
	ak.family = 4;
	assert_int_equal(bpf_map_lookup_elem(f->aff_fd, &ak, &av), 0);
	assert_int_equal(av.backend_id, first);
	av.last_used_ns -= 61 * 1000000000ull;
	assert_int_equal(bpf_map_update_elem(f->aff_fd, &ak, &av, BPF_EXIST), 0);
	/* affinity hashes port 0: whatever the port, one entry of the table */
	{
		__be32 a[4];
		__u32 want;

		addr_of(4, CLIENT4, a);
		want = others[weir_lb_maglev_entry(
				      weir_lb_hash(a, 0, IPPROTO_TCP, WEIR_LB_SEED_DEFAULT),
				      MAGLEV_M) %
			      2];
		assert_int_equal(send_to_vip(f, 4, IPPROTO_TCP, 50000, WEIR_TCP_SYN), want);
		assert_int_equal(send_to_vip(f, 4, IPPROTO_TCP, 50001, WEIR_TCP_SYN), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(tcp4_dnat_is_exact),
		T(udp4_dnat_is_exact),
		T(udp4_zero_checksum_stays_zero),
		T(udp4_computed_zero_checksum_is_ffff),
		T(tcp6_dnat_is_exact),
		T(udp6_dnat_is_exact),
		T(tcp4_reply_is_reverse_nated),
		T(udp4_reply_is_reverse_nated),
		T(tcp6_reply_is_reverse_nated),
		T(udp6_reply_is_reverse_nated),
		T(nat_finds_headers_past_vlan_tags_options_and_extensions),
		T(unknown_reply_is_untouched),
		T(non_vip_packets_pass_unchanged),
		T(flow_key_finds_the_conntrack_entry),
		T(conntrack_pins_flows_across_table_swaps),
		T(draining_keeps_flows_down_moves_them),
		T(no_backend_drops_with_reason),
		T(fragment_to_vip_is_dropped),
		T(tcp_state_sets_the_timeout),
		T(affinity_keeps_a_client_on_its_backend),
#undef T
	};

	weir_log_libbpf();
	return cmocka_run_group_tests_name("lb", tests, NULL, NULL);
}
