// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir policy get [NAME] | apply -f FILE | delete NAME: an agent's TC
 * endpoint policies (/v1/policy). apply sends the file's documents in one
 * PUT, which the agent validates whole and applies atomically.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "table.h"

struct policy_cfg {
	const char *output;
	const char *file;
};

/* clang-format off */
static const struct weir_opt policy_opts[] = {
	DEFINE_OPTION("output", WEIR_OPT_STRING, struct policy_cfg, output, .short_opt = 'o',
		      .metavar = "FORMAT", .group = "Options",
		      .help = "get: table (default) or json (the agent's answer)"),
	DEFINE_OPTION("file", WEIR_OPT_STRING, struct policy_cfg, file, .short_opt = 'f',
		      .metavar = "FILE", .group = "Options",
		      .help = "apply: the policy documents (- for stdin)"),
	END_OPTIONS
};
/* clang-format on */

const struct weir_cmd weir_cmd_policy = {
	.name = "policy",
	.args = "get [NAME] | apply -f FILE | delete NAME",
	.summary = "Show or change an agent's endpoint policies",
	.description =
		"TC endpoint policy: per pod, ingress and egress, a default (allow or deny)\n"
		"and rules on the peer's labels or CIDR, protocol and ports; deny wins, and\n"
		"replies to allowed flows always pass. get lists the policies (or prints one\n"
		"as JSON); apply puts the documents of FILE, all or none (a bad document is\n"
		"refused with the field named, and the old policy stays); delete removes one.",
	.opts = policy_opts,
};

/* "app=db,tier=x" of a labels object, or "ns/pod". */
static void endpoint_text(const json_t *ep, char *buf, size_t len)
{
	const json_t *labels = json_object_get(ep, "labels"), *v;
	const char *key;
	size_t n = 0;

	buf[0] = '\0';
	if (json_object_get(ep, "pod")) {
		snprintf(buf, len, "%s/%s", weir_json_str_of(ep, "namespace"),
			 weir_json_str_of(ep, "pod"));
		return;
	}
	if (*weir_json_str_of(ep, "namespace"))
		n += (size_t)snprintf(buf, len, "%s:", weir_json_str_of(ep, "namespace"));
	json_object_foreach((json_t *)labels, key, v)
	{
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=%s",
				      n && buf[n - 1] != ':' ? "," : "", key,
				      json_is_string(v) ? json_string_value(v) : "?");
	}
}

static void dir_text(const json_t *d, char *buf, size_t len)
{
	if (!json_is_object(d)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%s, %zu rules",
		 *weir_json_str_of(d, "default") ? weir_json_str_of(d, "default") : "allow",
		 json_array_size(json_object_get(d, "rules")));
}

static int list_print(const json_t *doc)
{
	static const char *const head[] = { "NAME", "ENDPOINT", "MODE", "INGRESS", "EGRESS" };
	struct weir_table *t = weir_table_new();
	const json_t *p;
	size_t i;
	int ret;

	if (!t)
		return -ENOMEM;
	ret = weir_table_add(t, head, 5);
	json_array_foreach(json_object_get(doc, "policies"), i, p)
	{
		char ep[512], in[64], out[64];
		const char *cells[5] = { weir_json_str_of(p, "name"), ep,
					 *weir_json_str_of(p, "mode") ?
						 weir_json_str_of(p, "mode") :
						 "enforce",
					 in, out };

		if (ret)
			break;
		endpoint_text(json_object_get(p, "endpoint"), ep, sizeof(ep));
		dir_text(json_object_get(p, "ingress"), in, sizeof(in));
		dir_text(json_object_get(p, "egress"), out, sizeof(out));
		ret = weir_table_add(t, cells, 5);
	}
	if (!ret)
		ret = weir_table_print(t, stdout);
	weir_table_free(t);
	return ret;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "weir policy: %s (see 'weir policy --help')\n", msg);
	return WEIR_EXIT_USAGE;
}

static json_t *file_load(const char *path)
{
	json_error_t jerr;
	json_t *doc;

	if (!strcmp(path, "-"))
		doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	else
		doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		weir_err("%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	return doc;
}

int weir_policy_main(struct weir_common *common, int argc, char **argv)
{
	struct policy_cfg cfg = { 0 };
	char err[512] = "", path[512], **args, *esc = NULL;
	json_t *doc = NULL, *body = NULL;
	struct weir_client c;
	const char *sub;
	bool json;
	int n, ret;

	args = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*args));
	if (!args)
		return WEIR_EXIT_FAIL;
	ret = weir_cmd_parse_words(&weir_cmd_policy,
				   &(struct weir_optset){ .opts = policy_opts, .cfg = &cfg },
				   common, argc, argv, args, argc, &n);
	if (ret) {
		free(args);
		return ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
	}
	sub = n ? args[0] : "get";
	json = cfg.output && !strcmp(cfg.output, "json");
	if (cfg.output && !json && strcmp(cfg.output, "table") != 0)
		ret = usage_error("invalid output format (table, json)");
	else if (!strcmp(sub, "get") && n > 2)
		ret = usage_error("get takes at most one policy name");
	else if (!strcmp(sub, "apply") && (n != 1 || !cfg.file))
		ret = usage_error("apply takes -f FILE and nothing else");
	else if (!strcmp(sub, "delete") && n != 2)
		ret = usage_error("delete takes one policy name");
	else if (strcmp(sub, "get") != 0 && strcmp(sub, "apply") != 0 && strcmp(sub, "delete") != 0)
		ret = usage_error("unknown subcommand: get, apply or delete");
	else
		ret = 0;
	if (ret) {
		free(args);
		return ret;
	}
	if (!strcmp(sub, "apply")) {
		body = file_load(cfg.file);
		if (!body) {
			free(args);
			return WEIR_EXIT_FAIL;
		}
	}
	if (weir_common_client(common, &c)) {
		json_decref(body);
		free(args);
		return WEIR_EXIT_FAIL;
	}
	if (n == 2) {
		esc = weir_client_escape(args[1]);
		snprintf(path, sizeof(path), "/v1/policy/%s", esc ? esc : "");
	}
	if (!strcmp(sub, "apply")) {
		ret = weir_client_send_json(&c, "PUT", "/v1/policy", body, NULL, &doc, err,
					    sizeof(err));
		if (!ret)
			printf("applied %zu policies\n",
			       json_is_array(body) ?
				       json_array_size(body) :
			       json_object_get(body, "policies") ?
				       json_array_size(json_object_get(body, "policies")) :
				       1);
	} else if (!strcmp(sub, "delete")) {
		ret = weir_client_send_json(&c, "DELETE", path, NULL, NULL, &doc, err, sizeof(err));
		if (!ret)
			printf("deleted %s\n", args[1]);
	} else {
		ret = weir_client_get_json(&c, n == 2 ? path : "/v1/policy", NULL, &doc, err,
					   sizeof(err));
		if (!ret && (json || n == 2))
			ret = json_dumpf(doc, stdout, JSON_COMPACT) || puts("") == EOF ? -EIO : 0;
		else if (!ret)
			ret = list_print(doc);
	}
	if (ret && ret != -EINTR && err[0])
		weir_err("%s", err);
	if (!ret && fflush(stdout))
		ret = -EIO;
	free(esc);
	json_decref(doc);
	json_decref(body);
	weir_client_release(&c);
	free(args);
	return ret && ret != -EINTR ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}
