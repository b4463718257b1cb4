// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir endpoints: the pods an agent knows (GET /v1/endpoints), with their
 * addresses, labels, workload and where the agent learnt them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "table.h"

struct endpoints_cfg {
	const char *output;
};

/* clang-format off */
static const struct weir_opt endpoints_opts[] = {
	DEFINE_OPTION("output", WEIR_OPT_STRING, struct endpoints_cfg, output, .short_opt = 'o',
		      .metavar = "FORMAT", .group = "Options",
		      .help = "table (default) or json (the agent's answer)"),
	END_OPTIONS
};
/* clang-format on */

const struct weir_cmd weir_cmd_endpoints = {
	.name = "endpoints",
	.summary = "List the endpoints (pods) an agent knows",
	.description = "Asks an agent for GET /v1/endpoints: each pod's namespace, name,\n"
		       "addresses, labels and workload, and where the agent learnt it (api,\n"
		       "file, netns).",
	.opts = endpoints_opts,
};

/* Appends "a,b" or "k=v,k=v" of an array or object of strings to buf. */
static void join(const json_t *v, char *buf, size_t len)
{
	const json_t *item;
	const char *key;
	size_t i, n = 0;

	buf[0] = '\0';
	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
		{
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", i ? "," : "",
					      json_is_string(item) ? json_string_value(item) : "?");
		}
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item)
		{
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=%s",
					      n ? "," : "", key,
					      json_is_string(item) ? json_string_value(item) : "?");
		}
	}
	if (n >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

static int endpoints_print(const json_t *list)
{
	static const char *const head[] = { "NAMESPACE", "POD",	 "IPS",	  "LABELS",
					    "WORKLOAD",	 "NODE", "SOURCE" };
	struct weir_table *t = weir_table_new();
	const json_t *ep;
	size_t i;
	int ret;

	if (!t)
		return -ENOMEM;
	ret = weir_table_add(t, head, 7);
	json_array_foreach(list, i, ep)
	{
		char ips[512], labels[1024], workload[256] = "";
		const json_t *w = json_object_get(ep, "workload");
		const char *cells[7];

		if (ret)
			break;
		join(json_object_get(ep, "ips"), ips, sizeof(ips));
		join(json_object_get(ep, "labels"), labels, sizeof(labels));
		if (json_is_object(w))
			snprintf(workload, sizeof(workload), "%s%s%s", weir_json_str_of(w, "kind"),
				 *weir_json_str_of(w, "kind") ? "/" : "",
				 weir_json_str_of(w, "name"));
		cells[0] = weir_json_str_of(ep, "namespace");
		cells[1] = weir_json_str_of(ep, "pod_name");
		cells[2] = ips;
		cells[3] = labels;
		cells[4] = workload;
		cells[5] = weir_json_str_of(ep, "node_name");
		cells[6] = weir_json_str_of(ep, "source");
		ret = weir_table_add(t, cells, 7);
	}
	if (!ret)
		ret = weir_table_print(t, stdout);
	weir_table_free(t);
	return ret;
}

int weir_endpoints_main(struct weir_common *common, int argc, char **argv)
{
	struct endpoints_cfg cfg = { 0 };
	struct weir_optset set = { .opts = endpoints_opts, .cfg = &cfg };
	struct weir_client c;
	char err[512] = "";
	json_t *list = NULL;
	bool json;
	int ret;

	ret = weir_cmd_parse(&weir_cmd_endpoints, &set, common, argc, argv);
	if (ret)
		return ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
	json = cfg.output && !strcmp(cfg.output, "json");
	if (cfg.output && !json && strcmp(cfg.output, "table") != 0) {
		fprintf(stderr, "weir endpoints: invalid output format: %s (table, json)\n",
			cfg.output);
		return WEIR_EXIT_USAGE;
	}
	if (weir_common_client(common, &c))
		return WEIR_EXIT_FAIL;
	ret = weir_client_get_json(&c, "/v1/endpoints", NULL, &list, err, sizeof(err));
	if (ret && ret != -EINTR)
		weir_err("%s", err);
	else if (!ret && !json_is_array(list)) {
		weir_err("%s: /v1/endpoints is not a list of endpoints", c.display);
		ret = -EBADMSG;
	} else if (!ret && json) {
		ret = json_dumpf(list, stdout, JSON_COMPACT) || puts("") == EOF ? -EIO : 0;
	} else if (!ret) {
		ret = endpoints_print(list);
	}
	if (!ret && fflush(stdout))
		ret = -EIO;
	json_decref(list);
	weir_client_release(&c);
	return ret && ret != -EINTR ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}
