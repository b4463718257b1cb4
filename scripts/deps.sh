#!/usr/bin/env bash
# Installs every Debian package Weir's build, tests and benchmarks need.
# Idempotent: installs only what is missing, and updates the package lists
# only when something is.
set -euo pipefail

pkgs=(
	# build
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	linux-libc-dev libjansson-dev libmnl-dev libnl-3-dev libnl-route-3-dev
	libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev libyaml-dev
	# tests
	libcmocka-dev iproute2 ethtool netcat-openbsd iputils-ping tcpdump jq curl prometheus
	python3 python3-scapy containernetworking-plugins python3-yaml yamllint sqlite3
	# IPFIX export: the collector (nfcapd) and reader (nfdump)
	nfdump
	# benchmarks (peer) and make check
	xdp-tools clang-tidy clang-format cppcheck shellcheck
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root to install)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
