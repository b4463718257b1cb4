// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-agent's configuration. One table describes every option: its flag,
 * its key in the JSON config file, its type and its help, so the three never
 * disagree.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <weir/abi.h>
#include "config.h"

enum opt_type { OPT_STR, OPT_STRV, OPT_BOOL, OPT_U32, OPT_SIZE, OPT_XDP_MODE };

struct opt {
	const char *flag; /* --flag; the JSON key is the same with '_' for '-' */
	int short_opt;
	enum opt_type type;
	size_t offset;
	const char *metavar;
	const char *help;
};

#define CFG(member) offsetof(struct weir_agent_config, member)

static const struct opt opts[] = {
	{ "node-name", 0, OPT_STR, CFG(node_name), "NAME",
	  "this node's name (default: host name)" },
	{ "xdp", 0, OPT_STRV, CFG(xdp_ifaces), "IFACE", "attach XDP to this uplink (repeatable)" },
	{ "xdp-mode", 0, OPT_XDP_MODE, CFG(xdp_mode), "MODE",
	  "auto (native, falling back to generic), native or generic" },
	{ "tc", 0, OPT_STRV, CFG(tc_ifaces), "IFACE",
	  "attach TC ingress+egress here (repeatable)" },
	{ "tc-pattern", 0, OPT_STRV, CFG(tc_patterns), "GLOB",
	  "attach TC to links matching this glob as they appear, e.g. 'veth*' (repeatable)" },
	{ "pin-dir", 0, OPT_STR, CFG(pin_dir), "DIR",
	  "bpffs directory for the maps (" WEIR_PIN_DIR ")" },
	{ "keep-datapath", 0, OPT_BOOL, CFG(keep_datapath), NULL,
	  "on exit, leave the programs attached (maps stay pinned either way)" },
	{ "flows-max", 0, OPT_U32, CFG(flows_max), "N", "kernel flow-table entries (65536)" },
	{ "active-timeout", 0, OPT_U32, CFG(active_timeout_s), "SECONDS",
	  "a record every this while a flow lives (10)" },
	{ "idle-timeout", 0, OPT_U32, CFG(idle_timeout_s), "SECONDS",
	  "a flow ends after this long without packets (30)" },
	{ "sweep-interval", 0, OPT_U32, CFG(sweep_interval_ms), "MS",
	  "how often the flow table is read (1000)" },
	{ "store-capacity", 0, OPT_SIZE, CFG(store_capacity), "N", "flow records kept (65535)" },
	{ "follow-queue", 0, OPT_SIZE, CFG(follow_queue), "N",
	  "records a follow stream may fall behind before losing some (4096)" },
	{ "listen", 0, OPT_STR, CFG(listen), "HOST:PORT",
	  "TCP address of the read API and /metrics (" WEIR_AGENT_LISTEN_DEFAULT "); '' for none" },
	{ "socket", 0, OPT_STR, CFG(socket_path), "PATH",
	  "unix socket with the whole API (" WEIR_AGENT_SOCKET_DEFAULT ")" },
	{ "token", 0, OPT_STR, CFG(token), "TOKEN",
	  "bearer token that allows mutating calls over TCP (default: none allowed)" },
	{ "endpoints-file", 0, OPT_STR, CFG(endpoints_file), "PATH",
	  "static endpoints (JSON), reloaded on SIGHUP and when it changes" },
	{ "netns-discovery", 0, OPT_BOOL, CFG(netns_discovery), NULL,
	  "endpoints from named network namespaces" },
	{ "netns-dir", 0, OPT_STR, CFG(netns_dir), "DIR", "named network namespaces (/run/netns)" },
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static void err_set(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err_set(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

void weir_agent_config_defaults(struct weir_agent_config *cfg)
{
	char host[256] = "localhost";

	memset(cfg, 0, sizeof(*cfg));
	gethostname(host, sizeof(host) - 1);
	cfg->node_name = strdup(host);
	cfg->xdp_mode = WEIR_XDP_AUTO;
	cfg->pin_dir = strdup(WEIR_PIN_DIR);
	cfg->flows_max = WEIR_FLOWS_MAX_DEFAULT;
	cfg->active_timeout_s = 10;
	cfg->idle_timeout_s = 30;
	cfg->sweep_interval_ms = 1000;
	cfg->store_capacity = 65535;
	cfg->follow_queue = 4096;
	cfg->listen = strdup(WEIR_AGENT_LISTEN_DEFAULT);
	cfg->socket_path = strdup(WEIR_AGENT_SOCKET_DEFAULT);
	cfg->netns_dir = strdup("/run/netns");
}

static void strv_release(struct weir_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int strv_push(struct weir_strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	sv->v = v;
	sv->v[sv->n] = strdup(s);
	if (!sv->v[sv->n])
		return -ENOMEM;
	sv->n++;
	return 0;
}

void weir_agent_config_release(struct weir_agent_config *cfg)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++) {
		void *field = (char *)cfg + opts[i].offset;

		if (opts[i].type == OPT_STR) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (opts[i].type == OPT_STRV) {
			strv_release(field);
		}
	}
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Sets one option from text (a flag's argument). */
static int opt_set_str(struct weir_agent_config *cfg, const struct opt *o, const char *val,
		       char *err, size_t err_len)
{
	void *field = (char *)cfg + o->offset;
	uint64_t v;

	switch (o->type) {
	case OPT_STR:
		free(*(char **)field);
		*(char **)field = strdup(val);
		return *(char **)field ? 0 : -ENOMEM;
	case OPT_STRV:
		return strv_push(field, val);
	case OPT_BOOL:
		*(bool *)field = true;
		return 0;
	case OPT_U32:
		if (parse_u64(val, UINT32_MAX, &v) || !v)
			goto bad;
		*(uint32_t *)field = v;
		return 0;
	case OPT_SIZE:
		if (parse_u64(val, SIZE_MAX, &v) || !v)
			goto bad;
		*(size_t *)field = v;
		return 0;
	case OPT_XDP_MODE:
		if (!strcmp(val, "auto"))
			*(enum weir_xdp_mode *)field = WEIR_XDP_AUTO;
		else if (!strcmp(val, "native"))
			*(enum weir_xdp_mode *)field = WEIR_XDP_NATIVE;
		else if (!strcmp(val, "generic"))
			*(enum weir_xdp_mode *)field = WEIR_XDP_GENERIC;
		else
			goto bad;
		return 0;
	}
bad:
	err_set(err, err_len, "%s: invalid value '%s' (want %s)", o->flag, val,
		o->type == OPT_XDP_MODE ? "auto, native or generic" : "a positive integer");
	return -EINVAL;
}

static void json_key_of(const struct opt *o, char *buf, size_t len)
{
	size_t i;

	for (i = 0; o->flag[i] && i + 1 < len; i++)
		buf[i] = o->flag[i] == '-' ? '_' : o->flag[i];
	buf[i] = '\0';
}

static int opt_set_json(struct weir_agent_config *cfg, const struct opt *o, const char *key,
			json_t *val, char *err, size_t err_len)
{
	void *field = (char *)cfg + o->offset;
	char num[32];
	size_t i;
	json_t *el;
	int ret;

	switch (o->type) {
	case OPT_STR:
	case OPT_XDP_MODE:
		if (!json_is_string(val))
			break;
		return opt_set_str(cfg, o, json_string_value(val), err, err_len);
	case OPT_STRV:
		if (!json_is_array(val))
			break;
		strv_release(field); /* the file's list replaces the default */
		json_array_foreach(val, i, el)
		{
			if (!json_is_string(el)) {
				err_set(err, err_len, "config key %s[%zu]: want a string", key, i);
				return -EINVAL;
			}
			ret = strv_push(field, json_string_value(el));
			if (ret)
				return ret;
		}
		return 0;
	case OPT_BOOL:
		if (!json_is_boolean(val))
			break;
		*(bool *)field = json_is_true(val);
		return 0;
	case OPT_U32:
	case OPT_SIZE:
		if (!json_is_integer(val))
			break;
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
		return opt_set_str(cfg, o, num, err, err_len);
	}
	err_set(err, err_len, "config key %s: want %s", key,
		o->type == OPT_STRV			  ? "an array of strings" :
		o->type == OPT_BOOL			  ? "true or false" :
		o->type == OPT_U32 || o->type == OPT_SIZE ? "a positive integer" :
							    "a string");
	return -EINVAL;
}

int weir_agent_config_load(struct weir_agent_config *cfg, const char *path, char *err,
			   size_t err_len)
{
	json_error_t jerr;
	const char *key;
	char name[64];
	json_t *root, *val;
	size_t i;
	int ret = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		err_set(err, err_len, "config %s:%d: %s", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		err_set(err, err_len, "config %s: want a JSON object", path);
		ret = -EINVAL;
		goto out;
	}
	json_object_foreach(root, key, val)
	{
		for (i = 0; i < N_OPTS; i++) {
			json_key_of(&opts[i], name, sizeof(name));
			if (!strcmp(name, key))
				break;
		}
		if (i == N_OPTS) {
			err_set(err, err_len, "config %s: unknown key '%s'", path, key);
			ret = -EINVAL;
			goto out;
		}
		ret = opt_set_json(cfg, &opts[i], key, val, err, err_len);
		if (ret)
			goto out;
	}
out:
	json_decref(root);
	return ret;
}

static void usage(FILE *f, const char *prog)
{
	char flag[64];
	size_t i;

	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Weir's node agent: loads the datapath, turns its counters into flow records\n"
		"and serves them over HTTP (JSON, NDJSON streams, Prometheus).\n\n"
		"  -c, --config PATH          JSON config file; flags override its keys\n"
		"                             (each key is the flag's name with '_' for '-')\n",
		prog);
	for (i = 0; i < N_OPTS; i++) {
		snprintf(flag, sizeof(flag), "--%s%s%s", opts[i].flag, opts[i].metavar ? " " : "",
			 opts[i].metavar ? opts[i].metavar : "");
		fprintf(f, "      %-22s %s\n", flag, opts[i].help);
	}
	fprintf(f, "  -v, --verbose              debug logging (libbpf's included)\n"
		   "  -h, --help                 this help\n\n"
		   "Signals: SIGTERM/SIGINT stop (detaching what was attached, unless\n"
		   "--keep-datapath); SIGHUP reloads the endpoints file.\n");
}

int weir_agent_config_args(struct weir_agent_config *cfg, int argc, char **argv, char *err,
			   size_t err_len)
{
	struct option longopts[N_OPTS + 4];
	size_t i;
	int c, ret;

	for (i = 0; i < N_OPTS; i++)
		longopts[i] =
			(struct option){ opts[i].flag,
					 opts[i].type == OPT_BOOL ? no_argument : required_argument,
					 NULL, 256 + (int)i };
	longopts[i++] = (struct option){ "config", required_argument, NULL, 'c' };
	longopts[i++] = (struct option){ "verbose", no_argument, NULL, 'v' };
	longopts[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[i] = (struct option){ 0 };

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:vh", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout, argv[0]);
			return 1;
		} else if (c == 'v') {
			cfg->verbose++;
		} else if (c == 'c') {
			continue; /* read by main() before the flags */
		} else if (c >= 256 && c < 256 + (int)N_OPTS) {
			ret = opt_set_str(cfg, &opts[c - 256], optarg ? optarg : "", err, err_len);
			if (ret)
				return ret;
		} else if (c == ':') {
			err_set(err, err_len, "%s needs a value", argv[optind - 1]);
			return -EINVAL;
		} else {
			err_set(err, err_len, "unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		err_set(err, err_len, "unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	if (cfg->idle_timeout_s < cfg->sweep_interval_ms / 1000) {
		err_set(err, err_len, "idle-timeout (%us) is shorter than sweep-interval (%ums)",
			cfg->idle_timeout_s, cfg->sweep_interval_ms);
		return -EINVAL;
	}
	return 0;
}
