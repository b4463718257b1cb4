#!/usr/bin/env bash
# Runs the benchmarks as root and prints their tables:
#   bench/run.sh [build dir]                  every benchmark, in the order below
#   bench/run.sh [build dir] NAME [args]      one of them, with its args
# NAME: datapath prefilter lb lb_api agent relay ipfix history
# xdp-filter (Debian's xdp-tools) is the peer of bench/datapath and bench/prefilter;
# without it that column is skipped.
# A benchmark that fails (a wrong result, not a missed target) makes the exit status 1.
set -euo pipefail
build=${1:-build}
shift || true

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF_PROG_TEST_RUN)" >&2
	exit 1
fi

benches=(datapath prefilter lb lb_api agent relay ipfix history)

bin_of() {
	local bin="$build/bench/$1"

	if [ ! -x "$bin" ]; then
		echo "bench: $bin missing: run 'make $bin'" >&2
		return 1
	fi
	echo "$bin"
}

# The policy-allow xdp-filter program (rules deny): a packet that matches no
# rule passes; with source deny rules loaded it is the prefilter's peer.
xdp_filter_obj() {
	local f

	for f in /usr/lib/*/bpf/xdpfilt_alw_all.o /usr/lib/bpf/xdpfilt_alw_all.o \
		/usr/local/lib/bpf/xdpfilt_alw_all.o; do
		if [ -r "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	echo "bench: xdp-filter's xdpfilt_alw_all.o not found (apt-get install xdp-tools);" \
		"skipping that comparison" >&2
	return 1
}

# bench/history with no arguments builds a 10M-record history (a few minutes
# and about 3.1 GB under /var/tmp; -q 1000000 for a quicker run).
run_one() {
	local name=$1 bin xdpf args=()
	shift

	bin=$(bin_of "$name") || return 1
	case "$name" in
	datapath | prefilter)
		if xdpf=$(xdp_filter_obj); then
			args+=(-x "$xdpf")
		fi
		;;
	esac
	"$bin" "${args[@]}" "$@"
}

if [ $# -gt 0 ]; then
	for b in "${benches[@]}"; do
		if [ "$1" = "$b" ]; then
			shift
			run_one "$b" "$@"
			exit
		fi
	done
	echo "bench: unknown benchmark '$1' (one of: ${benches[*]})" >&2
	exit 2
fi

status=0
for b in "${benches[@]}"; do
	run_one "$b" || status=1
	echo
done
exit $status
