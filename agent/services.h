/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's load-balancer services: the table of services and their
 * backends behind /v1/services, written through to the datapath's maps
 * (lb_maps.h) and to a state file.
 *
 * Ids: each service and each (service, backend) pair has an id the datapath
 * uses (Maglev tables, conntrack, statistics). A backend keeps its id while
 * it stays in its service, across updates and agent restarts (the state file
 * keeps them), so conntrack entries keep naming the right backend; a freed
 * id is reused only after every other id has been handed out.
 *
 * Restart: the pinned maps are the truth for the packets in flight and the
 * state file is the truth for the configuration. On start the agent reads the
 * state file, writes every service again with its old ids (the same inputs
 * give the same Maglev table, so no flow moves) and removes from the maps
 * what the file does not name.
 *
 * Locking: one mutex; HTTP threads apply documents, the main thread's health
 * checker reports backends up and down. Every change is applied in an order
 * the datapath can read at any moment: new backends first, then the new
 * Maglev table swapped in whole, then the service entry, then backends that
 * left the table are marked or removed.
 */
#ifndef WEIR_AGENT_SERVICES_H
#define WEIR_AGENT_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "service_doc.h"

struct weir_services;
struct weir_lb_maps;

struct weir_services_opts {
	const struct weir_lb_maps *maps; /* copied; NULL: no datapath (tests) */
	uint32_t services_max;		 /* service ids 1..this */
	uint32_t backends_max;		 /* backend ids 1..this */
	uint32_t table_size;		 /* default Maglev table size */
	uint32_t seed;			 /* Maglev seed: the same on every node */
	const char *state_file;		 /* NULL or "": none */
};

int weir_services_new(struct weir_services **out, const struct weir_services_opts *opts);
void weir_services_free(struct weir_services *s);

/* Reads the state file (missing is fine) and reconciles the maps with it. */
int weir_services_restore(struct weir_services *s, char *err, size_t err_len);

/* Creates or replaces the service doc describes. name, when not NULL, must
 * match the document's. Returns 0 (*created says which), -EINVAL naming the
 * field in err, -EEXIST when another service has the same VIP, port and
 * protocol, -ENOSPC when ids run out, or -errno from the maps.
 */
int weir_services_put(struct weir_services *s, const char *name, const json_t *doc, bool *created,
		      char *err, size_t err_len);
/* -ENOENT when there is no such service. */
int weir_services_delete(struct weir_services *s, const char *name);
/* name NULL: {"services": [...]}; else the one service's object, or NULL
 * with *found false. Each service is its document plus "id", each backend's
 * "id", "health" and statistics.
 */
json_t *weir_services_json(struct weir_services *s, const char *name, bool *found);
/* The service's document with its ids and health, no statistics: what a
 * PUT answers. NULL when there is no such service.
 */
json_t *weir_services_applied(struct weir_services *s, const char *name);
size_t weir_services_count(struct weir_services *s);

/* What the health checker probes. */
struct weir_lb_target {
	char svc[WEIR_SVC_NAME_MAX + 1];
	struct weir_addr addr;
	uint16_t port;	     /* the backend's */
	uint16_t probe_port; /* health.port, or the backend's */
	struct weir_health_cfg health;
};

/* The backends with health checks; *gen changes whenever the set might. */
int weir_services_targets(struct weir_services *s, struct weir_lb_target **out, size_t *n,
			  uint64_t *gen);
uint64_t weir_services_generation(struct weir_services *s);
/* The health checker's verdict on a backend; rebuilds the service's table
 * when it changes. -ENOENT when the backend is gone.
 */
int weir_services_set_health(struct weir_services *s, const char *svc, const struct weir_addr *a,
			     uint16_t port, bool up);

/* Names for flow records and metrics: the service of svc_id, and the
 * address and port of backend_id. false when unknown.
 */
bool weir_services_name_of(struct weir_services *s, uint32_t svc_id, char *name, size_t len);
bool weir_services_backend_of(struct weir_services *s, uint32_t backend_id, struct weir_addr *addr,
			      uint16_t *port);

/* For a flow record of key k: when k goes to a service's frontend (or comes
 * back from it, reverse-NATed), the service's name and, from the conntrack
 * entry, the backend it was translated to, into r. Returns 1 when it did, 0
 * for a flow no service knows, -ENOMEM.
 */
struct weir_flow_key;
int weir_services_flow(struct weir_services *s, const struct weir_flow_key *k,
		       struct weir_flow_record *r);

/* Health transitions since start: [0] to down, [1] to up. */
void weir_services_health_transitions(struct weir_services *s, uint64_t out[2]);

#endif /* WEIR_AGENT_SERVICES_H */
