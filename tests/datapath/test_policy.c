// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Endpoint policy in the datapath: the real BPF object, loaded (never
 * attached), its policy maps written by the agent's own policy engine from
 * policy documents and registered endpoints, then run with
 * BPF_PROG_TEST_RUN on crafted packets. Packets to a pod run through TC
 * egress (the pod's ingress), packets from a pod through TC ingress.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include <weir/abi.h>
#include "datapath.h"
#include "endpoints.h"
#include "log.h"
#include "policy.h"
#include "weir.skel.h"
#include "datapath/pkt.h"

#define LO_IFINDEX 1

#define WEB   "10.0.0.1"
#define DB    "10.0.0.2"
#define OTHER "10.0.0.3"
#define WEB2  "10.0.0.9"

struct fixture {
	struct weir_datapath *dp;
	struct weir_bpf *skel;
	struct weir_endpoints *eps;
	struct weir_policy_engine *pe;
};

enum hook_point { TC_IN, TC_OUT };

static void pod_register(struct fixture *f, const char *name, const char *ip, const char *app)
{
	json_t *doc = json_pack("{s:[s],s:s,s:s,s:{s:s}}", "ips", ip, "namespace", "shop",
				"pod_name", name, "labels", "app", app);
	char err[256] = "";

	assert_non_null(doc);
	assert_int_equal(weir_endpoints_register(f->eps, doc, err, sizeof(err)), 0);
	json_decref(doc);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct weir_policy_engine_opts po;

	assert_non_null(f);
	assert_int_equal(weir_datapath_load(&f->dp, NULL), 0);
	f->skel = weir_datapath_skel(f->dp);
	assert_int_equal(weir_endpoints_new(&f->eps, "node-a"), 0);
	pod_register(f, "web", WEB, "web");
	pod_register(f, "db", DB, "db");
	pod_register(f, "other", OTHER, "other");
	po = (struct weir_policy_engine_opts){
		.endpoints = f->eps,
		.ipcache_fd = bpf_map__fd(f->skel->maps.weir_ipcache),
		.eps_fd = bpf_map__fd(f->skel->maps.weir_policy_eps),
		.state_fd = bpf_map__fd(f->skel->maps.weir_policy_state),
	};
	assert_int_equal(weir_policy_engine_new(&f->pe, &po), 0);
	weir_endpoints_on_change(f->eps, weir_policy_engine_resync, f->pe);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	weir_endpoints_on_change(f->eps, NULL, NULL);
	weir_policy_engine_free(f->pe);
	weir_endpoints_free(f->eps);
	weir_datapath_destroy(f->dp);
	free(f);
	return 0;
}

static void policy_put(struct fixture *f, const char *text)
{
	char err[256] = "";
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);

	assert_non_null(doc);
	if (weir_policy_engine_put(f->pe, doc, err, sizeof(err)))
		fail_msg("policy refused: %s", err);
	json_decref(doc);
}

static int run(struct fixture *f, enum hook_point h, const struct pkt_spec *s)
{
	struct pkt p;
	int fd = bpf_program__fd(h == TC_IN ? f->skel->progs.weir_tc_ingress :
					      f->skel->progs.weir_tc_egress);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1);

	pkt_build(s, &p);
	opts.data_in = p.buf;
	opts.data_size_in = p.len;
	assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
	return (int)opts.retval;
}

static __u64 metric(struct fixture *f, __u8 reason, enum hook_point h)
{
	__u64 sum[2];

	assert_int_equal(
		weir_percpu_sum(bpf_map__fd(f->skel->maps.weir_metrics),
				weir_metrics_index(reason,
						   h == TC_IN ? WEIR_DIR_INGRESS : WEIR_DIR_EGRESS,
						   WEIR_HOOK_TC),
				sum, 2),
		0);
	return sum[0];
}

static struct weir_flow_value flow_of(struct fixture *f, const struct pkt_spec *s,
				      enum hook_point h)
{
	struct weir_flow_key k = pkt_flow_key(
		s, LO_IFINDEX, h == TC_IN ? WEIR_DIR_INGRESS : WEIR_DIR_EGRESS, WEIR_HOOK_TC);
	struct weir_flow_value v;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weir_flows), &k, &v), 0);
	return v;
}

static struct pkt_spec tcp(const char *saddr, __u16 sport, const char *daddr, __u16 dport,
			   __u16 flags)
{
	return (struct pkt_spec){ .family = 4,
				  .proto = IPPROTO_TCP,
				  .saddr = saddr,
				  .daddr = daddr,
				  .sport = sport,
				  .dport = dport,
				  .tcp_flags = flags };
}

#define DB_INGRESS_WEB_80                                                                     \
	"{\"name\": \"db\", \"endpoint\": {\"labels\": {\"app\": \"db\"}},"                   \
	" \"ingress\": {\"default\": \"deny\", \"rules\": [{\"from\": {\"labels\": {\"app\":" \
	" \"web\"}}, \"protocol\": \"TCP\", \"ports\": [\"80\"]}]}}"

static void without_policy_everything_passes(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = tcp(OTHER, 40000, DB, 80, WEIR_TCP_SYN);

	assert_int_equal(run(f, TC_OUT, &s), TC_ACT_UNSPEC);
	assert_int_equal(metric(f, WEIR_REASON_POLICY_DENIED, TC_OUT), 0);
}

static void allow_by_labels_and_port_default_deny(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec web80 = tcp(WEB, 40000, DB, 80, WEIR_TCP_SYN);
	struct pkt_spec web81 = tcp(WEB, 40001, DB, 81, WEIR_TCP_SYN);
	struct pkt_spec other80 = tcp(OTHER, 40002, DB, 80, WEIR_TCP_SYN);
	struct weir_flow_value v;

	policy_put(f, DB_INGRESS_WEB_80);
	assert_int_equal(run(f, TC_OUT, &web80), TC_ACT_UNSPEC);
	assert_int_equal(run(f, TC_OUT, &web81), TC_ACT_SHOT);
	assert_int_equal(run(f, TC_OUT, &other80), TC_ACT_SHOT);
	assert_int_equal(metric(f, WEIR_REASON_POLICY_DENIED, TC_OUT), 2);
	assert_int_equal(metric(f, WEIR_REASON_FORWARDED, TC_OUT), 1);
	v = flow_of(f, &other80, TC_OUT);
	assert_int_equal(v.verdict, WEIR_VERDICT_DROPPED);
	assert_int_equal(v.reason, WEIR_REASON_POLICY_DENIED);
	v = flow_of(f, &web80, TC_OUT);
	assert_int_equal(v.verdict, WEIR_VERDICT_FORWARDED);
	/* db's egress has no policy: it sends anywhere */
	web80 = tcp(DB, 40003, OTHER, 5432, WEIR_TCP_SYN);
	assert_int_equal(run(f, TC_IN, &web80), TC_ACT_UNSPEC);
}

static void egress_default_deny(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec out = tcp(DB, 40000, "192.0.2.7", 443, WEIR_TCP_SYN);
	struct pkt_spec in = tcp(WEB, 40001, DB, 443, WEIR_TCP_SYN);

	policy_put(f, "{\"name\": \"x\", \"endpoint\": {\"namespace\": \"shop\", \"pod\": \"db\"},"
		      " \"egress\": {\"default\": \"deny\"}}");
	assert_int_equal(run(f, TC_IN, &out), TC_ACT_SHOT); /* from db: its egress */
	assert_int_equal(metric(f, WEIR_REASON_POLICY_DENIED, TC_IN), 1);
	assert_int_equal(run(f, TC_OUT, &in), TC_ACT_UNSPEC); /* ingress: no section, allowed */
}

static void deny_wins_over_allow(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec other85 = tcp(OTHER, 40000, DB, 85, WEIR_TCP_SYN);
	struct pkt_spec other90 = tcp(OTHER, 40001, DB, 90, WEIR_TCP_SYN);
	struct pkt_spec web85 = tcp(WEB, 40002, DB, 85, WEIR_TCP_SYN);
	struct pkt_spec web22 = tcp(WEB, 40003, DB, 22, WEIR_TCP_SYN);

	/* allow everyone on TCP; deny app=other on 80-89 (narrower deny);
	 * allow app=web on 22 but deny app=web on every TCP port (broader deny)
	 */
	policy_put(f, "{\"name\": \"a\", \"endpoint\": {\"labels\": {\"app\": \"db\"}},"
		      " \"ingress\": {\"default\": \"deny\", \"rules\": ["
		      "  {\"protocol\": \"TCP\"},"
		      "  {\"action\": \"allow\", \"from\": {\"labels\": {\"app\": \"web\"}},"
		      "   \"protocol\": \"TCP\", \"ports\": [\"22\"]}]}}");
	policy_put(f, "{\"name\": \"b\", \"endpoint\": {\"labels\": {\"app\": \"db\"}},"
		      " \"ingress\": {\"rules\": ["
		      "  {\"action\": \"deny\", \"from\": {\"labels\": {\"app\": \"other\"}},"
		      "   \"protocol\": \"TCP\", \"ports\": [\"80-89\"]},"
		      "  {\"action\": \"deny\", \"from\": {\"labels\": {\"app\": \"web\"}},"
		      "   \"protocol\": \"TCP\"}]}}");
	assert_int_equal(run(f, TC_OUT, &other85), TC_ACT_SHOT);
	assert_int_equal(run(f, TC_OUT, &other90), TC_ACT_UNSPEC);
	assert_int_equal(run(f, TC_OUT, &web85), TC_ACT_SHOT);
	assert_int_equal(run(f, TC_OUT, &web22), TC_ACT_SHOT);
}

static void audit_forwards_and_reports(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec other80 = tcp(OTHER, 40000, DB, 80, WEIR_TCP_SYN);
	struct pkt_spec web80 = tcp(WEB, 40001, DB, 80, WEIR_TCP_SYN);
	struct weir_flow_value v;

	policy_put(f, "{\"name\": \"db\", \"mode\": \"audit\", \"endpoint\": {\"labels\":"
		      " {\"app\": \"db\"}}, \"ingress\": {\"default\": \"deny\", \"rules\":"
		      " [{\"from\": {\"labels\": {\"app\": \"web\"}}, \"protocol\": \"TCP\","
		      " \"ports\": [\"80\"]}]}}");
	assert_int_equal(run(f, TC_OUT, &other80), TC_ACT_UNSPEC);
	assert_int_equal(run(f, TC_OUT, &web80), TC_ACT_UNSPEC);
	assert_int_equal(metric(f, WEIR_REASON_POLICY_AUDIT, TC_OUT), 1);
	assert_int_equal(metric(f, WEIR_REASON_POLICY_DENIED, TC_OUT), 0);
	v = flow_of(f, &other80, TC_OUT);
	assert_int_equal(v.verdict, WEIR_VERDICT_AUDIT);
	assert_int_equal(v.reason, WEIR_REASON_POLICY_AUDIT);
	assert_int_equal(flow_of(f, &web80, TC_OUT).verdict, WEIR_VERDICT_FORWARDED);
}

static void replies_of_allowed_flows_pass(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec syn = tcp(WEB, 40000, DB, 80, WEIR_TCP_SYN);
	struct pkt_spec synack = tcp(DB, 80, WEB, 40000, WEIR_TCP_SYN | WEIR_TCP_ACK);
	struct pkt_spec stray = tcp(DB, 80, WEB, 40001, WEIR_TCP_SYN | WEIR_TCP_ACK);
	struct pkt_spec ping = {
		.family = 4, .proto = IPPROTO_ICMP, .saddr = WEB, .daddr = DB, .icmp_type = 8
	};
	struct pkt_spec pong = {
		.family = 4, .proto = IPPROTO_ICMP, .saddr = DB, .daddr = WEB, .icmp_type = 0
	};

	/* web may only open TCP 80 and ping to db; nothing may come in */
	policy_put(f, "{\"name\": \"web\", \"endpoint\": {\"labels\": {\"app\": \"web\"}},"
		      " \"ingress\": {\"default\": \"deny\"},"
		      " \"egress\": {\"default\": \"deny\", \"rules\": ["
		      "  {\"to\": {\"labels\": {\"app\": \"db\"}}, \"protocol\": \"TCP\","
		      "   \"ports\": [\"80\"]},"
		      "  {\"to\": {\"labels\": {\"app\": \"db\"}}, \"protocol\": \"ICMP\"}]}}");
	assert_int_equal(run(f, TC_OUT, &synack), TC_ACT_SHOT);	  /* no flow yet: denied */
	assert_int_equal(run(f, TC_IN, &syn), TC_ACT_UNSPEC);	  /* web's egress allows */
	assert_int_equal(run(f, TC_OUT, &synack), TC_ACT_UNSPEC); /* the reply passes */
	assert_int_equal(run(f, TC_OUT, &stray), TC_ACT_SHOT);	  /* another flow does not */
	assert_int_equal(run(f, TC_IN, &ping), TC_ACT_UNSPEC);
	assert_int_equal(run(f, TC_OUT, &pong), TC_ACT_UNSPEC);
}

static void cidr_rules_match_the_peer_address(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec in = { .family = 4,
			       .proto = IPPROTO_UDP,
			       .saddr = "192.0.2.7",
			       .daddr = DB,
			       .sport = 5000,
			       .dport = 53 };
	struct pkt_spec out = in;

	out.saddr = "198.51.100.1";
	policy_put(f, "{\"name\": \"db\", \"endpoint\": {\"labels\": {\"app\": \"db\"}},"
		      " \"ingress\": {\"default\": \"deny\", \"rules\": [{\"from\": {\"cidr\":"
		      " \"192.0.2.0/24\"}, \"protocol\": \"UDP\", \"ports\": [\"53\"]}]}}");
	assert_int_equal(run(f, TC_OUT, &in), TC_ACT_UNSPEC);
	assert_int_equal(run(f, TC_OUT, &out), TC_ACT_SHOT);
}

static void label_rules_follow_new_pods(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec s = tcp(WEB2, 40000, DB, 80, WEIR_TCP_SYN);

	policy_put(f, DB_INGRESS_WEB_80);
	assert_int_equal(run(f, TC_OUT, &s), TC_ACT_SHOT);
	pod_register(f, "web2", WEB2, "web");
	s.sport = 40001;
	assert_int_equal(run(f, TC_OUT, &s), TC_ACT_UNSPEC);
	assert_int_equal(weir_endpoints_unregister(f->eps, "shop", "web2"), 0);
	s.sport = 40002;
	assert_int_equal(run(f, TC_OUT, &s), TC_ACT_SHOT);
}

static void ipv6_pods_get_their_policy(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec web = { .family = 6,
				.proto = IPPROTO_TCP,
				.saddr = "fd00::1",
				.daddr = "fd00::2",
				.sport = 40000,
				.dport = 80,
				.tcp_flags = WEIR_TCP_SYN };
	struct pkt_spec other = web;
	struct pkt_spec reply = { .family = 6,
				  .proto = IPPROTO_TCP,
				  .saddr = "fd00::2",
				  .daddr = "fd00::1",
				  .sport = 80,
				  .dport = 40000,
				  .tcp_flags = WEIR_TCP_SYN | WEIR_TCP_ACK };

	other.saddr = "fd00::3";
	pod_register(f, "web6", "fd00::1", "web");
	pod_register(f, "db6", "fd00::2", "db");
	pod_register(f, "other6", "fd00::3", "other");
	policy_put(f, "{\"name\": \"db\", \"endpoint\": {\"labels\": {\"app\": \"db\"}},"
		      " \"ingress\": {\"default\": \"deny\", \"rules\": [{\"from\": {\"labels\":"
		      " {\"app\": \"web\"}}, \"protocol\": \"TCP\", \"ports\": [\"80\"]}]},"
		      " \"egress\": {\"default\": \"deny\"}}");
	assert_int_equal(run(f, TC_OUT, &web), TC_ACT_UNSPEC);
	assert_int_equal(run(f, TC_IN, &reply), TC_ACT_UNSPEC); /* db's egress: a reply */
	assert_int_equal(run(f, TC_OUT, &other), TC_ACT_SHOT);
}

static void bad_document_keeps_the_old_policy(void **state)
{
	struct fixture *f = *state;
	struct pkt_spec other = tcp(OTHER, 40000, DB, 80, WEIR_TCP_SYN);
	json_t *bad = json_loads("{\"name\": \"db\", \"endpoint\": {\"labels\": {\"app\": \"db\"}},"
				 " \"ingress\": {\"default\": \"allow\", \"rules\":"
				 " [{\"protocol\": \"TCP\", \"ports\": [\"0\"]}]}}",
				 0, NULL);
	char err[256] = "";

	policy_put(f, DB_INGRESS_WEB_80);
	assert_int_equal(weir_policy_engine_put(f->pe, bad, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ingress.rules[0].ports[0]"));
	assert_int_equal(run(f, TC_OUT, &other), TC_ACT_SHOT);
	json_decref(bad);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(without_policy_everything_passes),
		T(allow_by_labels_and_port_default_deny),
		T(egress_default_deny),
		T(deny_wins_over_allow),
		T(audit_forwards_and_reports),
		T(replies_of_allowed_flows_pass),
		T(cidr_rules_match_the_peer_address),
		T(label_rules_follow_new_pods),
		T(ipv6_pods_get_their_policy),
		T(bad_document_keeps_the_old_policy),
	};

	weir_log_libbpf();
	return cmocka_run_group_tests_name("datapath_policy", tests, NULL, NULL);
}
