// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The endpoint cache: address -> endpoint from the API, Kubernetes, the file
 * and netns discovery, looked up for every flow. Each source's endpoints are entries;
 * each address of an entry is a claim in one hash table, and a lookup picks
 * the most authoritative claim. Updates build their entries first, then swap
 * them in under the write lock, so a reader sees the old set or the new one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "endpoint_doc.h"
#include "endpoints.h"
#include "hashtab.h"
#include "log.h"
#include "netns_discovery.h"

#define RANK_HOST	WEIR_EP_SRC_MAX /* the node's own addresses: below every source */
#define ADDRS_EXPECTED	1024		/* initial table sizes; both grow */
#define PODS_EXPECTED	256
#define NETNS_NAMESPACE "netns"
#define ERR_LEN		256

struct entry;

/* One address of an entry. node is first: a chain node is its claim. */
struct claim {
	struct weir_hnode node; /* in eps->addrs, by family and address */
	const struct weir_addr *addr;
	struct entry *entry;
};

/* One endpoint from one source. pod_node is first: a chain node is its entry. */
struct entry {
	struct weir_hnode pod_node; /* in eps->pods, by namespace/pod_name (not host) */
	struct entry *prev, *next;  /* in eps->src[rank] (not host) */
	unsigned int rank;	    /* enum weir_ep_source, or RANK_HOST */
	uint64_t seq;		    /* among one source's claims to an address, the newest wins */
	bool gone;		    /* removed, and its pod is in no source any more */
	struct weir_endpoint *ep;   /* the cache's reference */
	struct weir_addr *ips;
	size_t n_ips;
	struct claim *claims;	      /* claims[i] is ips[i] */
	struct weir_endpoint_reg reg; /* API registrations: interface, container, pod UID */
};

struct entry_list {
	struct entry *head, *tail;
	size_t n;
};

struct weir_endpoints {
	pthread_rwlock_t lock;	     /* everything below; lookups take it shared */
	pthread_mutex_t update_lock; /* one update at a time, gone callbacks included */
	struct weir_htab addrs;	     /* claims */
	struct weir_htab pods;	     /* entries of every source */
	struct entry_list src[WEIR_EP_SRC_MAX];
	struct entry *host;
	struct weir_endpoint *host_ep; /* shared by every host address */
	char *node_name;
	uint64_t seq;
	weir_endpoints_gone_fn gone_fn;
	void *gone_ctx;
	weir_endpoints_change_fn change_fn;
	void *change_ctx;
	weir_endpoints_reg_fn reg_fn; /* under update_lock */
	void *reg_ctx;
};

static const char *const source_names[WEIR_EP_SRC_MAX] = {
	[WEIR_EP_SRC_API] = "api",
	[WEIR_EP_SRC_K8S] = "k8s",
	[WEIR_EP_SRC_FILE] = "file",
	[WEIR_EP_SRC_NETNS] = "netns",
};

static uint64_t addr_hash(const struct weir_addr *a)
{
	return weir_hash_bytes(a, sizeof(*a));
}

static uint64_t pod_hash(const char *namespace, const char *pod_name)
{
	return weir_hash_bytes(namespace, strlen(namespace)) * 0x9e3779b97f4a7c15ULL ^
	       weir_hash_bytes(pod_name, strlen(pod_name));
}

/* The address as the table keys it: IPv4 uses 4 bytes, the rest zero. */
static bool addr_key(struct weir_addr *key, uint8_t family, const uint8_t bytes[16])
{
	memset(key, 0, sizeof(*key));
	if (family == 4)
		memcpy(key->bytes, bytes, 4);
	else if (family == 6)
		memcpy(key->bytes, bytes, 16);
	else
		return false;
	key->family = family;
	return true;
}

static bool addr_eq(const struct weir_addr *a, const struct weir_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

/* The pod's entry from source rank, or from any source (rank -1). */
static struct entry *pod_find(const struct weir_endpoints *eps, const char *namespace,
			      const char *pod_name, int rank)
{
	uint64_t h = pod_hash(namespace, pod_name);
	struct weir_hnode *n;

	weir_htab_for_each_possible(&eps->pods, n, h)
	{
		struct entry *e = (struct entry *)n;

		if ((rank < 0 || e->rank == (unsigned int)rank) &&
		    !strcmp(e->ep->namespace, namespace) && !strcmp(e->ep->pod_name, pod_name))
			return e;
	}
	return NULL;
}

/* Takes over ep and ips. On failure both are released. */
static struct entry *entry_new(unsigned int rank, struct weir_endpoint *ep, struct weir_addr *ips,
			       size_t n_ips)
{
	struct entry *e = calloc(1, sizeof(*e));
	size_t i;

	if (e)
		e->claims = calloc(n_ips ? n_ips : 1, sizeof(*e->claims));
	if (!e || !e->claims) {
		free(e);
		free(ips);
		weir_endpoint_put(ep);
		return NULL;
	}
	e->rank = rank;
	e->ep = ep;
	e->ips = ips;
	e->n_ips = n_ips;
	for (i = 0; i < n_ips; i++) {
		e->claims[i].addr = &ips[i];
		e->claims[i].entry = e;
		e->claims[i].node.hash = addr_hash(&ips[i]);
	}
	if (ep->namespace && ep->pod_name)
		e->pod_node.hash = pod_hash(ep->namespace, ep->pod_name);
	return e;
}

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	weir_endpoint_put(e->ep);
	weir_endpoint_reg_release(&e->reg);
	free(e->claims);
	free(e->ips);
	free(e);
}

static void entries_free(struct entry **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		entry_free(v[i]);
	free(v);
}

static int entry_from_doc(const struct weir_endpoints *eps, unsigned int rank, const json_t *doc,
			  const char *where, struct entry **out, char *err, size_t err_len)
{
	struct weir_endpoint *ep;
	struct weir_addr *ips;
	size_t n_ips;
	int ret;

	struct weir_endpoint_reg reg;

	ret = weir_endpoint_doc_parse(doc, where, eps->node_name, &ep, &ips, &n_ips, err, err_len);
	if (ret)
		return ret;
	ret = weir_endpoint_doc_reg(doc, where, &reg, err, err_len);
	if (ret) {
		weir_endpoint_put(ep);
		free(ips);
		return ret;
	}
	*out = entry_new(rank, ep, ips, n_ips);
	if (!*out) {
		weir_endpoint_reg_release(&reg);
		return -ENOMEM;
	}
	(*out)->reg = reg;
	return 0;
}

/* Under the write lock. Fails only when a table cannot grow. */
static int entry_link(struct weir_endpoints *eps, struct entry *e)
{
	struct entry_list *l;
	size_t i;
	int err;

	for (i = 0; i < e->n_ips; i++) {
		err = weir_htab_insert(&eps->addrs, &e->claims[i].node, e->claims[i].node.hash);
		if (err)
			goto err_unlink;
	}
	if (e->rank != RANK_HOST) {
		err = weir_htab_insert(&eps->pods, &e->pod_node, e->pod_node.hash);
		if (err)
			goto err_unlink;
	}
	if (!e->seq) /* an entry put back keeps its age */
		e->seq = ++eps->seq;
	if (e->rank == RANK_HOST) {
		eps->host = e;
		return 0;
	}
	l = &eps->src[e->rank];
	e->prev = l->tail;
	e->next = NULL;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
	l->n++;
	return 0;

err_unlink:
	while (i--)
		weir_htab_remove(&eps->addrs, &e->claims[i].node);
	return err;
}

/* Under the write lock. */
static void entry_unlink(struct weir_endpoints *eps, struct entry *e)
{
	struct entry_list *l;
	size_t i;

	for (i = 0; i < e->n_ips; i++)
		weir_htab_remove(&eps->addrs, &e->claims[i].node);
	if (e->rank == RANK_HOST) {
		eps->host = NULL;
		return;
	}
	weir_htab_remove(&eps->pods, &e->pod_node);
	l = &eps->src[e->rank];
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	l->n--;
}

/* Swaps old for add in one write-locked step, then tells the gone callback
 * about the pods no source knows any more and frees old. All or nothing: on
 * -ENOMEM old stays in and add is still the caller's. The caller holds
 * update_lock, so old cannot change under it.
 */
static int commit(struct weir_endpoints *eps, struct entry **old, size_t n_old, struct entry **add,
		  size_t n_add)
{
	weir_endpoints_change_fn change_fn;
	weir_endpoints_gone_fn fn;
	void *ctx, *change_ctx;
	size_t i, j;
	int err = 0;

	pthread_rwlock_wrlock(&eps->lock);
	for (i = 0; i < n_old; i++)
		entry_unlink(eps, old[i]);
	for (i = 0; i < n_add && !err; i++)
		err = entry_link(eps, add[i]);
	if (err) {
		for (j = 0; j + 1 < i; j++)
			entry_unlink(eps, add[j]);
		/* Cannot fail: the tables held these before, and never shrink. */
		for (j = 0; j < n_old; j++)
			entry_link(eps, old[j]);
		pthread_rwlock_unlock(&eps->lock);
		log_err("endpoint cache: no memory to grow the tables, update dropped");
		return err;
	}
	for (i = 0; i < n_old; i++)
		old[i]->gone = old[i]->rank != RANK_HOST &&
			       !pod_find(eps, old[i]->ep->namespace, old[i]->ep->pod_name, -1);
	fn = eps->gone_fn;
	ctx = eps->gone_ctx;
	change_fn = eps->change_fn;
	change_ctx = eps->change_ctx;
	pthread_rwlock_unlock(&eps->lock);

	for (i = 0; i < n_old; i++) {
		if (old[i]->gone && fn)
			fn(ctx, old[i]->ep->namespace, old[i]->ep->pod_name);
		entry_free(old[i]);
	}
	if (change_fn)
		change_fn(change_ctx);
	return 0;
}

/* Replaces every entry of source rank with add[0..n_add). */
static int replace_source(struct weir_endpoints *eps, unsigned int rank, struct entry **add,
			  size_t n_add)
{
	struct entry **old, *e;
	size_t n_old = 0;
	int err;

	pthread_mutex_lock(&eps->update_lock);
	old = calloc(eps->src[rank].n ? eps->src[rank].n : 1, sizeof(struct entry *));
	if (!old) {
		pthread_mutex_unlock(&eps->update_lock);
		return -ENOMEM;
	}
	for (e = eps->src[rank].head; e; e = e->next)
		old[n_old++] = e;
	err = commit(eps, old, n_old, add, n_add);
	pthread_mutex_unlock(&eps->update_lock);
	free(old);
	return err;
}

/* Like world, no labels: "reserved:host" goes with the identity. */
static struct weir_endpoint *host_endpoint_new(const char *node_name)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_HOST);

	if (ep && node_name) {
		ep->node_name = strdup(node_name);
		if (!ep->node_name) {
			weir_endpoint_put(ep);
			return NULL;
		}
	}
	return ep;
}

int weir_endpoints_new(struct weir_endpoints **out, const char *node_name)
{
	pthread_rwlockattr_t attr;
	struct weir_endpoints *eps;
	int err;

	eps = calloc(1, sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	err = -ENOMEM;
	if (node_name) {
		eps->node_name = strdup(node_name);
		if (!eps->node_name)
			goto err_free;
	}
	eps->host_ep = host_endpoint_new(node_name);
	if (!eps->host_ep)
		goto err_free;
	err = weir_htab_init(&eps->addrs, ADDRS_EXPECTED);
	if (!err)
		err = weir_htab_init(&eps->pods, PODS_EXPECTED);
	if (err)
		goto err_free;
	/* glibc prefers readers by default: with a lookup for every flow, an
	 * update could wait forever.
	 */
	err = -pthread_rwlockattr_init(&attr);
	if (err)
		goto err_free;
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	err = -pthread_rwlock_init(&eps->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (err)
		goto err_free;
	err = -pthread_mutex_init(&eps->update_lock, NULL);
	if (err) {
		pthread_rwlock_destroy(&eps->lock);
		goto err_free;
	}
	*out = eps;
	return 0;

err_free:
	log_err("endpoint cache: %s", strerror(-err));
	weir_htab_release(&eps->addrs);
	weir_htab_release(&eps->pods);
	weir_endpoint_put(eps->host_ep);
	free(eps->node_name);
	free(eps);
	return err;
}

void weir_endpoints_free(struct weir_endpoints *eps)
{
	struct entry *e, *next;
	size_t i;

	if (!eps)
		return;
	for (i = 0; i < WEIR_EP_SRC_MAX; i++) {
		for (e = eps->src[i].head; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	entry_free(eps->host);
	weir_endpoint_put(eps->host_ep);
	weir_htab_release(&eps->addrs);
	weir_htab_release(&eps->pods);
	free(eps->node_name);
	pthread_mutex_destroy(&eps->update_lock);
	pthread_rwlock_destroy(&eps->lock);
	free(eps);
}

/* Whether a knows more about a pod than b: labels or a workload b lacks. */
static bool richer(const struct weir_endpoint *a, const struct weir_endpoint *b)
{
	return (a->n_labels && !b->n_labels) || (a->workload_name && !b->workload_name);
}

/* The entry whose claim to key wins; under the lock. */
static const struct entry *best_claim(const struct weir_endpoints *eps, const struct weir_addr *key)
{
	uint64_t h = addr_hash(key);
	const struct entry *best = NULL;
	struct weir_hnode *n;

	weir_htab_for_each_possible(&eps->addrs, n, h)
	{
		const struct claim *c = (const struct claim *)n;
		const struct entry *e = c->entry;

		if (!addr_eq(c->addr, key))
			continue;
		if (!best || e->rank < best->rank || (e->rank == best->rank && e->seq > best->seq))
			best = e;
	}
	/* The most authoritative claim says which pod is behind the address;
	 * another source's claim for that same pod may know more (the CNI
	 * plugin registers no labels, the Kubernetes watch does).
	 */
	if (best && best->rank != RANK_HOST) {
		weir_htab_for_each_possible(&eps->addrs, n, h)
		{
			const struct claim *c = (const struct claim *)n;
			const struct entry *e = c->entry;

			if (e != best && addr_eq(c->addr, key) && e->rank != RANK_HOST &&
			    richer(e->ep, best->ep) &&
			    !strcmp(e->ep->namespace, best->ep->namespace) &&
			    !strcmp(e->ep->pod_name, best->ep->pod_name))
				best = e;
		}
	}
	return best;
}

struct weir_endpoint *weir_endpoints_lookup(struct weir_endpoints *eps, uint8_t family,
					    const uint8_t addr[16])
{
	const struct entry *best;
	struct weir_endpoint *ep;
	struct weir_addr key;

	if (!eps || !addr || !addr_key(&key, family, addr))
		return weir_endpoint_get(weir_endpoint_world());
	pthread_rwlock_rdlock(&eps->lock);
	best = best_claim(eps, &key);
	ep = weir_endpoint_get(best ? best->ep : weir_endpoint_world());
	pthread_rwlock_unlock(&eps->lock);
	return ep;
}

/* After a change of source rank, under update_lock: the registrations'
 * follower (their state file) sees the changes in the order they were made.
 */
static void registrations_changed(struct weir_endpoints *eps, unsigned int rank)
{
	if (rank == WEIR_EP_SRC_API && eps->reg_fn)
		eps->reg_fn(eps->reg_ctx, eps);
}

/* Adds or replaces the pod's entry of source rank. */
static int upsert(struct weir_endpoints *eps, unsigned int rank, const json_t *doc, char *err,
		  size_t err_len)
{
	struct entry *e, *old;
	int ret;

	ret = entry_from_doc(eps, rank, doc, "", &e, err, err_len);
	if (ret)
		return ret;
	pthread_mutex_lock(&eps->update_lock);
	old = pod_find(eps, e->ep->namespace, e->ep->pod_name, (int)rank);
	log_debug("endpoint %s namespace=%s pod=%s ips=%zu source=%s", old ? "updated" : "added",
		  e->ep->namespace, e->ep->pod_name, e->n_ips, source_names[rank]);
	ret = commit(eps, &old, old ? 1 : 0, &e, 1);
	if (!ret)
		registrations_changed(eps, rank);
	pthread_mutex_unlock(&eps->update_lock);
	if (ret) {
		entry_free(e);
		snprintf(err, err_len, "out of memory");
	}
	return ret;
}

/* Removes the pod's entry of source rank, if container_id (when given)
 * registered it.
 */
static int remove_pod(struct weir_endpoints *eps, unsigned int rank, const char *namespace,
		      const char *pod_name, const char *container_id, char *iface, size_t iface_len)
{
	struct entry *old;
	int ret = -ENOENT;

	if (iface && iface_len)
		iface[0] = '\0';
	if (!namespace || !pod_name)
		return -EINVAL;
	pthread_mutex_lock(&eps->update_lock);
	old = pod_find(eps, namespace, pod_name, (int)rank);
	if (old && container_id && old->reg.container_id &&
	    strcmp(old->reg.container_id, container_id) != 0) {
		ret = -ESTALE;
		old = NULL;
	}
	if (old) {
		if (iface && iface_len && old->reg.interface)
			snprintf(iface, iface_len, "%s", old->reg.interface);
		ret = commit(eps, &old, 1, NULL, 0);
		if (!ret)
			registrations_changed(eps, rank);
	}
	pthread_mutex_unlock(&eps->update_lock);
	if (!ret)
		log_debug("endpoint removed namespace=%s pod=%s source=%s", namespace, pod_name,
			  source_names[rank]);
	return ret;
}

int weir_endpoints_register(struct weir_endpoints *eps, const json_t *doc, char *err,
			    size_t err_len)
{
	return upsert(eps, WEIR_EP_SRC_API, doc, err, err_len);
}

int weir_endpoints_unregister(struct weir_endpoints *eps, const char *namespace,
			      const char *pod_name)
{
	return remove_pod(eps, WEIR_EP_SRC_API, namespace, pod_name, NULL, NULL, 0);
}

int weir_endpoints_unregister_container(struct weir_endpoints *eps, const char *namespace,
					const char *pod_name, const char *container_id, char *iface,
					size_t iface_len)
{
	return remove_pod(eps, WEIR_EP_SRC_API, namespace, pod_name, container_id, iface,
			  iface_len);
}

bool weir_endpoints_has_interface(struct weir_endpoints *eps, const char *ifname)
{
	const struct entry *e;
	bool found = false;

	pthread_rwlock_rdlock(&eps->lock);
	for (e = eps->src[WEIR_EP_SRC_API].head; e && !found; e = e->next)
		found = e->reg.interface && !strcmp(e->reg.interface, ifname);
	pthread_rwlock_unlock(&eps->lock);
	return found;
}

int weir_endpoints_k8s_upsert(struct weir_endpoints *eps, const json_t *doc, char *err,
			      size_t err_len)
{
	return upsert(eps, WEIR_EP_SRC_K8S, doc, err, err_len);
}

int weir_endpoints_k8s_remove(struct weir_endpoints *eps, const char *namespace,
			      const char *pod_name)
{
	return remove_pod(eps, WEIR_EP_SRC_K8S, namespace, pod_name, NULL, NULL, 0);
}

/* Each pod once: Kubernetes never lists one twice, but a bad document is
 * skipped, not trusted.
 */
static bool listed_twice(struct entry *const *v, size_t n, const struct entry *e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i]->pod_node.hash == e->pod_node.hash &&
		    !strcmp(v[i]->ep->namespace, e->ep->namespace) &&
		    !strcmp(v[i]->ep->pod_name, e->ep->pod_name))
			return true;
	return false;
}

int weir_endpoints_k8s_replace(struct weir_endpoints *eps, const json_t *docs)
{
	size_t i, n = 0, n_docs = json_array_size(docs);
	char err[ERR_LEN], where[32];
	struct entry **v;
	int ret;

	v = calloc(n_docs ? n_docs : 1, sizeof(struct entry *));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n_docs; i++) {
		snprintf(where, sizeof(where), "pods[%zu]", i);
		ret = entry_from_doc(eps, WEIR_EP_SRC_K8S, json_array_get(docs, i), where, &v[n],
				     err, sizeof(err));
		if (ret == -ENOMEM)
			goto err_free;
		if (ret) {
			log_warn("k8s: pod skipped: %s", err);
			continue;
		}
		if (listed_twice(v, n, v[n])) {
			log_warn("k8s: pod %s/%s listed twice, the first kept", v[n]->ep->namespace,
				 v[n]->ep->pod_name);
			entry_free(v[n]);
			v[n] = NULL;
			continue;
		}
		n++;
	}
	ret = replace_source(eps, WEIR_EP_SRC_K8S, v, n);
	if (ret)
		goto err_free;
	free(v);
	log_debug("k8s: endpoints replaced pods=%zu", n);
	return 0;

err_free:
	entries_free(v, n);
	return ret;
}

static size_t index_of(struct entry *const *v, const struct entry *e)
{
	size_t i = 0;

	while (v[i] != e)
		i++;
	return i;
}

/* Two endpoints of one file for one pod or one address are a mistake in the
 * file, not something for precedence to settle.
 */
static int check_file_duplicates(struct entry **v, size_t n, char *err, size_t err_len)
{
	struct weir_htab pods, addrs;
	char buf[INET6_ADDRSTRLEN];
	struct weir_hnode *h;
	size_t i, j;
	int ret;

	ret = weir_htab_init(&pods, n);
	if (!ret)
		ret = weir_htab_init(&addrs, n);
	if (ret) {
		weir_htab_release(&pods);
		return ret;
	}
	for (i = 0; i < n && !ret; i++) {
		const struct weir_endpoint *ep = v[i]->ep;

		weir_htab_for_each_possible(&pods, h, v[i]->pod_node.hash)
		{
			const struct entry *e = (const struct entry *)h;

			if (!strcmp(e->ep->namespace, ep->namespace) &&
			    !strcmp(e->ep->pod_name, ep->pod_name)) {
				snprintf(err, err_len,
					 "endpoints[%zu]: pod %s/%s is also endpoints[%zu]", i,
					 ep->namespace, ep->pod_name, index_of(v, e));
				ret = -EINVAL;
				break;
			}
		}
		if (!ret)
			ret = weir_htab_insert(&pods, &v[i]->pod_node, v[i]->pod_node.hash);
		for (j = 0; j < v[i]->n_ips && !ret; j++) {
			const struct claim *c = &v[i]->claims[j];

			weir_htab_for_each_possible(&addrs, h, c->node.hash)
			{
				const struct claim *o = (const struct claim *)h;

				if (!addr_eq(o->addr, c->addr))
					continue;
				inet_ntop(c->addr->family == 4 ? AF_INET : AF_INET6, c->addr->bytes,
					  buf, sizeof(buf));
				snprintf(err, err_len,
					 "endpoints[%zu].ips[%zu]: \"%s\" is also endpoints[%zu]'s",
					 i, j, buf, index_of(v, o->entry));
				ret = -EINVAL;
				break;
			}
			if (!ret)
				ret = weir_htab_insert(&addrs, &v[i]->claims[j].node, c->node.hash);
		}
	}
	/* The nodes are relinked, not unlinked, when the entries go in. */
	weir_htab_release(&pods);
	weir_htab_release(&addrs);
	return ret;
}

/* The file's {"endpoints": [...]}, validated whole, into v[0..*n). */
static int file_entries(const struct weir_endpoints *eps, const json_t *root, struct entry ***out,
			size_t *n_out, char *err, size_t err_len)
{
	const json_t *docs;
	struct entry **v;
	char where[32];
	size_t i, n;
	int ret;

	ret = weir_endpoint_doc_file(root, &docs, err, err_len);
	if (ret)
		return ret;
	n = json_array_size(docs);
	v = calloc(n ? n : 1, sizeof(struct entry *));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "endpoints[%zu]", i);
		ret = entry_from_doc(eps, WEIR_EP_SRC_FILE, json_array_get(docs, i), where, &v[i],
				     err, err_len);
		if (ret)
			goto err_free;
		if (v[i]->reg.interface || v[i]->reg.container_id || v[i]->reg.pod_uid) {
			snprintf(err, err_len,
				 "%s: interface, container_id and pod_uid are for registrations "
				 "through the API",
				 where);
			ret = -EINVAL;
			n = i + 1;
			goto err_free;
		}
	}
	ret = check_file_duplicates(v, n, err, err_len);
	if (ret)
		goto err_free;
	*out = v;
	*n_out = n;
	return 0;

err_free:
	entries_free(v, n);
	return ret;
}

int weir_endpoints_load_file(struct weir_endpoints *eps, const char *path, char *err,
			     size_t err_len)
{
	struct entry **v = NULL;
	json_error_t jerr;
	json_t *root;
	size_t n = 0;
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return ret;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root) {
		snprintf(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	ret = file_entries(eps, root, &v, &n, err, err_len);
	json_decref(root);
	if (!ret)
		ret = replace_source(eps, WEIR_EP_SRC_FILE, v, n);
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, err_len, "out of memory");
		entries_free(v, n);
		return ret;
	}
	free(v);
	log_debug("endpoints file path=%s endpoints=%zu", path, n);
	return 0;
}

/* The netns's document, so its endpoint is made and checked like any other. */
static int netns_entry(const struct weir_endpoints *eps, const struct weir_netns *ns,
		       struct entry **out)
{
	char buf[INET6_ADDRSTRLEN], err[ERR_LEN];
	json_t *doc, *ips;
	size_t i;
	int ret;

	doc = json_pack("{s:[], s:s, s:s, s:{s:s}}", "ips", "namespace", NETNS_NAMESPACE,
			"pod_name", ns->name, "labels", "netns", ns->name);
	if (!doc)
		return -ENOMEM;
	ips = json_object_get(doc, "ips");
	for (i = 0; i < ns->n_addrs; i++) {
		const struct weir_addr *a = &ns->addrs[i];

		inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, buf, sizeof(buf));
		if (json_array_append_new(ips, json_string(buf))) {
			json_decref(doc);
			return -ENOMEM;
		}
	}
	ret = entry_from_doc(eps, WEIR_EP_SRC_NETNS, doc, "", out, err, sizeof(err));
	json_decref(doc);
	if (ret == -EINVAL)
		log_warn("netns discovery: skipped netns=%s: %s", ns->name, err);
	return ret;
}

int weir_endpoints_discover_netns(struct weir_endpoints *eps, const char *netns_dir)
{
	struct entry **v = NULL;
	struct weir_netns *nss;
	size_t i, n = 0, n_ns;
	int ret;

	ret = weir_netns_scan(netns_dir, &nss, &n_ns);
	if (ret)
		return ret;
	v = calloc(n_ns ? n_ns : 1, sizeof(struct entry *));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n_ns; i++) {
		/* Without an address there is nothing to attribute yet. */
		if (!nss[i].n_addrs)
			continue;
		ret = netns_entry(eps, &nss[i], &v[n]);
		if (ret == -EINVAL)
			continue;
		if (ret)
			goto out;
		n++;
	}
	ret = replace_source(eps, WEIR_EP_SRC_NETNS, v, n);
	if (!ret)
		n = 0;
out:
	weir_netns_free(nss, n_ns);
	entries_free(v, n);
	return ret;
}

void weir_endpoints_set_host(struct weir_endpoints *eps, const struct weir_addr *addrs, size_t n)
{
	struct entry *e = NULL, *old;
	struct weir_addr *ips;
	size_t i, n_ips = 0;
	int err;

	ips = calloc(n ? n : 1, sizeof(*ips));
	if (!ips)
		goto err;
	for (i = 0; i < n; i++) {
		if (!addr_key(&ips[n_ips], addrs[i].family, addrs[i].bytes)) {
			log_warn("endpoint cache: host address with family=%u ignored",
				 addrs[i].family);
			continue;
		}
		n_ips++;
	}
	if (n_ips) {
		e = entry_new(RANK_HOST, weir_endpoint_get(eps->host_ep), ips, n_ips);
		if (!e)
			goto err;
	} else {
		free(ips);
	}
	pthread_mutex_lock(&eps->update_lock);
	old = eps->host;
	err = commit(eps, &old, old ? 1 : 0, &e, e ? 1 : 0);
	pthread_mutex_unlock(&eps->update_lock);
	if (!err)
		return;
	entry_free(e);
err:
	log_err("endpoint cache: host addresses not updated n=%zu: %s", n, strerror(ENOMEM));
}

/* The documents of sources [first, last] into arr, each with its "source"
 * when with_source; under the read lock. 0, or -1 when out of memory.
 */
static int sources_json(struct weir_endpoints *eps, json_t *arr, unsigned int first,
			unsigned int last, bool with_source)
{
	const struct entry *e;
	unsigned int rank;
	json_t *doc;

	for (rank = first; rank <= last; rank++) {
		for (e = eps->src[rank].head; e; e = e->next) {
			doc = weir_endpoint_doc_json(e->ep, e->ips, e->n_ips);
			if (!doc || weir_endpoint_reg_json(doc, &e->reg) ||
			    (with_source &&
			     json_object_set_new(doc, "source", json_string(source_names[rank])))) {
				json_decref(doc);
				return -1;
			}
			/* Takes doc, also when it fails. */
			if (json_array_append_new(arr, doc))
				return -1;
		}
	}
	return 0;
}

static json_t *endpoints_json(struct weir_endpoints *eps, unsigned int first, unsigned int last,
			      bool with_source)
{
	json_t *arr = json_array();
	int failed = !arr;

	pthread_rwlock_rdlock(&eps->lock);
	if (!failed)
		failed = sources_json(eps, arr, first, last, with_source);
	pthread_rwlock_unlock(&eps->lock);
	if (failed) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

json_t *weir_endpoints_to_json(struct weir_endpoints *eps)
{
	return endpoints_json(eps, 0, WEIR_EP_SRC_MAX - 1, true);
}

json_t *weir_endpoints_registrations(struct weir_endpoints *eps)
{
	return endpoints_json(eps, WEIR_EP_SRC_API, WEIR_EP_SRC_API, false);
}

size_t weir_endpoints_count(struct weir_endpoints *eps)
{
	size_t n;

	pthread_rwlock_rdlock(&eps->lock);
	n = eps->pods.n; /* every source's entries; the host is not one */
	pthread_rwlock_unlock(&eps->lock);
	return n;
}

void weir_endpoints_on_gone(struct weir_endpoints *eps, weir_endpoints_gone_fn fn, void *ctx)
{
	pthread_rwlock_wrlock(&eps->lock);
	eps->gone_fn = fn;
	eps->gone_ctx = ctx;
	pthread_rwlock_unlock(&eps->lock);
}

void weir_endpoints_on_change(struct weir_endpoints *eps, weir_endpoints_change_fn fn, void *ctx)
{
	pthread_rwlock_wrlock(&eps->lock);
	eps->change_fn = fn;
	eps->change_ctx = ctx;
	pthread_rwlock_unlock(&eps->lock);
}

void weir_endpoints_on_registrations(struct weir_endpoints *eps, weir_endpoints_reg_fn fn,
				     void *ctx)
{
	pthread_mutex_lock(&eps->update_lock);
	eps->reg_fn = fn;
	eps->reg_ctx = ctx;
	pthread_mutex_unlock(&eps->update_lock);
}

static void addrs_of(const struct weir_endpoints *eps, const struct entry *e,
		     weir_endpoints_addr_fn fn, void *ctx)
{
	size_t i;

	for (i = 0; e && i < e->n_ips; i++)
		if (best_claim(eps, &e->ips[i]) == e)
			fn(ctx, &e->ips[i], e->ep);
}

void weir_endpoints_for_each_addr(struct weir_endpoints *eps, weir_endpoints_addr_fn fn, void *ctx)
{
	const struct entry *e;
	unsigned int rank;

	pthread_rwlock_rdlock(&eps->lock);
	for (rank = 0; rank < WEIR_EP_SRC_MAX; rank++)
		for (e = eps->src[rank].head; e; e = e->next)
			addrs_of(eps, e, fn, ctx);
	addrs_of(eps, eps->host, fn, ctx);
	pthread_rwlock_unlock(&eps->lock);
}
