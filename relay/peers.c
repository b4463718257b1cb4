// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The peer manager: one thread, libcurl's multi interface, two transfers per
 * peer (the flow stream and its status), and the peers' state machines.
 *
 * A connection goes: status (the handshake: is it an agent, what is its
 * name) -> the flow stream -> CONNECTED once the stream's headers say 200;
 * while connected the status is asked again every status_interval, which is
 * also how a node that hangs is found out. A failure at any point closes both
 * transfers and schedules the next attempt (peer.h). After a reconnect the
 * stream resumes from the newest record seen (?since=), so a short outage
 * loses nothing; what was seen already is skipped by its id.
 *
 * The stream is asked for in the compact format (weir/flow_compact.h): records
 * read with no key matching, endpoints defined once per stream. An answer in
 * plain NDJSON (its Content-Type says which: a fake peer, or an agent that
 * ignores format) goes through the fast NDJSON parser instead; an agent that
 * refuses the parameter (400: from before the compact format) is asked again
 * at once without it, and plainly until the next attempt.
 *
 * Threads: the connections are the loop's alone, so curl's callbacks and the
 * owner's run without a lock. Others see the peers through a copy the loop
 * publishes (every PUBLISH_INTERVAL, and at once on a state change, before
 * the event goes out: a follow stream that opens in between hears of a
 * change either from its greeting or from the event), and hand DNS changes
 * over through a pending list. ps->lock guards those two, never held long.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "events.h"
#include "flow_compact.h"
#include "flow_parse.h"
#include "ingest.h"
#include "linebuf.h"
#include "log.h"
#include "peers.h"
#include "store.h"
#include "timefmt.h"

/* Timers (backoff, status, the sort window) are checked this often. */
#define LOOP_WAIT_MAX_MS    200
#define PUBLISH_INTERVAL_NS (100 * 1000000ULL) /* how stale the API's figures may be */
#define RESUME_IDS	    32 /* ids remembered at the newest record time, to skip on resume */
#define PARSE_ERROR_LEN	    160
#define USER_AGENT	    "weir-relay"
#define STREAM_BUFFER_BYTES 65536L /* per flow stream read (curl: 16 KiB by default) */

enum step {
	STEP_IDLE,	/* not connected: waiting for the next attempt */
	STEP_HANDSHAKE, /* first status request */
	STEP_OPENING,	/* stream requested, no headers yet */
	STEP_LIVE,	/* stream open */
};

struct conn {
	struct weir_peers *ps;
	struct weir_peer p;
	char *source; /* the DNS source it came from; NULL: static */
	enum step step;
	uint64_t step_ns; /* when the step began */
	CURL *stream;
	CURL *status;
	struct weir_linebuf lb;
	char *body; /* the status answer */
	size_t body_len;
	size_t body_cap;
	uint64_t next_status_ns;
	/* Why a transfer was aborted from a callback. */
	bool failing;
	bool fail_error;
	char fail_msg[WEIR_PEER_ERROR_LEN];
	char parse_error[PARSE_ERROR_LEN]; /* the last invalid line's */
	char stream_err[CURL_ERROR_SIZE];
	char status_err[CURL_ERROR_SIZE];
	/* The stream's format: compact asked for unless the peer refused it. */
	bool plain_only; /* it answered 400 to format=compact: NDJSON until the next attempt */
	bool asked_compact;
	bool retry_plain; /* the stream ended for that 400: ask again, plainly */
	struct weir_compact_decoder *dec;
	/* The clocks at the start of this piece of the stream, for its lines. */
	uint64_t piece_mono_ns;
	uint64_t piece_real_ns;
	/* The newest record time seen, and ids seen at that time. */
	uint64_t max_ns;
	uint64_t max_ids[RESUME_IDS];
	size_t n_max_ids;
	/* A stream resumed from max_ns: records at that time with these ids are repeats. */
	uint64_t resume_ns;
	uint64_t resume_ids[RESUME_IDS];
	size_t n_resume_ids;
};

/* A DNS source's addresses, from the resolving thread to the loop. */
struct pending {
	struct pending *next;
	char *source;
	char **addrs;
	size_t n;
};

struct weir_peers {
	struct weir_peers_opts o;
	/* The loop's own. */
	struct conn **v;
	size_t n;
	size_t cap;
	size_t reported_n; /* the count on_count last heard */
	uint64_t published_ns;
	CURLM *multi;
	uint64_t rand_state;
	struct weir_endpoint_cache *endpoints; /* shared by the records of every peer */
	/* Shared, under lock. */
	pthread_mutex_t lock;
	struct pending *pending;
	struct weir_node_info *pub; /* the published copy */
	size_t n_pub;
	/* The owner's thread. */
	pthread_t thread;
	bool running;
	bool stop; /* atomic: the loop reads it */
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_now(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t real_now(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* A monotonic time as CLOCK_REALTIME, for people; 0 stays 0. */
static uint64_t to_real(uint64_t t, uint64_t mono, uint64_t real)
{
	if (!t)
		return 0;
	return t <= mono ? real - (mono - t) : real + (t - mono);
}

static void publish(struct weir_peers *ps, bool now);

/* Node status events. */

static void note_event(struct weir_peers *ps, struct conn *c, struct weir_peer_event ev)
{
	const char *name = c->p.name;
	char *line;

	if (ev.state == WEIR_NODE_UNKNOWN)
		return;
	publish(ps, true); /* before the event: see the top of the file */
	if (ev.state == WEIR_NODE_CONNECTED)
		log_info("relay: node=%s address=%s connected", c->p.name, c->p.address);
	else
		log_warn("relay: node=%s address=%s %s: %s", c->p.name, c->p.address,
			 weir_node_state_name(ev.state), ev.message ? ev.message : "");
	if (!ps->o.on_note)
		return;
	line = weir_node_status_line(ev.state, &name, 1, ev.message, real_now());
	if (line)
		ps->o.on_note(ps->o.ctx, line);
	free(line);
}

/* Transfers. */

static void transfer_close(struct weir_peers *ps, CURL **h)
{
	if (!*h)
		return;
	curl_multi_remove_handle(ps->multi, *h);
	curl_easy_cleanup(*h);
	*h = NULL;
}

static void conn_close(struct conn *c)
{
	transfer_close(c->ps, &c->stream);
	transfer_close(c->ps, &c->status);
	weir_linebuf_reset(&c->lb);
	weir_compact_decoder_reset(c->dec); /* its endpoints go */
	c->body_len = 0;
	c->failing = false;
	c->step = STEP_IDLE;
}

/* Ends the connection: UNAVAILABLE, or ERROR (error true); retried after the backoff. */
static void conn_fail(struct conn *c, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_fail(struct conn *c, bool error, const char *fmt, ...)
{
	char msg[WEIR_PEER_ERROR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_close(c);
	note_event(c->ps, c, weir_peer_failed(&c->p, error, msg, mono_now()));
	log_debug("relay: node=%s next attempt in %llu ms", c->p.name,
		  (unsigned long long)((c->p.next_attempt_ns - mono_now()) / 1000000ULL));
}

/* Marks a transfer to abort from its callback, saying why. */
static void conn_abort(struct conn *c, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_abort(struct conn *c, bool error, const char *fmt, ...)
{
	va_list ap;

	if (c->failing)
		return;
	c->failing = true;
	c->fail_error = error;
	va_start(ap, fmt);
	vsnprintf(c->fail_msg, sizeof(c->fail_msg), fmt, ap);
	va_end(ap);
}

static CURL *transfer_new(struct conn *c, const char *url, char *errbuf)
{
	const struct weir_peers_opts *o = &c->ps->o;
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	errbuf[0] = '\0';
	if (curl_easy_setopt(h, CURLOPT_URL, url) || curl_easy_setopt(h, CURLOPT_PRIVATE, c) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(h, CURLOPT_PROXY, "") || /* agents are reached directly */
	    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT) ||
	    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			     (long)(o->connect_timeout_ns / 1000000ULL)) ||
	    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 10L) ||
	    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L)) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

static bool is_protocol_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL: /* an HTTP/0.9 answer: not HTTP at all */
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_FILESIZE_EXCEEDED:
		return true;
	default:
		return false;
	}
}

static const char *curl_msg(CURLcode rc, const char *errbuf)
{
	return errbuf[0] ? errbuf : curl_easy_strerror(rc);
}

/* The status: the handshake, then a health check while connected. */

static size_t status_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct conn *c = ctx;
	size_t n = size * nmemb, cap;
	char *p;

	if (n > WEIR_STATUS_BODY_MAX_BYTES - c->body_len) {
		conn_abort(c, true, "status: answer over %d bytes", WEIR_STATUS_BODY_MAX_BYTES);
		return 0;
	}
	if (c->body_len + n > c->body_cap) {
		cap = c->body_cap ? c->body_cap : 4096;
		while (cap < c->body_len + n)
			cap *= 2;
		p = realloc(c->body, cap);
		if (!p) {
			conn_abort(c, false, "status: out of memory");
			return 0;
		}
		c->body = p;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, data, n);
	c->body_len += n;
	return n;
}

static int status_start(struct conn *c)
{
	const struct weir_peers_opts *o = &c->ps->o;
	char url[512];
	CURL *h;

	snprintf(url, sizeof(url), "http://%s/v1/status", c->p.address);
	h = transfer_new(c, url, c->status_err);
	if (!h)
		return -ENOMEM;
	c->body_len = 0;
	if (curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, status_write) ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, c) ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(o->connect_timeout_ns / 1000000ULL)) ||
	    curl_multi_add_handle(c->ps->multi, h)) {
		curl_easy_cleanup(h);
		return -ENOMEM;
	}
	c->status = h;
	return 0;
}

static int stream_start(struct conn *c);

static void status_done(struct conn *c, CURLcode rc)
{
	uint64_t now = mono_now();
	json_error_t jerr;
	long code = 0;
	json_t *j;
	int err;

	curl_easy_getinfo(c->status, CURLINFO_RESPONSE_CODE, &code);
	if (c->failing) {
		conn_fail(c, c->fail_error, "%s", c->fail_msg);
		return;
	}
	if (rc != CURLE_OK) {
		conn_fail(c, is_protocol_error(rc), "status: %s", curl_msg(rc, c->status_err));
		return;
	}
	if (code != 200) {
		conn_fail(c, code != 503, "status: HTTP %ld%s", code,
			  code == 503 ? " (shutting down?)" : " (is it a Weir agent?)");
		return;
	}
	j = json_loadb(c->body ? c->body : "", c->body_len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		conn_fail(c, true, "status: not a JSON object (is it a Weir agent?)");
		return;
	}
	err = weir_peer_status(&c->p, j, now);
	json_decref(j);
	if (err) {
		conn_fail(c, false, "status: %s", strerror(-err));
		return;
	}
	transfer_close(c->ps, &c->status);
	c->next_status_ns = now + c->ps->o.status_interval_ns;
	if (c->step == STEP_HANDSHAKE) {
		err = stream_start(c);
		if (err)
			conn_fail(c, false, "flows: cannot start the request: %s", strerror(-err));
	} else {
		weir_peer_healthy(&c->p);
	}
}

/* The flow stream. */

static bool resume_repeat(const struct conn *c, const struct weir_flow_record *r)
{
	size_t i;

	if (!c->resume_ns || r->time_ns != c->resume_ns)
		return false;
	for (i = 0; i < c->n_resume_ids; i++)
		if (c->resume_ids[i] == r->id)
			return true;
	return false;
}

static void track_newest(struct conn *c, const struct weir_flow_record *r)
{
	if (r->time_ns > c->max_ns) {
		c->max_ns = r->time_ns;
		c->n_max_ids = 0;
	}
	if (r->time_ns == c->max_ns && c->n_max_ids < RESUME_IDS)
		c->max_ids[c->n_max_ids++] = r->id;
}

/* An invalid line: counted; one too many ends the connection. */
static int line_bad(struct conn *c, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int line_bad(struct conn *c, uint64_t now, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->parse_error, sizeof(c->parse_error), fmt, ap);
	va_end(ap);
	log_debug("relay: node=%s invalid line: %s", c->p.name, c->parse_error);
	if (!weir_peer_bad_line(&c->p, now))
		return 0;
	conn_abort(c, true, "%u invalid lines, the last: %s", c->p.bad_lines, c->parse_error);
	return -EPROTO;
}

static int line_record(struct conn *c, struct weir_flow_record *r, uint64_t now, uint64_t now_real)
{
	struct weir_peers *ps = c->ps;

	if ((!r->node_name || !r->node_name[0]) && weir_flow_record_set_node_name(r, c->p.name))
		return -ENOMEM;
	weir_peer_contact(&c->p, now);
	if (resume_repeat(c, r))
		return 0;
	track_newest(c, r);
	weir_peer_record(&c->p, r->time_ns, now);
	if (ps->o.on_record)
		ps->o.on_record(ps->o.ctx, r, now_real);
	return 0;
}

/* The node's own losses: counted, and passed on to follow streams. */
static void line_lost(struct conn *c, json_t *j, uint64_t n_lost, uint64_t now)
{
	char *line;

	c->p.lost_events += n_lost;
	weir_peer_contact(&c->p, now);
	if (!json_object_get(j, "node_name"))
		json_object_set_new(j, "node_name", json_string(c->p.name));
	line = c->ps->o.on_note ? json_dumps(j, JSON_COMPACT) : NULL;
	if (line)
		c->ps->o.on_note(c->ps->o.ctx, line);
	free(line);
}

/* A line of a compact stream; objects other than its header are plain lines. */
static int line_compact(struct conn *c, const char *line, size_t len, bool *plain)
{
	struct weir_flow_record *r;
	char err[PARSE_ERROR_LEN];
	int rc = 0;

	*plain = false;
	switch (weir_compact_decode_line(c->dec, line, len, &r, err, sizeof(err))) {
	case WEIR_COMPACT_LINE_RECORD:
		rc = line_record(c, r, c->piece_mono_ns, c->piece_real_ns);
		weir_flow_record_put(r);
		break;
	case WEIR_COMPACT_LINE_DEF:
		weir_peer_contact(&c->p, c->piece_mono_ns);
		break;
	case WEIR_COMPACT_LINE_OTHER:
		*plain = true;
		break;
	case WEIR_COMPACT_LINE_BAD:
	default:
		rc = line_bad(c, c->piece_mono_ns, "%s", err);
		break;
	}
	return rc;
}

static int line_one(void *ctx, const char *line, size_t len)
{
	struct conn *c = ctx;
	uint64_t now = c->piece_mono_ns, n_lost;
	struct weir_flow_record *r;
	char err[PARSE_ERROR_LEN];
	bool plain = true;
	json_t *obj;
	int rc = 0;

	if (c->p.compact) {
		rc = line_compact(c, line, len, &plain);
		if (!plain)
			return rc;
	}
	switch (weir_line_parse_cached(c->ps->endpoints, line, len, &r, &obj, &n_lost, err,
				       sizeof(err))) {
	case WEIR_LINE_FLOW:
		rc = line_record(c, r, now, c->piece_real_ns);
		weir_flow_record_put(r);
		break;
	case WEIR_LINE_LOST:
		line_lost(c, obj, n_lost, now);
		json_decref(obj);
		break;
	case WEIR_LINE_STATUS:
		weir_peer_contact(&c->p, now);
		break;
	case WEIR_LINE_BAD:
	default:
		rc = line_bad(c, now, "%s", err);
		break;
	}
	return rc;
}

static size_t stream_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct conn *c = ctx;
	size_t n = size * nmemb;
	int rc;

	if (c->failing)
		return 0;
	/* one clock reading for the lines of a piece (up to STREAM_BUFFER_BYTES) */
	c->piece_mono_ns = mono_now();
	c->piece_real_ns = real_now();
	rc = weir_linebuf_feed(&c->lb, data, n, line_one, c);
	if (rc == -EMSGSIZE) {
		c->p.parse_errors++;
		conn_abort(c, true, "a line over %zu bytes", c->lb.max_bytes);
	} else if (rc == -ENOMEM) {
		conn_abort(c, false, "flows: out of memory");
	}
	return rc ? 0 : n;
}

/* The end of the headers: 200 opens the stream, anything else is an error. */
static size_t stream_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct conn *c = ctx;
	size_t n = size * nmemb;
	const char *type = NULL;
	long code = 0;

	if (n > 2 || (data[0] != '\r' && data[0] != '\n'))
		return n;
	curl_easy_getinfo(c->stream, CURLINFO_RESPONSE_CODE, &code);
	if (code == 100)
		return n;
	if (code == 400 && c->asked_compact) {
		/* an agent from before the compact format: plain NDJSON, at once */
		log_info("relay: node=%s address=%s does not speak the compact format: "
			 "NDJSON",
			 c->p.name, c->p.address);
		c->plain_only = true;
		c->retry_plain = true;
		return 0;
	}
	if (code != 200) {
		/* 503: an agent shutting down, to be retried; anything else is wrong. */
		conn_abort(c, code != 503, "flows: HTTP %ld", code);
		return 0;
	}
	if (c->step == STEP_OPENING) {
		/* the answer says its format: what was asked, or plain NDJSON */
		curl_easy_getinfo(c->stream, CURLINFO_CONTENT_TYPE, &type);
		c->p.compact = type && strstr(type, WEIR_COMPACT_MEDIA_PARAM);
		weir_compact_decoder_reset(c->dec);
		c->step = STEP_LIVE;
		c->step_ns = mono_now();
		note_event(c->ps, c, weir_peer_connected(&c->p, c->step_ns));
	}
	return n;
}

static int stream_start(struct conn *c)
{
	char url[512], since[WEIR_TIME_STR_LEN];
	CURL *h;

	/* After an outage, ask for what was missed: from the newest record
	 * seen on, that one's repeats skipped (the store keeps the rest).
	 */
	c->resume_ns = c->max_ns;
	c->n_resume_ids = c->n_max_ids;
	memcpy(c->resume_ids, c->max_ids, sizeof(c->resume_ids));
	c->asked_compact = !c->plain_only;
	if (c->max_ns && weir_time_format(c->max_ns, since, sizeof(since)))
		snprintf(url, sizeof(url), "http://%s/v1/flows?follow=1&since=%s%s", c->p.address,
			 since, c->asked_compact ? "&format=" WEIR_COMPACT_FORMAT : "");
	else
		snprintf(url, sizeof(url), "http://%s/v1/flows?follow=1%s", c->p.address,
			 c->asked_compact ? "&format=" WEIR_COMPACT_FORMAT : "");
	h = transfer_new(c, url, c->stream_err);
	if (!h)
		return -ENOMEM;
	weir_linebuf_reset(&c->lb);
	/* larger reads of a long stream: fewer recv() calls and callbacks */
	if (curl_easy_setopt(h, CURLOPT_BUFFERSIZE, STREAM_BUFFER_BYTES) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write) ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, c) ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, stream_header) ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, c)) {
		curl_easy_cleanup(h);
		return -ENOMEM;
	}
	c->stream = h; /* the header callback reads it */
	if (curl_multi_add_handle(c->ps->multi, h)) {
		c->stream = NULL;
		curl_easy_cleanup(h);
		return -ENOMEM;
	}
	c->step = STEP_OPENING;
	c->step_ns = mono_now();
	return 0;
}

static void stream_done(struct conn *c, CURLcode rc)
{
	size_t partial = weir_linebuf_pending(&c->lb);
	int err;

	if (c->retry_plain && !c->failing) {
		c->retry_plain = false;
		transfer_close(c->ps, &c->stream);
		err = stream_start(c);
		if (err)
			conn_fail(c, false, "flows: cannot start the request: %s", strerror(-err));
		return;
	}

	/* A line the stream ended in the middle of. */
	if (partial && !c->failing)
		line_bad(c, mono_now(), "truncated line (%zu bytes) at the end of the stream",
			 partial);
	if (c->failing)
		conn_fail(c, c->fail_error, "%s", c->fail_msg);
	else if (rc == CURLE_OK)
		conn_fail(c, false, "the node ended its flow stream");
	else
		conn_fail(c, is_protocol_error(rc), "flows: %s", curl_msg(rc, c->stream_err));
}

static void attempt_start(struct conn *c)
{
	int err;

	weir_peer_attempt(&c->p, mono_now());
	c->plain_only = false; /* the node may have been upgraded */
	c->retry_plain = false;
	c->step = STEP_HANDSHAKE;
	c->step_ns = mono_now();
	c->failing = false;
	err = status_start(c);
	if (err)
		conn_fail(c, false, "status: cannot start the request: %s", strerror(-err));
}

/* The peer table: the loop's. */

static struct conn *conn_find(struct weir_peers *ps, const char *address)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i]->p.address, address))
			return ps->v[i];
	return NULL;
}

static void conn_free(struct conn *c)
{
	if (!c)
		return;
	conn_close(c);
	weir_peer_release(&c->p);
	weir_linebuf_release(&c->lb);
	weir_compact_decoder_free(c->dec);
	free(c->source);
	free(c->body);
	free(c);
}

static int conn_add(struct weir_peers *ps, const char *address, const char *source)
{
	struct weir_backoff b;
	struct conn *c, **v;
	int err;

	if (conn_find(ps, address))
		return -EEXIST;
	if (ps->n == ps->cap) {
		v = realloc(ps->v, (ps->cap ? ps->cap * 2 : 8) * sizeof(void *));
		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = ps->cap ? ps->cap * 2 : 8;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ps = ps;
	weir_backoff_init(&b, ps->o.backoff_min_ns, ps->o.backoff_max_ns, weir_rand_xorshift,
			  &ps->rand_state);
	err = weir_peer_init(&c->p, address, source != NULL, &b, ps->o.bad_lines_max);
	if (!err)
		err = weir_compact_decoder_new(&c->dec);
	if (!err && source) {
		c->source = strdup(source);
		if (!c->source)
			err = -ENOMEM;
	}
	if (err) {
		weir_peer_release(&c->p);
		weir_compact_decoder_free(c->dec);
		free(c);
		return err;
	}
	weir_linebuf_init(&c->lb, ps->o.max_line_bytes);
	ps->v[ps->n++] = c;
	log_info("relay: peer address=%s added%s%s", address, source ? " from " : "",
		 source ? source : "");
	return 0;
}

int weir_peers_add(struct weir_peers *ps, const char *address)
{
	int err;

	if (ps->running)
		return -EBUSY;
	err = conn_add(ps, address, NULL);
	if (!err)
		publish(ps, true);
	return err;
}

static bool listed(const char *address, char *const *addrs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(addrs[i], address))
			return true;
	return false;
}

static void pending_free(struct pending *pd)
{
	size_t i;

	if (!pd)
		return;
	for (i = 0; i < pd->n; i++)
		free(pd->addrs[i]);
	free(pd->addrs);
	free(pd->source);
	free(pd);
}

int weir_peers_set_resolved(struct weir_peers *ps, const char *source, char *const *addrs, size_t n)
{
	struct pending *pd, **pp, *old = NULL;
	size_t i;

	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return -ENOMEM;
	pd->source = strdup(source);
	pd->addrs = calloc(n ? n : 1, sizeof(char *));
	if (!pd->source || !pd->addrs) {
		pending_free(pd);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++, pd->n++) {
		pd->addrs[i] = strdup(addrs[i]);
		if (!pd->addrs[i]) {
			pending_free(pd);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&ps->lock);
	/* The newest answer for a source replaces one the loop has not taken yet. */
	for (pp = &ps->pending; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->source, source)) {
			old = *pp;
			*pp = old->next;
			break;
		}
	}
	pd->next = ps->pending;
	ps->pending = pd;
	pthread_mutex_unlock(&ps->lock);
	pending_free(old);
	if (ps->running)
		curl_multi_wakeup(ps->multi);
	return 0;
}

/* Says a peer is gone and frees it; it is out of the table and the published copy. */
static void conn_gone(struct weir_peers *ps, struct conn *c)
{
	const char *name = c->p.name;
	char *line;

	log_info("relay: peer node=%s address=%s removed: %s no longer resolves to it", c->p.name,
		 c->p.address, c->source);
	line = ps->o.on_note ? weir_node_status_line(WEIR_NODE_GONE, &name, 1, NULL, real_now()) :
			       NULL;
	if (line)
		ps->o.on_note(ps->o.ctx, line);
	free(line);
	conn_free(c);
}

/* A DNS source's peers become its addresses now. */
static void apply_resolved(struct weir_peers *ps, const struct pending *pd)
{
	struct conn **gone;
	size_t i, k = 0, n_gone = 0;
	int err;

	gone = calloc(ps->n ? ps->n : 1, sizeof(void *));
	if (!gone)
		return; /* tried again at the next resolve */
	for (i = 0; i < ps->n; i++) {
		struct conn *c = ps->v[i];

		if (c->source && !strcmp(c->source, pd->source) &&
		    !listed(c->p.address, pd->addrs, pd->n))
			gone[n_gone++] = c;
		else
			ps->v[k++] = c;
	}
	ps->n = k;
	if (n_gone)
		publish(ps, true); /* before the events, as for any state change */
	for (i = 0; i < n_gone; i++)
		conn_gone(ps, gone[i]);
	free(gone);
	for (i = 0; i < pd->n; i++) {
		err = conn_add(ps, pd->addrs[i], pd->source);
		if (err && err != -EEXIST)
			log_warn("relay: peer address=%s from %s: %s", pd->addrs[i], pd->source,
				 strerror(-err));
	}
}

static void apply_pending(struct weir_peers *ps)
{
	struct pending *list, *pd;

	pthread_mutex_lock(&ps->lock);
	list = ps->pending;
	ps->pending = NULL;
	pthread_mutex_unlock(&ps->lock);
	if (!list)
		return;
	while (list) {
		pd = list;
		list = pd->next;
		apply_resolved(ps, pd);
		pending_free(pd);
	}
	publish(ps, true);
	if (ps->n != ps->reported_n && ps->o.on_count) {
		ps->reported_n = ps->n;
		ps->o.on_count(ps->o.ctx, ps->n);
	}
}

static void transfers_done(struct weir_peers *ps)
{
	struct conn *c;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(ps->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		c = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		if (!c)
			continue;
		if (msg->easy_handle == c->status)
			status_done(c, msg->data.result);
		else if (msg->easy_handle == c->stream)
			stream_done(c, msg->data.result);
	}
}

static void timers(struct weir_peers *ps, uint64_t now)
{
	size_t i;
	int err;

	for (i = 0; i < ps->n; i++) {
		struct conn *c = ps->v[i];

		switch (c->step) {
		case STEP_IDLE:
			if (c->p.state == WEIR_PEER_CONNECTING || weir_peer_due(&c->p, now))
				attempt_start(c);
			break;
		case STEP_OPENING:
			if (now - c->step_ns > ps->o.connect_timeout_ns)
				conn_fail(c, false, "flows: no answer within %llu ms",
					  (unsigned long long)(ps->o.connect_timeout_ns /
							       1000000ULL));
			break;
		case STEP_LIVE:
			if (!c->status && now >= c->next_status_ns) {
				err = status_start(c);
				if (err)
					conn_fail(c, false, "status: cannot start the request: %s",
						  strerror(-err));
			}
			break;
		case STEP_HANDSHAKE:
		default:
			break;
		}
	}
}

static void *loop(void *arg)
{
	struct weir_peers *ps = arg;
	uint64_t wait_ns;
	int running;
	size_t i;

	while (!__atomic_load_n(&ps->stop, __ATOMIC_ACQUIRE)) {
		apply_pending(ps);
		curl_multi_perform(ps->multi, &running);
		transfers_done(ps);
		timers(ps, mono_now());
		publish(ps, false);
		wait_ns = ps->o.on_tick ? ps->o.on_tick(ps->o.ctx, real_now()) : UINT64_MAX;
		if (wait_ns > LOOP_WAIT_MAX_MS * 1000000ULL)
			wait_ns = LOOP_WAIT_MAX_MS * 1000000ULL;
		curl_multi_poll(ps->multi, NULL, 0, (int)(wait_ns / 1000000ULL) + 1, NULL);
	}
	for (i = 0; i < ps->n; i++)
		conn_close(ps->v[i]);
	if (ps->o.on_stop)
		ps->o.on_stop(ps->o.ctx);
	return NULL;
}

int weir_peers_new(struct weir_peers **out, const struct weir_peers_opts *opts)
{
	struct weir_peers *ps;
	int err;

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->o = *opts;
	if (!ps->o.status_interval_ns)
		ps->o.status_interval_ns = WEIR_STATUS_INTERVAL_NS_DEFAULT;
	if (!ps->o.connect_timeout_ns)
		ps->o.connect_timeout_ns = WEIR_CONNECT_TIMEOUT_NS_DEFAULT;
	ps->rand_state = real_now() ^ ((uint64_t)getpid() << 32);
	err = -pthread_mutex_init(&ps->lock, NULL);
	if (err) {
		free(ps);
		return err;
	}
	ps->multi = curl_multi_init();
	if (!ps->multi || weir_endpoint_cache_new(&ps->endpoints)) {
		if (ps->multi)
			curl_multi_cleanup(ps->multi);
		pthread_mutex_destroy(&ps->lock);
		free(ps);
		return -ENOMEM;
	}
	*out = ps;
	return 0;
}

int weir_peers_start(struct weir_peers *ps)
{
	int err;

	/* DNS answers given before the start are peers from the first turn. */
	apply_pending(ps);
	ps->reported_n = ps->n;
	if (ps->o.on_count)
		ps->o.on_count(ps->o.ctx, ps->n);
	publish(ps, true);
	err = -pthread_create(&ps->thread, NULL, loop, ps);
	if (err) {
		log_err("relay: start the peers thread: %s", strerror(-err));
		return err;
	}
	ps->running = true;
	return 0;
}

void weir_peers_stop(struct weir_peers *ps)
{
	if (!ps || !ps->running)
		return;
	__atomic_store_n(&ps->stop, true, __ATOMIC_RELEASE);
	curl_multi_wakeup(ps->multi);
	pthread_join(ps->thread, NULL);
	ps->running = false;
}

void weir_node_info_free(struct weir_node_info *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].address);
	}
	free(v);
}

void weir_peers_free(struct weir_peers *ps)
{
	struct pending *pd;
	size_t i;

	if (!ps)
		return;
	weir_peers_stop(ps);
	for (i = 0; i < ps->n; i++)
		conn_free(ps->v[i]);
	free(ps->v);
	while ((pd = ps->pending)) {
		ps->pending = pd->next;
		pending_free(pd);
	}
	weir_node_info_free(ps->pub, ps->n_pub);
	curl_multi_cleanup(ps->multi);
	weir_endpoint_cache_free(ps->endpoints);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}

/* For the API: the published copy. */

static int info_cmp(const void *a, const void *b)
{
	const struct weir_node_info *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	return d ? d : strcmp(x->address, y->address);
}

/* One node as the API shows it; 0, or -ENOMEM. */
static int info_fill(struct weir_node_info *d, const struct weir_peer *p, uint64_t mono,
		     uint64_t real)
{
	d->name = strdup(p->name);
	d->address = strdup(p->address);
	if (!d->name || !d->address)
		return -ENOMEM;
	d->from_dns = p->from_dns;
	d->state = p->node_state;
	d->connection = p->state;
	d->last_contact_ns = to_real(p->last_contact_ns, mono, real);
	d->connected_since_ns =
		p->state == WEIR_PEER_CONNECTED ? to_real(p->connected_since_ns, mono, real) : 0;
	if (p->state == WEIR_PEER_UNAVAILABLE || p->state == WEIR_PEER_ERROR)
		d->next_attempt_ns = to_real(p->next_attempt_ns, mono, real);
	memcpy(d->last_error, p->last_error, sizeof(d->last_error));
	d->last_error_ns = to_real(p->last_error_ns, mono, real);
	d->flows_seen = p->flows_seen;
	d->flows_per_second = weir_peer_flows_per_second(p, mono);
	d->parse_errors = p->parse_errors;
	d->lost_events = p->lost_events;
	d->connects = p->connects;
	d->failures = p->failures;
	if (p->state == WEIR_PEER_CONNECTED)
		d->format = p->compact ? WEIR_COMPACT_FORMAT : "ndjson";
	d->have_status = p->have_status;
	d->node = p->node;
	return 0;
}

/* A fresh copy of every peer for readers: at once (now), or when the last is stale. */
static void publish(struct weir_peers *ps, bool now)
{
	uint64_t mono = mono_now(), real = real_now();
	struct weir_node_info *v, *old;
	size_t i, n_old;

	if (!now && mono - ps->published_ns < PUBLISH_INTERVAL_NS)
		return;
	v = calloc(ps->n ? ps->n : 1, sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < ps->n; i++) {
		if (info_fill(&v[i], &ps->v[i]->p, mono, real)) {
			weir_node_info_free(v, i + 1);
			return; /* readers keep the last copy */
		}
	}
	qsort(v, ps->n, sizeof(*v), info_cmp);
	pthread_mutex_lock(&ps->lock);
	old = ps->pub;
	n_old = ps->n_pub;
	ps->pub = v;
	ps->n_pub = ps->n;
	pthread_mutex_unlock(&ps->lock);
	weir_node_info_free(old, n_old);
	ps->published_ns = mono;
}

int weir_peers_snapshot(struct weir_peers *ps, struct weir_node_info **out, size_t *n)
{
	struct weir_node_info *v;
	size_t i, k;

	pthread_mutex_lock(&ps->lock);
	k = ps->n_pub;
	v = calloc(k ? k : 1, sizeof(*v));
	for (i = 0; v && i < k; i++) {
		v[i] = ps->pub[i];
		v[i].name = strdup(ps->pub[i].name);
		v[i].address = strdup(ps->pub[i].address);
		if (!v[i].name || !v[i].address) {
			weir_node_info_free(v, i + 1);
			v = NULL;
		}
	}
	pthread_mutex_unlock(&ps->lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	*n = k;
	return 0;
}

static void greet_one(struct weir_follower *f, enum weir_node_state state, const char *const *names,
		      size_t n, const char *message, uint64_t now)
{
	char *line;

	if (!n)
		return;
	line = weir_node_status_line(state, names, n, message, now);
	if (line)
		weir_follower_notify(f, line);
	free(line);
}

void weir_peers_greet(struct weir_peers *ps, struct weir_follower *f)
{
	struct weir_node_info *v;
	const char **up, **down;
	size_t i, n, n_up = 0, n_down = 0;
	uint64_t now = real_now();

	if (weir_peers_snapshot(ps, &v, &n))
		return;
	up = calloc(n + 1, sizeof(*up));
	down = calloc(n + 1, sizeof(*down));
	for (i = 0; up && down && i < n; i++) {
		if (v[i].state == WEIR_NODE_CONNECTED)
			up[n_up++] = v[i].name;
		else if (v[i].state == WEIR_NODE_ERROR)
			greet_one(f, WEIR_NODE_ERROR, (const char *const *)&v[i].name, 1,
				  v[i].last_error, now);
		else
			down[n_down++] = v[i].name;
	}
	greet_one(f, WEIR_NODE_CONNECTED, up, n_up, NULL, now);
	greet_one(f, WEIR_NODE_UNAVAILABLE, down, n_down, NULL, now);
	free(up);
	free(down);
	weir_node_info_free(v, n);
}
