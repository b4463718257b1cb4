// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A flows request from query-string pairs: Hubble's GetFlowsRequest fields
 * (number, first, follow, since, until, allow and deny lists) with the same
 * validation as Hubble's server, and times absolute or relative to now.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "filter.h"
#include "timefmt.h"

int weir_time_parse(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
	uint64_t age;

	if (!s)
		return -EINVAL;
	if (!weir_time_parse_rfc3339(s, out_ns))
		return 0;
	if (weir_duration_parse(s, &age) || age > now_ns)
		return -EINVAL;
	*out_ns = now_ns - age;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int bad(char *err, size_t err_len, const char *key, const char *what, const char *value)
{
	if (err && err_len)
		snprintf(err, err_len, "%s: %s \"%.64s\"", key, what, value);
	return -EINVAL;
}

/* "?follow" (no value), 1, true, yes; or 0, false, no. */
static int parse_bool(const char *v, bool *out)
{
	if (!*v || !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

/* Appends the value's FlowFilters (a JSON array, or one object) to *list. */
static int collect(json_t **list, const char *key, const char *value, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *j;
	int ret = 0;

	j = json_loads(value, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!j) {
		if (err && err_len)
			snprintf(err, err_len, "%s: invalid JSON at column %d: %s", key,
				 jerr.column, jerr.text);
		return -EINVAL;
	}
	if (json_is_object(j)) {
		json_t *arr = json_array();

		if (!arr || json_array_append_new(arr, j)) {
			json_decref(arr);
			ret = -ENOMEM;
			goto out;
		}
		j = arr;
	}
	if (!json_is_array(j)) {
		if (err && err_len)
			snprintf(err, err_len, "%s: expected a JSON array of FlowFilter objects",
				 key);
		ret = -EINVAL;
		goto out;
	}
	if (!*list) {
		*list = json_incref(j);
		goto out;
	}
	if (json_array_extend(*list, j))
		ret = -ENOMEM;
out:
	if (ret == -ENOMEM && err && err_len)
		snprintf(err, err_len, "%s: out of memory", key);
	json_decref(j);
	return ret;
}

int weir_flow_request_set(struct weir_flow_request *req, const char *key, const char *value,
			  char *err, size_t err_len)
{
	const char *v = value ? value : "";
	uint64_t ns;

	if (!strcmp(key, "number")) {
		char *end;

		errno = 0;
		req->number = strtoull(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || errno)
			return bad(err, err_len, key, "expected a count, got", v);
		return 0;
	}
	if (!strcmp(key, "first") || !strcmp(key, "follow")) {
		if (parse_bool(v, key[1] == 'i' ? &req->first : &req->follow))
			return bad(err, err_len, key, "expected true or false, got", v);
		return 0;
	}
	if (!strcmp(key, "since") || !strcmp(key, "until")) {
		if (weir_time_parse(v, now_ns(), &ns))
			return bad(err, err_len, key,
				   "expected an RFC 3339 time or an age like 5m, 2h, 1d, got", v);
		*(key[0] == 's' ? &req->since_ns : &req->until_ns) = ns;
		return 0;
	}
	if (!strcmp(key, "allowlist") || !strcmp(key, "whitelist"))
		return collect(&req->allow, key, v, err, err_len);
	if (!strcmp(key, "denylist") || !strcmp(key, "blacklist"))
		return collect(&req->deny, key, v, err, err_len);
	if (err && err_len)
		snprintf(err, err_len,
			 "%.64s: unknown parameter (number, first, follow, since, until, "
			 "allowlist, denylist)",
			 key);
	return -EINVAL;
}

int weir_flow_request_finish(struct weir_flow_request *req, char *err, size_t err_len)
{
	int ret;

	/* the one check Hubble's server makes on a request */
	if (req->first && req->follow) {
		if (err && err_len)
			snprintf(err, err_len, "first: cannot be specified with follow");
		return -EINVAL;
	}
	/* finished already, and nothing collected since: keep the filters */
	if (req->filters && !req->allow && !req->deny)
		return 0;
	weir_filter_set_free(req->filters);
	req->filters = NULL;
	ret = weir_filter_set_new(&req->filters, req->allow, req->deny, err, err_len);
	json_decref(req->allow);
	json_decref(req->deny);
	req->allow = NULL;
	req->deny = NULL;
	return ret;
}

void weir_flow_request_release(struct weir_flow_request *req)
{
	weir_filter_set_free(req->filters);
	json_decref(req->allow);
	json_decref(req->deny);
	req->filters = NULL;
	req->allow = NULL;
	req->deny = NULL;
}
