/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* weir-agent's configuration: defaults, a JSON file, then command-line flags,
 * each overriding the one before. A bad key or value is refused by name.
 */
#ifndef WEIR_AGENT_CONFIG_H
#define WEIR_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "datapath.h"
#include "flowlog.h"
#include "options.h"

#define WEIR_AGENT_LISTEN_DEFAULT   "127.0.0.1:4244"
#define WEIR_AGENT_SOCKET_DEFAULT   "/run/weir/agent.sock"
#define WEIR_AGENT_STATE_DEFAULT    "/var/lib/weir"
#define WEIR_AGENT_LB_STATE_DEFAULT "/var/lib/weir/lb-services.json"

/* One per process, its members grouped by topic rather than packed by size. */
struct weir_agent_config {	     /* NOLINT(clang-analyzer-optin.performance.Padding) */
	char *node_name;	     /* default: the host name */
	struct weir_strv xdp_ifaces; /* uplinks: XDP */
	enum weir_xdp_mode xdp_mode; /* auto (native, else generic), native, generic */
	struct weir_strv tc_ifaces;  /* TC ingress and egress */
	struct weir_strv
		tc_patterns;	    /* globs ("veth*", "lxc*"): TC on matching links as they come */
	char *pin_dir;		    /* WEIR_PIN_DIR */
	bool keep_datapath;	    /* on exit, leave programs attached and maps pinned */
	uint32_t flows_max;	    /* kernel flow-table entries */
	uint32_t pf_exact_max;	    /* prefilter single addresses per family */
	uint32_t active_timeout_s;  /* a record every this while a flow lives (10) */
	uint32_t idle_timeout_s;    /* a flow ends after this long without packets (30) */
	uint32_t sweep_interval_ms; /* how often the flow table is read (1000) */
	size_t store_capacity;	    /* records kept (65535) */
	size_t follow_queue;	    /* records a follow stream may fall behind (4096) */
	char *listen;		    /* TCP "host:port" for the read API; "" for none */
	char *socket_path;	    /* unix socket: the whole API */
	char *token;		    /* bearer token for mutating calls over TCP; NULL: refused */
	char *endpoints_file;	    /* static endpoints, reloaded on SIGHUP and on change */
	bool netns_discovery;	    /* endpoints from named network namespaces */
	char *netns_dir;	    /* /run/netns */
	char *state_dir;	    /* what outlives a restart: policies (/var/lib/weir) */
	int verbose;		    /* -v: debug logging */
	/* flow logs: --flowlog-* */
	struct weir_flowlog_config flowlog;
	/* IPFIX export to "host:port"; NULL: none */
	char *ipfix_collector;
	/* enum weir_ipfix_transport */
	int ipfix_transport;
	/* UDP: templates re-sent this often (60 s) */
	uint64_t ipfix_template_refresh_ns;
	/* observation domain (1), enterprise number of Weir's elements (32473) */
	uint32_t ipfix_domain_id;
	uint32_t ipfix_pen;
	bool k8s;		      /* endpoints from the Kubernetes API: this node's pods */
	char *kubeconfig;	      /* with k8s: a kubeconfig instead of the in-cluster account */
	uint32_t k8s_watch_timeout_s; /* the API server ends each watch after this (300) */
	/* Load balancer (README: Load balancer). */
	uint32_t lb_services_max; /* services (65536) */
	uint32_t lb_backends_max; /* backends, over all services (65536) */
	uint32_t lb_ct_max;	  /* conntrack entries (65536) */
	uint32_t lb_affinity_max; /* session-affinity entries (65536) */
	uint32_t lb_table_size;	  /* default Maglev table size, a prime (16381) */
	uint32_t lb_seed;	  /* Maglev hash seed: the same on every node */
	char *lb_state_file;	  /* services across restarts; "" for none */
};

enum weir_ipfix_transport { WEIR_IPFIX_UDP, WEIR_IPFIX_TCP };

void weir_agent_config_defaults(struct weir_agent_config *cfg);
/* Reads the JSON config file over cfg. -EINVAL naming the bad key in err. */
int weir_agent_config_load(struct weir_agent_config *cfg, const char *path, char *err,
			   size_t err_len);
/* Applies command-line flags over cfg. Returns 0, 1 after --help (printed),
 * or -EINVAL naming the bad flag in err.
 */
int weir_agent_config_args(struct weir_agent_config *cfg, int argc, char **argv, char *err,
			   size_t err_len);
void weir_agent_config_release(struct weir_agent_config *cfg);

#endif /* WEIR_AGENT_CONFIG_H */
