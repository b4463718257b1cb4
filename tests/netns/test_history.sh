#!/usr/bin/env bash
# weir-relay's history end to end: two nodes with real agents, the relay with
# --history-db and a ring so small that it wraps within the test. Records the
# ring lost are still answered by GET /v1/flows and `weir observe --since`
# from the history, without duplicates at the seam; a restart (from a database
# made schema version 3 again: migrated at open), and a kill -9, lose nothing
# committed; /v1/flows/aggregate and `weir top` sum the flows.
#
#   relay ns: n1 10.231.1.2 -- rl0 10.231.1.1 :node-1 (agent :4244, pods n1a n1b)
#             n2 10.231.2.2 -- rl0 10.231.2.1 :node-2 (agent :4244, pods n2a n2b)

# Functions called through wait_for and t_check look unreachable to shellcheck.
# shellcheck disable=SC2317
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/netns/topo.sh
. "$here/topo.sh"

build=${WEIR_BUILD:-$here/../../build}
agent=$build/weir-agent
relay=$build/weir-relay
weir=$build/weir
need_root
need_cmd curl jq python3 promtool ethtool ping nc sqlite3
for b in "$agent" "$relay" "$weir"; do
	[ -x "$b" ] || t_bail "$(basename "$b") is built" "missing $b: run make"
done

RELAY=relay
RING=40 # records the relay's ring holds
DB=$T_TMP/history.db
# shellcheck disable=SC2034 # SINK: killed at exit, like everything ns_bg starts
RELAY_PID='' SINK='' # set by ns_bg (AG1, AG2 too)

bpffs_mount || t_bail "a bpffs for the pinned maps"

# node_setup I: node-I with two pods and a link to the relay namespace.
node_setup() {
	local i=$1 n=n$1 gw=10.25$1.0.1

	topo_node "$n" "$gw/24" || return
	topo_pod "$n" "${n}a" "10.25$i.0.11/24" "$gw" || return
	topo_pod "$n" "${n}b" "10.25$i.0.12/24" "$gw" || return
	veth_add "$RELAY" "$n" "$n" rl0 || return
	ns_exec "$n" ip addr add "10.231.$i.1/24" dev rl0 || return
	ns_exec "$n" ip link set rl0 up || return
	ns_exec "$RELAY" ip addr add "10.231.$i.2/24" dev "$n" || return
	ns_exec "$RELAY" ip link set "$n" up || return
	{
		printf '{"endpoints": [%s,\n' "$(topo_endpoint_json shop "${n}a" "10.25$i.0.11" client)"
		printf '%s]}\n' "$(topo_endpoint_json shop "${n}b" "10.25$i.0.12" server)"
	} >"$T_TMP/endpoints-$n.json"
}

agent_start() {
	local i=$1 var=AG$1

	ns_bg "$var" "n$i" "$T_TMP/agent$i.log" "$agent" --node-name "node-$i" \
		--tc-pattern 'w*' --pin-dir "$T_BPFFS/weir$i" --socket "$T_TMP/agent$i.sock" \
		--listen 0.0.0.0:4244 --endpoints-file "$T_TMP/endpoints-n$i.json" \
		--sweep-interval 200 --active-timeout 2 --idle-timeout 3
	wait_for 5 ns_exec "n$i" curl -sf --max-time 1 http://127.0.0.1:4244/v1/status
}

relay_start() {
	ns_bg RELAY_PID "$RELAY" "$T_TMP/relay.log" "$relay" --listen 127.0.0.1:4245 \
		--peer 10.231.1.1:4244 --peer 10.231.2.1:4244 --status-interval 1s \
		--sort-window 500ms --store-capacity "$RING" --history-db "$DB"
	wait_for 10 all_connected
}

ns_add "$RELAY" || t_bail "topology" "relay namespace"
for i in 1 2; do
	node_setup "$i" || t_bail "topology" "node-$i"
	agent_start "$i" || t_bail "agent node-$i starts" "$(cat "$T_TMP/agent$i.log.err")"
done

rapi() {
	local path=$1

	shift
	ns_exec "$RELAY" curl -sf --max-time 10 "$@" "http://127.0.0.1:4245$path"
}
all_connected() {
	rapi /v1/nodes | jq -ne 'input | [.[] | .state] == ["NODE_CONNECTED", "NODE_CONNECTED"]'
}
cli() {
	ns_exec "$RELAY" "$weir" --server 127.0.0.1:4245 "$@"
}
now_rfc3339() {
	date -u +%Y-%m-%dT%H:%M:%S.%NZ
}
# flows [CURL ARGS...]: the relay's /v1/flows with these query parameters.
flows() {
	rapi /v1/flows --get "$@"
}
# committed: the history has written everything the relay merged so far.
committed() {
	rapi /v1/status | jq -ne 'input | .relay.history.pending == 0 and .relay.history.written > 0'
}
# records_from POD [SINCE]: how many records from POD the relay answers.
records_from() {
	if [ -n "${2:-}" ]; then
		flows --data-urlencode "since=$2" --data-urlencode "allowlist=[{\"source_pod\": [\"shop/$1\"]}]"
	else
		flows --data-urlencode "number=1000" --data-urlencode "allowlist=[{\"source_pod\": [\"shop/$1\"]}]"
	fi | jq length
}
# count_ge POD SINCE N: the relay answers at least N records from POD since SINCE.
count_ge() {
	[ "$(records_from "$1" "$2")" -ge "$3" ]
}
# udp_burst NODE N: N UDP conversations from pod a to pod b (a flow-start record each).
udp_burst() {
	local i=$1 n=$2

	ns_exec "n${i}a" python3 -c '
import socket, sys
for p in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 21000 + p))
    s.sendto(b"x" * 100, (sys.argv[1], 9999))
    s.close()' "10.25$i.0.12" "$n"
}

relay_start || t_bail "the relay connects to both agents" "$(cat "$T_TMP/relay.log.err")"
t_ok "two agents and the relay with --history-db start"
t_check "/v1/status shows the history on" \
	jq -ne 'input | .relay.history.enabled == true and .relay.history.errors == 0' <<<"$(rapi /v1/status)"

# --- old flows: node-1's pings, then enough traffic to wrap the ring many times ---------------
T_A=$(now_rfc3339)
ns_exec n1a ping -c 3 -i 0.2 -q 10.251.0.12 >/dev/null || t_fail "n1a pings n1b"
t_check "n1a's ping flows reach the relay" wait_for 8 count_ge n1a "$T_A" 1
n1a_ended() {
	flows --data-urlencode "since=$T_A" --data-urlencode 'allowlist=[{"source_pod": ["shop/n1a"]}]' |
		jq -ne 'input | any(.[]; .flow.weir.record == "end")'
}
t_check "... and their end records (idle timeout)" wait_for 10 n1a_ended
old=$(records_from n1a "$T_A")
# node-2's pod b takes the datagrams (no ICMP errors)
ns_bg SINK n2b "$T_TMP/sink.log" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 9999))
while True:
    s.recv(2048)'
sleep 0.3
udp_burst 2 150 || t_fail "150 UDP conversations in node-2"
wrapped() {
	[ "$(records_from n2a)" -ge $((RING / 2)) ] && [ "$(records_from n1a)" -eq 0 ]
}
t_check "the ring wrapped: it holds none of n1a's records any more" wait_for 10 wrapped
t_check "--since before the ring: n1a's records come from the history" count_ge n1a "$T_A" "$old"
flows --data-urlencode "since=$T_A" >"$T_TMP/since.json"
t_check "ring and history united: more records than the ring holds, in time order, no duplicate" \
	python3 -c '
import json, sys
recs = json.load(open(sys.argv[1]))
uuids = [r["flow"]["uuid"] for r in recs]
def ns(t):
    s, _, frac = t.rstrip("Z").partition(".")
    return s, int((frac + "000000000")[:9])
times = [ns(r["flow"]["time"]) for r in recs]
ok = len(recs) > int(sys.argv[2]) and len(set(uuids)) == len(uuids) and times == sorted(times)
print(len(recs), "records", len(set(uuids)), "distinct")
sys.exit(0 if ok else 1)' "$T_TMP/since.json" "$RING"
observe_old() {
	cli observe --since "$T_A" --from-pod shop/n1a -o json |
		jq -se --argjson n "$old" 'length >= $n and all(.[]; .flow.source.pod_name == "n1a")'
}
observe_ns() {
	cli observe --since "$T_A" --namespace shop --protocol icmp -o json |
		jq -se --argjson n "$old" '[.[] | select(.flow.source.pod_name == "n1a")] | length >= $n'
}
observe_ring() {
	cli observe --last 1000 --from-pod shop/n1a -o json | jq -se 'length == 0'
}
t_check "weir observe --since --from-pod prints n1a's old flows" observe_old
t_check "weir observe --since --namespace shop --protocol icmp has them too" observe_ns
t_check "... and a plain --last is still the ring's" observe_ring

# --- aggregates -----------------------------------------------------------------------------
# each conversation is seen at two points (n2a's and n2b's interfaces): one of them
agg=$(rapi /v1/flows/aggregate --get --data-urlencode "since=$T_A" \
	--data-urlencode "by=source.pod_name,destination.pod_name,l4.UDP.destination_port" \
	--data-urlencode 'allowlist=[{"traffic_direction": ["EGRESS"]}]')
t_check "/v1/flows/aggregate counts node-2's 150 UDP flows once each" \
	jq -ne 'input | any(.groups[]; .key["source.pod_name"] == "n2a" and
		.key["destination.pod_name"] == "n2b" and .key["l4.UDP.destination_port"] == 9999 and
		.flows == 150 and .packets == 150 and .bytes >= 150 * 128)' <<<"$agg"
top_talker() {
	cli top --since "$T_A" | tee "$T_TMP/top" |
		awk 'NR == 2 { found = ($1 == "shop/n2a" && $2 == "shop/n2b") } END { exit !found }'
}
t_check "weir top shows n2a -> n2b as the top talker" top_talker
t_is "an aggregate by an unknown field: 400" \
	"$(ns_exec "$RELAY" curl -s -o /dev/null -w '%{http_code}' \
		'http://127.0.0.1:4245/v1/flows/aggregate?by=source.pod_name,x%27%3B%20DROP%20TABLE%20flows')" 400

# --- a clean restart, then a kill -9: what was committed is there ---------------------------
t_check "the history commits what the relay merged" wait_for 3 committed
bg_stop "$RELAY_PID" TERM
t_is "the database is schema version 4: rows in flow_rows, flows a view" \
	"$(sqlite3 "$DB" "PRAGMA user_version; SELECT type FROM sqlite_schema WHERE name = 'flows';
		SELECT count(*) > 0 FROM flow_rows")" "$(printf '4\nview\n1')"
# what readers see of the rows now (the view's computed columns among it)
ROWS_SQL="SELECT count(*), total(dport), total(sport), total(verdict), total(proto),
	total(dir), total(is_reply), group_concat(DISTINCT node_base), total(dbytes) FROM flows"
last_seq=$(sqlite3 "$DB" "SELECT max(seq) FROM flow_rows")
rows_v4=$(sqlite3 "$DB" "$ROWS_SQL")
# the same rows as relay version 3 kept them: computed columns generated in the table
sqlite3 "$DB" <<'SQL' || t_fail "the database made schema version 3 again"
BEGIN;
CREATE TABLE v3 (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, meta INTEGER NOT NULL,
 saddr BLOB NOT NULL, daddr BLOB NOT NULL, ports INTEGER NOT NULL, tcp_flags INTEGER NOT NULL,
 ifindex INTEGER NOT NULL, ifname TEXT NOT NULL, node TEXT NOT NULL, src_ns TEXT NOT NULL,
 src_pod TEXT NOT NULL, dst_ns TEXT NOT NULL, dst_pod TEXT NOT NULL, packets INTEGER NOT NULL,
 bytes INTEGER NOT NULL, rpackets INTEGER NOT NULL, rbytes INTEGER NOT NULL, rec BLOB NOT NULL,
 dpackets INTEGER NOT NULL, dbytes INTEGER NOT NULL, drpackets INTEGER NOT NULL,
 drbytes INTEGER NOT NULL,
 family INTEGER GENERATED ALWAYS AS (meta & 255) VIRTUAL,
 proto INTEGER GENERATED ALWAYS AS (meta >> 8 & 255) VIRTUAL,
 l3_only INTEGER GENERATED ALWAYS AS (meta >> 16 & 1) VIRTUAL,
 fstart INTEGER GENERATED ALWAYS AS (meta >> 17 & 1) VIRTUAL,
 verdict INTEGER GENERATED ALWAYS AS (meta >> 24 & 255) VIRTUAL,
 reason INTEGER GENERATED ALWAYS AS (meta >> 32 & 255) VIRTUAL,
 dir INTEGER GENERATED ALWAYS AS (meta >> 40 & 255) VIRTUAL,
 is_reply INTEGER GENERATED ALWAYS AS (meta >> 48 & 255) VIRTUAL,
 sport INTEGER GENERATED ALWAYS AS (ports >> 16 & 65535) VIRTUAL,
 dport INTEGER GENERATED ALWAYS AS (ports & 65535) VIRTUAL,
 node_cluster TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0
  THEN substr(node, 1, instr(node, '/') - 1) ELSE 'default' END) VIRTUAL,
 node_base TEXT GENERATED ALWAYS AS (CASE WHEN instr(node, '/') > 0
  THEN substr(node, instr(node, '/') + 1) ELSE node END) VIRTUAL);
INSERT INTO v3 (seq, time_ns, meta, saddr, daddr, ports, tcp_flags, ifindex, ifname, node,
 src_ns, src_pod, dst_ns, dst_pod, packets, bytes, rpackets, rbytes, rec, dpackets, dbytes,
 drpackets, drbytes) SELECT seq, time_ns, meta, saddr, daddr, ports, tcp_flags, ifindex,
 ifname, node, src_ns, src_pod, dst_ns, dst_pod, packets, bytes, rpackets, rbytes, rec,
 dpackets, dbytes, drpackets, drbytes FROM flow_rows;
DROP VIEW flows;
DROP TABLE flow_rows;
ALTER TABLE v3 RENAME TO flows;
PRAGMA user_version = 3;
COMMIT;
SQL
relay_start || t_bail "the relay restarts" "$(cat "$T_TMP/relay.log.err")"
t_check "it migrates the version 3 database at open" \
	grep -q 'migrated .* from schema version 3 to 4' "$T_TMP/relay.log.err"
t_check "after a restart, --since reaches n1a's records from before it" count_ge n1a "$T_A" "$old"
t_is "... every row is there, its computed columns the same" \
	"$(sqlite3 "$DB" "$ROWS_SQL WHERE seq <= $last_seq")" "$rows_v4"
t_check "/v1/status counts the stored records" \
	jq -ne 'input | .relay.history.records >= 150' <<<"$(rapi /v1/status)"

T_C=$(now_rfc3339)
ns_exec n1b ping -c 2 -i 0.2 -q 10.251.0.11 >/dev/null || t_fail "n1b pings n1a"
t_check "n1b's flows reach the relay" wait_for 8 count_ge n1b "$T_C" 1
t_check "... and are committed" wait_for 3 committed
# What the database holds, not what the relay answers: a record merged after the check above
# (the ping's end record) is in the ring but not yet committed, and a kill -9 may lose it.
before_kill=$(sqlite3 "$DB" "SELECT count(*) FROM flows WHERE src_ns = 'shop' AND src_pod = 'n1b'
	AND time_ns >= $(date -d "$T_C" +%s%N)")
t_check "... at least one of them in the database" test "$before_kill" -ge 1
bg_stop "$RELAY_PID" KILL
relay_start || t_bail "the relay starts after a kill -9" "$(cat "$T_TMP/relay.log.err")"
t_check "after a kill -9, every committed record is there" count_ge n1b "$T_C" "$before_kill"
t_check "... and the older ones too" count_ge n1a "$T_A" "$old"

# --- /metrics, and the relay stops cleanly ---------------------------------------------------
rapi /metrics >"$T_TMP/metrics" || t_fail "GET /metrics"
t_check "/metrics passes promtool check metrics" bash -c "promtool check metrics <'$T_TMP/metrics'"
t_check "/metrics has the history's records and losses" bash -c \
	"grep -qE '^weir_relay_history_records [1-9]' '$T_TMP/metrics' &&
	 grep -qE '^weir_relay_history_lost_total\{cause=\"write_error\"\} 0$' '$T_TMP/metrics'"
bg_stop "$RELAY_PID" TERM
t_is "the relay exits 0 on SIGTERM" "$?" 0
t_check "the relay logged no error" bash -c "! grep 'level=error' '$T_TMP/relay.log.err'"

t_done
