/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's exporters: its flow logs (lib/flowlog.h) and its IPFIX export
 * (ipfix_export.h), started on the store from the config, stopped after the
 * last records, and reported in /v1/status and /metrics.
 */
#ifndef WEIR_AGENT_EXPORTERS_H
#define WEIR_AGENT_EXPORTERS_H

#include <stdio.h>
#include <jansson.h>

struct weir_agent;
struct weir_agent_exporters;

/* Starts what the config asks for (a->store must exist); 0 or -errno, logged. */
int weir_agent_exporters_start(struct weir_agent *a);
/* Writes or sends every record made so far, then stops. */
void weir_agent_exporters_stop(struct weir_agent *a);
/* Adds "flowlogs" and "ipfix" to a /v1/status object. */
void weir_agent_exporters_status(struct weir_agent *a, json_t *status);
/* The exporters' Prometheus families. */
void weir_agent_exporters_metrics(struct weir_agent *a, FILE *f);

#endif /* WEIR_AGENT_EXPORTERS_H */
