// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir lb: the agent's load-balancer services (/v1/services).
 *   weir lb list [NAME]                       services, backends, health, statistics
 *   weir lb add NAME VIP:PORT [options]       create, or change a service's settings
 *   weir lb add -f FILE                       PUT a service document ("-": stdin)
 *   weir lb delete NAME
 *   weir lb backend add|drain|delete NAME IP:PORT [--weight N]
 * Changes to one backend read the service's document, change it and PUT it
 * back whole: the agent applies a document atomically, so a reader never
 * sees half a change (two writers at once: the last one wins).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include "cli.h"
#include "table.h"

struct lb_cfg {
	const char *output;
	const char *file;
	const char *protocol;
	const char *health;
	const char *health_path;
	uint64_t table_size;
	uint64_t affinity_timeout;
	uint64_t weight;
	uint64_t health_interval;
	uint64_t health_timeout;
	uint64_t health_rise;
	uint64_t health_fall;
	uint64_t health_port;
};

/* clang-format off */
static const struct weir_opt lb_opts[] = {
	DEFINE_OPTION("output", WEIR_OPT_STRING, struct lb_cfg, output, .short_opt = 'o',
		      .metavar = "FORMAT", .group = "Options",
		      .help = "list: table (default) or json (the agent's answer)"),
	DEFINE_OPTION("file", WEIR_OPT_STRING, struct lb_cfg, file, .short_opt = 'f',
		      .metavar = "FILE", .help = "add: a service document ('-': stdin)"),
	DEFINE_OPTION("protocol", WEIR_OPT_STRING, struct lb_cfg, protocol, .metavar = "PROTO",
		      .help = "add: TCP (default) or UDP"),
	DEFINE_OPTION("table-size", WEIR_OPT_COUNT, struct lb_cfg, table_size, .metavar = "PRIME",
		      .help = "add: Maglev table size (the agent's default)"),
	DEFINE_OPTION("affinity-timeout", WEIR_OPT_COUNT, struct lb_cfg, affinity_timeout,
		      .metavar = "SECONDS", .help = "add: client-IP session affinity (0: off)"),
	DEFINE_OPTION("health", WEIR_OPT_STRING, struct lb_cfg, health, .metavar = "TYPE",
		      .help = "add: health check: none, tcp, udp or http"),
	DEFINE_OPTION("health-interval", WEIR_OPT_COUNT, struct lb_cfg, health_interval,
		      .metavar = "MS", .help = "add: between probes (1000)"),
	DEFINE_OPTION("health-timeout", WEIR_OPT_COUNT, struct lb_cfg, health_timeout,
		      .metavar = "MS", .help = "add: a probe's timeout (500)"),
	DEFINE_OPTION("health-rise", WEIR_OPT_COUNT, struct lb_cfg, health_rise, .metavar = "N",
		      .help = "add: successes that bring a backend back (2)"),
	DEFINE_OPTION("health-fall", WEIR_OPT_COUNT, struct lb_cfg, health_fall, .metavar = "N",
		      .help = "add: failures that take a backend out (3)"),
	DEFINE_OPTION("health-port", WEIR_OPT_COUNT, struct lb_cfg, health_port, .metavar = "PORT",
		      .help = "add: probe this port (default: the backend's)"),
	DEFINE_OPTION("health-path", WEIR_OPT_STRING, struct lb_cfg, health_path,
		      .metavar = "PATH", .help = "add: the HTTP check's path (/)"),
	DEFINE_OPTION("weight", WEIR_OPT_COUNT, struct lb_cfg, weight, .metavar = "N",
		      .help = "backend add: Maglev weight, 1-65535 (100)"),
	END_OPTIONS
};
/* clang-format on */

const struct weir_cmd weir_cmd_lb = {
	.name = "lb",
	.args = "list [NAME] | add NAME VIP:PORT | add -f FILE | delete NAME |\n"
		"       backend add|drain|delete NAME IP:PORT",
	.summary = "Manage the agent's load-balancer services",
	.description =
		"Lists, creates and deletes L4 load-balancer services (VIP, port, protocol)\n"
		"and their backends through the agent's /v1/services. 'list' shows each\n"
		"backend's weight, state, health and its new flows, packets, bytes and live\n"
		"conntrack entries. 'backend drain' keeps a backend's connections and sends it\n"
		"no new ones. IPv6 addresses are written [addr]:port.",
	.opts = lb_opts,
};

#define ARGS_MAX 6

static uint64_t stat_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(json_object_get(o, "stats"), key);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static void hostport(const char *ip, json_int_t port, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s:%" JSON_INTEGER_FORMAT, strchr(ip, ':') ? "[" : "", ip,
		 strchr(ip, ':') ? "]" : "", port);
}

/* "10.0.0.1:80" or "[fd00::1]:80" into ip and port. */
static int parse_hostport(const char *s, char *ip, size_t ip_len, unsigned int *port)
{
	const char *colon, *start = s, *end;
	unsigned char tmp[16];
	char *stop;
	unsigned long p;
	size_t n;

	if (!s)
		return -EINVAL;
	if (*s == '[') {
		start = s + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		end = colon;
	}
	n = (size_t)(end - start);
	if (!n || n >= ip_len)
		return -EINVAL;
	memcpy(ip, start, n);
	ip[n] = '\0';
	if (inet_pton(*s == '[' ? AF_INET6 : AF_INET, ip, tmp) != 1)
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &stop, 10);
	if (errno || *stop || !colon[1] || !p || p > 65535)
		return -EINVAL;
	*port = (unsigned int)p;
	return 0;
}

static int list_print(const json_t *services)
{
	static const char *const head[] = { "SERVICE", "FRONTEND", "BACKEND", "WEIGHT", "STATE",
					    "HEALTH",  "NEW",	   "PACKETS", "BYTES",	"ACTIVE" };
	struct weir_table *t = weir_table_new();
	const json_t *svc, *b;
	size_t i, j;
	int ret;

	if (!t)
		return -ENOMEM;
	ret = weir_table_add(t, head, 10);
	json_array_foreach(services, i, svc)
	{
		char front[96], back[96], w[16], n[24], p[24], by[24], a[24];
		const char *cells[10];

		hostport(weir_json_str_of(svc, "vip"),
			 json_integer_value(json_object_get(svc, "port")), front, sizeof(front));
		snprintf(front + strlen(front), sizeof(front) - strlen(front), "/%s",
			 weir_json_str_of(svc, "protocol"));
		snprintf(n, sizeof(n), "%" PRIu64, stat_of(svc, "new_flows"));
		snprintf(p, sizeof(p), "%" PRIu64, stat_of(svc, "packets"));
		snprintf(by, sizeof(by), "%" PRIu64, stat_of(svc, "bytes"));
		snprintf(a, sizeof(a), "%" PRIu64, stat_of(svc, "active_flows"));
		cells[0] = weir_json_str_of(svc, "name");
		cells[1] = front;
		cells[2] = "*";
		cells[3] = "";
		cells[4] = "";
		cells[5] = weir_json_str_of(json_object_get(svc, "health"), "type");
		cells[6] = n;
		cells[7] = p;
		cells[8] = by;
		cells[9] = a;
		ret = ret ?: weir_table_add(t, cells, 10);
		json_array_foreach(json_object_get(svc, "backends"), j, b)
		{
			hostport(weir_json_str_of(b, "ip"),
				 json_integer_value(json_object_get(b, "port")), back,
				 sizeof(back));
			snprintf(w, sizeof(w), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(json_object_get(b, "weight")));
			snprintf(n, sizeof(n), "%" PRIu64, stat_of(b, "new_flows"));
			snprintf(p, sizeof(p), "%" PRIu64, stat_of(b, "packets"));
			snprintf(by, sizeof(by), "%" PRIu64, stat_of(b, "bytes"));
			snprintf(a, sizeof(a), "%" PRIu64, stat_of(b, "active_flows"));
			cells[0] = "";
			cells[1] = "";
			cells[2] = back;
			cells[3] = w;
			cells[4] = weir_json_str_of(b, "state");
			cells[5] = weir_json_str_of(b, "health");
			ret = ret ?: weir_table_add(t, cells, 10);
		}
	}
	if (!ret)
		ret = weir_table_print(t, stdout);
	weir_table_free(t);
	return ret;
}

static int lb_list(struct weir_client *c, const struct lb_cfg *cfg, const char *name)
{
	bool json = cfg->output && !strcmp(cfg->output, "json");
	char err[512] = "", path[128];
	json_t *doc = NULL, *list;
	int ret;

	if (cfg->output && !json && strcmp(cfg->output, "table") != 0) {
		weir_err("lb list: invalid output format: %s (table, json)", cfg->output);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/v1/services%s%s", name ? "/" : "", name ? name : "");
	ret = weir_client_get_json(c, path, NULL, &doc, err, sizeof(err));
	if (ret) {
		if (ret != -EINTR)
			weir_err("%s", err);
		return ret;
	}
	if (json) {
		ret = json_dumpf(doc, stdout, JSON_COMPACT) || puts("") == EOF ? -EIO : 0;
	} else {
		list = name ? json_pack("[O]", doc) : json_incref(json_object_get(doc, "services"));
		ret = list_print(list);
		json_decref(list);
	}
	json_decref(doc);
	return ret;
}

static int put(struct weir_client *c, const char *name, const json_t *doc)
{
	char err[512] = "", path[128];
	int ret;

	snprintf(path, sizeof(path), "/v1/services/%s", name);
	ret = weir_client_send_json(c, "PUT", path, doc, NULL, NULL, err, sizeof(err));
	if (ret && ret != -EINTR)
		weir_err("%s", err);
	return ret;
}

/* The service's document as the agent has it, without the agent's
 * additions (ids, health, statistics): ready to be changed and PUT back.
 * -ENOENT (quietly) when there is no such service.
 */
static int fetch_doc(struct weir_client *c, const char *name, json_t **out, bool quiet_404)
{
	char err[512] = "", path[128];
	json_t *doc = NULL, *b;
	long status = 0;
	size_t i;
	int ret;

	snprintf(path, sizeof(path), "/v1/services/%s", name);
	ret = weir_client_get_json(c, path, &status, &doc, err, sizeof(err));
	if (ret == -EPROTO && status == 404 && quiet_404)
		return -ENOENT;
	if (ret) {
		if (ret != -EINTR)
			weir_err("%s", err);
		return ret;
	}
	json_object_del(doc, "id");
	json_object_del(doc, "usable_backends");
	json_object_del(doc, "stats");
	json_array_foreach(json_object_get(doc, "backends"), i, b)
	{
		json_object_del(b, "id");
		json_object_del(b, "health");
		json_object_del(b, "health_changes");
		json_object_del(b, "stats");
	}
	*out = doc;
	return 0;
}

static json_t *read_file_doc(const char *path)
{
	json_error_t jerr;
	json_t *doc;

	if (!strcmp(path, "-"))
		doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	else
		doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		weir_err("lb add: %s: line %d: %s", path, jerr.line, jerr.text);
	return doc;
}

static int lb_add(struct weir_client *c, const struct lb_cfg *cfg, int argc, char **args)
{
	char ip[64];
	unsigned int port;
	json_t *doc = NULL, *health;
	int ret;

	if (cfg->file) {
		if (argc) {
			weir_err("lb add: -f takes the whole document: no NAME or VIP:PORT");
			return -EINVAL;
		}
		doc = read_file_doc(cfg->file);
		if (!doc)
			return -EINVAL;
		ret = put(c, weir_json_str_of(doc, "name"), doc);
		json_decref(doc);
		return ret;
	}
	if (argc != 2 || parse_hostport(args[1], ip, sizeof(ip), &port)) {
		weir_err("lb add: NAME VIP:PORT expected (IPv6: [addr]:port)");
		return -EINVAL;
	}
	ret = fetch_doc(c, args[0], &doc, true);
	if (ret == -ENOENT)
		doc = json_pack("{s:s,s:[]}", "name", args[0], "backends");
	else if (ret)
		return ret;
	if (!doc)
		return -ENOMEM;
	json_object_set_new(doc, "vip", json_string(ip));
	json_object_set_new(doc, "port", json_integer(port));
	if (cfg->protocol)
		json_object_set_new(doc, "protocol", json_string(cfg->protocol));
	if (cfg->table_size)
		json_object_set_new(doc, "table_size", json_integer((json_int_t)cfg->table_size));
	if (cfg->affinity_timeout)
		json_object_set_new(doc, "affinity_timeout",
				    json_integer((json_int_t)cfg->affinity_timeout));
	if (cfg->health) {
		health = json_pack("{s:s}", "type", cfg->health);
		if (cfg->health_interval)
			json_object_set_new(health, "interval_ms",
					    json_integer((json_int_t)cfg->health_interval));
		if (cfg->health_timeout)
			json_object_set_new(health, "timeout_ms",
					    json_integer((json_int_t)cfg->health_timeout));
		if (cfg->health_rise)
			json_object_set_new(health, "rise",
					    json_integer((json_int_t)cfg->health_rise));
		if (cfg->health_fall)
			json_object_set_new(health, "fall",
					    json_integer((json_int_t)cfg->health_fall));
		if (cfg->health_port)
			json_object_set_new(health, "port",
					    json_integer((json_int_t)cfg->health_port));
		if (cfg->health_path)
			json_object_set_new(health, "path", json_string(cfg->health_path));
		json_object_set_new(doc, "health", health);
	}
	ret = put(c, args[0], doc);
	json_decref(doc);
	return ret;
}

static int lb_delete(struct weir_client *c, const char *name)
{
	char err[512] = "", path[128];
	int ret;

	snprintf(path, sizeof(path), "/v1/services/%s", name);
	ret = weir_client_send_json(c, "DELETE", path, NULL, NULL, NULL, err, sizeof(err));
	if (ret && ret != -EINTR)
		weir_err("%s", err);
	return ret;
}

/* backend add|drain|delete NAME IP:PORT */
static int lb_backend(struct weir_client *c, const struct lb_cfg *cfg, const char *verb,
		      const char *name, const char *target)
{
	char ip[64], want[INET6_ADDRSTRLEN], have[INET6_ADDRSTRLEN];
	unsigned char a[16], a2[16];
	unsigned int port;
	json_t *doc, *arr, *b, *found = NULL;
	size_t i, idx = 0;
	int family, ret;

	if (parse_hostport(target, ip, sizeof(ip), &port)) {
		weir_err("lb backend %s: IP:PORT expected, not \"%.64s\" (IPv6: [addr]:port)", verb,
			 target);
		return -EINVAL;
	}
	family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(family, ip, a);
	inet_ntop(family, a, want, sizeof(want));
	ret = fetch_doc(c, name, &doc, false);
	if (ret)
		return ret;
	arr = json_object_get(doc, "backends");
	json_array_foreach(arr, i, b)
	{
		/* Compare addresses, not spellings ("fd00::01" is "fd00::1"). */
		if (inet_pton(family, weir_json_str_of(b, "ip"), a2) != 1 ||
		    json_integer_value(json_object_get(b, "port")) != port)
			continue;
		inet_ntop(family, a2, have, sizeof(have));
		if (!strcmp(want, have)) {
			found = b;
			idx = i;
			break;
		}
	}
	if (!strcmp(verb, "add")) {
		if (!found) {
			found = json_pack("{s:s,s:i}", "ip", want, "port", (int)port);
			json_array_append_new(arr, found);
		}
		json_object_set_new(found, "state", json_string("active"));
		if (cfg->weight)
			json_object_set_new(found, "weight", json_integer((json_int_t)cfg->weight));
	} else if (!found) {
		weir_err("lb backend %s: service %s has no backend %s", verb, name, target);
		json_decref(doc);
		return -ENOENT;
	} else if (!strcmp(verb, "drain")) {
		json_object_set_new(found, "state", json_string("draining"));
	} else {
		json_array_remove(arr, idx);
	}
	ret = put(c, name, doc);
	json_decref(doc);
	return ret;
}

int weir_lb_main(struct weir_common *common, int argc, char **argv)
{
	struct lb_cfg cfg = { 0 };
	struct weir_optset set = { .opts = lb_opts, .cfg = &cfg };
	char *args[ARGS_MAX] = { 0 };
	struct weir_client c;
	int n = 0, ret;

	/* Options may come before, between and after the words. */
	ret = weir_cmd_parse_words(&weir_cmd_lb, &set, common, argc, argv, args, ARGS_MAX, &n);
	if (ret)
		return ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
	if (!n) {
		weir_cmd_help(stderr, &weir_cmd_lb);
		return WEIR_EXIT_USAGE;
	}
	if (!(!strcmp(args[0], "list") && n <= 2) && !(!strcmp(args[0], "add")) &&
	    !(!strcmp(args[0], "delete") && n == 2) &&
	    !(!strcmp(args[0], "backend") && n == 4 &&
	      (!strcmp(args[1], "add") || !strcmp(args[1], "drain") ||
	       !strcmp(args[1], "delete")))) {
		fprintf(stderr, "weir lb: usage: weir lb %s (see 'weir lb --help')\n",
			weir_cmd_lb.args);
		return WEIR_EXIT_USAGE;
	}
	if (weir_common_client(common, &c))
		return WEIR_EXIT_FAIL;
	if (!strcmp(args[0], "list"))
		ret = lb_list(&c, &cfg, n == 2 ? args[1] : NULL);
	else if (!strcmp(args[0], "add"))
		ret = lb_add(&c, &cfg, n - 1, args + 1);
	else if (!strcmp(args[0], "delete"))
		ret = lb_delete(&c, args[1]);
	else
		ret = lb_backend(&c, &cfg, args[1], args[2], args[3]);
	if (!ret && fflush(stdout))
		ret = -EIO;
	weir_client_release(&c);
	if (ret == -EINVAL)
		return WEIR_EXIT_USAGE;
	return ret && ret != -EINTR ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}
