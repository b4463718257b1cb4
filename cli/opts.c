// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Option tables: parsing a command line into config structs, and --help. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "opts.h"
#include "timefmt.h"

#define HELP_COLUMN 32 /* where help text starts */

static const struct weir_opt *find_long(const struct weir_optset *sets, size_t n_sets,
					const char *name, size_t len,
					const struct weir_optset **set)
{
	const struct weir_opt *o;
	size_t i;

	for (i = 0; i < n_sets; i++)
		for (o = sets[i].opts; o && o->name; o++)
			if (strlen(o->name) == len && !strncmp(o->name, name, len)) {
				*set = &sets[i];
				return o;
			}
	return NULL;
}

static const struct weir_opt *find_short(const struct weir_optset *sets, size_t n_sets, char c,
					 const struct weir_optset **set)
{
	const struct weir_opt *o;
	size_t i;

	for (i = 0; i < n_sets; i++)
		for (o = sets[i].opts; o && o->name; o++)
			if (o->short_opt && o->short_opt == c) {
				*set = &sets[i];
				return o;
			}
	return NULL;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

/* Stores value (NULL for an option without one) as o says. */
static int apply(const struct weir_optset *set, const struct weir_opt *o, const char *value,
		 char *err, size_t err_len)
{
	char *member = (char *)set->cfg + o->offset;
	uint64_t u;
	char *end;

	if (!value && o->type != WEIR_OPT_BOOL && o->type != WEIR_OPT_CALL)
		return -EINVAL; /* a table that gives a value option no metavar */
	switch (o->type) {
	case WEIR_OPT_BOOL:
		if (!value) {
			*(bool *)member = true;
			return 0;
		}
		if (parse_bool(value, (bool *)member))
			goto bad;
		return 0;
	case WEIR_OPT_STRING:
		*(const char **)member = value;
		return 0;
	case WEIR_OPT_COUNT:
		errno = 0;
		u = strtoull(value, &end, 10);
		if (*value < '0' || *value > '9' || *end || errno)
			goto bad;
		*(uint64_t *)member = u;
		return 0;
	case WEIR_OPT_DURATION:
		if (weir_duration_parse(value, &u))
			goto bad;
		*(uint64_t *)member = u;
		return 0;
	case WEIR_OPT_CALL:
		if (!set->call)
			return -EINVAL;
		return set->call(set->cfg, o, value, err, err_len);
	}
	return -EINVAL;
bad:
	snprintf(err, err_len, "invalid value \"%.64s\" for --%s: expected %s", value, o->name,
		 o->type == WEIR_OPT_BOOL     ? "true or false" :
		 o->type == WEIR_OPT_DURATION ? "a duration like 5s, 500ms or 1m" :
						"a count");
	return -EINVAL;
}

/* An option that takes a value gets it from "=v", the rest of a short
 * cluster, or the next argument.
 */
static int take_value(const struct weir_opt *o, const char *inline_value, int argc, char **argv,
		      int *i, const char **value, char *err, size_t err_len)
{
	if (!o->metavar) {
		if (inline_value && o->type != WEIR_OPT_BOOL) {
			snprintf(err, err_len, "flag --%s takes no value", o->name);
			return -EINVAL;
		}
		*value = inline_value;
		return 0;
	}
	if (inline_value) {
		*value = inline_value;
		return 0;
	}
	if (*i + 1 >= argc) {
		snprintf(err, err_len, "flag needs an argument: --%s %s", o->name, o->metavar);
		return -EINVAL;
	}
	*value = argv[++*i];
	return 0;
}

static int parse_long(const struct weir_optset *sets, size_t n_sets, int argc, char **argv, int *i,
		      char *err, size_t err_len)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *value = NULL;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct weir_optset *set = NULL;
	const struct weir_opt *o;
	int ret;

	if (len == 4 && !strncmp(arg, "help", 4))
		return WEIR_OPTS_HELP;
	o = find_long(sets, n_sets, arg, len, &set);
	if (!o) {
		snprintf(err, err_len, "unknown flag: --%.*s", (int)(len > 64 ? 64 : len), arg);
		return -EINVAL;
	}
	ret = take_value(o, eq ? eq + 1 : NULL, argc, argv, i, &value, err, err_len);
	return ret ?: apply(set, o, value, err, err_len);
}

/* "-abc": flags a and b, then c with its value in the rest or the next argument. */
static int parse_short(const struct weir_optset *sets, size_t n_sets, int argc, char **argv, int *i,
		       char *err, size_t err_len)
{
	const char *p = argv[*i] + 1;

	for (; *p; p++) {
		const struct weir_optset *set = NULL;
		const struct weir_opt *o;
		const char *value = NULL;
		int ret;

		if (*p == 'h')
			return WEIR_OPTS_HELP;
		o = find_short(sets, n_sets, *p, &set);
		if (!o) {
			snprintf(err, err_len, "unknown shorthand flag: '%c' in %.64s", *p,
				 argv[*i]);
			return -EINVAL;
		}
		if (o->metavar) {
			ret = take_value(o, p[1] ? p + 1 : NULL, argc, argv, i, &value, err,
					 err_len);
			return ret ?: apply(set, o, value, err, err_len);
		}
		ret = apply(set, o, NULL, err, err_len);
		if (ret)
			return ret;
	}
	return 0;
}

int weir_opts_parse(const struct weir_optset *sets, size_t n_sets, int argc, char **argv, int *next,
		    char *err, size_t err_len)
{
	int i, ret;

	for (i = *next; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		if (a[1] == '-')
			ret = parse_long(sets, n_sets, argc, argv, &i, err, err_len);
		else
			ret = parse_short(sets, n_sets, argc, argv, &i, err, err_len);
		if (ret) {
			*next = i;
			return ret;
		}
	}
	*next = i;
	return 0;
}

const struct weir_opt *weir_opts_find(const struct weir_opt *const *tables, size_t n_tables,
				      const char *name)
{
	const struct weir_opt *o;
	size_t i;

	for (i = 0; i < n_tables; i++)
		for (o = tables[i]; o && o->name; o++)
			if (!strcmp(o->name, name))
				return o;
	return NULL;
}

static void help_line(FILE *out, const struct weir_opt *o)
{
	const char *h = o->help ? o->help : "", *nl;
	int n;

	if (o->short_opt)
		n = fprintf(out, "  -%c, --%s", o->short_opt, o->name);
	else
		n = fprintf(out, "      --%s", o->name);
	if (o->metavar)
		n += fprintf(out, " %s", o->metavar);
	if (n >= HELP_COLUMN - 1) {
		fputc('\n', out);
		n = 0;
	}
	for (;;) {
		nl = strchr(h, '\n');
		fprintf(out, "%*s%.*s\n", HELP_COLUMN - n, "", (int)(nl ? nl - h : (long)strlen(h)),
			h);
		if (!nl)
			break;
		h = nl + 1;
		n = 0;
	}
}

void weir_opts_help(FILE *out, const struct weir_opt *const *tables, size_t n_tables)
{
	const struct weir_opt *o;
	size_t i;

	for (i = 0; i < n_tables; i++) {
		for (o = tables[i]; o && o->name; o++) {
			/* a blank line before every group but a first one */
			if (o->group)
				fprintf(out, "%s%s:\n", i == 0 && o == tables[0] ? "" : "\n",
					o->group);
			help_line(out, o);
		}
	}
	fprintf(out, "  -h, --help%*s%s\n", HELP_COLUMN - 12, "", "Show this help");
}
