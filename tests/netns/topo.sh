# shellcheck shell=bash
# Simulated nodes and pods for netns tests and the demo (source after lib.sh).
# A node is a network namespace with a bridge `br0`; a pod is a namespace
# whose eth0 is a veth to the node, enslaved to br0 on the node side under the
# name w<pod> (so an agent's --tc-pattern 'w*' picks pods up as they come).
# Offloads are off on every veth, so an skb is one wire packet.

# topo_node NODE GATEWAY/PREFIX: a node namespace with br0 holding the gateway.
topo_node() {
	ns_add "$1" || return
	ns_exec "$1" ip link add br0 type bridge || return
	ns_exec "$1" ip addr add "$2" dev br0 || return
	ns_exec "$1" ip link set br0 up
}

veth_no_offloads() {
	ns_exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1
}

# topo_pod NODE POD ADDR/PREFIX GATEWAY: a pod on NODE's bridge.
topo_pod() {
	local node=$1 pod=$2 addr=$3 gw=$4 host_if="w$2"

	ns_add "$pod" || return
	veth_add "$node" "$host_if" "$pod" eth0 || return
	ns_exec "$node" ip link set "$host_if" master br0 up || return
	ns_exec "$pod" ip addr add "$addr" dev eth0 || return
	ns_exec "$pod" ip link set eth0 up || return
	ns_exec "$pod" ip route add default via "$gw" || return
	veth_no_offloads "$node" "$host_if"
	veth_no_offloads "$pod" eth0
}

# An endpoint document for POD (see agent/endpoints.h).
topo_endpoint_json() {
	local ns=$1 pod=$2 ip=$3 app=$4

	printf '{"ips": ["%s"], "namespace": "%s", "pod_name": "%s", "labels": {"app": "%s"}}' \
		"$ip" "$ns" "$pod" "$app"
}
