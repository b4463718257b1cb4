// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir: the command line client of an agent or the relay. Global options,
 * then a command: observe, status, nodes, endpoints, top, lb, prefilter, policy, version.
 */
#include <signal.h>
#include <string.h>
#include <curl/curl.h>
#include "cli.h"

struct command {
	const struct weir_cmd *cmd;
	int (*main)(struct weir_common *common, int argc, char **argv);
};

static const struct command commands[] = {
	{ &weir_cmd_observe, weir_observe_main },
	{ &weir_cmd_status, weir_status_main },
	{ &weir_cmd_nodes, weir_nodes_main },
	{ &weir_cmd_endpoints, weir_endpoints_main },
	{ &weir_cmd_version, weir_version_main },
	{ &weir_cmd_top, weir_top_main },
	{ &weir_cmd_prefilter, weir_prefilter_main },
	{ &weir_cmd_policy, weir_policy_main },
	{ &weir_cmd_lb, weir_lb_main },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	const struct weir_opt *tables[] = { weir_common_opts };
	size_t i;

	fputs("Usage: weir [options] COMMAND [command options]\n\n"
	      "Weir's command line: flows, status and nodes of a weir-agent or weir-relay,\n"
	      "with Hubble's filters and outputs.\n\nCommands:\n",
	      out);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-12s%s\n", commands[i].cmd->name, commands[i].cmd->summary);
	fputc('\n', out);
	weir_opts_help(out, tables, 1);
	fputs("      --version                 Print the version\n\n"
	      "'weir COMMAND --help' shows a command's options; man weir has them all.\n",
	      out);
}

static const struct command *find(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].cmd->name, name))
			return &commands[i];
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	weir_stop = 1;
}

/* Ctrl-C and SIGTERM end transfers cleanly (no SA_RESTART: reads wake up);
 * a reader that leaves (weir observe | head) is a write error, not a signal.
 */
static void signals_init(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct weir_common common = { 0 };
	struct weir_optset set = { .opts = weir_common_opts, .cfg = &common };
	const struct command *cmd;
	char err[512] = "";
	int next = 1, ret;

	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("weir %s\n", WEIR_VERSION);
		return WEIR_EXIT_OK;
	}
	ret = weir_opts_parse(&set, 1, argc, argv, &next, err, sizeof(err));
	if (ret == WEIR_OPTS_HELP) {
		usage(stdout);
		return WEIR_EXIT_OK;
	}
	if (ret) {
		fprintf(stderr, "weir: %s (see 'weir --help')\n", err);
		return WEIR_EXIT_USAGE;
	}
	if (next >= argc) {
		usage(stderr);
		return WEIR_EXIT_USAGE;
	}
	if (!strcmp(argv[next], "help")) {
		cmd = next + 1 < argc ? find(argv[next + 1]) : NULL;
		if (cmd)
			weir_cmd_help(stdout, cmd->cmd);
		else
			usage(stdout);
		return WEIR_EXIT_OK;
	}
	cmd = find(argv[next]);
	if (!cmd) {
		fprintf(stderr, "weir: unknown command \"%.64s\" (see 'weir --help')\n",
			argv[next]);
		return WEIR_EXIT_USAGE;
	}
	signals_init();
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		weir_err("cannot initialise libcurl");
		return WEIR_EXIT_FAIL;
	}
	ret = cmd->main(&common, argc - next, argv + next);
	curl_global_cleanup();
	return ret;
}
