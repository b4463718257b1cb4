// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lower bounds for bench/lb: what any load balancer on this datapath pays
 * before it does anything of its own — the packet parsed by the datapath's
 * parser and one access to a conntrack table of the real key and value
 * types and the same size (a lookup that hits, or the insert a new flow
 * needs), and a hit followed by the real DNAT rewrite. No service lookup,
 * no Maglev, no accounting: a real load balancer costs more than these, so
 * they say how far the targets are reachable on the machine at hand.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <weir/lb.h>
#include "lib/ctx.h"
#include "lib/parse.h"
#include "lib/lb.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEIR_LB_CT_DEFAULT); /* bench/lb sizes it as its conntrack */
	__type(key, struct weir_lb_tuple);
	__type(value, struct weir_lb_ct_value);
} bench_lb_ct SEC(".maps");

/* 0 with the packet parsed into p and its conntrack key into t, or minus a
 * drop reason.
 */
static __always_inline int parse_tuple(struct xdp_md *ctx, struct weir_pkt *p,
				       struct weir_lb_tuple *t)
{
	struct pkt_view v;
	int ret;

	xdp_view(ctx, &v);
	p->key.ifindex = v.ifindex;
	p->key.dir = WEIR_DIR_INGRESS;
	p->key.hook = WEIR_HOOK_XDP;
	ret = parse_packet(&v, p);
	if (ret < 0)
		return ret;
	lb_tuple_of(t, p);
	return 0;
}

/* XDP_PASS on a hit (bench/lb checks every call's verdict). */
SEC("xdp")
int bench_lb_parse_ct_hit(struct xdp_md *ctx)
{
	struct weir_pkt p = {};
	struct weir_lb_tuple t;

	if (parse_tuple(ctx, &p, &t))
		return XDP_ABORTED;
	return bpf_map_lookup_elem(&bench_lb_ct, &t) ? XDP_PASS : XDP_DROP;
}

/* XDP_PASS once the entry is written. */
SEC("xdp")
int bench_lb_parse_ct_new(struct xdp_md *ctx)
{
	struct weir_lb_ct_value ct = { .backend_id = 1, .svc_id = 1 };
	struct weir_pkt p = {};
	struct weir_lb_tuple t;

	if (parse_tuple(ctx, &p, &t))
		return XDP_ABORTED;
	ct.created_ns = bpf_ktime_get_coarse_ns();
	ct.last_seen_ns = ct.created_ns;
	return bpf_map_update_elem(&bench_lb_ct, &t, &ct, BPF_ANY) ? XDP_DROP : XDP_PASS;
}

/* A hit, then the packet DNATed to 10.1.0.1:8080 as the load balancer does
 * (addresses, ports and checksums). XDP_PASS once rewritten.
 */
SEC("xdp")
int bench_lb_parse_ct_hit_dnat(struct xdp_md *ctx)
{
	struct weir_lb_backend be = { .addr = { bpf_htonl(0x0a010001) },
				      .port = bpf_htons(8080),
				      .family = 4 };
	struct weir_pkt p = {};
	struct weir_lb_tuple t;

	if (parse_tuple(ctx, &p, &t))
		return XDP_ABORTED;
	if (!bpf_map_lookup_elem(&bench_lb_ct, &t))
		return XDP_DROP;
	return lb_dnat(ctx, &p, &be) ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
