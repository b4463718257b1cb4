#!/usr/bin/env bash
# A restart of weir-agent loses none of the pods the CNI plugin registered.
# Pods are registered through POST /v1/endpoints with their host-side
# interface, as weir-cni's ADD does; the agent's --tc-pattern matches
# nothing, so TC on the veths comes from the registrations alone, and a
# label policy (db takes TCP 80 from app=web only) needs them to resolve.
# Checked across a SIGTERM restart and a kill -9: the registrations are
# listed again with every field and attached: true, TC is back on the
# veths, new traffic carries the pods' names, the policy still resolves
# the pods by label; a registration whose veth was deleted while the agent
# was down is gone, from the list and the state file; a damaged state file
# is moved aside and the agent starts without it; a damaged policy file
# stops the agent (it must not start without the policies: fail open) and
# is left as it was.
# shellcheck disable=SC2317 # functions called through t_check and wait_for
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/netns/topo.sh
. "$here/topo.sh"

build=${WEIR_BUILD:-$here/../../build}
agent=$build/weir-agent
need_root
need_cmd curl jq nc python3 ethtool tc
[ -x "$agent" ] || t_bail "weir-agent is built" "missing $agent: run make"

GW=10.212.0.1 WEB=10.212.0.11 OTHER=10.212.0.12 DB=10.212.0.13 GONE=10.212.0.14
SOCK=$T_TMP/agent.sock
STATE=$T_TMP/state
STATE_FILE=$STATE/endpoints.json
# shellcheck disable=SC2034 # set by ns_bg; killed at exit
AGENT='' httpd='' # set by ns_bg

bpffs_mount || t_bail "a bpffs for the pinned maps"
topo_node node "$GW/24" || t_bail "topology" "node"
for p in web:$WEB other:$OTHER db:$DB gone:$GONE; do
	topo_pod node "${p%%:*}" "${p#*:}/24" "$GW" || t_bail "topology" "${p%%:*}"
done

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

agent_start() {
	ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-a --tc-pattern 'nomatch-*' \
		--pin-dir "$T_BPFFS/weir" --state-dir "$STATE" --socket "$SOCK" --listen '' \
		--sweep-interval 200 --active-timeout 1 --idle-timeout 2
	wait_for 5 api /v1/status
}

# register POD IP APP CONTAINER: what weir-cni's ADD posts for POD.
register() {
	status POST /v1/endpoints --data-binary "$(jq -cn --arg pod "$1" --arg ip "$2" \
		--arg app "$3" --arg cid "$4" \
		'{ips: [$ip], namespace: "shop", pod_name: $pod, labels: {app: $app},
		  interface: ("w" + $pod), container_id: $cid, pod_uid: ("uid-" + $pod)}')"
}

# The API registrations as "pod:interface:container:pod_uid:attached", sorted.
registrations() {
	api /v1/endpoints | jq -r '[.[] | select(.source == "api") |
		"\(.pod_name):\(.interface):\(.container_id):\(.pod_uid):\(.attached)"] | sort | join(" ")'
}

# The pods the state file holds, sorted.
state_pods() {
	jq -r '[.endpoints[].pod_name] | sort | join(" ")' "$STATE_FILE"
}

tc_on() {
	local h

	for h in ingress egress; do
		ns_exec node tc filter show dev "w$1" "$h" | grep -q "weir_tc_$h" || return 1
	done
}

connects() {
	ns_exec "$1" nc -z -n -w 2 "$DB" 80
}

blocked() {
	! ns_exec "$1" nc -z -n -w 1 "$DB" 80
}

# seen: web's connection to db is a flow on web's veth, named shop/web -> shop/db.
seen() {
	local f='{"source_pod": ["shop/web"], "destination_pod": ["shop/db"], "protocol": ["tcp"], "interface": [{"name": "wweb"}]}'

	api /v1/flows --get --data-urlencode "allowlist=[$f]" | jq -e 'length > 0'
}

# traffic_named: new traffic after a restart is observed with the pods' names
# (the flow store starts empty with the agent).
traffic_named() {
	connects web && wait_for 8 seen
}

plan 34

# --- registrations, written to the state dir ---------------------------------------------------
agent_start || t_bail "the agent starts" "$(cat "$T_TMP/agent.log.err")"
t_is "no registration yet, no state file" "$(test -e "$STATE_FILE" && echo exists)" ""
codes=""
for p in web:$WEB:web other:$OTHER:other db:$DB:db gone:$GONE:other; do
	IFS=: read -r pod ip app <<<"$p"
	codes+="$(register "$pod" "$ip" "$app" "c-$pod") "
done
t_is "four pods registered with their interfaces: 201 each" "$codes" "201 201 201 201 "
t_is "the state file holds them, and only root reads it" \
	"$(state_pods) $(stat -c %a "$STATE_FILE")" "db gone other web 600"
api /v1/policy -X PUT --data-binary '{"name": "db-ingress",
	"endpoint": {"namespace": "shop", "labels": {"app": "db"}},
	"ingress": {"default": "deny", "rules": [{"action": "allow",
		"from": {"labels": {"app": "web"}}, "protocol": "TCP", "ports": ["80"]}]}}' >/dev/null ||
	t_bail "the policy is accepted" "$(cat "$T_TMP/agent.log.err")"
ns_bg httpd db "$T_TMP/httpd" python3 -m http.server 80 --bind "$DB" -d "$T_TMP"
wait_for 10 connects web ||
	t_bail "web reaches db:80 under the policy" "$(cat "$T_TMP/httpd.err" "$T_TMP/agent.log.err")"
t_check "the policy resolves the pods by their registrations' labels: other is blocked" blocked other

# --- SIGTERM; a pod goes away while the agent is down; start again -------------------------------
bg_stop "$AGENT" TERM
t_is "the agent exits 0 on SIGTERM" "$?" 0
t_check "TC came off the veths with it" bash -c "! ip netns exec $(ns_name node) tc filter show dev wweb ingress | grep -q weir"
ip -n "$(ns_name node)" link del wgone || t_fail "the gone pod's veth is deleted"
agent_start || t_bail "the agent starts again" "$(cat "$T_TMP/agent.log.err")"
t_is "after SIGTERM and a restart the registrations are back, every field, attached" \
	"$(registrations)" \
	"db:wdb:c-db:uid-db:true other:wother:c-other:uid-other:true web:wweb:c-web:uid-web:true"
t_check "TC is on the registered veths again" bash -c "$(declare -f ns_exec tc_on); T_PREFIX=$T_PREFIX; tc_on web && tc_on db && tc_on other"
t_is "the registration whose veth went away is gone, from the state file too" \
	"$(api /v1/endpoints | jq '[.[] | select(.pod_name == "gone")] | length') $(state_pods)" \
	"0 db other web"
t_check "the agent says why it dropped it" \
	grep -q 'registration dropped namespace=shop pod=gone: its interface=wgone is gone' "$T_TMP/agent.log.err"
t_check "new traffic is observed with the pods' names" traffic_named
t_check "the policy still lets web in" connects web
t_check "... and keeps other out" blocked other

# --- changes after the restart are written too; kill -9 ------------------------------------------
t_is "a DEL after the restart finds the restored registration (204)" \
	"$(status DELETE "/v1/endpoints/shop/other?container_id=c-other")" 204
t_is "a new sandbox of other registers (201)" "$(register other "$OTHER" other c-other-2)" 201
bg_stop "$AGENT" KILL
t_is "kill -9 kills the agent" "$?" 137
agent_start || t_bail "the agent starts after kill -9" "$(cat "$T_TMP/agent.log.err")"
t_is "after kill -9 the registrations are back as they were last changed" \
	"$(registrations)" \
	"db:wdb:c-db:uid-db:true other:wother:c-other-2:uid-other:true web:wweb:c-web:uid-web:true"
t_check "new traffic is observed with the pods' names" traffic_named
t_check "the policy lets web in" connects web
t_check "... and keeps other out" blocked other
t_is "no temporary file is left in the state dir" "$(find "$STATE" -name '*.tmp' | wc -l)" 0

# --- a damaged state file ----------------------------------------------------------------------
bg_stop "$AGENT" TERM
head -c 40 "$STATE_FILE" >"$T_TMP/torn" && cp "$T_TMP/torn" "$STATE_FILE"
agent_start
t_is "a damaged state file does not stop the agent" "$?" 0
t_is "it starts without registrations" "$(registrations)" ""
t_is "the damaged file is moved aside as it was" \
	"$(cmp "$T_TMP/torn" "$STATE_FILE.bad" && echo same) $(test -e "$STATE_FILE" || echo none)" \
	"same none"
t_check "the agent says so" grep -q "state file path=$STATE_FILE is damaged" "$T_TMP/agent.log.err"
register web "$WEB" web c-web >/dev/null
t_is "the next registration writes a good file" "$(state_pods)" "web"

# --- a damaged policy state file stops the agent: it must not fail open -------------------------
bg_stop "$AGENT" TERM
POLICY_FILE=$STATE/policy.json
cp "$POLICY_FILE" "$T_TMP/policy.good"
head -c 60 "$T_TMP/policy.good" >"$POLICY_FILE"
cp "$POLICY_FILE" "$T_TMP/policy.torn"
agent_start
t_is "a damaged policy file: the agent does not come up" "$?" 1
bg_wait "$AGENT"
t_is "... it exits with status 1" "$?" 1
t_check "the agent says which file and what to do" \
	grep -q "state file path=$POLICY_FILE is damaged.*move it aside" "$T_TMP/agent.log.err"
t_is "the damaged file is left as it was" "$(cmp "$T_TMP/policy.torn" "$POLICY_FILE" && echo same)" \
	same
cp "$T_TMP/policy.good" "$POLICY_FILE"
agent_start || t_bail "the agent starts with the policy file repaired" "$(cat "$T_TMP/agent.log.err")"
t_is "the repaired file's policy is in force again" \
	"$(api /v1/policy | jq -r '[.policies[].name] | join(" ")')" db-ingress
register db "$DB" db c-db >/dev/null
t_check "... and enforced: web reaches db" connects web
t_check "... other does not" blocked other
bg_stop "$AGENT" TERM
t_is "the agent exits 0 on SIGTERM" "$?" 0
t_done
