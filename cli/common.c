// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The options every command takes, command-line parsing with help, messages. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include "cli.h"

volatile sig_atomic_t weir_stop;

/* clang-format off */
const struct weir_opt weir_common_opts[] = {
	DEFINE_OPTION("server", WEIR_OPT_STRING, struct weir_common, server,
		      .metavar = "SERVER", .group = "Global options",
		      .help = "Agent or relay: a unix socket (/path, unix:///path) or a URL\n"
			      "(http://host:port, host:port); default $WEIR_SERVER, then\n"
			      WEIR_DEFAULT_SOCKET),
	DEFINE_OPTION("timeout", WEIR_OPT_DURATION, struct weir_common, timeout_ns,
		      .metavar = "DURATION", .help = "How long to wait for a connection (default 5s)"),
	DEFINE_OPTION("request-timeout", WEIR_OPT_DURATION, struct weir_common, request_timeout_ns,
		      .metavar = "DURATION",
		      .help = "How long to wait for an answer to status, nodes and endpoints\n"
			      "(default 12s)"),
	END_OPTIONS
};
/* clang-format on */

void weir_err(const char *fmt, ...)
{
	va_list ap;

	fputs("weir: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void weir_cmd_help(FILE *out, const struct weir_cmd *cmd)
{
	const struct weir_opt *tables[3];
	size_t n = 0;

	tables[n++] = cmd->opts;
	if (cmd->filter_opts)
		tables[n++] = cmd->filter_opts;
	tables[n++] = weir_common_opts;
	fprintf(out, "Usage: weir %s [options]%s%s\n\n%s\n\n", cmd->name, cmd->args ? " " : "",
		cmd->args ? cmd->args : "", cmd->description);
	weir_opts_help(out, tables, n);
}

#define CMD_SETS_MAX 4

int weir_cmd_parse_sets(const struct weir_cmd *cmd, const struct weir_optset *own, size_t n_own,
			struct weir_common *common, int argc, char **argv, char **words, int max,
			int *n)
{
	struct weir_optset sets[CMD_SETS_MAX];
	char err[512] = "";
	bool rest = false;
	size_t n_sets;
	int next = 1, ret;

	if (n_own >= CMD_SETS_MAX)
		return -EINVAL;
	memcpy(sets, own, n_own * sizeof(*own));
	sets[n_own] = (struct weir_optset){ .opts = weir_common_opts, .cfg = common };
	n_sets = n_own + 1;
	*n = 0;
	while (next < argc) {
		if (!rest) {
			ret = weir_opts_parse(sets, n_sets, argc, argv, &next, err, sizeof(err));
			if (ret == WEIR_OPTS_HELP) {
				weir_cmd_help(stdout, cmd);
				return WEIR_OPTS_HELP;
			}
			if (ret) {
				fprintf(stderr, "weir %s: %s (see 'weir %s --help')\n", cmd->name,
					err, cmd->name);
				return -EINVAL;
			}
			if (next >= argc)
				break;
			if (!strcmp(argv[next], "--")) { /* the rest are words */
				rest = true;
				next++;
				continue;
			}
		}
		if (!words || *n >= max) {
			fprintf(stderr,
				"weir %s: unexpected argument \"%.64s\" (see 'weir %s --help')\n",
				cmd->name, argv[next], cmd->name);
			return -EINVAL;
		}
		words[(*n)++] = argv[next++];
	}
	return 0;
}

int weir_cmd_parse_words(const struct weir_cmd *cmd, const struct weir_optset *set,
			 struct weir_common *common, int argc, char **argv, char **words, int max,
			 int *n)
{
	return weir_cmd_parse_sets(cmd, set, 1, common, argc, argv, words, max, n);
}

int weir_cmd_parse(const struct weir_cmd *cmd, const struct weir_optset *set,
		   struct weir_common *common, int argc, char **argv)
{
	int n;

	return weir_cmd_parse_words(cmd, set, common, argc, argv, NULL, 0, &n);
}

int weir_common_client(const struct weir_common *common, struct weir_client *c)
{
	char err[256] = "";
	int ret;

	ret = weir_client_init(c, common->server, err, sizeof(err));
	if (ret) {
		weir_err("%s", err);
		return ret;
	}
	if (common->timeout_ns)
		c->connect_timeout_ns = common->timeout_ns;
	c->request_timeout_ns =
		common->request_timeout_ns ? common->request_timeout_ns : 12000000000ULL;
	c->stop = &weir_stop;
	return 0;
}

char *weir_age(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ULL;

	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60));
	else
		snprintf(buf, len, "%llud%lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s / 3600 % 24));
	return buf;
}

const char *weir_json_str_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}
