#!/usr/bin/env bash
# make demo: two simulated nodes and a relay. Each node is a network namespace
# with a bridge, pods of the Kubernetes namespace "shop" and a real weir-agent;
# the nodes are joined by a veth with routes, so pods on different nodes talk;
# weir-relay runs in a namespace of its own, linked to both nodes. Traffic
# within and across nodes, then what the relay reports: its nodes, the flows
# of both nodes merged in time order, and DEMO_SECONDS (default 20) of live
# flows, or until Ctrl-C with DEMO_SECONDS=0. Everything it made is removed
# on exit.
#
#   node-a: frontend 10.210.1.11, cart 10.210.1.12   br0 10.210.1.1
#   node-b: db 10.210.2.11, search 10.210.2.12       br0 10.210.2.1
#   node-a ab 10.210.0.1 <-> ba 10.210.0.2 node-b    (routes to each other's pods)
#   relay:  ra 10.210.101.2 <-> rl0 10.210.101.1 node-a,  rb 10.210.102.2 <-> rl0 10.210.102.1 node-b
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
export T_PREFIX="weir-demo-$$-"
# shellcheck source=tests/netns/lib.sh
. "$top/tests/netns/lib.sh"
# shellcheck source=tests/netns/topo.sh
. "$top/tests/netns/topo.sh"

seconds=${DEMO_SECONDS:-20}
# The bridges' IGMP to multicast groups is real traffic too; the filter
# language keeps it out of the way here.
deny='[{"destination_ip": ["224.0.0.0/4"]}]'
not_multicast=(--not --to-ip 224.0.0.0/4)
bpffs_mount || exit 1
RELAY_URL=http://127.0.0.1:4245
FRONTEND=10.210.1.11 CART=10.210.1.12 DB=10.210.2.11 SEARCH=10.210.2.12

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
rapi() { ns_exec relay curl -sf --max-time 5 "$@"; }

# The CLI when it is built and works, else curl and jq.
use_cli=false
"$build/weir" version >/dev/null 2>&1 && use_cli=true
weir() { ns_exec relay "$build/weir" --server "$RELAY_URL" "$@"; }

# One line per flow (the curl fallback): time, node, source -> destination, protocol, verdict.
print_flows() {
	jq -r '.[] | select(.flow) | .flow as $f |
		($f.l4 | to_entries[0]) as $l4 |
		def ep(e; ip; port): if e.pod_name then "\(e.namespace)/\(e.pod_name)" else ip end +
			(if port then ":\(port)" else "" end);
		[($f.time | sub("\\.[0-9]+"; "") | sub("T"; " ")), $f.node_name,
		 "\($f.interface.name // "-") \($f.traffic_direction // "" | ascii_downcase)",
		 ep($f.source; $f.IP.source; $l4.value.source_port), "->",
		 ep($f.destination; $f.IP.destination; $l4.value.destination_port),
		 $l4.key, $f.verdict, ($f.weir.record // "")] | @tsv' | column -t -s $'\t'
}

# An endpoint document of every pod, with its node: the agents share it, as
# they would share a Kubernetes API's view of the cluster.
endpoint() { # endpoint POD IP APP NODE KIND
	printf '{"ips": ["%s"], "namespace": "shop", "pod_name": "%s", "labels": {"app": "%s"}, "node_name": "%s", "workload": {"name": "%s", "kind": "%s"}}' \
		"$2" "$1" "$3" "$4" "$1" "$5"
}

# quiet NS...: no IPv6 (its neighbour discovery would fill the screen), forwarding on.
quiet() {
	local n

	for n in "$@"; do
		ns_exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 net.ipv4.ip_forward=1 || return
	done
}

# link A IF_A ADDR_A B IF_B ADDR_B: a veth between two namespaces, addressed, up.
link() {
	veth_add "$1" "$2" "$4" "$5" || return
	ns_exec "$1" ip addr add "$3" dev "$2" && ns_exec "$1" ip link set "$2" up &&
		ns_exec "$4" ip addr add "$6" dev "$5" && ns_exec "$4" ip link set "$5" up
}

build_topology() {
	ns_add relay && quiet relay || return
	topo_node node-a 10.210.1.1/24 && quiet node-a || return
	topo_node node-b 10.210.2.1/24 && quiet node-b || return
	topo_pod node-a frontend "$FRONTEND/24" 10.210.1.1 && quiet frontend || return
	topo_pod node-a cart "$CART/24" 10.210.1.1 && quiet cart || return
	topo_pod node-b db "$DB/24" 10.210.2.1 && quiet db || return
	topo_pod node-b search "$SEARCH/24" 10.210.2.1 && quiet search || return
	link node-a ab 10.210.0.1/30 node-b ba 10.210.0.2/30 || return
	ns_exec node-a ip route add 10.210.2.0/24 via 10.210.0.2 || return
	ns_exec node-b ip route add 10.210.1.0/24 via 10.210.0.1 || return
	link relay ra 10.210.101.2/24 node-a rl0 10.210.101.1/24 || return
	link relay rb 10.210.102.2/24 node-b rl0 10.210.102.1/24 || return
	{
		echo '{"endpoints": ['
		endpoint frontend "$FRONTEND" frontend node-a Deployment && echo ,
		endpoint cart "$CART" cart node-a Deployment && echo ,
		endpoint db "$DB" db node-b StatefulSet && echo ,
		endpoint search "$SEARCH" search node-b Deployment
		echo ']}'
	} >"$T_TMP/endpoints.json"
}

# agent NODE: the node's weir-agent, TC on every pod interface (w*), API on TCP.
agent() {
	local var=agent_${1#node-}

	ns_bg "$var" "$1" "$T_TMP/$1.log" "$build/weir-agent" --node-name "$1" \
		--tc-pattern 'w*' --pin-dir "$T_BPFFS/$1" --socket "$T_TMP/$1.sock" \
		--listen 0.0.0.0:4244 --endpoints-file "$T_TMP/endpoints.json" \
		--sweep-interval 500 --active-timeout 5 --idle-timeout 5
}

traffic() {
	# Within node-a: frontend -> cart, TCP.
	head -c 50000 /dev/urandom | ns_exec frontend nc -N -n -w 2 "$CART" 8080
	# Across nodes: frontend pings db; cart -> db, UDP; frontend -> search, TCP.
	ns_exec frontend ping -c 2 -i 0.2 -q "$DB" >/dev/null
	ns_exec cart python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (64, 512, 1200):
    s.sendto(b"q" * n, (sys.argv[1], 5432))' "$DB"
	echo 'GET /?q=weir' | ns_exec frontend nc -N -n -w 2 "$SEARCH" 9200 >/dev/null
}

say "Building two nodes (node-a: frontend, cart; node-b: db, search) and a relay namespace"
build_topology || { echo "building the topology failed" >&2; exit 1; }

say "Starting weir-agent on both nodes and weir-relay beside them"
agent node-a
agent node-b
for n in node-a node-b; do
	wait_for 5 ns_exec "$n" curl -sf --max-time 1 http://127.0.0.1:4244/v1/status ||
		{ cat "$T_TMP/$n.log.err"; exit 1; }
done
ns_bg relay_pid relay "$T_TMP/relay.log" "$build/weir-relay" --listen 127.0.0.1:4245 \
	--peer 10.210.101.1:4244 --peer 10.210.102.1:4244 --status-interval 2s
connected() {
	rapi "$RELAY_URL/v1/status" | jq -ne 'input | .num_connected_nodes == 2'
}
wait_for 10 connected || { cat "$T_TMP/relay.log.err"; exit 1; }

ns_bg web cart /dev/null bash -c "while nc -l -n -d $CART 8080 >/dev/null; do :; done"
ns_bg api search /dev/null bash -c "while echo ok | nc -l -n -q 0 $SEARCH 9200 >/dev/null; do :; done"
ns_bg sink db /dev/null python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5432))
while True:
    s.recv(65536)'
sleep 0.3

say "The relay's nodes (weir nodes)"
if "$use_cli"; then
	weir nodes
else
	rapi "$RELAY_URL/v1/nodes" | jq -c '.[] | {name, state, address, last_contact, flows_seen}'
fi

say "Traffic: frontend -> cart (TCP, within node-a); frontend -> db (ICMP), cart -> db (UDP) and frontend -> search (TCP), across nodes"
traffic
sleep 2 # the relay holds records for its 1 s sort window, then merges them in time order
say "Flows from both nodes through the relay, in time order (weir observe --server $RELAY_URL)"
echo "A flow across nodes shows twice: leaving its pod on one node, reaching its pod on the other."
if "$use_cli"; then
	weir observe --last 40 --print-node-name "${not_multicast[@]}"
else
	rapi --get --data-urlencode number=40 --data-urlencode "denylist=$deny" "$RELAY_URL/v1/flows" |
		print_flows
fi

say "Relay status (weir status)"
if "$use_cli"; then
	weir status
else
	rapi "$RELAY_URL/v1/status" | jq -c .
fi

if [ "$seconds" -eq 0 ]; then
	say "Live flows through the relay (weir observe -f), until Ctrl-C"
else
	say "Live flows through the relay (weir observe -f) for $seconds s, traffic every few seconds"
fi
(
	end=$((SECONDS + seconds))
	while [ "$seconds" -eq 0 ] || [ "$SECONDS" -lt "$end" ]; do
		traffic >/dev/null 2>&1
		sleep 3
	done
) &
T_PIDS+=("$!")
if "$use_cli"; then
	if [ "$seconds" -gt 0 ]; then
		timeout "$seconds" ip netns exec "$(ns_name relay)" "$build/weir" --server "$RELAY_URL" \
			observe -f --print-node-name "${not_multicast[@]}"
	else
		weir observe -f --print-node-name "${not_multicast[@]}"
	fi
else
	timeout_arg=()
	[ "$seconds" -gt 0 ] && timeout_arg=(--max-time "$seconds")
	ns_exec relay curl -sN "${timeout_arg[@]}" --get --data-urlencode follow=1 \
		--data-urlencode "denylist=$deny" "$RELAY_URL/v1/flows" |
		while read -r line; do printf '[%s]\n' "$line" | print_flows; done
fi
say "Done: removing the namespaces"
