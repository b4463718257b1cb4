// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir version. */
#include "cli.h"

struct version_cfg {
	bool unused;
};

static const struct weir_opt version_opts[] = { END_OPTIONS };

const struct weir_cmd weir_cmd_version = {
	.name = "version",
	.summary = "Print the version of weir",
	.description = "Prints the version of this weir binary.",
	.opts = version_opts,
};

int weir_version_main(struct weir_common *common, int argc, char **argv)
{
	struct version_cfg cfg;
	struct weir_optset set = { .opts = version_opts, .cfg = &cfg };
	int ret;

	ret = weir_cmd_parse(&weir_cmd_version, &set, common, argc, argv);
	if (ret)
		return ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
	printf("weir %s\n", WEIR_VERSION);
	return fflush(stdout) ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}
