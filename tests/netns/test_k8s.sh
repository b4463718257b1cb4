#!/usr/bin/env bash
# weir-agent's Kubernetes pod watch against a replay of the API server
# (k8s_replay.py, recorded responses in tests/fixtures/k8s/ in the API's
# wire format) over real HTTP: the agent starts before the server and
# retries; it lists this node's pods in two pages, watches from the list's
# resourceVersion, applies ADDED/MODIFIED/DELETED, moves on at a BOOKMARK,
# resumes a dropped watch from the last version, relists on 410 Gone (pods
# deleted meanwhile disappear), and stops at once on SIGTERM mid-watch.
# Until the first list is in, endpoint policy keeps the maps the previous
# agent left (a sync with no pods known would take their policy away).
# Every step is asserted through GET /v1/endpoints.
# shellcheck disable=SC2317 # functions called through t_check and wait_for
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"

build=${WEIR_BUILD:-$here/../../build}
agent=$build/weir-agent
fixtures=$here/../fixtures/k8s
need_root
need_cmd curl jq python3
[ -x "$agent" ] || t_bail "weir-agent is built" "missing $agent: run make"

SOCK=$T_TMP/agent.sock PORT=16443 TOKEN=replay-token-5f2c
# shellcheck disable=SC2034 # set by ns_bg; killed at exit
AGENT='' server='' # set by ns_bg
LOG=$T_TMP/requests.log
mkdir -p "$T_TMP/gates"

bpffs_mount || t_bail "a bpffs for the pinned maps"
ns_add node || t_bail "namespace"
# The node's own address: the host-network pod's address is this.
{ ns_exec node ip link add up0 type veth peer name up1 &&
	ns_exec node ip addr add 10.205.0.1/24 dev up0 && ns_exec node ip link set up0 up; } ||
	t_bail "the node's address"

# A kubeconfig of the supported subset; the CA is there, unused over http.
ca=$(printf -- '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n' | base64 -w0)
cat >"$T_TMP/kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: replay
clusters:
- name: other
  cluster: {server: "https://192.0.2.1:6443"}
- name: replay
  cluster:
    server: http://127.0.0.1:$PORT/
    certificate-authority-data: $ca
contexts:
- name: replay
  context: {cluster: replay, user: agent, namespace: kube-system}
users:
- name: agent
  user:
    token: $TOKEN
YAML

api() {
	curl -sf --max-time 5 --unix-socket "$SOCK" "http://agent$1"
}

k8s_status() {
	api /v1/status | jq -r ".k8s.$1"
}

# k8s_is FIELD VALUE: /v1/status's k8s.FIELD reaches VALUE.
k8s_is() {
	[ "$(k8s_status "$1")" = "$2" ]
}

# The Kubernetes source's pods: "ns/pod kind/workload ip,ip labels" per line, sorted.
pods() {
	api /v1/endpoints | jq -r '[.[] | select(.source == "k8s") |
		"\(.namespace)/\(.pod_name) \(.workload.kind // "-")/\(.workload.name // "-") \(.ips | join(",")) \(.labels.version // .labels.app // .labels.run // "-") \(.node_name)"] | sort | .[]'
}

gate() {
	touch "$T_TMP/gates/$1"
}

policy() {
	api /v1/status | jq -c '.policy'
}

# --- before Kubernetes: a policy in force on db-0, from an agent without the watch ---------------
ns_bg AGENT node "$T_TMP/agent0.log" "$agent" --node-name node-a --pin-dir "$T_BPFFS/weir" \
	--socket "$SOCK" --listen '' --state-dir "$T_TMP/state0"
wait_for 5 api /v1/status || t_bail "the first agent starts" "$(cat "$T_TMP/agent0.log.err")"
curl -sf --max-time 5 --unix-socket "$SOCK" http://agent/v1/endpoints -X POST --data-binary \
	'{"ips": ["10.205.1.20"], "namespace": "shop", "pod_name": "db-0", "labels": {"app": "db"}}' \
	>/dev/null || t_bail "db-0 registered" "$(cat "$T_TMP/agent0.log.err")"
curl -sf --max-time 5 --unix-socket "$SOCK" http://agent/v1/policy -X PUT --data-binary \
	'{"name": "db", "endpoint": {"namespace": "shop", "labels": {"app": "db"}},
	  "ingress": {"default": "deny", "rules": [{"from": {"labels": {"app": "web"}},
	  "protocol": "TCP", "ports": ["5432"]}]}}' >/dev/null ||
	t_bail "the policy is accepted" "$(cat "$T_TMP/agent0.log.err")"
t_is "the policy is in force on db-0's address" "$(policy)" \
	'{"policies":1,"endpoints":1,"held":false}'
bg_stop "$AGENT" TERM
mkdir -p "$T_TMP/state"
cp "$T_TMP/state0/policy.json" "$T_TMP/state/" # the policy, not the registration

# --- the API server is not there yet: the agent starts anyway and retries -----------------------
ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-a --kubeconfig "$T_TMP/kubeconfig" \
	--pin-dir "$T_BPFFS/weir" --socket "$SOCK" --listen '' --state-dir "$T_TMP/state"
wait_for 5 api /v1/status || t_bail "the agent starts" "$(cat "$T_TMP/agent.log.err")"
t_check "with the API server down the agent serves, not synced, counting errors" \
	wait_for 5 bash -c "[ \"\$(curl -sf --unix-socket '$SOCK' http://agent/v1/status | jq '.k8s.synced == false and .k8s.errors > 0')\" = true ]"
t_is "until the pod list is in, the policy maps stay as the last agent left them (no fail open)" \
	"$(policy)" '{"policies":1,"endpoints":1,"held":true}'
t_check "weir status says so" bash -c "'$build/weir' --server '$SOCK' status |
	grep -qx 'Policies: 1 on 1 endpoint addresses (held: waiting for the Kubernetes pod list)'"

ns_bg server node "$T_TMP/server.log" python3 "$here/k8s_replay.py" "$PORT" "$fixtures" \
	"$fixtures/script.json" "$T_TMP/gates" "$LOG" "$TOKEN" node-a
t_check "the agent lists once the server is up (after its backoff)" wait_for 10 k8s_is lists 1
t_check "... and then syncs the policy against the listed pods (db-0 by its labels)" \
	wait_for 5 bash -c "[ \"\$(curl -sf --unix-socket '$SOCK' http://agent/v1/status | jq -c .policy)\" = '{\"policies\":1,\"endpoints\":1,\"held\":false}' ]"

# --- the list: two pages ------------------------------------------------------------------------
t_is "the list's pods: the Deployment named through pod-template-hash, the StatefulSet; not the host-network or pending pods" \
	"$(pods)" "$(printf '%s\n' \
		'shop/db-0 StatefulSet/db 10.205.1.20 db node-a' \
		'shop/web-7d9f8c6b5-x2kqz Deployment/web 10.205.1.10,fd00:205::10 v1 node-a')"
t_is "the watch starts from the list's resourceVersion" "$(k8s_status resource_version)" 1000
t_is "the host-network pod's address is the node: host" \
	"$(api /v1/endpoints | jq '[.[] | select(.ips | index("10.205.0.1"))] | length')" 0

# --- watch 1: ADDED, MODIFIED, ADDED, BOOKMARK; then the connection drops --------------------------
gate g1
t_check "watch events are applied as they come" wait_for 5 k8s_is resource_version 1010
t_is "a DaemonSet pod and a bare pod added, the Deployment's pod relabelled" "$(pods)" "$(printf '%s\n' \
	'default/debug -/- 10.205.1.60 debug node-a' \
	'logging/fluent-bit-q7w2e DaemonSet/fluent-bit 10.205.1.30 fluent-bit node-a' \
	'shop/db-0 StatefulSet/db 10.205.1.20 db node-a' \
	'shop/web-7d9f8c6b5-x2kqz Deployment/web 10.205.1.10,fd00:205::10 v2 node-a')"
gate g2
# --- watch 2: resumed from the bookmark; DELETED, ADDED; then ERROR 410 ----------------------------
t_check "the dropped watch resumes from the bookmark's version, without a relist" \
	wait_for 5 k8s_is resource_version 1012
t_is "... still one list" "$(k8s_status lists)" 1
t_is "the StatefulSet pod deleted, a Job's pod added" "$(pods | cut -d' ' -f1,2)" "$(printf '%s\n' \
	'default/debug -/-' 'logging/fluent-bit-q7w2e DaemonSet/fluent-bit' \
	'shop/backup-29001234-k8v5n Job/backup-29001234' \
	'shop/web-7d9f8c6b5-x2kqz Deployment/web')"
gate g3
t_check "410 Gone: the agent lists again" wait_for 5 k8s_is lists 2
t_is "... counted as expired" "$(k8s_status expired)" 1
t_is "the relist replaces the set: the pod deleted while no watch ran is gone, a new one is in" \
	"$(pods | cut -d' ' -f1)" "$(printf '%s\n' default/debug shop/backup-29001234-k8v5n \
		shop/cache-0 shop/web-7d9f8c6b5-x2kqz)"

# --- watch 3: a finished Job pod and a deleted pod leave the cache -----------------------------------
gate g4
t_check "watch from the relist's version" wait_for 5 k8s_is resource_version 2004
t_is "the Succeeded Job pod (its address may be reused) and the deleted pod are gone" \
	"$(pods | cut -d' ' -f1)" "$(printf '%s\n' shop/cache-0 shop/web-7d9f8c6b5-x2kqz)"

# --- what the server saw --------------------------------------------------------------------------
t_is "every request was the script's next (none refused)" "$(grep -c mismatch "$LOG")" 0
t_is "resourceVersions watched from: list, bookmark, last event before 410, relist, last event" \
	"$(jq -r 'select(.query.watch) | .query.resourceVersion' "$LOG" | paste -sd' ')" \
	"1000 1010 2000 2004"
t_check "every request carried the token, the node's field selector, and watches asked for bookmarks" \
	jq -se 'all(.[] | select(.path); .authorization == "Bearer '"$TOKEN"'" and .query.fieldSelector == "spec.nodeName=node-a" and (.query.watch == null or .query.allowWatchBookmarks == "true"))' "$LOG"
t_is "the second page was asked for with the first's continue token" \
	"$(jq -r 'select(.query.continue) | .query.continue' "$LOG" | head -c 12)" eyJ2IjoibWV0

# --- SIGTERM with a watch open --------------------------------------------------------------------
wait_for 5 bash -c "[ \$(grep -c '\"2004\"' '$LOG') -ge 1 ]"
start=$(date +%s%N)
bg_stop "$AGENT" TERM
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
t_is "SIGTERM with a watch open: exit 0" "$rc" 0
t_check "... within 2 s (took ${ms} ms)" test "$ms" -lt 2000
t_done
