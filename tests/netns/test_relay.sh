#!/usr/bin/env bash
# weir-relay end to end: three nodes, each a namespace with pods and a real
# agent listening on TCP, a fake agent that sends garbage, and the relay in
# its own namespace, linked to each by a veth. Everything is asserted through
# the relay's API, as a user would see it.
#
#   relay ns: n1 10.230.1.2 -- rl0 10.230.1.1 :node-1 (agent :4244, pods n1a n1b)
#             n2 10.230.2.2 -- rl0 10.230.2.1 :node-2 (agent :4244, pods n2a n2b)
#             n3 10.230.3.2 -- rl0 10.230.3.1 :node-3 (agent :4244, pods n3a n3b)
#             fk 10.230.9.2 -- rl0 10.230.9.1 :fake   (garbage on :4244)
#
# node-1, node-2 and the fake are --peer's; node-3 comes from DNS
# (--peer-dns, the relay namespace's /etc/hosts through /etc/netns). An agent
# stops and restarts, a name stops resolving, a link breaks.

# Functions called through wait_for and t_check look unreachable to shellcheck.
# shellcheck disable=SC2317
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
need_cmd curl jq python3 promtool ethtool ping
[ -x "$agent" ] || t_bail "weir-agent is built" "missing $agent: run make"
[ -x "$relay" ] || t_bail "weir-relay is built" "missing $relay: run make"

RELAY=relay
DNS_NAME=nodes.weir-test
HOSTS_DIR=/etc/netns/$(ns_name "$RELAY")
# shellcheck disable=SC2034 # FAKE: killed at exit, like everything ns_bg starts
RELAY_PID='' FOLLOW='' FAKE='' AG2='' # set by ns_bg (AG1, AG3 too)

bpffs_mount || t_bail "a bpffs for the pinned maps"

# node_setup I: node-I with two pods and a link to the relay namespace.
node_setup() {
	local i=$1 n=n$1 gw=10.24$1.0.1

	topo_node "$n" "$gw/24" || return
	topo_pod "$n" "${n}a" "10.24$i.0.11/24" "$gw" || return
	topo_pod "$n" "${n}b" "10.24$i.0.12/24" "$gw" || return
	veth_add "$RELAY" "$n" "$n" rl0 || return
	ns_exec "$n" ip addr add "10.230.$i.1/24" dev rl0 || return
	ns_exec "$n" ip link set rl0 up || return
	ns_exec "$RELAY" ip addr add "10.230.$i.2/24" dev "$n" || return
	ns_exec "$RELAY" ip link set "$n" up || return
	{
		printf '{"endpoints": [%s,\n' "$(topo_endpoint_json demo "${n}a" "10.24$i.0.11" client)"
		printf '%s]}\n' "$(topo_endpoint_json demo "${n}b" "10.24$i.0.12" server)"
	} >"$T_TMP/endpoints-$n.json"
}

# agent_start I: node-I's agent, listening on every address of its node.
agent_start() {
	local i=$1 var=AG$1

	ns_bg "$var" "n$i" "$T_TMP/agent$i.log" "$agent" --node-name "node-$i" \
		--tc-pattern 'w*' --pin-dir "$T_BPFFS/weir$i" --socket "$T_TMP/agent$i.sock" \
		--listen 0.0.0.0:4244 --endpoints-file "$T_TMP/endpoints-n$i.json" \
		--sweep-interval 200 --active-timeout 2 --idle-timeout 3
	wait_for 5 ns_exec "n$i" curl -sf --max-time 1 http://127.0.0.1:4244/v1/status
}

ns_add "$RELAY" fake || t_bail "topology" "namespaces"
for i in 1 2 3; do
	node_setup "$i" || t_bail "topology" "node-$i"
done
veth_add "$RELAY" fk fake rl0 || t_bail "topology" "fake link"
fake_link() {
	ns_exec fake ip addr add 10.230.9.1/24 dev rl0 && ns_exec fake ip link set rl0 up &&
		ns_exec "$RELAY" ip addr add 10.230.9.2/24 dev fk && ns_exec "$RELAY" ip link set fk up
}
fake_link || t_bail "topology" "fake addresses"

# node-3 by name: `ip netns exec` mounts /etc/netns/NS/hosts over /etc/hosts
# (and nsswitch.conf: names are looked up in that file alone, so one that is
# not there is gone, not a DNS server out of reach).
made_etc_netns=false
[ -d /etc/netns ] || made_etc_netns=true
mkdir -p "$HOSTS_DIR" || t_bail "a hosts file for the relay namespace"
t_on_exit "rm -rf '$HOSTS_DIR'"
"$made_etc_netns" && t_on_exit "rmdir /etc/netns 2>/dev/null"
echo 'hosts: files' >"$HOSTS_DIR/nsswitch.conf"
hosts() { # hosts ADDRESS...: DNS_NAME resolves to these (written in place: the mount follows)
	local a

	{
		echo "127.0.0.1 localhost"
		for a in "$@"; do
			echo "$a $DNS_NAME"
		done
	} >"$HOSTS_DIR/hosts"
}
hosts 10.230.3.1

for i in 1 2 3; do
	agent_start "$i" || t_bail "agent node-$i starts" "$(cat "$T_TMP/agent$i.log.err")"
done
ns_bg FAKE fake "$T_TMP/fake.log" python3 "$here/relay_fake_peer.py" 10.230.9.1 4244
t_ok "three agents and a fake agent start"

ns_bg RELAY_PID "$RELAY" "$T_TMP/relay.log" "$relay" --listen 127.0.0.1:4245 \
	--peer 10.230.1.1:4244 --peer 10.230.2.1:4244 --peer 10.230.9.1:4244 \
	--peer-dns "$DNS_NAME:4244" --resolve-interval 1s --status-interval 1s \
	--backoff-max 4s --sort-window 2s --connect-timeout 2s

# jq 1.6 -e exits 0 on empty input: checks read their input with -n and
# `input`, so a relay that does not answer fails them.

# rapi PATH [CURL ARGS...]: a call to the relay.
rapi() {
	local path=$1

	shift
	ns_exec "$RELAY" curl -sf --max-time 5 "$@" "http://127.0.0.1:4245$path"
}

# node_field NAME FIELD: a field of one node in /v1/nodes.
node_field() {
	rapi /v1/nodes | jq -r --arg n "$1" --arg f "$2" '.[] | select(.name == $n) | .[$f]'
}

node_state_is() {
	[ "$(node_field "$1" state)" = "$2" ]
}

# relay_flows FILTER: the relay's records matching one allowlist filter.
relay_flows() {
	rapi /v1/flows --get --data-urlencode "allowlist=[$1]"
}

# flows_from POD NODE: the relay has a record from POD, and all such name NODE.
flows_from() {
	relay_flows "{\"source_pod\": [\"demo/$1\"]}" |
		jq -ne --arg n "$2" 'input | length > 0 and all(.[]; .node_name == $n and .flow.node_name == $n)'
}

# ping_pods I: traffic inside node-I, pod a to pod b.
ping_pods() {
	ns_exec "n$1a" ping -c 2 -i 0.2 -q "10.24$1.0.12" >/dev/null
}

all_connected() {
	rapi /v1/nodes | jq -ne 'input | [.[] | select(.name | startswith("node-")) | .state] ==
		["NODE_CONNECTED", "NODE_CONNECTED", "NODE_CONNECTED"]'
}
wait_for 10 all_connected ||
	t_bail "the relay connects to the three agents" "$(rapi /v1/nodes)" "$(cat "$T_TMP/relay.log.err")"
t_ok "the relay connects to the three agents, node-3 found through DNS"
t_is "the nodes are named from their status, addressed as given" \
	"$(rapi /v1/nodes | jq -r '[.[] | select(.name | startswith("node-")) | "\(.name)=\(.address)=\(.source)"] | join(" ")')" \
	"node-1=10.230.1.1:4244=static node-2=10.230.2.1:4244=static node-3=10.230.3.1:4244=dns"

# A follow stream through the relay for the whole test: node status events.
ns_bg FOLLOW "$RELAY" "$T_TMP/follow" curl -sN 'http://127.0.0.1:4245/v1/flows?follow=1'
sleep 0.3
t_check "a follow stream opens with the nodes' state (NODE_CONNECTED)" \
	wait_for 3 jq -se 'any(.[]; .node_status.state_change == "NODE_CONNECTED" and
		(.node_status.node_names | index("node-1") and index("node-2") and index("node-3")))' \
	"$T_TMP/follow"

# --- flows from every node, with its name, in time order --------------------------------------
for i in 1 2 3; do
	ping_pods "$i" || t_fail "pods ping inside node-$i"
done
for i in 1 2 3; do
	t_check "flows from node-$i's pods come through the relay named node-$i" \
		wait_for 5 flows_from "n${i}a" "node-$i"
done
t_is "the relay reads the three agents' streams in the compact format (/v1/nodes format)" \
	"$(rapi /v1/nodes | jq -r '[.[] | select(.name | startswith("node-")) | .format] | join(" ")')" \
	"compact compact compact"
# compact_header: an agent's compact answer is NDJSON (jq reads every line), its header first.
compact_header() {
	ns_exec n1 curl -sf --max-time 5 'http://127.0.0.1:4244/v1/flows?format=compact&number=20' |
		jq -se '.[0] == {"format": "compact", "version": 1} and
			any(.[]; type == "array" and (.[0] | type) == "number")'
}
t_check "an agent's /v1/flows?format=compact reads with jq: the header, then record arrays" \
	compact_header
t_is "an unknown format on the agent: 400" \
	"$(ns_exec n1 curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:4244/v1/flows?format=xml')" 400
t_check "the follow stream carries flows of all three nodes" \
	wait_for 3 jq -se '[.[] | .flow.node_name // empty] | index("node-1") and index("node-2") and index("node-3")' \
	"$T_TMP/follow"

# Times as ns, for comparing: protojson's fraction has 0, 3, 6 or 9 digits.
in_time_order() {
	python3 -c '
import json, sys
def ns(t):
    s, _, frac = t.rstrip("Z").partition(".")
    return s, int((frac + "000000000")[:9])
times = [ns(r["flow"]["time"]) for r in json.load(sys.stdin)]
bad = [i for i in range(1, len(times)) if times[i] < times[i - 1]]
print(len(times), "records", "out of order at", bad[:5] if bad else "none")
sys.exit(1 if bad or len(times) < 6 else 0)'
}
rapi /v1/flows >"$T_TMP/all.json"
t_check "the relay's records are in time order" in_time_order <"$T_TMP/all.json"
t_is "no record came late so far" "$(rapi /v1/status | jq .relay.late_records)" 0
status=$(rapi /v1/status)
t_check "/v1/status sums the nodes' figures" jq -ne \
	'input | .num_connected_nodes == 3 and .max_flows == 3 * 65535 and .seen_flows > 0 and .num_flows > 0' \
	<<<"$status"

# --- a fake agent that sends garbage: error, and nobody else notices ---------------------------
# fake_error REGEX: the fake agent is in error, its last error matching REGEX.
fake_error() {
	rapi /v1/nodes | jq -ne --arg re "$1" \
		'input | any(.[]; .name == "fake-node" and .state == "NODE_ERROR" and (.last_error | test($re)))'
}
t_check "the fake agent is in error after a burst of invalid lines" \
	wait_for 5 fake_error "invalid lines"
t_check "... and in error for a line that never ends" \
	wait_for 10 fake_error "line over 1048576 bytes"
t_check "its invalid lines are counted" \
	jq -ne 'input | any(.[]; .name == "fake-node" and .parse_errors >= 13)' <<<"$(rapi /v1/nodes)"
t_check "follow streams hear of the error (NODE_ERROR)" \
	jq -se 'any(.[]; .node_status.state_change == "NODE_ERROR" and .node_status.node_names == ["fake-node"])' \
	"$T_TMP/follow"
t_check "the three agents stay connected meanwhile" all_connected

# --- one agent stops: the relay serves the others and reports it --------------------------------
bg_stop "$AG2" TERM
t_check "node-2 is reported unavailable in /v1/nodes" wait_for 5 node_state_is node-2 NODE_UNAVAILABLE
status=$(rapi /v1/status)
t_check "/v1/status counts node-2 unavailable, the other two connected" jq -ne \
	'input | .num_connected_nodes == 2 and (.unavailable_nodes | index("node-2")) and .num_unavailable_nodes == 2' \
	<<<"$status"
t_check "follow streams hear node-2 is unavailable" \
	wait_for 2 jq -se 'any(.[]; .node_status.state_change == "NODE_UNAVAILABLE" and .node_status.node_names == ["node-2"])' \
	"$T_TMP/follow"
# flows_count POD: how many of the relay's records come from POD.
flows_count() {
	relay_flows "{\"source_pod\": [\"demo/$1\"]}" | jq length
}
# more_flows POD N: the relay has more than N records from POD.
more_flows() {
	[ "$(flows_count "$1")" -gt "$2" ]
}
n1=$(flows_count n1a) n3=$(flows_count n3a)
ping_pods 1
ping_pods 3
others_flow() {
	more_flows n1a "$n1" && more_flows n3a "$n3"
}
t_check "flows from node-1 and node-3 keep coming while node-2 is down" wait_for 5 others_flow
t_check "history stays queryable, node-2's too" flows_from n2a node-2

sleep 3 # the relay's retries back off meanwhile
agent_start 2 || t_fail "node-2's agent restarts"
restarted=$SECONDS
if wait_for 10 node_state_is node-2 NODE_CONNECTED; then
	t_ok "the relay picks node-2 up again within 10 s of its restart ($((SECONDS - restarted)) s)"
else
	t_fail "the relay picks node-2 up again within 10 s of its restart" "$(rapi /v1/nodes)"
fi
n2=$(flows_count n2a)
ping_pods 2
t_check "new flows from node-2 come through again" wait_for 5 more_flows n2a "$n2"

# --- DNS: a node whose address leaves the name is dropped, and comes back with it -------------
hosts
node_gone() {
	rapi /v1/nodes | jq -ne 'input | all(.[]; .name != "node-3")'
}
t_check "node-3 is dropped once its name no longer resolves to it" wait_for 5 node_gone
hosts 10.230.3.1
t_check "... and is followed again when it does" wait_for 8 node_state_is node-3 NODE_CONNECTED

# --- the relay's link to node-1 breaks: records made meanwhile arrive once it is back ----------
# icmp_starts: node-1's ICMP flow-start records from pod n1a at its interface, through the relay.
icmp_starts() {
	relay_flows '{"source_pod": ["demo/n1a"], "protocol": ["icmp"], "interface": [{"name": "wn1a"}]}' |
		jq '[.[] | select(.flow.weir.record == "start")] | length'
}
starts_are() {
	[ "$(icmp_starts)" -eq "$1" ]
}
before=$(icmp_starts)
ns_exec "$RELAY" ip link set n1 down
t_check "node-1 is unavailable once the relay cannot reach it" \
	wait_for 8 node_state_is node-1 NODE_UNAVAILABLE
ping_pods 1 # a new conversation, its start record made while the relay is cut off
sleep 0.5
ns_exec "$RELAY" ip link set n1 up
t_check "the relay reconnects to node-1" wait_for 8 node_state_is node-1 NODE_CONNECTED
t_check "the record made during the outage arrives after it (the stream resumes from the last record)" \
	wait_for 5 starts_are $((before + 1))

# --- /metrics, then SIGTERM -----------------------------------------------------------------
rapi /metrics >"$T_TMP/metrics" || t_fail "GET /metrics"
t_check "/metrics passes promtool check metrics" bash -c "promtool check metrics <'$T_TMP/metrics'"
t_check "/metrics has each node's state" \
	grep -q '^weir_relay_node_state{node="node-1",address="10.230.1.1:4244",state="NODE_CONNECTED"} 1' "$T_TMP/metrics"
t_check "/metrics counts records per node and the fake's parse errors" bash -c \
	"grep -qE '^weir_relay_node_records_total\{node=\"node-1\",.*\} [1-9]' '$T_TMP/metrics' &&
	 grep -qE '^weir_relay_node_parse_errors_total\{node=\"fake-node\",.*\} [1-9]' '$T_TMP/metrics'"
t_check "/metrics has late records and the store's fill" \
	grep -qE '^weir_relay_late_records_total [0-9]+$' "$T_TMP/metrics"
t_is "a wrong method on the relay: 405" \
	"$(ns_exec "$RELAY" curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:4245/v1/nodes)" 405
t_is "a bad filter on the relay: 400" \
	"$(ns_exec "$RELAY" curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:4245/v1/flows?allowlist=nope')" 400

bg_stop "$RELAY_PID" TERM
t_is "the relay exits 0 on SIGTERM" "$?" 0
t_check "its follow streams end with it" wait_for 3 bash -c "! kill -0 $FOLLOW 2>/dev/null"
t_check "the relay logged no error" bash -c "! grep 'level=error' '$T_TMP/relay.log.err'"

t_done
