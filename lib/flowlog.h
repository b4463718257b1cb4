/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow logs, as Hubble's exporter writes them: records as NDJSON (one
 * GetFlowsResponse per line, the same JSON as /v1/flows) to a file or
 * stdout, for a log shipper to take to any log store. Shared by the agent
 * and the relay. Each flow log has
 * - allow and deny lists of FlowFilters (lib/filter.h: the one language);
 * - a field mask: Hubble's dotted paths inside "flow" ("source.pod_name",
 *   "l4.TCP.destination_port"); the response's node_name and time stay;
 * - size-based rotation: past max_size the file becomes FILE.1, FILE.1
 *   becomes FILE.2 ... and FILE.<max_files> is removed, as logrotate does;
 * - optional aggregation: records summed per key per interval, one line per
 *   key and interval (see below).
 * Each runs on its own thread behind a bounded follower queue of the store:
 * a slow or full disk loses lines (counted), never holds up the daemon.
 *
 * An aggregated line is a GetFlowsResponse whose flow carries the key's
 * fields only (IP addresses, pods, destination port, protocol, verdict,
 * node ...), the interval's sums under "weir" (packets, bytes,
 * reply_packets, reply_bytes: delta counters, so consecutive intervals add
 * up to the flows' totals), "weir"."aggregate" {"start", "end", "flows"
 * (conversations that started), "records"} and Hubble's "aggregate"
 * {"ingress_flow_count", "egress_flow_count", "unknown_direction_flow_count"}.
 * Intervals are aligned on the wall clock (multiples of the interval since
 * the epoch); an interval with no records writes nothing.
 */
#ifndef WEIR_FLOWLOG_H
#define WEIR_FLOWLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "flow.h"
#include "options.h"

struct weir_store;

#define WEIR_FLOWLOG_MAX_SIZE_DEFAULT  (10ULL << 20)	   /* Hubble's fileMaxSizeMb */
#define WEIR_FLOWLOG_MAX_FILES_DEFAULT 5		   /* Hubble's fileMaxBackups */
#define WEIR_FLOWLOG_BUFFER_BYTES      ((size_t)64 * 1024) /* lines written out at once */

/* ---- the field mask ---- */

struct weir_field_mask;

/* "time,verdict,source.pod_name": comma-separated paths in the flow; each
 * path's first name must be one of the flow's fields. -EINVAL naming the
 * bad path in err.
 */
int weir_field_mask_parse(struct weir_field_mask **out, const char *spec, char *err,
			  size_t err_len);
void weir_field_mask_free(struct weir_field_mask *m);
/* Keeps only the masked paths of resp's "flow" (a GetFlowsResponse), in place. */
void weir_field_mask_apply(const struct weir_field_mask *m, json_t *resp);

/* ---- the rotating file ---- */

struct weir_logfile;

struct weir_logfile_stats {
	uint64_t bytes;	       /* written to the file (or stdout) */
	uint64_t write_errors; /* failed writes (their lines are lost) */
	uint64_t rotations;
};

/* path "-" is stdout (never rotated). max_size 0: never rotate. */
int weir_logfile_open(struct weir_logfile **out, const char *path, uint64_t max_size_bytes,
		      uint32_t max_files);
void weir_logfile_close(struct weir_logfile *lf);
/* Writes one line (len bytes, ending in '\n') through the buffer; rotates
 * first when it would pass max_size. 0, or -errno (the line is lost, counted).
 */
int weir_logfile_write(struct weir_logfile *lf, const char *line, size_t len);
int weir_logfile_flush(struct weir_logfile *lf);
void weir_logfile_stats(const struct weir_logfile *lf, struct weir_logfile_stats *st);

/* ---- the aggregator ---- */

struct weir_flow_agg;

/* What an aggregation key is made of (--flowlog-aggregate-by names). */
enum weir_agg_field {
	WEIR_AGG_NODE = 1 << 0,	     /* node_name */
	WEIR_AGG_SRC_IP = 1 << 1,    /* source_ip */
	WEIR_AGG_SRC_POD = 1 << 2,   /* source_pod: namespace, pod name, labels */
	WEIR_AGG_DST_IP = 1 << 3,    /* destination_ip */
	WEIR_AGG_DST_POD = 1 << 4,   /* destination_pod */
	WEIR_AGG_DST_PORT = 1 << 5,  /* destination_port (ICMP: type and code) */
	WEIR_AGG_PROTO = 1 << 6,     /* protocol */
	WEIR_AGG_VERDICT = 1 << 7,   /* verdict and drop reason */
	WEIR_AGG_DIRECTION = 1 << 8, /* traffic_direction */
	WEIR_AGG_INTERFACE = 1 << 9, /* interface */
};
#define WEIR_AGG_DEFAULT                                                                           \
	(WEIR_AGG_NODE | WEIR_AGG_SRC_IP | WEIR_AGG_SRC_POD | WEIR_AGG_DST_IP | WEIR_AGG_DST_POD | \
	 WEIR_AGG_DST_PORT | WEIR_AGG_PROTO | WEIR_AGG_VERDICT)

/* "source_pod,destination_pod,verdict" to WEIR_AGG_* bits; NULL or "" is the default. */
int weir_agg_fields_parse(const char *spec, unsigned int *out, char *err, size_t err_len);

/* Emits one aggregated line's JSON (a new reference the callee consumes). */
typedef void (*weir_agg_emit_fn)(void *ctx, json_t *resp);

int weir_flow_agg_new(struct weir_flow_agg **out, uint64_t interval_ns, unsigned int fields);
void weir_flow_agg_free(struct weir_flow_agg *g);
/* Adds a record (its delta counters come from the aggregator's own tracker)
 * at now_ns (CLOCK_REALTIME); first emits the finished interval if now_ns is
 * past it.
 */
void weir_flow_agg_add(struct weir_flow_agg *g, const struct weir_flow_record *r, uint64_t now_ns,
		       weir_agg_emit_fn emit, void *ctx);
/* Emits the interval if now_ns is past its end; force: emits it anyway (at exit). */
void weir_flow_agg_tick(struct weir_flow_agg *g, uint64_t now_ns, bool force, weir_agg_emit_fn emit,
			void *ctx);
/* When the current interval ends (CLOCK_REALTIME ns), 0 when nothing is held. */
uint64_t weir_flow_agg_due(const struct weir_flow_agg *g);

/* ---- one flow log ---- */

struct weir_flowlog;

struct weir_flowlog_opts {
	const char *name; /* for logs and metrics */
	const char *file; /* path, or "-" for stdout */
	const json_t *allow;
	const json_t *deny;
	const char *fields; /* field mask, NULL: everything */
	uint64_t max_size_bytes;
	uint32_t max_files;
	uint64_t aggregate_interval_ns; /* 0: a line per record */
	const char *aggregate_by;	/* NULL: WEIR_AGG_DEFAULT */
	size_t queue;			/* records it may fall behind (0: the store's default) */
};

struct weir_flowlog_stats {
	uint64_t records;      /* records that passed the filters */
	uint64_t lines;	       /* lines written (or buffered) */
	uint64_t bytes;	       /* bytes written */
	uint64_t write_errors; /* writes that failed: their lines are lost */
	uint64_t queue_lost;   /* records lost on the full queue (a slow disk) */
	uint64_t rotations;
};

/* Opens the file and checks the options; no thread yet (tests drive it
 * with weir_flowlog_process() and weir_flowlog_tick()).
 */
int weir_flowlog_new(struct weir_flowlog **out, const struct weir_flowlog_opts *opts, char *err,
		     size_t err_len);
/* One record, at now_ns (CLOCK_REALTIME), if it passes the filters. */
void weir_flowlog_process(struct weir_flowlog *fl, const struct weir_flow_record *r,
			  uint64_t now_ns);
/* The aggregation interval's end, and the buffer out to the file. */
void weir_flowlog_tick(struct weir_flowlog *fl, uint64_t now_ns, bool force);
/* Follows the store on a thread of its own. */
int weir_flowlog_start(struct weir_flowlog *fl, struct weir_store *store);
/* Writes what is queued (and the interval being aggregated), then stops and frees. */
void weir_flowlog_free(struct weir_flowlog *fl);
void weir_flowlog_stats(struct weir_flowlog *fl, struct weir_flowlog_stats *st);
const char *weir_flowlog_name(const struct weir_flowlog *fl);

/* ---- configuration, shared by the daemons ---- */

/* One flow log from flags: --flowlog-file and its siblings. */
struct weir_flowlog_config {
	char *file;
	char *allow; /* JSON */
	char *deny;
	char *fields;
	uint64_t max_size_bytes;
	uint32_t max_files;
	uint64_t aggregate_interval_ns;
	char *aggregate_by;
	char *config_file; /* --flowlog-config: several flow logs */
};

/* The option-table entries of struct weir_flowlog_config at `base` in a
 * daemon's config struct (lib/options.h).
 */
#define WEIR_FLOWLOG_OPT(f, t, base, member, meta, text)                         \
	{                                                                        \
		.flag = (f), .type = WEIR_OPT_##t,                               \
		.offset = (base) + offsetof(struct weir_flowlog_config, member), \
		.metavar = (meta), .help = (text)                                \
	}
#define WEIR_FLOWLOG_OPTS(base)                                                                 \
	WEIR_FLOWLOG_OPT("flowlog-file", STR, base, file, "PATH",                               \
			 "write flow records as NDJSON here ('-': stdout)"),                    \
		WEIR_FLOWLOG_OPT("flowlog-allow", STR, base, allow, "JSON",                     \
				 "flow log: only records matching these FlowFilters"),          \
		WEIR_FLOWLOG_OPT("flowlog-deny", STR, base, deny, "JSON",                       \
				 "flow log: not records matching these FlowFilters"),           \
		WEIR_FLOWLOG_OPT("flowlog-fields", STR, base, fields, "A,B.C",                  \
				 "flow log: only these fields of each flow (a field mask)"),    \
		WEIR_FLOWLOG_OPT("flowlog-max-size", BYTES, base, max_size_bytes, "BYTES",      \
				 "flow log: rotate the file past this size (10M)"),             \
		WEIR_FLOWLOG_OPT("flowlog-max-files", U32, base, max_files, "N",                \
				 "flow log: rotated files kept (5)"),                           \
		WEIR_FLOWLOG_OPT("flowlog-aggregate-interval", DURATION, base,                  \
				 aggregate_interval_ns, "DURATION",                             \
				 "flow log: sum records per key over this interval"),           \
		WEIR_FLOWLOG_OPT("flowlog-aggregate-by", STR, base, aggregate_by, "FIELDS",     \
				 "flow log: the aggregation key (default: node_name,source_ip," \
				 "source_pod,destination_ip,destination_pod,destination_port,"  \
				 "protocol,verdict)"),                                          \
		WEIR_FLOWLOG_OPT("flowlog-config", STR, base, config_file, "PATH",              \
				 "flow logs from a JSON file: {\"flowlogs\": [{\"file\": ..., " \
				 "\"allow\": [...], ...}, ...]}")

void weir_flowlog_config_defaults(struct weir_flowlog_config *c);

/* Every flow log the config asks for (the flags' one, then the file's),
 * started on the store. Returns 0 with *out and *n (possibly none), or
 * -EINVAL naming what is wrong in err.
 */
int weir_flowlogs_start(const struct weir_flowlog_config *c, struct weir_store *store, size_t queue,
			struct weir_flowlog ***out, size_t *n, char *err, size_t err_len);
void weir_flowlogs_stop(struct weir_flowlog **fls, size_t n);
/* {"name": {records, lines, bytes, write_errors, queue_lost, rotations}, ...} */
json_t *weir_flowlogs_status_json(struct weir_flowlog **fls, size_t n);
/* Prometheus families weir_flowlog_*_total{flowlog="name"}, written to f. */
void weir_flowlogs_metrics(struct weir_flowlog **fls, size_t n, FILE *f);

#endif /* WEIR_FLOWLOG_H */
