// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load-balancer service table: documents in, maps and state file out. */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "lb_maps.h"
#include "lb_metrics.h"
#include "log.h"
#include "maglev.h"
#include "services.h"
#include "state_file.h"
#include <weir/lb.h>

#define STATE_VERSION 1
#define NO_BACKEND    0 /* an empty Maglev slot: 0 is never an id */

struct backend_rt {
	uint32_t id;
	bool healthy; /* the health checker's verdict; true without checks */
	uint64_t health_changes;
};

struct backend_ref {
	struct svc *v;
	uint32_t i;
};

struct front {
	struct weir_lb_svc_key k;
	struct svc *v;
};

struct svc {
	struct weir_service_cfg cfg; /* cfg.backends[i] goes with b[i] */
	struct backend_rt *b;
	uint32_t id;
	uint32_t n_usable;
};

/* Ids 1..max. The cursor hands out the next free id after the last one
 * given, so a freed id comes back only after every other id has been used.
 */
struct id_pool {
	uint8_t *used; /* [max + 1] */
	uint32_t max;
	uint32_t cursor;
};

struct weir_services {
	pthread_mutex_t lock;
	struct weir_lb_maps maps;
	bool have_maps;
	uint32_t table_size, seed;
	char *state_file;
	struct svc **svcs;
	size_t n, cap;
	struct id_pool svc_ids, backend_ids;
	uint64_t generation;
	uint64_t transitions[2];
	/* Indexes for flow records, rebuilt after every change. */
	struct svc **by_svc_id;		   /* [svc max + 1] */
	struct backend_ref *by_backend_id; /* [backend max + 1] */
	struct front *fronts;		   /* sorted by key */
	size_t n_fronts;
	uint32_t *table; /* scratch: WEIR_MAGLEV_SIZE_MAX slots */
};

static int pool_init(struct id_pool *p, uint32_t max)
{
	p->used = calloc((size_t)max + 1, 1);
	p->max = max;
	p->cursor = 0;
	return p->used ? 0 : -ENOMEM;
}

static uint32_t pool_alloc(struct id_pool *p)
{
	uint32_t i, id;

	for (i = 0; i < p->max; i++) {
		id = (p->cursor + i) % p->max + 1;
		if (!p->used[id]) {
			p->used[id] = 1;
			p->cursor = id % p->max;
			return id;
		}
	}
	return 0;
}

/* Takes a given id (a restored one); false when taken or out of range. */
static bool pool_take(struct id_pool *p, uint32_t id)
{
	if (!id || id > p->max || p->used[id])
		return false;
	p->used[id] = 1;
	return true;
}

static void pool_free(struct id_pool *p, uint32_t id)
{
	if (id && id <= p->max)
		p->used[id] = 0;
}

int weir_services_new(struct weir_services **out, const struct weir_services_opts *o)
{
	struct weir_services *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	if (o->maps) {
		s->maps = *o->maps;
		s->have_maps = true;
	}
	s->table_size = o->table_size ? o->table_size : WEIR_MAGLEV_SIZE_DEFAULT;
	s->seed = o->seed;
	s->state_file = o->state_file && *o->state_file ? strdup(o->state_file) : NULL;
	s->table = malloc(WEIR_MAGLEV_SIZE_MAX * sizeof(*s->table));
	err = s->table ? 0 : -ENOMEM;
	err = err ?: pool_init(&s->svc_ids, o->services_max ?: WEIR_LB_SERVICES_DEFAULT);
	err = err ?: pool_init(&s->backend_ids, o->backends_max ?: WEIR_LB_BACKENDS_DEFAULT);
	if (!err) {
		s->by_svc_id = calloc((size_t)s->svc_ids.max + 1, sizeof(struct svc *));
		s->by_backend_id =
			calloc((size_t)s->backend_ids.max + 1, sizeof(*s->by_backend_id));
		err = s->by_svc_id && s->by_backend_id ? 0 : -ENOMEM;
	}
	if (err || (o->state_file && *o->state_file && !s->state_file)) {
		weir_services_free(s);
		return err ?: -ENOMEM;
	}
	*out = s;
	return 0;
}

static void svc_free(struct svc *v)
{
	if (!v)
		return;
	weir_service_cfg_release(&v->cfg);
	free(v->b);
	free(v);
}

void weir_services_free(struct weir_services *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		svc_free(s->svcs[i]);
	free(s->svcs);
	free(s->by_svc_id);
	free(s->by_backend_id);
	free(s->fronts);
	free(s->svc_ids.used);
	free(s->backend_ids.used);
	free(s->table);
	free(s->state_file);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct svc *find(struct weir_services *s, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!strcmp(s->svcs[i]->cfg.name, name)) {
			if (idx)
				*idx = i;
			return s->svcs[i];
		}
	}
	return NULL;
}

static bool same_frontend(const struct weir_service_cfg *a, const struct weir_service_cfg *b)
{
	return a->port == b->port && a->proto == b->proto && a->vip.family == b->vip.family &&
	       !memcmp(a->vip.bytes, b->vip.bytes, sizeof(a->vip.bytes));
}

static struct weir_lb_svc_key svc_key(const struct weir_service_cfg *c)
{
	struct weir_lb_svc_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, c->vip.bytes, c->vip.family == 4 ? 4 : 16);
	k.port = htons(c->port);
	k.proto = c->proto;
	k.family = c->vip.family;
	return k;
}

static bool usable(const struct weir_backend_cfg *c, const struct backend_rt *rt)
{
	return c->state == WEIR_LB_BACKEND_ACTIVE && rt->healthy;
}

/* What the datapath reads for a backend: a failed health check is DOWN. */
static struct weir_lb_backend backend_value(const struct weir_backend_cfg *c,
					    const struct backend_rt *rt)
{
	struct weir_lb_backend b;

	memset(&b, 0, sizeof(b));
	memcpy(b.addr, c->addr.bytes, c->addr.family == 4 ? 4 : 16);
	b.port = htons(c->port);
	b.family = c->addr.family;
	b.state = rt->healthy ? c->state : WEIR_LB_BACKEND_DOWN;
	b.weight = (uint16_t)c->weight;
	return b;
}

/* Builds v's Maglev table into s->table and counts its usable backends. */
static int build_table(struct weir_services *s, struct svc *v)
{
	struct weir_maglev_backend *mb = NULL;
	size_t i;
	int err;

	if (v->cfg.n_backends) {
		mb = calloc(v->cfg.n_backends, sizeof(*mb));
		if (!mb)
			return -ENOMEM;
	}
	v->n_usable = 0;
	for (i = 0; i < v->cfg.n_backends; i++) {
		const struct weir_backend_cfg *c = &v->cfg.backends[i];

		weir_maglev_name(&mb[i], c->addr.family, c->addr.bytes, c->port);
		mb[i].id = v->b[i].id;
		mb[i].weight = usable(c, &v->b[i]) ? c->weight : 0;
		v->n_usable += mb[i].weight != 0;
	}
	err = weir_maglev_build(mb, v->cfg.n_backends, v->cfg.table_size, s->seed, NO_BACKEND,
				s->table);
	free(mb);
	return err;
}

static int write_service(struct weir_services *s, const struct svc *v)
{
	struct weir_lb_svc_key k = svc_key(&v->cfg);
	struct weir_lb_svc val = {
		.id = v->id,
		.affinity_timeout_s = v->cfg.affinity_timeout_s,
		.n_backends_usable = v->n_usable > 0xffff ? 0xffff : (uint16_t)v->n_usable,
	};

	return weir_lb_maps_set_service(&s->maps, &k, &val);
}

/* Backends of an old and a new version matched by address and port:
 * to_old[i] is new backend i's index in old, to_new[j] old backend j's in
 * new; -1 when it has none. Sorting makes it O(n log n) for 64k backends.
 */
struct match {
	ssize_t *to_old, *to_new;
};

static int by_addr_port(const void *x, const void *y, void *base)
{
	const struct weir_backend_cfg *a =
		&((const struct weir_backend_cfg *)base)[*(const size_t *)x];
	const struct weir_backend_cfg *b =
		&((const struct weir_backend_cfg *)base)[*(const size_t *)y];
	int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));

	return c ? c : (int)a->port - (int)b->port;
}

static void match_free(struct match *m)
{
	free(m->to_old);
	free(m->to_new);
	m->to_old = m->to_new = NULL;
}

static int match_backends(const struct weir_service_cfg *old, const struct weir_service_cfg *new,
			  struct match *m)
{
	size_t i, n_old = old ? old->n_backends : 0, *idx = NULL;

	m->to_old = malloc((new->n_backends + 1) * sizeof(*m->to_old));
	m->to_new = malloc((n_old + 1) * sizeof(*m->to_new));
	idx = malloc((n_old + 1) * sizeof(*idx));
	if (!m->to_old || !m->to_new || !idx) {
		free(idx);
		match_free(m);
		return -ENOMEM;
	}
	for (i = 0; i < n_old; i++) {
		idx[i] = i;
		m->to_new[i] = -1;
	}
	if (n_old)
		qsort_r(idx, n_old, sizeof(*idx), by_addr_port, old->backends);
	for (i = 0; i < new->n_backends; i++) {
		const struct weir_backend_cfg *c = &new->backends[i];
		size_t lo = 0, hi = n_old;

		m->to_old[i] = -1;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			const struct weir_backend_cfg *o = &old->backends[idx[mid]];
			int cmp = memcmp(o->addr.bytes, c->addr.bytes, sizeof(o->addr.bytes));

			cmp = cmp ? cmp : (int)o->port - (int)c->port;
			if (!cmp) {
				m->to_old[i] = (ssize_t)idx[mid];
				m->to_new[idx[mid]] = (ssize_t)i;
				break;
			}
			if (cmp < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	free(idx);
	return 0;
}

/* Writes backend i of v unless the maps hold the same value already (old's
 * backend to_old[i], old being what the maps hold now).
 */
static int write_backend(struct weir_services *s, const struct svc *v, size_t i,
			 const struct svc *old, const ssize_t *to_old)
{
	struct weir_lb_backend bv = backend_value(&v->cfg.backends[i], &v->b[i]), was;

	if (old && to_old && to_old[i] >= 0) {
		was = backend_value(&old->cfg.backends[to_old[i]], &old->b[to_old[i]]);
		if (!memcmp(&was, &bv, sizeof(bv)) && old->b[to_old[i]].id == v->b[i].id)
			return 0;
	}
	return weir_lb_maps_set_backend(&s->maps, v->b[i].id, &bv);
}

/* Writes v to the maps. old (with m matching old to v), when given, is what
 * the maps hold now: only what changed is written. Backends that take new
 * flows go first, then the table that names them, the service entry, and the
 * backends that left the table.
 */
static int apply(struct weir_services *s, struct svc *v, const struct svc *old,
		 const struct match *m)
{
	const ssize_t *to_old = m ? m->to_old : NULL;
	size_t i;
	int err;

	err = build_table(s, v);
	if (err || !s->have_maps)
		return err;
	for (i = 0; i < v->cfg.n_backends; i++) {
		if (!usable(&v->cfg.backends[i], &v->b[i]))
			continue;
		err = write_backend(s, v, i, old, to_old);
		if (err)
			return err;
	}
	err = weir_lb_maps_set_table(&s->maps, v->id, s->table, v->cfg.table_size);
	err = err ?: write_service(s, v);
	if (err)
		return err;
	if (old && !same_frontend(&old->cfg, &v->cfg)) {
		struct weir_lb_svc_key k = svc_key(&old->cfg);

		/* Same id, so the table stays; only the old key goes. */
		if (bpf_map_delete_elem(s->maps.services, &k) && errno != ENOENT)
			log_warn("lb: delete old frontend of service=%s: %s", v->cfg.name,
				 strerror(errno));
	}
	for (i = 0; i < v->cfg.n_backends; i++) {
		if (usable(&v->cfg.backends[i], &v->b[i]))
			continue;
		err = write_backend(s, v, i, old, to_old);
		if (err)
			return err;
	}
	for (i = 0; old && m && i < old->cfg.n_backends; i++)
		if (m->to_new[i] < 0)
			weir_lb_maps_clear_backend(&s->maps, old->b[i].id);
	return 0;
}

static json_t *state_json(struct weir_services *s)
{
	json_t *root = json_pack("{s:i,s:[]}", "version", STATE_VERSION, "services");
	json_t *arr = root ? json_object_get(root, "services") : NULL;
	size_t i, j;

	for (i = 0; arr && i < s->n; i++) {
		const struct svc *v = s->svcs[i];
		json_t *ids = json_array(), *e;

		for (j = 0; ids && j < v->cfg.n_backends; j++)
			json_array_append_new(ids, json_integer(v->b[j].id));
		e = json_pack("{s:I,s:o,s:o*}", "id", (json_int_t)v->id, "doc",
			      weir_service_doc_json(&v->cfg), "backend_ids", ids);
		if (!e || json_array_append_new(arr, e)) {
			json_decref(root);
			return NULL;
		}
	}
	return root;
}

/* Replaces the state file whole (lib/state_file.c): never half a file. */
static void state_save(struct weir_services *s)
{
	json_t *root;
	int err;

	if (!s->state_file)
		return;
	root = state_json(s);
	if (!root) {
		log_err("lb: state file path=%s not written: out of memory", s->state_file);
		return;
	}
	err = weir_state_file_write(s->state_file, root, JSON_COMPACT);
	json_decref(root);
	if (err)
		log_err("lb: write state file path=%s: %s: services will not survive a restart",
			s->state_file, strerror(-err));
}

/* Makes the runtime of a new or replaced service: ids kept by address and
 * port, new ones from the pool (or from ids[] when restoring).
 */
static int svc_make(struct weir_services *s, struct weir_service_cfg *cfg, const struct svc *old,
		    const struct match *m, uint32_t svc_id, const json_t *ids, struct svc **out,
		    char *err, size_t err_len)
{
	struct svc *v = calloc(1, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	v->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg)); /* v owns the backends now */
	if (v->cfg.n_backends && !(v->b = calloc(v->cfg.n_backends, sizeof(*v->b)))) {
		svc_free(v);
		return -ENOMEM;
	}
	v->id = old ? old->id : svc_id;
	if (!v->id && !(v->id = pool_alloc(&s->svc_ids))) {
		svc_free(v);
		snprintf(err, err_len, "service table full (lb-services-max=%u)", s->svc_ids.max);
		return -ENOSPC;
	}
	for (i = 0; i < v->cfg.n_backends; i++) {
		ssize_t o = m->to_old[i];
		uint32_t want = ids ? (uint32_t)json_integer_value(json_array_get(ids, i)) : 0;

		if (o >= 0 && old) {
			v->b[i] = old->b[o];
			continue;
		}
		v->b[i].healthy = true;
		if (want && pool_take(&s->backend_ids, want))
			v->b[i].id = want;
		else
			v->b[i].id = pool_alloc(&s->backend_ids);
		if (!v->b[i].id) {
			snprintf(err, err_len, "backend table full (lb-backends-max=%u)",
				 s->backend_ids.max);
			while (i--)
				if (m->to_old[i] < 0)
					pool_free(&s->backend_ids, v->b[i].id);
			if (!old && !svc_id)
				pool_free(&s->svc_ids, v->id);
			svc_free(v);
			return -ENOSPC;
		}
	}
	*out = v;
	return 0;
}

static int front_cmp(const void *x, const void *y)
{
	return memcmp(&((const struct front *)x)->k, &((const struct front *)y)->k,
		      sizeof(struct weir_lb_svc_key));
}

/* Rebuilds the id and frontend indexes after a change. Caller holds the lock. */
static void index_rebuild(struct weir_services *s)
{
	struct front *f = NULL;
	size_t i, j;

	memset(s->by_svc_id, 0, ((size_t)s->svc_ids.max + 1) * sizeof(struct svc *));
	memset(s->by_backend_id, 0, ((size_t)s->backend_ids.max + 1) * sizeof(*s->by_backend_id));
	if (s->n)
		f = malloc(s->n * sizeof(*f));
	for (i = 0; i < s->n; i++) {
		struct svc *v = s->svcs[i];

		s->by_svc_id[v->id] = v;
		for (j = 0; j < v->cfg.n_backends; j++)
			s->by_backend_id[v->b[j].id] = (struct backend_ref){ v, (uint32_t)j };
		if (f) {
			f[i].k = svc_key(&v->cfg);
			f[i].v = v;
		}
	}
	if (f)
		qsort(f, s->n, sizeof(*f), front_cmp);
	free(s->fronts);
	s->fronts = f;
	s->n_fronts = f ? s->n : 0;
}

/* Installs cfg (consumed) as a service. Caller holds the lock. */
static int put_locked(struct weir_services *s, struct weir_service_cfg *cfg, uint32_t svc_id,
		      const json_t *ids, bool *created, char *err, size_t err_len)
{
	struct svc *old, *v = NULL, **grown;
	struct match m = { 0 };
	size_t i, idx = 0;
	int ret;

	old = find(s, cfg->name, &idx);
	for (i = 0; i < s->n; i++) {
		if (s->svcs[i] != old && same_frontend(&s->svcs[i]->cfg, cfg)) {
			snprintf(err, err_len,
				 "vip: service %s already has this VIP, port and protocol",
				 s->svcs[i]->cfg.name);
			return -EEXIST;
		}
	}
	if (!old && s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;

		grown = realloc(s->svcs, cap * sizeof(struct svc *));
		if (!grown)
			return -ENOMEM;
		s->svcs = grown;
		s->cap = cap;
	}
	if (!old && svc_id && !pool_take(&s->svc_ids, svc_id))
		svc_id = 0;
	ret = match_backends(old ? &old->cfg : NULL, cfg, &m);
	if (ret)
		return ret;
	ret = svc_make(s, cfg, old, &m, svc_id, ids, &v, err, err_len);
	if (ret) {
		match_free(&m);
		return ret;
	}
	ret = apply(s, v, old, &m);
	if (ret) {
		struct match back = { .to_old = m.to_new, .to_new = m.to_old };

		snprintf(err, err_len, "writing the datapath's maps: %s", strerror(-ret));
		/* The maps may hold part of v: put old back whole. */
		if (old && apply(s, old, v, &back))
			log_err("lb: service=%s: could not restore the previous version",
				old->cfg.name);
		for (i = 0; i < v->cfg.n_backends; i++)
			if (m.to_old[i] < 0)
				pool_free(&s->backend_ids, v->b[i].id);
		if (!old)
			pool_free(&s->svc_ids, v->id);
		svc_free(v);
		match_free(&m);
		return ret;
	}
	/* Ids of backends that left go back to the pool. */
	for (i = 0; old && i < old->cfg.n_backends; i++)
		if (m.to_new[i] < 0)
			pool_free(&s->backend_ids, old->b[i].id);
	match_free(&m);
	if (old) {
		s->svcs[idx] = v;
		svc_free(old);
	} else {
		s->svcs[s->n++] = v;
	}
	index_rebuild(s);
	s->generation++;
	if (created)
		*created = !old;
	return 0;
}

int weir_services_put(struct weir_services *s, const char *name, const json_t *doc, bool *created,
		      char *err, size_t err_len)
{
	char svc_name[WEIR_SVC_NAME_MAX + 1];
	struct weir_service_cfg cfg;
	size_t n_backends;
	bool is_new = false;
	int ret;

	ret = weir_service_doc_parse(doc, s->table_size, WEIR_LB_MAGLEV_M_MAX, &cfg, err, err_len);
	if (ret)
		return ret;
	if (name && strcmp(name, cfg.name) != 0) {
		snprintf(err, err_len, "name: \"%s\" is not the service of this path (%s)",
			 cfg.name, name);
		weir_service_cfg_release(&cfg);
		return -EINVAL;
	}
	snprintf(svc_name, sizeof(svc_name), "%s", cfg.name);
	n_backends = cfg.n_backends;
	pthread_mutex_lock(&s->lock);
	ret = put_locked(s, &cfg, 0, NULL, &is_new, err, err_len);
	if (!ret) {
		log_info("lb: service=%s %s backends=%zu", svc_name, is_new ? "created" : "updated",
			 n_backends);
		state_save(s);
		if (created)
			*created = is_new;
	}
	pthread_mutex_unlock(&s->lock);
	weir_service_cfg_release(&cfg);
	return ret;
}

static void svc_remove_locked(struct weir_services *s, size_t idx)
{
	struct svc *v = s->svcs[idx];
	struct weir_lb_svc_key k = svc_key(&v->cfg);
	size_t i;

	if (s->have_maps) {
		weir_lb_maps_delete_service(&s->maps, &k, v->id);
		for (i = 0; i < v->cfg.n_backends; i++)
			weir_lb_maps_clear_backend(&s->maps, v->b[i].id);
	}
	for (i = 0; i < v->cfg.n_backends; i++)
		pool_free(&s->backend_ids, v->b[i].id);
	pool_free(&s->svc_ids, v->id);
	s->svcs[idx] = s->svcs[--s->n];
	svc_free(v);
	index_rebuild(s);
	s->generation++;
}

int weir_services_delete(struct weir_services *s, const char *name)
{
	size_t idx;

	pthread_mutex_lock(&s->lock);
	if (!find(s, name, &idx)) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	svc_remove_locked(s, idx);
	log_info("lb: service=%s deleted", name);
	state_save(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

size_t weir_services_count(struct weir_services *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static const char *health_name(const struct svc *v, size_t i)
{
	if (v->cfg.health.type == WEIR_HEALTH_NONE)
		return "unchecked";
	return v->b[i].healthy ? "up" : "down";
}

static json_t *svc_json(struct weir_services *s, const struct svc *v,
			const struct weir_lb_ct_counts *ct, bool stats)
{
	json_t *j = weir_service_doc_json(&v->cfg), *arr;
	struct weir_lb_stats st;
	size_t i;

	if (!j)
		return NULL;
	json_object_set_new(j, "id", json_integer(v->id));
	json_object_set_new(j, "usable_backends", json_integer(v->n_usable));
	if (s->have_maps && stats) {
		weir_lb_stats_read(s->maps.svc_stats, v->id, &st);
		json_object_set_new(j, "stats", weir_lb_stats_json(&st, ct ? ct->svc[v->id] : 0));
	}
	arr = json_object_get(j, "backends");
	for (i = 0; i < v->cfg.n_backends; i++) {
		json_t *b = json_array_get(arr, i);

		json_object_set_new(b, "id", json_integer(v->b[i].id));
		json_object_set_new(b, "health", json_string(health_name(v, i)));
		json_object_set_new(b, "health_changes",
				    json_integer((json_int_t)v->b[i].health_changes));
		if (s->have_maps && stats) {
			weir_lb_stats_read(s->maps.backend_stats, v->b[i].id, &st);
			json_object_set_new(
				b, "stats",
				weir_lb_stats_json(&st, ct ? ct->backend[v->b[i].id] : 0));
		}
	}
	return j;
}

json_t *weir_services_json(struct weir_services *s, const char *name, bool *found)
{
	struct weir_lb_ct_counts ct = { 0 };
	bool have_ct = false;
	json_t *root = NULL, *arr;
	struct svc *v;
	size_t i;

	if (found)
		*found = true;
	/* Counting conntrack entries walks the map: before taking the lock. */
	if (s->have_maps)
		have_ct = !weir_lb_ct_count(&s->maps, s->svc_ids.max, s->backend_ids.max, &ct);
	pthread_mutex_lock(&s->lock);
	if (name) {
		v = find(s, name, NULL);
		if (v)
			root = svc_json(s, v, have_ct ? &ct : NULL, true);
		else if (found)
			*found = false;
		goto out;
	}
	root = json_pack("{s:[]}", "services");
	arr = root ? json_object_get(root, "services") : NULL;
	for (i = 0; arr && i < s->n; i++) {
		if (json_array_append_new(arr,
					  svc_json(s, s->svcs[i], have_ct ? &ct : NULL, true))) {
			json_decref(root);
			root = NULL;
		}
	}
out:
	pthread_mutex_unlock(&s->lock);
	weir_lb_ct_counts_release(&ct);
	return root;
}

json_t *weir_services_applied(struct weir_services *s, const char *name)
{
	json_t *j = NULL;
	struct svc *v;

	pthread_mutex_lock(&s->lock);
	v = find(s, name, NULL);
	if (v)
		j = svc_json(s, v, NULL, false);
	pthread_mutex_unlock(&s->lock);
	return j;
}

int weir_services_targets(struct weir_services *s, struct weir_lb_target **out, size_t *n_out,
			  uint64_t *gen)
{
	struct weir_lb_target *t = NULL, *grown;
	size_t i, j, n = 0, cap = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++) {
		const struct svc *v = s->svcs[i];

		if (v->cfg.health.type == WEIR_HEALTH_NONE)
			continue;
		for (j = 0; j < v->cfg.n_backends; j++) {
			const struct weir_backend_cfg *c = &v->cfg.backends[j];

			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				grown = realloc(t, cap * sizeof(*t));
				if (!grown) {
					pthread_mutex_unlock(&s->lock);
					free(t);
					return -ENOMEM;
				}
				t = grown;
			}
			memset(&t[n], 0, sizeof(t[n]));
			snprintf(t[n].svc, sizeof(t[n].svc), "%s", v->cfg.name);
			t[n].addr = c->addr;
			t[n].port = c->port;
			t[n].probe_port = v->cfg.health.port ? v->cfg.health.port : c->port;
			t[n].health = v->cfg.health;
			n++;
		}
	}
	*gen = s->generation;
	pthread_mutex_unlock(&s->lock);
	*out = t;
	*n_out = n;
	return 0;
}

uint64_t weir_services_generation(struct weir_services *s)
{
	uint64_t g;

	pthread_mutex_lock(&s->lock);
	g = s->generation;
	pthread_mutex_unlock(&s->lock);
	return g;
}

int weir_services_set_health(struct weir_services *s, const char *svc, const struct weir_addr *a,
			     uint16_t port, bool up)
{
	struct backend_rt *rt = NULL;
	char addr[64];
	struct svc *v;
	size_t i;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	v = find(s, svc, NULL);
	for (i = 0; v && i < v->cfg.n_backends; i++) {
		const struct weir_backend_cfg *c = &v->cfg.backends[i];

		if (c->port == port && !memcmp(c->addr.bytes, a->bytes, 16)) {
			rt = &v->b[i];
			break;
		}
	}
	if (!rt) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	if (rt->healthy != up) {
		rt->healthy = up;
		rt->health_changes++;
		s->transitions[up]++;
		weir_addr_str(a->family, a->bytes, addr, sizeof(addr));
		log_info("lb: service=%s backend=%s port=%u health=%s", svc, addr, port,
			 up ? "up" : "down");
		err = apply(s, v, NULL, NULL);
		if (err)
			log_err("lb: service=%s: table not rebuilt after a health change: %s", svc,
				strerror(-err));
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

bool weir_services_name_of(struct weir_services *s, uint32_t svc_id, char *name, size_t len)
{
	bool ok = false;

	pthread_mutex_lock(&s->lock);
	if (svc_id && svc_id <= s->svc_ids.max && s->by_svc_id[svc_id]) {
		snprintf(name, len, "%s", s->by_svc_id[svc_id]->cfg.name);
		ok = true;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

bool weir_services_backend_of(struct weir_services *s, uint32_t backend_id, struct weir_addr *addr,
			      uint16_t *port)
{
	const struct backend_ref *ref;
	bool ok = false;

	pthread_mutex_lock(&s->lock);
	if (backend_id && backend_id <= s->backend_ids.max) {
		ref = &s->by_backend_id[backend_id];
		if (ref->v) {
			*addr = ref->v->cfg.backends[ref->i].addr;
			*port = ref->v->cfg.backends[ref->i].port;
			ok = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* The frontend k belongs to, or NULL. Caller holds the lock. */
static struct svc *front_find(struct weir_services *s, const struct weir_lb_svc_key *k)
{
	struct front key = { .k = *k }, *f;

	if (!s->n_fronts)
		return NULL;
	f = bsearch(&key, s->fronts, s->n_fronts, sizeof(*f), front_cmp);
	return f ? f->v : NULL;
}

static struct weir_lb_svc_key flow_front(const struct weir_flow_key *k, bool source)
{
	struct weir_lb_svc_key f;

	memset(&f, 0, sizeof(f));
	memcpy(f.addr, source ? k->saddr : k->daddr, sizeof(f.addr));
	f.port = source ? k->sport : k->dport;
	f.proto = k->proto;
	f.family = k->family;
	return f;
}

int weir_services_flow(struct weir_services *s, const struct weir_flow_key *k,
		       struct weir_flow_record *r)
{
	struct weir_lb_svc_key fk;
	struct weir_lb_tuple t;
	struct weir_lb_ct_value ct;
	bool reply = false, have_ct;
	struct svc *v;
	char name[WEIR_SVC_NAME_MAX + 1];
	int i;

	if (!s->have_maps || (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP))
		return 0;
	pthread_mutex_lock(&s->lock);
	fk = flow_front(k, false);
	v = front_find(s, &fk);
	if (!v) {
		fk = flow_front(k, true); /* the reply, after reverse NAT */
		v = front_find(s, &fk);
		reply = v != NULL;
	}
	if (v)
		snprintf(name, sizeof(name), "%s", v->cfg.name);
	pthread_mutex_unlock(&s->lock);
	if (!v)
		return 0;
	t = weir_lb_tuple_of_flow(k);
	if (reply) {
		for (i = 0; i < 4; i++) {
			__be32 tmp = t.saddr[i];

			t.saddr[i] = t.daddr[i];
			t.daddr[i] = tmp;
		}
		t.sport = k->dport;
		t.dport = k->sport;
	}
	have_ct = !bpf_map_lookup_elem(s->maps.ct, &t, &ct);
	r->dst_service = strdup(name);
	if (!r->dst_service)
		return -ENOMEM;
	if (have_ct) {
		struct weir_addr a;
		uint16_t port;

		if (weir_services_backend_of(s, ct.backend_id, &a, &port)) {
			memcpy(r->lb_backend, a.bytes, sizeof(r->lb_backend));
			r->lb_backend_port = port;
		}
	}
	return 1;
}

void weir_services_health_transitions(struct weir_services *s, uint64_t out[2])
{
	pthread_mutex_lock(&s->lock);
	out[0] = s->transitions[0];
	out[1] = s->transitions[1];
	pthread_mutex_unlock(&s->lock);
}

/* Restart. */

struct reconcile {
	struct weir_lb_svc_key *stale;
	uint32_t *stale_ids;
	size_t n, cap;
	struct weir_services *s;
};

static void collect_stale(void *ctx, const struct weir_lb_svc_key *k, const struct weir_lb_svc *v)
{
	struct reconcile *r = ctx;
	size_t i;

	for (i = 0; i < r->s->n; i++) {
		struct weir_lb_svc_key mine = svc_key(&r->s->svcs[i]->cfg);

		if (!memcmp(&mine, k, sizeof(mine)))
			return;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		void *a = realloc(r->stale, cap * sizeof(*r->stale));
		void *b = a ? realloc(r->stale_ids, cap * sizeof(*r->stale_ids)) : NULL;

		if (a)
			r->stale = a;
		if (!b)
			return;
		r->stale_ids = b;
		r->cap = cap;
	}
	r->stale[r->n] = *k;
	r->stale_ids[r->n++] = v->id;
}

/* Removes from the maps the services and backends the table does not hold. */
static void reconcile_maps(struct weir_services *s)
{
	struct reconcile r = { .s = s };
	struct weir_lb_backend b;
	uint32_t id;
	size_t i;

	weir_lb_maps_for_each_service(&s->maps, collect_stale, &r);
	for (i = 0; i < r.n; i++) {
		log_info("lb: removing service id=%u the state file does not name", r.stale_ids[i]);
		weir_lb_maps_delete_service(&s->maps, &r.stale[i], r.stale_ids[i]);
	}
	free(r.stale);
	free(r.stale_ids);
	for (id = 1; id <= s->backend_ids.max; id++) {
		if (s->backend_ids.used[id])
			continue;
		if (!bpf_map_lookup_elem(s->maps.backends, &id, &b) && b.family)
			weir_lb_maps_clear_backend(&s->maps, id);
	}
}

int weir_services_restore(struct weir_services *s, char *err, size_t err_len)
{
	json_t *root = NULL, *arr, *e;
	json_error_t jerr;
	size_t i, restored = 0;
	int ret = 0;

	if (s->state_file && access(s->state_file, F_OK) == 0) {
		root = json_load_file(s->state_file, JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			snprintf(err, err_len, "state file %s: line %d: %s", s->state_file,
				 jerr.line, jerr.text);
			return -EINVAL;
		}
	}
	arr = root ? json_object_get(root, "services") : NULL;
	pthread_mutex_lock(&s->lock);
	json_array_foreach(arr, i, e)
	{
		struct weir_service_cfg cfg;
		char why[256] = "";
		json_t *ids = json_object_get(e, "backend_ids");

		ret = weir_service_doc_parse(json_object_get(e, "doc"), s->table_size,
					     WEIR_LB_MAGLEV_M_MAX, &cfg, why, sizeof(why));
		if (!ret && json_array_size(ids) != cfg.n_backends)
			ids = NULL;
		if (!ret)
			ret = put_locked(s, &cfg,
					 (uint32_t)json_integer_value(json_object_get(e, "id")),
					 ids, NULL, why, sizeof(why));
		weir_service_cfg_release(&cfg);
		if (ret) {
			log_err("lb: state file path=%s: services[%zu] not restored: %s",
				s->state_file, i, why);
			continue;
		}
		restored++;
	}
	if (s->have_maps)
		reconcile_maps(s);
	index_rebuild(s);
	pthread_mutex_unlock(&s->lock);
	json_decref(root);
	if (root)
		log_info("lb: restored services=%zu from path=%s", restored, s->state_file);
	return 0;
}
