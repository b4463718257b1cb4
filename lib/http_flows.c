// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* GET /v1/flows: the stored records a request selects, as a JSON array, or
 * with follow as NDJSON followed by new records (and the store's notes) until
 * the client leaves.
 *
 * The body is produced on demand by libmicrohttpd's reader callback, so a
 * large answer never sits in memory as one string, and a follow stream waits
 * for records in its connection's own thread (one thread per connection).
 * Records are written straight to text (weir_flow_record_write_json()) and
 * batched: each callback hands libmicrohttpd up to STREAM_BLOCK_BYTES, one
 * HTTP chunk and one send for many records. A follow stream flushes as soon
 * as no further record is at hand, so batching never delays a record.
 *
 * ?format=compact answers with Weir's compact stream (weir/flow_compact.h),
 * NDJSON as well, that relays ask their agents for: records as arrays,
 * endpoints and names defined once per stream. Notes and lost_events lines
 * go as they do on the plain stream.
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
#include "flow_compact.h"
#include "http_priv.h"
#include "json_writer.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#define NDJSON_MEDIA	   "application/x-ndjson"
#define STREAM_BLOCK_BYTES 65536	 /* libmicrohttpd's read size for the body: one chunk */
#define FOLLOW_WAIT_MS	   1000		 /* how often a waiting stream checks its client */
#define LOST_INTERVAL_NS   1000000000ULL /* lost_events lines at most this often (Hubble: 1 s) */

enum stream_phase {
	PHASE_HISTORY,	/* the stored records the request asked for */
	PHASE_CATCH_UP, /* records queued to the follower while history was read */
	PHASE_FOLLOW,
	PHASE_DONE,
};

/* What stream_fill() and follow_step() did. */
enum fill {
	FILL_OUT,   /* pending output to send */
	FILL_END,   /* the body is complete */
	FILL_AGAIN, /* nothing yet: go round */
	FILL_IDLE,  /* follow_step(): nothing at hand within its wait */
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
	struct weir_compact_encoder *compact; /* format=compact: its dictionary */
	bool opened;			      /* the array's "[" is out */
	struct weir_json_buf out;	      /* pending output: out.data[off..out.len) */
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
	weir_json_buf_release(&st->out);
	weir_compact_encoder_free(st->compact);
	__atomic_fetch_sub(&st->s->streams, 1, __ATOMIC_RELEASE);
	free(st);
}

/* Before a record or a line: the array's "[" or ",\n", nothing for NDJSON. */
static void element_open(struct flows_stream *st)
{
	if (st->ndjson)
		return;
	if (st->opened)
		weir_json_lit(&st->out, ",\n");
	else
		weir_json_char(&st->out, '[');
	st->opened = true;
}

static void element_close(struct flows_stream *st)
{
	if (st->ndjson)
		weir_json_char(&st->out, '\n');
}

/* text (a JSON value) appended as the next element. */
static int stream_add_text(struct flows_stream *st, const char *text, size_t n)
{
	element_open(st);
	weir_json_raw(&st->out, text, n);
	element_close(st);
	return st->out.err ? st->out.err : FILL_OUT;
}

/* j (stolen) appended as the next element. */
static int stream_add(struct flows_stream *st, json_t *j)
{
	char *text;
	int rc;

	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	rc = stream_add_text(st, text, strlen(text));
	free(text);
	return rc;
}

static int stream_add_record(struct flows_stream *st, struct weir_flow_record *r)
{
	size_t mark = st->out.len;
	bool opened = st->opened;
	int err;

	if (st->compact) {
		/* its own lines, or nothing written on failure */
		err = weir_compact_write_record(st->compact, r, &st->out);
		if (err)
			log_warn("http: flow record id=%llu: no compact line: %s; skipped",
				 (unsigned long long)r->id, strerror(-err));
		weir_flow_record_put(r);
		return err ? FILL_AGAIN : FILL_OUT;
	}
	element_open(st);
	err = weir_flow_record_write_json(r, &st->out);
	if (err) {
		/* One record that cannot be written does not end the stream. */
		log_warn("http: flow record id=%llu has no JSON form: %s; skipped",
			 (unsigned long long)r->id, strerror(-err));
		weir_flow_record_put(r);
		st->out.err = 0;
		st->out.len = mark;
		st->opened = opened;
		return FILL_AGAIN;
	}
	weir_flow_record_put(r);
	element_close(st);
	return st->out.err ? st->out.err : FILL_OUT;
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
	return stream_add(st, j);
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

/* A note from the store (freed here): a line as it is. */
static int stream_add_note(struct flows_stream *st, char *note)
{
	int rc = stream_add_text(st, note, strlen(note));

	free(note);
	return rc;
}

/* One step of a follow: a record, a note, a lost_events line appended
 * (FILL_OUT), nothing to send (FILL_AGAIN), nothing within wait_ms
 * (FILL_IDLE), or -errno.
 */
static int follow_step(struct flows_stream *st, int wait_ms)
{
	struct weir_flow_record *r = st->held;
	char *note = NULL;
	uint64_t lost = 0;
	int rc = 0;

	st->held = NULL;
	if (!r) {
		rc = weir_follower_next_note(st->f, st->phase == PHASE_CATCH_UP ? 0 : wait_ms, &r,
					     &note, &lost);
		st->lost_pending += lost;
	}
	if (note)
		return stream_add_note(st, note);
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
			return FILL_AGAIN;
		}
		/* output waits to go: the client is checked once it has gone */
		if (wait_ms && client_gone(st))
			return -ECONNRESET;
		return FILL_IDLE;
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
	return stream_add_record(st, r);
}

/* Appends to the pending output until it holds a block or nothing more is at
 * hand: FILL_OUT, FILL_END (the body is complete and all of it sent), or
 * -errno. Only a follow with nothing to send waits, FOLLOW_WAIT_MS at a time.
 */
static int stream_fill(struct flows_stream *st)
{
	int rc;

	while (st->out.len < STREAM_BLOCK_BYTES) {
		switch (st->phase) {
		case PHASE_HISTORY:
			if (st->next < st->n_hist) {
				rc = stream_add_record(st, st->hist[st->next++]);
				if (rc < 0)
					return rc;
				break;
			}
			if (st->f) {
				st->phase = PHASE_CATCH_UP;
				break;
			}
			st->phase = PHASE_DONE;
			if (!st->ndjson) {
				if (st->opened)
					weir_json_lit(&st->out, "\n]\n");
				else
					weir_json_lit(&st->out, "[]\n");
				if (st->out.err)
					return st->out.err;
			}
			break;
		case PHASE_CATCH_UP:
		case PHASE_FOLLOW:
			rc = follow_step(st, st->out.len ? 0 : FOLLOW_WAIT_MS);
			if (rc < 0)
				return rc;
			if (rc == FILL_IDLE && st->out.len)
				return FILL_OUT;
			break;
		case PHASE_DONE:
		default:
			return st->out.len ? FILL_OUT : FILL_END;
		}
	}
	return FILL_OUT;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct flows_stream *st = cls;
	size_t n;
	int rc;

	(void)pos;
	if (st->off >= st->out.len) {
		weir_json_buf_reset(&st->out);
		st->off = 0;
		rc = stream_fill(st);
		if (rc == FILL_END)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (rc < 0) {
			if (rc != -ECONNRESET)
				log_warn("http: flows stream: %s", strerror(-rc));
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	n = st->out.len - st->off;
	if (n > max)
		n = max;
	memcpy(out, st->out.data + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

struct args_ctx {
	struct weir_flow_request *req;
	bool compact; /* format=compact */
	char err[256];
	int rc;
};

/* format=json (the default) or format=compact. */
static int format_arg(struct args_ctx *ctx, const char *value)
{
	if (value && !strcmp(value, WEIR_COMPACT_FORMAT)) {
		ctx->compact = true;
		return 0;
	}
	if (value && !strcmp(value, "json")) {
		ctx->compact = false;
		return 0;
	}
	snprintf(ctx->err, sizeof(ctx->err), "format: expected json or %s, got \"%.64s\"",
		 WEIR_COMPACT_FORMAT, value ? value : "");
	return -EINVAL;
}

static enum MHD_Result flows_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct args_ctx *ctx = cls;

	(void)kind;
	if (!strcmp(key, "format")) {
		ctx->rc = format_arg(ctx, value);
		return ctx->rc ? MHD_NO : MHD_YES;
	}
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
	/* weir_http_server_stop() waits for the streams to end (stream_free()) */
	__atomic_fetch_add(&s->streams, 1, __ATOMIC_RELAXED);
	args.req = &st->req;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, flows_arg, &args);
	err = args.rc;
	if (!err)
		err = weir_flow_request_finish(&st->req, args.err, sizeof(args.err));
	if (err) {
		stream_free(st);
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "bad query: %s", args.err);
	}
	/* the compact stream is NDJSON, with or without follow, its header first */
	st->ndjson = st->req.follow || args.compact;
	if (args.compact) {
		err = weir_compact_encoder_new(&st->compact, 0, 0);
		err = err ?: weir_compact_write_header(&st->out);
		if (err) {
			stream_free(st);
			return MHD_NO;
		}
	}
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
				st->compact ? WEIR_COMPACT_MEDIA :
				st->ndjson  ? NDJSON_MEDIA :
					      WEIR_HTTP_JSON_MEDIA);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return weir_http_queue(c, MHD_HTTP_OK, resp);
}
