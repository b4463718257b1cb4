#!/usr/bin/env bash
# The XDP prefilter end to end: an outside namespace with a denied and an
# allowed address of each family, a node routing to a pod, the real agent
# with XDP on the node's uplink, the deny list set through `weir prefilter`
# and the HTTP API. Denied pings and TCP connects never reach the pod and
# show up as PREFILTER_DENIED drops (weir observe, /metrics, per-CIDR
# counters); a bad document is refused whole and the old list keeps working;
# the list survives an agent restart.
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
need_cmd curl jq nc tcpdump ping promtool
if [ ! -x "$agent" ] || [ ! -x "$weir" ]; then
	t_bail "weir-agent and weir are built" "run make"
fi

GW=10.204.0.1 POD=10.204.0.11 UP=10.204.1.1 BAD=10.204.1.10 GOOD=10.204.1.20
GW6=fd00:204::1 POD6=fd00:204::11 UP6=fd00:204:1::1 BAD6=fd00:204:1::10 GOOD6=fd00:204:1::20
SOCK=$T_TMP/agent.sock
AGENT='' cap='' # set by ns_bg

bpffs_mount || t_bail "a bpffs for the pinned maps"
PIN=$T_BPFFS/weir

# node: br0 to the pod, up0 to the outside; forwarding on (its own namespace)
topo_node node "$GW/24" || t_bail "topology" "node"
topo_pod node p1 "$POD/24" "$GW" || t_bail "topology" "p1"
ns_add ext || t_bail "topology" "ext"
veth_add node up0 ext eth0 || t_bail "topology" "veth"
{
	ns_exec node sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		ns_exec node ip addr add "$GW6/64" dev br0 nodad &&
		ns_exec node ip addr add "$UP/24" dev up0 &&
		ns_exec node ip addr add "$UP6/64" dev up0 nodad &&
		ns_exec node ip link set up0 up &&
		ns_exec p1 ip addr add "$POD6/64" dev eth0 nodad &&
		ns_exec p1 ip -6 route add default via "$GW6" &&
		ns_exec ext ip addr add "$BAD/24" dev eth0 &&
		ns_exec ext ip addr add "$GOOD/24" dev eth0 &&
		ns_exec ext ip addr add "$BAD6/64" dev eth0 nodad &&
		ns_exec ext ip addr add "$GOOD6/64" dev eth0 nodad &&
		ns_exec ext ip link set eth0 up &&
		ns_exec ext ip route add default via "$UP" &&
		ns_exec ext ip -6 route add default via "$UP6"
} || t_bail "topology" "addresses and routes"
veth_no_offloads node up0
veth_no_offloads ext eth0

agent_start() {
	ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-pf --xdp up0 \
		--pin-dir "$PIN" --socket "$SOCK" --listen 127.0.0.1:4244 --sweep-interval 200
	wait_for 5 api /v1/status
}

# api PATH [CURL ARGS...]: a call on the unix socket.
api() {
	local path=$1

	shift
	curl -sf --max-time 5 --unix-socket "$SOCK" "$@" "http://agent$path"
}

# status METHOD PATH [CURL ARGS...]: the HTTP status; the body in $T_TMP/body.
status() {
	local method=$1 path=$2

	shift 2
	curl -s -o "$T_TMP/body" -w '%{http_code}' --max-time 5 --unix-socket "$SOCK" \
		-X "$method" "$@" "http://agent$path"
}

w() {
	"$weir" --server "$SOCK" "$@"
}

# reaches SRC DST: one ping from SRC to DST gets an answer.
reaches() {
	ns_exec ext ping -c 1 -W 1 -I "$1" "$2" >/dev/null 2>&1
}

# connects SRC: a TCP connect from SRC to the pod's listener succeeds.
connects() {
	ns_exec ext nc -z -n -w 1 -s "$1" "$2" 8080 >/dev/null 2>&1
}

# cidr_hits CIDR: packets the prefilter counted for CIDR (GET /v1/prefilter).
cidr_hits() {
	api /v1/prefilter | jq -e --arg c "$1" '.hits[] | select(.cidr == $c) | .packets'
}

# obs SOURCE: weir observe shows a PREFILTER_DENIED drop from SOURCE.
# shellcheck disable=SC2317	# called through wait_for
obs() {
	w observe --verdict DROPPED --all -o json |
		jq -se --arg s "$1" '[.[] | select(.flow.IP.source == $s and
			.flow.drop_reason_desc == "PREFILTER_DENIED")] | length >= 1'
}

metric() {
	api /metrics | awk -v m="$1" '$1 == m { print $2 }'
}

agent_start || t_bail "the agent starts with XDP on the uplink" "$(cat "$T_TMP/agent.log.err")"
t_ok "the agent starts with XDP on the uplink"
ns_bg _ p1 "$T_TMP/listener" nc -l -k -n 8080
ns_bg _ p1 "$T_TMP/listener6" nc -6 -l -k -n 8080
sleep 0.3

# --- before: everything reaches the pod -------------------------------------------------------
t_check "before the list: $BAD pings the pod" wait_for 5 reaches "$BAD" "$POD"
t_check "before the list: $BAD6 pings the pod" wait_for 5 reaches "$BAD6" "$POD6"
t_check "before the list: $BAD connects to the pod" wait_for 5 connects "$BAD" "$POD"
t_check "before the list: $BAD6 connects to the pod" wait_for 5 connects "$BAD6" "$POD6"
t_is "the list starts empty" "$(w prefilter list -o json | jq -c .deny)" "[]"

# --- deny: the bad /28 and the bad v6 address --------------------------------------------------
t_check "weir prefilter add a v4 /28 and a v6 /128" \
	w prefilter add 10.204.1.0/28 "$BAD6"
t_is "the list has both, canonical" "$(w prefilter list -o json | jq -c .deny)" \
	'["10.204.1.0/28","fd00:204:1::10/128"]'

ns_bg cap p1 "$T_TMP/cap.txt" tcpdump -n -l -i eth0 "src host $BAD or src host $BAD6"
sleep 1
bad_ping=0 bad_tcp=0
for _ in 1 2 3; do
	reaches "$BAD" "$POD" && bad_ping=$((bad_ping + 1))
	reaches "$BAD6" "$POD6" && bad_ping=$((bad_ping + 1))
done
connects "$BAD" "$POD" && bad_tcp=1
connects "$BAD6" "$POD6" && bad_tcp=1
sleep 0.5
bg_stop "$cap"
t_is "denied sources: no ping answered" "$bad_ping" 0
t_is "denied sources: no TCP connect" "$bad_tcp" 0
t_is "denied sources: nothing reached the pod (capture on its eth0)" \
	"$(grep -c . "$T_TMP/cap.txt")" 0
t_check "allowed $GOOD still pings the pod" reaches "$GOOD" "$POD"
t_check "allowed $GOOD still connects" connects "$GOOD" "$POD"
t_check "allowed $GOOD6 still pings the pod" reaches "$GOOD6" "$POD6"
t_check "allowed $GOOD6 still connects" connects "$GOOD6" "$POD6"

# --- the drops, as a user sees them -------------------------------------------------------------
v4_hits=$(cidr_hits 10.204.1.0/28)
t_check "per-CIDR counter: the v4 /28 dropped the pings and SYNs (>= 4, got $v4_hits)" \
	test "${v4_hits:-0}" -ge 4
t_check "per-CIDR counter: the v6 /128 dropped packets" test "$(cidr_hits "$BAD6/128")" -ge 4
t_check "weir prefilter list shows the counters" bash -c \
	"'$weir' --server '$SOCK' prefilter list | grep -E '^10\.204\.1\.0/28 +[0-9]+ +[0-9]+'"
drops=$(metric 'weir_drop_total{reason="PREFILTER_DENIED",direction="INGRESS"}')
t_check "/metrics: weir_drop_total{reason=PREFILTER_DENIED} counts them (got $drops)" \
	test "${drops:-0}" -ge 8
t_check "/metrics: per-CIDR drops for the /28" \
	test "$(metric 'weir_prefilter_drops_total{cidr="10.204.1.0/28"}')" = "$v4_hits"
t_check "/metrics with the per-CIDR series passes promtool check metrics" \
	bash -c "curl -sf --unix-socket '$SOCK' http://agent/metrics | promtool check metrics"
t_check "weir observe --verdict DROPPED: PREFILTER_DENIED from $BAD" wait_for 5 obs "$BAD"
t_check "weir observe --verdict DROPPED: PREFILTER_DENIED from $BAD6" wait_for 5 obs "$BAD6"
# A burst of 30 echo requests in 0.6 s: counted one by one, reported as
# events at most once a second per source and CPU, the rest suppressed.
records() {
	w observe --verdict DROPPED --all -o json |
		jq -s --arg s "$BAD" '[.[] | select(.flow.IP.source == $s)] | length'
}
before=$(records) hits_before=$(cidr_hits 10.204.1.0/28)
ns_exec ext ping -c 30 -i 0.02 -W 1 -I "$BAD" "$POD" >/dev/null 2>&1
sleep 1.5
t_is "a burst of 30 denied pings is counted in full" \
	"$(($(cidr_hits 10.204.1.0/28) - hits_before))" 30
burst=$(($(records) - before))
t_check "the burst raised at most 2 drop events per CPU (got $burst)" \
	test "$burst" -ge 1 -a "$burst" -le $((2 * $(nproc)))
suppressed=$(metric 'weir_datapath_health_total{counter="PREFILTER_EVENTS_SUPPRESSED"}')
t_check "the rest were counted as suppressed events (got $suppressed)" \
	test "${suppressed:-0}" -ge $((30 - 2 * $(nproc)))

# --- a bad document is refused whole; the old list stays ---------------------------------------
rev=$(api /v1/prefilter | jq .revision)
code=$(status PUT /v1/prefilter -d '{"deny": ["192.0.2.0/24", "300.1.2.3/8"]}')
t_is "PUT with a bad CIDR: 400" "$code" 400
t_check "the error names the bad field" grep -q 'deny\[1\]' "$T_TMP/body"
code=$(status PUT /v1/prefilter -d '{"deny": ["10.204.1.1/8"]}')
t_is "PUT with host bits set: 400" "$code" 400
code=$(status PUT /v1/prefilter -d '{"denny": []}')
t_is "PUT with an unknown field: 400" "$code" 400
t_is "the list and its revision are unchanged" "$(api /v1/prefilter | jq -c '[.revision, .deny]')" \
	"[$rev,[\"10.204.1.0/28\",\"fd00:204:1::10/128\"]]"
t_check "the old list keeps dropping $BAD" bash -c "! ip netns exec $(ns_name ext) ping -c 1 -W 1 -I $BAD $POD"
out=$(w prefilter add 10.1.1.1/8 2>&1)
t_is "weir prefilter add of a bad CIDR fails with the server's reason" \
	"$?:$(grep -c 'add\[0\]' <<<"$out")" "1:1"
code=$(status PUT /v1/prefilter -d "{\"deny\": [\"10.204.1.0/28\"], \"revision\": $((rev + 5))}")
t_is "PUT at a stale revision: 409" "$code" 409

# --- restart: the pinned list carries on ---------------------------------------------------------
bg_stop "$AGENT" || t_fail "the agent stops on SIGTERM"
agent_start || t_bail "the agent restarts" "$(cat "$T_TMP/agent.log.err")"
t_is "after a restart the list is still there" "$(w prefilter list -o json | jq -c '[.revision, .deny]')" \
	"[$rev,[\"10.204.1.0/28\",\"fd00:204:1::10/128\"]]"
t_check "after a restart the counters carry on" test "$(cidr_hits 10.204.1.0/28)" -ge "$v4_hits"
t_check "after a restart $BAD is still dropped" bash -c "! ip netns exec $(ns_name ext) ping -c 1 -W 1 -I $BAD $POD"

# --- delete ---------------------------------------------------------------------------------------
t_check "weir prefilter delete the /28" w prefilter delete 10.204.1.0/28
t_check "deleted: $BAD pings the pod again" wait_for 5 reaches "$BAD" "$POD"
t_check "$BAD6 is still denied" bash -c "! ip netns exec $(ns_name ext) ping -c 1 -W 1 -I $BAD6 $POD6"
out=$(w prefilter delete 10.204.1.0/28 2>&1)
t_is "deleting what is not on the list fails" "$?:$(grep -c 'not on the deny list' <<<"$out")" "1:1"
t_check "weir prefilter delete --all" w prefilter delete --all
t_check "emptied: $BAD6 pings the pod again" wait_for 5 reaches "$BAD6" "$POD6"
t_is "the list is empty" "$(api /v1/prefilter | jq -c .deny)" "[]"

t_done
