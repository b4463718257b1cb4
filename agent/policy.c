// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The endpoint policy engine: documents in, ipcache and policy maps out. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "endpoints.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "policy_doc.h"
#include "state_file.h"

#define STATE_VERSION 1

struct applied_ep {
	struct weir_policy_ep_key key;
	uint64_t hash; /* of the entries in its map; 0: unknown */
};

struct weir_policy_engine {
	pthread_mutex_t lock; /* everything below */
	struct weir_endpoints *endpoints;
	struct weir_identities *ids;
	int ipcache_fd, eps_fd, state_fd;
	char *state_path;
	bool held; /* opts.hold, until released */
	struct weir_policy **pols;
	size_t n_pols;
	/* what the maps hold, so the next sync removes what went away */
	struct applied_ep *eps;
	size_t n_eps;
	struct weir_ipcache_key *ipc;
	size_t n_ipc;
};

/* One address of the endpoint snapshot. */
struct snap_addr {
	struct weir_addr addr;
	bool host;
	char *namespace, *pod_name;
	char **labels; /* the identity's: the endpoint's plus the namespace label */
	size_t n_labels;
	uint32_t identity;
};

struct snapshot {
	struct snap_addr *v;
	size_t n, cap;
	int err;
};

static void snapshot_release(struct snapshot *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		for (j = 0; j < s->v[i].n_labels; j++)
			free(s->v[i].labels[j]);
		free(s->v[i].labels);
		free(s->v[i].namespace);
		free(s->v[i].pod_name);
	}
	free(s->v);
}

static void on_addr(void *ctx, const struct weir_addr *addr, const struct weir_endpoint *ep)
{
	struct snapshot *s = ctx;
	struct snap_addr *a;
	size_t i;

	if (s->err || (ep->identity != WEIR_IDENTITY_POD && ep->identity != WEIR_IDENTITY_HOST))
		return;
	if (ep->identity == WEIR_IDENTITY_POD && (!ep->namespace || !ep->pod_name))
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct snap_addr *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->err = -ENOMEM;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	a = &s->v[s->n++];
	memset(a, 0, sizeof(*a));
	a->addr = *addr;
	a->host = ep->identity == WEIR_IDENTITY_HOST;
	if (a->host)
		return;
	a->namespace = strdup(ep->namespace);
	a->pod_name = strdup(ep->pod_name);
	a->labels = calloc(ep->n_labels + 1, sizeof(char *));
	if (!a->namespace || !a->pod_name || !a->labels) {
		s->err = -ENOMEM;
		return;
	}
	for (i = 0; i < ep->n_labels; i++) {
		a->labels[i] = strdup(ep->labels[i]);
		if (!a->labels[i]) {
			s->err = -ENOMEM;
			return;
		}
		a->n_labels++;
	}
	if (asprintf(&a->labels[a->n_labels], WEIR_NAMESPACE_LABEL "=%s", ep->namespace) < 0) {
		a->labels[a->n_labels] = NULL;
		s->err = -ENOMEM;
		return;
	}
	a->n_labels++;
}

static uint64_t entries_hash(const struct weir_policy_entries *es)
{
	const uint8_t *p = (const uint8_t *)es->v;
	size_t i, len = es->n * sizeof(es->v[0]);
	uint64_t h = 0xcbf29ce484222325ULL;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h | 1; /* never 0, which means unknown */
}

/* Every CIDR the policies name, once, with its identity. */
struct cidr_set {
	struct weir_cidr *v;
	uint32_t *ids;
	size_t n, cap;
};

static int cidrs_collect(struct weir_policy_engine *e, struct cidr_set *cs)
{
	size_t p, d, r, i;

	for (p = 0; p < e->n_pols; p++) {
		for (d = 0; d < 2; d++) {
			for (r = 0; r < e->pols[p]->dir[d].n_rules; r++) {
				const struct weir_policy_rule *rule = &e->pols[p]->dir[d].rules[r];

				if (rule->peer != WEIR_PEER_CIDR)
					continue;
				for (i = 0;
				     i < cs->n && strcmp(cs->v[i].text, rule->cidr.text) != 0; i++)
					;
				if (i < cs->n)
					continue;
				if (cs->n == cs->cap) {
					size_t cap = cs->cap ? cs->cap * 2 : 16;
					struct weir_cidr *v = realloc(cs->v, cap * sizeof(*v));
					uint32_t *ids =
						v ? realloc(cs->ids, cap * sizeof(*ids)) : NULL;

					if (v)
						cs->v = v;
					if (!ids)
						return -ENOMEM;
					cs->ids = ids;
					cs->cap = cap;
				}
				cs->v[cs->n] = rule->cidr;
				cs->ids[cs->n] = weir_identity_of_cidr(e->ids, rule->cidr.text);
				if (!cs->ids[cs->n])
					return -ENOMEM;
				cs->n++;
			}
		}
	}
	return 0;
}

static struct weir_ipcache_key ipcache_key(uint8_t family, const uint8_t *bytes, uint8_t plen)
{
	struct weir_ipcache_key k = { .prefixlen = WEIR_IPCACHE_PREFIX_BASE + plen,
				      .family = family };

	memcpy(k.addr, bytes, family == 4 ? 4 : 16);
	return k;
}

/* The longest policy CIDR holding the address, 0 if none. */
static uint32_t cidr_identity_of(const struct cidr_set *cs, uint8_t family, const uint8_t *bytes,
				 uint8_t plen)
{
	int best = -1;
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (weir_cidr_contains(&cs->v[i], family, bytes, plen) &&
		    (best < 0 || cs->v[i].prefixlen > cs->v[best].prefixlen))
			best = (int)i;
	return best < 0 ? 0 : cs->ids[best];
}

static bool ipc_has(const struct weir_ipcache_key *v, size_t n, const struct weir_ipcache_key *k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!memcmp(&v[i], k, sizeof(*k)))
			return true;
	return false;
}

/* Fills a new policy map with es and swaps it in for the endpoint. */
static int ep_map_swap(struct weir_policy_engine *e, const struct weir_policy_ep_key *k,
		       const struct weir_policy_entries *es)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_NO_PREALLOC);
	int fd, err = 0;
	size_t i;

	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "weir_policy", sizeof(struct weir_policy_key),
			    sizeof(struct weir_policy_value), WEIR_POLICY_MAX, &mo);
	if (fd < 0)
		return -errno;
	for (i = 0; i < es->n && !err; i++)
		if (bpf_map_update_elem(fd, &es->v[i].key, &es->v[i].val, BPF_ANY))
			err = -errno;
	if (!err && bpf_map_update_elem(e->eps_fd, k, &fd, BPF_ANY))
		err = -errno;
	close(fd); /* the outer map holds it now */
	return err;
}

/* Resolves the policies against the endpoints and brings the maps in line.
 * Called locked. The order keeps allowed traffic flowing: endpoints' new
 * maps first, then new ipcache entries, then removals.
 */
static int sync_locked(struct weir_policy_engine *e)
{
	struct snapshot s = { 0 };
	struct cidr_set cs = { 0 };
	struct applied_ep *eps = NULL;
	struct weir_ipcache_key *ipc = NULL;
	size_t n_eps = 0, n_ipc = 0, i, j, p;
	int err = 0;

	if (e->held)
		return 0;
	weir_endpoints_for_each_addr(e->endpoints, on_addr, &s);
	err = s.err ?: cidrs_collect(e, &cs);
	if (err)
		goto out;
	for (i = 0; i < s.n; i++) {
		s.v[i].identity = s.v[i].host ? WEIR_ID_HOST :
						weir_identity_of_labels(e->ids, s.v[i].labels,
									s.v[i].n_labels);
		if (!s.v[i].identity) {
			err = -ENOMEM;
			goto out;
		}
	}
	eps = calloc(s.n ? s.n : 1, sizeof(*eps));
	ipc = calloc(s.n + cs.n + 1, sizeof(*ipc));
	if (!eps || !ipc) {
		err = -ENOMEM;
		goto out;
	}

	/* each pod address's policy map */
	for (i = 0; i < s.n; i++) {
		const struct snap_addr *a = &s.v[i];
		struct weir_policy_subject sub = { a->namespace, a->pod_name, a->labels,
						   a->n_labels };
		struct weir_policy_entries es = { 0 };
		struct applied_ep *ae = &eps[n_eps];
		bool selected = false;

		if (a->host)
			continue;
		for (p = 0; p < e->n_pols && !err; p++) {
			if (!weir_policy_selects(e->pols[p], &sub))
				continue;
			selected = true;
			err = weir_policy_entries_add(&es, e->pols[p], e->ids, cs.v, cs.ids, cs.n);
		}
		err = err ?: weir_policy_entries_finish(&es);
		if (!err && selected) {
			memset(ae, 0, sizeof(*ae));
			memcpy(ae->key.addr, a->addr.bytes, a->addr.family == 4 ? 4 : 16);
			ae->key.family = a->addr.family;
			ae->hash = entries_hash(&es);
			for (j = 0; j < e->n_eps; j++)
				if (!memcmp(&e->eps[j].key, &ae->key, sizeof(ae->key)))
					break;
			if (e->eps_fd >= 0 && (j == e->n_eps || e->eps[j].hash != ae->hash))
				err = ep_map_swap(e, &ae->key, &es);
			if (err)
				log_err("policy: endpoint map namespace=%s pod=%s not updated: %s",
					a->namespace, a->pod_name, strerror(-err));
			n_eps++;
		}
		weir_policy_entries_release(&es);
		if (err)
			goto out;
	}

	/* the ipcache: policy CIDRs, then every known address */
	for (i = 0; i < cs.n + s.n; i++) {
		struct weir_ipcache_value v;
		struct weir_ipcache_key k;

		if (i < cs.n) {
			k = ipcache_key(cs.v[i].family, cs.v[i].bytes, cs.v[i].prefixlen);
			v.identity = v.cidr_identity = cs.ids[i];
		} else {
			const struct snap_addr *a = &s.v[i - cs.n];
			uint8_t plen = a->addr.family == 4 ? 32 : 128;

			k = ipcache_key(a->addr.family, a->addr.bytes, plen);
			v.identity = a->identity;
			v.cidr_identity =
				cidr_identity_of(&cs, a->addr.family, a->addr.bytes, plen);
		}
		if (ipc_has(ipc, n_ipc, &k))
			continue;
		ipc[n_ipc++] = k;
		if (e->ipcache_fd >= 0 && bpf_map_update_elem(e->ipcache_fd, &k, &v, BPF_ANY)) {
			err = -errno;
			log_err("policy: ipcache update: %s", strerror(-err));
			goto out;
		}
	}
	for (i = 0; e->ipcache_fd >= 0 && i < e->n_ipc; i++)
		if (!ipc_has(ipc, n_ipc, &e->ipc[i]))
			bpf_map_delete_elem(e->ipcache_fd, &e->ipc[i]);
	for (i = 0; e->eps_fd >= 0 && i < e->n_eps; i++) {
		for (j = 0; j < n_eps; j++)
			if (!memcmp(&eps[j].key, &e->eps[i].key, sizeof(eps[j].key)))
				break;
		if (j == n_eps)
			bpf_map_delete_elem(e->eps_fd, &e->eps[i].key);
	}
	if (e->state_fd >= 0) {
		struct weir_policy_state st = { .endpoints = (__u32)n_eps };
		__u32 zero = 0;

		if (bpf_map_update_elem(e->state_fd, &zero, &st, BPF_ANY))
			log_err("policy: state map update: %s", strerror(errno));
	}
	free(e->eps);
	free(e->ipc);
	e->eps = eps;
	e->n_eps = n_eps;
	e->ipc = ipc;
	e->n_ipc = n_ipc;
	eps = NULL;
	ipc = NULL;
	log_debug("policy: synced policies=%zu endpoints=%zu ipcache=%zu", e->n_pols, e->n_eps,
		  e->n_ipc);
out:
	free(eps);
	free(ipc);
	free(cs.v);
	free(cs.ids);
	snapshot_release(&s);
	return err;
}

void weir_policy_engine_resync(void *engine)
{
	struct weir_policy_engine *e = engine;
	int err;

	pthread_mutex_lock(&e->lock);
	err = sync_locked(e);
	pthread_mutex_unlock(&e->lock);
	if (err)
		log_err("policy: resync after an endpoint change failed: %s", strerror(-err));
}

void weir_policy_engine_release(void *engine)
{
	struct weir_policy_engine *e = engine;
	bool was_held;
	int err;

	pthread_mutex_lock(&e->lock);
	was_held = e->held;
	e->held = false;
	err = sync_locked(e);
	pthread_mutex_unlock(&e->lock);
	if (err)
		log_err("policy: sync once the endpoint cache is whole failed: %s", strerror(-err));
	else if (was_held)
		log_info("policy: the endpoint cache is whole: policies=%zu applied", e->n_pols);
}

void weir_policy_engine_stats(struct weir_policy_engine *e, struct weir_policy_engine_stats *st)
{
	pthread_mutex_lock(&e->lock);
	st->policies = e->n_pols;
	st->endpoints = e->n_eps;
	st->held = e->held;
	pthread_mutex_unlock(&e->lock);
}

/* --- state file --------------------------------------------------------- */

static json_t *policies_json(const struct weir_policy_engine *e)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < e->n_pols; i++) {
		if (json_array_append(arr, e->pols[i]->doc)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Replaced whole (lib/state_file.c): a crash leaves the old file or the new. */
static int state_save(struct weir_policy_engine *e)
{
	json_t *root;
	int err;

	if (!e->state_path)
		return 0;
	root = json_pack("{s:i,s:o,s:o}", "version", STATE_VERSION, "policies", policies_json(e),
			 "identities", weir_identities_to_json(e->ids));
	if (!root)
		return -ENOMEM;
	err = weir_state_file_write(e->state_path, root, JSON_INDENT(1));
	json_decref(root);
	if (err)
		log_err("policy: state file path=%s not written: %s", e->state_path,
			strerror(-err));
	return err;
}

/* --- documents ---------------------------------------------------------- */

static void pols_free(struct weir_policy **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		weir_policy_free(v[i]);
	free(v);
}

/* Parses body into v[0..*n): one document, a list, or {"policies": [...]}. */
static int parse_body(const json_t *body, struct weir_policy ***out, size_t *n_out, char *err,
		      size_t err_len)
{
	const json_t *list = body, *doc;
	struct weir_policy **v;
	char where[32];
	size_t i, j, n;
	int ret = 0;

	if (json_is_object(body) && json_object_get(body, "policies")) {
		list = json_object_get(body, "policies");
		if (json_object_size(body) != 1 || !json_is_array(list)) {
			snprintf(err, err_len, "policies: must be a list of policy documents");
			return -EINVAL;
		}
	}
	n = json_is_array(list) ? json_array_size(list) : 1;
	if (!n) {
		snprintf(err, err_len, "policies: the list is empty");
		return -EINVAL;
	}
	v = calloc(n, sizeof(struct weir_policy *));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n && !ret; i++) {
		doc = json_is_array(list) ? json_array_get(list, i) : list;
		where[0] = '\0';
		if (json_is_array(list))
			snprintf(where, sizeof(where), "policies[%zu]", i);
		ret = weir_policy_parse(doc, where, &v[i], err, err_len);
		for (j = 0; !ret && j < i; j++) {
			if (!strcmp(v[j]->name, v[i]->name)) {
				snprintf(err, err_len, "%s.name: \"%s\" is also policies[%zu]'s",
					 where, v[i]->name, j);
				ret = -EINVAL;
			}
		}
	}
	if (ret) {
		pols_free(v, n);
		return ret;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static ssize_t pol_index(const struct weir_policy_engine *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->n_pols; i++)
		if (!strcmp(e->pols[i]->name, name))
			return (ssize_t)i;
	return -1;
}

/* Installs next (taking it) and syncs; on failure puts the old set back. */
static int pols_commit(struct weir_policy_engine *e, struct weir_policy **next, size_t n_next,
		       char *err, size_t err_len)
{
	struct weir_policy **old = e->pols;
	size_t n_old = e->n_pols;
	int ret;

	e->pols = next;
	e->n_pols = n_next;
	ret = sync_locked(e);
	if (ret) {
		snprintf(err, err_len, "datapath not updated: %s", strerror(-ret));
		e->pols = old;
		e->n_pols = n_old;
		if (sync_locked(e))
			log_err("policy: could not restore the previous policy in the datapath");
		return ret;
	}
	state_save(e); /* a failure is logged: the policy is in force regardless */
	return 0;
}

int weir_policy_engine_put(struct weir_policy_engine *e, const json_t *body, char *err,
			   size_t err_len)
{
	struct weir_policy **add = NULL, **next, **replaced, **old;
	size_t n_add = 0, n_next, n_replaced = 0, i;
	ssize_t at;
	int ret;

	ret = parse_body(body, &add, &n_add, err, err_len);
	if (ret)
		return ret;
	pthread_mutex_lock(&e->lock);
	next = calloc(e->n_pols + n_add, sizeof(struct weir_policy *));
	replaced = calloc(e->n_pols + 1, sizeof(struct weir_policy *));
	if (!next || !replaced) {
		pthread_mutex_unlock(&e->lock);
		free(next);
		free(replaced);
		pols_free(add, n_add);
		return -ENOMEM;
	}
	memcpy(next, e->pols, e->n_pols * sizeof(struct weir_policy *));
	n_next = e->n_pols;
	for (i = 0; i < n_add; i++) {
		at = pol_index(e, add[i]->name);
		if (at >= 0) {
			replaced[n_replaced++] = next[at];
			next[at] = add[i];
		} else {
			next[n_next++] = add[i];
		}
	}
	old = e->pols;
	ret = pols_commit(e, next, n_next, err, err_len);
	if (ret) { /* rolled back: the old set is in force */
		free(next);
		pols_free(add, n_add);
	} else {
		free(old);
		for (i = 0; i < n_replaced; i++)
			weir_policy_free(replaced[i]);
		free(add);
	}
	pthread_mutex_unlock(&e->lock);
	free(replaced);
	if (!ret)
		log_info("policy: applied policies=%zu", n_add);
	return ret;
}

int weir_policy_engine_delete(struct weir_policy_engine *e, const char *name, char *err,
			      size_t err_len)
{
	struct weir_policy **next, **old, *gone;
	size_t n = 0, i;
	ssize_t at;
	int ret;

	pthread_mutex_lock(&e->lock);
	at = pol_index(e, name);
	if (at < 0) {
		pthread_mutex_unlock(&e->lock);
		snprintf(err, err_len, "no policy named \"%s\"", name);
		return -ENOENT;
	}
	next = calloc(e->n_pols, sizeof(struct weir_policy *));
	if (!next) {
		pthread_mutex_unlock(&e->lock);
		return -ENOMEM;
	}
	gone = e->pols[at];
	for (i = 0; i < e->n_pols; i++)
		if (i != (size_t)at)
			next[n++] = e->pols[i];
	old = e->pols;
	ret = pols_commit(e, next, n, err, err_len);
	if (ret) {
		free(next);
	} else {
		free(old);
		weir_policy_free(gone);
	}
	pthread_mutex_unlock(&e->lock);
	if (!ret)
		log_info("policy: deleted name=%s", name);
	return ret;
}

json_t *weir_policy_engine_get(struct weir_policy_engine *e, const char *name)
{
	json_t *j = NULL;
	ssize_t at;

	pthread_mutex_lock(&e->lock);
	if (name) {
		at = pol_index(e, name);
		if (at >= 0)
			j = json_deep_copy(e->pols[at]->doc);
	} else {
		j = json_pack("{s:o}", "policies", policies_json(e));
	}
	pthread_mutex_unlock(&e->lock);
	return j;
}

/* --- life --------------------------------------------------------------- */

/* What the pinned maps hold from an earlier run, so the first sync removes
 * what is stale (and rewrites every endpoint's map).
 */
static int applied_from_maps(struct weir_policy_engine *e)
{
	struct weir_policy_ep_key ek, *eprev = NULL;
	struct weir_ipcache_key ik, *iprev = NULL;
	void *v;

	while (e->eps_fd >= 0 && !bpf_map_get_next_key(e->eps_fd, eprev, &ek)) {
		v = realloc(e->eps, (e->n_eps + 1) * sizeof(*e->eps));
		if (!v)
			return -ENOMEM;
		e->eps = v;
		e->eps[e->n_eps] = (struct applied_ep){ .key = ek };
		eprev = &e->eps[e->n_eps++].key;
	}
	while (e->ipcache_fd >= 0 && !bpf_map_get_next_key(e->ipcache_fd, iprev, &ik)) {
		v = realloc(e->ipc, (e->n_ipc + 1) * sizeof(*e->ipc));
		if (!v)
			return -ENOMEM;
		e->ipc = v;
		e->ipc[e->n_ipc] = ik;
		iprev = &e->ipc[e->n_ipc++];
	}
	return 0;
}

/* A damaged file stops the agent: starting without the policies it holds
 * would open every pod they protect (fail open), and setting it aside would
 * lose them. The operator fixes it, or moves it aside to start with none.
 */
static int state_load(struct weir_policy_engine *e)
{
	struct weir_policy **v = NULL;
	char err[512];
	json_error_t jerr;
	json_t *root;
	size_t n = 0;
	int ret;

	if (!e->state_path || access(e->state_path, F_OK))
		return 0;
	root = json_load_file(e->state_path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, sizeof(err), "line %d: %s", jerr.line, jerr.text);
		goto damaged;
	}
	ret = weir_identities_from_json(e->ids, json_object_get(root, "identities"));
	if (ret)
		log_warn("policy: state file path=%s: identity table not restored", e->state_path);
	ret = json_array_size(json_object_get(root, "policies")) ?
		      parse_body(json_object_get(root, "policies"), &v, &n, err, sizeof(err)) :
		      0;
	json_decref(root);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		goto damaged;
	e->pols = v;
	e->n_pols = n;
	log_info("policy: state file loaded path=%s policies=%zu", e->state_path, n);
	return 0;

damaged:
	log_err("policy: state file path=%s is damaged (%s); not starting without the policies "
		"it holds: fix it, or move it aside to start with none",
		e->state_path, err);
	return -EINVAL;
}

int weir_policy_engine_new(struct weir_policy_engine **out,
			   const struct weir_policy_engine_opts *opts)
{
	struct weir_policy_engine *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	e->endpoints = opts->endpoints;
	e->ipcache_fd = opts->ipcache_fd;
	e->eps_fd = opts->eps_fd;
	e->state_fd = opts->state_fd;
	e->held = opts->hold;
	err = weir_identities_new(&e->ids);
	if (!err && opts->state_dir &&
	    asprintf(&e->state_path, "%s/" WEIR_POLICY_STATE_FILE, opts->state_dir) < 0) {
		e->state_path = NULL;
		err = -ENOMEM;
	}
	err = err ?: applied_from_maps(e);
	err = err ?: state_load(e);
	if (!err && e->held)
		log_info(
			"policy: maps kept as they are (endpoints=%zu) until the endpoint cache is "
			"whole",
			e->n_eps);
	if (!err) {
		pthread_mutex_lock(&e->lock);
		err = sync_locked(e);
		pthread_mutex_unlock(&e->lock);
	}
	if (err) {
		log_err("policy: engine not started: %s", strerror(-err));
		weir_policy_engine_free(e);
		return err;
	}
	*out = e;
	return 0;
}

void weir_policy_engine_free(struct weir_policy_engine *e)
{
	if (!e)
		return;
	pols_free(e->pols, e->n_pols);
	weir_identities_free(e->ids);
	free(e->eps);
	free(e->ipc);
	free(e->state_path);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
