/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the weir commands share: the options every command takes (the
 * server, timeouts), the stop flag signals set, exit statuses and messages.
 */
#ifndef WEIR_CLI_CLI_H
#define WEIR_CLI_CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "client.h"
#include "opts.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

/* Exit statuses. */
#define WEIR_EXIT_OK	0
#define WEIR_EXIT_FAIL	1 /* the server, the connection, the input or the output */
#define WEIR_EXIT_USAGE 2 /* the command line */

struct weir_common {
	const char *server;
	uint64_t timeout_ns;	     /* to connect */
	uint64_t request_timeout_ns; /* unary calls (status, nodes, endpoints) */
};

extern const struct weir_opt weir_common_opts[];

/* Set by SIGINT and SIGTERM: transfers and reads end cleanly. */
extern volatile sig_atomic_t weir_stop;

/* "weir: <message>" on stderr, one line. */
void weir_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a command's options with the common ones after them (argv[0] is
 * the command's name; no other argument is taken). Returns 0,
 * WEIR_OPTS_HELP (help printed: exit 0), or -EINVAL (the message printed:
 * exit WEIR_EXIT_USAGE).
 */
int weir_cmd_parse(const struct weir_cmd *cmd, const struct weir_optset *set,
		   struct weir_common *common, int argc, char **argv);
/* As weir_cmd_parse(), but options may stand anywhere and the other
 * arguments (all of them after "--") are the command's words, at most max,
 * in words[0..*n).
 */
int weir_cmd_parse_words(const struct weir_cmd *cmd, const struct weir_optset *set,
			 struct weir_common *common, int argc, char **argv, char **words, int max,
			 int *n);
/* As weir_cmd_parse_words(), with several sets of the command's own (its
 * options and the filter flags', say), the common ones after them.
 */
int weir_cmd_parse_sets(const struct weir_cmd *cmd, const struct weir_optset *sets, size_t n_sets,
			struct weir_common *common, int argc, char **argv, char **words, int max,
			int *n);
void weir_cmd_help(FILE *out, const struct weir_cmd *cmd);

/* A client for the common options; prints the error itself. */
int weir_common_client(const struct weir_common *common, struct weir_client *c);

/* The commands: argv[0] is the command's name. Each returns an exit status. */
extern const struct weir_cmd weir_cmd_observe, weir_cmd_status, weir_cmd_nodes, weir_cmd_endpoints,
	weir_cmd_version, weir_cmd_top, weir_cmd_lb;
int weir_observe_main(struct weir_common *common, int argc, char **argv);
int weir_status_main(struct weir_common *common, int argc, char **argv);
int weir_nodes_main(struct weir_common *common, int argc, char **argv);
int weir_endpoints_main(struct weir_common *common, int argc, char **argv);
int weir_lb_main(struct weir_common *common, int argc, char **argv);
int weir_version_main(struct weir_common *common, int argc, char **argv);
int weir_top_main(struct weir_common *common, int argc, char **argv);
extern const struct weir_cmd weir_cmd_prefilter;
int weir_prefilter_main(struct weir_common *common, int argc, char **argv);
extern const struct weir_cmd weir_cmd_policy;
int weir_policy_main(struct weir_common *common, int argc, char **argv);

/* The string member key of o, or "" when it is absent or not a string. */
const char *weir_json_str_of(const json_t *o, const char *key);

/* A duration for humans, as kubectl shows ages: "45s", "5m10s", "3h4m", "2d3h". */
char *weir_age(uint64_t ns, char *buf, size_t len);

#endif /* WEIR_CLI_CLI_H */
