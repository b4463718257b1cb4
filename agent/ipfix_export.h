/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPFIX export: follows the agent's store on a thread of its own and sends
 * each flow's active-timeout and end records to a collector (RFC 7011), over
 * UDP or TCP, with delta counters (lib/flow_delta.h) and the encoding of
 * lib/ipfix.h. UDP re-sends the templates every template_refresh; TCP sends
 * them on every connection, and reconnects with backoff. The daemon never
 * waits for it: a slow or absent collector makes its queue overflow, which
 * is counted, as are records that could not be sent.
 */
#ifndef WEIR_AGENT_IPFIX_EXPORT_H
#define WEIR_AGENT_IPFIX_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct weir_store;
struct weir_ipfix_exporter;

#define WEIR_IPFIX_TEMPLATE_REFRESH_DEFAULT_NS (60ULL * 1000000000ULL)
#define WEIR_IPFIX_DOMAIN_DEFAULT	       1

struct weir_ipfix_export_opts {
	const char *collector; /* "host:port", "[v6]:port" */
	bool tcp;
	uint64_t template_refresh_ns; /* UDP: templates re-sent this often */
	uint32_t domain_id;	      /* observation domain */
	uint32_t pen;		      /* enterprise number of Weir's elements */
	size_t msg_max_bytes;	      /* 0: WEIR_IPFIX_UDP_MSG_MAX (UDP), 65535 (TCP) */
	size_t queue;		      /* records it may fall behind (0: the store's default) */
	uint64_t flow_max_age_ns;     /* a flow without a record this long is forgotten */
	struct weir_store *store;
};

struct weir_ipfix_export_stats {
	uint64_t messages;	  /* messages sent */
	uint64_t records;	  /* data records sent */
	uint64_t bytes;		  /* message bytes sent */
	uint64_t send_errors;	  /* sends (or connections) that failed */
	uint64_t dropped_records; /* data records lost: a failed send, no connection */
	uint64_t queue_lost;	  /* flow records lost on the exporter's full queue */
	uint64_t template_sends;  /* messages that carried the templates */
	uint64_t tracked_flows;	  /* flows whose last exported counters are kept */
	bool connected;		  /* TCP: a connection is up; UDP: always */
};

/* Resolves the collector, opens the socket (UDP) and starts the thread. */
int weir_ipfix_export_start(struct weir_ipfix_exporter **out,
			    const struct weir_ipfix_export_opts *opts);
/* Sends what is queued (records made before the call), then stops. */
void weir_ipfix_export_stop(struct weir_ipfix_exporter *x);
void weir_ipfix_export_stats(struct weir_ipfix_exporter *x, struct weir_ipfix_export_stats *st);

#endif /* WEIR_AGENT_IPFIX_EXPORT_H */
