/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Declarative option tables (after xdp-tools' DEFINE_OPTION): each command
 * lists its options once, with type, metavar and help; the same table parses
 * the command line into the command's config struct and writes --help.
 */
#ifndef WEIR_CLI_OPTS_H
#define WEIR_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum weir_opt_type {
	WEIR_OPT_BOOL,	   /* bool: the flag alone, or --flag=true|false */
	WEIR_OPT_STRING,   /* const char *, pointing into argv */
	WEIR_OPT_COUNT,	   /* uint64_t: a decimal count */
	WEIR_OPT_DURATION, /* uint64_t ns: "5s", "500ms", "1m" */
	WEIR_OPT_CALL,	   /* handed to the set's callback, in command-line order */
};

struct weir_opt {
	const char *name; /* long name without "--"; NULL ends a table */
	char short_opt;	  /* 0: none */
	enum weir_opt_type type;
	size_t offset;	     /* of the member in the config struct */
	int id;		     /* WEIR_OPT_CALL: passed to the callback */
	const char *metavar; /* the value's name; NULL: the option takes none */
	const char *help;    /* '\n' starts a continuation line */
	const char *group;   /* set on an option: --help starts a group there */
};

#define DEFINE_OPTION(_name, _type, _cfg, _member, ...)                                          \
	{                                                                                        \
		.name = (_name), .type = (_type), .offset = offsetof(_cfg, _member), __VA_ARGS__ \
	}
#define DEFINE_CALL(_name, _id, ...)                                             \
	{                                                                        \
		.name = (_name), .type = WEIR_OPT_CALL, .id = (_id), __VA_ARGS__ \
	}
#define END_OPTIONS          \
	{                    \
		.name = NULL \
	}

/* One table and the config it fills. call takes WEIR_OPT_CALL options (value
 * is NULL for an option without a metavar) and returns 0 or -EINVAL with a
 * one-line message in err.
 */
struct weir_optset {
	const struct weir_opt *opts;
	void *cfg;
	int (*call)(void *cfg, const struct weir_opt *o, const char *value, char *err,
		    size_t err_len);
};

/* A subcommand: its usage, its help text and its own options. */
struct weir_cmd {
	const char *name;
	const char *args;	 /* after "[options]" in the usage line, or NULL */
	const char *summary;	 /* one line, for `weir --help` */
	const char *description; /* paragraphs for `weir CMD --help` */
	const struct weir_opt *opts;
	const struct weir_opt *filter_opts; /* weir_ff_opts when it takes the filter flags */
};

/* weir_opts_parse() found -h or --help. */
#define WEIR_OPTS_HELP 1

/* Parses argv[*next..argc) against the sets (the first set that knows a name
 * takes it). Stops at "--" or at the first argument that is not an option
 * (its index is left in *next; argc if none). Returns 0, WEIR_OPTS_HELP, or
 * -EINVAL with a one-line message in err.
 */
int weir_opts_parse(const struct weir_optset *sets, size_t n_sets, int argc, char **argv, int *next,
		    char *err, size_t err_len);

/* The option lines of --help for the tables, grouped. */
void weir_opts_help(FILE *out, const struct weir_opt *const *tables, size_t n_tables);

/* Finds an option by long name across tables, or NULL. */
const struct weir_opt *weir_opts_find(const struct weir_opt *const *tables, size_t n_tables,
				      const char *name);

#endif /* WEIR_CLI_OPTS_H */
