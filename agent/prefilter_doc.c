// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The prefilter's JSON documents: parsing and checking CIDRs and lists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "prefilter_doc.h"

#define LIST_MAX (1u << 24) /* entries one document may name */

int weir_pf_cidr_parse(const char *s, struct weir_pf_cidr *out, char *err, size_t err_len)
{
	char addr[INET6_ADDRSTRLEN + 1], *end;
	const char *slash;
	unsigned long len;
	size_t alen, i;
	int max;

	memset(out, 0, sizeof(*out));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (!alen || alen >= sizeof(addr)) {
		snprintf(err, err_len, "\"%.64s\" is not an address or CIDR", s);
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = 6;
		max = 128;
	} else {
		snprintf(err, err_len, "\"%.64s\" is not an IPv4 or IPv6 address", addr);
		return -EINVAL;
	}
	len = max;
	if (slash) {
		errno = 0;
		if (slash[1] < '0' || slash[1] > '9' ||
		    (len = strtoul(slash + 1, &end, 10), *end) || errno ||
		    len > (unsigned long)max) {
			snprintf(err, err_len, "\"%.64s\": prefix length must be 0 to %d", s, max);
			return -EINVAL;
		}
	}
	out->prefixlen = len;
	for (i = 0; i < 16; i++) {
		unsigned int bit = i * 8;
		__u8 host = bit >= len ? 0xff : bit + 8 > len ? 0xff >> (len - bit) : 0;

		if (out->addr[i] & host) {
			snprintf(
				err, err_len,
				"\"%.64s\" has bits set past its prefix length (host part not zero)",
				s);
			return -EINVAL;
		}
	}
	return 0;
}

void weir_pf_cidr_format(const struct weir_pf_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, c->prefixlen);
}

int weir_pf_cidr_cmp(const struct weir_pf_cidr *a, const struct weir_pf_cidr *b)
{
	int d;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	d = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (d)
		return d;
	return (int)a->prefixlen - (int)b->prefixlen;
}

bool weir_pf_cidr_full(const struct weir_pf_cidr *c)
{
	return c->prefixlen == (c->family == 4 ? 32 : 128);
}

int weir_pf_list_add(struct weir_pf_list *l, const struct weir_pf_cidr *c)
{
	struct weir_pf_cidr *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return 0;
}

static int cmp_qsort(const void *a, const void *b)
{
	return weir_pf_cidr_cmp(a, b);
}

void weir_pf_list_normalize(struct weir_pf_list *l)
{
	size_t i, n = 0;

	if (!l->n)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_qsort);
	for (i = 1; i < l->n; i++)
		if (weir_pf_cidr_cmp(&l->v[n], &l->v[i]))
			l->v[++n] = l->v[i];
	l->n = n + 1;
}

long weir_pf_list_find(const struct weir_pf_list *l, const struct weir_pf_cidr *c)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = weir_pf_cidr_cmp(&l->v[mid], c);

		if (!d)
			return (long)mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void weir_pf_list_release(struct weir_pf_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* doc[key]: an array of CIDR strings into l (normalized). */
static int cidrs_parse(const json_t *doc, const char *key, struct weir_pf_list *l, char *err,
		       size_t err_len)
{
	const json_t *arr = json_object_get(doc, key), *item;
	struct weir_pf_cidr c;
	char why[160];
	size_t i;
	int ret;

	if (!json_is_array(arr)) {
		snprintf(err, err_len, "%s: expected an array of CIDR strings", key);
		return -EINVAL;
	}
	if (json_array_size(arr) > LIST_MAX) {
		snprintf(err, err_len, "%s: more than %u entries", key, LIST_MAX);
		return -EINVAL;
	}
	json_array_foreach(arr, i, item)
	{
		if (!json_is_string(item)) {
			snprintf(err, err_len, "%s[%zu]: expected a CIDR string", key, i);
			return -EINVAL;
		}
		ret = weir_pf_cidr_parse(json_string_value(item), &c, why, sizeof(why));
		if (ret) {
			snprintf(err, err_len, "%s[%zu]: %s", key, i, why);
			return ret;
		}
		ret = weir_pf_list_add(l, &c);
		if (ret) {
			snprintf(err, err_len, "%s: out of memory", key);
			return ret;
		}
	}
	weir_pf_list_normalize(l);
	return 0;
}

static int revision_parse(const json_t *doc, int64_t *revision, char *err, size_t err_len)
{
	const json_t *r = json_object_get(doc, "revision");

	*revision = -1;
	if (!r)
		return 0;
	if (!json_is_integer(r) || json_integer_value(r) < 0 ||
	    json_integer_value(r) > UINT32_MAX) {
		snprintf(err, err_len, "revision: expected an integer from 0 to %u", UINT32_MAX);
		return -EINVAL;
	}
	*revision = json_integer_value(r);
	return 0;
}

/* Every key of doc is one of allowed (NULL-terminated). */
static int keys_check(const json_t *doc, const char *const *allowed, char *err, size_t err_len)
{
	const char *key;
	const json_t *v;
	size_t i;

	json_object_foreach((json_t *)doc, key, v)
	{
		for (i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (!allowed[i]) {
			snprintf(err, err_len, "%.64s: unknown field", key);
			return -EINVAL;
		}
	}
	return 0;
}

int weir_pf_doc_parse(const json_t *doc, struct weir_pf_list *deny, int64_t *revision, char *err,
		      size_t err_len)
{
	static const char *const allowed[] = { "deny", "revision", "hits", NULL };
	int ret;

	if (!json_is_object(doc)) {
		snprintf(err, err_len, "expected a JSON object {\"deny\": [CIDR, ...]}");
		return -EINVAL;
	}
	ret = keys_check(doc, allowed, err, err_len);
	ret = ret ?: revision_parse(doc, revision, err, err_len);
	ret = ret ?: cidrs_parse(doc, "deny", deny, err, err_len);
	if (ret)
		weir_pf_list_release(deny);
	return ret;
}

int weir_pf_patch_parse(const json_t *doc, struct weir_pf_list *add, struct weir_pf_list *del,
			int64_t *revision, char *err, size_t err_len)
{
	static const char *const allowed[] = { "add", "delete", "revision", NULL };
	int ret;

	if (!json_is_object(doc)) {
		snprintf(err, err_len,
			 "expected a JSON object {\"add\": [...], \"delete\": [...]}");
		return -EINVAL;
	}
	ret = keys_check(doc, allowed, err, err_len);
	if (!ret && !json_object_get(doc, "add") && !json_object_get(doc, "delete")) {
		snprintf(err, err_len, "add, delete: neither is given");
		ret = -EINVAL;
	}
	ret = ret ?: revision_parse(doc, revision, err, err_len);
	if (!ret && json_object_get(doc, "add"))
		ret = cidrs_parse(doc, "add", add, err, err_len);
	if (!ret && json_object_get(doc, "delete"))
		ret = cidrs_parse(doc, "delete", del, err, err_len);
	if (ret) {
		weir_pf_list_release(add);
		weir_pf_list_release(del);
	}
	return ret;
}
