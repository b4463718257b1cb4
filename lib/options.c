// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Table-driven options: JSON config file, command-line flags and --help. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "options.h"
#include "timefmt.h"

#define OPTS_MAX 64 /* options one table may have */

static void err_set(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err_set(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

int weir_strv_push(struct weir_strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	sv->v = v;
	sv->v[sv->n] = strdup(s);
	if (!sv->v[sv->n])
		return -ENOMEM;
	sv->n++;
	return 0;
}

static void strv_release(struct weir_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void weir_opts_release(const struct weir_opts *o, void *cfg)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		void *field = (char *)cfg + o->opt[i].offset;

		if (o->opt[i].type == WEIR_OPT_STR) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (o->opt[i].type == WEIR_OPT_STRV) {
			strv_release(field);
		}
	}
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_duration(const char *s, uint64_t *out)
{
	uint64_t v;

	if (!parse_u64(s, UINT64_MAX / 1000000000ULL, &v)) {
		*out = v * 1000000000ULL;
		return 0;
	}
	return weir_duration_parse(s, out);
}

/* "1048576", "64K", "512M", "1G" (powers of 1024; "KiB", "MB" ... too). */
static int parse_bytes(const char *s, uint64_t *out)
{
	static const char *const units[] = { "K", "M", "G", "T" };
	char *end;
	unsigned long long v;
	uint64_t mult = 1;
	size_t i;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		for (i = 0; i < 4; i++) {
			mult *= 1024;
			if (!strncasecmp(end, units[i], 1))
				break;
		}
		if (i == 4 ||
		    (end[1] && strcasecmp(end + 1, "B") != 0 && strcasecmp(end + 1, "iB") != 0))
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

static const char *want_of(const struct weir_opt *opt, char *buf, size_t len)
{
	size_t i, used = 0;

	switch (opt->type) {
	case WEIR_OPT_DURATION:
		return "a duration like 30s, 500ms or 1m30s";
	case WEIR_OPT_BYTES:
		return "a size like 1048576, 64K, 512M or 1G";
	case WEIR_OPT_CHOICE:
		for (i = 0; opt->choices[i] && used < len; i++)
			used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 opt->choices[i]);
		return buf;
	default:
		return "a positive integer";
	}
}

/* Sets one option from text (a flag's argument, or a JSON string or number). */
static int opt_set_str(void *cfg, const struct weir_opt *opt, const char *val, char *err,
		       size_t err_len)
{
	void *field = (char *)cfg + opt->offset;
	char want[128];
	uint64_t v;
	size_t i;

	switch (opt->type) {
	case WEIR_OPT_STR:
		free(*(char **)field);
		*(char **)field = strdup(val);
		return *(char **)field ? 0 : -ENOMEM;
	case WEIR_OPT_STRV:
		return weir_strv_push(field, val);
	case WEIR_OPT_BOOL:
		*(bool *)field = true;
		return 0;
	case WEIR_OPT_U32:
		if (parse_u64(val, UINT32_MAX, &v) || !v)
			break;
		*(uint32_t *)field = v;
		return 0;
	case WEIR_OPT_SIZE:
		if (parse_u64(val, SIZE_MAX, &v) || !v)
			break;
		*(size_t *)field = v;
		return 0;
	case WEIR_OPT_DURATION:
		if (parse_duration(val, &v) || !v)
			break;
		*(uint64_t *)field = v;
		return 0;
	case WEIR_OPT_BYTES:
		if (parse_bytes(val, &v) || !v)
			break;
		*(uint64_t *)field = v;
		return 0;
	case WEIR_OPT_CHOICE:
		for (i = 0; opt->choices[i]; i++) {
			if (!strcmp(opt->choices[i], val)) {
				*(int *)field = (int)i;
				return 0;
			}
		}
		break;
	}
	err_set(err, err_len, "%s: invalid value '%s' (want %s)", opt->flag, val,
		want_of(opt, want, sizeof(want)));
	return -EINVAL;
}

static void json_key_of(const struct weir_opt *opt, char *buf, size_t len)
{
	size_t i;

	for (i = 0; opt->flag[i] && i + 1 < len; i++)
		buf[i] = opt->flag[i] == '-' ? '_' : opt->flag[i];
	buf[i] = '\0';
}

static int opt_set_json(void *cfg, const struct weir_opt *opt, const char *key, json_t *val,
			char *err, size_t err_len)
{
	void *field = (char *)cfg + opt->offset;
	bool numeric = opt->type == WEIR_OPT_U32 || opt->type == WEIR_OPT_SIZE;
	char num[32];
	size_t i;
	json_t *el;
	int ret;

	switch (opt->type) {
	case WEIR_OPT_STRV:
		if (!json_is_array(val))
			break;
		strv_release(field); /* the file's list replaces the default */
		json_array_foreach(val, i, el)
		{
			if (!json_is_string(el)) {
				err_set(err, err_len, "config key %s[%zu]: want a string", key, i);
				return -EINVAL;
			}
			ret = weir_strv_push(field, json_string_value(el));
			if (ret)
				return ret;
		}
		return 0;
	case WEIR_OPT_BOOL:
		if (!json_is_boolean(val))
			break;
		*(bool *)field = json_is_true(val);
		return 0;
	default:
		if (json_is_string(val) && !numeric)
			return opt_set_str(cfg, opt, json_string_value(val), err, err_len);
		if (json_is_integer(val) && opt->type != WEIR_OPT_STR &&
		    opt->type != WEIR_OPT_CHOICE) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
			return opt_set_str(cfg, opt, num, err, err_len);
		}
	}
	err_set(err, err_len, "config key %s: want %s", key,
		opt->type == WEIR_OPT_STRV				  ? "an array of strings" :
		opt->type == WEIR_OPT_BOOL				  ? "true or false" :
		numeric							  ? "a positive integer" :
		opt->type == WEIR_OPT_STR || opt->type == WEIR_OPT_CHOICE ? "a string" :
									    "a string or a number");
	return -EINVAL;
}

int weir_opts_load_file(const struct weir_opts *o, void *cfg, const char *path, char *err,
			size_t err_len)
{
	json_error_t jerr;
	const char *key;
	char name[64];
	json_t *root, *val;
	size_t i;
	int ret = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		err_set(err, err_len, "config %s:%d: %s", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		err_set(err, err_len, "config %s: want a JSON object", path);
		ret = -EINVAL;
		goto out;
	}
	json_object_foreach(root, key, val)
	{
		for (i = 0; i < o->n; i++) {
			json_key_of(&o->opt[i], name, sizeof(name));
			if (!strcmp(name, key))
				break;
		}
		if (i == o->n) {
			err_set(err, err_len, "config %s: unknown key '%s'", path, key);
			ret = -EINVAL;
			goto out;
		}
		ret = opt_set_json(cfg, &o->opt[i], key, val, err, err_len);
		if (ret)
			goto out;
	}
out:
	json_decref(root);
	return ret;
}

static void usage(const struct weir_opts *o, const char *prog)
{
	char flag[64];
	int width = 16;
	size_t i;

	for (i = 0; i < o->n; i++) {
		int len = snprintf(flag, sizeof(flag), "--%s %s", o->opt[i].flag,
				   o->opt[i].metavar ? o->opt[i].metavar : "");

		if (len > width)
			width = len;
	}
	printf("Usage: %s [OPTION]...\n%s\n", prog, o->about);
	printf("  -c, --config %-*s JSON config file; flags override its keys\n", width - 9,
	       "PATH");
	printf("      %-*s (each key is the flag's name with '_' for '-')\n", width, "");
	for (i = 0; i < o->n; i++) {
		snprintf(flag, sizeof(flag), "--%s%s%s", o->opt[i].flag,
			 o->opt[i].metavar ? " " : "", o->opt[i].metavar ? o->opt[i].metavar : "");
		printf("      %-*s %s\n", width, flag, o->opt[i].help);
	}
	printf("  -v, --verbose %-*s debug logging\n", width - 10, "");
	printf("  -h, --help %-*s this help\n", width - 7, "");
	if (o->footer)
		printf("\n%s", o->footer);
}

int weir_opts_args(const struct weir_opts *o, void *cfg, int argc, char **argv, char *err,
		   size_t err_len)
{
	struct option longopts[OPTS_MAX + 4];
	size_t i;
	int c, ret;

	if (o->n > OPTS_MAX)
		return -E2BIG;
	for (i = 0; i < o->n; i++)
		longopts[i] = (struct option){ o->opt[i].flag,
					       o->opt[i].type == WEIR_OPT_BOOL ? no_argument :
										 required_argument,
					       NULL, 256 + (int)i };
	longopts[i++] = (struct option){ "config", required_argument, NULL, 'c' };
	longopts[i++] = (struct option){ "verbose", no_argument, NULL, 'v' };
	longopts[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[i] = (struct option){ 0 };

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:vh", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(o, argv[0]);
			return 1;
		} else if (c == 'v') {
			(*(int *)((char *)cfg + o->verbose_offset))++;
		} else if (c == 'c') {
			continue; /* read before the flags: weir_opts_config_path() */
		} else if (c >= 256 && c < 256 + (int)o->n) {
			ret = opt_set_str(cfg, &o->opt[c - 256], optarg ? optarg : "", err,
					  err_len);
			if (ret)
				return ret;
		} else if (c == ':') {
			err_set(err, err_len, "%s needs a value", argv[optind - 1]);
			return -EINVAL;
		} else {
			err_set(err, err_len, "unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		err_set(err, err_len, "unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

const char *weir_opts_config_path(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return NULL;
}
