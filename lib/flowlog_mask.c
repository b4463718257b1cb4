// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow log's field mask: Hubble's dotted paths inside a flow; a line
 * keeps those and nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flowlog.h"

#define MASK_PATHS_MAX 64

struct weir_field_mask {
	char *paths[MASK_PATHS_MAX]; /* shorter first: a path under a kept one is skipped */
	size_t n;
};

/* The flow's fields as Weir writes them (lib/flow_json.c) and aggregated lines add. */
static const char *const flow_fields[] = {
	"time",	     "uuid",	   "verdict",		"IP",
	"l4",	     "source",	   "destination",	"Type",
	"node_name", "event_type", "traffic_direction", "drop_reason_desc",
	"is_reply",  "interface",  "Summary",		"weir",
	"aggregate",
};

static bool known_field(const char *path)
{
	size_t i, n = strcspn(path, ".");

	for (i = 0; i < sizeof(flow_fields) / sizeof(flow_fields[0]); i++)
		if (strlen(flow_fields[i]) == n && !strncmp(flow_fields[i], path, n))
			return true;
	return false;
}

void weir_field_mask_free(struct weir_field_mask *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->paths[i]);
	free(m);
}

static int by_length(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? -1 : la > lb;
}

int weir_field_mask_parse(struct weir_field_mask **out, const char *spec, char *err, size_t err_len)
{
	struct weir_field_mask *m = calloc(1, sizeof(*m));
	char *copy = strdup(spec ? spec : ""), *tok, *save = NULL;
	int ret = -EINVAL;

	if (!m || !copy) {
		ret = -ENOMEM;
		goto err;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok += strspn(tok, " ");
		tok[strcspn(tok, " ")] = '\0';
		if (!*tok)
			continue;
		if (!known_field(tok) || tok[strlen(tok) - 1] == '.' || strstr(tok, "..")) {
			snprintf(err, err_len, "field mask: unknown field '%.64s'", tok);
			goto err;
		}
		if (m->n == MASK_PATHS_MAX) {
			snprintf(err, err_len, "field mask: more than %d fields", MASK_PATHS_MAX);
			goto err;
		}
		m->paths[m->n] = strdup(tok);
		if (!m->paths[m->n++]) {
			ret = -ENOMEM;
			goto err;
		}
	}
	if (!m->n) {
		snprintf(err, err_len, "field mask: no fields");
		goto err;
	}
	qsort(m->paths, m->n, sizeof(m->paths[0]), by_length);
	free(copy);
	*out = m;
	return 0;

err:
	free(copy);
	weir_field_mask_free(m);
	return ret;
}

/* Whether path lies under kept (kept is a whole-name prefix of it). */
static bool under(const char *path, const char *kept)
{
	size_t n = strlen(kept);

	return !strncmp(path, kept, n) && path[n] == '.';
}

#define PATH_DEPTH_MAX 8

/* path's names, into names (a copy of path split at the dots); how many, 0 if too deep. */
static size_t split(const char *path, char *copy, size_t len, char *names[PATH_DEPTH_MAX])
{
	char *save = NULL, *tok;
	size_t n = 0;

	snprintf(copy, len, "%s", path);
	for (tok = strtok_r(copy, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (n == PATH_DEPTH_MAX)
			return 0;
		names[n++] = tok;
	}
	return n;
}

/* Copies src's value at path, if it has one, into dst, making the objects on the way. */
static void copy_path(const json_t *src, json_t *dst, const char *path)
{
	char copy[256], *names[PATH_DEPTH_MAX];
	size_t i, n = split(path, copy, sizeof(copy), names);
	json_t *v = (json_t *)src, *dv;

	for (i = 0; i < n && v; i++)
		v = json_is_object(v) ? json_object_get(v, names[i]) : NULL;
	if (!n || !v)
		return;
	for (i = 0; i + 1 < n; i++) {
		dv = json_object_get(dst, names[i]);
		if (!dv) {
			dv = json_object();
			if (!dv || json_object_set_new(dst, names[i], dv))
				return;
		}
		dst = dv;
	}
	json_object_set_new(dst, names[n - 1], json_deep_copy(v));
}

void weir_field_mask_apply(const struct weir_field_mask *m, json_t *resp)
{
	json_t *flow = json_object_get(resp, "flow"), *out;
	size_t i, j;

	if (!m || !json_is_object(flow))
		return;
	out = json_object();
	if (!out)
		return;
	for (i = 0; i < m->n; i++) {
		for (j = 0; j < i; j++)
			if (under(m->paths[i], m->paths[j]))
				break;
		if (j == i)
			copy_path(flow, out, m->paths[i]);
	}
	json_object_set_new(resp, "flow", out);
}
