// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Security identities: label sets and CIDRs to numbers, kept for good. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <weir/policy.h>
#include "identity.h"
#include "log.h"

struct ident {
	uint32_t id;
	bool cidr;
	char *key;     /* labels sorted and joined by '\n', or the CIDR */
	char **labels; /* label identities: key split */
	size_t n_labels;
};

struct weir_identities {
	struct ident *v;
	size_t n, cap;
	uint32_t next_local, next_cidr;
};

int weir_identities_new(struct weir_identities **out)
{
	struct weir_identities *ids = calloc(1, sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	ids->next_local = WEIR_IDENTITY_MIN_LOCAL;
	ids->next_cidr = WEIR_IDENTITY_CIDR_BASE;
	*out = ids;
	return 0;
}

static void ident_release(struct ident *e)
{
	size_t i;

	for (i = 0; i < e->n_labels; i++)
		free(e->labels[i]);
	free(e->labels);
	free(e->key);
}

void weir_identities_free(struct weir_identities *ids)
{
	size_t i;

	if (!ids)
		return;
	for (i = 0; i < ids->n; i++)
		ident_release(&ids->v[i]);
	free(ids->v);
	free(ids);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct ident *find(const struct weir_identities *ids, bool cidr, const char *key)
{
	size_t i;

	for (i = 0; i < ids->n; i++)
		if (ids->v[i].cidr == cidr && !strcmp(ids->v[i].key, key))
			return &ids->v[i];
	return NULL;
}

/* Splits a label key back into its labels. */
static int split_labels(struct ident *e)
{
	size_t n = 1, i = 0;
	char *p, *nl;

	if (!*e->key)
		return 0;
	for (p = e->key; *p; p++)
		n += *p == '\n';
	e->labels = calloc(n, sizeof(char *));
	if (!e->labels)
		return -ENOMEM;
	for (p = e->key; p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		e->labels[i] = nl ? strndup(p, (size_t)(nl - p)) : strdup(p);
		if (!e->labels[i])
			return -ENOMEM;
		e->n_labels = ++i;
	}
	return 0;
}

/* Takes key. */
static int add(struct weir_identities *ids, uint32_t id, bool cidr, char *key)
{
	struct ident *e;

	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 64;
		struct ident *v = realloc(ids->v, cap * sizeof(*v));

		if (!v) {
			free(key);
			return -ENOMEM;
		}
		ids->v = v;
		ids->cap = cap;
	}
	e = &ids->v[ids->n];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->cidr = cidr;
	e->key = key;
	if (!cidr && split_labels(e)) {
		ident_release(e);
		return -ENOMEM;
	}
	ids->n++;
	if (cidr && id >= ids->next_cidr)
		ids->next_cidr = id + 1;
	if (!cidr && id >= ids->next_local)
		ids->next_local = id + 1;
	return 0;
}

uint32_t weir_identity_of_labels(struct weir_identities *ids, char *const *labels, size_t n)
{
	const struct ident *e;
	size_t i, len = 1;
	char **sorted, *key;
	uint32_t id = 0;

	sorted = calloc(n ? n : 1, sizeof(char *));
	if (!sorted)
		return 0;
	for (i = 0; i < n; i++) {
		sorted[i] = labels[i];
		len += strlen(labels[i]) + 1;
	}
	qsort(sorted, n, sizeof(char *), cmp_str);
	key = malloc(len);
	if (!key)
		goto out;
	len = 0;
	for (i = 0; i < n; i++) {
		size_t l = strlen(sorted[i]);

		if (i)
			key[len++] = '\n';
		memcpy(key + len, sorted[i], l);
		len += l;
	}
	key[len] = '\0';
	e = find(ids, false, key);
	if (e) {
		id = e->id;
		free(key);
	} else if (ids->next_local < WEIR_IDENTITY_CIDR_BASE) {
		id = ids->next_local;
		if (add(ids, id, false, key))
			id = 0;
	} else {
		free(key);
		log_err("identities: no label identity numbers left");
	}
out:
	free(sorted);
	return id;
}

uint32_t weir_identity_of_cidr(struct weir_identities *ids, const char *cidr)
{
	const struct ident *e = find(ids, true, cidr);
	uint32_t id;
	char *key;

	if (e)
		return e->id;
	key = strdup(cidr);
	if (!key)
		return 0;
	id = ids->next_cidr;
	return add(ids, id, true, key) ? 0 : id;
}

void weir_identities_for_each_labels(const struct weir_identities *ids,
				     void (*fn)(void *ctx, uint32_t id, char *const *labels,
						size_t n),
				     void *ctx)
{
	size_t i;

	for (i = 0; i < ids->n; i++)
		if (!ids->v[i].cidr)
			fn(ctx, ids->v[i].id, ids->v[i].labels, ids->v[i].n_labels);
}

json_t *weir_identities_to_json(const struct weir_identities *ids)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < ids->n; i++) {
		if (json_array_append_new(
			    arr, json_pack("{s:I,s:s}", "id", (json_int_t)ids->v[i].id,
					   ids->v[i].cidr ? "cidr" : "labels", ids->v[i].key))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int weir_identities_from_json(struct weir_identities *ids, const json_t *arr)
{
	const json_t *e, *id, *key;
	bool cidr;
	char *k;
	size_t i;
	int err;

	if (!json_is_array(arr))
		return -EINVAL;
	json_array_foreach(arr, i, e)
	{
		id = json_object_get(e, "id");
		cidr = json_object_get(e, "cidr") != NULL;
		key = json_object_get(e, cidr ? "cidr" : "labels");
		if (!json_is_integer(id) || !json_is_string(key) ||
		    json_integer_value(id) <
			    (cidr ? WEIR_IDENTITY_CIDR_BASE : WEIR_IDENTITY_MIN_LOCAL) ||
		    json_integer_value(id) > (cidr ? UINT32_MAX : WEIR_IDENTITY_CIDR_BASE - 1) ||
		    find(ids, cidr, json_string_value(key)))
			return -EINVAL;
		for (size_t j = 0; j < ids->n; j++)
			if (ids->v[j].id == (uint32_t)json_integer_value(id))
				return -EINVAL;
		k = strdup(json_string_value(key));
		if (!k)
			return -ENOMEM;
		err = add(ids, (uint32_t)json_integer_value(id), cidr, k);
		if (err)
			return err;
	}
	return 0;
}
