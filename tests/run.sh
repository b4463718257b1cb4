#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed[, N skipped]".
# Each suite prints TAP ("ok N - name", "not ok N - name", "# SKIP reason").
# A suite that exits non-zero without a "not ok" line counts as one failure;
# exit status 77 means the whole suite skipped (it printed why).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
WEIR_BUILD=$(cd "$build" && pwd) || exit 1
export WEIR_BUILD
export CMOCKA_MESSAGE_OUTPUT=TAP

if [ "$(id -u)" -ne 0 ]; then
	echo "tests need root (BPF, network namespaces)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_suite() {
	local name=$1; shift
	local rc p f s
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+.*# ?SKIP' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -eq 77 ] && [ "$f" -eq 0 ]; then
		[ "$p" -eq 0 ] && [ "$s" -eq 0 ] && s=1
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

for t in "$WEIR_BUILD"/tests/unit/test_*; do
	[ -x "$t" ] && run_suite "unit/$(basename "$t")" "$t"
done
for t in "$WEIR_BUILD"/tests/datapath/test_*; do
	[ -x "$t" ] && run_suite "datapath/$(basename "$t")" "$t"
done
for t in "$top"/tests/netns/test_*.sh; do
	[ -x "$t" ] && run_suite "netns/$(basename "$t")" "$t"
done

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
