// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-agent's configuration: its option table (lib/options.h turns it into
 * the JSON config file's keys, the flags and --help) and its defaults.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <weir/abi.h>
#include <weir/lb.h>
#include <weir/prefilter.h>
#include "config.h"
#include "ipfix.h"
#include "ipfix_export.h"
#include "maglev.h"

#define CFG(member) offsetof(struct weir_agent_config, member)

/* In the order of enum weir_xdp_mode. */
static const char *const xdp_modes[] = { "auto", "native", "generic", NULL };

#define OPT(f, t, member, meta, text)                                                        \
	{                                                                                    \
		.flag = (f), .type = WEIR_OPT_##t, .offset = CFG(member), .metavar = (meta), \
		.help = (text)                                                               \
	}

/* In the order of enum weir_ipfix_transport. */
static const char *const ipfix_transports[] = { "udp", "tcp", NULL };

static const struct weir_opt opts[] = {
	OPT("node-name", STR, node_name, "NAME", "this node's name (default: host name)"),
	OPT("xdp", STRV, xdp_ifaces, "IFACE", "attach XDP to this uplink (repeatable)"),
	{ .flag = "xdp-mode",
	  .type = WEIR_OPT_CHOICE,
	  .offset = CFG(xdp_mode),
	  .metavar = "MODE",
	  .help = "auto (native, falling back to generic), native or generic",
	  .choices = xdp_modes },
	OPT("tc", STRV, tc_ifaces, "IFACE", "attach TC ingress+egress here (repeatable)"),
	OPT("tc-pattern", STRV, tc_patterns, "GLOB",
	    "attach TC to links matching this glob as they appear, e.g. 'veth*' (repeatable)"),
	OPT("pin-dir", STR, pin_dir, "DIR", "bpffs directory for the maps (" WEIR_PIN_DIR ")"),
	OPT("keep-datapath", BOOL, keep_datapath, NULL,
	    "on exit, leave the programs attached (maps stay pinned either way)"),
	OPT("flows-max", U32, flows_max, "N", "kernel flow-table entries (65536)"),
	OPT("prefilter-max-addresses", U32, pf_exact_max, "N",
	    "single addresses (/32, /128) the XDP prefilter holds per family (65536)"),
	OPT("active-timeout", U32, active_timeout_s, "SECONDS",
	    "a record every this while a flow lives (10)"),
	OPT("idle-timeout", U32, idle_timeout_s, "SECONDS",
	    "a flow ends after this long without packets (30)"),
	OPT("sweep-interval", U32, sweep_interval_ms, "MS",
	    "how often the flow table is read (1000)"),
	OPT("store-capacity", SIZE, store_capacity, "N", "flow records kept (65535)"),
	OPT("follow-queue", SIZE, follow_queue, "N",
	    "records a follow stream may fall behind before losing some (4096)"),
	OPT("listen", STR, listen, "HOST:PORT",
	    "TCP address of the read API and /metrics (" WEIR_AGENT_LISTEN_DEFAULT
	    "); '' for none"),
	OPT("socket", STR, socket_path, "PATH",
	    "unix socket with the whole API (" WEIR_AGENT_SOCKET_DEFAULT ")"),
	OPT("token", STR, token, "TOKEN",
	    "bearer token that allows mutating calls over TCP (default: none allowed)"),
	OPT("endpoints-file", STR, endpoints_file, "PATH",
	    "static endpoints (JSON), reloaded on SIGHUP and when it changes"),
	OPT("netns-discovery", BOOL, netns_discovery, NULL,
	    "endpoints from named network namespaces"),
	OPT("netns-dir", STR, netns_dir, "DIR", "named network namespaces (/run/netns)"),
	OPT("ipfix-collector", STR, ipfix_collector, "HOST:PORT",
	    "export flows over IPFIX to this collector (default: no export)"),
	{ .flag = "ipfix-transport",
	  .type = WEIR_OPT_CHOICE,
	  .offset = CFG(ipfix_transport),
	  .metavar = "PROTO",
	  .help = "udp (default) or tcp",
	  .choices = ipfix_transports },
	OPT("ipfix-template-refresh", DURATION, ipfix_template_refresh_ns, "DURATION",
	    "UDP: IPFIX templates are sent again this often (60s)"),
	OPT("ipfix-domain-id", U32, ipfix_domain_id, "ID", "IPFIX observation domain id (1)"),
	OPT("ipfix-pen", U32, ipfix_pen, "PEN",
	    "enterprise number of Weir's IPFIX elements (32473, RFC 5612's example PEN)"),
	WEIR_FLOWLOG_OPTS(CFG(flowlog)),
	OPT("k8s", BOOL, k8s, NULL,
	    "endpoints from the Kubernetes API: this node's pods (in-cluster service account)"),
	OPT("kubeconfig", STR, kubeconfig, "PATH",
	    "with --k8s: reach the API through this kubeconfig instead (implies --k8s)"),
	OPT("k8s-watch-timeout", U32, k8s_watch_timeout_s, "SECONDS",
	    "the API server ends each pod watch after this; it is then resumed (300)"),
	OPT("state-dir", STR, state_dir, "DIR",
	    "what outlives a restart: policies, pod registrations (" WEIR_AGENT_STATE_DEFAULT ")"),
	OPT("lb-services-max", U32, lb_services_max, "N", "load-balancer services (65536)"),
	OPT("lb-backends-max", U32, lb_backends_max, "N",
	    "load-balancer backends, all services together (65536)"),
	OPT("lb-ct-max", U32, lb_ct_max, "N", "load-balancer conntrack entries (65536)"),
	OPT("lb-affinity-max", U32, lb_affinity_max, "N", "session-affinity entries (65536)"),
	OPT("lb-table-size", U32, lb_table_size, "PRIME",
	    "default Maglev table size per service, a prime (16381)"),
	OPT("lb-seed", U32, lb_seed, "N",
	    "Maglev hash seed; the same on every node of a cluster (1464158546)"),
	OPT("lb-state-file", STR, lb_state_file, "PATH",
	    "where services are kept across restarts (" WEIR_AGENT_LB_STATE_DEFAULT
	    "); '' for none"),
};

static const struct weir_opts agent_opts = {
	.opt = opts,
	.n = sizeof(opts) / sizeof(opts[0]),
	.about = "Weir's node agent: loads the datapath, turns its counters into flow records\n"
		 "and serves them over HTTP (JSON, NDJSON streams, Prometheus).\n",
	.footer = "Signals: SIGTERM/SIGINT stop (detaching what was attached, unless\n"
		  "--keep-datapath); SIGHUP reloads the endpoints file.\n",
	.verbose_offset = CFG(verbose),
};

void weir_agent_config_defaults(struct weir_agent_config *cfg)
{
	char host[256] = "localhost";

	memset(cfg, 0, sizeof(*cfg));
	gethostname(host, sizeof(host) - 1);
	cfg->node_name = strdup(host);
	cfg->xdp_mode = WEIR_XDP_AUTO;
	cfg->pin_dir = strdup(WEIR_PIN_DIR);
	cfg->flows_max = WEIR_FLOWS_MAX_DEFAULT;
	cfg->pf_exact_max = WEIR_PF_EXACT_MAX_DEFAULT;
	cfg->active_timeout_s = 10;
	cfg->idle_timeout_s = 30;
	cfg->sweep_interval_ms = 1000;
	cfg->store_capacity = 65535;
	cfg->follow_queue = 4096;
	cfg->listen = strdup(WEIR_AGENT_LISTEN_DEFAULT);
	cfg->socket_path = strdup(WEIR_AGENT_SOCKET_DEFAULT);
	cfg->netns_dir = strdup("/run/netns");
	weir_flowlog_config_defaults(&cfg->flowlog);
	cfg->ipfix_template_refresh_ns = WEIR_IPFIX_TEMPLATE_REFRESH_DEFAULT_NS;
	cfg->ipfix_domain_id = WEIR_IPFIX_DOMAIN_DEFAULT;
	cfg->ipfix_pen = WEIR_IPFIX_PEN_DEFAULT;
	cfg->k8s_watch_timeout_s = 300;
	cfg->state_dir = strdup(WEIR_AGENT_STATE_DEFAULT);
	cfg->lb_services_max = WEIR_LB_SERVICES_DEFAULT;
	cfg->lb_backends_max = WEIR_LB_BACKENDS_DEFAULT;
	cfg->lb_ct_max = WEIR_LB_CT_DEFAULT;
	cfg->lb_affinity_max = WEIR_LB_AFFINITY_DEFAULT;
	cfg->lb_table_size = WEIR_LB_MAGLEV_M_DEFAULT;
	cfg->lb_seed = WEIR_LB_SEED_DEFAULT;
	cfg->lb_state_file = strdup(WEIR_AGENT_LB_STATE_DEFAULT);
}

void weir_agent_config_release(struct weir_agent_config *cfg)
{
	weir_opts_release(&agent_opts, cfg);
}

int weir_agent_config_load(struct weir_agent_config *cfg, const char *path, char *err,
			   size_t err_len)
{
	return weir_opts_load_file(&agent_opts, cfg, path, err, err_len);
}

int weir_agent_config_args(struct weir_agent_config *cfg, int argc, char **argv, char *err,
			   size_t err_len)
{
	int ret = weir_opts_args(&agent_opts, cfg, argc, argv, err, err_len);

	if (ret)
		return ret;
	if (cfg->kubeconfig)
		cfg->k8s = true;
	if (!weir_maglev_is_prime(cfg->lb_table_size) ||
	    cfg->lb_table_size < WEIR_MAGLEV_SIZE_MIN ||
	    cfg->lb_table_size > WEIR_LB_MAGLEV_M_MAX) {
		snprintf(err, err_len, "lb-table-size: %u is not a prime in [%d, %d]",
			 cfg->lb_table_size, WEIR_MAGLEV_SIZE_MIN, WEIR_LB_MAGLEV_M_MAX);
		return -EINVAL;
	}
	if (cfg->idle_timeout_s < cfg->sweep_interval_ms / 1000) {
		snprintf(err, err_len, "idle-timeout (%us) is shorter than sweep-interval (%ums)",
			 cfg->idle_timeout_s, cfg->sweep_interval_ms);
		return -EINVAL;
	}
	return 0;
}
