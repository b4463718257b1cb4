#!/usr/bin/env bash
# TC endpoint policy end to end: pods on one node, the real agent, real TCP.
# db's policy allows TCP 80 from app=web and denies the rest, and denies its
# own egress (so its replies pass only as replies of allowed flows). Checked:
# the web pod connects, another pod is dropped with POLICY_DENIED (flows,
# weir observe, /metrics), a web pod made after the policy gets in, a bad
# document is refused whole and the old policy stays, updates under traffic
# drop nothing allowed, audit mode forwards and reports AUDIT, the policy
# survives an agent restart, and delete lifts it.
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
need_cmd curl jq nc python3 ethtool
[ -x "$agent" ] || t_bail "weir-agent is built" "missing $agent: run make"

GW=10.207.0.1 WEB=10.207.0.11 OTHER=10.207.0.12 DB=10.207.0.13 WEB2=10.207.0.14
SOCK=$T_TMP/agent.sock
STATE=$T_TMP/state
EPFILE=$T_TMP/endpoints.json
AGENT='' httpd='' traffic='' # set by ns_bg

bpffs_mount || t_bail "a bpffs for the pinned maps"
PIN=$T_BPFFS/weir
topo_node node "$GW/24" || t_bail "topology" "node"
topo_pod node web "$WEB/24" "$GW" || t_bail "topology" "web"
topo_pod node other "$OTHER/24" "$GW" || t_bail "topology" "other"
topo_pod node db "$DB/24" "$GW" || t_bail "topology" "db"

endpoints_file() {
	local docs=("$(topo_endpoint_json shop web "$WEB" web)"
		"$(topo_endpoint_json shop other "$OTHER" other)"
		"$(topo_endpoint_json shop db "$DB" db)") IFS=,
	[ "${1:-}" = with-web2 ] && docs+=("$(topo_endpoint_json shop web2 "$WEB2" web)")
	printf '{"endpoints": [%s]}\n' "${docs[*]}" >"$EPFILE.tmp"
	mv "$EPFILE.tmp" "$EPFILE"
}
endpoints_file

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
	ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-a --tc-pattern 'w*' \
		--pin-dir "$PIN" --socket "$SOCK" --listen '' --state-dir "$STATE" \
		--endpoints-file "$EPFILE" --sweep-interval 200 --active-timeout 2 --idle-timeout 3
	wait_for 5 api /v1/status
}

# shellcheck disable=SC2317 # connects and blocked are called through t_check
# connects POD: a TCP connection from POD to db:80 completes.
connects() {
	ns_exec "$1" nc -z -n -w 2 "$DB" 80
}

# shellcheck disable=SC2317
# blocked POD: it does not (the SYN is dropped: nc times out).
blocked() {
	! ns_exec "$1" nc -z -n -w 1 "$DB" 80
}

policy_doc() {
	local mode=${1:-enforce} extra=${2:-}

	cat <<-JSON
		{"name": "db-ingress", "mode": "$mode",
		 "endpoint": {"namespace": "shop", "labels": {"app": "db"}},
		 "ingress": {"default": "deny",
		             "rules": [{"action": "allow", "from": {"labels": {"app": "web"}},
		                        "protocol": "TCP", "ports": ["80"]}$extra]},
		 "egress": {"default": "deny"}}
	JSON
}

plan 21

agent_start || t_bail "the agent starts" "$(cat "$T_TMP/agent.log.err")"
ns_bg httpd db "$T_TMP/httpd" python3 -m http.server 80 --bind "$DB" -d "$T_TMP"
wait_for 10 connects web || t_bail "db serves on port 80 before any policy" "$(cat "$T_TMP/httpd.err" "$T_TMP/agent.log.err")"
t_check "without a policy, other reaches db:80" connects other

# --- the policy -------------------------------------------------------------------------------
policy_doc >"$T_TMP/policy.json"
t_check "weir policy apply -f accepts the policy" "$weir" --server "$SOCK" policy apply -f "$T_TMP/policy.json"
t_check "weir policy get lists it" bash -c "'$weir' --server '$SOCK' policy get -o json | jq -e '.policies[0].name == \"db-ingress\"'"
t_check "web (app=web) connects to db:80 (and db's replies pass its egress default deny)" connects web
t_check "other is dropped" blocked other
t_check "web is dropped on another port" bash -c "! ip netns exec $(ns_name web) nc -z -n -w 1 $DB 81"

dropped='{"verdict": ["DROPPED"], "source_pod": ["shop/other"], "destination_pod": ["shop/db"]}'
t_check "the flow record says DROPPED, POLICY_DENIED, at db's ingress" bash -c \
	"curl -sf --unix-socket '$SOCK' --get --data-urlencode 'allowlist=[$dropped]' http://agent/v1/flows | jq -e 'length > 0 and all(.[]; .flow.drop_reason_desc == \"POLICY_DENIED\" and .flow.traffic_direction == \"INGRESS\")'"
t_check "weir observe --verdict DROPPED shows who dropped what and why" bash -c \
	"'$weir' --server '$SOCK' observe --all --verdict DROPPED -o json | jq -e -s 'any(.[]; .flow.source.pod_name == \"other\" and .flow.destination.pod_name == \"db\" and .flow.drop_reason_desc == \"POLICY_DENIED\" and .flow.l4.TCP.destination_port == 80)'"
t_check "/metrics counts the drops by reason and direction (TC egress of db's veth)" bash -c \
	"curl -sf --unix-socket '$SOCK' http://agent/metrics | grep -Eq '^weir_drop_total\\{reason=\"POLICY_DENIED\",direction=\"EGRESS\"\\} [1-9]' && curl -sf --unix-socket '$SOCK' http://agent/metrics | grep -Eq '^weir_drop_bytes_total\\{reason=\"POLICY_DENIED\",direction=\"EGRESS\"\\} [1-9]'"

# --- a web pod made after the policy ------------------------------------------------------------
topo_pod node web2 "$WEB2/24" "$GW" || t_bail "topology" "web2"
t_check "web2 (no labels known yet) is dropped" blocked web2
endpoints_file with-web2
t_check "web2, once known as app=web, connects" wait_for 5 connects web2

# --- a bad document is refused whole; the old policy stays --------------------------------------
policy_doc enforce ', {"from": {"labels": {"app": "other"}}, "protocol": "TCP", "ports": ["80-70"]}' >"$T_TMP/bad.json"
code=$(status PUT /v1/policy --data-binary "@$T_TMP/bad.json")
t_is "an invalid policy is refused with 400" "$code" 400
t_check "the error names the bad field" jq -e '.error | contains("ingress.rules[1].ports[0]")' "$T_TMP/body"
t_check "the old policy keeps working (web in, other out)" bash -c \
	"ip netns exec $(ns_name web) nc -z -n -w 2 $DB 80 && ! ip netns exec $(ns_name other) nc -z -n -w 1 $DB 80"

# --- updates under continuous traffic drop nothing allowed --------------------------------------
ns_bg traffic web "$T_TMP/traffic" bash -c "for i in \$(seq 150); do nc -z -n -w 2 $DB 80 && echo ok || echo fail; done"
for i in $(seq 10); do
	policy_doc enforce ", {\"from\": {\"cidr\": \"192.0.2.$i/32\"}, \"protocol\": \"UDP\", \"ports\": [\"$((5000 + i))\"]}" >"$T_TMP/upd.json"
	api /v1/policy -X PUT --data-binary "@$T_TMP/upd.json" >/dev/null || t_diag "update $i failed"
	sleep 0.1
done
bg_wait "$traffic"
t_is "150 connections while the policy was updated 10 times: none dropped" \
	"$(grep -c '^ok$' "$T_TMP/traffic")/$(grep -c '^fail$' "$T_TMP/traffic")" "150/0"

# --- audit mode ---------------------------------------------------------------------------------
policy_doc audit >"$T_TMP/audit.json"
api /v1/policy -X PUT --data-binary "@$T_TMP/audit.json" >/dev/null
t_check "in audit mode, other gets through" connects other
t_check "and its flow is reported with verdict AUDIT" wait_for 3 bash -c \
	"'$weir' --server '$SOCK' observe --all --verdict AUDIT -o json | jq -e -s 'any(.[]; .flow.source.pod_name == \"other\" and .flow.verdict == \"AUDIT\")'"

t_check "/metrics counts it forwarded, with verdict AUDIT" bash -c \
	"curl -sf --unix-socket '$SOCK' http://agent/metrics | grep -Eq '^weir_datapath_packets_total\\{verdict=\"AUDIT\",reason=\"POLICY_AUDIT\",direction=\"EGRESS\",hook=\"tc\"\\} [1-9]'"

# --- restart ------------------------------------------------------------------------------------
api /v1/policy -X PUT --data-binary "@$T_TMP/policy.json" >/dev/null
bg_stop "$AGENT"
agent_start || t_bail "the agent restarts" "$(cat "$T_TMP/agent.log.err")"
t_check "after a restart the policy is back and enforced" bash -c \
	"curl -sf --unix-socket '$SOCK' http://agent/v1/policy/db-ingress | jq -e '.mode == \"enforce\"' && ip netns exec $(ns_name web) nc -z -n -w 2 $DB 80 && ! ip netns exec $(ns_name other) nc -z -n -w 1 $DB 80"

# --- delete -------------------------------------------------------------------------------------
t_check "weir policy delete removes it" "$weir" --server "$SOCK" policy delete db-ingress
t_check "and other reaches db again" connects other
bg_stop "$httpd"

t_done
