/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The endpoint policy engine: the policies in force (by name), resolved
 * against the endpoint cache into identities, the ipcache and one policy
 * map per endpoint address, and kept in a state file so an agent restart
 * finds them again.
 *
 * Updates are all or nothing: a request's documents are validated whole
 * before anything changes, and each endpoint's policy map is built aside
 * and swapped in with one map update (include/weir/policy.h), so the
 * datapath sees the old policy or the new one. Thread-safe: HTTP threads
 * update, the endpoint cache's change callback resyncs.
 */
#ifndef WEIR_AGENT_POLICY_H
#define WEIR_AGENT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct weir_endpoints;
struct weir_policy_engine;

struct weir_policy_engine_opts {
	struct weir_endpoints *endpoints;
	int ipcache_fd;	       /* weir_ipcache; -1: no datapath (tests) */
	int eps_fd;	       /* weir_policy_eps */
	int state_fd;	       /* weir_policy_state */
	const char *state_dir; /* policy.json lives here; NULL: nothing kept */
	/* The endpoint cache is not whole yet (the Kubernetes pod list is to
	 * come): the maps stay as they are — pinned, the last agent's — and
	 * nothing is synced until weir_policy_engine_release(). A sync before
	 * would find the pods unknown and take their policy away (fail open).
	 */
	bool hold;
};

#define WEIR_POLICY_STATE_FILE "policy.json"

/* Loads the state file (when there is one) and applies it. */
int weir_policy_engine_new(struct weir_policy_engine **out,
			   const struct weir_policy_engine_opts *opts);
void weir_policy_engine_free(struct weir_policy_engine *e);

/* PUT: body is one policy document, a list of them, or {"policies": [...]};
 * each replaces the policy of its name. -EINVAL (nothing changed) with the
 * bad field named in err; other errors say what failed.
 */
int weir_policy_engine_put(struct weir_policy_engine *e, const json_t *body, char *err,
			   size_t err_len);
/* -ENOENT when there is no such policy. */
int weir_policy_engine_delete(struct weir_policy_engine *e, const char *name, char *err,
			      size_t err_len);
/* name NULL: {"policies": [doc, ...]}; else the document, or NULL if unknown. */
json_t *weir_policy_engine_get(struct weir_policy_engine *e, const char *name);
/* Re-resolves every policy against the endpoint cache (its change callback).
 * Held (opts.hold), it does nothing until released.
 */
void weir_policy_engine_resync(void *engine);
/* The endpoint cache is whole: ends a hold and syncs; after that, a resync. */
void weir_policy_engine_release(void *engine);

struct weir_policy_engine_stats {
	size_t policies;
	size_t endpoints; /* endpoint addresses with a policy map, at the last sync */
	bool held;	  /* waiting for the endpoint cache to be whole */
};

void weir_policy_engine_stats(struct weir_policy_engine *e, struct weir_policy_engine_stats *st);

#endif /* WEIR_AGENT_POLICY_H */
