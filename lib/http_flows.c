// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* GET /v1/flows: the stored records a request selects, as a JSON array, or
 * with follow as NDJSON followed by new records (and the store's notes) until
 * the client leaves.
 *
 * The body is produced on demand by libmicrohttpd's reader callback, so a
 * large answer never sits in memory as one string, and a follow stream waits
 * for records in its connection's own thread (one thread per connection).
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <microhttpd.h>
#include "filter.h"
#include "flow.h"
#include "http_priv.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#define NDJSON_MEDIA	   "application/x-ndjson"
#define STREAM_BLOCK_BYTES 16384	 /* libmicrohttpd's read size for the body */
#define FOLLOW_WAIT_MS	   1000		 /* how often a waiting stream checks its client */
#define LOST_INTERVAL_NS   1000000000ULL /* lost_events lines at most this often (Hubble: 1 s) */

enum stream_phase {
	PHASE_HISTORY,	/* the stored records the request asked for */
	PHASE_CATCH_UP, /* records queued to the follower while history was read */
	PHASE_FOLLOW,
	PHASE_DONE,
};

/* What stream_fill() did. */
enum fill {
	FILL_OUT,   /* pending output set */
	FILL_END,   /* the body is complete */
	FILL_AGAIN, /* nothing yet: go round */
};

struct flows_stream {
	struct weir_http_server *s;
	struct MHD_Connection *conn;
	struct weir_flow_request req; /* req.filters is borrowed by the follower */
	struct weir_flow_record **hist;
	size_t n_hist;
	size_t next;
	struct weir_flow_record **seen; /* hist sorted by address, for the catch-up */
	struct weir_follower *f;
	struct weir_flow_record *held; /* next to send, after a lost_events line */
	uint64_t lost_pending;
	uint64_t lost_sent_ns; /* CLOCK_MONOTONIC */
	enum stream_phase phase;
	bool ndjson; /* follow: one JSON object per line; else a JSON array */
	bool opened; /* the array's "[" is out */
	char *buf;   /* pending output */
	size_t len;
	size_t off;
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void put_seen(struct flows_stream *st)
{
	size_t i;

	for (i = 0; st->seen && i < st->n_hist; i++)
		weir_flow_record_put(st->seen[i]);
	free(st->seen);
	st->seen = NULL;
}

static void stream_free(void *cls)
{
	struct flows_stream *st = cls;
	size_t i;

	/* The follower borrows req.filters: it goes first. */
	weir_follower_free(st->f);
	for (i = st->next; i < st->n_hist; i++)
		weir_flow_record_put(st->hist[i]);
	free(st->hist);
	put_seen(st);
	if (st->held)
		weir_flow_record_put(st->held);
	weir_flow_request_release(&st->req);
	free(st->buf);
	free(st);
}

static int set_output(struct flows_stream *st, char *text, size_t len)
{
	free(st->buf);
	st->buf = text;
	st->len = len;
	st->off = 0;
	return FILL_OUT;
}

/* j (stolen) as the pending output: a line of NDJSON, or an array element. */
static int stream_set(struct flows_stream *st, json_t *j)
{
	const char *prefix = "";
	char *text, *out;
	size_t n;

	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	if (!st->ndjson) {
		prefix = st->opened ? ",\n" : "[";
		st->opened = true;
	}
	n = strlen(prefix) + strlen(text) + 2;
	out = malloc(n);
	if (!out) {
		free(text);
		return -ENOMEM;
	}
	n = (size_t)snprintf(out, n, "%s%s%s", prefix, text, st->ndjson ? "\n" : "");
	free(text);
	return set_output(st, out, n);
}

static int stream_set_record(struct flows_stream *st, struct weir_flow_record *r)
{
	json_t *j = weir_flow_record_to_json(r);

	if (!j) {
		/* One record that cannot be written does not end the stream. */
		log_warn("http: flow record id=%llu has no JSON form; skipped",
			 (unsigned long long)r->id);
		weir_flow_record_put(r);
		return FILL_AGAIN;
	}
	weir_flow_record_put(r);
	return stream_set(st, j);
}

/* Hubble's GetFlowsResponse with lost_events: what this stream fell behind by. */
static int stream_set_lost(struct flows_stream *st, uint64_t lost)
{
	const char *node = st->s->o.node_name;
	char now[WEIR_TIME_STR_LEN] = "";
	json_t *j;

	weir_time_format(clock_ns(CLOCK_REALTIME), now, sizeof(now));
	j = json_pack("{s:{s:s,s:I},s:s,s:s}", "lost_events", "source", "OBSERVER_EVENTS_QUEUE",
		      "num_events_lost", (json_int_t)lost, "node_name", node ? node : "", "time",
		      now);
	return stream_set(st, j);
}

/* Whether the client has gone: a hang-up on its socket, seen without reading. */
static bool client_gone(struct flows_stream *st)
{
	const union MHD_ConnectionInfo *ci;
	struct pollfd p = { .events = POLLRDHUP };

	ci = MHD_get_connection_info(st->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return false;
	p.fd = ci->connect_fd;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;

	return (x > y) - (x < y);
}

/* A note from the store: a line as it is. */
static int stream_set_note(struct flows_stream *st, char *note)
{
	size_t n = strlen(note);
	char *line = realloc(note, n + 2);

	if (!line) {
		free(note);
		return -ENOMEM;
	}
	line[n++] = '\n';
	line[n] = '\0';
	return set_output(st, line, n);
}

/* One step of a follow: a record, a note, a lost_events line, or nothing yet. */
static int follow_step(struct flows_stream *st)
{
	struct weir_flow_record *r = st->held;
	char *note = NULL;
	uint64_t lost = 0;
	int rc = 0;

	st->held = NULL;
	if (!r) {
		rc = weir_follower_next_note(
			st->f, st->phase == PHASE_CATCH_UP ? 0 : FOLLOW_WAIT_MS, &r, &note, &lost);
		st->lost_pending += lost;
	}
	if (note)
		return stream_set_note(st, note);
	/* Losses go out before the record after the gap, batched to one line
	 * a second under overload, and always before the stream idles or ends.
	 */
	if (st->lost_pending &&
	    (rc || clock_ns(CLOCK_MONOTONIC) - st->lost_sent_ns >= LOST_INTERVAL_NS)) {
		st->held = r;
		lost = st->lost_pending;
		st->lost_pending = 0;
		st->lost_sent_ns = clock_ns(CLOCK_MONOTONIC);
		return stream_set_lost(st, lost);
	}
	if (rc == -EAGAIN) {
		if (st->phase == PHASE_CATCH_UP) {
			/* The queue ran dry: all that follows is newer than
			 * the history, whose references can go.
			 */
			put_seen(st);
			st->phase = PHASE_FOLLOW;
		} else if (client_gone(st)) {
			return -ECONNRESET;
		}
		return FILL_AGAIN;
	}
	if (rc == -EPIPE) {
		st->phase = PHASE_DONE;
		return FILL_AGAIN;
	}
	if (rc)
		return rc;
	/* Records added while the history was read are in both the history
	 * and the queue. The history's references keep their addresses from
	 * being reused, so the address says whether one was sent.
	 */
	if (st->seen && bsearch(&r, st->seen, st->n_hist, sizeof(void *), ptr_cmp)) {
		weir_flow_record_put(r);
		return FILL_AGAIN;
	}
	if (st->req.since_ns && r->time_ns < st->req.since_ns) {
		weir_flow_record_put(r);
		return FILL_AGAIN;
	}
	if (st->req.until_ns && r->time_ns > st->req.until_ns) {
		/* As Hubble: a follow ends at the first flow past until. */
		weir_flow_record_put(r);
		st->phase = PHASE_DONE;
		return FILL_AGAIN;
	}
	return stream_set_record(st, r);
}

/* Sets the pending output: FILL_OUT, FILL_END, FILL_AGAIN (a record was
 * skipped: call again), or -errno.
 */
static int stream_fill(struct flows_stream *st)
{
	int rc;

	for (;;) {
		switch (st->phase) {
		case PHASE_HISTORY:
			if (st->next < st->n_hist)
				return stream_set_record(st, st->hist[st->next++]);
			if (st->f) {
				st->phase = PHASE_CATCH_UP;
				break;
			}
			st->phase = PHASE_DONE;
			if (!st->ndjson) {
				char *end = strdup(st->opened ? "\n]\n" : "[]\n");

				return end ? set_output(st, end, strlen(end)) : -ENOMEM;
			}
			break;
		case PHASE_CATCH_UP:
		case PHASE_FOLLOW:
			rc = follow_step(st);
			if (rc != FILL_AGAIN)
				return rc;
			break;
		case PHASE_DONE:
		default:
			return FILL_END;
		}
	}
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct flows_stream *st = cls;
	size_t n;
	int rc;

	(void)pos;
	while (st->off >= st->len) {
		rc = stream_fill(st);
		if (rc == FILL_END)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (rc < 0) {
			if (rc != -ECONNRESET)
				log_warn("http: flows stream: %s", strerror(-rc));
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	n = st->len - st->off;
	if (n > max)
		n = max;
	memcpy(out, st->buf + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

struct args_ctx {
	struct weir_flow_request *req;
	char err[256];
	int rc;
};

static enum MHD_Result flows_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct args_ctx *ctx = cls;

	(void)kind;
	/* value is NULL for a bare "?follow": the request parser takes that. */
	ctx->rc = weir_flow_request_set(ctx->req, key, value, ctx->err, sizeof(ctx->err));
	return ctx->rc ? MHD_NO : MHD_YES;
}

/* Follows first, then reads the history, so nothing added in between is
 * missed; the catch-up phase drops what both saw.
 */
static int stream_open(struct weir_http_server *s, struct flows_stream *st)
{
	size_t i;
	int err;

	if (st->req.follow) {
		err = weir_store_follow(s->o.store, st->req.filters, s->o.follow_queue, &st->f);
		if (err)
			return err;
		if (s->o.follow_open)
			s->o.follow_open(s->o.ctx, st->f);
	}
	/* Hubble: a follow with neither number nor since starts at the newest record. */
	if (!st->req.follow || st->req.number || st->req.since_ns) {
		err = weir_store_query(s->o.store, &st->req, &st->hist, &st->n_hist);
		if (!err && s->o.flows_more)
			err = s->o.flows_more(s->o.ctx, &st->req, &st->hist, &st->n_hist);
		if (err)
			return err;
	}
	if (st->f && st->n_hist) {
		st->seen = malloc(st->n_hist * sizeof(void *));
		if (!st->seen)
			return -ENOMEM;
		for (i = 0; i < st->n_hist; i++)
			st->seen[i] = weir_flow_record_get(st->hist[i]);
		qsort(st->seen, st->n_hist, sizeof(void *), ptr_cmp);
	}
	return 0;
}

enum MHD_Result weir_http_flows_get(struct weir_http_server *s, struct MHD_Connection *c)
{
	struct args_ctx args = { 0 };
	struct MHD_Response *resp;
	struct flows_stream *st;
	int err;

	st = calloc(1, sizeof(*st));
	if (!st)
		return MHD_NO;
	st->s = s;
	st->conn = c;
	args.req = &st->req;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, flows_arg, &args);
	err = args.rc;
	if (!err)
		err = weir_flow_request_finish(&st->req, args.err, sizeof(args.err));
	if (err) {
		stream_free(st);
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "bad query: %s", args.err);
	}
	st->ndjson = st->req.follow;
	/* The idle timeout is for connections that wait on their client; a
	 * follow waits on the node, quiet as long as its traffic is: it ends
	 * when its client leaves (a hang-up, or a failed write), or at stop.
	 */
	if (st->req.follow)
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	err = stream_open(s, st);
	if (err) {
		stream_free(st);
		if (err == -EPIPE)
			return weir_http_respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
						       "the %s is shutting down", s->o.name);
		log_warn("http: flows request: %s", strerror(-err));
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "flows: %s",
					       strerror(-err));
	}

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK_BYTES, stream_read,
						 st, stream_free);
	if (!resp) {
		stream_free(st);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				st->ndjson ? NDJSON_MEDIA : WEIR_HTTP_JSON_MEDIA);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return weir_http_queue(c, MHD_HTTP_OK, resp);
}
