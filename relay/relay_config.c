// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-relay's configuration. One table describes every option: its flag,
 * its key in the JSON config file, its type and its help.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>
#include "relay_config.h"
#include "linebuf.h"
#include "peer.h"
#include "timefmt.h"

enum opt_type { OPT_STR, OPT_STRV, OPT_U32, OPT_SIZE, OPT_DURATION, OPT_BYTES };

struct opt {
	const char *flag; /* --flag; the JSON key is the same with '_' for '-' */
	enum opt_type type;
	size_t offset;
	const char *metavar;
	const char *help;
};

#define CFG(member) offsetof(struct weir_relay_config, member)

static const struct opt opts[] = {
	{ "peer", OPT_STRV, CFG(peers), "HOST:PORT", "an agent to relay (repeatable)" },
	{ "peer-dns", OPT_STRV, CFG(peers_dns), "NAME:PORT",
	  "agents at every address NAME resolves to, re-resolved (repeatable)" },
	{ "resolve-interval", OPT_DURATION, CFG(resolve_interval_ns), "DURATION",
	  "how often --peer-dns names are resolved again (10s)" },
	{ "status-interval", OPT_DURATION, CFG(status_interval_ns), "DURATION",
	  "how often each agent's /v1/status is read (5s)" },
	{ "connect-timeout", OPT_DURATION, CFG(connect_timeout_ns), "DURATION",
	  "a connection, and each first answer, must come within this (5s)" },
	{ "backoff-min", OPT_DURATION, CFG(backoff_min_ns), "DURATION",
	  "first retry delay after a failure, doubled each failure (1s)" },
	{ "backoff-max", OPT_DURATION, CFG(backoff_max_ns), "DURATION",
	  "longest retry delay (30s)" },
	{ "sort-window", OPT_DURATION, CFG(sort_window_ns), "DURATION",
	  "records are held this long to merge them in time order (1s)" },
	{ "store-capacity", OPT_SIZE, CFG(store_capacity), "N",
	  "flow records kept (default: 65535 per peer, within --max-memory)" },
	{ "max-memory", OPT_BYTES, CFG(max_memory_bytes), "BYTES",
	  "memory for records, e.g. 512M (1G): caps the store" },
	{ "max-line-bytes", OPT_BYTES, CFG(max_line_bytes), "BYTES",
	  "a longer line from an agent is an error (1M)" },
	{ "max-bad-lines", OPT_U32, CFG(max_bad_lines), "N",
	  "invalid lines on one connection before the agent is in error (10)" },
	{ "follow-queue", OPT_SIZE, CFG(follow_queue), "N",
	  "records a follow stream may fall behind before losing some (4096)" },
	{ "listen", OPT_STR, CFG(listen), "HOST:PORT",
	  "TCP address of the API and /metrics (" WEIR_RELAY_LISTEN_DEFAULT "); '' for none" },
	{ "socket", OPT_STR, CFG(socket_path), "PATH", "unix socket with the API (none)" },
	{ "name", OPT_STR, CFG(name), "NAME", "the relay's name (default: host name)" },
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

void weir_relay_config_defaults(struct weir_relay_config *cfg)
{
	char host[256] = "localhost";

	memset(cfg, 0, sizeof(*cfg));
	gethostname(host, sizeof(host) - 1);
	cfg->resolve_interval_ns = 10000000000ULL;
	cfg->status_interval_ns = 5000000000ULL;
	cfg->connect_timeout_ns = 5000000000ULL;
	cfg->backoff_min_ns = 1000000000ULL;
	cfg->backoff_max_ns = 30000000000ULL;
	cfg->sort_window_ns = 1000000000ULL;
	cfg->max_memory_bytes = WEIR_RELAY_MAX_MEMORY_DEFAULT;
	cfg->max_line_bytes = WEIR_LINE_MAX_BYTES_DEFAULT;
	cfg->max_bad_lines = WEIR_PEER_BAD_LINES_MAX_DEFAULT;
	cfg->follow_queue = 4096;
	cfg->listen = strdup(WEIR_RELAY_LISTEN_DEFAULT);
	cfg->socket_path = strdup("");
	cfg->name = strdup(host);
}

static void strv_release(struct weir_relay_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int strv_push(struct weir_relay_strv *sv, const char *s)
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

void weir_relay_config_release(struct weir_relay_config *cfg)
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

/* "30s", "500ms", "1m30s"; a bare number is seconds. */
static int parse_duration(const char *s, uint64_t *out)
{
	uint64_t v;

	if (!parse_u64(s, UINT64_MAX / 1000000000ULL, &v)) {
		*out = v * 1000000000ULL;
		return 0;
	}
	return weir_duration_parse(s, out);
}

/* "1048576", "64K", "512M", "1G" (powers of 1024; "KiB", "MB" ... too). */
static int parse_bytes(const char *s, uint64_t *out)
{
	static const char *const units[] = { "K", "M", "G", "T" };
	char *end;
	unsigned long long v;
	uint64_t mult = 1;
	size_t i;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		for (i = 0; i < 4; i++) {
			mult *= 1024;
			if (!strncasecmp(end, units[i], 1))
				break;
		}
		if (i == 4 ||
		    (end[1] && strcasecmp(end + 1, "B") != 0 && strcasecmp(end + 1, "iB") != 0))
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/* Sets one option from text (a flag's argument). */
static int opt_set_str(struct weir_relay_config *cfg, const struct opt *o, const char *val,
		       char *err, size_t err_len)
{
	void *field = (char *)cfg + o->offset;
	const char *want = "a positive integer";
	uint64_t v;

	switch (o->type) {
	case OPT_STR:
		free(*(char **)field);
		*(char **)field = strdup(val);
		return *(char **)field ? 0 : -ENOMEM;
	case OPT_STRV:
		return strv_push(field, val);
	case OPT_U32:
		if (parse_u64(val, UINT32_MAX, &v) || !v)
			goto bad;
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	case OPT_SIZE:
		if (parse_u64(val, SIZE_MAX, &v) || !v)
			goto bad;
		*(size_t *)field = v;
		return 0;
	case OPT_DURATION:
		want = "a duration like 10s, 500ms or 1m";
		if (parse_duration(val, &v) || !v)
			goto bad;
		*(uint64_t *)field = v;
		return 0;
	case OPT_BYTES:
		want = "a size like 1048576, 64K, 512M or 1G";
		if (parse_bytes(val, &v) || !v)
			goto bad;
		*(uint64_t *)field = v;
		return 0;
	}
bad:
	err_set(err, err_len, "%s: invalid value '%s' (want %s)", o->flag, val, want);
	return -EINVAL;
}

static void json_key_of(const struct opt *o, char *buf, size_t len)
{
	size_t i;

	for (i = 0; o->flag[i] && i + 1 < len; i++)
		buf[i] = o->flag[i] == '-' ? '_' : o->flag[i];
	buf[i] = '\0';
}

static int opt_set_json(struct weir_relay_config *cfg, const struct opt *o, const char *key,
			json_t *val, char *err, size_t err_len)
{
	void *field = (char *)cfg + o->offset;
	char num[32];
	size_t i;
	json_t *el;
	int ret;

	if (o->type == OPT_STRV) {
		if (!json_is_array(val))
			goto bad;
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
	}
	if (json_is_string(val) && o->type != OPT_U32 && o->type != OPT_SIZE)
		return opt_set_str(cfg, o, json_string_value(val), err, err_len);
	if (json_is_integer(val) && o->type != OPT_STR) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
		return opt_set_str(cfg, o, num, err, err_len);
	}
bad:
	err_set(err, err_len, "config key %s: want %s", key,
		o->type == OPT_STRV			  ? "an array of strings" :
		o->type == OPT_STR			  ? "a string" :
		o->type == OPT_U32 || o->type == OPT_SIZE ? "a positive integer" :
							    "a string or a number");
	return -EINVAL;
}

int weir_relay_config_load(struct weir_relay_config *cfg, const char *path, char *err,
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
		"Weir's relay: follows every agent's flow stream, merges the records in time\n"
		"order and serves one cluster-wide API (/v1/flows, /v1/status, /v1/nodes,\n"
		"/metrics), as Hubble Relay does.\n\n"
		"  -c, --config PATH                JSON config file; flags override its keys\n"
		"                                   (each key is the flag's name with '_' for '-')\n",
		prog);
	for (i = 0; i < N_OPTS; i++) {
		snprintf(flag, sizeof(flag), "--%s%s%s", opts[i].flag, opts[i].metavar ? " " : "",
			 opts[i].metavar ? opts[i].metavar : "");
		fprintf(f, "      %-28s %s\n", flag, opts[i].help);
	}
	fprintf(f, "  -v, --verbose                    debug logging\n"
		   "  -h, --help                       this help\n\n"
		   "Signals: SIGTERM/SIGINT close the streams and stop.\n");
}

static int check(struct weir_relay_config *cfg, char *err, size_t err_len)
{
	if (!cfg->peers.n && !cfg->peers_dns.n) {
		err_set(err, err_len, "no peers: give --peer HOST:PORT or --peer-dns NAME:PORT");
		return -EINVAL;
	}
	if (cfg->backoff_max_ns < cfg->backoff_min_ns) {
		err_set(err, err_len, "backoff-max is shorter than backoff-min");
		return -EINVAL;
	}
	if (cfg->max_memory_bytes < 64ULL * WEIR_RELAY_RECORD_BYTES_ESTIMATE) {
		err_set(err, err_len, "max-memory: at least %d bytes",
			64 * WEIR_RELAY_RECORD_BYTES_ESTIMATE);
		return -EINVAL;
	}
	return 0;
}

int weir_relay_config_args(struct weir_relay_config *cfg, int argc, char **argv, char *err,
			   size_t err_len)
{
	struct option longopts[N_OPTS + 4];
	size_t i;
	int c, ret;

	for (i = 0; i < N_OPTS; i++)
		longopts[i] =
			(struct option){ opts[i].flag, required_argument, NULL, 256 + (int)i };
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
	return check(cfg, err, err_len);
}

size_t weir_relay_store_capacity(const struct weir_relay_config *cfg, size_t n_peers)
{
	/* Four fifths for the store, a fifth for the sort window (merge). */
	uint64_t cap = cfg->max_memory_bytes / 5 * 4 / WEIR_RELAY_RECORD_BYTES_ESTIMATE;
	uint64_t want = cfg->store_capacity;

	if (!want)
		want = (uint64_t)WEIR_RELAY_STORE_PER_PEER_DEFAULT * (n_peers ? n_peers : 1);
	return (size_t)(want < cap ? want : cap);
}
