/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* weir-cni, a chained CNI plugin (CNI specification 1.0.0): its network
 * configuration, the previous plugin's result, the runtime's environment,
 * the spec's error codes, and its client of the agent's unix socket.
 */
#ifndef WEIR_CNI_H
#define WEIR_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define WEIR_CNI_VERSION	    "1.0.0"
#define WEIR_CNI_SOCKET_DEFAULT	    "/run/weir/agent.sock"
#define WEIR_CNI_TIMEOUT_MS_DEFAULT 5000
#define WEIR_CNI_STDIN_MAX_BYTES    (1 << 20)
#define WEIR_CNI_MSG_LEN	    512

/* The spec's well-known error codes; 100 and up are the plugin's own. */
enum weir_cni_code {
	WEIR_CNI_E_VERSION = 1,		/* incompatible CNI version */
	WEIR_CNI_E_FIELD = 2,		/* unsupported field in the network configuration */
	WEIR_CNI_E_CONTAINER = 3,	/* container unknown or does not exist */
	WEIR_CNI_E_ENV = 4,		/* invalid necessary environment variables */
	WEIR_CNI_E_IO = 5,		/* I/O failure */
	WEIR_CNI_E_DECODE = 6,		/* failed to decode content */
	WEIR_CNI_E_CONFIG = 7,		/* invalid network configuration */
	WEIR_CNI_E_TRY_AGAIN = 11,	/* try again later: the agent is unreachable or busy */
	WEIR_CNI_E_AGENT = 1000,	/* the agent refused the request */
	WEIR_CNI_E_UNREGISTERED = 1001, /* CHECK: the pod is not registered */
	WEIR_CNI_E_DETACHED = 1002,	/* CHECK: TC is not on the pod's interface */
	WEIR_CNI_E_MISMATCH = 1003,	/* CHECK: the registration differs from prevResult */
};

/* An error to report: code, message, optional details. */
struct weir_cni_err {
	int code;
	char msg[WEIR_CNI_MSG_LEN];
	char details[WEIR_CNI_MSG_LEN];
};

int weir_cni_fail(struct weir_cni_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The spec's error object: {"cniVersion", "code", "msg", "details"?}. */
json_t *weir_cni_err_json(const struct weir_cni_err *e, const char *cni_version);

enum weir_cni_cmd {
	WEIR_CNI_ADD,
	WEIR_CNI_DEL,
	WEIR_CNI_CHECK,
	WEIR_CNI_VERSION_CMD,
};

/* The runtime's CNI_* variables, and the pod from CNI_ARGS. */
struct weir_cni_env {
	enum weir_cni_cmd cmd;
	const char *container_id; /* CNI_CONTAINERID */
	const char *netns;	  /* CNI_NETNS (optional for DEL) */
	const char *ifname;	  /* CNI_IFNAME */
	const char *path;	  /* CNI_PATH */
	char pod_namespace[254];  /* K8S_POD_NAMESPACE, or "" */
	char pod_name[254];	  /* K8S_POD_NAME, or "" */
	char pod_uid[129];	  /* K8S_POD_UID, or "" */
};

/* Reads the environment through getenv_fn (getenv, or a test's). */
int weir_cni_env_parse(struct weir_cni_env *env, const char *(*getenv_fn)(const char *),
		       struct weir_cni_err *e);

/* The network configuration. Strings point into root (kept by the caller). */
struct weir_cni_conf {
	json_t *root;
	const char *cni_version;
	const char *name;
	const json_t *prev_result; /* NULL when absent */
	const char *socket_path;   /* "agent_socket" */
	bool fail_open;		   /* "fail_open": ADD succeeds when the agent is unreachable */
	unsigned int timeout_ms;   /* "timeout_ms": each call to the agent */
};

bool weir_cni_version_supported(const char *v);
/* The supported versions, for VERSION. */
json_t *weir_cni_versions_json(void);
/* Parses stdin's text; conf->root owns the document. */
int weir_cni_conf_parse(struct weir_cni_conf *conf, const char *text, size_t len,
			struct weir_cni_err *e);
void weir_cni_conf_release(struct weir_cni_conf *conf);

#define WEIR_CNI_IPS_MAX 16

/* What weir-cni needs of prevResult. */
struct weir_cni_prev {
	char host_if[16];		/* the pod's host-side interface, or "" */
	char ips[WEIR_CNI_IPS_MAX][46]; /* the pod's addresses, without prefix */
	size_t n_ips;
};

/* Picks the host-side interface: an interface without a sandbox that is not
 * a bridge (is_bridge tells, from the host's view); the last such one.
 */
int weir_cni_prev_parse(const json_t *prev, bool (*is_bridge)(const char *ifname),
			struct weir_cni_prev *out, struct weir_cni_err *e);

/* The registration document for the agent. */
json_t *weir_cni_reg_doc(const struct weir_cni_env *env, const struct weir_cni_prev *prev);
/* The pod's namespace and name in the agent: Kubernetes' when CNI_ARGS has
 * them, else namespace "cni" and the container ID.
 */
void weir_cni_pod_id(const struct weir_cni_env *env, const char **namespace, const char **pod);

/* One HTTP call to the agent over its unix socket. */
struct weir_cni_reply {
	long status; /* 0: no answer */
	char *body;  /* NUL-terminated */
	size_t len;
};

/* 0 with an answer (any status) in reply, or a code (TRY_AGAIN, IO) in e. */
int weir_cni_agent_call(const struct weir_cni_conf *conf, const char *method, const char *path,
			const char *body, struct weir_cni_reply *reply, struct weir_cni_err *e);
void weir_cni_reply_release(struct weir_cni_reply *reply);
/* The agent's {"error": "..."} message, or the body. */
const char *weir_cni_reply_error(const struct weir_cni_reply *reply);

/* Checks a GET /v1/endpoints answer against what ADD registered. */
int weir_cni_check_registration(const json_t *all, const struct weir_cni_env *env,
				const struct weir_cni_prev *prev, struct weir_cni_err *e);

#endif /* WEIR_CNI_H */
