#!/usr/bin/env bash
# Runs the benchmarks as root and prints their tables: bench/run.sh [build dir] [bench args].
# xdp-filter (Debian's xdp-tools) is the peer; without it that column is skipped.
set -euo pipefail
build=${1:-build}
shift || true

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF_PROG_TEST_RUN)" >&2
	exit 1
fi
bin="$build/bench/datapath"
if [ ! -x "$bin" ]; then
	echo "bench: $bin missing: run 'make $bin'" >&2
	exit 1
fi

# The policy-allow xdp-filter program (rules deny): a packet that matches no
# rule passes, which is the path compared with Weir's.
xdpf=""
for f in /usr/lib/*/bpf/xdpfilt_alw_all.o /usr/lib/bpf/xdpfilt_alw_all.o \
	/usr/local/lib/bpf/xdpfilt_alw_all.o; do
	if [ -r "$f" ]; then
		xdpf=$f
		break
	fi
done
args=()
if [ -n "$xdpf" ]; then
	args+=(-x "$xdpf")
else
	echo "bench: xdp-filter's xdpfilt_alw_all.o not found (apt-get install xdp-tools);" \
		"skipping that comparison" >&2
fi
exec "$bin" "${args[@]}" "$@"
