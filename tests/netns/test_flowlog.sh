#!/usr/bin/env bash
# Flow logs end to end: the real agent with a flow log from flags (filters,
# a field mask, rotation) and two from a --flowlog-config file (aggregated;
# stdout), and the relay with a flow log of the merged records; real UDP,
# TCP and ICMP between two pods. The files hold exactly what the filters
# pass, in the mask's fields, rotated into max-files files, and the
# aggregated lines add up to the packets and bytes sent.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/netns/topo.sh
. "$here/topo.sh"

build=${WEIR_BUILD:-$here/../../build}
agent=$build/weir-agent
relay=$build/weir-relay
need_root
need_cmd curl jq nc python3 ethtool
for bin in "$agent" "$relay"; do
	[ -x "$bin" ] || t_bail "weir-agent and weir-relay are built" "missing $bin: run make"
done

GW=10.206.0.1 P1=10.206.0.11 P2=10.206.0.12
SOCK=$T_TMP/agent.sock EPFILE=$T_TMP/endpoints.json LOG=$T_TMP/flows.log AGG=$T_TMP/agg.log
RLOG=$T_TMP/relay.log
AGENT='' RELAY='' # set by ns_bg
N_UDP=40 N_DENIED=3

bpffs_mount || t_bail "a bpffs for the pinned maps"
topo_node node "$GW/24" || t_bail "topology" "node"
topo_pod node p1 "$P1/24" "$GW" || t_bail "topology" "p1"
topo_pod node p2 "$P2/24" "$GW" || t_bail "topology" "p2"
printf '{"endpoints": [%s, %s]}\n' "$(topo_endpoint_json shop p1 "$P1" client)" \
	"$(topo_endpoint_json shop p2 "$P2" server)" >"$EPFILE"
# Aggregated per pod pair, port and protocol over 2 s, as seen on p1's interface;
# ICMP records on stdout (the agent's log here).
cat >"$T_TMP/flowlogs.json" <<EOF
{"flowlogs": [
  {"name": "per-port", "file": "$AGG", "aggregate_interval": "2s",
   "allow": {"interface": [{"name": "wp1"}]},
   "aggregate_by": ["source_pod", "destination_pod", "destination_port", "protocol"]},
  {"name": "icmp", "file": "-", "allow": [{"protocol": ["icmp"], "ip_version": ["IPv4"]}], "fields": "verdict,l4,weir.record"}
]}
EOF

api() {
	curl -sf --max-time 5 --unix-socket "$SOCK" "http://agent$1"
}

wait_until() {
	local deadline=$((SECONDS + $1))

	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# shellcheck disable=SC2317 # called through wait_until
all_ended() {
	[ "$(api /v1/status | jq .active_flows)" = 0 ]
}

ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-a --tc-pattern 'w*' \
	--pin-dir "$T_BPFFS/weir" --socket "$SOCK" --listen 127.0.0.1:4244 --endpoints-file "$EPFILE" \
	--sweep-interval 200 --active-timeout 2 --idle-timeout 2 \
	--flowlog-file "$LOG" --flowlog-allow '[{"protocol": ["udp"]}]' \
	--flowlog-deny '[{"destination_port": ["6666"]}]' \
	--flowlog-fields 'time,verdict,IP.source,IP.destination,l4,source.pod_name,destination.pod_name,weir.record,weir.packets,weir.bytes' \
	--flowlog-max-size 4K --flowlog-max-files 3 --flowlog-config "$T_TMP/flowlogs.json"
wait_for 5 api /v1/status || t_bail "the agent starts with flow logs" "$(cat "$T_TMP/agent.log.err")"
t_ok "the agent starts with three flow logs"
ns_bg RELAY node "$T_TMP/relay.out" "$relay" --peer 127.0.0.1:4244 --listen 127.0.0.1:4245 \
	--sort-window 200ms --flowlog-file "$RLOG" \
	--flowlog-allow '[{"destination_port": ["6666"], "interface": [{"name": "wp1"}]}]'
wait_for 5 bash -c "ip netns exec $(ns_name node) curl -sf http://127.0.0.1:4245/v1/nodes | jq -e '.[0].state == \"NODE_CONNECTED\"'" ||
	t_fail "the relay connects to the agent" "$(cat "$T_TMP/relay.out.err")"

# --- traffic: UDP to 5555 from N_UDP source ports, UDP to 6666 (denied), TCP, ICMP --------
ns_bg sink p2 "$T_TMP/sink" python3 -c '
import select, socket
socks = []
for port in (5555, 6666):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        s.recv(65536)'
ns_bg tcpsink p2 "$T_TMP/tcp_rx" nc -l -n -d "$P2" 7777
sleep 0.3
ns_exec p1 python3 -c '
import socket
for port, n in ((5555, '"$N_UDP"'), (6666, '"$N_DENIED"')):
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"x" * 100, ("'"$P2"'", port))
        s.close()' || t_fail "p1 sends UDP"
head -c 20000 /dev/zero | ns_exec p1 nc -n -q 0 "$P2" 7777 || t_fail "p1 sends TCP"
ns_exec p1 ping -c 2 -i 0.2 -q "$P2" >/dev/null || t_fail "p1 pings p2"
wait_until 15 all_ended || t_fail "every flow ends" "$(api /v1/status)"
sleep 2.5 # the aggregation interval closes
st=$(api /v1/status)
rst=$(ns_exec node curl -sf http://127.0.0.1:4245/v1/status)
bg_stop "$RELAY" || t_fail "the relay stops cleanly"
bg_stop "$AGENT" || t_fail "the agent stops cleanly"

# --- the flags' flow log: filters, mask, rotation ----------------------------------------------
t_is "rotation: FILE, FILE.1 .. FILE.3 and no FILE.4" \
	"$(find "$T_TMP" -maxdepth 1 -name 'flows.log*' -printf '%f\n' | sort | tr '\n' ' ')" \
	"flows.log flows.log.1 flows.log.2 flows.log.3 "
t_check "rotated files stay within --flowlog-max-size 4K" \
	bash -c "for f in '$LOG'.1 '$LOG'.2 '$LOG'.3; do s=\$(stat -c %s \"\$f\"); [ \"\$s\" -le 4096 ] && [ \"\$s\" -gt 3000 ] || exit 1; done"
cat "$LOG".3 "$LOG".2 "$LOG".1 "$LOG" >"$T_TMP/all.ndjson"
t_check "every line is a JSON object" jq -se 'length > 0 and all(type == "object")' "$T_TMP/all.ndjson"
t_is "only UDP, never the denied port 6666" \
	"$(jq -r '.flow.l4 | keys[0] + " " + (.UDP.destination_port | tostring)' "$T_TMP/all.ndjson" | sort -u)" \
	"UDP 5555"
t_is "each flow only in the mask's fields" \
	"$(jq -c '.flow | [paths(scalars)] | map(map(tostring) | join(".")) | map(select(startswith("l4") | not)) | sort' "$T_TMP/all.ndjson" | sort -u | head -3)" \
	'["IP.destination","IP.source","destination.pod_name","source.pod_name","time","verdict","weir.bytes","weir.packets","weir.record"]'
t_is "the newest lines are there: the last end records, 1 packet of 142 bytes" \
	"$(tail -1 "$LOG" | jq -c '[.flow.weir.record, .flow.weir.packets, .flow.weir.bytes, .flow.source.pod_name, .flow.destination.pod_name]')" \
	'["end",1,142,"p1","p2"]'
t_is "status: the flow log's lines, no write errors, rotations" \
	"$(jq -c --arg f "$LOG" '.flowlogs[$f] | [.lines > 0, .write_errors, .queue_lost, .rotations >= 3]' <<<"$st")" \
	"[true,0,0,true]"

# --- the aggregated flow log: per port, the packets and bytes sent -----------------------------
t_is "aggregation: per destination port, the sums of every interval" \
	"$(jq -sc 'group_by(.flow.l4.UDP.destination_port // .flow.l4.TCP.destination_port // 0) | map({port: (.[0].flow.l4 | to_entries[0].value.destination_port // 0), packets: (map(.flow.weir.packets // 0) | add), bytes: (map(.flow.weir.bytes // 0) | add), flows: (map(.flow.weir.aggregate.flows) | add)}) | map(select(.port == 5555 or .port == 6666))' "$AGG")" \
	"[{\"port\":5555,\"packets\":$N_UDP,\"bytes\":$((N_UDP * 142)),\"flows\":$N_UDP},{\"port\":6666,\"packets\":$N_DENIED,\"bytes\":$((N_DENIED * 142)),\"flows\":$N_DENIED}]"
t_check "aggregated UDP lines carry the pods and Hubble's aggregate counts, no record identity" \
	jq -se 'map(select(.flow.l4.UDP)) | length >= 2 and all(.flow.source.pod_name == "p1" and .flow.destination.pod_name == "p2" and (.flow.aggregate.egress_flow_count >= 1) and (.flow.uuid == null) and (.flow.IP.source == null))' "$AGG"

# --- the relay's flow log: the merged records that pass its filter -----------------------------
t_is "relay flow log: the denied port's start and end records, from node-a" \
	"$(jq -c '[.node_name, .flow.weir.record, .flow.l4.UDP.destination_port]' "$RLOG" | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" \
	"$N_DENIED [\"node-a\",\"end\",6666] $N_DENIED [\"node-a\",\"start\",6666] "
t_check "relay status: its flow log's lines" \
	jq -e --arg f "$RLOG" ".relay.flowlogs[\$f].lines == $((2 * N_DENIED))" <<<"$rst"

# --- stdout: the ICMP records, masked ---------------------------------------------------------
t_is "stdout flow log: the ICMP records only, masked" \
	"$(grep '^{' "$T_TMP/agent.log" | jq -c '[.flow.verdict, (.flow.l4 | keys[0]), (.flow | keys | length)]' | sort -u)" \
	'["FORWARDED","ICMPv4",3]'
t_check "stdout flow log: the pings' start and end records" \
	bash -c "grep '^{' '$T_TMP/agent.log' | jq -se 'map(.flow.weir.record) | index(\"start\") and index(\"end\")'"
t_done
