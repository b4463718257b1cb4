/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Load-balancer service documents: the JSON of PUT /v1/services, validated
 * strictly (an invalid document is refused by the name of its field), and
 * the configuration it describes, rendered back.
 *
 * {"name": "web", "vip": "10.96.0.10", "port": 80, "protocol": "TCP",
 *  "table_size": 16381, "affinity_timeout": 0,
 *  "health": {"type": "tcp", "interval_ms": 1000, "timeout_ms": 500,
 *             "rise": 2, "fall": 3, "port": 8080, "path": "/", "send": "ping"},
 *  "backends": [{"ip": "10.0.1.2", "port": 8080, "weight": 100,
 *                "state": "active"}]}
 */
#ifndef WEIR_AGENT_SERVICE_DOC_H
#define WEIR_AGENT_SERVICE_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <weir/lb.h>
#include "flow.h"

#define WEIR_SVC_NAME_MAX	 63 /* [A-Za-z0-9._-]: a path segment and a label value */
#define WEIR_SVC_BACKENDS_MAX	 65536
#define WEIR_SVC_WEIGHT_DEFAULT	 100
#define WEIR_SVC_WEIGHT_MAX	 65535
#define WEIR_SVC_AFFINITY_MAX_S	 86400
#define WEIR_SVC_HEALTH_PATH_MAX 255
#define WEIR_SVC_HEALTH_SEND_MAX 255

enum weir_health_type {
	WEIR_HEALTH_NONE = 0,
	WEIR_HEALTH_TCP = 1,  /* a connect within timeout_ms */
	WEIR_HEALTH_UDP = 2,  /* `send`, and any reply within timeout_ms */
	WEIR_HEALTH_HTTP = 3, /* GET path: a 2xx or 3xx status within timeout_ms */
};

struct weir_health_cfg {
	enum weir_health_type type;
	uint32_t interval_ms; /* between probes of one backend */
	uint32_t timeout_ms;
	uint32_t rise; /* successes in a row that bring a down backend back */
	uint32_t fall; /* failures in a row that take an up backend out */
	uint16_t port; /* 0: the backend's port */
	char path[WEIR_SVC_HEALTH_PATH_MAX + 1];
	char send[WEIR_SVC_HEALTH_SEND_MAX + 1];
};

struct weir_backend_cfg {
	struct weir_addr addr; /* the service's family */
	uint16_t port;	       /* host order */
	uint32_t weight;
	enum weir_lb_backend_state state; /* the administrator's; health checks have their own */
};

struct weir_service_cfg {
	char name[WEIR_SVC_NAME_MAX + 1];
	struct weir_addr vip;
	uint16_t port; /* host order */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t table_size;
	uint32_t affinity_timeout_s; /* 0: none */
	struct weir_health_cfg health;
	struct weir_backend_cfg *backends;
	size_t n_backends;
};

/* Parses doc into cfg (free with weir_service_cfg_release). table_size
 * defaults to default_table_size and may not exceed max_table_size.
 * Returns 0, -EINVAL naming the bad field in err ("backends[2].weight: ..."),
 * or -ENOMEM.
 */
int weir_service_doc_parse(const json_t *doc, uint32_t default_table_size, uint32_t max_table_size,
			   struct weir_service_cfg *cfg, char *err, size_t err_len);
void weir_service_cfg_release(struct weir_service_cfg *cfg);
/* A deep copy of src into dst. */
int weir_service_cfg_copy(struct weir_service_cfg *dst, const struct weir_service_cfg *src);
/* Whether name is a valid service name. */
bool weir_service_name_ok(const char *name);

/* The document for cfg, every default filled in. NULL when out of memory. */
json_t *weir_service_doc_json(const struct weir_service_cfg *cfg);
/* The backend's JSON object {"ip", "port", "weight", "state"}. */
json_t *weir_backend_doc_json(const struct weir_backend_cfg *b);

const char *weir_backend_state_name(enum weir_lb_backend_state s);
/* 0 and the state named s (case-insensitive), or -EINVAL. */
int weir_backend_state_parse(const char *s, enum weir_lb_backend_state *out);
const char *weir_health_type_name(enum weir_health_type t);

#endif /* WEIR_AGENT_SERVICE_DOC_H */
