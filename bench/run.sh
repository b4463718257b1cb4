#!/usr/bin/env bash
# Runs the benchmarks as root and prints their tables:
#   bench/run.sh [build dir] [bench/datapath args]   bench/datapath, bench/agent, bench/lb, bench/lb_api
#   bench/run.sh [build dir] datapath|agent|lb|lb_api [args] one of them, with its args
# xdp-filter (Debian's xdp-tools) is bench/datapath's peer; without it that column is skipped.
# A benchmark that fails (a wrong result, not a missed target) makes the exit status 1.
set -euo pipefail
build=${1:-build}
shift || true

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF_PROG_TEST_RUN)" >&2
	exit 1
fi

only=""
case "${1:-}" in
datapath | agent | lb | lb_api)
	only=$1
	shift
	;;
esac

bin_of() {
	local bin="$build/bench/$1"

	if [ ! -x "$bin" ]; then
		echo "bench: $bin missing: run 'make $bin'" >&2
		return 1
	fi
	echo "$bin"
}

run_datapath() {
	local bin xdpf="" f args=()

	bin=$(bin_of datapath) || return 1
	# The policy-allow xdp-filter program (rules deny): a packet that matches no
	# rule passes, which is the path compared with Weir's.
	for f in /usr/lib/*/bpf/xdpfilt_alw_all.o /usr/lib/bpf/xdpfilt_alw_all.o \
		/usr/local/lib/bpf/xdpfilt_alw_all.o; do
		if [ -r "$f" ]; then
			xdpf=$f
			break
		fi
	done
	if [ -n "$xdpf" ]; then
		args+=(-x "$xdpf")
	else
		echo "bench: xdp-filter's xdpfilt_alw_all.o not found (apt-get install xdp-tools);" \
			"skipping that comparison" >&2
	fi
	"$bin" "${args[@]}" "$@"
}

run_agent() {
	local bin

	bin=$(bin_of agent) || return 1
	"$bin" "$@"
}

run_lb() {
	local bin

	bin=$(bin_of lb) || return 1
	"$bin" "$@"
}

run_lb_api() {
	local bin

	bin=$(bin_of lb_api) || return 1
	"$bin" "$@"
}

case "$only" in
datapath) run_datapath "$@" ;;
agent) run_agent "$@" ;;
lb) run_lb "$@" ;;
lb_api) run_lb_api "$@" ;;
*)
	status=0
	run_datapath "$@" || status=1
	echo
	run_agent || status=1
	echo
	run_lb || status=1
	echo
	run_lb_api || status=1
	exit $status
	;;
esac
