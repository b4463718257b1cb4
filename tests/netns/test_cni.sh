#!/usr/bin/env bash
# weir-cni end to end, acting as the container runtime does: Debian's real
# bridge and host-local plugins wire two pods into a node namespace, then
# weir-cni runs chained with their result as prevResult, for ADD, CHECK and
# DEL, against the real agent. The agent's --tc-pattern matches nothing, so
# TC on the pods' veths comes from the registrations alone. Then the spec's
# errors: malformed stdin, no prevResult, an unsupported version, a missing
# variable, an agent that is down or stuck, and fail_open.
# shellcheck disable=SC2317 # functions called through t_check and wait_for
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"

build=${WEIR_BUILD:-$here/../../build}
agent=$build/weir-agent
cni=$build/weir-cni
plugins=/usr/lib/cni
need_root
need_cmd curl jq python3 tc
{ [ -x "$agent" ] && [ -x "$cni" ]; } || t_bail "weir-agent and weir-cni are built" "run make"
{ [ -x "$plugins/bridge" ] && [ -x "$plugins/host-local" ]; } ||
	t_skip_all "no CNI plugins in $plugins (containernetworking-plugins)"

SOCK=$T_TMP/agent.sock
# shellcheck disable=SC2034 # set by ns_bg; killed at exit
AGENT='' stuck='' # set by ns_bg
NET=weir-cni-test

bpffs_mount || t_bail "a bpffs for the pinned maps"
ns_add node pod1 pod2 || t_bail "namespaces"

ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-a --tc-pattern 'nomatch-*' \
	--pin-dir "$T_BPFFS/weir" --state-dir "$T_TMP/state" --socket "$SOCK" --listen '' \
	--sweep-interval 200 --active-timeout 2 --idle-timeout 3
wait_for 5 curl -sf --unix-socket "$SOCK" http://agent/v1/status ||
	t_bail "the agent starts" "$(cat "$T_TMP/agent.log.err")"

api() {
	curl -sf --max-time 5 --unix-socket "$SOCK" "$@"
}

# The bridge plugin's configuration; weir-cni's is the same network with
# prevResult added (conf_weir).
cat >"$T_TMP/bridge.json" <<JSON
{"cniVersion": "1.0.0", "name": "$NET", "type": "bridge", "bridge": "wbr0", "isGateway": true,
 "ipam": {"type": "host-local", "subnet": "10.204.0.0/24", "dataDir": "$T_TMP/ipam",
          "routes": [{"dst": "0.0.0.0/0"}]}}
JSON

# conf_weir PREV_RESULT_FILE [JQ FILTER]: weir-cni's stdin.
conf_weir() {
	jq -c --slurpfile prev "$1" --arg sock "$SOCK" \
		"{cniVersion: \"1.0.0\", name: \"$NET\", type: \"weir-cni\", agent_socket: \$sock,
		  timeout_ms: 3000, prevResult: \$prev[0]} | ${2:-.}" -n
}

# runtime COMMAND PLUGIN CONTAINER POD STDIN_FILE: runs a plugin in the node
# namespace as a runtime does; stdout to $T_TMP/out, exit status returned.
runtime() {
	local cmd=$1 plugin=$2 cid=$3 pod=$4 in=$5

	ns_exec node env CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" \
		CNI_NETNS="/run/netns/$(ns_name "$pod")" CNI_IFNAME=eth0 CNI_PATH="$plugins" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-$pod;K8S_POD_UID=uid-$cid" \
		"$plugin" <"$in" >"$T_TMP/out" 2>"$T_TMP/err"
}

# weir_cni COMMAND CONTAINER POD STDIN_FILE
weir_cni() {
	runtime "$1" "$cni" "$2" "$3" "$4"
}

# The registration of shop/web-POD, as the agent lists it.
registration() {
	api http://agent/v1/endpoints | jq -ce --arg p "web-$1" \
		'.[] | select(.source == "api" and .namespace == "shop" and .pod_name == $p)'
}

# cni_error CODE: the last run failed with the spec's error JSON and CODE.
cni_error() {
	jq -e --argjson code "$1" '.code == $code and (.msg | length > 0) and (.cniVersion | type == "string")' \
		"$T_TMP/out" >/dev/null
}

# --- ADD: bridge, then weir-cni with bridge's result ------------------------------------------
for p in pod1 pod2; do
	runtime ADD "$plugins/bridge" "c-$p" "$p" "$T_TMP/bridge.json" ||
		t_bail "bridge ADD for $p" "$(cat "$T_TMP/out" "$T_TMP/err")"
	cp "$T_TMP/out" "$T_TMP/prev-$p.json"
	conf_weir "$T_TMP/prev-$p.json" >"$T_TMP/weir-$p.json"
	weir_cni ADD "c-$p" "$p" "$T_TMP/weir-$p.json" ||
		t_bail "weir-cni ADD for $p" "$(cat "$T_TMP/out" "$T_TMP/err")"
	t_is "ADD $p: weir-cni's result is prevResult, unchanged" \
		"$(jq -S . "$T_TMP/out")" "$(jq -S . "$T_TMP/prev-$p.json")"
done
IP1=$(jq -r '.ips[0].address | split("/")[0]' "$T_TMP/prev-pod1.json")
IP2=$(jq -r '.ips[0].address | split("/")[0]' "$T_TMP/prev-pod2.json")
VETH1=$(jq -r '.interfaces[] | select(.sandbox == null and .name != "wbr0") | .name' "$T_TMP/prev-pod1.json")
VETH2=$(jq -r '.interfaces[] | select(.sandbox == null and .name != "wbr0") | .name' "$T_TMP/prev-pod2.json")

reg=$(registration pod1)
t_is "the agent lists the registration: addresses, interface, container, pod UID, attached" \
	"$(jq -c '[.ips, .interface, .container_id, .pod_uid, .attached]' <<<"$reg")" \
	"$(jq -cn --arg ip "$IP1" --arg v "$VETH1" '[[$ip], $v, "c-pod1", "uid-c-pod1", true]')"
t_check "the kernel has Weir's TC filters on both pods' veths (no pattern matches them)" \
	bash -c "for v in $VETH1 $VETH2; do for h in ingress egress; do ip netns exec $(ns_name node) tc filter show dev \$v \$h | grep -q weir_tc_\$h || exit 1; done; done"

# --- the pods' traffic is observed with their namespace and pod name ---------------------------
ns_exec pod1 ping -c 3 -i 0.2 -q "$IP2" >/dev/null || t_fail "pod1 pings pod2 through the bridge"
f='{"source_pod": ["shop/web-pod1"], "destination_pod": ["shop/web-pod2"], "protocol": ["icmp"]}'
seen() {
	api http://agent/v1/flows --get --data-urlencode "allowlist=[$f]" |
		jq -e --arg v "$VETH1" '[.[] | select(.flow.interface.name == $v)] | length > 0'
}
wait_for 8 seen
rec=$(api http://agent/v1/flows --get --data-urlencode "allowlist=[$f]" | jq -c --arg v "$VETH1" \
	'[.[] | select(.flow.interface.name == $v)] | last // empty')
t_is "pod1's ICMP is seen on its veth, named shop/web-pod1 -> shop/web-pod2" \
	"$(jq -r '[.flow.source.namespace, .flow.source.pod_name, .flow.destination.pod_name, .flow.IP.source] | join(" ")' <<<"$rec")" \
	"shop web-pod1 web-pod2 $IP1"

# --- CHECK ------------------------------------------------------------------------------------
weir_cni CHECK c-pod1 pod1 "$T_TMP/weir-pod1.json"
t_is "CHECK of a registered, attached pod: exit 0, no output" "$?:$(cat "$T_TMP/out")" "0:"
weir_cni CHECK c-other pod1 "$T_TMP/weir-pod1.json"
t_check "CHECK for another container of the pod: error 1003" cni_error 1003
ns_exec node tc filter del dev "$VETH2" ingress pref 1 handle 0x57454952 bpf
weir_cni CHECK c-pod2 pod2 "$T_TMP/weir-pod2.json"
t_check "CHECK after Weir's filter was removed behind the agent's back: error 1002" cni_error 1002

# --- DEL: idempotent, and never undoes a newer container's registration -------------------------
weir_cni ADD c-pod1-new pod1 "$T_TMP/weir-pod1.json" || t_fail "ADD of a new sandbox of pod1"
weir_cni DEL c-pod1 pod1 "$T_TMP/weir-pod1.json"
t_is "a late DEL of pod1's old sandbox succeeds" "$?" 0
t_is "... and leaves the new sandbox's registration" \
	"$(registration pod1 | jq -r .container_id)" c-pod1-new
weir_cni DEL c-pod1-new pod1 "$T_TMP/weir-pod1.json"
t_is "DEL succeeds, with no output" "$?:$(cat "$T_TMP/out")" "0:"
t_is "the registration is gone" "$(registration pod1)" ""
t_is "TC is off the veth again" \
	"$(ns_exec node tc filter show dev "$VETH1" ingress | grep -c weir)" 0
weir_cni DEL c-pod1-new pod1 "$T_TMP/weir-pod1.json"
t_is "a second DEL succeeds" "$?" 0
weir_cni DEL c-nobody pod1 "$T_TMP/weir-pod1.json"
t_is "a DEL for a pod the agent never saw succeeds" "$?" 0
weir_cni CHECK c-pod1-new pod1 "$T_TMP/weir-pod1.json"
t_check "CHECK after DEL: error 1001 (not registered)" cni_error 1001
runtime DEL "$plugins/bridge" c-pod1 pod1 "$T_TMP/bridge.json" || t_fail "bridge DEL for pod1"

# --- the spec's errors ------------------------------------------------------------------------
echo '{"cniVersion": "1.0.0", "name": ' >"$T_TMP/bad.json"
weir_cni ADD c-pod2 pod2 "$T_TMP/bad.json"
t_is "malformed stdin: exit 1" "$?" 1
t_check "malformed stdin: error 6 (decode)" cni_error 6
conf_weir "$T_TMP/prev-pod2.json" 'del(.prevResult)' >"$T_TMP/noprev.json"
weir_cni ADD c-pod2 pod2 "$T_TMP/noprev.json"
t_check "ADD without prevResult: error 7 (invalid network configuration)" cni_error 7
conf_weir "$T_TMP/prev-pod2.json" '.cniVersion = "9.9.9"' >"$T_TMP/v9.json"
weir_cni ADD c-pod2 pod2 "$T_TMP/v9.json"
t_check "an unsupported cniVersion: error 1 (incompatible version)" cni_error 1
ns_exec node env CNI_COMMAND=ADD CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH="$plugins" "$cni" \
	<"$T_TMP/weir-pod2.json" >"$T_TMP/out" 2>/dev/null
t_check "no CNI_CONTAINERID: error 4 (invalid environment)" cni_error 4
echo '{"cniVersion": "1.0.0"}' | CNI_COMMAND=VERSION "$cni" >"$T_TMP/out"
t_check "VERSION lists 1.0.0 and 0.4.0" \
	jq -e '.cniVersion == "1.0.0" and (.supportedVersions | index("1.0.0") and index("0.4.0"))' "$T_TMP/out"

conf_weir "$T_TMP/prev-pod2.json" ".agent_socket = \"$T_TMP/nobody.sock\"" >"$T_TMP/down.json"
weir_cni ADD c-pod2 pod2 "$T_TMP/down.json"
t_is "ADD with the agent down: exit 1" "$?" 1
t_check "ADD with the agent down: error 11 (try again later), saying so" \
	jq -e '.code == 11 and (.msg | test("weir-agent running"))' "$T_TMP/out"
weir_cni DEL c-pod2 pod2 "$T_TMP/down.json"
t_is "DEL with the agent down succeeds (its registrations went with it)" "$?" 0
conf_weir "$T_TMP/prev-pod2.json" ".agent_socket = \"$T_TMP/nobody.sock\" | .fail_open = true" \
	>"$T_TMP/open.json"
weir_cni ADD c-pod2 pod2 "$T_TMP/open.json"
t_is "fail_open: ADD with the agent down succeeds with prevResult" \
	"$?:$(jq -S -c . "$T_TMP/out")" "0:$(jq -S -c . "$T_TMP/prev-pod2.json")"

# A socket that accepts and never answers: the call ends at timeout_ms.
ns_bg stuck node "$T_TMP/stuck.log" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(8)
conns = []
while True:
    conns.append(s.accept()[0])' "$T_TMP/stuck.sock"
wait_for 3 test -S "$T_TMP/stuck.sock"
conf_weir "$T_TMP/prev-pod2.json" ".agent_socket = \"$T_TMP/stuck.sock\" | .timeout_ms = 1000" \
	>"$T_TMP/stuck.json"
start=$(date +%s%N)
weir_cni ADD c-pod2 pod2 "$T_TMP/stuck.json"
ms=$((($(date +%s%N) - start) / 1000000))
t_check "ADD with a stuck agent: error 11, saying how long it waited" \
	jq -e '.code == 11 and (.msg | test("no answer within 1000 ms"))' "$T_TMP/out"
t_check "... after the 1 s timeout, not hanging (took ${ms} ms)" \
	test "$ms" -ge 900 -a "$ms" -lt 4000

weir_cni DEL c-pod2 pod2 "$T_TMP/weir-pod2.json" || t_fail "DEL pod2"
runtime DEL "$plugins/bridge" c-pod2 pod2 "$T_TMP/bridge.json" || t_fail "bridge DEL for pod2"
bg_stop "$AGENT" TERM
t_is "the agent exits 0 on SIGTERM" "$?" 0
t_done
