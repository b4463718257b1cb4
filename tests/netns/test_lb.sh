#!/usr/bin/env bash
# The L4 load balancer end to end: a client namespace, a node namespace whose
# uplink has the datapath (XDP DNAT, TC reverse NAT) and three backend
# namespaces whose servers answer with their own name. Services are made with
# the real CLI through the agent's API; the traffic is real TCP and UDP, IPv4
# and IPv6.
# shellcheck disable=SC2016	# jq programs name jq's own $variables
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
need_cmd curl jq python3 ethtool promtool
if [ ! -x "$agent" ] || [ ! -x "$weir" ]; then
	t_bail "weir-agent and weir are built" "run make"
fi

VIP=10.96.0.10 VIP6=fd96::10 DNS_VIP=10.96.0.53
SOCK=$T_TMP/agent.sock STATE=$T_TMP/lb-services.json
AGENT='' LONG='' # set by ns_bg
declare -A SRV   # backend name -> server pid
declare -A B4 B6 # backend name -> address
B4=([b1]=10.211.0.11 [b2]=10.211.0.12 [b3]=10.211.0.13)
B6=([b1]=fd11::11 [b2]=fd11::12 [b3]=fd11::13)

bpffs_mount || t_bail "a bpffs for the pinned maps"
PIN=$T_BPFFS/weir

# client --- up0 [node: XDP + TC on up0, br0] --- b1, b2, b3
topo() {
	ns_add client node || return
	veth_add client eth0 node up0 || return
	ns_exec client ip addr add 10.210.0.2/24 dev eth0 || return
	ns_exec client ip addr add fd10::2/64 dev eth0 nodad || return
	ns_exec client ip link set eth0 up || return
	ns_exec client ip route add default via 10.210.0.1 || return
	ns_exec client ip -6 route add default via fd10::1 || return
	ns_exec node ip addr add 10.210.0.1/24 dev up0 || return
	ns_exec node ip addr add fd10::1/64 dev up0 nodad || return
	ns_exec node ip link set up0 up || return
	veth_no_offloads client eth0
	veth_no_offloads node up0
	ns_exec node ip link add br0 type bridge || return
	ns_exec node ip addr add 10.211.0.1/24 dev br0 || return
	ns_exec node ip addr add fd11::1/64 dev br0 nodad || return
	ns_exec node ip link set br0 up || return
	ns_exec node sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return
	for b in b1 b2 b3; do
		topo_pod node "$b" "${B4[$b]}/24" 10.211.0.1 || return
		ns_exec "$b" ip addr add "${B6[$b]}/64" dev eth0 nodad || return
		ns_exec "$b" ip -6 route add default via fd11::1 || return
	done
}
topo || t_bail "topology"

server_start() {
	local pid

	ns_bg pid "$1" "$T_TMP/server-$1.log" python3 "$here/lb_server.py" "$1" 8080 \
		"$T_TMP/$1.sick"
	SRV[$1]=$pid
	wait_for 5 grep -q ready "$T_TMP/server-$1.log"
}
for b in b1 b2 b3; do
	server_start "$b" || t_bail "backend server $b"
done

api() {
	local path=$1

	shift
	curl -s --max-time 10 --unix-socket "$SOCK" -H "Content-Type: application/json" "$@" \
		"http://agent$path"
}

agent_start() {
	ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name lb-node --xdp up0 \
		--xdp-mode generic --tc up0 --pin-dir "$PIN" --socket "$SOCK" --listen '' \
		--lb-state-file "$STATE" --keep-datapath
	wait_for 10 api /v1/status
}

w() {
	"$weir" --server "$SOCK" "$@"
}

# health NAME IP STATE: backend IP of service NAME has health STATE.
# shellcheck disable=SC2317	# called through wait_for
health() {
	"$weir" --server "$SOCK" lb list "$1" -o json |
		jq -e --arg ip "$2" --arg st "$3" '.backends[] | select(.ip == $ip) | .health == $st'
}

# count tcp|udp VIP PORT N: {"b1": n, ..., "failed": n}
count() {
	ns_exec client python3 "$here/lb_client.py" count "$@"
}

# spread JSON N: every backend got N/3 +-10% and nothing failed.
# shellcheck disable=SC2317	# called through t_check
spread() {
	jq -e --argjson n "$2" '.failed == 0 and ([.b1, .b2, .b3] |
		all(. != null and . >= $n / 3 * 0.9 and . <= $n / 3 * 1.1))' <<<"$1" >/dev/null
}

long_start() {
	rm -f "$T_TMP/stop" "$T_TMP/long.log"
	ns_bg LONG client "$T_TMP/long.log" python3 "$here/lb_client.py" long "$1" 80 \
		"$T_TMP/stop"
	wait_for 5 test -s "$T_TMP/long.log"
}

# long_stop: ends the long-lived client; its summary goes to $r. Not in a
# subshell: only this shell can wait for the client.
long_stop() {
	touch "$T_TMP/stop"
	bg_wait "$LONG"
	r=$(tail -n1 "$T_TMP/long.log")
}

plan 31

agent_start || t_bail "weir-agent starts" "$(tail -5 "$T_TMP/agent.log.err")"

# --- the API and the CLI ------------------------------------------------------

bad=$(api /v1/services/web -X PUT -d '{"name":"web","vip":"10.96.0.10","port":80,
	"backends":[{"ip":"10.211.0.11","weight":0}]}' -w '\n%{http_code}')
# shellcheck disable=SC2317	# called through t_check
refused_by_field() {
	[ "${bad##*$'\n'}" = 400 ] && grep -q '"bad service document: backends\[0\]\.weight: ' <<<"$bad"
}
t_check "an invalid document is refused with 400 naming the field" refused_by_field

w lb add web "$VIP:80" --health tcp --health-interval 100 --health-timeout 80 \
	--health-fall 2 --health-rise 2 &&
	for b in b1 b2 b3; do w lb backend add web "${B4[$b]}:8080" || break; done
t_check "weir lb add and backend add make a service of three backends" \
	jq -e '.backends | length == 3' < <(api /v1/services/web)

t_check "a second service on the same VIP, port and protocol is a conflict (409)" \
	test "$(api /v1/services/other -X PUT -o /dev/null -w '%{http_code}' \
		-d '{"name":"other","vip":"10.96.0.10","port":80}')" = 409

# --- spread ---------------------------------------------------------------------

c=$(count tcp "$VIP" 80 3000)
t_diag "3000 TCP connections: $c"
t_check "3000 new TCP connections spread within 10% of equal over three backends" \
	spread "$c" 3000

list=$(w lb list -o json)
t_check "weir lb list counts the new flows per backend" \
	jq -e '[.services[0].backends[].stats.new_flows] | add >= 3000' <<<"$list"
t_check "weir lb list shows every backend up" \
	jq -e '[.services[0].backends[].health] == ["up","up","up"]' <<<"$list"
t_check "weir lb list prints a table with the service and its backends" \
	grep -q "10.211.0.12:8080" < <(w lb list)
m=$(api /metrics)
t_check "/metrics has new flows per service and backend" \
	grep -q '^weir_lb_backend_new_flows_total{service="web",backend="10.211.0.11:8080",state="active"} [1-9]' <<<"$m"
t_check "/metrics has the service's packets" \
	grep -q '^weir_lb_service_packets_total{service="web"} [1-9]' <<<"$m"
t_check "/metrics with services passes promtool check metrics" promtool check metrics <<<"$m"

# flow_names_service: a flow record to the VIP names the service and the
# backend it was translated to.
# shellcheck disable=SC2317	# called through wait_for
flow_names_service() {
	api "/v1/flows?number=20000" | jq -e --arg vip "$VIP" '[.[] | .flow |
		select(.IP.destination == $vip and .destination_service.name == "web" and
			(.weir.lb.backend | IN("10.211.0.11", "10.211.0.12", "10.211.0.13")) and
			.weir.lb.backend_port == 8080)] | length > 0'
}
t_check "flow records to the VIP name the service and the backend (destination_service, weir.lb)" \
	wait_for 5 flow_names_service

# to_service_selects_lb_flows: `weir observe --to-service web` returns the
# load-balanced connections' records, only those, while the store holds
# others (the health checks' flows to the backends): --not returns those.
# shellcheck disable=SC2317	# called through t_check
to_service_selects_lb_flows() {
	local svc others

	svc=$(w observe --all -o json --to-service web | jq -s --arg vip "$VIP" '[.[].flow |
		(.IP.destination == $vip and .destination_service.name == "web")]')
	others=$(w observe --all -o json --not --to-service web | jq -s '[.[].flow |
		(.destination_service.name == "web")]')
	jq -e 'length > 0 and all' <<<"$svc" >/dev/null &&
		jq -e 'length > 0 and (any | not)' <<<"$others" >/dev/null
}
t_check "weir observe --to-service web shows the load-balanced flows and nothing else" \
	to_service_selects_lb_flows

# --- a long-lived connection while the backend set changes ------------------------

long_start "$VIP" || t_bail "long-lived connection" "$(cat "$T_TMP/long.log.err")"
held=$(head -n1 "$T_TMP/long.log")
others=()
for b in b1 b2 b3; do [ "$b" = "$held" ] || others+=("$b"); done
t_diag "long-lived connection on $held"
w lb backend delete web "${B4[${others[0]}]}:8080" && sleep 0.3 &&
	w lb backend add web "${B4[${others[0]}]}:8080" && sleep 0.3 &&
	w lb backend drain web "${B4[$held]}:8080" && sleep 0.3
c=$(count tcp "$VIP" 80 300)
t_diag "300 connections with $held draining: $c"
t_check "a draining backend gets no new connections" \
	jq -e --arg h "$held" '.failed == 0 and .[$h] == null' <<<"$c"
w lb backend delete web "${B4[${others[1]}]}:8080" && sleep 0.3
c=$(count tcp "$VIP" 80 100)
t_check "after a removal, new connections go to the remaining active backend" \
	jq -e --arg o "${others[0]}" '.failed == 0 and .[$o] == 100' <<<"$c"
w lb backend add web "${B4[${others[1]}]}:8080" && w lb backend add web "${B4[$held]}:8080"
sleep 0.3
long_stop
t_diag "long-lived: $r"
t_check "the long-lived connection kept working through add, remove and drain" \
	jq -e '.failed == 0 and .rounds > 20' <<<"$r"

# --- health checks ---------------------------------------------------------------

wait_for 5 sh -c "'$weir' --server '$SOCK' lb list -o json |
	jq -e '[.services[0].backends[].health] == [\"up\",\"up\",\"up\"]'"
bg_stop "${SRV[b2]}" KILL
t_check "a killed backend is taken out by the health check" \
	wait_for 5 health web 10.211.0.12 down
c=$(count tcp "$VIP" 80 300)
t_diag "300 connections with b2 dead: $c"
t_check "with a backend down every new connection succeeds on the others" \
	jq -e '.failed == 0 and .b2 == null and .b1 > 0 and .b3 > 0' <<<"$c"
t_check "the health change is counted in /metrics" \
	grep -q '^weir_lb_health_transitions_total{to="down"} [1-9]' < <(api /metrics)
server_start b2
t_check "a recovered backend is put back" wait_for 5 health web 10.211.0.12 up

doc=$(jq -n '{name: "webh", vip: "10.96.0.20", port: 80,
	health: {type: "http", port: 8081, path: "/healthz", interval_ms: 100, timeout_ms: 80,
		 fall: 2, rise: 2},
	backends: [{ip: "10.211.0.11", port: 8080}, {ip: "10.211.0.12", port: 8080},
		   {ip: "10.211.0.13", port: 8080}]}')
w lb add -f - <<<"$doc"
touch "$T_TMP/b3.sick"
t_check "an HTTP health check takes out a backend that answers 503" \
	wait_for 5 health webh 10.211.0.13 down
c=$(count tcp 10.96.0.20 80 100)
t_check "new connections avoid it" jq -e '.failed == 0 and .b3 == null' <<<"$c"
rm -f "$T_TMP/b3.sick"
t_check "and put it back once it answers 200" wait_for 5 health webh 10.211.0.13 up

# --- UDP and IPv6 ----------------------------------------------------------------

doc=$(jq -n --arg vip "$DNS_VIP" '{name: "dns", vip: $vip, port: 53, protocol: "UDP",
	health: {type: "udp", interval_ms: 200, timeout_ms: 100},
	backends: [{ip: "10.211.0.11", port: 8080}, {ip: "10.211.0.12", port: 8080},
		   {ip: "10.211.0.13", port: 8080}]}')
w lb add -f - <<<"$doc"
c=$(count udp "$DNS_VIP" 53 3000)
t_diag "3000 UDP flows: $c"
t_check "3000 new UDP flows spread within 10% of equal" spread "$c" 3000

w lb add web6 "[$VIP6]:80" --health tcp --health-interval 100 --health-timeout 80 &&
	for b in b1 b2 b3; do w lb backend add web6 "[${B6[$b]}]:8080" || break; done
c=$(count tcp "$VIP6" 80 3000)
t_diag "3000 IPv6 TCP connections: $c"
t_check "3000 new IPv6 TCP connections spread within 10% of equal" spread "$c" 3000

long_start "$VIP6" || t_fail "long-lived IPv6 connection"
held=$(head -n1 "$T_TMP/long.log")
t_diag "long-lived IPv6 connection on $held"
w lb backend drain web6 "[${B6[$held]}]:8080"
bg_stop "${SRV[$([ "$held" = b1 ] && echo b3 || echo b1)]}" KILL
sleep 0.5
long_stop
t_check "an IPv6 connection keeps working while its backend drains and another dies" \
	jq -e '.failed == 0 and .rounds > 5' <<<"$r"
dead=$([ "$held" = b1 ] && echo b3 || echo b1)
t_check "a UDP health check takes out the dead backend of the UDP service" \
	wait_for 5 health dns "${B4[$dead]}" down
c=$(count tcp "$VIP6" 80 200)
t_check "new IPv6 connections avoid the draining and the dead backend" \
	jq -e --arg h "$held" '.failed == 0 and .[$h] == null and (to_entries |
		map(select(.key != "failed")) | length) == 1' <<<"$c"

# --- restart -----------------------------------------------------------------------

for b in b1 b3; do kill -0 "${SRV[$b]}" 2>/dev/null || server_start "$b"; done
w lb backend add web6 "[${B6[$held]}]:8080"
wait_for 5 sh -c "'$weir' --server '$SOCK' lb list -o json |
	jq -e '[.services[].backends[].health] | all(. == \"up\")'"
before=$(api /v1/services | jq -c '[.services[] | {name, id, b: [.backends[] | .id]}] | sort')
long_start "$VIP"
bg_stop "$AGENT"
c=$(count tcp "$VIP" 80 30)
t_check "with the agent stopped, the datapath keeps balancing" jq -e '.failed == 0' <<<"$c"
agent_start || t_bail "weir-agent restarts" "$(tail -5 "$T_TMP/agent.log.err")"
after=$(api /v1/services | jq -c '[.services[] | {name, id, b: [.backends[] | .id]}] | sort')
t_is "services and their ids survive an agent restart" "$after" "$before"
sleep 0.5
long_stop
t_check "a connection in flight survives the agent's restart" \
	jq -e '.failed == 0 and .rounds > 10' <<<"$r"
t_check "a deleted service is gone from the API" \
	sh -c "'$weir' --server '$SOCK' lb delete dns &&
		test \"\$(curl -s -o /dev/null -w '%{http_code}' --unix-socket '$SOCK' \
			http://agent/v1/services/dns)\" = 404"

t_done
