/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* `weir observe` filter flags to Hubble FlowFilters, the way `hubble observe`
 * builds them (its flows_filter.go):
 * - every flag adds to a "left" and a "right" filter; an either-direction
 *   flag (--ip, --pod, --namespace, --label, --service, --workload,
 *   --identity, --port) puts its source-side
 *   criterion on the left and its destination-side one on the right, every
 *   other flag goes on both; the two are sent as two allow filters (ORed),
 *   or as one when they come out equal;
 * - --not sends the next flag to the deny list, built the same way; several
 *   negated flags are ANDed in one deny filter;
 * - namespaces (-n, --from-namespace, --to-namespace, -A, ...) are applied
 *   last, to the pod criteria or as "ns/" pod filters of their own;
 * - some flag pairs conflict, with Hubble's one-line message;
 * - --allowlist/--denylist add raw FlowFilter JSON after the flags' filters.
 * Values are checked as they come, by the filter code in lib/ itself.
 */
#ifndef WEIR_CLI_OBSERVE_FLAGS_H
#define WEIR_CLI_OBSERVE_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "opts.h"

/* The filter flags, by Hubble's names (weir_ff_name()). */
enum weir_ff {
	WEIR_FF_NOT,
	WEIR_FF_IP,
	WEIR_FF_FROM_IP,
	WEIR_FF_TO_IP,
	WEIR_FF_IPV4,
	WEIR_FF_IPV6,
	WEIR_FF_IP_VERSION,
	WEIR_FF_POD,
	WEIR_FF_FROM_POD,
	WEIR_FF_TO_POD,
	WEIR_FF_NAMESPACE,
	WEIR_FF_FROM_NAMESPACE,
	WEIR_FF_TO_NAMESPACE,
	WEIR_FF_ALL_NAMESPACES,
	WEIR_FF_FROM_ALL_NAMESPACES,
	WEIR_FF_TO_ALL_NAMESPACES,
	WEIR_FF_LABEL,
	WEIR_FF_FROM_LABEL,
	WEIR_FF_TO_LABEL,
	WEIR_FF_SERVICE,
	WEIR_FF_FROM_SERVICE,
	WEIR_FF_TO_SERVICE,
	WEIR_FF_WORKLOAD,
	WEIR_FF_FROM_WORKLOAD,
	WEIR_FF_TO_WORKLOAD,
	WEIR_FF_IDENTITY,
	WEIR_FF_FROM_IDENTITY,
	WEIR_FF_TO_IDENTITY,
	WEIR_FF_PORT,
	WEIR_FF_FROM_PORT,
	WEIR_FF_TO_PORT,
	WEIR_FF_PROTOCOL,
	WEIR_FF_TCP_FLAGS,
	WEIR_FF_VERDICT,
	WEIR_FF_DROP_REASON_DESC,
	WEIR_FF_TRAFFIC_DIRECTION,
	WEIR_FF_NODE_NAME,
	WEIR_FF_INTERFACE,
	WEIR_FF_ALLOWLIST,
	WEIR_FF_DENYLIST,
	WEIR_FF_MAX,
};

/* FlowFilter fields the flags set, in flow.proto's order. */
enum weir_ff_field {
	WEIR_FLD_SOURCE_IP,
	WEIR_FLD_SOURCE_POD,
	WEIR_FLD_SOURCE_LABEL,
	WEIR_FLD_SOURCE_SERVICE,
	WEIR_FLD_SOURCE_WORKLOAD,
	WEIR_FLD_DESTINATION_IP,
	WEIR_FLD_DESTINATION_POD,
	WEIR_FLD_DESTINATION_LABEL,
	WEIR_FLD_DESTINATION_SERVICE,
	WEIR_FLD_DESTINATION_WORKLOAD,
	WEIR_FLD_TRAFFIC_DIRECTION,
	WEIR_FLD_VERDICT,
	WEIR_FLD_DROP_REASON_DESC,
	WEIR_FLD_INTERFACE,
	WEIR_FLD_PROTOCOL,
	WEIR_FLD_SOURCE_PORT,
	WEIR_FLD_DESTINATION_PORT,
	WEIR_FLD_SOURCE_IDENTITY,
	WEIR_FLD_DESTINATION_IDENTITY,
	WEIR_FLD_TCP_FLAGS,
	WEIR_FLD_NODE_NAME,
	WEIR_FLD_IP_VERSION,
	WEIR_FLD_MAX,
};

/* One side of the allow or the deny list while flags come in. */
struct weir_ff_tracker {
	json_t *left[WEIR_FLD_MAX]; /* arrays; NULL: unset */
	json_t *right[WEIR_FLD_MAX];
	bool has_left, has_right;
	json_t *ns, *src_ns, *dst_ns; /* namespace lists; "" is any namespace */
	uint64_t changed;	      /* 1 << enum weir_ff for each flag given */
};

struct weir_ff_set {
	struct weir_ff_tracker allow, deny;
	bool has_allow, has_deny;
	bool negate_next;
	json_t *raw_allow, *raw_deny; /* arrays of FlowFilter objects */
};

const char *weir_ff_name(enum weir_ff flag);

/* The filter flags as an option table (cli/opts.h), for every command that
 * filters flows (observe, top); its set's cfg is the command's
 * struct weir_ff_set and its call weir_ff_call().
 */
extern const struct weir_opt weir_ff_opts[];
int weir_ff_call(void *set, const struct weir_opt *o, const char *value, char *err, size_t err_len);

void weir_ff_init(struct weir_ff_set *s);
void weir_ff_release(struct weir_ff_set *s);
/* One flag with its value (NULL for -4, -6, -A, --not, ...). Returns 0, or
 * -EINVAL with a one-line message in err.
 */
int weir_ff_add(struct weir_ff_set *s, enum weir_ff flag, const char *value, char *err,
		size_t err_len);
/* The allow and deny lists (new references; NULL when empty), checked by the
 * filter code. Returns 0 or -EINVAL (a trailing --not, a bad raw filter).
 */
int weir_ff_finish(struct weir_ff_set *s, json_t **allow, json_t **deny, char *err, size_t err_len);

/* --print-raw-filters, as `hubble observe` prints them: YAML with each
 * filter as a JSON string, ready for --allowlist/--denylist.
 */
int weir_ff_print_raw(FILE *out, const json_t *allow, const json_t *deny);

/* --since/--until: RFC 3339 (or its day, hour and minute forms, as Hubble
 * takes them) or an age before now_ns ("5m", "1h30m"). Returns 0 or -EINVAL.
 */
int weir_observe_time_parse(const char *s, uint64_t now_ns, uint64_t *out_ns);

#endif /* WEIR_CLI_OBSERVE_FLAGS_H */
