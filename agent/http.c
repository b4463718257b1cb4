// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's HTTP API: libweir's server (lib/http_server.h: /v1/flows from
 * the agent's store, listeners, errors, the token) with the agent's status,
 * its metrics and its endpoint routes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <jansson.h>
#include <microhttpd.h>
#include "agent.h"
#include "endpoints.h"
#include "exporters.h"
#include "http.h"
#include "http_server.h"
#include "k8s_watch.h"
#include "log.h"
#include "metrics.h"
#include "pod_attach.h"
#include "policy.h"
#include "prefilter_http.h"
#include "services.h"
#include "store.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

#define ERR_LEN 256

struct weir_http {
	struct weir_agent *a;
	struct weir_http_server *server;
};

/* The Kubernetes watch, under "k8s" in /v1/status. */
static json_t *k8s_json(struct weir_k8s *k)
{
	struct weir_k8s_stats st;

	weir_k8s_stats(k, &st);
	return json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "synced", st.synced,
			 "resource_version", st.resource_version, "lists", (json_int_t)st.lists,
			 "watches", (json_int_t)st.watches, "events", (json_int_t)st.events,
			 "expired", (json_int_t)st.expired, "errors", (json_int_t)st.errors,
			 "last_error", st.last_error);
}

/* GET /v1/status: Hubble's ServerStatus fields, then Weir's. */
static json_t *status_json(void *ctx)
{
	struct weir_agent *a = ctx;
	struct weir_agent_status st;
	struct weir_store_stats ss;
	json_t *j;

	weir_agent_status(a, &st);
	weir_store_stats(a->store, &ss);
	j = json_pack("{s:I,s:I,s:I,s:I,s:s,s:s}", "num_flows", (json_int_t)st.num_flows,
		      "max_flows", (json_int_t)st.max_flows, "seen_flows",
		      (json_int_t)st.seen_flows, "uptime_ns", (json_int_t)st.uptime_ns, "version",
		      WEIR_VERSION, "node_name", a->cfg.node_name ? a->cfg.node_name : "");
	if (!j)
		return NULL;
	json_object_set_new(j, "lost_events", json_integer((json_int_t)st.lost_events));
	json_object_set_new(j, "follower_lost", json_integer((json_int_t)st.follower_lost));
	json_object_set_new(j, "follow_streams", json_integer((json_int_t)ss.followers));
	json_object_set_new(j, "flow_table_entries",
			    json_integer((json_int_t)st.flow_table_entries));
	json_object_set_new(j, "flow_table_max", json_integer((json_int_t)st.flow_table_max));
	json_object_set_new(j, "flow_evictions", json_integer((json_int_t)st.flow_evictions));
	json_object_set_new(j, "flow_insert_failed",
			    json_integer((json_int_t)st.flow_insert_failed));
	json_object_set_new(j, "active_flows", json_integer((json_int_t)st.active_flows));
	json_object_set_new(j, "endpoints", json_integer((json_int_t)st.endpoints));
	json_object_set_new(j, "rss_bytes", json_integer((json_int_t)st.rss_bytes));
	weir_agent_exporters_status(a, j);
	if (a->k8s)
		json_object_set_new(j, "k8s", k8s_json(a->k8s));
	if (a->policy) {
		struct weir_policy_engine_stats ps;

		weir_policy_engine_stats(a->policy, &ps);
		json_object_set_new(j, "policy",
				    json_pack("{s:I, s:I, s:b}", "policies",
					      (json_int_t)ps.policies, "endpoints",
					      (json_int_t)ps.endpoints, "held", ps.held));
	}
	return j;
}

static int metrics_text(void *ctx, char **text, size_t *len)
{
	struct weir_agent *a = ctx;

	return weir_metrics_render(a->metrics, a, text, len);
}

/* Each registration with an interface says whether the kernel has Weir's
 * filters on it (what the CNI plugin's CHECK asks).
 */
static void mark_attached(json_t *all)
{
	const char *iface;
	size_t i;
	json_t *e;

	json_array_foreach(all, i, e)
	{
		iface = json_string_value(json_object_get(e, "interface"));
		if (iface)
			json_object_set_new(e, "attached", json_boolean(weir_tc_attached(iface)));
	}
}

/* A registration naming an interface: TC goes on it through the main loop.
 * If that fails the registration is taken back, so the plugin's error leaves
 * nothing behind.
 */
static enum MHD_Result endpoint_attach(struct weir_agent *a, struct MHD_Connection *c, json_t *doc)
{
	const char *iface = json_string_value(json_object_get(doc, "interface"));
	const char *ns = json_string_value(json_object_get(doc, "namespace"));
	const char *pod = json_string_value(json_object_get(doc, "pod_name"));
	const char *cid = json_string_value(json_object_get(doc, "container_id"));
	int rc;

	rc = weir_pod_attach_request(a->pod_attach, iface, true, WEIR_POD_ATTACH_TIMEOUT_MS);
	if (!rc) {
		json_object_set_new(doc, "attached", json_true());
		return weir_http_respond_json(c, MHD_HTTP_CREATED, doc);
	}
	weir_endpoints_unregister_container(a->endpoints, ns, pod, cid, NULL, 0);
	json_decref(doc);
	log_warn("http: attach tc for namespace=%s pod=%s interface=%s: %s", ns, pod, iface,
		 strerror(-rc));
	if (rc == -ENODEV)
		return weir_http_respond_error(c, MHD_HTTP_UNPROCESSABLE_CONTENT,
					       "interface %s does not exist on this node", iface);
	if (rc == -ETIMEDOUT)
		return weir_http_respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					       "attach tc to %s: the agent is busy, try again",
					       iface);
	return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "attach tc to %s: %s",
				       iface, strerror(-rc));
}

/* GET and POST /v1/endpoints */
static enum MHD_Result endpoints_handle(void *ctx, struct MHD_Connection *c,
					const struct weir_http_request *rq)
{
	struct weir_agent *a = ctx;
	char err[ERR_LEN] = "";
	json_error_t jerr;
	json_t *doc;
	int rc;

	if (strcmp(rq->method, "POST") != 0) {
		doc = weir_endpoints_to_json(a->endpoints);
		if (!doc)
			return MHD_NO;
		mark_attached(doc);
		return weir_http_respond_json(c, MHD_HTTP_OK, doc);
	}
	if (!rq->len)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "empty body: POST an endpoint document");
	doc = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "bad JSON at line %d column %d: %s", jerr.line,
					       jerr.column, jerr.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "bad endpoint document: expected a JSON object");
	}
	rc = weir_endpoints_register(a->endpoints, doc, err, sizeof(err));
	if (rc == -EINVAL) {
		json_decref(doc);
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "bad endpoint document: %s",
					       err[0] ? err : "invalid");
	}
	if (rc) {
		json_decref(doc);
		log_warn("http: register endpoint: %s", strerror(-rc));
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					       "register endpoint: %s", strerror(-rc));
	}
	if (json_object_get(doc, "interface") && a->pod_attach)
		return endpoint_attach(a, c, doc);
	return weir_http_respond_json(c, MHD_HTTP_CREATED, doc);
}

/* /v1/endpoints/NAMESPACE/POD: both parts non-empty, nothing after POD. */
static bool endpoint_path(const char *url, char *ns, char *pod, size_t len)
{
	const char *p = url + strlen("/v1/endpoints/"), *slash = strchr(p, '/');
	size_t ns_len;

	if (!slash || slash == p || !slash[1] || strchr(slash + 1, '/'))
		return false;
	ns_len = (size_t)(slash - p);
	if (ns_len >= len || strlen(slash + 1) >= len)
		return false;
	memcpy(ns, p, ns_len);
	ns[ns_len] = '\0';
	snprintf(pod, len, "%s", slash + 1);
	return true;
}

/* DELETE /v1/endpoints/NAMESPACE/POD[?container_id=ID]: with container_id,
 * only that container's registration goes (409 if the pod was registered
 * again since). TC comes off the registration's interface unless the agent
 * attaches it anyway (--tc, --tc-pattern) or another registration names it.
 */
static enum MHD_Result endpoint_delete(void *ctx, struct MHD_Connection *c,
				       const struct weir_http_request *rq)
{
	struct weir_agent *a = ctx;
	char ns[256], pod[256], iface[IF_NAMESIZE];
	const char *cid;
	int rc;

	if (!endpoint_path(rq->url, ns, pod, sizeof(ns)))
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "unknown path %s", rq->url);
	cid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "container_id");
	rc = weir_endpoints_unregister_container(a->endpoints, ns, pod, cid, iface, sizeof(iface));
	if (rc == -ENOENT)
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND,
					       "endpoint %s/%s is not registered", ns, pod);
	if (rc == -ESTALE)
		return weir_http_respond_error(c, MHD_HTTP_CONFLICT,
					       "endpoint %s/%s is registered by another container",
					       ns, pod);
	if (!rc && iface[0] && a->pod_attach && !weir_endpoints_has_interface(a->endpoints, iface))
		weir_pod_attach_request(a->pod_attach, iface, false, WEIR_POD_ATTACH_TIMEOUT_MS);
	if (rc)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					       "unregister %s/%s: %s", ns, pod, strerror(-rc));
	return weir_http_respond_empty(c, MHD_HTTP_NO_CONTENT);
}

/* GET and PUT /v1/policy */
static enum MHD_Result policy_handle(void *ctx, struct MHD_Connection *c,
				     const struct weir_http_request *rq)
{
	struct weir_agent *a = ctx;
	char err[ERR_LEN] = "";
	json_error_t jerr;
	json_t *doc;
	int rc;

	if (strcmp(rq->method, "PUT") != 0) {
		doc = weir_policy_engine_get(a->policy, NULL);
		return doc ? weir_http_respond_json(c, MHD_HTTP_OK, doc) : MHD_NO;
	}
	if (!rq->len)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "empty body: PUT a policy document");
	doc = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "bad JSON at line %d column %d: %s", jerr.line,
					       jerr.column, jerr.text);
	rc = weir_policy_engine_put(a->policy, doc, err, sizeof(err));
	json_decref(doc);
	if (rc == -EINVAL)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "bad policy document: %s",
					       err);
	if (rc)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "policy: %s",
					       err[0] ? err : strerror(-rc));
	doc = weir_policy_engine_get(a->policy, NULL);
	return doc ? weir_http_respond_json(c, MHD_HTTP_OK, doc) : MHD_NO;
}

/* GET and DELETE /v1/policy/NAME */
static enum MHD_Result policy_name_handle(void *ctx, struct MHD_Connection *c,
					  const struct weir_http_request *rq)
{
	const char *name = rq->url + strlen("/v1/policy/");
	struct weir_agent *a = ctx;
	char err[ERR_LEN] = "";
	json_t *doc;
	int rc;

	if (!*name || strchr(name, '/'))
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "unknown path %s", rq->url);
	if (!strcmp(rq->method, "GET")) {
		doc = weir_policy_engine_get(a->policy, name);
		if (!doc)
			return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND,
						       "no policy named \"%s\"", name);
		return weir_http_respond_json(c, MHD_HTTP_OK, doc);
	}
	rc = weir_policy_engine_delete(a->policy, name, err, sizeof(err));
	if (rc == -ENOENT)
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "%s", err);
	if (rc)
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "policy: %s",
					       err[0] ? err : strerror(-rc));
	return weir_http_respond_empty(c, MHD_HTTP_NO_CONTENT);
}

/* /v1/services/NAME: NAME valid, nothing after it. */
static bool service_path(const char *url, char *name, size_t len)
{
	const char *p = url + strlen("/v1/services/");

	if (strlen(p) >= len || !weir_service_name_ok(p))
		return false;
	snprintf(name, len, "%s", p);
	return true;
}

/* PUT /v1/services or /v1/services/NAME with a service document. */
static enum MHD_Result service_put(struct weir_agent *a, struct MHD_Connection *c,
				   const struct weir_http_request *rq, const char *name)
{
	char err[ERR_LEN] = "";
	json_error_t jerr;
	bool created = false;
	json_t *doc, *out;
	int rc;

	if (!rq->len)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "empty body: PUT a service document");
	doc = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST,
					       "bad JSON at line %d column %d: %s", jerr.line,
					       jerr.column, jerr.text);
	rc = weir_services_put(a->services, name, doc, &created, err, sizeof(err));
	json_decref(doc);
	if (rc == -EINVAL)
		return weir_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "bad service document: %s",
					       err);
	if (rc == -EEXIST)
		return weir_http_respond_error(c, MHD_HTTP_CONFLICT, "%s", err);
	if (rc == -ENOSPC)
		return weir_http_respond_error(c, MHD_HTTP_INSUFFICIENT_STORAGE, "%s", err);
	if (rc) {
		log_warn("http: put service: %s", err[0] ? err : strerror(-rc));
		return weir_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "put service: %s",
					       err[0] ? err : strerror(-rc));
	}
	if (!name)
		return weir_http_respond_empty(c, created ? MHD_HTTP_CREATED : MHD_HTTP_OK);
	out = weir_services_applied(a->services, name);
	if (!out)
		return weir_http_respond_empty(c, created ? MHD_HTTP_CREATED : MHD_HTTP_OK);
	return weir_http_respond_json(c, created ? MHD_HTTP_CREATED : MHD_HTTP_OK, out);
}

/* GET and PUT /v1/services */
static enum MHD_Result services_handle(void *ctx, struct MHD_Connection *c,
				       const struct weir_http_request *rq)
{
	struct weir_agent *a = ctx;
	json_t *doc;

	if (!strcmp(rq->method, "PUT"))
		return service_put(a, c, rq, NULL);
	doc = weir_services_json(a->services, NULL, NULL);
	if (!doc)
		return MHD_NO;
	return weir_http_respond_json(c, MHD_HTTP_OK, doc);
}

/* GET, PUT and DELETE /v1/services/NAME */
static enum MHD_Result service_handle(void *ctx, struct MHD_Connection *c,
				      const struct weir_http_request *rq)
{
	struct weir_agent *a = ctx;
	char name[WEIR_SVC_NAME_MAX + 1];
	bool found;
	json_t *doc;
	int rc;

	if (!service_path(rq->url, name, sizeof(name)))
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND,
					       "unknown path %s: /v1/services/NAME", rq->url);
	if (!strcmp(rq->method, "PUT"))
		return service_put(a, c, rq, name);
	if (!strcmp(rq->method, "DELETE")) {
		rc = weir_services_delete(a->services, name);
		if (rc == -ENOENT)
			return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "no service %s",
						       name);
		return weir_http_respond_empty(c, MHD_HTTP_NO_CONTENT);
	}
	doc = weir_services_json(a->services, name, &found);
	if (!found)
		return weir_http_respond_error(c, MHD_HTTP_NOT_FOUND, "no service %s", name);
	if (!doc)
		return MHD_NO;
	return weir_http_respond_json(c, MHD_HTTP_OK, doc);
}

static const struct weir_http_route agent_routes[] = {
	{ .path = "/v1/services", .methods = "GET, PUT", .body = true, .handle = services_handle },
	{ .path = "/v1/services/",
	  .prefix = true,
	  .methods = "GET, PUT, DELETE",
	  .body = true,
	  .handle = service_handle },
	{ .path = "/v1/endpoints",
	  .methods = "GET, POST",
	  .body = true,
	  .handle = endpoints_handle },
	{ .path = "/v1/endpoints/",
	  .prefix = true,
	  .methods = "DELETE",
	  .handle = endpoint_delete },
	{ .path = "/v1/prefilter",
	  .methods = "GET, PUT, PATCH, DELETE",
	  .body = true,
	  .handle = weir_prefilter_http },
	{ .path = "/v1/policy", .methods = "GET, PUT", .body = true, .handle = policy_handle },
	{ .path = "/v1/policy/",
	  .prefix = true,
	  .methods = "GET, DELETE",
	  .handle = policy_name_handle },
};

int weir_http_start(struct weir_agent *a, struct weir_http **out)
{
	const struct weir_agent_config *cfg = &a->cfg;
	struct weir_http_server_opts opts = {
		.name = "agent",
		.listen = cfg->listen,
		.socket_path = cfg->socket_path,
		.token = cfg->token,
		.store = a->store,
		.follow_queue = cfg->follow_queue,
		.node_name = cfg->node_name,
		.status = status_json,
		.metrics = metrics_text,
		.routes = agent_routes,
		.n_routes = sizeof(agent_routes) / sizeof(agent_routes[0]),
		.ctx = a,
	};
	struct weir_http *h;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->a = a;
	err = weir_http_server_start(&opts, &h->server);
	if (err) {
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

void weir_http_stop(struct weir_http *h)
{
	if (!h)
		return;
	weir_http_server_stop(h->server);
	free(h);
}
