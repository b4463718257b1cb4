#!/usr/bin/env bash
# make demo: what Weir does, end to end, on two simulated nodes and a relay.
# Each node is a network namespace with a bridge, pods of the Kubernetes
# namespace "shop" and a real weir-agent; the nodes are joined by a veth with
# routes, so pods on different nodes talk; weir-relay runs in a namespace of
# its own, linked to both nodes, and keeps a history in SQLite. The demo then
# shows, each step with the command it runs:
#   flows of both nodes through the relay (weir nodes, weir observe, status);
#   a load-balanced service on node-a (XDP DNAT on its uplink ab, TC reverse
#     NAT), reached from a pod on node-b (weir lb, weir observe --to-ip VIP);
#   an endpoint policy on db (weir policy apply -f scripts/demo_policy.json):
#     cart may send to db, frontend is dropped as POLICY_DENIED;
#   the XDP prefilter on node-a: a crawler pod's address dropped as
#     PREFILTER_DENIED (weir prefilter);
#   node-a's flow log file, weir top from the relay's history,
#   and DEMO_SECONDS (default 10) of live flows, or until Ctrl-C with
#     DEMO_SECONDS=0; none with --no-follow (or DEMO_FOLLOW=0).
# Everything it made (namespaces, processes, bpffs, temp dir) is removed on
# exit, Ctrl-C or failure; the machine's own interfaces and routes are never
# touched.
#
#   usage: scripts/demo.sh [--no-follow] [BUILD_DIR]
#
#   node-a: frontend .1.11, cart .1.12, catalog-1 .1.21, catalog-2 .1.22   br0 10.210.1.1
#   node-b: db .2.11, search .2.12, crawler .2.66                          br0 10.210.2.1
#   node-a ab 10.210.0.1 <-> ba 10.210.0.2 node-b  (routes to each other's pods;
#           node-b routes the service range 10.96.0.0/24 to node-a)
#   relay:  ra 10.210.101.2 <-> rl0 10.210.101.1 node-a,  rb 10.210.102.2 <-> rl0 10.210.102.1 node-b
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
follow=${DEMO_FOLLOW:-1}
if [ "${1:-}" = --no-follow ]; then
	follow=0
	shift
fi
build=$(cd "${1:-$top/build}" 2>/dev/null && pwd) || {
	echo "demo: no build directory ${1:-$top/build}: run make" >&2
	exit 1
}
for b in weir weir-agent weir-relay; do
	[ -x "$build/$b" ] || {
		echo "demo: $build/$b is not built: run make" >&2
		exit 1
	}
done
cd "$top" || exit 1
export T_PREFIX="weir-demo-$$-"
# shellcheck source=tests/netns/lib.sh
. "$top/tests/netns/lib.sh"
# shellcheck source=tests/netns/topo.sh
. "$top/tests/netns/topo.sh"
# The commands the demo prints are the ones it runs, by name.
PATH=$build:$PATH

seconds=${DEMO_SECONDS:-10}
bpffs_mount || exit 1
RELAY=http://127.0.0.1:4245
SOCK_A=$T_TMP/node-a.sock SOCK_B=$T_TMP/node-b.sock
FRONTEND=10.210.1.11 CART=10.210.1.12 CATALOG1=10.210.1.21 CATALOG2=10.210.1.22
DB=10.210.2.11 SEARCH=10.210.2.12 CRAWLER=10.210.2.66
VIP=10.96.0.10
# The pods' flows: not the agents' health checks of the service's backends,
# nor the IGMP to multicast groups (real traffic too, out of the way here).
pods_only=(--from-namespace shop --not --to-ip 224.0.0.0/4)

# Bold headings and dim prompts on a terminal, plain text elsewhere.
bold='' dim='' plain=''
if [ -t 1 ]; then
	bold=$'\033[1m' dim=$'\033[2m' plain=$'\033[0m'
fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

# show PREFIX ARG...: prints "PREFIX$ ARG..." as a shell would read it back.
show() {
	local prefix=$1 a line=''

	shift
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ || $a = '|' || $a = '&' ]]; then
			line+=" $a"
		else
			line+=" '${a//\'/\'\\\'\'}'"
		fi
	done
	printf '%s%s$%s%s\n' "$dim" "$prefix" "$plain" "$line"
}

# run ARG...: a command on this machine, shown first (the agents' sockets are
# files in the demo's temp dir).
run() {
	show '' "$@"
	"$@"
}

# on NS ARG...: a command in namespace NS, shown as "[NS]$ ...".
on() {
	local ns=$1

	shift
	show "[$ns]" "$@"
	ns_exec "$ns" "$@"
}

# on_sh NS 'SHELL COMMAND': a shell command line in namespace NS.
on_sh() {
	printf '%s[%s]$%s %s\n' "$dim" "$1" "$plain" "$2"
	ns_exec "$1" bash -c "$2"
}

# relay ARG...: weir against the relay, from the relay's namespace.
relay() {
	on relay weir --server "$RELAY" "$@"
}

# relay_jq PROGRAM ARG...: weir observe ARG... -o json against the relay, each
# flow through jq PROGRAM (for fields the one-line output leaves out).
relay_jq() {
	local prog=$1

	shift
	show "[relay]" weir --server "$RELAY" observe "$@" -o json '|' jq -c "$prog"
	ns_exec relay weir --server "$RELAY" observe "$@" -o json | jq -c "$prog"
}

# relay_has ARG...: the relay has at least one flow that weir observe ARG... selects.
relay_has() {
	ns_exec relay weir --server "$RELAY" observe --last 1 -o json "$@" | grep -q .
}

# await WHAT ARG...: waits up to 10 s for such a flow at the relay.
await() {
	local what=$1

	shift
	wait_for 10 relay_has "$@" || echo "(no $what at the relay after 10 s)"
}

# An endpoint document of every pod, with its node: the agents share it, as
# they would share a Kubernetes API's view of the cluster.
endpoint() { # endpoint POD IP APP NODE KIND
	printf '{"ips": ["%s"], "namespace": "shop", "pod_name": "%s", "labels": {"app": "%s"}, "node_name": "%s", "workload": {"name": "%s", "kind": "%s"}}' \
		"$2" "$1" "$3" "$4" "${6:-$1}" "$5"
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
	veth_no_offloads "$1" "$2"
	veth_no_offloads "$4" "$5"
	ns_exec "$1" ip addr add "$3" dev "$2" && ns_exec "$1" ip link set "$2" up &&
		ns_exec "$4" ip addr add "$6" dev "$5" && ns_exec "$4" ip link set "$5" up
}

build_topology() {
	ns_add relay && quiet relay || return
	topo_node node-a 10.210.1.1/24 && quiet node-a || return
	topo_node node-b 10.210.2.1/24 && quiet node-b || return
	topo_pod node-a frontend "$FRONTEND/24" 10.210.1.1 && quiet frontend || return
	topo_pod node-a cart "$CART/24" 10.210.1.1 && quiet cart || return
	topo_pod node-a catalog-1 "$CATALOG1/24" 10.210.1.1 && quiet catalog-1 || return
	topo_pod node-a catalog-2 "$CATALOG2/24" 10.210.1.1 && quiet catalog-2 || return
	topo_pod node-b db "$DB/24" 10.210.2.1 && quiet db || return
	topo_pod node-b search "$SEARCH/24" 10.210.2.1 && quiet search || return
	topo_pod node-b crawler "$CRAWLER/24" 10.210.2.1 && quiet crawler || return
	link node-a ab 10.210.0.1/30 node-b ba 10.210.0.2/30 || return
	ns_exec node-a ip route add 10.210.2.0/24 via 10.210.0.2 || return
	ns_exec node-b ip route add 10.210.1.0/24 via 10.210.0.1 || return
	ns_exec node-b ip route add 10.96.0.0/24 via 10.210.0.1 || return
	link relay ra 10.210.101.2/24 node-a rl0 10.210.101.1/24 || return
	link relay rb 10.210.102.2/24 node-b rl0 10.210.102.1/24 || return
	{
		echo '{"endpoints": ['
		endpoint frontend "$FRONTEND" frontend node-a Deployment && echo ,
		endpoint cart "$CART" cart node-a Deployment && echo ,
		endpoint catalog-1 "$CATALOG1" catalog node-a Deployment catalog && echo ,
		endpoint catalog-2 "$CATALOG2" catalog node-a Deployment catalog && echo ,
		endpoint db "$DB" db node-b StatefulSet && echo ,
		endpoint search "$SEARCH" search node-b Deployment && echo ,
		endpoint crawler "$CRAWLER" crawler node-b Deployment
		echo ']}'
	} >"$T_TMP/endpoints.json"
}

# agent NODE EXTRA...: the node's weir-agent, TC on every pod interface (w*),
# API on TCP for the relay and on a unix socket in the temp dir; its pins,
# state and logs in the temp dir too.
agent() {
	local node=$1 var=agent_${1#node-} args

	shift
	mkdir -p "$T_TMP/$node-state" || return
	args=(--node-name "$node" --tc-pattern 'w*' "$@"
		--endpoints-file "$T_TMP/endpoints.json" --listen 0.0.0.0:4244
		--socket "$T_TMP/$node.sock" --pin-dir "$T_BPFFS/$node"
		--state-dir "$T_TMP/$node-state" --lb-state-file "$T_TMP/$node-state/lb.json"
		--sweep-interval 500 --active-timeout 5 --idle-timeout 5)
	show "[$node]" weir-agent "${args[@]}" '&'
	ns_bg "$var" "$node" "$T_TMP/$node.log" weir-agent "${args[@]}"
}

# udp POD IP PORT: three datagrams from POD.
udp() {
	ns_exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (64, 512, 1200):
    s.sendto(b"q" * n, (sys.argv[1], int(sys.argv[2])))' "$2" "$3"
}

traffic() {
	# Within node-a: frontend -> cart, TCP.
	head -c 50000 /dev/urandom | ns_exec frontend nc -N -n -w 2 "$CART" 8080
	# Across nodes: frontend pings db; cart -> db, UDP; frontend -> search, TCP.
	ns_exec frontend ping -c 2 -i 0.2 -W 1 -q "$DB" >/dev/null
	udp cart "$DB" 5432
	echo 'GET /?q=weir' | ns_exec frontend nc -N -n -w 2 "$SEARCH" 9200 >/dev/null
}

say "Building two nodes (node-a: frontend, cart, catalog-1, catalog-2; node-b: db, search, crawler) and a relay namespace"
build_topology || { echo "building the topology failed" >&2; exit 1; }
echo "Commands run in a namespace show as [NAME]\$ (ip netns exec ${T_PREFIX}NAME ...)."

say "weir-agent on both nodes (node-a also with XDP and TC on its uplink ab, for the load balancer and the prefilter), weir-relay with a history"
agent node-a --xdp ab --xdp-mode generic --tc ab --flowlog-file "$T_TMP/node-a-flows.log" \
	--flowlog-allow '[{"source_pod": ["shop/"]}]' \
	--flowlog-fields verdict,drop_reason_desc,IP,l4,source.pod_name,destination.pod_name
agent node-b
for n in node-a node-b; do
	wait_for 10 ns_exec "$n" curl -sf --max-time 1 http://127.0.0.1:4244/v1/status ||
		{ cat "$T_TMP/$n.log.err"; exit 1; }
done
relay_args=(--listen 127.0.0.1:4245 --peer 10.210.101.1:4244 --peer 10.210.102.1:4244
	--status-interval 2s --history-db "$T_TMP/history.db")
show "[relay]" weir-relay "${relay_args[@]}" '&'
ns_bg relay_pid relay "$T_TMP/relay.log" weir-relay "${relay_args[@]}"
connected() {
	ns_exec relay curl -sf --max-time 2 "$RELAY/v1/status" | jq -e '.num_connected_nodes == 2'
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
for c in catalog-1 catalog-2; do
	ns_bg "srv_${c#catalog-}" "$c" "$T_TMP/$c.log" python3 tests/netns/lb_server.py "$c" 8080
	wait_for 5 grep -q ready "$T_TMP/$c.log" || { echo "$c did not start" >&2; exit 1; }
done

say "The relay's nodes"
relay nodes

say "Traffic: frontend -> cart (TCP, within node-a); frontend -> db (ICMP), cart -> db (UDP) and frontend -> search (TCP), across nodes"
traffic
await "flow from db" --to-pod shop/db
sleep 1.5 # the relay holds records for its 1 s sort window, then merges them in time order
say "Flows from both nodes through the relay, in time order"
echo "A flow across nodes shows at each node: leaving its pod, on the uplink ab (node-a), reaching its pod."
relay observe --last 20 --print-node-name "${pods_only[@]}"

say "Relay status"
relay status

say "Load balancer: service catalog, VIP $VIP:80 on node-a, in front of pods catalog-1 and catalog-2"
run weir --server "$SOCK_A" lb add catalog "$VIP:80" --health tcp --health-interval 2000
run weir --server "$SOCK_A" lb backend add catalog "$CATALOG1:8080"
run weir --server "$SOCK_A" lb backend add catalog "$CATALOG2:8080"
echo "search (on node-b) opens 10 connections to the VIP; each backend answers with its name:"
on search python3 tests/netns/lb_client.py count tcp "$VIP" 80 10
run weir --server "$SOCK_A" lb list
await "flow to the VIP" --to-ip "$VIP" --node-name node-a
sleep 1
echo "Flows to the VIP: node-a's XDP names the service and the backend it chose (destination_service, weir.lb):"
relay_jq '.flow | {from: .source.pod_name, to: .IP.destination, service: .destination_service.name, backend: .weir.lb}' \
	--to-ip "$VIP" --node-name node-a --last 4

drops='.flow | {from: .source.pod_name, to: .destination.pod_name, port: .l4[].destination_port, verdict, drop_reason_desc, node: .node_name}'
say "Endpoint policy on db (node-b): UDP 5432 from app=cart allowed, the rest denied (ICMP aside)"
run cat scripts/demo_policy.json
run weir --server "$SOCK_B" policy apply -f scripts/demo_policy.json
run weir --server "$SOCK_B" policy get
on_sh cart "echo 'SELECT 1' | nc -u -n -w 1 $DB 5432"
on_sh frontend "echo 'SELECT 1' | nc -u -n -w 1 $DB 5432"
await "policy drop" --verdict DROPPED --drop-reason-desc POLICY_DENIED
sleep 1
relay_jq "$drops" --verdict DROPPED --to-pod shop/db --last 2

say "XDP prefilter on node-a: the crawler pod's address denied before any parsing"
on_sh crawler "nc -z -n -w 1 $CART 8080 && echo connected"
run weir --server "$SOCK_A" prefilter add "$CRAWLER/32"
on_sh crawler "nc -z -n -w 1 $CART 8080 && echo connected || echo 'no answer'"
run weir --server "$SOCK_A" prefilter list
await "prefilter drop" --verdict DROPPED --drop-reason-desc PREFILTER_DENIED
sleep 1
relay_jq "$drops" --verdict DROPPED --from-pod shop/crawler --last 2

say "node-a's flow log (weir-agent --flowlog-file, a field mask): NDJSON for any log shipper"
run tail -n 3 "$T_TMP/node-a-flows.log"

say "Top talkers and top drops from the relay's history (SQLite)"
relay top --limit 5
relay top --dropped --limit 5

[ "$follow" = 0 ] && { say "Done: removing the namespaces"; exit 0; }
if [ "$seconds" -eq 0 ]; then
	say "Live flows through the relay, until Ctrl-C"
else
	say "Live flows through the relay for $seconds s, traffic every few seconds (Ctrl-C ends it)"
fi
(
	end=$((SECONDS + seconds))
	while [ "$seconds" -eq 0 ] || [ "$SECONDS" -lt "$end" ]; do
		traffic >/dev/null 2>&1
		udp frontend "$DB" 5432 >/dev/null 2>&1
		ns_exec search python3 tests/netns/lb_client.py count tcp "$VIP" 80 2 >/dev/null 2>&1
		sleep 3
	done
) &
T_PIDS+=("$!")
show "[relay]" weir --server "$RELAY" observe -f --print-node-name "${pods_only[@]}"
if [ "$seconds" -gt 0 ]; then
	timeout --foreground "$seconds" ip netns exec "$(ns_name relay)" weir --server "$RELAY" \
		observe -f --print-node-name "${pods_only[@]}"
else
	ns_exec relay weir --server "$RELAY" observe -f --print-node-name "${pods_only[@]}"
fi
say "Done: removing the namespaces"
