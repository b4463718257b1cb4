#!/usr/bin/env bash
# Flow accounting end to end: real traffic between two namespaces over a veth
# pair, the datapath (XDP + TC) on B's end, and its flow table compared with
# the veth's own statistics, with what was sent, and with a packet capture.
#
#   ns a: va 10.201.0.1/24 fd00:201::1/64  <-->  ns b: vb 10.201.0.2/24 fd00:201::2/64
#                                                     XDP ingress, TC ingress + egress
#
# Offloads are off on both ends, so every skb is one wire frame: the flow
# table's L2 byte counts can be compared frame for frame. B's link is down
# while the harness attaches and again before it stops, so no packet slips
# in between an attach or detach and a statistics read: the veth counters and
# the flow table cover exactly the same packets.
#
# WEIR_XDP_MODE (auto, native, generic) picks the XDP mode; default auto,
# which is native on veth.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/netns/lib.sh
. "$top/tests/netns/lib.sh"

build=${WEIR_BUILD:-$top/build}
harness=$build/tests/netns/dp_harness
xdp_mode=${WEIR_XDP_MODE:-auto}

V4_A=10.201.0.1
V4_B=10.201.0.2
V6_A=fd00:201::1
V6_B=fd00:201::2
PING_COUNT=5
PING_PAYLOAD=56			# ping's default: 64-byte ICMP message
UDP_PORT=5301
UDP_SPORT4=40001
UDP_SPORT6=40003
UDP_SIZES="100 500 1000 1400"	# payload bytes, one datagram each
TCP_PORT=5302
TCP_SPORT=40002
TCP_BYTES=1048576
ETH_HLEN=14

need_root
need_cmd ip tc jq nc tcpdump ethtool python3 ping awk
[ -x "$harness" ] || t_bail "dp_harness is built" "missing $harness: run 'make $harness'"

hout=$T_TMP/harness.out		# "ready", then the JSON lines
json=$T_TMP/harness.json		# the JSON lines alone

# --- topology ---------------------------------------------------------------

setup() {
	local n

	ns_add a b || return
	for n in a b; do
		# Quiet IPv6: no DAD delays, no router solicitations.
		ns_exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.default.router_solicitations=0 || return
	done
	veth_add a va b vb || return
	ns_exec a ethtool -K va tso off gso off gro off tx off >/dev/null || return
	ns_exec b ethtool -K vb tso off gso off gro off tx off >/dev/null || return
	ns_exec a ip addr add "$V4_A/24" dev va || return
	ns_exec a ip addr add "$V6_A/64" dev va nodad || return
	ns_exec b ip addr add "$V4_B/24" dev vb || return
	ns_exec b ip addr add "$V6_B/64" dev vb nodad || return
	ns_exec a ip link set va up	# vb stays down until the harness is attached
}

# "rx_packets rx_bytes tx_packets tx_bytes" of vb.
vb_stats() {
	local f out=()

	for f in rx_packets rx_bytes tx_packets tx_bytes; do
		out+=("$(ns_exec b cat "/sys/class/net/vb/statistics/$f")")
	done
	echo "${out[*]}"
}

# --- traffic ----------------------------------------------------------------

udp_sink_py='
import select, socket, sys
v4, v6, ready = sys.argv[1], sys.argv[2], sys.argv[5]
port, want = int(sys.argv[3]), int(sys.argv[4])
socks = []
for fam, addr in ((socket.AF_INET, v4), (socket.AF_INET6, v6)):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, port))
    socks.append(s)
open(ready, "w").close()
got = 0
while got < want:
    r, _, _ = select.select(socks, [], [], 10)
    if not r:
        break
    for s in r:
        data, peer = s.recvfrom(65535)
        print(peer[0], peer[1], len(data), flush=True)
        got += 1
'

udp_send_py='
import socket, sys, time
src, dst, sport, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src, sport))
for n in sys.argv[5:]:
    s.sendto(b"w" * int(n), (dst, dport))
    time.sleep(0.01)
'

# shellcheck disable=SC2317	# ping_ok, run_udp, run_tcp: called through t_check
ping_ok() {
	local out

	out=$(ns_exec a ping "$@" -c "$PING_COUNT" -i 0.2 -W 2 -q 2>&1)
	grep -q " $PING_COUNT received" <<<"$out" || { echo "$out"; return 1; }
}

# shellcheck disable=SC2317
run_udp() {
	local sink="" want n

	# shellcheck disable=SC2086	# UDP_SIZES is a list
	set -- $UDP_SIZES
	want=$(($# * 2))
	ns_bg sink b "$T_TMP/udp_sink" python3 -c "$udp_sink_py" "$V4_B" "$V6_B" "$UDP_PORT" \
		"$want" "$T_TMP/udp_ready"
	if ! wait_for 5 test -e "$T_TMP/udp_ready"; then
		cat "$T_TMP/udp_sink.err"
		return 1
	fi
	ns_exec a python3 -c "$udp_send_py" "$V4_A" "$V4_B" "$UDP_SPORT4" "$UDP_PORT" "$@" ||
		return 1
	ns_exec a python3 -c "$udp_send_py" "$V6_A" "$V6_B" "$UDP_SPORT6" "$UDP_PORT" "$@" ||
		return 1
	bg_wait "$sink" || { cat "$T_TMP/udp_sink.err"; return 1; }
	n=$(wc -l <"$T_TMP/udp_sink")
	[ "$n" -eq "$want" ] || { echo "sink received $n of $want datagrams"; return 1; }
}

# shellcheck disable=SC2317
run_tcp() {
	local listener="" got

	ns_bg listener b "$T_TMP/tcp_rx" nc -l -d -n "$V4_B" "$TCP_PORT"
	# nc has no readiness signal: wait until the socket listens.
	wait_for 5 sh -c "ip netns exec $(ns_name b) ss -Hltn 'sport = :$TCP_PORT' | grep -q ." ||
		return 1
	head -c "$TCP_BYTES" /dev/zero |
		ns_exec a timeout 20 nc -N -n -s "$V4_A" -p "$TCP_SPORT" "$V4_B" "$TCP_PORT" ||
		return 1
	bg_wait "$listener" || { cat "$T_TMP/tcp_rx.err"; return 1; }
	got=$(stat -c %s "$T_TMP/tcp_rx")
	[ "$got" -eq "$TCP_BYTES" ] || {
		echo "listener received $got of $TCP_BYTES bytes"
		return 1
	}
}

# pcap_settled FILE: wait (at most 10 s) until FILE stops growing.
pcap_settled() {
	local size prev=-1 stable=0 i

	for ((i = 0; i < 50 && stable < 3; i++)); do
		sleep 0.2
		size=$(stat -c %s "$1")
		if [ "$size" = "$prev" ]; then
			stable=$((stable + 1))
		else
			stable=0
		fi
		prev=$size
	done
}

# "packets bytes" of the frames in the capture matching a tcpdump filter.
pcap_count() {
	tcpdump -r "$T_TMP/a.pcap" -nn -e "$1" 2>/dev/null |
		awk 'match($0, /length [0-9]+:/) { n++; b += substr($0, RSTART + 7, RLENGTH - 8) }
		     END { print n + 0, b + 0 }'
}

# --- reading the harness's JSON ---------------------------------------------

# flow_get HOOK DIR SADDR DADDR PROTO SPORT DPORT: "packets bytes", or "none".
flow_get() {
	jq -rs --arg h "$1" --arg d "$2" --arg s "$3" --arg t "$4" --argjson p "$5" \
		--argjson sp "$6" --argjson dp "$7" '
		[.[] | select(.type == "flow" and .hook == $h and .dir == $d and .saddr == $s and
			      .daddr == $t and .proto == $p and .sport == $sp and .dport == $dp)] |
		if length == 0 then "none" else "\(map(.packets) | add) \(map(.bytes) | add)" end' \
		"$json"
}

# flow_field HOOK DIR SADDR DADDR PROTO SPORT DPORT FIELD
flow_field() {
	jq -rs --arg h "$1" --arg d "$2" --arg s "$3" --arg t "$4" --argjson p "$5" \
		--argjson sp "$6" --argjson dp "$7" --arg f "$8" '
		[.[] | select(.type == "flow" and .hook == $h and .dir == $d and .saddr == $s and
			      .daddr == $t and .proto == $p and .sport == $sp and .dport == $dp)] |
		if length == 1 then .[0][$f] else "flows found: \(length)" end' "$json"
}

# hook_total HOOK DIR: "packets bytes" the hook saw: every flow, plus the
# packets counted only in the metrics (not parsed into a flow, or dropped).
hook_total() {
	jq -rs --arg h "$1" --arg d "$2" '
		[.[] | select(.hook == $h and .dir == $d) |
		       select(.type == "flow" or (.type == "metrics" and .reason != "FORWARDED"))] |
		"\(map(.packets) | add // 0) \(map(.bytes) | add // 0)"' "$json"
}

# flow_total HOOK DIR: "packets bytes" over the hook's flows only.
flow_total() {
	jq -rs --arg h "$1" --arg d "$2" '
		[.[] | select(.type == "flow" and .hook == $h and .dir == $d)] |
		"\(map(.packets) | add // 0) \(map(.bytes) | add // 0)"' "$json"
}

# metrics_get HOOK DIR REASON: "packets bytes".
metrics_get() {
	jq -rs --arg h "$1" --arg d "$2" --arg r "$3" '
		[.[] | select(.type == "metrics" and .hook == $h and .dir == $d) |
		       select(.reason == $r)] |
		"\(map(.packets) | add // 0) \(map(.bytes) | add // 0)"' "$json"
}

# The flows whose key is not one this traffic can produce, with what is wrong.
bad_flows() {
	jq -cs --argjson ifindex "$1" '
		def v4ok: startswith("10.201.0.");
		def v6ok: startswith("fd00:201::") or startswith("fe80::");
		.[] | select(.type == "flow") | . as $f | [
		  (select(.family != 4 and .family != 6) | "family"),
		  (select(.hook != "xdp" and .hook != "tc") | "hook"),
		  (select(.dir != "ingress" and .dir != "egress") | "dir"),
		  (select(.hook == "xdp" and .dir != "ingress") | "xdp not ingress"),
		  (select(.ifindex != $ifindex) | "ifindex"),
		  (select([1, 6, 17, 58] | index($f.proto) | not) | "proto"),
		  (select(.flags != 0) | "flags"),
		  (select(.key_hex | length != 96) | "key length"),
		  (select(.key_hex[90:96] != "000000") | "padding"),
		  (select(.family == 4 and ((.key_hex[8:32] | test("^0+$") | not) or
					    (.key_hex[40:64] | test("^0+$") | not))) |
		   "IPv4 key with non-zero upper address words"),
		  (select(.family == 4 and ((.saddr | v4ok | not) or (.daddr | v4ok | not))) |
		   "IPv4 address outside the test subnet"),
		  (select(.family == 6 and ((.saddr | v6ok or . == "::" | not) or
					    (.daddr | v6ok or startswith("ff02:") | not))) |
		   "IPv6 address outside the test subnets"),
		  (select((.proto == 6 or .proto == 17) and (.sport == 0 or .dport == 0)) |
		   "TCP/UDP port zero"),
		  (select((.proto == 1 or .proto == 58) and .dport != 0) | "ICMP dport not zero"),
		  (select(.packets < 1) | "no packets"),
		  (select(.bytes < 42 * .packets or .bytes > 1514 * .packets) |
		   "bytes not within 42..1514 per packet")
		] | select(length > 0) | {problems: ., flow: $f}' "$json"
}

# --- run ----------------------------------------------------------------------

setup || t_bail "two namespaces joined by a veth pair"
ifindex_b=$(ns_exec b cat /sys/class/net/vb/ifindex)

harness_pid=""
ns_bg harness_pid b "$hout" "$harness" --ifname vb --xdp "$xdp_mode" --tc
if ! wait_for 10 grep -qx ready "$hout"; then
	t_bail "dp_harness attaches XDP and TC to vb" "$(cat "$hout.err")"
fi
t_ok "dp_harness attaches XDP and TC to vb"
if ns_exec b ip -d link show vb | grep -qw xdpgeneric; then
	xdp_attached=generic
else
	xdp_attached=native
fi
t_diag "xdp mode: $xdp_attached"

read -r rxp0 rxb0 txp0 txb0 <<<"$(vb_stats)"
ns_exec b ip link set vb up

t_check "ping $V4_B: $PING_COUNT of $PING_COUNT replies" ping_ok "$V4_B"
t_check "ping -6 $V6_B: $PING_COUNT of $PING_COUNT replies" ping_ok -6 "$V6_B"
t_check "UDP: the sink in b receives every datagram" run_udp

capture=""
ns_bg capture a "$T_TMP/tcpdump" tcpdump -i va -nn -U --immediate-mode -s 128 -B 8192 \
	-w "$T_TMP/a.pcap" tcp
wait_for 5 grep -q "listening on" "$T_TMP/tcpdump.err" ||
	t_bail "tcpdump captures on va" "$(cat "$T_TMP/tcpdump.err")"
t_check "TCP: $TCP_BYTES bytes from a to b with nc" run_tcp
# tcpdump stops at SIGINT without reading what is still queued in its socket:
# wait until it has written everything, then check it says so.
pcap_settled "$T_TMP/a.pcap"
bg_stop "$capture" INT
cap_stats=$(grep -E "packets (captured|received by filter|dropped by kernel)" "$T_TMP/tcpdump.err" |
	    awk '{ printf "%s ", $1 }')
read -r cap_n cap_filter cap_drop <<<"$cap_stats"
if [ "${cap_n:-x}" = "${cap_filter:-y}" ] && [ "${cap_drop:-x}" = 0 ]; then
	t_ok "the capture in a is complete: $cap_n captured of $cap_filter, none dropped"
else
	t_fail "the capture in a is complete" "$(cat "$T_TMP/tcpdump.err")"
fi

# Quiesce: with vb down nothing more reaches either counter.
ns_exec b ip link set vb down
read -r rxp1 rxb1 txp1 txb1 <<<"$(vb_stats)"

rc=0
bg_stop "$harness_pid" TERM || rc=$?
t_is "dp_harness exits 0 on SIGTERM" "$rc" 0
[ "$rc" -eq 0 ] || t_diag "$(cat "$hout.err")"
grep -vx ready "$hout" >"$json"
jq -se 'length > 0' "$json" >/dev/null 2>&1 ||
	t_bail "dp_harness prints JSON lines" "$(cat "$hout" "$hout.err")"

# --- the flow table against the veth's own counters ---------------------------

drxp=$((rxp1 - rxp0)) drxb=$((rxb1 - rxb0))
dtxp=$((txp1 - txp0)) dtxb=$((txb1 - txb0))
t_diag "vb rx: $drxp packets $drxb bytes; tx: $dtxp packets $dtxb bytes"
# veth with native XDP receives through NAPI and counts rx_bytes as skb->len
# after eth_type_trans(), i.e. without the Ethernet header; the skb path and
# generic XDP count the whole frame. Weir counts frames, so add the header back.
rx_frame_bytes=$drxb
if [ "$xdp_attached" = native ]; then
	rx_frame_bytes=$((drxb + ETH_HLEN * drxp))
	t_diag "native XDP on veth: rx frame bytes = $drxb + $ETH_HLEN * $drxp = $rx_frame_bytes"
fi

read -r p b <<<"$(hook_total xdp ingress)"
t_is "xdp ingress: flows + unparsed packets == vb rx_packets" "$p" "$drxp"
t_is "xdp ingress: flows + unparsed bytes == vb rx frame bytes" "$b" "$rx_frame_bytes"
read -r p b <<<"$(hook_total tc ingress)"
t_is "tc ingress: flows + unparsed packets == vb rx_packets" "$p" "$drxp"
t_is "tc ingress: flows + unparsed bytes == vb rx frame bytes" "$b" "$rx_frame_bytes"
read -r p b <<<"$(hook_total tc egress)"
t_is "tc egress: flows + unparsed packets == vb tx_packets" "$p" "$dtxp"
t_is "tc egress: flows + unparsed bytes == vb tx_bytes" "$b" "$dtxb"

for hd in "xdp ingress" "tc ingress" "tc egress"; do
	# shellcheck disable=SC2086	# "hook dir"
	t_is "$hd: FORWARDED metrics == sum over its flows" \
		"$(metrics_get $hd FORWARDED)" "$(flow_total $hd)"
done

t_is "no packet was dropped" \
	"$(jq -rs '[.[] | select(.type == "metrics" and .code >= 130) | .packets] | add // 0' \
	   "$json")" 0
t_is "every health counter is zero" \
	"$(jq -rs '[.[] | select(.type == "counter" and .value != 0) | .name] | join(",")' \
	   "$json")" ""
t_is "xdp and tc ingress hold the same flows with the same counts" \
	"$(jq -cs '[.[] | select(.type == "flow" and .hook == "xdp") | del(.hook, .key_hex,
		   .first_seen_ns, .last_seen_ns)] | sort' "$json")" \
	"$(jq -cs '[.[] | select(.type == "flow" and .hook == "tc" and .dir == "ingress") |
		   del(.hook, .key_hex, .first_seen_ns, .last_seen_ns)] | sort' "$json")"

# --- flows against what was sent ----------------------------------------------

icmp4=$((PING_COUNT * (ETH_HLEN + 20 + 8 + PING_PAYLOAD)))
icmp6=$((PING_COUNT * (ETH_HLEN + 40 + 8 + PING_PAYLOAD)))
for h in xdp tc; do
	t_is "$h ingress: ICMP echo $V4_A > $V4_B is $PING_COUNT packets, $icmp4 bytes" \
		"$(flow_get "$h" ingress "$V4_A" "$V4_B" 1 $((8 << 8)) 0)" "$PING_COUNT $icmp4"
done
t_is "tc egress: ICMP echo reply $V4_B > $V4_A is $PING_COUNT packets, $icmp4 bytes" \
	"$(flow_get tc egress "$V4_B" "$V4_A" 1 0 0)" "$PING_COUNT $icmp4"
for h in xdp tc; do
	t_is "$h ingress: ICMPv6 echo $V6_A > $V6_B is $PING_COUNT packets, $icmp6 bytes" \
		"$(flow_get "$h" ingress "$V6_A" "$V6_B" 58 $((128 << 8)) 0)" "$PING_COUNT $icmp6"
done
t_is "tc egress: ICMPv6 echo reply $V6_B > $V6_A is $PING_COUNT packets, $icmp6 bytes" \
	"$(flow_get tc egress "$V6_B" "$V6_A" 58 $((129 << 8)) 0)" "$PING_COUNT $icmp6"

udp_n=0 udp4=0 udp6=0
for s in $UDP_SIZES; do
	udp_n=$((udp_n + 1))
	udp4=$((udp4 + ETH_HLEN + 20 + 8 + s))
	udp6=$((udp6 + ETH_HLEN + 40 + 8 + s))
done
for h in xdp tc; do
	t_is "$h ingress: UDP $V4_A:$UDP_SPORT4 > $V4_B:$UDP_PORT is $udp_n packets, $udp4 bytes" \
		"$(flow_get "$h" ingress "$V4_A" "$V4_B" 17 "$UDP_SPORT4" "$UDP_PORT")" \
		"$udp_n $udp4"
	t_is "$h ingress: UDP [$V6_A]:$UDP_SPORT6 > [$V6_B]:$UDP_PORT is $udp_n pkts, $udp6 bytes" \
		"$(flow_get "$h" ingress "$V6_A" "$V6_B" 17 "$UDP_SPORT6" "$UDP_PORT")" \
		"$udp_n $udp6"
done

# --- the TCP flow against the capture in a --------------------------------------

tcp_fwd="src host $V4_A and src port $TCP_SPORT and dst host $V4_B and dst port $TCP_PORT"
tcp_rev="src host $V4_B and src port $TCP_PORT and dst host $V4_A and dst port $TCP_SPORT"
cap_fwd=$(pcap_count "$tcp_fwd")
cap_rev=$(pcap_count "$tcp_rev")
t_diag "capture: a > b $cap_fwd, b > a $cap_rev (packets bytes)"
for h in xdp tc; do
	t_is "$h ingress: TCP $V4_A:$TCP_SPORT > $V4_B:$TCP_PORT matches the capture" \
		"$(flow_get "$h" ingress "$V4_A" "$V4_B" 6 "$TCP_SPORT" "$TCP_PORT")" "$cap_fwd"
done
t_is "tc egress: TCP $V4_B:$TCP_PORT > $V4_A:$TCP_SPORT matches the capture" \
	"$(flow_get tc egress "$V4_B" "$V4_A" 6 "$TCP_PORT" "$TCP_SPORT")" "$cap_rev"

syn_ack_fin=$((0x002 | 0x010 | 0x001))
for h in xdp tc; do
	f=$(flow_field "$h" ingress "$V4_A" "$V4_B" 6 "$TCP_SPORT" "$TCP_PORT" tcp_flags)
	t_is "$h ingress: TCP a > b tcp_flags include SYN, ACK, FIN" \
		"$((${f//[!0-9]/0} & syn_ack_fin))" "$syn_ack_fin"
done
f=$(flow_field tc egress "$V4_B" "$V4_A" 6 "$TCP_PORT" "$TCP_SPORT" tcp_flags)
t_is "tc egress: TCP b > a tcp_flags include SYN, ACK, FIN" \
	"$((${f//[!0-9]/0} & syn_ack_fin))" "$syn_ack_fin"

# --- well-formed keys -----------------------------------------------------------

t_is "no flow has a zero family" \
	"$(jq -s '[.[] | select(.type == "flow" and .family == 0)] | length' "$json")" 0
t_is "every flow key is well-formed" "$(bad_flows "$ifindex_b")" ""

# --- clean detach -----------------------------------------------------------------

link=$(ns_exec b ip -d link show vb)
if grep -qE 'xdp|prog/' <<<"$link"; then
	t_fail "no XDP program left on vb" "$link"
else
	t_ok "no XDP program left on vb"
fi
qdisc=$(ns_exec b tc qdisc show dev vb)
if grep -q clsact <<<"$qdisc"; then
	t_fail "the clsact qdisc is removed from vb" "$qdisc" \
		"$(ns_exec b tc filter show dev vb ingress)" \
		"$(ns_exec b tc filter show dev vb egress)"
else
	t_ok "the clsact qdisc is removed from vb"
fi

t_done
