// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's side of the XDP prefilter: writing the deny list into the
 * datapath's A/B map sets, reading it back, and its counters.
 *
 * An update: (1) checks the new list fits, (2) gives each CIDR its counter
 * id (a CIDR already on the list keeps its id and counts; a new one gets an
 * id no entry of the old or the new list holds, zeroed first), (3) empties
 * the inactive set (the datapath stopped reading it one update ago), (4)
 * writes the whole list there, (5) records which of its maps hold entries,
 * then (6) flips weir_pf_state.active. Until (6) the datapath reads the old
 * list, untouched; after it, the new one. A failure before (6) leaves the
 * old list in force.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/prefilter.h>
#include "log.h"
#include "prefilter.h"
#include "weir.skel.h"

#define BATCH 4096 /* keys per batch map call */

enum { FAM4, FAM6, FAMS };

struct pf_entry {
	struct weir_pf_cidr c;
	__u32 id;
};

struct weir_prefilter {
	pthread_mutex_t lock;
	int state_fd, hits_fd;
	int lpm_fd[FAMS][2]; /* [family][set] */
	int exact_fd[FAMS][2];
	__u32 lpm_max, exact_max;
	int ncpus;
	struct weir_pf_state st;  /* as last written or read */
	struct pf_entry *entries; /* the active list, sorted by CIDR */
	size_t n;
};

static const size_t lpm_key_size[FAMS] = { sizeof(struct weir_pf_lpm4_key),
					   sizeof(struct weir_pf_lpm6_key) };
static const size_t exact_key_size[FAMS] = { sizeof(struct weir_pf_exact4_key),
					     sizeof(struct weir_pf_exact6_key) };
static const size_t addr_len[FAMS] = { 4, 16 };

static int fam_of(const struct weir_pf_cidr *c)
{
	return c->family == 4 ? FAM4 : FAM6;
}

static int entry_cmp(const void *a, const void *b)
{
	return weir_pf_cidr_cmp(&((const struct pf_entry *)a)->c, &((const struct pf_entry *)b)->c);
}

/* ---- reading a set back ---- */

struct entries {
	struct pf_entry *v;
	size_t n, cap;
};

static int entries_add(struct entries *e, const struct weir_pf_cidr *c, __u32 id)
{
	struct pf_entry *v;
	size_t cap;

	if (e->n == e->cap) {
		cap = e->cap ? e->cap * 2 : 64;
		v = realloc(e->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n].c = *c;
	e->v[e->n++].id = id;
	return 0;
}

/* Every (key, value) of one map into e; lpm says how to read the key. */
static int map_read(int fd, int fam, bool lpm, struct entries *e)
{
	__u8 key[32], next[32];
	struct weir_pf_value v;
	struct weir_pf_cidr c;
	void *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		if (bpf_map_lookup_elem(fd, key, &v))
			continue; /* deleted meanwhile */
		memset(&c, 0, sizeof(c));
		c.family = fam == FAM4 ? 4 : 6;
		if (lpm) {
			__u32 plen;

			memcpy(&plen, key, sizeof(plen));
			c.prefixlen = plen;
			memcpy(c.addr, key + sizeof(plen), addr_len[fam]);
		} else {
			c.prefixlen = fam == FAM4 ? 32 : 128;
			memcpy(c.addr, key, addr_len[fam]);
		}
		err = entries_add(e, &c, v.id);
		if (err)
			return err;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int set_read(struct weir_prefilter *pf, int set, struct entries *e)
{
	int fam, err;

	for (fam = 0; fam < FAMS; fam++) {
		err = map_read(pf->lpm_fd[fam][set], fam, true, e);
		err = err ?: map_read(pf->exact_fd[fam][set], fam, false, e);
		if (err)
			return err;
	}
	if (e->n)
		qsort(e->v, e->n, sizeof(*e->v), entry_cmp);
	return 0;
}

/* ---- writing a set ---- */

/* Deletes every key of fd: keys collected first, then deleted (deleting
 * while walking would restart the walk).
 */
static int map_clear(int fd, size_t key_size)
{
	__u8 *keys = NULL, *p;
	size_t n = 0, cap = 0, i;
	void *prev = NULL;
	int err = 0;

	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			p = realloc(keys, cap * key_size);
			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			keys = p;
			prev = n ? keys + (n - 1) * key_size : NULL;
		}
		if (bpf_map_get_next_key(fd, prev, keys + n * key_size)) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		prev = keys + n * key_size;
		n++;
	}
	for (i = 0; !err && i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) && errno != ENOENT)
			err = -errno;
out:
	free(keys);
	return err;
}

static void lpm_key_of(const struct weir_pf_cidr *c, __u8 *key)
{
	__u32 plen = c->prefixlen;

	memset(key, 0, 20);
	memcpy(key, &plen, sizeof(plen));
	memcpy(key + sizeof(plen), c->addr, addr_len[fam_of(c)]);
}

/* Full-length entries of one family in batches: the fast way to write a
 * million addresses.
 */
static int exact_write(int fd, int fam, const struct pf_entry *v, size_t n)
{
	size_t ks = exact_key_size[fam], i, k = 0;
	struct weir_pf_value *vals = calloc(BATCH, sizeof(*vals));
	__u8 *keys = calloc(BATCH, ks);
	__u32 cnt;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i <= n; i++) {
		if (k == BATCH || (i == n && k)) {
			cnt = k;
			err = bpf_map_update_batch(fd, keys, vals, &cnt, NULL);
			if (err) {
				err = -errno;
				goto out;
			}
			k = 0;
		}
		if (i == n)
			break;
		if (fam_of(&v[i].c) != fam || !weir_pf_cidr_full(&v[i].c))
			continue;
		memcpy(keys + k * ks, v[i].c.addr, ks);
		vals[k++].id = v[i].id;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static int set_write(struct weir_prefilter *pf, int set, const struct pf_entry *v, size_t n,
		     __u8 *kinds)
{
	static const __u8 lpm_bit[FAMS] = { WEIR_PF_HAS_LPM4, WEIR_PF_HAS_LPM6 };
	static const __u8 exact_bit[FAMS] = { WEIR_PF_HAS_EXACT4, WEIR_PF_HAS_EXACT6 };
	__u8 key[20];
	size_t i;
	int fam, err;

	*kinds = 0;
	for (fam = 0; fam < FAMS; fam++) {
		err = map_clear(pf->lpm_fd[fam][set], lpm_key_size[fam]);
		err = err ?: map_clear(pf->exact_fd[fam][set], exact_key_size[fam]);
		if (err) {
			log_err("prefilter: empty set=%c: %s", 'A' + set, strerror(-err));
			return err;
		}
	}
	for (i = 0; i < n; i++) {
		struct weir_pf_value val = { .id = v[i].id };

		fam = fam_of(&v[i].c);
		if (weir_pf_cidr_full(&v[i].c)) {
			*kinds |= exact_bit[fam];
			continue;
		}
		lpm_key_of(&v[i].c, key);
		if (bpf_map_update_elem(pf->lpm_fd[fam][set], key, &val, BPF_ANY)) {
			err = -errno;
			log_err("prefilter: write prefix set=%c: %s", 'A' + set, strerror(-err));
			return err;
		}
		*kinds |= lpm_bit[fam];
	}
	for (fam = 0; fam < FAMS; fam++) {
		if (!(*kinds & exact_bit[fam]))
			continue;
		err = exact_write(pf->exact_fd[fam][set], fam, v, n);
		if (err) {
			log_err("prefilter: write addresses set=%c: %s", 'A' + set, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int state_write(struct weir_prefilter *pf, const struct weir_pf_state *st)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(pf->state_fd, &zero, st, BPF_ANY))
		return -errno;
	pf->st = *st;
	return 0;
}

/* ---- counter ids ---- */

static int hits_zero(struct weir_prefilter *pf, __u32 id)
{
	struct weir_pf_hits *z = calloc(pf->ncpus, sizeof(*z));
	int err = 0;

	if (!z)
		return -ENOMEM;
	if (bpf_map_update_elem(pf->hits_fd, &id, z, BPF_ANY))
		err = -errno;
	free(z);
	return err;
}

/* ids for v[0..n): kept from the current list where the CIDR is on it,
 * otherwise one neither list holds (prefixes first: they are the likely
 * heavy hitters), zeroed; WEIR_PF_ID_SHARED once the ids run out.
 */
static int ids_assign(struct weir_prefilter *pf, struct pf_entry *v, size_t n)
{
	__u8 *used = calloc(WEIR_PF_IDS_MAX, 1);
	__u32 next = 1;
	size_t i, j;
	int pass, err = 0;

	if (!used)
		return -ENOMEM;
	for (j = 0; j < pf->n; j++)
		used[pf->entries[j].id % WEIR_PF_IDS_MAX] = 1;
	used[WEIR_PF_ID_SHARED] = 1;
	for (i = 0, j = 0; i < n; i++) {
		int d = 1;

		v[i].id = UINT32_MAX; /* unassigned */
		while (j < pf->n && (d = weir_pf_cidr_cmp(&pf->entries[j].c, &v[i].c)) < 0)
			j++;
		if (j < pf->n && !d)
			v[i].id = pf->entries[j].id;
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (v[i].id != UINT32_MAX || weir_pf_cidr_full(&v[i].c) != (pass == 1))
				continue;
			while (next < WEIR_PF_IDS_MAX && used[next])
				next++;
			if (next == WEIR_PF_IDS_MAX) {
				v[i].id = WEIR_PF_ID_SHARED;
				continue;
			}
			used[next] = 1;
			v[i].id = next;
			err = hits_zero(pf, next);
			if (err) {
				log_err("prefilter: zero counter id=%u: %s", next, strerror(-err));
				goto out;
			}
		}
	}
out:
	free(used);
	return err;
}

/* ---- updates ---- */

/* Whether v fits the maps; -ENOSPC with the figures otherwise. */
static int fits(struct weir_prefilter *pf, const struct pf_entry *v, size_t n, char *err,
		size_t err_len)
{
	size_t lpm[FAMS] = { 0 }, exact[FAMS] = { 0 }, i;
	int fam;

	for (i = 0; i < n; i++) {
		if (weir_pf_cidr_full(&v[i].c))
			exact[fam_of(&v[i].c)]++;
		else
			lpm[fam_of(&v[i].c)]++;
	}
	for (fam = 0; fam < FAMS; fam++) {
		if (lpm[fam] > pf->lpm_max) {
			snprintf(err, err_len, "deny: %zu IPv%d prefixes, the datapath holds %u",
				 lpm[fam], fam == FAM4 ? 4 : 6, pf->lpm_max);
			return -ENOSPC;
		}
		if (exact[fam] > pf->exact_max) {
			snprintf(
				err, err_len,
				"deny: %zu single IPv%d addresses, the datapath holds %u (weir-agent "
				"--prefilter-max-addresses)",
				exact[fam], fam == FAM4 ? 4 : 6, pf->exact_max);
			return -ENOSPC;
		}
	}
	return 0;
}

/* Installs v (sorted; ownership passes on success) as the active list. */
static int install(struct weir_prefilter *pf, struct pf_entry *v, size_t n, char *err,
		   size_t err_len)
{
	struct weir_pf_state st = pf->st;
	int set = !(pf->st.active & 1), ret;
	__u8 kinds;

	ret = fits(pf, v, n, err, err_len);
	ret = ret ?: ids_assign(pf, v, n);
	ret = ret ?: set_write(pf, set, v, n, &kinds);
	if (ret) {
		if (!err[0])
			snprintf(err, err_len, "writing the deny list: %s", strerror(-ret));
		return ret;
	}
	/* Which maps to look in first, then the selector: two writes, so that
	 * the datapath never reads the new selector with the old set's kinds.
	 */
	st.kinds[set] = kinds;
	ret = state_write(pf, &st);
	st.active = set;
	st.revision++;
	ret = ret ?: state_write(pf, &st);
	if (ret) {
		snprintf(err, err_len, "switching to the new deny list: %s", strerror(-ret));
		return ret;
	}
	free(pf->entries);
	pf->entries = v;
	pf->n = n;
	log_info("prefilter: deny list set=%c entries=%zu revision=%u", 'A' + set, n, st.revision);
	return 0;
}

static int revision_check(struct weir_prefilter *pf, int64_t expect, char *err, size_t err_len)
{
	if (expect >= 0 && (uint32_t)expect != pf->st.revision) {
		snprintf(err, err_len, "revision: the list is at revision %u, not %lld",
			 pf->st.revision, (long long)expect);
		return -ESTALE;
	}
	return 0;
}

static struct pf_entry *entries_of(const struct weir_pf_list *l)
{
	struct pf_entry *v = calloc(l->n ? l->n : 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < l->n; i++)
		v[i].c = l->v[i];
	return v;
}

int weir_prefilter_replace(struct weir_prefilter *pf, const struct weir_pf_list *deny,
			   int64_t expect_revision, char *err, size_t err_len)
{
	struct pf_entry *v;
	int ret;

	err[0] = '\0';
	pthread_mutex_lock(&pf->lock);
	ret = revision_check(pf, expect_revision, err, err_len);
	if (ret)
		goto out;
	v = entries_of(deny);
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	ret = install(pf, v, deny->n, err, err_len);
	if (ret)
		free(v);
out:
	pthread_mutex_unlock(&pf->lock);
	return ret;
}

int weir_prefilter_patch(struct weir_prefilter *pf, const struct weir_pf_list *add,
			 const struct weir_pf_list *del, int64_t expect_revision, char *err,
			 size_t err_len)
{
	char cidr[WEIR_PF_CIDR_STRLEN];
	struct pf_entry *v = NULL;
	size_t i, n = 0, j;
	int ret;

	err[0] = '\0';
	pthread_mutex_lock(&pf->lock);
	ret = revision_check(pf, expect_revision, err, err_len);
	if (ret)
		goto out;
	for (i = 0; i < del->n; i++) {
		struct pf_entry key = { .c = del->v[i] };

		if (!bsearch(&key, pf->entries, pf->n, sizeof(key), entry_cmp)) {
			weir_pf_cidr_format(&del->v[i], cidr, sizeof(cidr));
			snprintf(err, err_len, "delete: %s is not on the deny list", cidr);
			ret = -ENOENT;
			goto out;
		}
	}
	v = calloc(pf->n + add->n + 1, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	/* The current list minus del, merged with add: all three are sorted. */
	for (i = 0, j = 0; i < pf->n || j < add->n;) {
		int d = i == pf->n  ? 1 :
			j == add->n ? -1 :
				      weir_pf_cidr_cmp(&pf->entries[i].c, &add->v[j]);
		struct weir_pf_cidr c = d <= 0 ? pf->entries[i].c : add->v[j];

		if (d <= 0)
			i++;
		if (d >= 0)
			j++;
		if (weir_pf_list_find(del, &c) < 0)
			v[n++].c = c;
	}
	ret = install(pf, v, n, err, err_len);
	if (!ret)
		v = NULL;
out:
	pthread_mutex_unlock(&pf->lock);
	free(v);
	return ret;
}

/* ---- counters ---- */

/* weir_pf_hits summed over CPUs, all WEIR_PF_IDS_MAX slots, in batches. */
static int hits_read(struct weir_prefilter *pf, struct weir_pf_hits *out)
{
	struct weir_pf_hits *vals = calloc((size_t)BATCH * pf->ncpus, sizeof(*vals));
	__u32 *keys = calloc(BATCH, sizeof(*keys)), in = 0, next = 0, cnt, i, k;
	bool first = true;
	int err = 0, cpu;

	if (!vals || !keys) {
		err = -ENOMEM;
		goto out;
	}
	memset(out, 0, WEIR_PF_IDS_MAX * sizeof(*out));
	for (;;) {
		cnt = BATCH;
		err = bpf_map_lookup_batch(pf->hits_fd, first ? NULL : &in, &next, keys, vals, &cnt,
					   NULL);
		if (err && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		for (i = 0; i < cnt; i++) {
			k = keys[i];
			if (k >= WEIR_PF_IDS_MAX)
				continue;
			for (cpu = 0; cpu < pf->ncpus; cpu++) {
				out[k].packets += vals[(size_t)i * pf->ncpus + cpu].packets;
				out[k].bytes += vals[(size_t)i * pf->ncpus + cpu].bytes;
			}
		}
		if (err) { /* ENOENT: that was the last batch */
			err = 0;
			break;
		}
		in = next;
		first = false;
	}
out:
	if (err)
		log_warn("prefilter: read map=" WEIR_MAP_PF_HITS ": %s", strerror(-err));
	free(vals);
	free(keys);
	return err;
}

json_t *weir_prefilter_to_json(struct weir_prefilter *pf)
{
	struct weir_pf_hits *hits = calloc(WEIR_PF_IDS_MAX, sizeof(*hits));
	char cidr[WEIR_PF_CIDR_STRLEN];
	json_t *j = NULL, *deny, *hl;
	bool shared = false;
	size_t i;

	if (!hits)
		return NULL;
	pthread_mutex_lock(&pf->lock);
	hits_read(pf, hits); /* logged; the list is still worth answering */
	j = json_object();
	deny = json_array();
	hl = json_array();
	if (!j || !deny || !hl) {
		json_decref(deny);
		json_decref(hl);
		json_decref(j);
		j = NULL;
		goto out;
	}
	json_object_set_new(j, "revision", json_integer(pf->st.revision));
	json_object_set_new(j, "deny", deny);
	json_object_set_new(j, "hits", hl);
	for (i = 0; i < pf->n; i++) {
		const struct pf_entry *e = &pf->entries[i];

		weir_pf_cidr_format(&e->c, cidr, sizeof(cidr));
		json_array_append_new(deny, json_string(cidr));
		if (e->id == WEIR_PF_ID_SHARED) {
			shared = true;
			continue;
		}
		json_array_append_new(hl, json_pack("{s:s,s:I,s:I}", "cidr", cidr, "packets",
						    (json_int_t)hits[e->id].packets, "bytes",
						    (json_int_t)hits[e->id].bytes));
	}
	if (shared)
		json_array_append_new(hl, json_pack("{s:s,s:I,s:I}", "cidr", "_shared", "packets",
						    (json_int_t)hits[WEIR_PF_ID_SHARED].packets,
						    "bytes",
						    (json_int_t)hits[WEIR_PF_ID_SHARED].bytes));
out:
	pthread_mutex_unlock(&pf->lock);
	free(hits);
	return j;
}

uint32_t weir_prefilter_revision(struct weir_prefilter *pf)
{
	uint32_t r;

	pthread_mutex_lock(&pf->lock);
	r = pf->st.revision;
	pthread_mutex_unlock(&pf->lock);
	return r;
}

size_t weir_prefilter_count(struct weir_prefilter *pf)
{
	size_t n;

	pthread_mutex_lock(&pf->lock);
	n = pf->n;
	pthread_mutex_unlock(&pf->lock);
	return n;
}

void weir_prefilter_metrics(struct weir_prefilter *pf, FILE *f)
{
	struct weir_pf_hits *hits = calloc(WEIR_PF_IDS_MAX, sizeof(*hits)), other = { 0 };
	size_t top[WEIR_PF_METRICS_TOP], n_top = 0, i, k;
	char cidr[WEIR_PF_CIDR_STRLEN];
	int bytes;

	fprintf(f, "# HELP weir_prefilter_entries CIDRs on the XDP prefilter deny list.\n"
		   "# TYPE weir_prefilter_entries gauge\n");
	if (!hits)
		return;
	pthread_mutex_lock(&pf->lock);
	fprintf(f, "weir_prefilter_entries %zu\n", pf->n);
	if (hits_read(pf, hits))
		goto out;
	/* The WEIR_PF_METRICS_TOP entries with the most packets, by insertion. */
	for (i = 0; i < pf->n; i++) {
		__u32 id = pf->entries[i].id;
		__u64 p = hits[id].packets;

		if (id == WEIR_PF_ID_SHARED || !p)
			continue;
		for (k = n_top; k > 0 && hits[pf->entries[top[k - 1]].id].packets < p; k--)
			if (k < WEIR_PF_METRICS_TOP)
				top[k] = top[k - 1];
		if (k < WEIR_PF_METRICS_TOP) {
			top[k] = i;
			if (n_top < WEIR_PF_METRICS_TOP)
				n_top++;
		}
	}
	for (i = 0; i < pf->n; i++) {
		__u32 id = pf->entries[i].id;

		if (id == WEIR_PF_ID_SHARED)
			continue;
		other.packets += hits[id].packets;
		other.bytes += hits[id].bytes;
	}
	for (k = 0; k < n_top; k++) {
		other.packets -= hits[pf->entries[top[k]].id].packets;
		other.bytes -= hits[pf->entries[top[k]].id].bytes;
	}
	other.packets += hits[WEIR_PF_ID_SHARED].packets;
	other.bytes += hits[WEIR_PF_ID_SHARED].bytes;
	for (bytes = 0; bytes < 2; bytes++) {
		const char *name =
			bytes ? "weir_prefilter_drop_bytes_total" : "weir_prefilter_drops_total";

		fprintf(f,
			"# HELP %s %s the XDP prefilter dropped, by deny-list CIDR (the %d with "
			"the most packets; cidr=\"_other\": the rest).\n# TYPE %s counter\n",
			name, bytes ? "Bytes" : "Packets", WEIR_PF_METRICS_TOP, name);
		for (k = 0; k < n_top; k++) {
			const struct pf_entry *e = &pf->entries[top[k]];

			weir_pf_cidr_format(&e->c, cidr, sizeof(cidr));
			fprintf(f, "%s{cidr=\"%s\"} %llu\n", name, cidr,
				(unsigned long long)(bytes ? hits[e->id].bytes :
							     hits[e->id].packets));
		}
		if (pf->n)
			fprintf(f, "%s{cidr=\"_other\"} %llu\n", name,
				(unsigned long long)(bytes ? other.bytes : other.packets));
	}
out:
	pthread_mutex_unlock(&pf->lock);
	free(hits);
}

/* ---- open ---- */

int weir_prefilter_open(struct weir_prefilter **out, struct weir_bpf *skel)
{
	struct weir_prefilter *pf = calloc(1, sizeof(*pf));
	struct entries e = { 0 };
	__u32 zero = 0;
	int err;

	if (!pf)
		return -ENOMEM;
	pthread_mutex_init(&pf->lock, NULL);
	pf->ncpus = libbpf_num_possible_cpus();
	if (pf->ncpus <= 0) {
		err = pf->ncpus ? pf->ncpus : -EINVAL;
		goto err_free;
	}
	pf->state_fd = bpf_map__fd(skel->maps.weir_pf_state);
	pf->hits_fd = bpf_map__fd(skel->maps.weir_pf_hits);
	pf->lpm_fd[FAM4][0] = bpf_map__fd(skel->maps.weir_pf4_lpm_a);
	pf->lpm_fd[FAM4][1] = bpf_map__fd(skel->maps.weir_pf4_lpm_b);
	pf->lpm_fd[FAM6][0] = bpf_map__fd(skel->maps.weir_pf6_lpm_a);
	pf->lpm_fd[FAM6][1] = bpf_map__fd(skel->maps.weir_pf6_lpm_b);
	pf->exact_fd[FAM4][0] = bpf_map__fd(skel->maps.weir_pf4_hash_a);
	pf->exact_fd[FAM4][1] = bpf_map__fd(skel->maps.weir_pf4_hash_b);
	pf->exact_fd[FAM6][0] = bpf_map__fd(skel->maps.weir_pf6_hash_a);
	pf->exact_fd[FAM6][1] = bpf_map__fd(skel->maps.weir_pf6_hash_b);
	pf->lpm_max = bpf_map__max_entries(skel->maps.weir_pf4_lpm_a);
	pf->exact_max = bpf_map__max_entries(skel->maps.weir_pf4_hash_a);

	if (bpf_map_lookup_elem(pf->state_fd, &zero, &pf->st)) {
		err = -errno;
		log_err("prefilter: read map=" WEIR_MAP_PF_STATE ": %s", strerror(-err));
		goto err_free;
	}
	/* A pinned list from an earlier run is the list. */
	err = set_read(pf, pf->st.active & 1, &e);
	if (err) {
		log_err("prefilter: read the active deny list: %s", strerror(-err));
		free(e.v);
		goto err_free;
	}
	pf->entries = e.v;
	pf->n = e.n;
	if (pf->n)
		log_info("prefilter: carrying on with the pinned deny list entries=%zu "
			 "revision=%u",
			 pf->n, pf->st.revision);
	*out = pf;
	return 0;

err_free:
	pthread_mutex_destroy(&pf->lock);
	free(pf);
	return err;
}

void weir_prefilter_free(struct weir_prefilter *pf)
{
	if (!pf)
		return;
	pthread_mutex_destroy(&pf->lock);
	free(pf->entries);
	free(pf);
}
