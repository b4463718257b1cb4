/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow printers, as `hubble observe` prints: compact (one line per flow),
 * table, dict and json. Every printer reads the same thing, one JSON
 * GetFlowsResponse per flow ({"flow": {...}, "node_name", "time"}, or a
 * lost_events or node_status line), whether it came from a server or a file:
 * text and JSON come from one object and cannot drift apart.
 */
#ifndef WEIR_CLI_PRINTER_H
#define WEIR_CLI_PRINTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

enum weir_output {
	WEIR_OUT_COMPACT,
	WEIR_OUT_TABLE,
	WEIR_OUT_DICT,
	WEIR_OUT_JSON,
};

/* Hubble's --time-format names (hubble/pkg/time). Times print in UTC. */
enum weir_timefmt {
	WEIR_TIME_STAMP_MILLI, /* "Jan _2 15:04:05.000", the default */
	WEIR_TIME_RFC3339,
	WEIR_TIME_RFC3339_MILLI,
	WEIR_TIME_RFC3339_MICRO,
	WEIR_TIME_RFC3339_NANO,
	WEIR_TIME_RFC1123Z,
	WEIR_TIME_YEAR_MONTH_DAY,
	WEIR_TIME_YEAR_MONTH_DAY_HOUR,
	WEIR_TIME_YEAR_MONTH_DAY_HOUR_MINUTE,
};

struct weir_printer_opts {
	enum weir_output output;
	enum weir_timefmt time_format;
	bool node_name; /* --print-node-name */
	bool numeric;	/* addresses instead of pod names */
	bool color;	/* ANSI colors on verdicts (compact, dict) */
};

struct weir_printer;

/* "compact", "table" (or "tab"), "dict", "json" (or "jsonpb"): 0 or -EINVAL. */
int weir_output_parse(const char *s, enum weir_output *out);
/* A --time-format name, case-insensitive: 0 or -EINVAL. */
int weir_timefmt_parse(const char *s, enum weir_timefmt *out);
/* ns since the epoch in format f, UTC; returns buf. */
char *weir_time_print(uint64_t ns, enum weir_timefmt f, char *buf, size_t len);

/* Flows go to out; relay node-status messages to err. */
struct weir_printer *weir_printer_new(FILE *out, FILE *err, const struct weir_printer_opts *o);
/* One response. Returns 0, or -EIO when out cannot be written. */
int weir_printer_write(struct weir_printer *p, const json_t *resp);
/* Writes what is held back (the table), frees p. Returns 0 or -EIO. */
int weir_printer_close(struct weir_printer *p);

/* "1,234,567", as Hubble groups counts. */
char *weir_u64_grouped(uint64_t v, char *buf, size_t len);

#endif /* WEIR_CLI_PRINTER_H */
