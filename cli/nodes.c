// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir nodes: the relay's nodes (GET /v1/nodes), as `hubble list nodes`
 * lists them, with the relay's address, last contact and last error.
 *
 * The answer is {"nodes": [...]} or a bare array; each node is Hubble's Node
 * ({name, state, address, version, uptime_ns, num_flows, max_flows,
 * seen_flows, flows_rate}) with Weir's last_contact (RFC 3339) and
 * last_error (weir-relay's relay/http.c). Absent fields, and an uptime of 0
 * (a node never reached), print as N/A.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "cli.h"
#include "printer.h"
#include "table.h"
#include "timefmt.h"

struct nodes_cfg {
	const char *output;
};

/* clang-format off */
static const struct weir_opt nodes_opts[] = {
	DEFINE_OPTION("output", WEIR_OPT_STRING, struct nodes_cfg, output, .short_opt = 'o',
		      .metavar = "FORMAT", .group = "Options",
		      .help = "table (default) or json (the relay's answer)"),
	END_OPTIONS
};
/* clang-format on */

const struct weir_cmd weir_cmd_nodes = {
	.name = "nodes",
	.summary = "List the relay's nodes",
	.description = "Asks a relay for GET /v1/nodes: each node's name, state, address, age,\n"
		       "flows per second, current and maximum flows, last contact and last\n"
		       "error. An agent has no nodes to list.",
	.opts = nodes_opts,
};

static bool u64_of(const json_t *o, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);
	char *end;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_string(v) && *json_string_value(v)) {
		*out = strtoull(json_string_value(v), &end, 10);
		return !*end;
	}
	return false;
}

/* Hubble's relay NodeState, by name (with or without NODE_) or number. */
static const char *state_of(const json_t *node)
{
	static const char *const names[] = { "Unknown", "Connected", "Unavailable", "Gone",
					     "Error" };
	static const char *const keys[] = { "UNKNOWN_NODE_STATE", "CONNECTED", "UNAVAILABLE",
					    "GONE", "ERROR" };
	const json_t *v = json_object_get(node, "state");
	size_t i;

	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 5)
		return names[json_integer_value(v)];
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (!strncasecmp(s, "NODE_", 5))
			s += 5;
		for (i = 0; i < 5; i++)
			if (!strcasecmp(s, keys[i]))
				return names[i];
		return s;
	}
	return "Unknown";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int node_row(struct weir_table *t, const json_t *node, uint64_t now)
{
	char age[32] = "N/A", rate[32] = "N/A", flows[96] = "N/A", contact[48] = "N/A";
	uint64_t up = 0, num = 0, max = 0, seen = 0, at;
	const char *cells[8];
	const json_t *fr = json_object_get(node, "flows_rate");
	char a[32], b[32];

	if (u64_of(node, "uptime_ns", &up) && up)
		weir_age(up, age, sizeof(age));
	if (json_is_number(fr))
		snprintf(rate, sizeof(rate), "%.2f", json_number_value(fr));
	else if (up >= 1000000000ULL && u64_of(node, "seen_flows", &seen))
		snprintf(rate, sizeof(rate), "%.2f", (double)seen / ((double)up / 1e9));
	if (u64_of(node, "num_flows", &num) && u64_of(node, "max_flows", &max)) {
		snprintf(flows, sizeof(flows), "%s/%s", weir_u64_grouped(num, a, sizeof(a)),
			 weir_u64_grouped(max, b, sizeof(b)));
		if (max)
			snprintf(flows + strlen(flows), sizeof(flows) - strlen(flows), " (%.2f%%)",
				 (double)num / (double)max * 100);
	}
	if (weir_json_str_of(node, "last_contact") &&
	    !weir_time_parse_rfc3339(weir_json_str_of(node, "last_contact"), &at)) {
		char age_s[32];

		weir_age(now > at ? now - at : 0, age_s, sizeof(age_s));
		snprintf(contact, sizeof(contact), "%s ago", age_s);
	}
	cells[0] = weir_json_str_of(node, "name") ?: "N/A";
	cells[1] = state_of(node);
	cells[2] = weir_json_str_of(node, "address") ?: "N/A";
	cells[3] = age;
	cells[4] = rate;
	cells[5] = flows;
	cells[6] = contact;
	cells[7] = weir_json_str_of(node, "last_error") ?: weir_json_str_of(node, "error") ?: "";
	return weir_table_add(t, cells, 8);
}

static int by_name(const void *a, const void *b)
{
	const char *x = weir_json_str_of(*(json_t *const *)a, "name") ?: "";
	const char *y = weir_json_str_of(*(json_t *const *)b, "name") ?: "";

	return strcmp(x, y);
}

static int nodes_print(const json_t *list)
{
	static const char *const head[] = { "NAME",	    "STATUS",	 "ADDRESS",
					    "AGE",	    "FLOWS/S",	 "CURRENT/MAX-FLOWS",
					    "LAST-CONTACT", "LAST-ERROR" };
	struct weir_table *t = weir_table_new();
	size_t n = json_array_size(list), i;
	uint64_t now = now_ns();
	json_t **sorted;
	int ret;

	sorted = calloc(n ? n : 1, sizeof(json_t *));
	if (!t || !sorted) {
		weir_table_free(t);
		free(sorted);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		sorted[i] = json_array_get(list, i);
	qsort((void *)sorted, n, sizeof(json_t *), by_name);
	ret = weir_table_add(t, head, 8);
	for (i = 0; !ret && i < n; i++)
		ret = json_is_object(sorted[i]) ? node_row(t, sorted[i], now) : 0;
	if (!ret)
		ret = weir_table_print(t, stdout);
	weir_table_free(t);
	free(sorted);
	return ret;
}

int weir_nodes_main(struct weir_common *common, int argc, char **argv)
{
	struct nodes_cfg cfg = { 0 };
	struct weir_optset set = { .opts = nodes_opts, .cfg = &cfg };
	const json_t *list;
	struct weir_client c;
	char err[512] = "";
	json_t *ans = NULL;
	long status = 0;
	bool json;
	int ret;

	ret = weir_cmd_parse(&weir_cmd_nodes, &set, common, argc, argv);
	if (ret)
		return ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
	json = cfg.output && !strcmp(cfg.output, "json");
	if (cfg.output && !json && strcmp(cfg.output, "table") != 0) {
		fprintf(stderr, "weir nodes: invalid output format: %s (table, json)\n",
			cfg.output);
		return WEIR_EXIT_USAGE;
	}
	if (weir_common_client(common, &c))
		return WEIR_EXIT_FAIL;
	ret = weir_client_get_json(&c, "/v1/nodes", &status, &ans, err, sizeof(err));
	list = json_is_array(ans) ? ans : json_object_get(ans, "nodes");
	if (ret == -EPROTO && status == 404)
		weir_err("%s is not a relay: it has no /v1/nodes (point --server at weir-relay)",
			 c.display);
	else if (ret && ret != -EINTR)
		weir_err("%s", err);
	else if (!ret && !json_is_array(list)) {
		weir_err("%s: /v1/nodes is not a list of nodes", c.display);
		ret = -EBADMSG;
	} else if (!ret && json) {
		ret = json_dumpf(ans, stdout, JSON_COMPACT) || puts("") == EOF ? -EIO : 0;
	} else if (!ret) {
		ret = nodes_print(list);
	}
	if (!ret && fflush(stdout))
		ret = -EIO;
	json_decref(ans);
	weir_client_release(&c);
	return ret && ret != -EINTR ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}
