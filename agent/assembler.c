// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow assembler: kernel flow table and events -> flow records.
 *
 * The kernel keeps one entry per direction and observation point. Here each
 * entry is a `side`, and two sides that are each other's reverse form one
 * `conv`ersation: the side seen first is the initiator (forward), the other
 * the reply. Records describe conversations.
 */
#include <errno.h>
#include <stddef.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include "assembler.h"
#include "assembler_sides.h"
#include "endpoints.h"
#include "flow_table.h"
#include "hashtab.h"
#include "log.h"

#define SWEEP_BATCH    4096 /* flow-table entries a sweep takes at a time */
#define PREFETCH_AHEAD 16   /* sweep entries whose slots are fetched ahead (sides: half that) */
#define SLAB_BYTES     (2UL << 20) /* conversations mapped at a time: a huge page's worth */
#define NS_PER_S       1000000000ULL
#define EP_CACHE_SLOTS 4096 /* addresses whose endpoint a sweep remembers */
#define IFNAME_MEMO    4096 /* interfaces whose entry record_fill_key() remembers */

struct conv;

/* What a lookup compares and follows (hash, key, conv) fills a side's first
 * cache line, and a conversation's flags sit in its forward side's second:
 * a sweep fetches a side's two lines ahead of looking it up.
 */
struct side {
	uint64_t hash; /* of key, in a->sides */
	struct weir_flow_key key;
	struct conv *conv;
	struct weir_flow_value val; /* as last read from the kernel */
	uint32_t seen_gen;	    /* the last sweep that found the entry */
	bool in_kernel;		    /* the entry existed at the last sweep (or event) */
};

struct conv {
	struct side fwd;
	bool has_rev;
	bool fresh; /* found by this sweep: its first record is still to come */
	struct side rev;
	uint64_t last_record_ns; /* monotonic: when the last record was made */
	struct conv *prev, *next;
};

_Static_assert(offsetof(struct side, conv) + sizeof(struct conv *) <= 64,
	       "a side's hash, key and conversation in its first cache line");
_Static_assert(offsetof(struct conv, fresh) < 128, "a conversation's flags in its second line");
_Static_assert(sizeof(struct conv) == 256, "conversations: four whole cache lines");

/* Conversations come from slabs, and go back to a free list (linked by
 * next): a million of them in a first sweep cost one mapping per CONV_SLAB,
 * no malloc header each, and sit next to each other in memory. A slab is
 * 2 MiB, madvised for a transparent huge page: a sweep's lookups land on
 * conversations all over a few hundred MiB, and with 4 KiB pages nearly
 * each is a TLB miss (and their first touch a page fault per 14 of them).
 */
struct conv_slab {
	struct conv_slab *next;
	_Alignas(64) struct conv convs[]; /* on cache-line boundaries */
};

#define CONV_SLAB ((SLAB_BYTES - sizeof(struct conv_slab)) / sizeof(struct conv))

/* An address's endpoint as the endpoint cache gave it during this sweep: a
 * first sweep makes a record per conversation, two lookups each, mostly for
 * the same few pods; each lookup takes the cache's lock and walks its claims.
 * Emptied at the end of every sweep, so the next one sees the cache anew.
 */
struct ep_memo {
	struct weir_endpoint *ep; /* a reference; NULL: empty */
	uint8_t family;
	uint8_t addr[16];
};

struct ifname_entry {
	struct weir_hnode node;
	int ifindex;
	bool pod_facing;
	char name[IF_NAMESIZE];
};

struct weir_assembler {
	struct weir_assembler_opts o;
	char *node_name;
	size_t node_name_len;
	struct ring_buffer *rb;
	struct weir_side_table sides; /* struct side by key */
	struct weir_htab ifnames;
	struct conv *convs; /* every conversation, a list */
	uint64_t n_convs;
	int64_t real_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC_COARSE, per sweep */
	uint32_t gen;		/* sweeps (wrapping: compared for equality only) */
	uint64_t start_mono_ns;
	uint64_t next_id;
	struct weir_assembler_stats st;
	struct weir_flow_table *table; /* the kernel's, read by sweeps */
	uint64_t *batch_hashes;
	uint64_t (*batch_rhashes)[2]; /* of the batch's new entries' reverse keys */
	__u32 *batch_new;	      /* the batch's new entries */
	struct conv_slab *slabs;
	size_t slab_used;	 /* convs handed out from slabs (the newest one) */
	struct conv *conv_free;	 /* returned convs, linked by next */
	struct ep_memo *ep_memo; /* EP_CACHE_SLOTS, used while sweeping */
	/* by ifindex % IFNAME_MEMO: entries live as long as the assembler */
	const struct ifname_entry *ifname_memo[IFNAME_MEMO];
	bool sweeping;
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* The datapath stamps CLOCK_MONOTONIC_COARSE; records carry CLOCK_REALTIME.
 * The offset between the two is taken once per sweep and per ring-buffer
 * drain, not per record.
 */
static void clock_offset_update(struct weir_assembler *a)
{
	a->real_offset_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC_COARSE));
}

static uint64_t mono_to_real(const struct weir_assembler *a, uint64_t mono_ns)
{
	return mono_ns + a->real_offset_ns;
}

/* A flow key's hash: its six words folded in three independent 64x64->128
 * multiplies, then one more to mix them (wyhash's fold). A sweep hashes
 * every entry and most entries' reverse keys: a chain of a multiply per word
 * cost three times as long, each waiting on the one before.
 */
static inline uint64_t fold(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t key_hash(const struct weir_flow_key *k)
{
	uint64_t w[6];

	_Static_assert(sizeof(*k) == sizeof(w), "flow key: six 64-bit words");
	memcpy(w, k, sizeof(w));
	return fold(fold(w[0] ^ 0xa0761d6478bd642fULL, w[1] ^ 0xe7037ed1a0b428dbULL) ^
			    fold(w[2] ^ 0x8ebc6af09c88c6e3ULL, w[3] ^ 0x589965cc75374cc3ULL) ^
			    fold(w[4] ^ 0x1d8e4e27c47d124fULL, w[5] ^ 0x9e3779b97f4a7c15ULL),
		    0xff51afd7ed558ccdULL);
}

static struct side *side_find_hashed(struct weir_assembler *a, const struct weir_flow_key *k,
				     uint64_t h)
{
	return weir_side_table_find(&a->sides, k, h);
}

/* The slots hash h's lookup starts at, into the cache before
 * side_find_hashed() needs them; with side, the side there whose hash
 * matches too (the slots fetched earlier).
 */
static void side_prefetch(const struct weir_assembler *a, uint64_t h, bool side)
{
	if (!side)
		weir_side_table_prefetch(&a->sides, h);
	else
		weir_side_table_prefetch_obj(&a->sides, h);
}

/* Every line of a conversation, into the cache: deciding on it reads both
 * sides, and the list walk its next pointer, in the last line.
 */
static void conv_prefetch(const struct conv *c)
{
	size_t off;

	if (!c)
		return;
	for (off = 0; off < sizeof(*c); off += 64)
		__builtin_prefetch((const char *)c + off);
}

static struct conv *conv_alloc(struct weir_assembler *a)
{
	struct conv_slab *slab;
	struct conv *c = a->conv_free;

	if (c) {
		a->conv_free = c->next;
		memset(c, 0, sizeof(*c));
	} else {
		if (!a->slabs || a->slab_used == CONV_SLAB) {
			slab = mmap(NULL, SLAB_BYTES, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (slab == MAP_FAILED)
				return NULL;
			/* a hint: without huge pages, 4 KiB ones */
			madvise(slab, SLAB_BYTES, MADV_HUGEPAGE);
			slab->next = a->slabs;
			a->slabs = slab;
			a->slab_used = 0;
		}
		/* a fresh mapping is zeroed already: no need to touch the
		 * reply side of a conversation that never gets one
		 */
		c = &a->slabs->convs[a->slab_used++];
	}
	return c;
}

static void conv_release(struct weir_assembler *a, struct conv *c)
{
	c->next = a->conv_free;
	a->conv_free = c;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* The ICMP type of the other half of a request/reply pair (echo, timestamp,
 * ICMPv6 echo), or -1 for types without one.
 */
static int icmp_pair_type(uint8_t proto, uint8_t type)
{
	static const uint8_t v4[][2] = { { 8, 0 }, { 13, 14 } };
	static const uint8_t v6[][2] = { { 128, 129 } };
	const uint8_t(*pairs)[2] = proto == IPPROTO_ICMP ? v4 : v6;
	size_t i, n = proto == IPPROTO_ICMP ? 2 : 1;

	for (i = 0; i < n; i++) {
		if (pairs[i][0] == type)
			return pairs[i][1];
		if (pairs[i][1] == type)
			return pairs[i][0];
	}
	return -1;
}

static bool icmp_is_reply(uint8_t proto, uint8_t type)
{
	return proto == IPPROTO_ICMP ? type == 0 || type == 14 : type == 129;
}

/* The key the reply traffic of k has at the observation point `hook`. */
static bool reverse_key(const struct weir_flow_key *k, uint8_t hook, struct weir_flow_key *r)
{
	int type;

	*r = *k;
	memcpy(r->saddr, k->daddr, sizeof(r->saddr));
	memcpy(r->daddr, k->saddr, sizeof(r->daddr));
	r->dir = k->dir == WEIR_DIR_INGRESS ? WEIR_DIR_EGRESS : WEIR_DIR_INGRESS;
	r->hook = hook;
	if (hook == WEIR_HOOK_XDP && r->dir != WEIR_DIR_INGRESS)
		return false; /* XDP sees ingress only */
	if (is_icmp(k->proto) && !(k->flags & WEIR_FLOW_F_L3_ONLY)) {
		type = icmp_pair_type(k->proto, ntohs(k->sport) >> 8);
		if (type < 0)
			return false;
		r->sport = htons(type << 8 | (ntohs(k->sport) & 0xff));
		return true;
	}
	r->sport = k->dport;
	r->dport = k->sport;
	return true;
}

/* The conversation whose forward side is the reverse of k and which has no
 * reply yet: the same observation point first, then the other one.
 */
static void reply_hooks(const struct weir_flow_key *k, uint8_t hooks[2])
{
	hooks[0] = k->hook;
	hooks[1] = k->hook == WEIR_HOOK_XDP ? WEIR_HOOK_TC : WEIR_HOOK_XDP;
}

/* rh: the reverse keys' hashes (reverse_hashes()), or NULL to compute them. */
static struct conv *conv_awaiting_reply(struct weir_assembler *a, const struct weir_flow_key *k,
					const uint64_t *rh)
{
	struct weir_flow_key r;
	uint8_t hooks[2];
	struct side *s;
	int i;

	reply_hooks(k, hooks);
	for (i = 0; i < 2; i++) {
		if (!reverse_key(k, hooks[i], &r))
			continue;
		s = side_find_hashed(a, &r, rh ? rh[i] : key_hash(&r));
		if (s && s == &s->conv->fwd && !s->conv->has_rev)
			return s->conv;
	}
	return NULL;
}

static void conv_unlink(struct weir_assembler *a, struct conv *c)
{
	a->n_convs--;
	if (c->prev)
		c->prev->next = c->next;
	else
		a->convs = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void conv_free(struct weir_assembler *a, struct conv *c)
{
	weir_side_table_remove(&a->sides, &c->fwd);
	if (c->has_rev)
		weir_side_table_remove(&a->sides, &c->rev);
	conv_unlink(a, c);
	conv_release(a, c);
}

/* The hashes of k's reverse keys, at both observation points (0: none). */
static void reverse_hashes(const struct weir_flow_key *k, uint64_t rh[2])
{
	struct weir_flow_key r;
	uint8_t hooks[2];
	int i;

	reply_hooks(k, hooks);
	for (i = 0; i < 2; i++)
		rh[i] = reverse_key(k, hooks[i], &r) ? key_hash(&r) : 0;
}

/* A side for a kernel entry never seen before: the reply of a waiting
 * conversation, or the forward side of a new one (*created set). rh as
 * for conv_awaiting_reply().
 */
static struct side *side_new(struct weir_assembler *a, const struct weir_flow_key *k, uint64_t h,
			     const uint64_t *rh, bool *created)
{
	struct conv *c = conv_awaiting_reply(a, k, rh);
	struct side *s;

	*created = false;
	if (c) {
		s = &c->rev;
		c->has_rev = true;
	} else {
		c = conv_alloc(a);
		if (!c)
			return NULL;
		s = &c->fwd;
		c->next = a->convs;
		if (a->convs)
			a->convs->prev = c;
		a->convs = c;
		a->n_convs++;
		*created = true;
	}
	s->key = *k;
	s->conv = c;
	if (weir_side_table_insert(&a->sides, s, h)) {
		if (*created) {
			conv_unlink(a, c);
			conv_release(a, c);
		} else {
			c->has_rev = false;
		}
		return NULL;
	}
	return s;
}

static struct ifname_entry *ifname_find(struct weir_assembler *a, int ifindex)
{
	uint64_t h = weir_hash_bytes(&ifindex, sizeof(ifindex));
	struct weir_hnode *pos;

	weir_htab_for_each_possible(&a->ifnames, pos, h)
	{
		if (((struct ifname_entry *)pos)->ifindex == ifindex)
			return (struct ifname_entry *)pos;
	}
	return NULL;
}

/* The interface's entry, looked up in the kernel the first time. */
static const struct ifname_entry *ifname_of(struct weir_assembler *a, int ifindex)
{
	static const struct ifname_entry unknown = { .name = "" };
	const struct ifname_entry **m = &a->ifname_memo[(unsigned int)ifindex % IFNAME_MEMO];
	const struct ifname_entry *e = *m;
	char name[IF_NAMESIZE];

	if (e && e->ifindex == ifindex)
		return e;
	e = ifname_find(a, ifindex);
	if (e) {
		*m = e;
		return e;
	}
	if (!if_indextoname(ifindex, name))
		return &unknown;
	weir_assembler_set_ifname(a, ifindex, name, false);
	e = ifname_find(a, ifindex);
	return e ? e : &unknown;
}

void weir_assembler_set_ifname(struct weir_assembler *a, int ifindex, const char *ifname,
			       bool pod_facing)
{
	struct ifname_entry *e = ifname_find(a, ifindex);

	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->ifindex = ifindex;
		if (weir_htab_insert(&a->ifnames, &e->node,
				     weir_hash_bytes(&ifindex, sizeof(ifindex)))) {
			free(e);
			return;
		}
	}
	e->pod_facing = pod_facing;
	snprintf(e->name, sizeof(e->name), "%s", ifname);
}

/* The address, ports and interface of key k, into r. */
static void record_fill_key(struct weir_assembler *a, struct weir_flow_record *r,
			    const struct weir_flow_key *k)
{
	const struct ifname_entry *ifc = ifname_of(a, k->ifindex);

	r->family = k->family;
	r->proto = k->proto;
	memcpy(r->saddr, k->saddr, sizeof(r->saddr));
	memcpy(r->daddr, k->daddr, sizeof(r->daddr));
	r->l3_only = k->flags & WEIR_FLOW_F_L3_ONLY;
	if (is_icmp(k->proto) && !r->l3_only) {
		r->icmp_type = ntohs(k->sport) >> 8;
		r->icmp_code = ntohs(k->sport) & 0xff;
	} else {
		r->sport = ntohs(k->sport);
		r->dport = ntohs(k->dport);
	}
	r->ifindex = k->ifindex;
	memcpy(r->ifname, ifc->name, sizeof(r->ifname)); /* NUL-terminated, zero-padded */
	r->dir = k->dir;
	if (ifc->pod_facing && k->dir != WEIR_DIR_UNKNOWN)
		r->dir = k->dir == WEIR_DIR_INGRESS ? WEIR_DIR_EGRESS : WEIR_DIR_INGRESS;
	r->hook = k->hook;
}

static uint64_t addr_memo_hash(uint8_t family, const uint8_t *addr)
{
	uint64_t lo, hi = 0;
	uint32_t v4;

	if (family == 4) {
		memcpy(&v4, addr, sizeof(v4));
		lo = v4;
	} else {
		memcpy(&lo, addr, sizeof(lo));
		memcpy(&hi, addr + 8, sizeof(hi));
	}
	lo = (lo ^ (hi * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	return lo ^ (lo >> 32);
}

/* weir_endpoints_lookup(), remembered for the rest of the sweep. */
static struct weir_endpoint *endpoint_of(struct weir_assembler *a, uint8_t family,
					 const uint8_t *addr)
{
	size_t len = family == 4 ? 4 : 16;
	struct weir_endpoint *ep;
	struct ep_memo *m;

	if (!a->sweeping || !a->ep_memo)
		return weir_endpoints_lookup(a->o.endpoints, family, addr);
	m = &a->ep_memo[addr_memo_hash(family, addr) & (EP_CACHE_SLOTS - 1)];
	if (m->ep && m->family == family && !memcmp(m->addr, addr, len))
		return weir_endpoint_get(m->ep);
	ep = weir_endpoints_lookup(a->o.endpoints, family, addr);
	if (!ep)
		return NULL;
	weir_endpoint_put(m->ep);
	m->ep = weir_endpoint_get(ep);
	m->family = family;
	memcpy(m->addr, addr, len);
	return ep;
}

static void ep_memo_clear(struct weir_assembler *a)
{
	size_t i;

	for (i = 0; a->ep_memo && i < EP_CACHE_SLOTS; i++) {
		weir_endpoint_put(a->ep_memo[i].ep);
		a->ep_memo[i].ep = NULL;
	}
}

/* A new record with its identity, node and enrichment; NULL on ENOMEM. */
static struct weir_flow_record *record_new(struct weir_assembler *a, enum weir_record_type type,
					   const struct weir_flow_key *k)
{
	struct weir_flow_record *r = weir_flow_record_new_named(a->node_name, a->node_name_len);

	if (!r)
		return NULL;
	r->id = ++a->next_id;
	/* the coarse clock (a tick's resolution) costs a fraction of the
	 * precise one, read once per record of a sweep of a million
	 */
	r->time_ns = clock_ns(CLOCK_REALTIME_COARSE);
	r->type = type;
	record_fill_key(a, r, k);
	if (k->family == 4 || k->family == 6) {
		r->src = endpoint_of(a, k->family, (const uint8_t *)k->saddr);
		r->dst = endpoint_of(a, k->family, (const uint8_t *)k->daddr);
	} else {
		r->src = weir_endpoint_get(weir_endpoint_world());
		r->dst = weir_endpoint_get(weir_endpoint_world());
	}
	if (!r->src || !r->dst || (a->o.lb_of && a->o.lb_of(a->o.ctx, k, r) < 0)) {
		weir_flow_record_put(r);
		return NULL;
	}
	return r;
}

static void record_emit(struct weir_assembler *a, struct weir_flow_record *r)
{
	a->st.records++;
	a->o.on_record(a->o.ctx, r);
	weir_flow_record_put(r);
}

static void conv_record(struct weir_assembler *a, struct conv *c, enum weir_record_type type,
			enum weir_end_reason why, uint64_t now_mono)
{
	const struct weir_flow_value *f = &c->fwd.val, *rv = &c->rev.val;
	struct weir_flow_record *r = record_new(a, type, &c->fwd.key);
	uint64_t first = f->first_seen_ns, last = f->last_seen_ns;

	c->last_record_ns = now_mono;
	if (!r) {
		log_warn("flow record dropped: out of memory");
		return;
	}
	r->end_reason = why;
	r->packets = f->packets;
	r->bytes = f->bytes;
	r->tcp_flags = f->tcp_flags;
	r->verdict = f->verdict;
	r->reason = f->reason;
	if (c->has_rev) {
		r->reply_packets = rv->packets;
		r->reply_bytes = rv->bytes;
		r->tcp_flags |= rv->tcp_flags;
		if (rv->first_seen_ns && rv->first_seen_ns < first)
			first = rv->first_seen_ns;
		if (rv->last_seen_ns > last)
			last = rv->last_seen_ns;
	}
	r->first_seen_ns = mono_to_real(a, first);
	r->last_seen_ns = mono_to_real(a, last);
	/* a record is never older than its last packet (record_new()'s clock
	 * is a tick coarse)
	 */
	if (r->time_ns < r->last_seen_ns)
		r->time_ns = r->last_seen_ns;
	r->is_reply = WEIR_REPLY_NO;
	record_emit(a, r);
}

static void conv_end(struct weir_assembler *a, struct conv *c, enum weir_end_reason why,
		     uint64_t now_mono)
{
	conv_record(a, c, WEIR_RECORD_END, why, now_mono);
	/* the entries go with the record; a packet racing this starts a new flow */
	if (c->fwd.in_kernel)
		bpf_map_delete_elem(a->o.flows_fd, &c->fwd.key);
	if (c->has_rev && c->rev.in_kernel)
		bpf_map_delete_elem(a->o.flows_fd, &c->rev.key);
	conv_free(a, c);
}

/* A flow-start event: the first record of a conversation, at once. */
static void on_flow_start(struct weir_assembler *a, const struct weir_event *ev)
{
	uint64_t h = key_hash(&ev->key);
	struct side *s = side_find_hashed(a, &ev->key, h);
	bool created;

	if (s)
		return; /* the sweep found it first */
	s = side_new(a, &ev->key, h, NULL, &created);
	if (!s)
		return;
	s->in_kernel = true;
	if (a->sweeping)
		s->seen_gen = a->gen; /* written now: the read may have passed it */
	s->val = (struct weir_flow_value){
		.packets = 1,
		.bytes = ev->pkt_len_bytes,
		.first_seen_ns = ev->ts_ns,
		.last_seen_ns = ev->ts_ns,
		.tcp_flags = ev->tcp_flags,
		.verdict = ev->verdict,
		.reason = ev->reason,
	};
	if (created)
		conv_record(a, s->conv, WEIR_RECORD_START, WEIR_END_NONE,
			    clock_ns(CLOCK_MONOTONIC_COARSE));
}

static void on_drop(struct weir_assembler *a, const struct weir_event *ev)
{
	struct weir_flow_record *r = record_new(a, WEIR_RECORD_DROP, &ev->key);

	if (!r)
		return;
	r->first_seen_ns = r->last_seen_ns = mono_to_real(a, ev->ts_ns);
	r->packets = 1;
	r->bytes = ev->pkt_len_bytes;
	r->tcp_flags = ev->tcp_flags;
	r->verdict = ev->verdict;
	r->reason = ev->reason;
	r->is_reply = WEIR_REPLY_UNKNOWN;
	record_emit(a, r);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct weir_assembler *a = ctx;
	const struct weir_event *ev = data;

	if (size < sizeof(*ev) || ev->version != WEIR_EVENT_VERSION ||
	    ev->len_bytes != sizeof(*ev)) {
		a->st.bad_events++;
		return 0;
	}
	switch (ev->type) {
	case WEIR_EV_FLOW_START:
		on_flow_start(a, ev);
		break;
	case WEIR_EV_DROP:
		on_drop(a, ev);
		break;
	case WEIR_EV_FLOW_END:
		/* FIN/RST: the sweep ends the flow once both ways are done */
		break;
	default:
		a->st.bad_events++;
	}
	return 0;
}

int weir_assembler_consume(struct weir_assembler *a)
{
	int n;

	clock_offset_update(a);
	n = ring_buffer__consume(a->rb);

	return n < 0 ? n : 0;
}

int weir_assembler_events_fd(struct weir_assembler *a)
{
	return ring_buffer__epoll_fd(a->rb);
}

static bool reply_initiated(const struct conv *c);
static void conv_swap_sides(struct weir_assembler *a, struct conv *c);

static void side_seen(struct weir_assembler *a, struct side *s, const struct weir_flow_value *v)
{
	s->val = *v;
	s->seen_gen = a->gen;
	s->in_kernel = true;
}

/* A kernel entry the sweep read for the first time. A new conversation's
 * first record waits until the whole table is read, when both its sides are
 * known. The table's iterator can hand out an entry twice (flow_table.h):
 * the second copy finds the side the first made.
 */
static void sweep_new_entry(struct weir_assembler *a, const struct weir_flow_key *k,
			    const struct weir_flow_value *v, uint64_t h, const uint64_t *rh)
{
	bool created = false;
	struct side *s = side_find_hashed(a, k, h);

	if (s) {
		side_seen(a, s, v);
		return;
	}
	s = side_new(a, k, h, rh, &created);
	if (!s)
		return;
	side_seen(a, s, v);
	if (created) {
		s->conv->fresh = true;
	} else if (s->conv->fresh && reply_initiated(s->conv)) {
		/* the initiator's entry came second: turn the conversation
		 * round now, while both buckets are in the cache (the first
		 * record would, later)
		 */
		conv_swap_sides(a, s->conv);
	}
}

/* Whether the reply side of a conversation both of whose sides were found
 * in one sweep is really the initiator: it was seen first, or, within one
 * clock tick, it is the ICMP request, or it sends to the lower port (the
 * server's).
 */
static bool reply_initiated(const struct conv *c)
{
	const struct side *f = &c->fwd, *r = &c->rev;

	if (r->val.first_seen_ns != f->val.first_seen_ns)
		return r->val.first_seen_ns < f->val.first_seen_ns;
	if (is_icmp(f->key.proto) && !(f->key.flags & WEIR_FLOW_F_L3_ONLY))
		return icmp_is_reply(f->key.proto, ntohs(f->key.sport) >> 8);
	return ntohs(r->key.dport) < ntohs(f->key.dport);
}

static void conv_swap_sides(struct weir_assembler *a, struct conv *c)
{
	struct side tmp;

	/* the table's slots follow the keys */
	weir_side_table_swap(&a->sides, &c->fwd, &c->rev);
	tmp = c->fwd;
	c->fwd = c->rev;
	c->rev = tmp;
}

/* The first record of a conversation the sweep found: a flow older than
 * this agent (maps reused from a pin) continues with an update; a new one
 * (whose start event was lost, or not yet read) starts.
 */
static void conv_first_record(struct weir_assembler *a, struct conv *c, uint64_t now_mono)
{
	bool older;

	c->fresh = false;
	if (c->has_rev && reply_initiated(c))
		conv_swap_sides(a, c);
	older = c->fwd.val.first_seen_ns + NS_PER_S < a->start_mono_ns;
	conv_record(a, c, older ? WEIR_RECORD_UPDATE : WEIR_RECORD_START,
		    older ? WEIR_END_ACTIVE : WEIR_END_NONE, now_mono);
}

static bool tcp_done(const struct conv *c)
{
	uint32_t f = c->fwd.val.tcp_flags, r = c->has_rev ? c->rev.val.tcp_flags : 0;

	if (c->fwd.key.proto != IPPROTO_TCP)
		return false;
	return (f | r) & WEIR_TCP_RST || (f & WEIR_TCP_FIN && r & WEIR_TCP_FIN);
}

/* Whether a side this sweep did not read has left the kernel's table. A
 * read is no snapshot (flow_table.h): the entry is gone only if a lookup
 * agrees; if it is there, it counts as seen.
 */
static bool side_gone(struct weir_assembler *a, struct side *s)
{
	struct weir_flow_value v;

	if (!s->in_kernel || s->seen_gen == a->gen)
		return false;
	if (bpf_map_lookup_elem(a->o.flows_fd, &s->key, &v))
		return true;
	side_seen(a, s, &v);
	return false;
}

/* After a sweep read every entry: end, update, or leave each conversation. */
static void sweep_decide(struct weir_assembler *a, struct conv *c, uint64_t now_mono)
{
	uint64_t active_ns = (uint64_t)a->o.active_timeout_s * NS_PER_S;
	uint64_t idle_ns = (uint64_t)a->o.idle_timeout_s * NS_PER_S;
	bool fwd_gone = side_gone(a, &c->fwd);
	bool rev_gone = c->has_rev && side_gone(a, &c->rev);
	uint64_t last = c->fwd.val.last_seen_ns;

	/* An entry that was there and is not: the kernel evicted it (only the
	 * assembler deletes entries, and it forgets the conversation then).
	 */
	if (fwd_gone)
		c->fwd.in_kernel = false;
	if (rev_gone)
		c->rev.in_kernel = false;
	a->st.evictions += fwd_gone + rev_gone;
	if (!c->fwd.in_kernel && (!c->has_rev || !c->rev.in_kernel)) {
		conv_end(a, c, WEIR_END_RESOURCES, now_mono);
		return;
	}

	if (c->has_rev && c->rev.val.last_seen_ns > last)
		last = c->rev.val.last_seen_ns;
	if (tcp_done(c) && now_mono >= last + WEIR_END_LINGER_NS)
		conv_end(a, c, WEIR_END_DETECTED, now_mono);
	else if (now_mono >= last + idle_ns)
		conv_end(a, c, WEIR_END_IDLE, now_mono);
	else if (now_mono >= c->last_record_ns + active_ns)
		conv_record(a, c, WEIR_RECORD_UPDATE, WEIR_END_ACTIVE, now_mono);
}

/* One batch of kernel entries: hashes first, then each entry with its
 * bucket (and that bucket's first node) fetched a few entries ahead — the
 * lookups of a large table are cache misses otherwise. Entries seen before
 * are updated at once; new ones after, in their order, with the buckets of
 * their reverse keys (where their conversation may wait) fetched ahead too.
 */
static void sweep_batch(void *ctx, const struct weir_flow_entry *e, size_t count)
{
	struct weir_assembler *a = ctx;
	const uint64_t *h = a->batch_hashes;
	uint64_t(*rh)[2] = a->batch_rhashes;
	__u32 i, j, n_new = 0;
	struct side *s;

	for (i = 0; i < count; i++)
		a->batch_hashes[i] = key_hash(&e[i].key);
	for (i = 0; i < count && i < PREFETCH_AHEAD; i++)
		side_prefetch(a, h[i], false);
	for (i = 0; i < count; i++) {
		if (i + PREFETCH_AHEAD < count)
			side_prefetch(a, h[i + PREFETCH_AHEAD], false);
		if (i + PREFETCH_AHEAD / 2 < count)
			side_prefetch(a, h[i + PREFETCH_AHEAD / 2], true);
		s = side_find_hashed(a, &e[i].key, h[i]);
		if (s) {
			side_seen(a, s, &e[i].value);
			continue;
		}
		a->batch_new[n_new] = i;
		reverse_hashes(&e[i].key, rh[n_new]);
		n_new++;
	}
	for (j = 0; j < n_new; j++) {
		if (j + PREFETCH_AHEAD < n_new) {
			if (rh[j + PREFETCH_AHEAD][0])
				side_prefetch(a, rh[j + PREFETCH_AHEAD][0], false);
			if (rh[j + PREFETCH_AHEAD][1])
				side_prefetch(a, rh[j + PREFETCH_AHEAD][1], false);
		}
		if (j + PREFETCH_AHEAD / 2 < n_new) {
			if (rh[j + PREFETCH_AHEAD / 2][0])
				side_prefetch(a, rh[j + PREFETCH_AHEAD / 2][0], true);
			if (rh[j + PREFETCH_AHEAD / 2][1])
				side_prefetch(a, rh[j + PREFETCH_AHEAD / 2][1], true);
		}
		if (j + PREFETCH_AHEAD < n_new)
			side_prefetch(a, h[a->batch_new[j + PREFETCH_AHEAD]], false);
		i = a->batch_new[j];
		sweep_new_entry(a, &e[i].key, &e[i].value, h[i], rh[j]);
	}
}

int weir_assembler_sweep(struct weir_assembler *a)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), now_mono;
	struct conv *c, *next;
	long long entries;

	/* Events first, so their flows start with their own timestamps. */
	weir_assembler_consume(a);
	a->gen++;
	a->sweeping = true;
	now_mono = clock_ns(CLOCK_MONOTONIC_COARSE);
	entries = weir_flow_table_read(a->table, sweep_batch, a);
	if (entries < 0) {
		log_err("sweep flow table: %s", strerror((int)-entries));
		a->sweeping = false;
		ep_memo_clear(a);
		return (int)entries;
	}
	/* Events again, before any first record: the read takes time, and a
	 * connection can start and be answered behind it — its initiator's
	 * entry made in a bucket already read, its reply's in one read later.
	 * The initiator's start event was written before its packet went on,
	 * so before the reply existed: it is in the ring now, and pairs with
	 * the reply the read found, which is then turned round as a
	 * conversation found whole.
	 */
	weir_assembler_consume(a);

	for (c = a->convs; c; c = next) {
		next = c->next;
		if (next)
			conv_prefetch(next->next);
		if (c->fresh)
			conv_first_record(a, c, now_mono);
		sweep_decide(a, c, now_mono);
	}
	a->sweeping = false;
	ep_memo_clear(a);
	a->st.table_entries = (uint64_t)entries;
	a->st.last_sweep_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	return 0;
}

void weir_assembler_flush(struct weir_assembler *a)
{
	uint64_t now_mono = clock_ns(CLOCK_MONOTONIC_COARSE);
	struct conv *c;

	for (c = a->convs; c; c = c->next)
		conv_record(a, c, WEIR_RECORD_END, WEIR_END_FORCED, now_mono);
}

void weir_assembler_stats(struct weir_assembler *a, struct weir_assembler_stats *st)
{
	*st = a->st;
	st->active_flows = a->n_convs;
}

int weir_assembler_new(struct weir_assembler **out, const struct weir_assembler_opts *opts)
{
	struct weir_assembler *a = calloc(1, sizeof(*a));
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	size_t expected = 1024;
	int err = -ENOMEM;

	if (!a)
		return -ENOMEM;
	a->o = *opts;
	a->node_name = strdup(opts->node_name);
	a->node_name_len = a->node_name ? strlen(a->node_name) : 0;
	a->batch_hashes = calloc(SWEEP_BATCH, sizeof(*a->batch_hashes));
	a->batch_rhashes = calloc(SWEEP_BATCH, sizeof(*a->batch_rhashes));
	a->batch_new = calloc(SWEEP_BATCH, sizeof(*a->batch_new));
	a->ep_memo = calloc(EP_CACHE_SLOTS, sizeof(*a->ep_memo));
	if (!a->node_name || !a->batch_hashes || !a->batch_rhashes || !a->batch_new || !a->ep_memo)
		goto err_free;
	err = weir_flow_table_open(&a->table, opts->flows_fd, SWEEP_BATCH, opts->table_method);
	if (err)
		goto err_free;
	/* sized for a full flow table, so a large sweep never regrows it */
	if (!bpf_obj_get_info_by_fd(opts->flows_fd, &info, &info_len) && info.max_entries)
		expected = info.max_entries;
	err = weir_side_table_init(&a->sides, expected, offsetof(struct side, key),
				   offsetof(struct side, hash));
	if (err)
		goto err_free;
	err = weir_htab_init(&a->ifnames, 64);
	if (err)
		goto err_sides;
	a->rb = ring_buffer__new(opts->events_fd, on_event, a, NULL);
	if (!a->rb) {
		err = -errno;
		log_err("open ring buffer weir_events: %s", strerror(-err));
		goto err_ifnames;
	}
	a->start_mono_ns = clock_ns(CLOCK_MONOTONIC_COARSE);
	*out = a;
	return 0;

err_ifnames:
	weir_htab_release(&a->ifnames);
err_sides:
	weir_side_table_release(&a->sides);
err_free:
	weir_flow_table_close(a->table);
	free(a->batch_hashes);
	free(a->batch_rhashes);
	free(a->batch_new);
	ep_memo_clear(a);
	free(a->ep_memo);
	free(a->node_name);
	free(a);
	return err;
}

void weir_assembler_free(struct weir_assembler *a)
{
	struct conv_slab *slab, *slab_next;
	struct weir_hnode *pos, *tmp;
	size_t i;

	if (!a)
		return;
	for (slab = a->slabs; slab; slab = slab_next) {
		slab_next = slab->next;
		munmap(slab, SLAB_BYTES);
	}
	weir_htab_for_each_safe(&a->ifnames, i, pos, tmp) free(pos);
	weir_htab_release(&a->ifnames);
	weir_side_table_release(&a->sides);
	ring_buffer__free(a->rb);
	weir_flow_table_close(a->table);
	free(a->batch_hashes);
	free(a->batch_rhashes);
	free(a->batch_new);
	ep_memo_clear(a);
	free(a->ep_memo);
	free(a->node_name);
	free(a);
}
