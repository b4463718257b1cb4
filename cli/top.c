// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir top: the relay's top talkers (by bytes) and top dropped pairs (by
 * dropped packets) over a time range, or any group-by, from its history
 * (GET /v1/flows/aggregate), with observe's filter flags.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "observe_flags.h"
#include "printer.h"
#include "table.h"
#include "timefmt.h"

#define TALKERS_BY                                                          \
	"source.namespace,source.pod_name,IP.source,destination.namespace," \
	"destination.pod_name,IP.destination"
#define DROPPED_BY	  TALKERS_BY ",drop_reason_desc"
#define WEIR_AGG_HEAD_MAX 11 /* table columns: 8 fields and 3 counts */

struct top_cfg {
	bool dropped;
	const char *by, *order, *since, *until, *output;
	uint64_t limit;
	struct weir_ff_set ff;
};

#define CFG struct top_cfg

/* clang-format off */
static const struct weir_opt top_opts[] = {
	DEFINE_OPTION("dropped", WEIR_OPT_BOOL, CFG, dropped, .group = "What",
		      .help = "Top dropped pairs, by dropped packets (default: top talkers,\n"
			      "by bytes both ways)"),
	DEFINE_OPTION("by", WEIR_OPT_STRING, CFG, by, .metavar = "FIELDS",
		      .help = "Group by these fields instead (source.pod_name,\n"
			      "destination.pod_name, l4.TCP.destination_port, verdict, ...)"),
	DEFINE_OPTION("order", WEIR_OPT_STRING, CFG, order, .metavar = "WHAT",
		      .help = "Sort by bytes, packets or flows"),
	DEFINE_OPTION("limit", WEIR_OPT_COUNT, CFG, limit, .metavar = "N",
		      .help = "Show the top N (10)"),
	DEFINE_OPTION("since", WEIR_OPT_STRING, CFG, since, .metavar = "TIME",
		      .help = "From TIME: RFC 3339 or an age (default 1h)"),
	DEFINE_OPTION("until", WEIR_OPT_STRING, CFG, until, .metavar = "TIME",
		      .help = "Until TIME, as --since"),

	DEFINE_OPTION("output", WEIR_OPT_STRING, CFG, output, .short_opt = 'o',
		      .metavar = "FORMAT", .group = "Output",
		      .help = "table (default) or json (the relay's answer)"),
	END_OPTIONS
};
/* clang-format on */

const struct weir_cmd weir_cmd_top = {
	.name = "top",
	.summary = "Show the relay's top talkers and top dropped pairs from its history",
	.description = "Asks a relay with a history (--history-db) for GET /v1/flows/aggregate:\n"
		       "the source and destination pairs that sent the most bytes (both ways) in\n"
		       "the time range, or with --dropped the pairs with the most dropped packets\n"
		       "and the drop reason. Each flow counts once, with its latest counters.\n"
		       "--by groups by other fields.",
	.opts = top_opts,
	.filter_opts = weir_ff_opts,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int usage(const char *fmt, const char *what)
{
	fputs("weir top: ", stderr);
	fprintf(stderr, fmt, what);
	fputs(" (see 'weir top --help')\n", stderr);
	return WEIR_EXIT_USAGE;
}

static uint64_t u64_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) :
								 0;
}

/* "ns/pod" for a pod, else the address. */
static void endpoint_cell(const json_t *key, const char *side, char *buf, size_t len)
{
	char k[64];
	const char *ns, *pod, *ip;

	snprintf(k, sizeof(k), "%s.namespace", side);
	ns = json_string_value(json_object_get(key, k));
	snprintf(k, sizeof(k), "%s.pod_name", side);
	pod = json_string_value(json_object_get(key, k));
	ip = json_string_value(
		json_object_get(key, side[0] == 's' ? "IP.source" : "IP.destination"));
	if (pod && *pod)
		snprintf(buf, len, "%s/%s", ns ? ns : "", pod);
	else
		snprintf(buf, len, "%s", ip ? ip : "");
}

static void value_cell(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "-");
}

static int print_table(const json_t *ans, const struct top_cfg *c)
{
	const json_t *groups = json_object_get(ans, "groups"), *by = json_object_get(ans, "by");
	struct weir_table *t = weir_table_new();
	const json_t *g, *f;
	size_t i, j;
	int ret = 0;

	if (!t)
		return -ENOMEM;
	if (!c->by) {
		const char *head[] = { "SOURCE", "DESTINATION",
				       c->dropped ? "DROP REASON" : "FLOWS",
				       c->dropped ? "DROPS" : "PACKETS", "BYTES" };

		ret = weir_table_add(t, head, 5);
	} else {
		const char *head[WEIR_AGG_HEAD_MAX];
		size_t n = 0;

		json_array_foreach(by, j, f)
		{
			if (n < WEIR_AGG_HEAD_MAX - 3)
				head[n++] = json_string_value(f);
		}
		head[n++] = "FLOWS";
		head[n++] = "PACKETS";
		head[n++] = "BYTES";
		ret = weir_table_add(t, head, n);
	}
	json_array_foreach(groups, i, g)
	{
		const json_t *key = json_object_get(g, "key");
		char cells[WEIR_AGG_HEAD_MAX][96], a[32];
		const char *row[WEIR_AGG_HEAD_MAX];
		uint64_t pk = u64_of(g, "packets") + u64_of(g, "reply_packets");
		uint64_t by_ = u64_of(g, "bytes") + u64_of(g, "reply_bytes");
		size_t n = 0;

		if (ret)
			break;
		if (!c->by) {
			endpoint_cell(key, "source", cells[n++], sizeof(cells[0]));
			endpoint_cell(key, "destination", cells[n++], sizeof(cells[0]));
			if (c->dropped)
				value_cell(json_object_get(key, "drop_reason_desc"), cells[n++],
					   sizeof(cells[0]));
			else
				snprintf(cells[n++], sizeof(cells[0]), "%s",
					 weir_u64_grouped(u64_of(g, "flows"), a, sizeof(a)));
		} else {
			json_array_foreach(by, j, f)
			{
				if (n < WEIR_AGG_HEAD_MAX - 3)
					value_cell(json_object_get(key, json_string_value(f)),
						   cells[n++], sizeof(cells[0]));
			}
			snprintf(cells[n++], sizeof(cells[0]), "%s",
				 weir_u64_grouped(u64_of(g, "flows"), a, sizeof(a)));
		}
		snprintf(cells[n++], sizeof(cells[0]), "%s", weir_u64_grouped(pk, a, sizeof(a)));
		snprintf(cells[n++], sizeof(cells[0]), "%s", weir_u64_grouped(by_, a, sizeof(a)));
		for (j = 0; j < n; j++)
			row[j] = cells[j];
		ret = weir_table_add(t, row, n);
	}
	if (!ret)
		ret = weir_table_print(t, stdout);
	weir_table_free(t);
	return ret;
}

static char *top_path(const struct top_cfg *c, uint64_t since, uint64_t until, const json_t *allow,
		      const json_t *deny)
{
	char num[24], ts[WEIR_TIME_STR_LEN], *path = NULL;
	bool first = true;
	size_t len = 0;
	FILE *q;
	int ret;

	q = open_memstream(&path, &len);
	if (!q)
		return NULL;
	fputs("/v1/flows/aggregate", q);
	ret = weir_client_query_add(q, "by",
				    c->by      ? c->by :
				    c->dropped ? DROPPED_BY :
						 TALKERS_BY,
				    &first);
	ret = ret   ?:
		      weir_client_query_add(q, "order",
					    c->order   ? c->order :
					    c->dropped ? "packets" :
							 "bytes",
					    &first);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)(c->limit ? c->limit : 10));
	ret = ret ?: weir_client_query_add(q, "limit", num, &first);
	ret = ret   ?:
		      weir_client_query_add(q, "since", weir_time_format(since, ts, sizeof(ts)),
					    &first);
	if (!ret && until)
		ret = weir_client_query_add(q, "until", weir_time_format(until, ts, sizeof(ts)),
					    &first);
	ret = ret ?: weir_client_query_add_json(q, "allowlist", allow, &first);
	ret = ret ?: weir_client_query_add_json(q, "denylist", deny, &first);
	if (fclose(q) || ret) {
		free(path);
		return NULL;
	}
	return path;
}

int weir_top_main(struct weir_common *common, int argc, char **argv)
{
	struct top_cfg cfg = { 0 };
	struct weir_optset sets[] = {
		{ .opts = top_opts, .cfg = &cfg },
		{ .opts = weir_ff_opts, .cfg = &cfg.ff, .call = weir_ff_call },
	};
	json_t *allow = NULL, *deny = NULL, *ans = NULL;
	uint64_t since = 0, until = 0;
	struct weir_client c;
	char err[512] = "", *path = NULL;
	bool json = false, client = false;
	int ret, n;

	weir_ff_init(&cfg.ff);
	ret = weir_cmd_parse_sets(&weir_cmd_top, sets, 2, common, argc, argv, NULL, 0, &n);
	if (ret) {
		ret = ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
		goto out;
	}
	if (cfg.output) {
		json = !strcmp(cfg.output, "json");
		if (!json && strcmp(cfg.output, "table") != 0) {
			ret = usage("invalid output format: %s (table, json)", cfg.output);
			goto out;
		}
	}
	if (weir_observe_time_parse(cfg.since ? cfg.since : "1h", now_ns(), &since)) {
		ret = usage("failed to parse the since time: %s", cfg.since);
		goto out;
	}
	if (cfg.until && weir_observe_time_parse(cfg.until, now_ns(), &until)) {
		ret = usage("failed to parse the until time: %s", cfg.until);
		goto out;
	}
	/* the dropped pairs: every allow filter gets verdict DROPPED */
	if (cfg.dropped && weir_ff_add(&cfg.ff, WEIR_FF_VERDICT, "DROPPED", err, sizeof(err))) {
		ret = usage("%s", err);
		goto out;
	}
	if (weir_ff_finish(&cfg.ff, &allow, &deny, err, sizeof(err))) {
		ret = usage("%s", err);
		goto out;
	}
	path = top_path(&cfg, since, until, allow, deny);
	if (!path) {
		weir_err("out of memory");
		ret = WEIR_EXIT_FAIL;
		goto out;
	}
	if (weir_common_client(common, &c)) {
		ret = WEIR_EXIT_FAIL;
		goto out;
	}
	client = true;
	ret = weir_client_get_json(&c, path, NULL, &ans, err, sizeof(err));
	if (ret) {
		if (ret != -EINTR)
			weir_err("%s", err);
	} else if (!json_is_array(json_object_get(ans, "groups"))) {
		weir_err("%s: the aggregate has no groups", c.display);
		ret = -EBADMSG;
	} else if (json) {
		ret = json_dumpf(ans, stdout, JSON_COMPACT) || puts("") == EOF ? -EIO : 0;
	} else {
		ret = print_table(ans, &cfg);
	}
	if (!ret && fflush(stdout))
		ret = -EIO;
	ret = ret && ret != -EINTR ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
out:
	if (client)
		weir_client_release(&c);
	free(path);
	json_decref(ans);
	json_decref(allow);
	json_decref(deny);
	weir_ff_release(&cfg.ff);
	return ret;
}
