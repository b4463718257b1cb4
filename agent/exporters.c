// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's exporters: flow logs and IPFIX, from the config. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "exporters.h"
#include "flowlog.h"
#include "ipfix_export.h"
#include "log.h"

#define NS_PER_S 1000000000ULL

struct weir_agent_exporters {
	struct weir_flowlog **flowlogs;
	size_t n_flowlogs;
	struct weir_ipfix_exporter *ipfix;
};

int weir_agent_exporters_start(struct weir_agent *a)
{
	const struct weir_agent_config *cfg = &a->cfg;
	struct weir_agent_exporters *x = calloc(1, sizeof(*x));
	/* A sweep makes at most a record per conversation at once: an exporter
	 * may fall behind by that much before it loses any (slots are pointers;
	 * the records are the store's).
	 */
	size_t queue = cfg->flows_max > cfg->follow_queue ? cfg->flows_max : cfg->follow_queue;
	char err[512] = "";
	int ret;

	if (!x)
		return -ENOMEM;
	a->exporters = x;
	ret = weir_flowlogs_start(&cfg->flowlog, a->store, queue, &x->flowlogs, &x->n_flowlogs, err,
				  sizeof(err));
	if (ret) {
		log_err("flow log: %s", err[0] ? err : strerror(-ret));
		return ret;
	}
	if (cfg->ipfix_collector && *cfg->ipfix_collector) {
		struct weir_ipfix_export_opts io = {
			.collector = cfg->ipfix_collector,
			.tcp = cfg->ipfix_transport == WEIR_IPFIX_TCP,
			.template_refresh_ns = cfg->ipfix_template_refresh_ns,
			.domain_id = cfg->ipfix_domain_id,
			.pen = cfg->ipfix_pen,
			.queue = queue,
			/* a live flow has a record every active timeout */
			.flow_max_age_ns =
				3ULL * (cfg->active_timeout_s + cfg->idle_timeout_s) * NS_PER_S,
			.store = a->store,
		};

		ret = weir_ipfix_export_start(&x->ipfix, &io);
		if (ret)
			return ret;
	}
	return 0;
}

void weir_agent_exporters_stop(struct weir_agent *a)
{
	struct weir_agent_exporters *x = a->exporters;

	if (!x)
		return;
	weir_ipfix_export_stop(x->ipfix);
	weir_flowlogs_stop(x->flowlogs, x->n_flowlogs);
	free(x);
	a->exporters = NULL;
}

void weir_agent_exporters_status(struct weir_agent *a, json_t *status)
{
	struct weir_agent_exporters *x = a->exporters;
	struct weir_ipfix_export_stats st;

	if (!x)
		return;
	json_object_set_new(status, "flowlogs",
			    weir_flowlogs_status_json(x->flowlogs, x->n_flowlogs));
	if (!x->ipfix)
		return;
	weir_ipfix_export_stats(x->ipfix, &st);
	json_object_set_new(status, "ipfix",
			    json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "collector",
				      a->cfg.ipfix_collector, "connected", st.connected, "messages",
				      (json_int_t)st.messages, "records", (json_int_t)st.records,
				      "bytes", (json_int_t)st.bytes, "send_errors",
				      (json_int_t)st.send_errors, "dropped_records",
				      (json_int_t)st.dropped_records, "queue_lost",
				      (json_int_t)st.queue_lost, "template_sends",
				      (json_int_t)st.template_sends, "tracked_flows",
				      (json_int_t)st.tracked_flows));
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, v);
}

void weir_agent_exporters_metrics(struct weir_agent *a, FILE *f)
{
	struct weir_agent_exporters *x = a ? a->exporters : NULL;
	struct weir_ipfix_export_stats st;

	if (!x)
		return;
	weir_flowlogs_metrics(x->flowlogs, x->n_flowlogs, f);
	if (!x->ipfix)
		return;
	weir_ipfix_export_stats(x->ipfix, &st);
	counter(f, "weir_ipfix_messages_total", "IPFIX messages sent.", st.messages);
	counter(f, "weir_ipfix_records_total", "IPFIX data records sent.", st.records);
	counter(f, "weir_ipfix_bytes_total", "IPFIX message bytes sent.", st.bytes);
	counter(f, "weir_ipfix_send_errors_total",
		"IPFIX sends or connections to the collector that failed.", st.send_errors);
	counter(f, "weir_ipfix_dropped_records_total",
		"IPFIX data records not sent: a failed send, no connection.", st.dropped_records);
	counter(f, "weir_ipfix_lost_total",
		"Flow records the IPFIX exporter lost on its full queue.", st.queue_lost);
	fprintf(f,
		"# HELP weir_ipfix_connected Whether the IPFIX exporter has a connection "
		"(UDP: always).\n# TYPE weir_ipfix_connected gauge\nweir_ipfix_connected %d\n",
		st.connected ? 1 : 0);
}
