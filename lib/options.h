/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Table-driven options for Weir's daemons. One table describes each option
 * (its flag, its type, where it goes in the config struct, its help), and
 * from it come the JSON config file's keys (the flag with '_' for '-'), the
 * command-line flags and --help, so the three never disagree. A bad key,
 * flag or value is refused with its name.
 */
#ifndef WEIR_OPTIONS_H
#define WEIR_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

struct weir_strv {
	char **v;
	size_t n;
};

enum weir_opt_type {
	WEIR_OPT_STR,	   /* char * */
	WEIR_OPT_STRV,	   /* struct weir_strv: a flag per value, a JSON array */
	WEIR_OPT_BOOL,	   /* bool: a flag without a value */
	WEIR_OPT_U32,	   /* uint32_t, positive */
	WEIR_OPT_SIZE,	   /* size_t, positive */
	WEIR_OPT_DURATION, /* uint64_t ns: "30s", "500ms", "1m30s"; a bare number is seconds */
	WEIR_OPT_BYTES,	   /* uint64_t: "1048576", "64K", "512M", "1G" (powers of 1024) */
	WEIR_OPT_CHOICE,   /* int (an enum): the index of the value in `choices` */
};

struct weir_opt {
	const char *flag; /* --flag */
	enum weir_opt_type type;
	size_t offset; /* of the field in the config struct */
	const char *metavar;
	const char *help;
	const char *const *choices; /* WEIR_OPT_CHOICE: the names, NULL-terminated */
};

struct weir_opts {
	const struct weir_opt *opt;
	size_t n;
	const char *about;     /* --help: what the program is, after the usage line */
	const char *footer;    /* --help: after the options */
	size_t verbose_offset; /* the int that -v/--verbose increments */
};

/* Reads a JSON config file (an object of keys) over cfg. */
int weir_opts_load_file(const struct weir_opts *o, void *cfg, const char *path, char *err,
			size_t err_len);
/* Applies the command line over cfg: 0, 1 after --help (printed), or
 * -EINVAL naming the bad flag. -c/--config is skipped: see below.
 */
int weir_opts_args(const struct weir_opts *o, void *cfg, int argc, char **argv, char *err,
		   size_t err_len);
/* The -c/--config path, read before the flags (which override the file). */
const char *weir_opts_config_path(int argc, char **argv);
/* Frees the strings and lists the table points into. */
void weir_opts_release(const struct weir_opts *o, void *cfg);
int weir_strv_push(struct weir_strv *sv, const char *s);

#endif /* WEIR_OPTIONS_H */
