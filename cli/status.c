// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir status: the server's health and flow counts, as `hubble status`
 * prints them, with the relay's connected and unavailable nodes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "printer.h"

struct status_cfg {
	const char *output;
};

/* clang-format off */
static const struct weir_opt status_opts[] = {
	DEFINE_OPTION("output", WEIR_OPT_STRING, struct status_cfg, output, .short_opt = 'o',
		      .metavar = "FORMAT", .group = "Options",
		      .help = "compact (default) or json (the server's answer)"),
	END_OPTIONS
};
/* clang-format on */

const struct weir_cmd weir_cmd_status = {
	.name = "status",
	.summary = "Show the health and flow counts of an agent or the relay",
	.description = "Asks the server for GET /v1/status: health, current and maximum flows\n"
		       "in its buffer, flows per second, lost events, and for a relay its\n"
		       "connected and unavailable nodes.",
	.opts = status_opts,
};

static bool u64_of(const json_t *o, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_string(v)) {
		char *end;

		*out = strtoull(json_string_value(v), &end, 10);
		return !*end && *json_string_value(v);
	}
	return false;
}

/* An agent's own: its policies (held while the endpoint cache is not
 * whole) and its Kubernetes pod watch.
 */
static void agent_print(const json_t *st)
{
	const json_t *pol = json_object_get(st, "policy"), *k8s = json_object_get(st, "k8s");
	const char *err;
	uint64_t n = 0, eps = 0, lists = 0;

	if (json_is_object(pol) && u64_of(pol, "policies", &n) && u64_of(pol, "endpoints", &eps))
		printf("Policies: %" PRIu64 " on %" PRIu64 " endpoint addresses%s\n", n, eps,
		       json_is_true(json_object_get(pol, "held")) ?
			       " (held: waiting for the Kubernetes pod list)" :
			       "");
	if (!json_is_object(k8s))
		return;
	u64_of(k8s, "lists", &lists);
	err = json_string_value(json_object_get(k8s, "last_error"));
	if (json_is_true(json_object_get(k8s, "synced")))
		printf("Kubernetes: synced (%" PRIu64 " lists)\n", lists);
	else
		printf("Kubernetes: not synced%s%s\n", err && *err ? ": " : "",
		       err && *err ? err : "");
}

/* Hubble's WriteServerStatusResponse(), compact. */
static void status_print(const json_t *st, const char *server)
{
	uint64_t num = 0, max = 0, seen = 0, uptime = 0, lost = 0, conn = 0, unav = 0;
	const json_t *names = json_object_get(st, "unavailable_nodes"), *n;
	char a[32], b[32];
	double rate = 0;
	bool has_conn, has_unav;
	size_t i;

	u64_of(st, "num_flows", &num);
	u64_of(st, "max_flows", &max);
	u64_of(st, "seen_flows", &seen);
	u64_of(st, "uptime_ns", &uptime);
	has_conn = u64_of(st, "num_connected_nodes", &conn);
	has_unav = u64_of(st, "num_unavailable_nodes", &unav);
	if (json_is_number(json_object_get(st, "flows_rate")))
		rate = json_number_value(json_object_get(st, "flows_rate"));
	printf("Healthcheck (via %s): Ok\n", server);
	printf("Current/Max Flows: %s/%s", weir_u64_grouped(num, a, sizeof(a)),
	       weir_u64_grouped(max, b, sizeof(b)));
	if (max)
		printf(" (%.2f%%)", (double)num / (double)max * 100);
	printf("\n");
	if (rate <= 0 && uptime >= 1000000000ULL)
		rate = (double)seen / ((double)uptime / 1e9);
	if (rate > 0 || uptime >= 1000000000ULL)
		printf("Flows/s: %.2f\n", rate);
	else
		printf("Flows/s: N/A\n");
	if (u64_of(st, "lost_events", &lost))
		printf("Lost Events: %s\n", weir_u64_grouped(lost, a, sizeof(a)));
	agent_print(st);
	if (has_conn) {
		printf("Connected Nodes: %" PRIu64, conn);
		if (has_unav)
			printf("/%" PRIu64, conn + unav);
		printf("\n");
	}
	if (has_unav && unav) {
		printf("Unavailable Nodes: %" PRIu64 "\n", unav);
		json_array_foreach(names, i, n)
		{
			const char *s = json_is_string(n) ? json_string_value(n) : "";

			fputs("  - ", stdout);
			for (; *s; s++)
				putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
			putchar('\n');
		}
		if (unav > json_array_size(names) && json_array_size(names))
			printf("  - and %" PRIu64 " more...\n",
			       (uint64_t)(unav - json_array_size(names)));
	}
}

int weir_status_main(struct weir_common *common, int argc, char **argv)
{
	struct status_cfg cfg = { 0 };
	struct weir_optset set = { .opts = status_opts, .cfg = &cfg };
	struct weir_client c;
	char err[512] = "";
	json_t *st = NULL;
	bool json;
	int ret;

	ret = weir_cmd_parse(&weir_cmd_status, &set, common, argc, argv);
	if (ret)
		return ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
	json = cfg.output && !strcmp(cfg.output, "json");
	if (cfg.output && !json && strcmp(cfg.output, "compact") != 0) {
		fprintf(stderr, "weir status: invalid output format: %s (compact, json)\n",
			cfg.output);
		return WEIR_EXIT_USAGE;
	}
	if (weir_common_client(common, &c))
		return WEIR_EXIT_FAIL;
	ret = weir_client_get_json(&c, "/v1/status", NULL, &st, err, sizeof(err));
	if (ret) {
		if (ret != -EINTR)
			weir_err("%s", err);
	} else if (!json_is_object(st)) {
		weir_err("%s: /v1/status is not a JSON object", c.display);
		ret = -EBADMSG;
	} else if (json) {
		ret = json_dumpf(st, stdout, JSON_COMPACT) || puts("") == EOF ? -EIO : 0;
	} else {
		status_print(st, c.display);
	}
	if (!ret && fflush(stdout))
		ret = -EIO;
	json_decref(st);
	weir_client_release(&c);
	return ret && ret != -EINTR ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}
