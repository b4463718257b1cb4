// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir observe: flows from a server (filtered there) or from a file or stdin
 * (filtered here, by the same filter code), printed as `hubble observe` does.
 */
#define _GNU_SOURCE /* open_memstream */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "filter.h"
#include "flow.h"
#include "jsonstream.h"
#include "observe_flags.h"
#include "printer.h"
#include "timefmt.h"

#define DEFAULT_LAST   20      /* Hubble's FlowPrintCount */
#define INPUT_LAST_MAX 1000000 /* Hubble's limit on --last with --input-file */
#define READ_BYTES     65536
#define STOP_READING   1 /* a callback's "enough" */

struct observe_cfg {
	uint64_t last, first;
	bool all, follow;
	const char *since, *until;
	const char *output, *time_format, *color, *input_file;
	bool print_node_name, numeric, print_raw_filters;
	struct weir_ff_set ff;
};

#define CFG struct observe_cfg

/* clang-format off */
static const struct weir_opt observe_opts[] = {
	DEFINE_OPTION("all", WEIR_OPT_BOOL, CFG, all, .group = "Selectors",
		      .help = "Get all flows stored in the server's buffer"),
	DEFINE_OPTION("first", WEIR_OPT_COUNT, CFG, first, .metavar = "N",
		      .help = "Get the first N flows stored in the server's buffer"),
	DEFINE_OPTION("follow", WEIR_OPT_BOOL, CFG, follow, .short_opt = 'f',
		      .help = "Follow flows as they come (Ctrl-C ends)"),
	DEFINE_OPTION("last", WEIR_OPT_COUNT, CFG, last, .metavar = "N",
		      .help = "Get the last N flows stored in the server's buffer\n"
			      "(default 20 when no other selector is given)"),
	DEFINE_OPTION("since", WEIR_OPT_STRING, CFG, since, .metavar = "TIME",
		      .help = "Flows since TIME: RFC 3339 (2026-08-05T10:12:18Z, 2026-08-05)\n"
			      "or an age (5m, 1h30m, 2d)"),
	DEFINE_OPTION("until", WEIR_OPT_STRING, CFG, until, .metavar = "TIME",
		      .help = "Flows until TIME, as --since (not with --follow)"),

	DEFINE_OPTION("output", WEIR_OPT_STRING, CFG, output, .short_opt = 'o',
		      .metavar = "FORMAT", .group = "Output",
		      .help = "compact (default), table, dict or json (one Hubble\n"
			      "GetFlowsResponse per line)"),
	DEFINE_OPTION("print-raw-filters", WEIR_OPT_BOOL, CFG, print_raw_filters,
		      .help = "Print the filters the flags make, and exit"),
	DEFINE_OPTION("time-format", WEIR_OPT_STRING, CFG, time_format, .metavar = "FORMAT",
		      .help = "StampMilli (default), RFC3339, RFC3339Milli, RFC3339Micro,\n"
			      "RFC3339Nano, RFC1123Z, YearMonthDay[Hour[Minute]] (UTC)"),
	DEFINE_OPTION("print-node-name", WEIR_OPT_BOOL, CFG, print_node_name,
		      .help = "Print the node that saw each flow"),
	DEFINE_OPTION("numeric", WEIR_OPT_BOOL, CFG, numeric,
		      .help = "Print addresses instead of pod names"),
	DEFINE_OPTION("color", WEIR_OPT_STRING, CFG, color, .metavar = "WHEN",
		      .help = "Color verdicts: auto (on a terminal; default), always, never"),

	DEFINE_OPTION("input-file", WEIR_OPT_STRING, CFG, input_file, .metavar = "FILE",
		      .group = "Input",
		      .help = "Read flows from FILE (- for stdin) instead of a server: Weir's\n"
			      "or Hubble's -o json lines; filters and --first/--last apply,\n"
			      "--follow is ignored"),
	END_OPTIONS
};
/* clang-format on */

const struct weir_cmd weir_cmd_observe = {
	.name = "observe",
	.summary = "Observe flows of an agent, the relay, or a file",
	.description =
		"Prints flows as `hubble observe` does. The filters are Hubble's: values of\n"
		"one flag are ORed, different flags are ANDed, either-direction flags (--ip,\n"
		"--pod, --namespace, --label, --port) match the source or the destination,\n"
		"and --not moves the next flag to the deny list. The server filters; with\n"
		"--input-file the same filters apply here.",
	.opts = observe_opts,
	.filter_opts = weir_ff_opts,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* What a run needs once the command line is read. */
struct observe {
	struct observe_cfg cfg;
	json_t *allow, *deny;
	uint64_t since_ns, until_ns;
	uint64_t number; /* 0: all */
	bool first;
	struct weir_printer *printer;
	int out_err; /* a failed write: -EPIPE ends quietly */
	/* --input-file */
	const char *input_name;
	struct weir_filter_set *filters;
	uint64_t printed;
	json_t **ring; /* --last N: the newest N so far */
	size_t ring_n, ring_next;
};

__attribute__((format(printf, 1, 2))) static int usage(const char *fmt, ...)
{
	va_list ap;

	fputs("weir observe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see 'weir observe --help')\n", stderr);
	return WEIR_EXIT_USAGE;
}

/* Hubble's getFlowsRequest() checks and defaults. Returns 0 or an exit status. */
static int observe_prepare(struct observe *ob, struct weir_printer_opts *po)
{
	struct observe_cfg *c = &ob->cfg;
	char err[512] = "";
	const char *color = c->color ? c->color : "auto", *term = getenv("TERM");

	if (c->first && c->last)
		return usage("cannot set both --%s and --%s", "first", "last");
	if (c->first && c->all)
		return usage("cannot set both --%s and --%s", "first", "all");
	if (c->first && c->follow && !c->input_file)
		return usage("cannot set both --%s and --%s", "first", "follow");
	if (c->last && c->all)
		return usage("cannot set both --%s and --%s", "last", "all");
	memset(po, 0, sizeof(*po));
	if (c->output && weir_output_parse(c->output, &po->output))
		return usage("invalid output format: %s", c->output);
	if (po->output == WEIR_OUT_TABLE && c->follow && !c->input_file)
		return usage("table output format is not compatible with follow mode");
	if (c->time_format && weir_timefmt_parse(c->time_format, &po->time_format))
		return usage("invalid --time-format value: %s", c->time_format);
	if (!strcmp(color, "auto"))
		po->color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term &&
			    strcmp(term, "dumb") != 0;
	else if (!strcmp(color, "always") || !strcmp(color, "never"))
		po->color = !strcmp(color, "always");
	else
		return usage("invalid --color value: %s (auto, always, never)", color);
	po->node_name = c->print_node_name;
	po->numeric = c->numeric;
	if (weir_ff_finish(&c->ff, &ob->allow, &ob->deny, err, sizeof(err)))
		return usage("%s", err);
	if (c->since && weir_observe_time_parse(c->since, now_ns(), &ob->since_ns))
		return usage("failed to parse the since time: %s", c->since);
	/* Hubble: --until is not sent with --follow */
	if (c->until && !(c->follow && !c->input_file) &&
	    weir_observe_time_parse(c->until, now_ns(), &ob->until_ns))
		return usage("failed to parse the until time: %s", c->until);
	ob->first = c->first > 0;
	ob->number = ob->first ? c->first : c->last;
	/* Hubble: --all is --last 2^64-1 (so a follow prints the history first);
	 * a file is read whole anyway
	 */
	if (c->all)
		ob->number = c->input_file ? 0 : UINT64_MAX;
	if (!ob->since_ns && !ob->until_ns && !ob->first && !c->all && !c->last && !c->follow &&
	    !c->input_file)
		ob->number = DEFAULT_LAST;
	if (c->input_file && !ob->first && ob->number > INPUT_LAST_MAX)
		return usage("--last must be <= %d with --input-file, got %llu", INPUT_LAST_MAX,
			     (unsigned long long)ob->number);
	return 0;
}

/* ---- printing ---- */

static int print(struct observe *ob, const json_t *resp)
{
	int ret = weir_printer_write(ob->printer, resp);

	if (!ret && ob->cfg.follow && fflush(stdout))
		ret = -EIO;
	if (ret) {
		ob->out_err = errno == EPIPE ? -EPIPE : ret;
		return ob->out_err;
	}
	return 0;
}

/* ---- from a server ---- */

/* GET /v1/flows with Hubble's GetFlowsRequest fields in the query string. */
static char *flows_path(const struct observe *ob)
{
	char num[24], since[WEIR_TIME_STR_LEN], until[WEIR_TIME_STR_LEN], *path = NULL;
	bool first = true;
	size_t len = 0;
	FILE *q;
	int ret = 0;

	q = open_memstream(&path, &len);
	if (!q)
		return NULL;
	fputs("/v1/flows", q);
	if (ob->number) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)ob->number);
		ret = weir_client_query_add(q, "number", num, &first);
	}
	if (!ret && ob->first)
		ret = weir_client_query_add(q, "first", "1", &first);
	if (!ret && ob->cfg.follow)
		ret = weir_client_query_add(q, "follow", "1", &first);
	if (!ret && ob->since_ns)
		ret = weir_client_query_add(
			q, "since", weir_time_format(ob->since_ns, since, sizeof(since)), &first);
	if (!ret && ob->until_ns)
		ret = weir_client_query_add(
			q, "until", weir_time_format(ob->until_ns, until, sizeof(until)), &first);
	ret = ret ?: weir_client_query_add_json(q, "allowlist", ob->allow, &first);
	ret = ret ?: weir_client_query_add_json(q, "denylist", ob->deny, &first);
	if (fclose(q) || ret) {
		free(path);
		return NULL;
	}
	return path;
}

static int live_object(void *ctx, json_t *obj, unsigned long line)
{
	(void)line;
	return print(ctx, obj);
}

static int live_data(void *ctx, const char *data, size_t n)
{
	return weir_jsonstream_feed(ctx, data, n);
}

static int observe_live(struct observe *ob, struct weir_common *common)
{
	struct weir_jsonstream js;
	struct weir_client c;
	char err[512] = "";
	char *path;
	int ret;

	if (weir_common_client(common, &c))
		return WEIR_EXIT_FAIL;
	path = flows_path(ob);
	if (!path) {
		weir_client_release(&c);
		weir_err("out of memory");
		return WEIR_EXIT_FAIL;
	}
	weir_jsonstream_init(&js, live_object, NULL, ob);
	ret = weir_client_stream(&c, path, live_data, &js, NULL, err, sizeof(err));
	if (!ret)
		ret = weir_jsonstream_end(&js);
	free(path);
	if (ret == -EBADMSG)
		snprintf(err, sizeof(err), "%s sent something that is not flow JSON: %s", c.display,
			 js.err);
	weir_jsonstream_release(&js);
	if (!ret && ob->cfg.follow) {
		/* a follow ends only when asked to: the server went away */
		weir_err("%s ended the stream (the server stopped?)", c.display);
		ret = -ECONNRESET;
	} else if (ret == -EINTR || ret == -EPIPE) {
		ret = 0; /* Ctrl-C, or the reader of our output left */
	} else if (ret && ob->out_err) {
		weir_err("writing the output: %s", strerror(-ob->out_err));
	} else if (ret) {
		weir_err("%s", err);
	}
	weir_client_release(&c);
	return ret ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}

/* ---- from a file ---- */

static void input_warn(void *ctx, unsigned long line, const char *what)
{
	const struct observe *ob = ctx;

	weir_err("%s:%lu: %s; skipped", ob->input_name, line, what);
}

static int input_object(void *ctx, json_t *obj, unsigned long line)
{
	struct observe *ob = ctx;
	struct weir_flow_record *r = NULL;
	char err[256] = "";
	bool keep;
	int ret;

	ret = weir_flow_record_from_json(obj, &r, err, sizeof(err));
	if (ret == -ENODATA)
		return 0; /* lost_events, node_status */
	if (ret) {
		input_warn(ob, line, err);
		return 0;
	}
	keep = (!ob->since_ns || r->time_ns >= ob->since_ns) &&
	       (!ob->until_ns || r->time_ns <= ob->until_ns) &&
	       weir_filter_set_match(ob->filters, r);
	weir_flow_record_put(r);
	if (!keep)
		return 0;
	if (ob->ring) {
		json_decref(ob->ring[ob->ring_next]);
		ob->ring[ob->ring_next] = json_incref(obj);
		ob->ring_next = (ob->ring_next + 1) % ob->ring_n;
		return 0;
	}
	ret = print(ob, obj);
	if (ret)
		return ret;
	if (ob->first && ++ob->printed >= ob->number)
		return STOP_READING;
	return 0;
}

static int read_input(struct observe *ob, int fd, struct weir_jsonstream *js)
{
	char buf[READ_BYTES];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		int ret;

		if (weir_stop)
			return -EINTR;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			weir_err("reading %s: %s", ob->input_name, strerror(errno));
			return -errno;
		}
		if (!n)
			return weir_jsonstream_end(js);
		ret = weir_jsonstream_feed(js, buf, (size_t)n);
		if (ret)
			return ret;
	}
}

static int observe_input(struct observe *ob)
{
	struct weir_jsonstream js;
	char err[256] = "";
	int fd = STDIN_FILENO, ret;
	size_t i;

	ob->input_name = strcmp(ob->cfg.input_file, "-") != 0 ? ob->cfg.input_file : "stdin";
	if (weir_filter_set_new(&ob->filters, ob->allow, ob->deny, err, sizeof(err))) {
		weir_err("filters: %s", err);
		return WEIR_EXIT_USAGE;
	}
	if (!ob->first && ob->number) {
		ob->ring_n = ob->number;
		ob->ring = calloc(ob->ring_n, sizeof(json_t *));
		if (!ob->ring) {
			weir_err("out of memory");
			return WEIR_EXIT_FAIL;
		}
	}
	if (strcmp(ob->cfg.input_file, "-") != 0) {
		fd = open(ob->cfg.input_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			weir_err("cannot open %s: %s", ob->cfg.input_file, strerror(errno));
			return WEIR_EXIT_FAIL;
		}
	}
	weir_jsonstream_init(&js, input_object, input_warn, ob);
	ret = read_input(ob, fd, &js);
	weir_jsonstream_release(&js);
	if (fd != STDIN_FILENO)
		close(fd);
	if (ret == STOP_READING || ret == -EINTR)
		ret = 0;
	/* --last: the newest N, oldest first */
	for (i = 0; !ret && ob->ring && i < ob->ring_n; i++) {
		json_t *j = ob->ring[(ob->ring_next + i) % ob->ring_n];

		if (j)
			ret = print(ob, j);
	}
	if (ret == -EPIPE)
		ret = 0;
	else if (ret && ob->out_err)
		weir_err("writing the output: %s", strerror(-ob->out_err));
	return ret ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}

static void observe_release(struct observe *ob)
{
	size_t i;

	for (i = 0; ob->ring && i < ob->ring_n; i++)
		json_decref(ob->ring[i]);
	free(ob->ring);
	weir_filter_set_free(ob->filters);
	json_decref(ob->allow);
	json_decref(ob->deny);
	weir_ff_release(&ob->cfg.ff);
}

int weir_observe_main(struct weir_common *common, int argc, char **argv)
{
	struct observe ob = { 0 };
	struct weir_optset sets[] = {
		{ .opts = observe_opts, .cfg = &ob.cfg },
		{ .opts = weir_ff_opts, .cfg = &ob.cfg.ff, .call = weir_ff_call },
	};
	struct weir_printer_opts po;
	int ret, close_ret, n;

	weir_ff_init(&ob.cfg.ff);
	ret = weir_cmd_parse_sets(&weir_cmd_observe, sets, 2, common, argc, argv, NULL, 0, &n);
	if (ret) {
		observe_release(&ob);
		return ret == WEIR_OPTS_HELP ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
	}
	ret = observe_prepare(&ob, &po);
	if (ret)
		goto out;
	if (ob.cfg.print_raw_filters) {
		ret = weir_ff_print_raw(stdout, ob.allow, ob.deny) ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
		goto out;
	}
	ob.printer = weir_printer_new(stdout, stderr, &po);
	if (!ob.printer) {
		weir_err("out of memory");
		ret = WEIR_EXIT_FAIL;
		goto out;
	}
	ret = ob.cfg.input_file ? observe_input(&ob) : observe_live(&ob, common);
	close_ret = weir_printer_close(ob.printer);
	if (close_ret && !ret && errno != EPIPE) {
		weir_err("writing the output: %s", strerror(-close_ret));
		ret = WEIR_EXIT_FAIL;
	}
out:
	observe_release(&ob);
	return ret;
}
