#!/usr/bin/env bash
# weir-agent end to end: a node namespace with pods, the real agent, real
# TCP, UDP and ICMP traffic; everything asserted through the HTTP API.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/netns/topo.sh
. "$here/topo.sh"

build=${WEIR_BUILD:-$here/../../build}
agent=$build/weir-agent
need_root
need_cmd curl jq nc python3 tcpdump promtool ethtool
[ -x "$agent" ] || t_bail "weir-agent is built" "missing $agent: run make"

GW=10.203.0.1 P1=10.203.0.11 P2=10.203.0.12 P3=10.203.0.13 P4=10.203.0.14
SOCK=$T_TMP/agent.sock
AGENT='' cap='' follower='' # set by ns_bg
EPFILE=$T_TMP/endpoints.json

bpffs_mount || t_bail "a bpffs for the pinned maps"
PIN=$T_BPFFS/weir
topo_node node "$GW/24" || t_bail "topology" "node"
topo_pod node p1 "$P1/24" "$GW" || t_bail "topology" "p1"
topo_pod node p2 "$P2/24" "$GW" || t_bail "topology" "p2"
topo_pod node p3 "$P3/24" "$GW" || t_bail "topology" "p3"

endpoints_file() {
	local docs=("$(topo_endpoint_json demo p1 "$P1" client)"
		"$(topo_endpoint_json demo p2 "$P2" server)"
		"$(topo_endpoint_json demo p3 "$P3" db)") IFS=,
	[ "${1:-}" = with-p4 ] && docs+=("$(topo_endpoint_json demo p4 "$P4" late)")
	printf '{"endpoints": [%s]}\n' "${docs[*]}" >"$EPFILE.tmp"
	mv "$EPFILE.tmp" "$EPFILE" # a rename, as config managers do
}
endpoints_file

agent_start() {
	ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-a --tc-pattern 'w*' \
		--pin-dir "$PIN" --socket "$SOCK" --listen 127.0.0.1:4244 \
		--endpoints-file "$EPFILE" --sweep-interval 200 --active-timeout 2 \
		--idle-timeout "${IDLE_TIMEOUT:-3}" "$@"
	for _ in $(seq 50); do
		api /v1/status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# api PATH [CURL ARGS...]: a call on the unix socket (the whole API).
api() {
	local path=$1

	shift
	curl -sf --max-time 5 --unix-socket "$SOCK" "$@" "http://agent$path"
}

# flows FILTER: the records matching one allowlist filter, as a JSON array.
flows() {
	api /v1/flows --get --data-urlencode "allowlist=[$1]"
}

# wait_until SECONDS COMMAND...: poll until COMMAND succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))

	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# The end record of the conversation seen on the pod-side interface IF.
end_record() {
	flows "$1" | jq -ce '[.[] | select(.flow.weir.record == "end")] | last // empty'
}

# status METHOD PATH [CURL ARGS...]: the HTTP status a call gets; the body
# goes to $T_TMP/body.
status() {
	local method=$1 path=$2

	shift 2
	curl -s -o "$T_TMP/body" -w '%{http_code}' --max-time 5 --unix-socket "$SOCK" \
		-X "$method" "$@" "http://agent$path"
}

agent_start || t_bail "the agent starts and answers on its socket" "$(cat "$T_TMP/agent.log.err")"
t_ok "the agent starts and answers on its socket"
t_check "the agent attached TC to every pod interface" \
	bash -c "for i in wp1 wp2 wp3; do ip netns exec $(ns_name node) tc filter show dev \$i ingress | grep -q weir_tc_ingress || exit 1; done"

# --- ICMP: 3 echo requests of 56 bytes from p1 to p2 ------------------------------------------
ns_exec p1 ping -c 3 -i 0.2 -q "$P2" >/dev/null || t_fail "p1 pings p2"
f_icmp='{"source_pod": ["demo/p1"], "destination_pod": ["demo/p2"], "protocol": ["icmp"], "interface": [{"name": "wp1"}]}'
wait_until 8 end_record "$f_icmp" || t_fail "an ICMP flow p1 -> p2 ends" "$(flows "$f_icmp")"
rec=$(end_record "$f_icmp")
t_is "ICMP p1 -> p2: packets" "$(jq .flow.weir.packets <<<"$rec")" 3
t_is "ICMP p1 -> p2: bytes (3 x 98)" "$(jq .flow.weir.bytes <<<"$rec")" 294
t_is "ICMP p2 -> p1 replies: packets" "$(jq .flow.weir.reply_packets <<<"$rec")" 3
t_is "ICMP p2 -> p1 replies: bytes" "$(jq .flow.weir.reply_bytes <<<"$rec")" 294
t_is "ICMP record names the pods" \
	"$(jq -r '[.flow.source.namespace, .flow.source.pod_name, .flow.destination.pod_name] | join(" ")' <<<"$rec")" \
	"demo p1 p2"
t_check "ICMP record carries the pods' labels" \
	jq -ne 'input | ((.flow.source.labels | index("k8s:app=client")) and (.flow.destination.labels | index("k8s:app=server")))' <<<"$rec"
t_is "ICMP record: node, type and end reason" \
	"$(jq -r '[.node_name, .flow.l4.ICMPv4.type, .flow.weir.end_reason] | join(" ")' <<<"$rec")" \
	"node-a 8 idle"

# --- UDP: datagrams of known sizes from p2 to p3 -----------------------------------------------
ns_bg sink p3 "$T_TMP/udp_sink" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 8888))
while True:
    s.recv(65536)'
sleep 0.3
ns_exec p2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40888))
for n in (100, 200, 300):
    s.sendto(b"x" * n, (sys.argv[1], 8888))' "$P3"
f_udp='{"source_pod": ["demo/p2"], "destination_port": ["8888"], "protocol": ["udp"], "interface": [{"name": "wp2"}]}'
wait_until 8 end_record "$f_udp" || t_fail "a UDP flow p2 -> p3 ends" "$(flows "$f_udp")"
rec=$(end_record "$f_udp")
t_is "UDP p2 -> p3: packets" "$(jq .flow.weir.packets <<<"$rec")" 3
t_is "UDP p2 -> p3: bytes (600 + 3 x 42)" "$(jq .flow.weir.bytes <<<"$rec")" 726
t_is "UDP record names the pods and ports" \
	"$(jq -r '[.flow.source.pod_name, .flow.destination.pod_name, .flow.l4.UDP.source_port, .flow.l4.UDP.destination_port] | join(" ")' <<<"$rec")" \
	"p2 p3 40888 8888"

# --- TCP: 100000 bytes from p1 to p3, checked against a capture in p1 -------------------------
ns_bg cap p1 "$T_TMP/cap.out" tcpdump -i eth0 -nn -U --immediate-mode -w "$T_TMP/tcp.pcap" \
	tcp port 7777
sleep 1
ns_bg listener p3 "$T_TMP/tcp_rx" nc -l -n -d "$P3" 7777
sleep 0.3
head -c 100000 /dev/zero | ns_exec p1 nc -N -n "$P3" 7777 || t_fail "p1 sends 100000 bytes to p3"
wait_until 5 bash -c "[ \"\$(stat -c %s '$T_TMP/tcp_rx')\" -ge 100000 ]"
sleep 1
bg_stop "$cap" INT
count() { # count SRC: packets and frame bytes from SRC in the capture
	tcpdump -r "$T_TMP/tcp.pcap" -nn -e "src host $1" 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "length") { gsub(":", "", $(i + 1)); b += $(i + 1); break } n++ } END { print n + 0, b + 0 }'
}
read -r cap_fwd_pkts cap_fwd_bytes < <(count "$P1")
read -r cap_rev_pkts cap_rev_bytes < <(count "$P3")
f_tcp='{"source_pod": ["demo/p1"], "destination_port": ["7777"], "interface": [{"name": "wp1"}]}'
wait_until 10 end_record "$f_tcp" || t_fail "the TCP flow p1 -> p3 ends" "$(flows "$f_tcp")"
rec=$(end_record "$f_tcp")
t_is "TCP p1 -> p3: packets and bytes match the capture" \
	"$(jq -r '"\(.flow.weir.packets) \(.flow.weir.bytes)"' <<<"$rec")" "$cap_fwd_pkts $cap_fwd_bytes"
t_is "TCP p3 -> p1: reply packets and bytes match the capture" \
	"$(jq -r '"\(.flow.weir.reply_packets) \(.flow.weir.reply_bytes)"' <<<"$rec")" \
	"$cap_rev_pkts $cap_rev_bytes"
t_is "TCP flow ends because FIN was seen both ways" "$(jq -r .flow.weir.end_reason <<<"$rec")" \
	end_detected
t_check "TCP record has SYN, ACK and FIN" jq -ne 'input | (.flow.l4.TCP.flags | .SYN and .ACK and .FIN)' <<<"$rec"
t_is "on p1's interface the flow is p1's EGRESS, as Hubble sees it" \
	"$(jq -r .flow.traffic_direction <<<"$rec")" EGRESS
rec=$(end_record '{"destination_pod": ["demo/p3"], "destination_port": ["7777"], "interface": [{"name": "wp3"}]}')
t_is "on p3's interface the same flow is p3's INGRESS" "$(jq -r .flow.traffic_direction <<<"$rec")" \
	INGRESS

# --- a follow stream sees a new connection within 2 s ------------------------------------------
ns_bg follower node "$T_TMP/follow" curl -sN --unix-socket "$SOCK" --get \
	--data-urlencode 'follow=1' \
	--data-urlencode 'allowlist=[{"destination_port": ["9999"]}]' http://agent/v1/flows
sleep 0.5
ns_bg listener9 p2 "$T_TMP/tcp9" nc -l -n "$P2" 9999
sleep 0.2
ns_exec p1 nc -z -n -w 1 "$P2" 9999
t_check "a follow stream shows the new connection within 2 s" \
	wait_until 2 grep -q '"destination_port":9999' "$T_TMP/follow"
t_check "the streamed record is a flow start from p1" \
	bash -c "grep -m1 '\"destination_port\":9999' '$T_TMP/follow' | jq -ne 'input | (.flow.weir.record == \"start\" and .flow.source.pod_name == \"p1\")'"
bg_stop "$follower" || true

# --- an interface made after the agent started, and an endpoints file changed --------------
topo_pod node p4 "$P4/24" "$GW" || t_fail "topology: p4"
endpoints_file with-p4
t_check "the agent attaches TC to a pod interface created after it started" \
	wait_until 5 bash -c "ip netns exec $(ns_name node) tc filter show dev wp4 ingress | grep -q weir_tc_ingress"
ns_exec p4 ping -c 2 -i 0.2 -q "$P1" >/dev/null
f_p4='{"source_pod": ["demo/p4"], "interface": [{"name": "wp4"}]}'
t_check "flows from the new pod carry its name from the reloaded endpoints file" \
	wait_until 5 bash -c "curl -sf --unix-socket '$SOCK' --get --data-urlencode 'allowlist=[$f_p4]' http://agent/v1/flows | jq -ne 'input | (length > 0 and (.[0].flow.source.labels | index(\"k8s:app=late\")))'"

# --- a killed agent, restarted, loses no counts ---------------------------------------------
send_udp() { # send_udp N [PORT]: N datagrams of 100 bytes p1:4PORT -> p2:PORT
	ns_exec p1 python3 -c '
import socket, sys
port = int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40000 + port))
for _ in range(int(sys.argv[2])):
    s.sendto(b"y" * 100, (sys.argv[1], port))' "$P2" "$1" "${2:-5555}"
}
f_rs='{"source_port": ["45555"], "destination_port": ["5555"], "interface": [{"name": "wp1"}]}'
f_keep='{"source_port": ["45556"], "destination_port": ["5556"], "interface": [{"name": "wp1"}]}'
send_udp 5
wait_until 3 bash -c "[ \"\$(curl -sf --unix-socket '$SOCK' --get --data-urlencode 'allowlist=[$f_rs]' http://agent/v1/flows | jq '[.[].flow.weir.packets] | max // 0')\" -ge 1 ]"
bg_stop "$AGENT" KILL
send_udp 5 # while the agent is down: its programs and pinned maps carry on
# An idle timeout longer than a restart on a loaded machine: with 3 s the
# restarted agent's first sweep could end the flow as idle, and the datagrams
# after it would start a new one.
IDLE_TIMEOUT=60
agent_start || t_fail "the agent restarts over its pinned maps" "$(cat "$T_TMP/agent.log.err")"
send_udp 5
wait_until 6 bash -c "[ \"\$(curl -sf --unix-socket '$SOCK' --get --data-urlencode 'allowlist=[$f_rs]' http://agent/v1/flows | jq '[.[].flow.weir.packets] | max // 0')\" -eq 15 ]"
t_is "after kill -9 and a restart the flow counts every datagram, also those sent while it was down" \
	"$(flows "$f_rs" | jq '[.[].flow.weir.packets] | max')" 15
t_is "the restarted agent replaced its TC filter instead of adding one" \
	"$(ns_exec node tc filter show dev wp1 ingress | grep -c weir_tc_ingress)" 1

# --- /metrics --------------------------------------------------------------------------------
# Per-pod series count flow starts, and the flows above began before this agent (whether
# the first counts as new depends on how long the restart took): start one now.
send_udp 1 5557
wait_until 3 bash -c "curl -sf --unix-socket '$SOCK' http://agent/metrics | grep -q 'pod=\"p1\"'"
api /metrics >"$T_TMP/metrics" || t_fail "GET /metrics"
t_check "/metrics passes promtool check metrics" bash -c "promtool check metrics <'$T_TMP/metrics'"
t_check "/metrics counts forwarded packets by direction" \
	grep -qE '^weir_forward_total\{direction="(INGRESS|EGRESS)"' "$T_TMP/metrics"
t_check "/metrics has per-pod flow series" grep -q 'pod="p1"' "$T_TMP/metrics"

# --- malformed requests get a 4xx and the agent keeps serving -------------------------------
t_is "a filter that is not JSON: 400" "$(status GET '/v1/flows?allowlist=nope')" 400
t_check "the 400 says what is wrong in JSON" jq -ne 'input | (.error | length > 0)' "$T_TMP/body"
t_is "an unknown filter field: 400" \
	"$(status GET /v1/flows --get --data-urlencode 'allowlist=[{"bogus": ["x"]}]')" 400
t_is "a bad number: 400" "$(status GET '/v1/flows?number=abc')" 400
t_is "an endpoint document that is not JSON: 400" \
	"$(status POST /v1/endpoints -H 'Content-Type: application/json' --data '{')" 400
head -c 2000000 /dev/zero | tr '\0' 'a' >"$T_TMP/huge"
t_is "a 2 MB body: 413" "$(status POST /v1/endpoints --data-binary "@$T_TMP/huge")" 413
t_is "an unknown endpoint: 404" "$(status GET /v1/nope)" 404
t_is "a wrong method: 405" "$(status DELETE /v1/status)" 405
t_is "a mutating call over TCP without the token: 403" \
	"$(ns_exec node curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' http://127.0.0.1:4244/v1/endpoints)" 403
t_check "the agent still serves after all that" api /v1/status

# --- --keep-datapath: the programs stay and keep counting; the next agent takes over ---------
bg_stop "$AGENT" TERM
agent_start --keep-datapath || t_fail "the agent starts with --keep-datapath"
send_udp 5 5556
bg_stop "$AGENT" TERM
t_is "with --keep-datapath, SIGTERM leaves the TC programs attached" \
	"$(ns_exec node tc filter show dev wp1 ingress | grep -c weir_tc_ingress)" 1
send_udp 5 5556
agent_start || t_fail "an agent starts over a kept datapath"
t_check "datagrams sent before, between and after the two agents are all counted (10)" \
	wait_until 6 bash -c "[ \"\$(curl -sf --unix-socket '$SOCK' --get --data-urlencode 'allowlist=[$f_keep]' http://agent/v1/flows | jq '[.[].flow.weir.packets] | max // 0')\" -eq 10 ]"

# --- SIGTERM: exit 0, nothing left attached -------------------------------------------------
bg_stop "$AGENT" TERM
t_is "the agent exits 0 on SIGTERM" "$?" 0
t_is "no Weir TC filter is left on the pod interfaces" \
	"$(for i in wp1 wp2 wp3 wp4; do ns_exec node tc filter show dev "$i" ingress; ns_exec node tc filter show dev "$i" egress; done | grep -c weir)" 0

t_done
