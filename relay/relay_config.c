// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-relay's configuration: its option table (lib/options.h turns it into
 * the JSON config file's keys, the flags and --help), defaults and checks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "relay_config.h"
#include "history.h"
#include "linebuf.h"
#include "peer.h"

#define CFG(member) offsetof(struct weir_relay_config, member)
#define OPT(f, t, member, meta, text)                                                        \
	{                                                                                    \
		.flag = (f), .type = WEIR_OPT_##t, .offset = CFG(member), .metavar = (meta), \
		.help = (text)                                                               \
	}

static const struct weir_opt opts[] = {
	OPT("peer", STRV, peers, "HOST:PORT", "an agent to relay (repeatable)"),
	OPT("peer-dns", STRV, peers_dns, "NAME:PORT",
	    "agents at every address NAME resolves to, re-resolved (repeatable)"),
	OPT("resolve-interval", DURATION, resolve_interval_ns, "DURATION",
	    "how often --peer-dns names are resolved again (10s)"),
	OPT("status-interval", DURATION, status_interval_ns, "DURATION",
	    "how often each agent's /v1/status is read (5s)"),
	OPT("connect-timeout", DURATION, connect_timeout_ns, "DURATION",
	    "a connection, and each first answer, must come within this (5s)"),
	OPT("backoff-min", DURATION, backoff_min_ns, "DURATION",
	    "first retry delay after a failure, doubled each failure (1s)"),
	OPT("backoff-max", DURATION, backoff_max_ns, "DURATION", "longest retry delay (30s)"),
	OPT("sort-window", DURATION, sort_window_ns, "DURATION",
	    "records are held this long to merge them in time order (1s)"),
	OPT("store-capacity", SIZE, store_capacity, "N",
	    "flow records kept (default: 65535 per peer, within --max-memory)"),
	OPT("max-memory", BYTES, max_memory_bytes, "BYTES",
	    "memory for records, e.g. 512M (1G): caps the store"),
	OPT("max-line-bytes", BYTES, max_line_bytes, "BYTES",
	    "a longer line from an agent is an error (1M)"),
	OPT("max-bad-lines", U32, max_bad_lines, "N",
	    "invalid lines on one connection before the agent is in error (10)"),
	OPT("follow-queue", SIZE, follow_queue, "N",
	    "records a follow stream may fall behind before losing some (4096)"),
	OPT("listen", STR, listen, "HOST:PORT",
	    "TCP address of the API and /metrics (" WEIR_RELAY_LISTEN_DEFAULT "); '' for none"),
	OPT("socket", STR, socket_path, "PATH", "unix socket with the API (none)"),
	OPT("name", STR, name, "NAME", "the relay's name (default: host name)"),
	WEIR_FLOWLOG_OPTS(CFG(flowlog)),
	OPT("history-db", STR, history_db, "PATH",
	    "keep every record in this SQLite database, for queries past the ring and "
	    "aggregates (none)"),
	OPT("history-retention-age", DURATION, history_age_ns, "DURATION",
	    "history: records older than this are deleted (7d)"),
	OPT("history-max-bytes", BYTES, history_max_bytes, "BYTES",
	    "history: past this size the oldest records are deleted (10G)"),
};

static const struct weir_opts relay_opts = {
	.opt = opts,
	.n = sizeof(opts) / sizeof(opts[0]),
	.about = "Weir's relay: follows every agent's flow stream, merges the records in time\n"
		 "order and serves one cluster-wide API (/v1/flows, /v1/status, /v1/nodes,\n"
		 "/metrics), as Hubble Relay does.\n",
	.footer = "Signals: SIGTERM/SIGINT close the streams and stop.\n",
	.verbose_offset = CFG(verbose),
};

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
	weir_flowlog_config_defaults(&cfg->flowlog);
	cfg->history_db = strdup("");
	cfg->history_age_ns = WEIR_HISTORY_RETENTION_AGE_DEFAULT;
	cfg->history_max_bytes = WEIR_HISTORY_MAX_BYTES_DEFAULT;
}

void weir_relay_config_release(struct weir_relay_config *cfg)
{
	weir_opts_release(&relay_opts, cfg);
}

int weir_relay_config_load(struct weir_relay_config *cfg, const char *path, char *err,
			   size_t err_len)
{
	return weir_opts_load_file(&relay_opts, cfg, path, err, err_len);
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
	int ret = weir_opts_args(&relay_opts, cfg, argc, argv, err, err_len);

	return ret ? ret : check(cfg, err, err_len);
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
