// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The history's HTTP side: /v1/flows/aggregate, its status and metrics. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "history.h"
#include "history_http.h"
#include "log.h"
#include "timefmt.h"

#define FLUSH_TIMEOUT_MS 5000

struct args_ctx {
	struct weir_agg_request *ar;
	char err[256];
	int rc;
};

static enum MHD_Result agg_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct args_ctx *ctx = cls;

	(void)kind;
	ctx->rc = weir_agg_request_set(ctx->ar, key, value, ctx->err, sizeof(ctx->err));
	return ctx->rc ? MHD_NO : MHD_YES;
}

enum MHD_Result weir_history_aggregate_get(struct weir_history *h, struct MHD_Connection *c)
{
	struct weir_agg_request ar = { 0 };
	struct args_ctx args = { .ar = &ar };
	json_t *out = NULL;
	int err;

	if (!h)
		return weir_http_respond_error(
			c, MHD_HTTP_NOT_FOUND,
			"aggregates need the relay's history (--history-db)");
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, agg_arg, &args);
	err = args.rc ?: weir_agg_request_finish(&ar, args.err, sizeof(args.err));
	if (err) {
		weir_agg_request_release(&ar);
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "bad query: %s", args.err);
	}
	/* what the merge released so far counts too */
	if (weir_history_flush(h, FLUSH_TIMEOUT_MS))
		log_warn("history: flush before an aggregate timed out");
	err = weir_history_aggregate(h, &ar, &out, args.err, sizeof(args.err));
	weir_agg_request_release(&ar);
	if (err == -EINVAL)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "bad query: %s", args.err);
	if (err)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "aggregate: %s",
					       err == -EIO ? args.err : strerror(-err));
	return weir_http_respond_json(c, MHD_HTTP_OK, out);
}

static json_t *time_json(uint64_t ns)
{
	char buf[WEIR_TIME_STR_LEN];

	if (!ns || !weir_time_format(ns, buf, sizeof(buf)))
		return json_null();
	return json_string(buf);
}

json_t *weir_history_status_json(struct weir_history *h)
{
	struct weir_history_stats st;

	if (!h)
		return json_pack("{s:b}", "enabled", 0);
	weir_history_stats(h, &st);
	return json_pack(
		"{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "enabled", 1,
		"records", (json_int_t)st.rows, "db_bytes", (json_int_t)st.db_bytes, "file_bytes",
		(json_int_t)st.file_bytes, "written", (json_int_t)st.written, "pending",
		(json_int_t)st.pending, "commits", (json_int_t)st.commits, "queue_dropped",
		(json_int_t)st.queue_dropped, "write_lost", (json_int_t)st.write_lost, "errors",
		(json_int_t)st.write_errors, "deleted_age", (json_int_t)st.deleted_age,
		"deleted_size", (json_int_t)st.deleted_size, "query_truncated",
		(json_int_t)st.query_truncated, "oldest", time_json(st.oldest_ns), "last_error",
		st.last_error[0] ? json_string(st.last_error) : json_null(), "last_error_time",
		time_json(st.last_error_ns));
}

int weir_history_metrics_append(struct weir_history *h, char **text, size_t *len)
{
	struct weir_history_stats st;
	char *out, *p;
	size_t cap = 4096;
	int n;

	if (!h)
		return 0;
	weir_history_stats(h, &st);
	p = realloc(*text, *len + cap);
	if (!p)
		return -ENOMEM;
	*text = p;
	out = p + *len;
	n = snprintf(
		out, cap,
		"# HELP weir_relay_history_records Records in the history database.\n"
		"# TYPE weir_relay_history_records gauge\n"
		"weir_relay_history_records %" PRIu64 "\n"
		"# HELP weir_relay_history_bytes Bytes of the history database's pages in use.\n"
		"# TYPE weir_relay_history_bytes gauge\n"
		"weir_relay_history_bytes %" PRIu64 "\n"
		"# HELP weir_relay_history_written_total Records committed to the history.\n"
		"# TYPE weir_relay_history_written_total counter\n"
		"weir_relay_history_written_total %" PRIu64 "\n"
		"# HELP weir_relay_history_pending_records Records waiting for the next commit.\n"
		"# TYPE weir_relay_history_pending_records gauge\n"
		"weir_relay_history_pending_records %" PRIu64 "\n"
		"# HELP weir_relay_history_lost_total Records the history did not store, by cause.\n"
		"# TYPE weir_relay_history_lost_total counter\n"
		"weir_relay_history_lost_total{cause=\"queue_full\"} %" PRIu64 "\n"
		"weir_relay_history_lost_total{cause=\"write_error\"} %" PRIu64 "\n"
		"# HELP weir_relay_history_errors_total Failed history transactions and queries.\n"
		"# TYPE weir_relay_history_errors_total counter\n"
		"weir_relay_history_errors_total %" PRIu64 "\n"
		"# HELP weir_relay_history_deleted_total Records deleted by retention, by limit.\n"
		"# TYPE weir_relay_history_deleted_total counter\n"
		"weir_relay_history_deleted_total{limit=\"age\"} %" PRIu64 "\n"
		"weir_relay_history_deleted_total{limit=\"size\"} %" PRIu64 "\n",
		st.rows, st.db_bytes, st.written, st.pending, st.queue_dropped, st.write_lost,
		st.write_errors, st.deleted_age, st.deleted_size);
	if (n < 0 || (size_t)n >= cap)
		return -ENOMEM;
	*len += (size_t)n;
	return 0;
}
