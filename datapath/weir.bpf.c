// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Weir's datapath programs: XDP on the node's uplinks, TC ingress and egress
 * on any interface. Each parses the packet, load-balances it (XDP: DNAT to a
 * service's backend; TC egress: reverse NAT of the reply), counts it in its
 * flow and in the per-CPU metrics, and leaves through one counted exit.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "lib/ctx.h"
#include "lib/parse.h"
#include "lib/account.h"
#include "lib/prefilter.h"
#include "lib/policy.h"
#include "lib/lb_revnat.h"

/* The load balancer (lib/lb.h, lib/lb_revnat.h): DNAT to a service's backend
 * at XDP, reverse NAT of its replies at TC egress. 0, or minus a drop reason.
 * WEIR_NO_LB builds the datapath without it (bench/lb's baseline).
 */
static __always_inline int lb_stage(struct pkt_view *v, struct weir_pkt *p, __u8 dir, __u8 hook)
{
#ifdef WEIR_NO_LB
	(void)v;
	(void)p;
	(void)dir;
	(void)hook;
	return 0;
#else
	if (hook == WEIR_HOOK_XDP)
		return lb_xdp(v->ctx, p);
	if (dir == WEIR_DIR_EGRESS)
		return lb_tc_revnat(v->ctx, p);
	return 0;
#endif
}

/* Returns the packet's reason code; weir_reason_is_drop() says whether to drop. */
static __always_inline __u8 weir_handle(struct pkt_view *v, __u8 dir, __u8 hook)
{
	struct weir_pkt p = {};
	__u8 reason;
	int ret;

	p.key.ifindex = v->ifindex;
	p.key.dir = dir;
	p.key.hook = hook;

	ret = parse_packet(v, &p);
	if (ret == 0)
		ret = lb_stage(v, &p, dir, hook);
	if (ret < 0) {
		reason = -ret;
		event_emit(WEIR_EV_DROP, &p, reason, v->len_bytes, bpf_ktime_get_coarse_ns());
	} else {
		reason = ret;
		if (ret == 0 && hook == WEIR_HOOK_TC)
			reason = policy_verdict(&p); /* endpoint policy: parse, policy, account */
		if (ret == 0)
			flow_account(&p, reason, v->len_bytes);
	}
	metrics_count(reason, dir, hook, v->len_bytes);
	return reason;
}

/* XDP: prefilter (source deny list, before any other parsing), then the
 * full pipeline. bench/ builds a copy without the prefilter (WEIR_NO_PREFILTER)
 * to measure what it adds to passing traffic.
 */
SEC("xdp")
int weir_xdp_ingress(struct xdp_md *ctx)
{
	struct pkt_view v;

#ifndef WEIR_NO_PREFILTER
	if (prefilter_xdp(ctx))
		return XDP_DROP;
#endif
	xdp_view(ctx, &v);
	return weir_reason_is_drop(weir_handle(&v, WEIR_DIR_INGRESS, WEIR_HOOK_XDP)) ? XDP_DROP :
										       XDP_PASS;
}

/* TC_ACT_UNSPEC, not TC_ACT_OK, on pass: other filters on the hook (the
 * cluster's CNI) still run after Weir.
 */
static __always_inline int tc_handle(struct __sk_buff *skb, __u8 dir)
{
	struct pkt_view v;

	skb_view(skb, &v);
	return weir_reason_is_drop(weir_handle(&v, dir, WEIR_HOOK_TC)) ? TC_ACT_SHOT :
									 TC_ACT_UNSPEC;
}

SEC("tc")
int weir_tc_ingress(struct __sk_buff *skb)
{
	return tc_handle(skb, WEIR_DIR_INGRESS);
}

SEC("tc")
int weir_tc_egress(struct __sk_buff *skb)
{
	return tc_handle(skb, WEIR_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
