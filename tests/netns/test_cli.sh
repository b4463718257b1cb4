#!/usr/bin/env bash
# weir (the CLI) end to end: a node namespace with three pods in two
# Kubernetes namespaces, the real agent, real ICMP, TCP and UDP; every filter
# family of `weir observe` narrows the flows to exactly the expected ones, the
# outputs show them, -f sees a new connection and ends cleanly, --input-file
# of saved `-o json` output gives what the live query gives, and every error
# is one line on stderr with a non-zero exit status.
# shellcheck disable=SC2317 # functions called through t_check and wait_for
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/netns/topo.sh
. "$here/topo.sh"

build=${WEIR_BUILD:-$here/../../build}
agent=$build/weir-agent
weir=$build/weir
need_root
need_cmd jq nc python3 ethtool
[ -x "$agent" ] || t_bail "weir-agent is built" "missing $agent: run make"
[ -x "$weir" ] || t_bail "weir is built" "missing $weir: run make"

GW=10.205.0.1 P1=10.205.0.11 P2=10.205.0.12 P3=10.205.0.13
SOCK=$T_TMP/agent.sock
# shellcheck disable=SC2034 # set by ns_bg; killed at exit
AGENT='' sink='' listener='' relay='' follower='' listener9=

bpffs_mount || t_bail "a bpffs for the pinned maps"
topo_node node "$GW/24" || t_bail "topology" "node"
topo_pod node p1 "$P1/24" "$GW" || t_bail "topology" "p1"
topo_pod node p2 "$P2/24" "$GW" || t_bail "topology" "p2"
topo_pod node p3 "$P3/24" "$GW" || t_bail "topology" "p3"
ns_add lonely || t_bail "topology" "a namespace without routes"
# No IPv6: neighbour discovery would add flows of its own to every answer.
for n in node p1 p2 p3; do
	ns_exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
printf '{"endpoints": [%s, %s, %s]}\n' "$(topo_endpoint_json demo p1 "$P1" client)" \
	"$(topo_endpoint_json demo p2 "$P2" server)" "$(topo_endpoint_json other p3 "$P3" db)" \
	>"$T_TMP/endpoints.json"

ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-a --tc-pattern 'w*' \
	--pin-dir "$T_BPFFS/weir" --socket "$SOCK" --listen 127.0.0.1:4244 \
	--endpoints-file "$T_TMP/endpoints.json" --sweep-interval 200 --active-timeout 2 \
	--idle-timeout 3
wait_for 5 "$weir" --server "$SOCK" status ||
	t_bail "the agent answers weir status" "$(cat "$T_TMP/agent.log.err")"
t_ok "the agent answers weir status on its socket"

# w ARGS...: weir on the agent's socket.
w() {
	"$weir" --server "$SOCK" "$@"
}

# --- traffic: p1 pings p2, p1 talks TCP to p3:7777, p2 sends UDP 40888 -> p3:8888 -----------
ns_exec p1 ping -c 2 -i 0.2 -q "$P2" >/dev/null || t_fail "p1 pings p2"
ns_bg listener p3 "$T_TMP/tcp_rx" nc -l -n "$P3" 7777
ns_bg sink p3 "$T_TMP/udp_rx" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 8888))
while True:
    s.recv(65536)'
sleep 0.3
echo hello | ns_exec p1 nc -N -n "$P3" 7777 || t_fail "p1 connects to p3:7777"
ns_exec p2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40888))
s.sendto(b"x" * 100, (sys.argv[1], 8888))' "$P3"

# All three conversations have ended once each has an end record.
ended() {
	[ "$(w observe --all -o json --from-namespace demo | jq -r 'select(.flow.weir.record == "end") |
		.flow.l4 | keys[0]' | sort -u | paste -sd' ')" = "ICMPv4 TCP UDP" ]
}
wait_for 10 ended || t_fail "the three conversations end" "$(w observe --all)"

# tuples ARGS...: the distinct conversations `weir observe --all ARGS` returns, as
# "pod>pod/L4" with the pods in name order, each flow being seen at both pods'
# interfaces. In name order, because a packet straggling in after a flow's end
# record (a busy machine) rightly starts a new flow the other way round. The
# node's own IGMP to 224.0.0.0/4 is left out: it is not the traffic under test.
tuples() {
	w observe --all -o json "$@" | jq -r 'select(.flow.IP.destination | test("^2(2[4-9]|3[0-9])\\.") | not) |
		"\([.flow.source.pod_name, .flow.destination.pod_name] | map(tostring) | sort | join(">"))/\(.flow.l4 | keys[0])"' |
		sort -u | paste -sd' '
}

# check NAME WANT ARGS...
check() {
	local name=$1 want=$2

	shift 2
	t_is "$name" "$(tuples "$@")" "$want"
}

ICMP='p1>p2/ICMPv4' TCP='p1>p3/TCP' UDP='p2>p3/UDP'
ALL="$ICMP $TCP $UDP"

# --- each filter family narrows to exactly the expected flows -------------------------------
check "no filter: the three conversations" "$ALL"
check "--ip: either side" "$TCP $UDP" --ip "$P3"
check "--from-ip" "$ICMP $TCP" --from-ip "$P1"
check "--to-ip" "$ICMP" --to-ip "$P2"
check "--ip with a CIDR" "$ICMP $UDP" --ip 10.205.0.12/32
check "--from-ip with a CIDR" "$ALL" --from-ip 10.205.0.0/28
check "-4" "$ALL" -4
check "-6" "" -6
check "--pod: either side" "$ICMP $TCP" --pod demo/p1
check "--from-pod" "$UDP" --from-pod demo/p2
check "--to-pod with a namespace only" "$TCP $UDP" --to-pod other/
check "--pod without a namespace is in namespace default" "" --pod p1
check "--pod /NAME: any namespace" "$TCP $UDP" --pod /p3
check "-n: either side" "$TCP $UDP" -n other
check "--from-namespace" "$ALL" --from-namespace demo
check "--to-namespace" "$ICMP" --to-namespace demo
check "--namespace with --pod: the pod in that namespace" "$ICMP $TCP" -n demo --pod p1
check "-A: pods in any namespace" "$ALL" -A
check "-l: either side" "$TCP $UDP" -l app=db
check "--from-label" "$ICMP $TCP" --from-label app=client
check "--to-label with a set selector" "$ICMP" --to-label 'app in (server)'
check "--port: either side" "$TCP" --port 7777
check "--to-port" "$UDP" --to-port 8888
check "--from-port" "$UDP" --from-port 40888
check "--from-port that is a destination port" "" --from-port 7777
check "--protocol udp" "$UDP" --protocol udp
check "--protocol icmp" "$ICMP" --protocol icmp
check "--tcp-flags syn,fin" "$TCP" --tcp-flags syn,fin
check "--verdict FORWARDED" "$ALL" --verdict FORWARDED
check "--verdict DROPPED" "" --verdict DROPPED
check "--drop-reason-desc" "" --drop-reason-desc POLICY_DENIED
check "--node-name glob" "$ALL" --node-name 'node-*'
check "--node-name of another node" "" --node-name other
check "--interface" "$TCP $UDP" --interface wp3
check "--not: the next flag is denied" "$TCP $UDP" --not --protocol icmp
check "--not with an either-direction flag denies both sides" "$ICMP" --not --pod other/p3
check "--not after an allow flag" "$ICMP" --from-namespace demo --not --to-namespace other
check "two --not flags are ANDed in one deny filter" "$ALL" --not --protocol udp --not --to-port 53
check "--allowlist" "$UDP" --allowlist '{"destination_port": ["8888"]}'
check "--denylist" "$UDP" --denylist '{"source_pod": ["demo/p1"]}'
check "--since" "$ALL" --since 10m
check "--until" "" --until 2000-01-01
ifaces() {
	w observe --all -o json "$@" | jq -r 'select(.flow.IP.destination | startswith("224.") | not) |
		.flow.interface.name' | sort -u | paste -sd' '
}
t_is "--traffic-direction ingress: seen entering the destination pods" \
	"$(ifaces --traffic-direction ingress)" "wp2 wp3"
t_is "--traffic-direction egress: seen leaving the source pods" \
	"$(ifaces --traffic-direction egress)" "wp1 wp2"
t_is "--first 1 and --last 1: one flow each" \
	"$(w observe --first 1 -o json | wc -l) $(w observe --last 1 -o json | wc -l)" "1 1"
n=$(w observe -o json | wc -l)
t_check "no selector: the last 20 flows or fewer" test "$n" -ge 1 -a "$n" -le 20

# --- outputs ----------------------------------------------------------------------------------
# shows PATTERN ARGS...: a line of `weir observe ARGS` matches the extended regex PATTERN.
shows() {
	local pattern=$1

	shift
	w observe "$@" | grep -qE "$pattern"
}
t_check "compact: time, pod:port -> pod:port, type, verdict, flags, counters" \
	shows '^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:.]{12}: demo/p1:[0-9]+ -> other/p3:7777 flow-(start|update|end)@wp[13] FORWARDED \(TCP Flags: SYN[^)]*\) [0-9]+/[0-9]+ pkts [0-9]+/[0-9]+ B$' \
	--all --to-port 7777
t_check "--numeric prints addresses" shows " ${P1//./\\.}:[0-9]+ -> ${P3//./\\.}:7777 " \
	--all --numeric --to-port 7777
t_check "--print-node-name" shows '^[^[]+ \[node-a\]: demo/p1:' --all --print-node-name --to-port 7777
t_check "--time-format RFC3339" shows '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z: ' \
	--last 1 --time-format RFC3339
t_check "--color always colors the verdict" shows $'\e\\[32mFORWARDED\e\\[0m' --last 1 --color always
t_check "-o table: a header and aligned columns" \
	shows '^TIMESTAMP +NODE +SOURCE +DESTINATION +TYPE +VERDICT +SUMMARY +COUNTERS$' \
	--all -o table --print-node-name --protocol udp
t_check "-o dict: KEY: value blocks" shows '^DESTINATION: other/p3:8888$' --last 2 -o dict --protocol udp
t_check "-o json: Hubble's field names" \
	bash -c "$weir --server '$SOCK' observe --last 1 -o json --protocol tcp | jq -ne 'input | (.flow.IP.source and .flow.l4.TCP.destination_port == 7777 and .node_name == \"node-a\")'"
t_check "weir status: health and flow counts" \
	bash -c "$weir --server '$SOCK' status | grep -qx 'Healthcheck (via unix://$SOCK): Ok' && $weir --server '$SOCK' status | grep -q '^Current/Max Flows: [0-9,]*/[0-9,]* ('"
t_is "weir endpoints lists the pods" \
	"$(w endpoints | awk 'NR > 1 { print $1 "/" $2 }' | sort | paste -sd' ')" "demo/p1 demo/p2 other/p3"
t_check "over TCP (--server 127.0.0.1:4244)" \
	bash -c "ip netns exec $(ns_name node) $weir --server 127.0.0.1:4244 observe --all -o json --protocol udp | jq -e -s 'length > 0'"

# --- --input-file: saved -o json gives what the live query gives -----------------------------
until_t=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
w observe --all -o json >"$T_TMP/saved.json"
same() { # same ARGS...: the file and the live query agree, in json and in text
	local live file

	live=$(w observe --until "$until_t" -o json "$@")
	file=$(w observe --input-file "$T_TMP/saved.json" --until "$until_t" -o json "$@")
	[ -n "$live" ] && [ "$live" = "$file" ] || return 1
	live=$(w observe --until "$until_t" --color never "$@")
	file=$(w observe --input-file - --until "$until_t" --color never "$@" <"$T_TMP/saved.json")
	[ "$live" = "$file" ]
}
t_check "--input-file with no filter equals the live query" same
t_check "--input-file with --pod equals the live query" same --pod other/p3
t_check "--input-file with --not and -4 equals the live query" same --not --protocol icmp -4
t_check "--input-file with --to-port and --verdict equals the live query" \
	same --to-port 8888 --verdict FORWARDED
t_check "--input-file with -n and --tcp-flags equals the live query" same -n demo --tcp-flags syn
t_check "--input-file with --last equals the live query" same --last 3 --from-namespace demo

# --- -f: a connection made after it started, then Ctrl-C -------------------------------------
ns_bg follower node "$T_TMP/follow" "$weir" --server "$SOCK" observe -f --to-port 9999 -o json
sleep 0.5
ns_bg listener9 p2 "$T_TMP/tcp9" nc -l -n "$P2" 9999
sleep 0.2
ns_exec p1 nc -z -n -w 1 "$P2" 9999
t_check "-f prints a flow for a connection made after it started" \
	wait_for 3 grep -q '"destination_port":9999' "$T_TMP/follow"
t_check "the followed flow is p1's connection to p2:9999" \
	bash -c "head -1 '$T_TMP/follow' | jq -ne 'input | (.flow.source.pod_name == \"p1\" and .flow.destination.pod_name == \"p2\")'"
rc=0
bg_stop "$follower" INT || rc=$?
t_is "-f ends with exit status 0 on Ctrl-C (SIGINT)" "$rc" 0
t_is "-f says nothing on stderr when interrupted" "$(cat "$T_TMP/follow.err")" ""

# --- errors: one line on stderr, nothing on stdout, a non-zero status -----------------------
# expect_error NAME STATUS PATTERN COMMAND...
expect_error() {
	local name=$1 want=$2 pattern=$3 rc=0

	shift 3
	"$@" >"$T_TMP/err.out" 2>"$T_TMP/err.err" || rc=$?
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$T_TMP/err.err")" -eq 1 ] &&
		grep -qE "$pattern" "$T_TMP/err.err" && [ ! -s "$T_TMP/err.out" ]; then
		t_ok "$name"
	else
		t_fail "$name" "exit $rc (want $want)" "stderr: $(cat "$T_TMP/err.err")" \
			"stdout: $(head -c 300 "$T_TMP/err.out")"
	fi
}
expect_error "an unreachable server" 1 '^weir: cannot reach http://192\.0\.2\.1:4244: ' \
	ip netns exec "$(ns_name lonely)" "$weir" --server 192.0.2.1:4244 --timeout 2s status
expect_error "a refused connection" 1 '^weir: connection refused by http://127\.0\.0\.1:1 ' \
	ip netns exec "$(ns_name node)" "$weir" --server 127.0.0.1:1 observe
expect_error "no socket" 1 "^weir: cannot connect to unix://$T_TMP/none\\.sock: no such socket" \
	"$weir" --server "$T_TMP/none.sock" observe
expect_error "a 4xx from the server, with its message" 1 \
	'^weir: http://127\.0\.0\.1:4244/x: 404 Not Found: unknown path /x/v1/flows$' \
	ip netns exec "$(ns_name node)" "$weir" --server http://127.0.0.1:4244/x observe
expect_error "weir nodes against an agent: not a relay" 1 'is not a relay' w nodes
expect_error "an unknown flag" 2 "^weir observe: unknown flag: --frm-pod " w observe --frm-pod a
expect_error "conflicting filter flags" 2 \
	'^weir observe: filters --from-ip and --from-pod cannot be combined ' \
	w observe --from-ip "$P1" --from-pod demo/p1
expect_error "--first with --follow" 2 'cannot set both --first and --follow' \
	w observe --first 1 --follow
expect_error "an unknown command" 2 '^weir: unknown command "observ"' w observ

# --- weir nodes against a relay's /v1/nodes ---------------------------------------------------
ns_bg relay node "$T_TMP/relay.log" python3 -c '
import http.server, json
nodes = {"nodes": [
    {"name": "node-a", "state": "NODE_CONNECTED", "address": "10.205.0.1:4244",
     "uptime_ns": 70000000000, "num_flows": 12, "max_flows": 4096, "seen_flows": 140},
    {"name": "node-b", "state": "NODE_UNAVAILABLE", "address": "10.205.0.2:4244",
     "last_error": "connection refused"}]}
status = {"num_flows": 12, "max_flows": 4096, "seen_flows": 140, "uptime_ns": 70000000000,
          "num_connected_nodes": 1, "num_unavailable_nodes": 1, "unavailable_nodes": ["node-b"]}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/v1/nodes": nodes, "/v1/status": status}.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body or {"error": "unknown path"}).encode())
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", 4245), H).serve_forever()'
relay_cli() {
	ip netns exec "$(ns_name node)" "$weir" --server 127.0.0.1:4245 "$@"
}
wait_for 5 relay_cli nodes || t_fail "the stand-in relay answers"
t_is "weir nodes: each node's name, state and address" \
	"$(relay_cli nodes | awk 'NR > 1 { print $1, $2, $3 }' | paste -sd,)" \
	"node-a Connected 10.205.0.1:4244,node-b Unavailable 10.205.0.2:4244"
t_check "weir nodes: age, flows/s, current/max flows and last error" \
	bash -c "ip netns exec $(ns_name node) $weir --server 127.0.0.1:4245 nodes | grep -qE '^node-a +Connected +10\.205\.0\.1:4244 +1m10s +2\.00 +12/4,096 \(0\.29%\) ' &&
	ip netns exec $(ns_name node) $weir --server 127.0.0.1:4245 nodes | grep -q 'connection refused\$'"
t_is "weir status of a relay: connected and unavailable nodes" \
	"$(relay_cli status | tail -n 3 | paste -sd'|')" "Connected Nodes: 1/2|Unavailable Nodes: 1|  - node-b"

# --- -f ends with a message when the server goes away ------------------------------------------
ns_bg follower node "$T_TMP/follow2" "$weir" --server "$SOCK" observe -f
sleep 0.5
bg_stop "$AGENT" TERM
if wait_for 5 bash -c "! kill -0 $follower 2>/dev/null"; then
	rc=0
	bg_wait "$follower" || rc=$?
	t_is "-f ends with exit status 1 when the server goes away" "$rc" 1
	t_check "... saying so in one line" \
		bash -c "[ \$(wc -l <'$T_TMP/follow2.err') -eq 1 ] && grep -qE 'ended the stream|lost the connection' '$T_TMP/follow2.err' || { cat '$T_TMP/follow2.err'; exit 1; }"
else
	t_fail "-f ends when the server goes away" "still running after 5 s"
	t_fail "... saying so in one line"
fi

t_done
