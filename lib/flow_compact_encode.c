// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Writing the compact flow stream (weir/flow_compact.h): records as arrays,
 * endpoints and strings defined once and named by their ID after that.
 *
 * The dictionary finds an endpoint by its content (so two copies of the same
 * pod share an ID) through a hash table, with a direct-mapped cache by
 * address in front: records of the same flows carry the same endpoint
 * objects. The dictionary holds a reference to every endpoint it defined, so
 * an address it knows cannot be reused for another endpoint.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "flow_compact.h"
#include "json_writer.h"

#define PTR_CACHE 1024 /* a power of 2 */

_Static_assert(
	WEIR_COMPACT_N_FIELDS == 33 && WEIR_COMPACT_F_SRC == 28 && WEIR_COMPACT_TAIL == 3,
	"weir_compact_write_record() writes the fields of WEIR_COMPACT_FIELDS in their order");

struct ep_slot {
	struct weir_endpoint *ep; /* NULL: empty */
	uint64_t hash;
	uint32_t id;
};

struct str_slot {
	char *s; /* NULL: empty */
	size_t n;
	uint64_t hash;
	uint32_t id;
};

struct ptr_slot {
	const struct weir_endpoint *ep;
	uint32_t id;
};

struct weir_compact_encoder {
	size_t max_eps, max_strs;
	size_t n_eps, n_strs;
	struct ep_slot *eps; /* open addressing, twice max_eps rounded up to a power of 2 */
	size_t eps_mask;
	struct str_slot *strs;
	size_t strs_mask;
	struct weir_endpoint **by_id; /* endpoint ID -> the endpoint it was defined from */
	struct ptr_slot ptrs[PTR_CACHE];
	bool reset_due; /* a write failed after the dictionary changed: a reset line first */
};

static size_t pow2_above(size_t n)
{
	size_t p = 16;

	while (p < 2 * n)
		p *= 2;
	return p;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

static uint64_t bytes_hash(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return mix(h, n);
}

static uint64_t cstr_hash(uint64_t h, const char *s)
{
	return s ? bytes_hash(h, s, strlen(s)) : mix(h, 0x5bd1e995ULL);
}

static uint64_t ep_hash(const struct weir_endpoint *ep)
{
	uint64_t h = mix(0xcbf29ce484222325ULL, (uint64_t)ep->identity);
	size_t i;

	h = cstr_hash(h, ep->namespace);
	h = cstr_hash(h, ep->pod_name);
	h = cstr_hash(h, ep->workload_name);
	h = cstr_hash(h, ep->workload_kind);
	h = cstr_hash(h, ep->node_name);
	h = mix(h, ep->n_labels);
	for (i = 0; i < ep->n_labels; i++)
		h = cstr_hash(h, ep->labels[i]);
	return h;
}

static bool cstr_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool ep_eq(const struct weir_endpoint *a, const struct weir_endpoint *b)
{
	size_t i;

	if (a == b)
		return true;
	if (a->identity != b->identity || a->n_labels != b->n_labels ||
	    !cstr_eq(a->namespace, b->namespace) || !cstr_eq(a->pod_name, b->pod_name) ||
	    !cstr_eq(a->workload_name, b->workload_name) ||
	    !cstr_eq(a->workload_kind, b->workload_kind) || !cstr_eq(a->node_name, b->node_name))
		return false;
	for (i = 0; i < a->n_labels; i++)
		if (!cstr_eq(a->labels[i], b->labels[i]))
			return false;
	return true;
}

static void dict_clear(struct weir_compact_encoder *e)
{
	size_t i;

	for (i = 0; i <= e->eps_mask; i++) {
		if (e->eps[i].ep)
			weir_endpoint_put(e->eps[i].ep);
		e->eps[i].ep = NULL;
	}
	for (i = 0; i <= e->strs_mask; i++) {
		free(e->strs[i].s);
		e->strs[i].s = NULL;
	}
	memset(e->ptrs, 0, sizeof(e->ptrs));
	e->n_eps = 0;
	e->n_strs = 0;
}

int weir_compact_encoder_new(struct weir_compact_encoder **out, size_t max_endpoints,
			     size_t max_strings)
{
	struct weir_compact_encoder *e;

	if (!max_endpoints || max_endpoints > WEIR_COMPACT_ENDPOINTS_MAX)
		max_endpoints = WEIR_COMPACT_ENDPOINTS_MAX;
	if (!max_strings || max_strings > WEIR_COMPACT_STRINGS_MAX)
		max_strings = WEIR_COMPACT_STRINGS_MAX;
	/* one record needs two endpoints and three strings at most */
	if (max_endpoints < 2)
		max_endpoints = 2;
	if (max_strings < 3)
		max_strings = 3;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->max_eps = max_endpoints;
	e->max_strs = max_strings;
	e->eps_mask = pow2_above(max_endpoints) - 1;
	e->strs_mask = pow2_above(max_strings) - 1;
	e->eps = calloc(e->eps_mask + 1, sizeof(*e->eps));
	e->strs = calloc(e->strs_mask + 1, sizeof(*e->strs));
	e->by_id = calloc(max_endpoints, sizeof(struct weir_endpoint *));
	if (!e->eps || !e->strs || !e->by_id) {
		weir_compact_encoder_free(e);
		return -ENOMEM;
	}
	*out = e;
	return 0;
}

void weir_compact_encoder_free(struct weir_compact_encoder *e)
{
	if (!e)
		return;
	if (e->eps && e->strs)
		dict_clear(e);
	free(e->eps);
	free(e->strs);
	free(e->by_id);
	free(e);
}

int weir_compact_write_header(struct weir_json_buf *b)
{
	weir_json_lit(b, "{\"format\":\"" WEIR_COMPACT_FORMAT "\",\"version\":");
	weir_json_u64(b, WEIR_COMPACT_VERSION);
	weir_json_lit(b, "}\n");
	return b->err;
}

/* ---- lookups: an ID, or -1 ---- */

static struct ptr_slot *ptr_slot(struct weir_compact_encoder *e, const struct weir_endpoint *ep)
{
	uintptr_t k = (uintptr_t)ep;

	return &e->ptrs[(k >> 4 ^ k >> 14) & (PTR_CACHE - 1)];
}

static long ep_find(struct weir_compact_encoder *e, const struct weir_endpoint *ep, uint64_t *hash)
{
	struct ptr_slot *ps = ptr_slot(e, ep);
	size_t i;

	if (ps->ep == ep && ps->id < e->n_eps && e->by_id[ps->id] == ep)
		return ps->id;
	*hash = ep_hash(ep);
	for (i = *hash & e->eps_mask; e->eps[i].ep; i = (i + 1) & e->eps_mask) {
		if (e->eps[i].hash == *hash && ep_eq(e->eps[i].ep, ep)) {
			ps->ep = ep;
			ps->id = e->eps[i].id;
			return e->eps[i].id;
		}
	}
	return -1;
}

static uint32_t ep_add(struct weir_compact_encoder *e, struct weir_endpoint *ep, uint64_t hash)
{
	size_t i;

	for (i = hash & e->eps_mask; e->eps[i].ep; i = (i + 1) & e->eps_mask)
		;
	e->eps[i].ep = weir_endpoint_get(ep);
	e->eps[i].hash = hash;
	e->eps[i].id = (uint32_t)e->n_eps;
	e->by_id[e->n_eps] = ep;
	return (uint32_t)e->n_eps++;
}

static long str_find(const struct weir_compact_encoder *e, const char *s, size_t n, uint64_t *hash)
{
	size_t i;

	*hash = bytes_hash(0xcbf29ce484222325ULL, s, n);
	for (i = *hash & e->strs_mask; e->strs[i].s; i = (i + 1) & e->strs_mask)
		if (e->strs[i].hash == *hash && e->strs[i].n == n && !memcmp(e->strs[i].s, s, n))
			return e->strs[i].id;
	return -1;
}

static int str_add(struct weir_compact_encoder *e, const char *s, size_t n, uint64_t hash)
{
	char *copy = malloc(n + 1);
	size_t i;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, n);
	copy[n] = '\0';
	for (i = hash & e->strs_mask; e->strs[i].s; i = (i + 1) & e->strs_mask)
		;
	e->strs[i].s = copy;
	e->strs[i].n = n;
	e->strs[i].hash = hash;
	e->strs[i].id = (uint32_t)e->n_strs;
	return (int)e->n_strs++;
}

/* ---- lines ---- */

static void w_nstr(struct weir_json_buf *b, const char *s)
{
	if (s)
		weir_json_text(b, s, strlen(s));
	else
		weir_json_lit(b, "null");
}

static void write_ep_def(struct weir_json_buf *b, uint32_t id, const struct weir_endpoint *ep)
{
	size_t i;

	weir_json_lit(b, "[\"ep\",");
	weir_json_u64(b, id);
	weir_json_char(b, ',');
	weir_json_u64(b, (uint64_t)ep->identity);
	weir_json_char(b, ',');
	w_nstr(b, ep->namespace);
	weir_json_char(b, ',');
	w_nstr(b, ep->pod_name);
	weir_json_lit(b, ",[");
	for (i = 0; i < ep->n_labels; i++) {
		if (i)
			weir_json_char(b, ',');
		w_nstr(b, ep->labels[i]);
	}
	weir_json_lit(b, "],");
	w_nstr(b, ep->workload_name);
	weir_json_char(b, ',');
	w_nstr(b, ep->workload_kind);
	weir_json_char(b, ',');
	w_nstr(b, ep->node_name);
	weir_json_lit(b, "]\n");
}

static void write_str_def(struct weir_json_buf *b, int id, const char *s, size_t n)
{
	weir_json_lit(b, "[\"str\",");
	weir_json_u64(b, (uint64_t)id);
	weir_json_char(b, ',');
	weir_json_text(b, s, n);
	weir_json_lit(b, "]\n");
}

/* What one record refers to: strings (text and length, NULL: none) and endpoints. */
struct refs {
	const char *s[3];
	size_t n[3];
	long s_id[3];
	struct weir_endpoint *ep[2];
	long ep_id[2];
};

/* IDs for what r refers to, defining what is new (lines into b). */
static int define(struct weir_compact_encoder *e, struct refs *rf, struct weir_json_buf *b)
{
	uint64_t sh[3] = { 0 }, eh[2] = { 0 };
	size_t new_s = 0, new_e = 0;
	int i, id;

	for (i = 0; i < 3; i++) {
		rf->s_id[i] = rf->s[i] ? str_find(e, rf->s[i], rf->n[i], &sh[i]) : -1;
		new_s += rf->s[i] && rf->s_id[i] < 0;
	}
	for (i = 0; i < 2; i++) {
		rf->ep_id[i] = ep_find(e, rf->ep[i], &eh[i]);
		new_e += rf->ep_id[i] < 0;
	}
	if (e->n_strs + new_s > e->max_strs || e->n_eps + new_e > e->max_eps || e->reset_due) {
		dict_clear(e);
		e->reset_due = false;
		weir_json_lit(b, "[\"reset\"]\n");
		for (i = 0; i < 3; i++)
			rf->s_id[i] = rf->s[i] ? str_find(e, rf->s[i], rf->n[i], &sh[i]) : -1;
		for (i = 0; i < 2; i++)
			rf->ep_id[i] = ep_find(e, rf->ep[i], &eh[i]);
	}
	for (i = 0; i < 3; i++) {
		if (!rf->s[i] || rf->s_id[i] >= 0)
			continue;
		/* the same new string twice in one record: defined once */
		rf->s_id[i] = str_find(e, rf->s[i], rf->n[i], &sh[i]);
		if (rf->s_id[i] >= 0)
			continue;
		id = str_add(e, rf->s[i], rf->n[i], sh[i]);
		if (id < 0)
			return id;
		rf->s_id[i] = id;
		write_str_def(b, id, rf->s[i], rf->n[i]);
	}
	for (i = 0; i < 2; i++) {
		if (rf->ep_id[i] >= 0)
			continue;
		rf->ep_id[i] = ep_find(e, rf->ep[i], &eh[i]);
		if (rf->ep_id[i] >= 0)
			continue;
		rf->ep_id[i] = ep_add(e, rf->ep[i], eh[i]);
		write_ep_def(b, (uint32_t)rf->ep_id[i], rf->ep[i]);
	}
	return b->err;
}

static inline void w_num(struct weir_json_buf *b, uint64_t v)
{
	weir_json_u64(b, v);
	weir_json_char(b, ',');
}

static void w_id(struct weir_json_buf *b, long id)
{
	if (id < 0)
		weir_json_lit(b, "null");
	else
		weir_json_u64(b, (uint64_t)id);
}

static void w_addr(struct weir_json_buf *b, uint8_t family, const uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN];

	if ((family != 4 && family != 6) ||
	    !inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf))) {
		weir_json_lit(b, "null");
		return;
	}
	weir_json_char(b, '"');
	weir_json_raw(b, buf, strlen(buf));
	weir_json_char(b, '"');
}

static bool has_tail(const struct weir_flow_record *r)
{
	static const uint8_t zero[16];

	return r->dst_service || r->lb_backend_port ||
	       ((r->family == 4 || r->family == 6) && memcmp(r->lb_backend, zero, 16) != 0);
}

int weir_compact_write_record(struct weir_compact_encoder *e, const struct weir_flow_record *r,
			      struct weir_json_buf *b)
{
	struct refs rf = { 0 };
	size_t mark = b->len;
	int err;

	if (b->err)
		return b->err;
	rf.n[0] = r->node_name ? strlen(r->node_name) : 0;
	rf.s[0] = r->node_name;
	rf.n[1] = strnlen(r->ifname, sizeof(r->ifname));
	rf.s[1] = rf.n[1] ? r->ifname : NULL;
	rf.n[2] = r->dst_service ? strlen(r->dst_service) : 0;
	rf.s[2] = r->dst_service;
	rf.ep[0] = r->src ? r->src : weir_endpoint_world();
	rf.ep[1] = r->dst ? r->dst : weir_endpoint_world();
	err = define(e, &rf, b);
	if (!err) {
		weir_json_char(b, '[');
		w_num(b, r->time_ns);
		w_num(b, r->id);
		w_num(b, r->first_seen_ns);
		w_num(b, r->last_seen_ns);
		w_num(b, (uint64_t)r->type);
		w_num(b, (uint64_t)r->end_reason);
		w_num(b, r->family);
		w_num(b, r->proto);
		w_addr(b, r->family, r->saddr);
		weir_json_char(b, ',');
		w_addr(b, r->family, r->daddr);
		weir_json_char(b, ',');
		w_num(b, r->sport);
		w_num(b, r->dport);
		w_num(b, r->icmp_type);
		w_num(b, r->icmp_code);
		w_num(b, r->l3_only);
		w_num(b, r->ifindex);
		w_id(b, rf.s_id[1]);
		weir_json_char(b, ',');
		w_num(b, r->dir);
		w_num(b, r->hook);
		w_num(b, r->verdict);
		w_num(b, r->reason);
		w_num(b, (uint64_t)r->is_reply);
		w_num(b, r->tcp_flags);
		w_num(b, r->packets);
		w_num(b, r->bytes);
		w_num(b, r->reply_packets);
		w_num(b, r->reply_bytes);
		w_id(b, rf.s_id[0]);
		weir_json_char(b, ',');
		w_num(b, (uint64_t)rf.ep_id[0]);
		weir_json_u64(b, (uint64_t)rf.ep_id[1]);
		if (has_tail(r)) {
			weir_json_char(b, ',');
			w_id(b, rf.s_id[2]);
			weir_json_char(b, ',');
			w_addr(b, r->family, r->lb_backend);
			weir_json_char(b, ',');
			weir_json_u64(b, r->lb_backend_port);
		}
		weir_json_lit(b, "]\n");
		err = b->err;
	}
	if (err) {
		/* what the reader may have been told is unknown now: start over */
		e->reset_due = true;
		b->err = 0;
		b->len = mark;
		if (b->cap)
			b->data[mark] = '\0';
		return -ENOMEM;
	}
	return 0;
}
