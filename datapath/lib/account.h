/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Accounting: per-flow counters, per-CPU metrics, health counters and
 * ring-buffer events. Nothing here is silent: a failed event reserve or flow
 * insert is counted in weir_counters.
 */
#ifndef WEIR_DP_ACCOUNT_H
#define WEIR_DP_ACCOUNT_H

#include "maps.h"
#include "parse.h"

#ifdef WEIR_FLOWS_PERCPU
#define flow_add(ptr, val) (*(ptr) += (val))
#define flow_or(ptr, val)  (*(ptr) |= (val))
#else
#define flow_add(ptr, val) __sync_fetch_and_add(ptr, val)
#define flow_or(ptr, val)  __sync_fetch_and_or(ptr, val)
#endif

static __always_inline void counter_inc(__u32 idx)
{
	__u64 *cnt = bpf_map_lookup_elem(&weir_counters, &idx);

	if (cnt)
		*cnt += 1; /* per-CPU: no atomics needed */
}

static __always_inline void metrics_count(__u8 reason, __u8 dir, __u8 hook, __u32 len_bytes)
{
	__u32 idx = weir_metrics_index(reason, dir, hook);
	struct weir_metrics_value *m = bpf_map_lookup_elem(&weir_metrics, &idx);

	if (m) {
		m->packets += 1;
		m->bytes += len_bytes;
	}
}

static __always_inline void event_emit(__u8 type, struct weir_pkt *p, __u8 reason, __u32 len_bytes,
				       __u64 now_ns)
{
	struct weir_event *ev = bpf_ringbuf_reserve(&weir_events, sizeof(*ev), 0);

	if (!ev) {
		counter_inc(WEIR_CNT_LOST_EVENTS);
		return;
	}
	ev->type = type;
	ev->version = WEIR_EVENT_VERSION;
	ev->len_bytes = sizeof(*ev);
	ev->verdict = weir_reason_verdict(reason);
	ev->reason = reason;
	ev->tcp_flags = p->tcp_flags;
	ev->ts_ns = now_ns;
	ev->pkt_len_bytes = len_bytes;
	ev->pad = 0;
	ev->key = p->key;
	bpf_ringbuf_submit(ev, 0);
}

/* Fragments: the first one records its ports under the datagram's identity;
 * later ones take them from there, or count against an L3-only key when the
 * first fragment was not seen (never against made-up ports).
 */
static __always_inline void frag_resolve(struct weir_pkt *p)
{
	struct weir_frag_key fk = {};
	struct weir_frag_value *fv;

	__builtin_memcpy(fk.saddr, p->key.saddr, sizeof(fk.saddr));
	__builtin_memcpy(fk.daddr, p->key.daddr, sizeof(fk.daddr));
	fk.id = p->frag_id;
	fk.proto = p->key.proto;
	fk.family = p->key.family;

	if (p->frag_first) {
		struct weir_frag_value nv = { .sport = p->key.sport, .dport = p->key.dport };

		if (bpf_map_update_elem(&weir_frags, &fk, &nv, BPF_ANY))
			counter_inc(WEIR_CNT_FRAG_TRACK_FAILED);
		return;
	}
	fv = bpf_map_lookup_elem(&weir_frags, &fk);
	if (fv) {
		p->key.sport = fv->sport;
		p->key.dport = fv->dport;
	} else {
		p->key.flags |= WEIR_FLOW_F_L3_ONLY;
		counter_inc(WEIR_CNT_FRAG_L3_ONLY);
	}
}

static __always_inline void flow_update(struct weir_flow_value *v, struct weir_pkt *p, __u8 reason,
					__u32 len_bytes, __u64 now_ns)
{
	__u8 verdict = weir_reason_verdict(reason);

	flow_add(&v->packets, 1);
	flow_add(&v->bytes, len_bytes);
	v->last_seen_ns = now_ns;
	if ((v->tcp_flags | p->tcp_flags) != v->tcp_flags)
		flow_or(&v->tcp_flags, p->tcp_flags);
	if (v->verdict != verdict || v->reason != reason) {
		v->verdict = verdict;
		v->reason = reason;
	}
}

/* A global (not inlined) function: the verifier checks it once, on its own,
 * instead of once for every path through the parser that reaches it, which
 * kept verification of each program near half a million instructions.
 */
__attribute__((noinline)) int flow_account(struct weir_pkt *p, __u8 reason, __u32 len_bytes)
{
	/* The coarse clock ticks once a jiffy (1-10 ms), plenty for 10 s and 30 s
	 * flow timeouts, and costs a quarter of bpf_ktime_get_ns() (10 vs 40 ns
	 * per packet, bench/datapath).
	 */
	__u64 now_ns = bpf_ktime_get_coarse_ns();
	struct weir_flow_value *v;
	int err;

	if (!p) /* the verifier checks a global function for any pointer */
		return 0;
	if (p->is_frag)
		frag_resolve(p);

	v = bpf_map_lookup_elem(&weir_flows, &p->key);
	if (v) {
		flow_update(v, p, reason, len_bytes, now_ns);
	} else {
		struct weir_flow_value nv = {
			.packets = 1,
			.bytes = len_bytes,
			.first_seen_ns = now_ns,
			.last_seen_ns = now_ns,
			.tcp_flags = p->tcp_flags,
			.verdict = weir_reason_verdict(reason),
			.reason = reason,
		};

		err = bpf_map_update_elem(&weir_flows, &p->key, &nv, BPF_NOEXIST);
		if (!err) {
			event_emit(WEIR_EV_FLOW_START, p, reason, len_bytes, now_ns);
		} else if (err == -17 /* EEXIST: another CPU inserted it first */) {
			v = bpf_map_lookup_elem(&weir_flows, &p->key);
			if (v)
				flow_update(v, p, reason, len_bytes, now_ns);
		} else {
			counter_inc(WEIR_CNT_FLOW_INSERT_FAILED);
		}
	}
	if (p->tcp_flags & (WEIR_TCP_FIN | WEIR_TCP_RST))
		event_emit(WEIR_EV_FLOW_END, p, reason, len_bytes, now_ns);
	return 0;
}

#endif /* WEIR_DP_ACCOUNT_H */
