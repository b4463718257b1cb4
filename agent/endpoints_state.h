/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* API registrations (POST /v1/endpoints, what weir-cni does on ADD) across
 * restarts of the agent: STATE_DIR/endpoints.json, rewritten (state_file.h)
 * after every register and unregister, read back at start.
 *
 *   {"version": 1, "endpoints": [{"ips": [...], "namespace": "shop",
 *     "pod_name": "cart-1", "interface": "veth1a2b", "container_id": "...",
 *     "pod_uid": "...", ...}, ...]}
 *
 * Each element is a registration as weir_endpoints_registrations() gives it.
 */
#ifndef WEIR_AGENT_ENDPOINTS_STATE_H
#define WEIR_AGENT_ENDPOINTS_STATE_H

#include <stdbool.h>
#include <stddef.h>

#define WEIR_ENDPOINTS_STATE_FILE    "endpoints.json"
#define WEIR_ENDPOINTS_STATE_VERSION 1

struct weir_endpoints;
struct weir_endpoints_state;

/* The state of the registrations in dir (created when first written). */
int weir_endpoints_state_new(struct weir_endpoints_state **out, const char *dir);
void weir_endpoints_state_free(struct weir_endpoints_state *st);
const char *weir_endpoints_state_path(const struct weir_endpoints_state *st);

/* Whether the interface a registration names is still on the node. */
typedef bool (*weir_iface_exists_fn)(void *ctx, const char *ifname);

/* Registers the file's registrations in eps. One whose interface is gone
 * (the pod went away while the agent was down, and its DEL with it) is
 * dropped, with a log line; so is one that is not a valid registration. When
 * any was dropped the file is rewritten. No file is no registrations; a file
 * that cannot be read as a state file is logged, moved aside (.bad) and the
 * agent starts without registrations. Returns how many were restored, or
 * -ENOMEM.
 */
int weir_endpoints_state_restore(struct weir_endpoints_state *st, struct weir_endpoints *eps,
				 weir_iface_exists_fn exists, void *ctx);

/* Writes eps's registrations now: 0, or -errno (logged). */
int weir_endpoints_state_save(struct weir_endpoints_state *st, struct weir_endpoints *eps);

/* From now on every change of eps's registrations is written (save). Stop it
 * with weir_endpoints_on_registrations(eps, NULL, NULL) before freeing st.
 */
void weir_endpoints_state_follow(struct weir_endpoints_state *st, struct weir_endpoints *eps);

#endif /* WEIR_AGENT_ENDPOINTS_STATE_H */
