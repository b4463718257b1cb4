// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir prefilter list|add|delete: the agent's XDP source deny list
 * (/v1/prefilter). add and delete send one PATCH, applied by the agent as
 * one atomic replacement; the agent checks every CIDR and names a bad one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "table.h"

struct prefilter_cfg {
	const char *output;
	bool all;
};

/* clang-format off */
static const struct weir_opt prefilter_opts[] = {
	DEFINE_OPTION("output", WEIR_OPT_STRING, struct prefilter_cfg, output, .short_opt = 'o',
		      .metavar = "FORMAT", .group = "Options",
		      .help = "table (default) or json (the agent's answer)"),
	DEFINE_OPTION("all", WEIR_OPT_BOOL, struct prefilter_cfg, all,
		      .help = "delete: empty the whole list"),
	END_OPTIONS
};
/* clang-format on */

const struct weir_cmd weir_cmd_prefilter = {
	.name = "prefilter",
	.args = "list | add CIDR... | delete CIDR... | delete --all",
	.summary = "Show or change an agent's XDP source deny list",
	.description =
		"The XDP prefilter drops packets from the listed source CIDRs before any\n"
		"other processing, counted per CIDR and as drop reason PREFILTER_DENIED.\n"
		"list shows each CIDR with the packets and bytes it dropped; add and delete\n"
		"change the list in one atomic update (a bare address is a /32 or /128).",
	.opts = prefilter_opts,
};

static int list_print(const json_t *doc)
{
	static const char *const head[] = { "CIDR", "PACKETS", "BYTES" };
	struct weir_table *t = weir_table_new();
	const json_t *h;
	size_t i;
	int ret;

	if (!t)
		return -ENOMEM;
	ret = weir_table_add(t, head, 3);
	json_array_foreach(json_object_get(doc, "hits"), i, h)
	{
		char packets[32], bytes[32];
		const char *cells[3] = { weir_json_str_of(h, "cidr"), packets, bytes };

		if (ret)
			break;
		snprintf(packets, sizeof(packets), "%lld",
			 (long long)json_integer_value(json_object_get(h, "packets")));
		snprintf(bytes, sizeof(bytes), "%lld",
			 (long long)json_integer_value(json_object_get(h, "bytes")));
		ret = weir_table_add(t, cells, 3);
	}
	if (!ret)
		ret = weir_table_print(t, stdout);
	weir_table_free(t);
	if (!ret)
		printf("%zu entries, revision %lld\n",
		       json_array_size(json_object_get(doc, "deny")),
		       (long long)json_integer_value(json_object_get(doc, "revision")));
	return ret;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "weir prefilter: %s (see 'weir prefilter --help')\n", msg);
	return WEIR_EXIT_USAGE;
}

/* {"add": [...]} or {"delete": [...]} of args[1..n). */
static json_t *patch_of(const char *key, char **args, int n)
{
	json_t *doc = json_object(), *arr = json_array();
	int i;

	if (!doc || !arr || json_object_set_new(doc, key, arr)) {
		json_decref(doc);
		return NULL;
	}
	for (i = 1; i < n; i++)
		if (json_array_append_new(arr, json_string(args[i]))) {
			json_decref(doc);
			return NULL;
		}
	return doc;
}

int weir_prefilter_main(struct weir_common *common, int argc, char **argv)
{
	struct prefilter_cfg cfg = { 0 };
	struct weir_client c;
	char **args, err[512] = "";
	json_t *body = NULL, *doc = NULL;
	const char *sub;
	int n, ret;
	bool json;

	args = calloc(argc > 0 ? argc : 1, sizeof(*args));
	if (!args)
		return WEIR_EXIT_FAIL;
	ret = weir_cmd_parse_words(&weir_cmd_prefilter,
				   &(struct weir_optset){ .opts = prefilter_opts, .cfg = &cfg },
				   common, argc, argv, args, argc, &n);
	if (ret) {
		free(args);
		return ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
	}
	sub = n ? args[0] : "list";
	json = cfg.output && !strcmp(cfg.output, "json");
	if (cfg.output && !json && strcmp(cfg.output, "table") != 0)
		ret = usage_error("invalid output format (table, json)");
	else if (!strcmp(sub, "list") && n > 1)
		ret = usage_error("list takes no arguments");
	else if (!strcmp(sub, "add") && n < 2)
		ret = usage_error("add: give one or more CIDRs");
	else if (!strcmp(sub, "delete") && (n < 2) == !cfg.all)
		ret = usage_error("delete: give one or more CIDRs, or --all");
	else if (strcmp(sub, "list") != 0 && strcmp(sub, "add") != 0 && strcmp(sub, "delete") != 0)
		ret = usage_error("unknown subcommand: list, add or delete");
	if (ret) {
		free(args);
		return ret;
	}
	if (weir_common_client(common, &c)) {
		free(args);
		return WEIR_EXIT_FAIL;
	}
	if (!strcmp(sub, "list")) {
		ret = weir_client_get_json(&c, "/v1/prefilter", NULL, &doc, err, sizeof(err));
	} else if (cfg.all) {
		ret = weir_client_send_json(&c, "DELETE", "/v1/prefilter", NULL, NULL, &doc, err,
					    sizeof(err));
	} else {
		body = patch_of(sub, args, n);
		ret = body ? weir_client_send_json(&c, "PATCH", "/v1/prefilter", body, NULL, &doc,
						   err, sizeof(err)) :
			     -ENOMEM;
		if (ret == -ENOMEM && !err[0])
			snprintf(err, sizeof(err), "out of memory");
	}
	if (ret && ret != -EINTR)
		weir_err("%s", err);
	else if (!ret && !json_is_object(doc)) {
		weir_err("%s: /v1/prefilter did not answer with a prefilter document", c.display);
		ret = -EBADMSG;
	} else if (!ret && json) {
		ret = json_dumpf(doc, stdout, JSON_COMPACT) || puts("") == EOF ? -EIO : 0;
	} else if (!ret && !strcmp(sub, "list")) {
		ret = list_print(doc);
	} else if (!ret) {
		printf("%s: %zu entries, revision %lld\n", cfg.all ? "deleted all" : sub,
		       json_array_size(json_object_get(doc, "deny")),
		       (long long)json_integer_value(json_object_get(doc, "revision")));
	}
	if (!ret && fflush(stdout))
		ret = -EIO;
	json_decref(body);
	json_decref(doc);
	weir_client_release(&c);
	free(args);
	return ret && ret != -EINTR ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}
