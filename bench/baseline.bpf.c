// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Baselines for bench/datapath: a bare XDP_DROP (the floor), the datapath's
 * parser alone, and the parser plus the per-CPU metrics update. Built from the
 * same datapath/lib helpers as weir_xdp_ingress, so each step of the real
 * program can be priced on its own.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lib/ctx.h"
#include "lib/parse.h"
#include "lib/account.h"

/* Keeps the parsed key alive: without a use, clang drops the key stores and
 * the parse-only figure would be too low. Emits no instruction.
 */
#define keep(p) asm volatile("" : : "r"(p) : "memory")

SEC("xdp")
int bench_xdp_drop(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_DROP;
}

static __always_inline __u8 parse_only(struct pkt_view *v)
{
	struct weir_pkt p = {};
	int ret;

	p.key.ifindex = v->ifindex;
	p.key.dir = WEIR_DIR_INGRESS;
	p.key.hook = WEIR_HOOK_XDP;
	ret = parse_packet(v, &p);
	keep(&p);
	return ret < 0 ? -ret : ret;
}

SEC("xdp")
int bench_xdp_parse(struct xdp_md *ctx)
{
	struct pkt_view v;

	xdp_view(ctx, &v);
	return weir_reason_is_drop(parse_only(&v)) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int bench_xdp_parse_metrics(struct xdp_md *ctx)
{
	struct pkt_view v;
	__u8 reason;

	xdp_view(ctx, &v);
	reason = parse_only(&v);
	metrics_count(reason, WEIR_DIR_INGRESS, WEIR_HOOK_XDP, v.len_bytes);
	return weir_reason_is_drop(reason) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
