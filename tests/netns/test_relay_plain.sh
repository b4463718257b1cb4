#!/usr/bin/env bash
# weir-relay with peers that speak plain NDJSON only: one that refuses
# ?format=compact with a 400 (an agent from before the compact format) and
# one that ignores it and answers application/x-ndjson. The relay asks for
# the compact stream, falls back to NDJSON for each, and takes their records
# as before. Relay and peers share one namespace, on its loopback.
#
# Functions called through wait_for and t_check look unreachable to shellcheck.
# shellcheck disable=SC2317
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"

build=${WEIR_BUILD:-$here/../../build}
relay=$build/weir-relay
need_root
need_cmd curl jq python3
[ -x "$relay" ] || t_bail "weir-relay is built" "missing $relay: run make"

NS=relay
# shellcheck disable=SC2034 # killed at exit, like everything ns_bg starts
OLD='' IGNORE='' RELAY_PID=''

ns_add "$NS" || t_bail "topology" "namespace"
ns_bg OLD "$NS" "$T_TMP/old.log" python3 "$here/relay_plain_peer.py" 127.0.0.1 4244 plain-old refuse
ns_bg IGNORE "$NS" "$T_TMP/ignore.log" python3 "$here/relay_plain_peer.py" 127.0.0.1 4246 plain-ignore ignore
for port in 4244 4246; do
	wait_for 5 ns_exec "$NS" curl -sf --max-time 1 "http://127.0.0.1:$port/v1/status" ||
		t_bail "the plain peers start" "$(cat "$T_TMP/old.log.err" "$T_TMP/ignore.log.err")"
done
ns_bg RELAY_PID "$NS" "$T_TMP/relay.log" "$relay" --listen 127.0.0.1:4245 \
	--peer 127.0.0.1:4244 --peer 127.0.0.1:4246 --status-interval 1s --backoff-max 4s \
	--sort-window 1s --connect-timeout 2s

rapi() {
	ns_exec "$NS" curl -sf --max-time 5 "$@"
}
# node_is NAME JQ: /v1/nodes has node NAME and JQ is true of it.
node_is() {
	rapi http://127.0.0.1:4245/v1/nodes |
		jq -ne --arg n "$1" "input | any(.[]; .name == \$n and ($2))"
}

for n in plain-old plain-ignore; do
	t_check "$n is connected, its stream read as NDJSON (format \"ndjson\" in /v1/nodes)" \
		wait_for 10 node_is "$n" '.state == "NODE_CONNECTED" and .format == "ndjson"'
	t_check "$n's records come through, none refused" \
		wait_for 5 node_is "$n" '.flows_seen > 0 and .parse_errors == 0 and .failures == 0'
	t_check "the relay stores $n's records, named for it" \
		wait_for 5 bash -c "ip netns exec '$(ns_name "$NS")' curl -sf --max-time 5 --get \
			--data-urlencode 'allowlist=[{\"source_pod\": [\"plain/$n-pod\"]}]' \
			http://127.0.0.1:4245/v1/flows |
			jq -ne 'input | length > 0 and all(.[]; .node_name == \"$n\")'"
done
t_check "the relay asked plain-old for the compact stream, then again plainly" bash -c \
	"grep -q '^/v1/flows?follow=1&format=compact$' '$T_TMP/old.log' &&
	 grep -q '^/v1/flows?follow=1$' '$T_TMP/old.log'"
t_check "plain-ignore was asked for the compact stream once" bash -c \
	"[ \"\$(grep -c '^/v1/flows' '$T_TMP/ignore.log')\" = 1 ] &&
	 grep -q '^/v1/flows?follow=1&format=compact$' '$T_TMP/ignore.log'"

bg_stop "$RELAY_PID" TERM
t_is "the relay exits 0 on SIGTERM" "$?" 0
t_check "the relay logged no error" bash -c "! grep 'level=error' '$T_TMP/relay.log.err'"

t_done
