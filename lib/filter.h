/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The flow filter language, implemented once for agent, relay and CLI, with
 * Hubble's semantics:
 * - a filter (Hubble's FlowFilter) matches when every field it sets matches;
 *   the values listed for one field are alternatives (OR);
 * - a request carries an allow list and a deny list of filters: a record is
 *   returned when it matches some allow filter (or the allow list is empty)
 *   and no deny filter;
 * - time bounds (since, until) and counts (number, first) belong to the
 *   request, not to a filter.
 *
 * Filters travel as Hubble's FlowFilter JSON (proto field names):
 *   source_ip, destination_ip          ["10.0.0.1", "10.0.0.0/8", "fd00::/64"]
 *   source_pod, destination_pod        ["ns/name-prefix", "ns/"]
 *   source_label, destination_label    label selectors: "app=web", "app in (a,b)", "!debug"
 *   source_port, destination_port      ["80"]
 *   protocol                           ["tcp", "udp", "icmp", "icmpv6", "sctp"]
 *   verdict                            ["FORWARDED", "DROPPED"]
 *   drop_reason_desc                   ["POLICY_DENIED"]
 *   traffic_direction                  ["INGRESS", "EGRESS"]
 *   node_name                          ["node-*"] (globs)
 *   tcp_flags                          [{"SYN": true, "ACK": true}]: all flags of one entry
 *   ip_version                         ["IPv4", "IPv6"]
 *   interface                          [{"name": "veth0"}, {"index": 7}]
 *   reply                              [true] or [false] (Hubble's is_reply)
 *   source_service, destination_service ["web", "/web"] name prefixes; Weir's
 *                                      services have no namespace, so "ns/web"
 *                                      matches nothing, and records carry no
 *                                      source service
 *   source_workload, destination_workload [{"kind": "Deployment", "name": "web"}]
 *                                      (either may be left out: any)
 *   source_identity, destination_identity [2] numeric identities: Hubble's
 *                                      reserved host 1 and world 2; pods 0
 * An unknown field or a malformed value is an error, never ignored.
 */
#ifndef WEIR_FILTER_H
#define WEIR_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "flow.h"

struct weir_filter_set;

/* allow and deny are JSON arrays of FlowFilter objects, or NULL for none.
 * Returns 0, or -EINVAL with a one-line reason naming the bad field in err.
 */
int weir_filter_set_new(struct weir_filter_set **out, const json_t *allow, const json_t *deny,
			char *err, size_t err_len);
void weir_filter_set_free(struct weir_filter_set *fs);
bool weir_filter_set_match(const struct weir_filter_set *fs, const struct weir_flow_record *r);

/* A scan of many records: weir_filter_set_match()'s answers, with each
 * endpoint's part of them (pod, labels, workload, identity) remembered by the
 * endpoint object's address. Records of one pod share one endpoint object, so
 * a scan reads each pod's names once instead of once per record. A scan whose
 * records do not share endpoints stops remembering after a trial.
 *
 * The caller keeps every endpoint it has passed alive, or calls
 * weir_filter_scan_forget() before passing records once one may have been
 * freed: a freed address can come back as another endpoint.
 */
struct weir_filter_scan;
/* fs NULL matches every record. 0 or -ENOMEM. */
int weir_filter_scan_new(struct weir_filter_scan **out, const struct weir_filter_set *fs);
bool weir_filter_scan_match(struct weir_filter_scan *sc, const struct weir_flow_record *r);
/* False when no record from src to dst can match, whatever its own fields:
 * a first look that needs the endpoints' addresses only (true when the scan
 * cannot tell).
 */
bool weir_filter_scan_may_match(struct weir_filter_scan *sc, const struct weir_endpoint *src,
				const struct weir_endpoint *dst);
void weir_filter_scan_forget(struct weir_filter_scan *sc);
void weir_filter_scan_free(struct weir_filter_scan *sc);

/* A flows request: the filters plus Hubble's GetFlowsRequest fields. */
struct weir_flow_request {
	struct weir_filter_set *filters; /* never NULL after parsing */
	uint64_t since_ns;		 /* CLOCK_REALTIME; 0: unbounded */
	uint64_t until_ns;		 /* 0: unbounded */
	uint64_t number;		 /* how many records; 0: all (and the default for follow) */
	bool first;			 /* the oldest `number` instead of the newest */
	bool follow;			 /* then stream new records as they come */
	json_t *allow;			 /* collected by _set(), consumed by _finish() */
	json_t *deny;
};

/* From a query string's decoded key/value pairs (as an HTTP server hands them
 * over): number, first, follow, since, until (RFC 3339 or a relative age like
 * "5m", "2h", "1d"), allowlist / denylist (JSON arrays of FlowFilter; Hubble's
 * older names whitelist / blacklist are accepted too). Returns 0 or -EINVAL
 * with the bad key named in err.
 */
int weir_flow_request_set(struct weir_flow_request *req, const char *key, const char *value,
			  char *err, size_t err_len);
/* Call once every key is set: builds req->filters from the collected lists. */
int weir_flow_request_finish(struct weir_flow_request *req, char *err, size_t err_len);
void weir_flow_request_release(struct weir_flow_request *req);

/* "RFC 3339" or a relative age ("30s", "5m", "2h", "1d") before now_ns.
 * Returns 0 and the CLOCK_REALTIME ns in *out_ns, or -EINVAL.
 */
int weir_time_parse(const char *s, uint64_t now_ns, uint64_t *out_ns);

#endif /* WEIR_FILTER_H */
