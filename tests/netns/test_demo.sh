#!/usr/bin/env bash
# shellcheck disable=SC2317	# the check functions are called through t_check
# make demo never rots: runs scripts/demo.sh --no-follow as `make demo` does
# and checks that every step shows what it claims (the nodes through the
# relay, flows of both nodes with pod names, the load-balanced service and
# its backends, POLICY_DENIED and PREFILTER_DENIED drops, the flow log,
# weir top from the history), that it exits 0 and leaves nothing behind;
# then starts it again and interrupts it (Ctrl-C to its process group) once
# the agents and the relay run: it must clean up just the same.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"

build=$(cd "${WEIR_BUILD:-$top/build}" 2>/dev/null && pwd) || build=${WEIR_BUILD:-$top/build}
need_root
need_cmd curl jq nc python3 ethtool ping setsid timeout
for b in weir weir-agent weir-relay; do
	[ -x "$build/$b" ] || t_bail "$b is built" "missing $build/$b: run make"
done

OUT=$T_TMP/demo.out
INT_OUT=$T_TMP/demo-int.out

# The demo's name prefix (weir-demo-PID-), from the line that explains it.
demo_prefix() {
	grep -o 'ip netns exec weir-demo-[0-9]*-' "$1" | head -n1 | sed 's/^ip netns exec //'
}

# nothing_left PREFIX: no namespace, temp dir, mount or process of that run.
nothing_left() {
	local p=$1

	[ -n "$p" ] || { echo "no prefix"; return 1; }
	if ip netns list | grep -q "^$p"; then
		echo "namespaces left:"
		ip netns list | grep "^$p"
		return 1
	fi
	if compgen -G "/tmp/$p*" >/dev/null; then
		echo "temp dirs left:" /tmp/"$p"*
		return 1
	fi
	if grep -q "/tmp/$p" /proc/mounts; then
		echo "mounts left:"
		grep "/tmp/$p" /proc/mounts
		return 1
	fi
	if pgrep -f "/tmp/$p" >/dev/null; then
		echo "processes left:"
		pgrep -af "/tmp/$p"
		return 1
	fi
}

# shown TEXT: the transcript has a line with TEXT (fixed string).
shown() {
	grep -qF -- "$1" "$T_TMP/plain"
}

# shown_re REGEX: the transcript has a line matching REGEX (extended).
shown_re() {
	grep -qE -- "$1" "$T_TMP/plain"
}

# after HEADING REGEX: a line matching REGEX follows the heading containing HEADING.
after() {
	awk -v h="$1" -v re="$2" 'index($0, "== " h) == 1 { on = 1; next }
		/^== / { on = 0 } on && $0 ~ re { found = 1 } END { exit !found }' "$T_TMP/plain"
}

# Checks of more than one line.
two_nodes() {
	after "The relay's nodes" '^node-[ab] +Connected' &&
		[ "$(grep -cE '^node-[ab] +Connected' "$T_TMP/plain")" -eq 2 ]
}
lb_listed() {
	after "Load balancer" '^catalog +10\.96\.0\.10:80/TCP' &&
		after "Load balancer" '10\.210\.1\.21:8080 +100 +active' &&
		after "Load balancer" '10\.210\.1\.22:8080 +100 +active'
}
prefilter_blocks() {
	after "XDP prefilter" '^connected$' && after "XDP prefilter" '^no answer$'
}
top_dropped() {
	after "Top talkers" '^shop/frontend +shop/db +POLICY_DENIED +[1-9]' &&
		after "Top talkers" '^shop/crawler +shop/cart +PREFILTER_DENIED +[1-9]'
}

plan 22

start=$SECONDS
timeout -s INT 150 "$top/scripts/demo.sh" --no-follow "$build" >"$OUT" 2>&1
rc=$?
took=$((SECONDS - start))
sed 's/\x1b\[[0-9;]*m//g' "$OUT" >"$T_TMP/plain"
t_diag "the demo took $took s"
t_is "the demo exits 0" "$rc" 0
[ "$rc" -eq 0 ] || t_diag "$(tail -n 30 "$T_TMP/plain")"

t_check "weir nodes: both nodes connected through the relay" two_nodes
t_check "flows of node-a with pod names through the relay" \
	after "Flows from both nodes" '\[node-a\]: shop/frontend(:[0-9]+)? -> shop/(cart|db|search)'
t_check "flows of node-b with pod names through the relay" \
	after "Flows from both nodes" '\[node-b\]: shop/[a-z]+(:[0-9]+)? -> shop/(db|search)'
t_check "weir status: 2/2 nodes connected" shown "Connected Nodes: 2/2"

t_check "every step prints the command it runs" \
	shown_re '^\[relay\]\$ weir --server http://127.0.0.1:4245 observe --last 20'
t_check "the service's clients got answers from the backends, none failed" \
	shown_re '^\{"failed": 0, "catalog-[12]": [0-9]+(, "catalog-[12]": [0-9]+)?\}$'
t_check "weir lb list shows the service and both backends" lb_listed
t_check "flows to the VIP name the service and the backend" \
	shown_re '"to":"10\.96\.0\.10","service":"catalog","backend":\{"backend":"10\.210\.1\.2[12]","backend_port":8080\}'

t_check "weir policy apply applies the document" shown "applied 1 policies"
t_check "weir observe --verdict DROPPED shows frontend -> db as POLICY_DENIED" \
	shown '{"from":"frontend","to":"db","port":5432,"verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","node":"node-b"}'
t_check "cart, which the policy allows, is not dropped" \
	bash -c "! grep -q '\"from\":\"cart\".*POLICY_DENIED' '$T_TMP/plain'"

t_check "the crawler connects before the prefilter and not after" prefilter_blocks
t_check "weir prefilter list counts the crawler's dropped packets" \
	after "XDP prefilter" '^10\.210\.2\.66/32 +[1-9][0-9]* +[1-9]'
t_check "weir observe --verdict DROPPED shows the crawler as PREFILTER_DENIED" \
	shown '{"from":"crawler","to":"cart","port":8080,"verdict":"DROPPED","drop_reason_desc":"PREFILTER_DENIED","node":"node-a"}'

t_check "the flow log's lines are node-a's pods' flows, masked" \
	after "node-a's flow log" '^\{"flow":\{.*"source":\{"pod_name":"[a-z-]+"\}.*"node_name":"node-a"'
t_check "weir top shows the top talkers from the history" \
	after "Top talkers" '^shop/frontend +shop/cart +[0-9]+ +[0-9]+ +[0-9,]+$'
t_check "weir top --dropped shows both drop reasons" top_dropped
t_check "no step waited in vain for its flows" bash -c "! grep -q 'at the relay after 10 s' '$T_TMP/plain'"

t_check "the demo removed its namespaces, processes, bpffs and temp dir" \
	nothing_left "$(demo_prefix "$T_TMP/plain")"

# Ctrl-C: SIGINT to the demo's process group, as a terminal sends it, while
# the agents and the relay run. A background job ignores SIGINT (and bash
# cannot trap a signal ignored at its start): env gives it back.
demo=''
# stop_demo: if the demo still runs (a failed check), interrupt it as Ctrl-C
# would and let it clean up.
stop_demo() {
	local i

	[ -n "$demo" ] && kill -0 "$demo" 2>/dev/null || return 0
	kill -INT -- "-$demo" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		kill -0 "$demo" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$demo" 2>/dev/null
}
t_on_exit stop_demo
setsid env --default-signal=INT "$top/scripts/demo.sh" "$build" >"$INT_OUT" 2>&1 &
demo=$!
if wait_for 60 grep -q "The relay's nodes" "$INT_OUT"; then
	kill -INT -- "-$demo"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$demo" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$demo" 2>/dev/null; then
		t_fail "Ctrl-C ends the demo within 10 s"
	else
		t_ok "Ctrl-C ends the demo within 10 s"
	fi
else
	t_fail "Ctrl-C ends the demo within 10 s" "it never got to the relay's nodes:" \
		"$(tail -n 20 "$INT_OUT")"
fi
prefix=$(demo_prefix "$INT_OUT")
t_check "after Ctrl-C nothing of the demo is left" nothing_left "$prefix"

t_done
