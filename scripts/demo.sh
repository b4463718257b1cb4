#!/usr/bin/env bash
# make demo: one simulated node (a network namespace with a bridge) with
# three pods in the namespace "shop", the real weir-agent on the node, a few
# kinds of traffic between the pods, and the flows the agent reports.
# Runs DEMO_SECONDS (default 20) of live flows, or until Ctrl-C with
# DEMO_SECONDS=0. Everything it made is removed on exit.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
export T_PREFIX="weir-demo-$$-"
# shellcheck source=tests/netns/lib.sh
. "$top/tests/netns/lib.sh"
# shellcheck source=tests/netns/topo.sh
. "$top/tests/netns/topo.sh"

seconds=${DEMO_SECONDS:-20}
sock=$T_TMP/agent.sock
bpffs_mount || exit 1
pin=$T_BPFFS/weir
GW=10.210.0.1 FRONTEND=10.210.0.11 CART=10.210.0.12 DB=10.210.0.13

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
api() { curl -sf --max-time 5 --unix-socket "$sock" "$@"; }

# One line per flow: time, node, source -> destination, protocol, verdict, counters.
print_flows() {
	jq -r '.[] | .flow as $f |
		($f.l4 | to_entries[0]) as $l4 |
		def ep(e; ip; port): if e.pod_name then "\(e.namespace)/\(e.pod_name)" else ip end +
			(if port then ":\(port)" else "" end);
		[($f.time | sub("\\.[0-9]+"; "") | sub("T"; " ")), $f.node_name,
		 "\($f.interface.name // "-") \($f.traffic_direction // "" | ascii_downcase)",
		 ep($f.source; $f.IP.source; $l4.value.source_port), "->",
		 ep($f.destination; $f.IP.destination; $l4.value.destination_port),
		 $l4.key, $f.verdict, ($f.weir.record // ""),
		 "\($f.weir.packets // 0)/\($f.weir.reply_packets // 0) pkts",
		 "\($f.weir.bytes // 0)/\($f.weir.reply_bytes // 0) B"] | @tsv' | column -t -s $'\t'
}

say "Building one node with three pods (frontend, cart, db in namespace shop)"
topo_node node "$GW/24"
topo_pod node frontend "$FRONTEND/24" "$GW"
topo_pod node cart "$CART/24" "$GW"
topo_pod node db "$DB/24" "$GW"
cat >"$T_TMP/endpoints.json" <<JSON
{"endpoints": [
  {"ips": ["$FRONTEND"], "namespace": "shop", "pod_name": "frontend", "labels": {"app": "frontend"},
   "workload": {"name": "frontend", "kind": "Deployment"}},
  {"ips": ["$CART"], "namespace": "shop", "pod_name": "cart", "labels": {"app": "cart"},
   "workload": {"name": "cart", "kind": "Deployment"}},
  {"ips": ["$DB"], "namespace": "shop", "pod_name": "db", "labels": {"app": "db"},
   "workload": {"name": "db", "kind": "StatefulSet"}}
]}
JSON

say "Starting weir-agent on the node (TC on every pod interface, w*)"
ns_bg agent node "$T_TMP/agent.log" "$build/weir-agent" --node-name demo-node \
	--tc-pattern 'w*' --pin-dir "$pin" --socket "$sock" --listen 127.0.0.1:4244 \
	--endpoints-file "$T_TMP/endpoints.json" --sweep-interval 500 --active-timeout 5 \
	--idle-timeout 5
for _ in $(seq 50); do
	api http://agent/v1/status >/dev/null && break
	sleep 0.1
done
api http://agent/v1/status >/dev/null || { cat "$T_TMP/agent.log.err"; exit 1; }

traffic() {
	ns_exec frontend ping -c 3 -i 0.2 -q "$DB" >/dev/null
	head -c 50000 /dev/urandom | ns_exec frontend nc -N -n -w 2 "$CART" 8080
	ns_exec cart python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (64, 512, 1200):
    s.sendto(b"q" * n, (sys.argv[1], 5432))' "$DB"
}
ns_bg web cart /dev/null bash -c "while nc -l -n -d $CART 8080 >/dev/null; do :; done"
ns_bg sink db /dev/null python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5432))
while True:
    s.recv(65536)'
sleep 0.3

say "Traffic: frontend pings db, sends 50 kB to cart:8080 over TCP; cart sends UDP to db:5432"
traffic
sleep 1.5
# IPv6 neighbour discovery and MLD to multicast groups are real flows too;
# the filter language keeps them out of the way here.
deny='[{"destination_ip": ["ff00::/8"]}]'
say "Flows the agent reports (GET /v1/flows with denylist=$deny)"
echo "Each flow shows at both pods' interfaces: w<pod>, from the node's side."
api --get --data-urlencode "denylist=$deny" http://agent/v1/flows | print_flows

say "Agent status (/v1/status)"
api http://agent/v1/status | jq -c '{node_name, num_flows, max_flows, seen_flows, lost_events}'

if [ "$seconds" -eq 0 ]; then
	say "Live flows (follow=1), until Ctrl-C"
else
	say "Live flows (follow=1) for $seconds s, traffic every few seconds"
fi
(
	end=$((SECONDS + seconds))
	while [ "$seconds" -eq 0 ] || [ "$SECONDS" -lt "$end" ]; do
		traffic >/dev/null 2>&1
		sleep 3
	done
) &
T_PIDS+=("$!")
timeout_arg=()
[ "$seconds" -gt 0 ] && timeout_arg=(--max-time "$seconds")
curl -sN "${timeout_arg[@]}" --unix-socket "$sock" --get --data-urlencode follow=1 \
	--data-urlencode "denylist=$deny" http://agent/v1/flows |
	while read -r line; do printf '[%s]\n' "$line" | print_flows; done
say "Done: removing the namespaces"
