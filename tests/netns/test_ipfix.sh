#!/usr/bin/env bash
# IPFIX export end to end: a node with two pods and the real agent exporting
# over UDP to Debian's nfcapd in a collector namespace; real ICMP (v4 and v6),
# UDP and TCP between the pods. nfdump reads nfcapd's file and reports the
# same flows with the same packet and byte counts as `weir observe`; the
# captured messages carry the templates again and again and right sequence
# numbers. Then over TCP, to a collector that is not there at first: the
# agent reconnects and sends the templates first.
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
need_cmd curl jq nc python3 tcpdump ethtool nfcapd nfdump
for bin in "$agent" "$weir"; do
	[ -x "$bin" ] || t_bail "weir-agent and weir are built" "missing $bin: run make"
done

GW=10.205.0.1 P1=10.205.0.11 P2=10.205.0.12 P1_6=fd00:205::11 P2_6=fd00:205::12
NODE_UP=10.205.1.1 COLL=10.205.1.2 PORT=4739
SOCK=$T_TMP/agent.sock EPFILE=$T_TMP/endpoints.json NF=$T_TMP/nf
AGENT='' NFCAPD='' CAP='' TCPCOLL='' # set by ns_bg

bpffs_mount || t_bail "a bpffs for the pinned maps"
topo_node node "$GW/24" || t_bail "topology" "node"
topo_pod node p1 "$P1/24" "$GW" || t_bail "topology" "p1"
topo_pod node p2 "$P2/24" "$GW" || t_bail "topology" "p2"
ns_exec p1 ip -6 addr add "$P1_6/64" dev eth0 nodad || t_bail "topology" "p1 v6"
ns_exec p2 ip -6 addr add "$P2_6/64" dev eth0 nodad || t_bail "topology" "p2 v6"
# the collector: a namespace of its own, on a link the agent does not watch
ns_add coll || t_bail "topology" "collector"
veth_add node up0 coll eth0 || t_bail "topology" "collector link"
if ! { ns_exec node ip addr add "$NODE_UP/30" dev up0 && ns_exec node ip link set up0 up &&
	ns_exec coll ip addr add "$COLL/30" dev eth0 && ns_exec coll ip link set eth0 up; }; then
	t_bail "topology" "collector addresses"
fi
printf '{"endpoints": [%s, %s]}\n' \
	"$(topo_endpoint_json shop p1 "$P1" client | sed "s|\"$P1\"|\"$P1\", \"$P1_6\"|")" \
	"$(topo_endpoint_json shop p2 "$P2" server | sed "s|\"$P2\"|\"$P2\", \"$P2_6\"|")" >"$EPFILE"

api() {
	curl -sf --max-time 5 --unix-socket "$SOCK" "http://agent$1"
}

agent_start() {
	ns_bg AGENT node "$T_TMP/agent.log" "$agent" --node-name node-a --tc-pattern 'w*' \
		--pin-dir "$T_BPFFS/weir" --socket "$SOCK" --listen '' \
		--endpoints-file "$EPFILE" --sweep-interval 200 --active-timeout 2 \
		--idle-timeout 2 "$@"
	wait_for 5 api /v1/status
}

# wait_until SECONDS COMMAND...: poll until COMMAND succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))

	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# Every record of p1 <-> p2 traffic has ended (idle timeout).
# shellcheck disable=SC2317 # called through wait_until
all_ended() {
	[ "$(api /v1/status | jq .active_flows)" = 0 ]
}

mkdir -p "$NF"
ns_bg NFCAPD coll "$T_TMP/nfcapd.log" nfcapd -b "$COLL" -p "$PORT" -w "$NF" -t 3600 ||
	t_bail "nfcapd starts"
ns_bg CAP coll "$T_TMP/cap.log" tcpdump -i eth0 -nn -U --immediate-mode -w "$T_TMP/ipfix.pcap" \
	udp port "$PORT"
sleep 0.5
agent_start --ipfix-collector "$COLL:$PORT" --ipfix-template-refresh 1s --ipfix-domain-id 7 ||
	t_bail "the agent starts with IPFIX export" "$(cat "$T_TMP/agent.log.err")"
t_ok "the agent starts with IPFIX export to nfcapd"

# --- traffic of known sizes ----------------------------------------------------------------
# 4 s of pings: longer than the active timeout, so updates carry deltas
ns_exec p1 ping -c 8 -i 0.5 -q "$P2" >/dev/null || t_fail "p1 pings p2"
ns_exec p1 ping -6 -c 2 -i 0.2 -s 200 -q "$P2_6" >/dev/null || t_fail "p1 pings p2 over IPv6"
ns_bg udpsink p2 "$T_TMP/udp_sink" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5555))
while True:
    s.recv(65536)'
ns_bg tcpsink p1 "$T_TMP/tcp_rx" nc -l -n -d "$P1" 7777
sleep 0.3
ns_exec p1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (100, 200, 300, 400, 500):
    s.sendto(b"x" * n, ("'"$P2"'", 5555))' || t_fail "p1 sends UDP to p2"
head -c 200000 /dev/zero | ns_exec p2 nc -n -q 0 "$P1" 7777 || t_fail "p2 sends TCP to p1"
wait_until 15 all_ended || t_fail "every flow ends" "$(api /v1/status)"

"$weir" --server "$SOCK" observe --all -o json >"$T_TMP/observe.json" ||
	t_fail "weir observe reads the flows"
st=$(api /v1/status)
t_is "IPFIX: connected, no send errors, nothing dropped" \
	"$(jq -c '.ipfix | [.connected, .send_errors, .dropped_records, .queue_lost]' <<<"$st")" \
	"[true,0,0,0]"
t_check "IPFIX: records went out, templates more than once (refresh 1s)" \
	jq -e '.ipfix.records > 0 and .ipfix.template_sends >= 3' <<<"$st"
t_check "/metrics counts IPFIX messages" \
	bash -c "ip netns exec $(ns_name node) curl -sf --unix-socket '$SOCK' http://agent/metrics | grep -qE '^weir_ipfix_records_total [1-9]'"

bg_stop "$AGENT" || t_fail "the agent stops cleanly"
sleep 0.5
bg_stop "$CAP"
bg_stop "$NFCAPD"
file=$(find "$NF" -name 'nfcapd.2*' | head -1)
[ -n "$file" ] || t_bail "nfcapd wrote a file" "$(ls -la "$NF"; cat "$T_TMP/nfcapd.log.err")"
nfdump -r "$file" -q -N -6 -o 'fmt:%in %sa %da %sp %dp %pr %pkt %byt' >"$T_TMP/nfdump.txt" 2>&1 ||
	t_fail "nfdump reads the file" "$(cat "$T_TMP/nfdump.txt")"
t_diag "nfdump: $(wc -l <"$T_TMP/nfdump.txt") records"

# Per observation point and direction, weir's counters (the records' deltas
# summed: the end records' totals) against nfdump's records summed.
cmp_out=$(python3 - "$T_TMP/observe.json" "$T_TMP/nfdump.txt" "$P1" "$P2" "$P1_6" "$P2_6" <<'EOF'
import ipaddress, json, sys
obs, nf, *ours = sys.argv[1:]
ours = {str(ipaddress.ip_address(a)) for a in ours}
def key(ifidx, sa, da, sp, dp, proto):
    return (int(ifidx), str(ipaddress.ip_address(sa)), str(ipaddress.ip_address(da)),
            int(sp), int(dp), int(proto))
# the test's own traffic: ICMP echo (v4, v6), UDP, TCP; neighbour discovery comes and goes
def ours_key(k):
    return k[5] in (6, 17) or k[4] // 256 in (0, 8, 128, 129)
weir = {}
for line in open(obs):
    f = json.loads(line)["flow"]
    w = f.get("weir", {})
    if w.get("record") != "end":
        continue
    ip, l4 = f["IP"], f.get("l4", {})
    if ip["source"] not in ours or ip["destination"] not in ours:
        continue
    name = next(iter(l4)) if l4 else ""
    proto = {"TCP": 6, "UDP": 17, "ICMPv4": 1, "ICMPv6": 58}[name]
    p = l4[name]
    if name.startswith("ICMP"):
        # nfdump shows an ICMP flow's type.code as its destination port, type * 256 + code
        t = p.get("type", 0)
        rt = {8: 0, 128: 129}.get(t, t)
        fwd = key(f["interface"]["index"], ip["source"], ip["destination"], 0, t * 256, proto)
        rev = key(f["interface"]["index"], ip["destination"], ip["source"], 0, rt * 256, proto)
    else:
        sp, dp = p.get("source_port", 0), p.get("destination_port", 0)
        fwd = key(f["interface"]["index"], ip["source"], ip["destination"], sp, dp, proto)
        rev = key(f["interface"]["index"], ip["destination"], ip["source"], dp, sp, proto)
    if not ours_key(fwd):
        continue
    for k, pk, by in ((fwd, w.get("packets", 0), w.get("bytes", 0)),
                      (rev, w.get("reply_packets", 0), w.get("reply_bytes", 0))):
        if pk:
            a = weir.setdefault(k, [0, 0])
            a[0] += int(pk); a[1] += int(by)
nfd = {}
for line in open(nf):
    parts = line.split()
    if len(parts) != 8:
        continue
    ifidx, sa, da, sp, dp, pr, pk, by = parts
    if sa not in ours or da not in ours:
        continue
    pr = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58}.get(pr, pr)
    if "." in dp:  # ICMP: type.code
        t, c = dp.split(".")
        dp = int(t) * 256 + int(c)
    k = key(ifidx, sa, da, sp, dp, pr)
    if not ours_key(k):
        continue
    a = nfd.setdefault(k, [0, 0])
    a[0] += int(pk); a[1] += int(by)
protos = sorted({k[5] for k in weir})
print("weir flows (interface, direction):", len(weir), "nfdump:", len(nfd), "protocols:", protos)
bad = [(k, weir.get(k), nfd.get(k)) for k in set(weir) | set(nfd) if weir.get(k) != nfd.get(k)]
for b in bad:
    print("differs:", b)
sys.exit(1 if bad or len(protos) < 4 else 0)
EOF
)
rc=$?
t_diag "$cmp_out"
if [ "$rc" -eq 0 ]; then
	t_ok "nfdump reports weir's flows (ICMP v4 and v6, UDP, TCP) with the same packets and bytes"
else
	t_fail "nfdump reports weir's flows with the same packets and bytes" "$(cat "$T_TMP/nfdump.txt")"
fi
t_is "nfdump: no sequence failures" \
	"$(nfdump -r "$file" -I | awk -F': *' '/^Sequence failures/ {print $2}')" 0

# The captured messages: version 10, domain 7, each one's sequence number the
# data records before it, templates (set 2) in several of them.
seq_out=$(python3 - "$T_TMP/ipfix.pcap" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", data[:4])[0]
endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
off, msgs = 24, []
while off + 16 <= len(data):
    _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    ihl = (pkt[14] & 0xf) * 4
    msgs.append(pkt[14 + ihl + 8:])
FIXED = {256: 56, 257: 80}
expect, templates, errors = None, 0, []
for m in msgs:
    ver, length, _, seq, dom = struct.unpack(">HHIII", m[:16])
    if ver != 10 or dom != 7 or length != len(m):
        errors.append(("header", ver, dom, length, len(m)))
    if expect is not None and seq != expect:
        errors.append(("sequence", seq, expect))
    p, n = 16, 0
    while p < length:
        sid, slen = struct.unpack(">HH", m[p:p + 4])
        if sid == 2:
            templates += 1
        elif sid in FIXED:
            q = p + 4
            while q < p + slen:
                q += FIXED[sid]
                for _ in range(4):
                    q += 1 + m[q]
                n += 1
        p += slen
    expect = (seq + n) % 2**32
print(len(msgs), "messages,", templates, "with templates, errors:", errors[:3])
sys.exit(1 if errors or templates < 3 or not msgs else 0)
EOF
)
rc=$?
t_diag "$seq_out"
if [ "$rc" -eq 0 ]; then
	t_ok "each message's sequence number counts the data records before it; templates repeat"
else
	t_fail "IPFIX messages: sequence numbers and template refresh"
fi

# --- TCP: the collector comes late; the agent reconnects and sends templates first ----------
agent_start --ipfix-collector "$COLL:$PORT" --ipfix-transport tcp ||
	t_bail "the agent starts with IPFIX over TCP" "$(cat "$T_TMP/agent.log.err")"
sleep 1.5
t_is "IPFIX over TCP: not connected while the collector is away" \
	"$(api /v1/status | jq -c '.ipfix.connected')" "false"
ns_bg TCPCOLL coll "$T_TMP/tcpcoll.out" python3 -c '
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'"$COLL"'", '"$PORT"'))
s.listen(1)
c, _ = s.accept()
buf = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    buf += d
p, first, recs, expect, bad = 0, None, 0, 0, 0
FIXED = {256: 56, 257: 80}
while p + 16 <= len(buf):
    ver, length, _, seq, _ = struct.unpack(">HHIII", buf[p:p + 16])
    m = buf[p:p + length]
    bad += ver != 10 or seq != expect
    q = 16
    while q < length:
        sid, slen = struct.unpack(">HH", m[q:q + 4])
        first = sid if first is None else first
        if sid in FIXED:
            r = q + 4
            while r < q + slen:
                r += FIXED[sid]
                for _ in range(4):
                    r += 1 + m[r]
                recs += 1
                expect += 1
        q += slen
    p += length
print(first, recs, bad, p == len(buf))'
wait_until 8 bash -c "curl -sf --unix-socket '$SOCK' http://agent/v1/status | jq -e .ipfix.connected" ||
	t_fail "IPFIX over TCP: the agent connects once the collector is up" "$(api /v1/status | jq -c .ipfix)"
ns_exec p1 ping -c 4 -i 0.2 -q "$P2" >/dev/null || t_fail "p1 pings p2 again"
wait_until 10 all_ended || t_fail "the pings end"
sent=$(api /v1/status | jq .ipfix.records)
bg_stop "$AGENT" || t_fail "the agent stops cleanly"
wait_for 5 bash -c "! kill -0 $TCPCOLL 2>/dev/null"
# templates (set 2) first, sequence right, whole messages; every data record the
# agent had counted before it stopped (and any forced ends after)
read -r first recs bad whole <"$T_TMP/tcpcoll.out"
t_is "IPFIX over TCP: templates first, right sequence numbers, whole messages" \
	"$first $bad $whole" "2 0 True"
t_check "IPFIX over TCP: every record sent arrived, the ping's among them" \
	test "$recs" -ge "$sent" -a "$sent" -ge 2
t_done
