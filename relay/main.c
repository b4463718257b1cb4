// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-relay: follows every agent's flow stream, merges the records in time
 * order into one store, and serves the cluster-wide API. Threads: the main
 * one waits for signals and re-resolves DNS peers; the peers' thread runs
 * every connection and the merge; the HTTP server has its own.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <curl/curl.h>
#include "relay_config.h"
#include "http.h"
#include "http_server.h"
#include "flowlog.h"
#include "log.h"
#include "history.h"
#include "merge.h"
#include "peers.h"
#include "relay.h"
#include "resolve.h"
#include "store.h"

struct daemon {
	struct weir_relay r;
	struct weir_http_server *http;
	int sigfd;
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The merge's output: into the store. */
static void on_release(void *ctx, struct weir_flow_record *rec, bool late)
{
	struct weir_relay *r = ctx;

	(void)late; /* counted by the merge */
	weir_store_add(r->store, rec);
	if (r->history)
		weir_history_add(r->history, rec);
}

/* The peers' callbacks, on their thread. */

static void on_record(void *ctx, struct weir_flow_record *rec, uint64_t now_real_ns)
{
	struct weir_relay *r = ctx;

	weir_merge_add(r->merge, rec, now_real_ns);
}

static void on_note(void *ctx, const char *line)
{
	struct weir_relay *r = ctx;

	weir_store_notify(r->store, line);
}

static uint64_t on_tick(void *ctx, uint64_t now_real_ns)
{
	struct weir_relay *r = ctx;

	weir_merge_release(r->merge, now_real_ns);
	return weir_merge_due_in(r->merge, now_real_ns);
}

/* The store grows with the number of peers (never shrinks: that would
 * throw history away), within --max-memory.
 */
static void on_count(void *ctx, size_t n)
{
	struct weir_relay *r = ctx;
	size_t cap = weir_relay_store_capacity(&r->cfg, n);
	int err;

	if (cap <= r->store_capacity)
		return;
	err = weir_store_resize(r->store, cap);
	if (err) {
		log_warn("relay: store capacity %zu -> %zu: %s", r->store_capacity, cap,
			 strerror(-err));
		return;
	}
	log_info("relay: peers=%zu store_capacity=%zu", n, cap);
	r->store_capacity = cap;
}

static void on_stop(void *ctx)
{
	struct weir_relay *r = ctx;

	/* What the sort window still holds reaches the store and open streams. */
	weir_merge_flush(r->merge);
}

static void resolve_all(struct weir_relay *r)
{
	const struct weir_strv *dns = &r->cfg.peers_dns;
	char err[256], **addrs;
	size_t i, n;
	int rc;

	for (i = 0; i < dns->n; i++) {
		rc = weir_resolve(dns->v[i], &addrs, &n, err, sizeof(err));
		if (rc == -EAGAIN || rc == -ENOMEM) {
			log_warn("relay: resolve peer-dns=%s: %s (keeping its peers)", dns->v[i],
				 err);
			continue;
		}
		if (rc == -ENOENT)
			log_warn("relay: resolve peer-dns=%s: %s", dns->v[i], err);
		weir_peers_set_resolved(r->peers, dns->v[i], addrs, n);
		weir_resolved_free(addrs, n);
	}
}

static int peers_setup(struct weir_relay *r)
{
	const struct weir_relay_config *cfg = &r->cfg;
	char host[256], port[8];
	size_t i;
	int err;

	for (i = 0; i < cfg->peers.n; i++) {
		if (weir_hostport_split(cfg->peers.v[i], host, sizeof(host), port, sizeof(port))) {
			log_err("relay: bad --peer '%s': want host:port", cfg->peers.v[i]);
			return -EINVAL;
		}
		err = weir_peers_add(r->peers, cfg->peers.v[i]);
		if (err == -EEXIST)
			continue;
		if (err)
			return err;
	}
	for (i = 0; i < cfg->peers_dns.n; i++) {
		if (weir_hostport_split(cfg->peers_dns.v[i], host, sizeof(host), port,
					sizeof(port))) {
			log_err("relay: bad --peer-dns '%s': want name:port", cfg->peers_dns.v[i]);
			return -EINVAL;
		}
	}
	resolve_all(r);
	return 0;
}

static int setup(struct daemon *d)
{
	struct weir_relay *r = &d->r;
	const struct weir_relay_config *cfg = &r->cfg;
	struct weir_peers_opts po = {
		.status_interval_ns = cfg->status_interval_ns,
		.connect_timeout_ns = cfg->connect_timeout_ns,
		.backoff_min_ns = cfg->backoff_min_ns,
		.backoff_max_ns = cfg->backoff_max_ns,
		.max_line_bytes = cfg->max_line_bytes,
		.bad_lines_max = cfg->max_bad_lines,
		.on_record = on_record,
		.on_note = on_note,
		.on_tick = on_tick,
		.on_count = on_count,
		.on_stop = on_stop,
		.ctx = r,
	};
	char err_text[512] = "";
	size_t held_max;
	int err;

	/* A fifth of --max-memory for the sort window (relay_config.h). */
	held_max = cfg->max_memory_bytes / 5 / WEIR_RELAY_RECORD_BYTES_ESTIMATE;
	r->store_capacity = weir_relay_store_capacity(cfg, 1);
	err = weir_store_new(&r->store, r->store_capacity);
	if (!err) {
		/* a flow log may fall behind by a store's worth of records */
		err = weir_flowlogs_start(&cfg->flowlog, r->store,
					  r->store_capacity > cfg->follow_queue ?
						  r->store_capacity :
						  cfg->follow_queue,
					  &r->flowlogs, &r->n_flowlogs, err_text, sizeof(err_text));
		if (err)
			log_err("relay: flow log: %s", err_text[0] ? err_text : strerror(-err));
	}
	if (!err && cfg->history_db[0]) {
		struct weir_history_opts ho = {
			.path = cfg->history_db,
			.retention_age_ns = cfg->history_age_ns,
			.max_bytes = cfg->history_max_bytes,
		};

		err = weir_history_open(&r->history, &ho);
		if (err)
			log_err("history: cannot open %s: %s (see the log above; move the file "
				"away to start a new history)",
				cfg->history_db, strerror(-err));
	}
	err = err ?: weir_merge_new(&r->merge, cfg->sort_window_ns, held_max, on_release, r);
	err = err ?: weir_peers_new(&r->peers, &po);
	err = err ?: peers_setup(r);
	err = err ?: weir_relay_http_start(r, &d->http);
	err = err ?: weir_peers_start(r->peers);
	return err;
}

static void teardown(struct daemon *d)
{
	struct weir_relay *r = &d->r;

	/* Streams closed and the window flushed first, then the HTTP server
	 * ends the follow streams and stops.
	 */
	if (r->peers)
		weir_peers_stop(r->peers);
	/* every merged record written before the store closes */
	weir_flowlogs_stop(r->flowlogs, r->n_flowlogs);
	weir_http_server_stop(d->http);
	weir_peers_free(r->peers);
	/* what the merge released is committed before the relay goes */
	weir_history_close(r->history);
	weir_merge_free(r->merge);
	weir_store_free(r->store);
	if (d->sigfd >= 0)
		close(d->sigfd);
}

/* Waits for a stop signal, re-resolving DNS peers on the way. */
static int run(struct daemon *d)
{
	const struct weir_relay_config *cfg = &d->r.cfg;
	struct pollfd p = { .fd = d->sigfd, .events = POLLIN };
	uint64_t next = clock_ns(CLOCK_MONOTONIC) + cfg->resolve_interval_ns, now;
	struct signalfd_siginfo si;
	int timeout, n;

	for (;;) {
		timeout = -1;
		if (cfg->peers_dns.n) {
			now = clock_ns(CLOCK_MONOTONIC);
			timeout = next > now ? (int)((next - now) / 1000000ULL) + 1 : 0;
		}
		n = poll(&p, 1, timeout);
		if (n < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return -errno;
		}
		if (n > 0 && read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				continue;
			log_info("stopping signal=%s", strsignal(si.ssi_signo));
			return 0;
		}
		if (cfg->peers_dns.n && clock_ns(CLOCK_MONOTONIC) >= next) {
			resolve_all(&d->r);
			next = clock_ns(CLOCK_MONOTONIC) + cfg->resolve_interval_ns;
		}
	}
}

int main(int argc, char **argv)
{
	static struct daemon d = { .sigfd = -1 };
	const char *path = weir_opts_config_path(argc, argv);
	char err[512];
	sigset_t set;
	int ret;

	weir_relay_config_defaults(&d.r.cfg);
	if (path && weir_relay_config_load(&d.r.cfg, path, err, sizeof(err))) {
		fprintf(stderr, "weir-relay: %s\n", err);
		return 2;
	}
	ret = weir_relay_config_args(&d.r.cfg, argc, argv, err, sizeof(err));
	if (ret) {
		if (ret < 0)
			fprintf(stderr, "weir-relay: %s\n", err);
		weir_relay_config_release(&d.r.cfg);
		return ret > 0 ? 0 : 2;
	}
	weir_log_set_level(d.r.cfg.verbose ? WEIR_LOG_DEBUG : WEIR_LOG_INFO);

	/* Signals arrive through the signalfd, in every thread's stead. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGPIPE);
	d.sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (d.sigfd < 0) {
		fprintf(stderr, "weir-relay: signalfd: %s\n", strerror(errno));
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "weir-relay: libcurl failed to initialize\n");
		return 1;
	}
	d.r.start_real_ns = clock_ns(CLOCK_REALTIME);
	d.r.start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	log_info("starting relay=%s peers=%zu peer_dns=%zu", d.r.cfg.name, d.r.cfg.peers.n,
		 d.r.cfg.peers_dns.n);

	ret = setup(&d);
	if (!ret) {
		log_info("ready listen=%s socket=%s", d.r.cfg.listen, d.r.cfg.socket_path);
		ret = run(&d);
	}
	teardown(&d);
	curl_global_cleanup();
	weir_relay_config_release(&d.r.cfg);
	return ret ? 1 : 0;
}
