// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The daemons' flow logs: one from the --flowlog-* flags, more from a
 * --flowlog-config file, and what /v1/status and /metrics say of them.
 *
 * The file: {"flowlogs": [{"name": "drops", "file": "/var/log/weir/drops.log",
 *   "allow": [{"verdict": ["DROPPED"]}], "deny": [...], "fields": "time,verdict"
 *   (or an array), "max_size": "10M" (or bytes), "max_files": 5,
 *   "aggregate_interval": "30s" (or seconds), "aggregate_by": "source_pod,..."}]}
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "flowlog.h"
#include "timefmt.h"

#define ERR(...) snprintf(err, err_len, __VA_ARGS__)

void weir_flowlog_config_defaults(struct weir_flowlog_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_size_bytes = WEIR_FLOWLOG_MAX_SIZE_DEFAULT;
	c->max_files = WEIR_FLOWLOG_MAX_FILES_DEFAULT;
}

static json_t *parse_filters(const char *what, const char *text, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *j;

	j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!j) {
		ERR("%s: invalid JSON at column %d: %s", what, jerr.column, jerr.text);
		return NULL;
	}
	if (json_is_object(j))
		return json_pack("[o]", j);
	return j;
}

static int grow(struct weir_flowlog ***v, size_t n)
{
	struct weir_flowlog **nv = realloc(*v, (n + 1) * sizeof(struct weir_flowlog *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	return 0;
}

/* "1048576", "64K", "10M", "1G" or a number of bytes. */
static int size_of(const json_t *v, uint64_t *out)
{
	const char *s;
	char *end;
	uint64_t n;

	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || !n || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		n <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		n <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		n <<= 30;
		end++;
		break;
	}
	if (*end && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
		return -EINVAL;
	*out = n;
	return 0;
}

/* "30s" or a number of seconds. */
static int duration_of(const json_t *v, uint64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (uint64_t)json_integer_value(v) * 1000000000ULL;
		return 0;
	}
	if (!json_is_string(v) || weir_duration_parse(json_string_value(v), out) || !*out)
		return -EINVAL;
	return 0;
}

/* "a,b" or ["a", "b"] as "a,b" (malloc'ed into *out). */
static int list_of(const json_t *v, char **out)
{
	size_t i, len = 0, off = 0, n;
	json_t *el;
	char *s;

	if (json_is_string(v)) {
		*out = strdup(json_string_value(v));
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_array(v))
		return -EINVAL;
	json_array_foreach(v, i, el)
	{
		if (!json_is_string(el))
			return -EINVAL;
		len += strlen(json_string_value(el)) + 1;
	}
	s = calloc(1, len + 1);
	if (!s)
		return -ENOMEM;
	json_array_foreach(v, i, el)
	{
		if (i)
			s[off++] = ',';
		n = strlen(json_string_value(el));
		memcpy(s + off, json_string_value(el), n);
		off += n;
	}
	*out = s;
	return 0;
}

/* One flow log of the file, started. */
static int start_one_json(const json_t *o, size_t idx, struct weir_store *store, size_t queue,
			  struct weir_flowlog **out, char *err, size_t err_len)
{
	struct weir_flowlog_opts opts = {
		.max_size_bytes = WEIR_FLOWLOG_MAX_SIZE_DEFAULT,
		.max_files = WEIR_FLOWLOG_MAX_FILES_DEFAULT,
		.queue = queue,
	};
	char *fields = NULL, *agg_by = NULL, where[64];
	json_t *allow = NULL, *deny = NULL;
	const char *key;
	json_t *v;
	int ret = -EINVAL;

	snprintf(where, sizeof(where), "flowlogs[%zu]", idx);
	if (!json_is_object(o)) {
		ERR("%s: want an object", where);
		return -EINVAL;
	}
	json_object_foreach((json_t *)o, key, v)
	{
		if (!strcmp(key, "name") && json_is_string(v)) {
			opts.name = json_string_value(v);
		} else if (!strcmp(key, "file") && json_is_string(v)) {
			opts.file = json_string_value(v);
		} else if (!strcmp(key, "allow") && (json_is_array(v) || json_is_object(v))) {
			opts.allow = v;
		} else if (!strcmp(key, "deny") && (json_is_array(v) || json_is_object(v))) {
			opts.deny = v;
		} else if (!strcmp(key, "fields") && !fields) {
			if (list_of(v, &fields))
				goto bad;
		} else if (!strcmp(key, "aggregate_by") && !agg_by) {
			if (list_of(v, &agg_by))
				goto bad;
		} else if (!strcmp(key, "max_size")) {
			if (size_of(v, &opts.max_size_bytes))
				goto bad;
		} else if (!strcmp(key, "max_files")) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
			    json_integer_value(v) > 1000)
				goto bad;
			opts.max_files = (uint32_t)json_integer_value(v);
		} else if (!strcmp(key, "aggregate_interval")) {
			if (duration_of(v, &opts.aggregate_interval_ns))
				goto bad;
		} else {
			ERR("%s: unknown key '%.64s' or a value of the wrong type (name, file, "
			    "allow, deny, fields, max_size, max_files, aggregate_interval, "
			    "aggregate_by)",
			    where, key);
			goto out;
		}
	}
	if (!opts.file) {
		ERR("%s: no \"file\"", where);
		goto out;
	}
	/* a bare object is one filter */
	allow = json_is_object(opts.allow) ? json_pack("[O]", opts.allow) :
					     json_incref((json_t *)opts.allow);
	deny = json_is_object(opts.deny) ? json_pack("[O]", opts.deny) :
					   json_incref((json_t *)opts.deny);
	opts.allow = allow;
	opts.deny = deny;
	opts.fields = fields;
	opts.aggregate_by = agg_by;
	ret = weir_flowlog_new(out, &opts, err, err_len);
	if (ret)
		goto out;
	ret = weir_flowlog_start(*out, store);
	if (ret) {
		ERR("%s: start: %s", where, strerror(-ret));
		weir_flowlog_free(*out);
	}
	goto out;
bad:
	ERR("%s: bad value for '%s'", where, key);
out:
	json_decref(allow);
	json_decref(deny);
	free(fields);
	free(agg_by);
	return ret;
}

static int start_flags(const struct weir_flowlog_config *c, struct weir_store *store, size_t queue,
		       struct weir_flowlog **out, char *err, size_t err_len)
{
	struct weir_flowlog_opts opts = {
		.name = c->file,
		.file = c->file,
		.fields = c->fields,
		.max_size_bytes = c->max_size_bytes,
		.max_files = c->max_files,
		.aggregate_interval_ns = c->aggregate_interval_ns,
		.aggregate_by = c->aggregate_by,
		.queue = queue,
	};
	json_t *allow = NULL, *deny = NULL;
	int ret = -EINVAL;

	if (c->allow && !(allow = parse_filters("flowlog-allow", c->allow, err, err_len)))
		goto out;
	if (c->deny && !(deny = parse_filters("flowlog-deny", c->deny, err, err_len)))
		goto out;
	opts.allow = allow;
	opts.deny = deny;
	ret = weir_flowlog_new(out, &opts, err, err_len);
	if (ret)
		goto out;
	ret = weir_flowlog_start(*out, store);
	if (ret) {
		ERR("flow log: start: %s", strerror(-ret));
		weir_flowlog_free(*out);
	}
out:
	json_decref(allow);
	json_decref(deny);
	return ret;
}

int weir_flowlogs_start(const struct weir_flowlog_config *c, struct weir_store *store, size_t queue,
			struct weir_flowlog ***out, size_t *n, char *err, size_t err_len)
{
	struct weir_flowlog **v = NULL;
	json_error_t jerr;
	json_t *root = NULL, *list, *el;
	size_t i, k = 0;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!c->file && (c->allow || c->deny || c->fields || c->aggregate_interval_ns)) {
		ERR("flowlog-allow, -deny, -fields and -aggregate-* need --flowlog-file");
		return -EINVAL;
	}
	if (c->file) {
		ret = grow(&v, k);
		ret = ret ?: start_flags(c, store, queue, &v[k], err, err_len);
		if (ret)
			goto err;
		k++;
	}
	if (c->config_file) {
		root = json_load_file(c->config_file, JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			ERR("flowlog-config %s:%d: %s", c->config_file, jerr.line, jerr.text);
			ret = -EINVAL;
			goto err;
		}
		list = json_object_get(root, "flowlogs");
		if (!json_is_array(list) || json_object_size(root) != 1) {
			ERR("flowlog-config %s: want {\"flowlogs\": [...]}", c->config_file);
			ret = -EINVAL;
			goto err;
		}
		json_array_foreach(list, i, el)
		{
			ret = grow(&v, k);
			ret = ret ?: start_one_json(el, i, store, queue, &v[k], err, err_len);
			if (ret)
				goto err;
			k++;
		}
		json_decref(root);
	}
	*out = v;
	*n = k;
	return 0;

err:
	json_decref(root);
	weir_flowlogs_stop(v, k);
	return ret;
}

void weir_flowlogs_stop(struct weir_flowlog **fls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		weir_flowlog_free(fls[i]);
	free(fls);
}

json_t *weir_flowlogs_status_json(struct weir_flowlog **fls, size_t n)
{
	struct weir_flowlog_stats st;
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < n; i++) {
		weir_flowlog_stats(fls[i], &st);
		json_object_set_new(o, weir_flowlog_name(fls[i]),
				    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "records",
					      (json_int_t)st.records, "lines", (json_int_t)st.lines,
					      "bytes", (json_int_t)st.bytes, "write_errors",
					      (json_int_t)st.write_errors, "queue_lost",
					      (json_int_t)st.queue_lost, "rotations",
					      (json_int_t)st.rotations));
	}
	return o;
}

static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

void weir_flowlogs_metrics(struct weir_flowlog **fls, size_t n, FILE *f)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} fam[] = {
		{ "weir_flowlog_records_total", "Records that passed a flow log's filters.",
		  offsetof(struct weir_flowlog_stats, records) },
		{ "weir_flowlog_lines_total", "Lines written to a flow log.",
		  offsetof(struct weir_flowlog_stats, lines) },
		{ "weir_flowlog_bytes_total", "Bytes written to a flow log.",
		  offsetof(struct weir_flowlog_stats, bytes) },
		{ "weir_flowlog_write_errors_total",
		  "Failed writes to a flow log (their lines are lost).",
		  offsetof(struct weir_flowlog_stats, write_errors) },
		{ "weir_flowlog_lost_total",
		  "Records a flow log lost on its full queue (a slow disk).",
		  offsetof(struct weir_flowlog_stats, queue_lost) },
		{ "weir_flowlog_rotations_total", "Rotations of a flow log's file.",
		  offsetof(struct weir_flowlog_stats, rotations) },
	};
	struct weir_flowlog_stats *st;
	size_t i, j;

	if (!n)
		return;
	st = calloc(n, sizeof(*st));
	if (!st)
		return;
	for (i = 0; i < n; i++)
		weir_flowlog_stats(fls[i], &st[i]);
	for (j = 0; j < sizeof(fam) / sizeof(fam[0]); j++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", fam[j].name, fam[j].help,
			fam[j].name);
		for (i = 0; i < n; i++) {
			fprintf(f, "%s{flowlog=\"", fam[j].name);
			label(f, weir_flowlog_name(fls[i]));
			fprintf(f, "\"} %" PRIu64 "\n",
				*(const uint64_t *)((const char *)&st[i] + fam[j].off));
		}
	}
	free(st);
}
