# shellcheck shell=bash
# Shared helpers for netns tests: uniquely named namespaces and veths that a
# trap removes on any exit, background processes killed with them, and TAP
# output (plan, ok/not ok, skip). Source it from a test run by bash.
#
# Every name a test creates starts with T_PREFIX (weir-t-<pid>-), so parallel
# runs never collide and a leftover is easy to attribute. Tests never touch
# the root namespace's interfaces or routes: veths are created inside the
# test's own namespaces.

T_PREFIX=${T_PREFIX:-"weir-t-$$-"}
T_ON_EXIT=()
T_SUITE=$(basename "$0" .sh)
T_N=0			# TAP lines printed so far
T_FAILED=0
T_PLANNED=0
T_NS=()			# namespaces we created (full names)
T_LINKS=()		# "namespace interface" pairs we created
T_PIDS=()		# background processes we started
T_TMP=$(mktemp -d "/tmp/${T_PREFIX}XXXXXX")

# --- cleanup ----------------------------------------------------------------

t_cleanup() {
	local pid ns link i cmd

	trap - EXIT INT TERM HUP
	for pid in "${T_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		for ((i = 0; i < 20; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for link in "${T_LINKS[@]}"; do
		# shellcheck disable=SC2086	# "namespace interface", split on purpose
		set -- $link
		ip -n "$1" link del "$2" 2>/dev/null
	done
	for ns in "${T_NS[@]}"; do
		# Anything still running in a namespace of ours was started by us.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	for cmd in "${T_ON_EXIT[@]}"; do
		eval "$cmd"
	done
	rm -rf "$T_TMP"
}

# bpffs_mount: mounts a bpffs of the test's own at T_BPFFS, unmounted at
# exit. Pins under /sys/fs/bpf are invisible in `ip netns exec` (it remounts
# /sys), so an agent in a namespace pins here to keep maps across restarts.
# Not in a subshell: the cleanup it registers must reach the trap.
bpffs_mount() {
	T_BPFFS=$T_TMP/bpffs
	mkdir -p "$T_BPFFS" && mount -t bpf bpf "$T_BPFFS" || return
	t_on_exit "umount '$T_BPFFS'"
}

# t_on_exit COMMAND: run COMMAND (a string, eval'ed) at cleanup, after the
# namespaces are gone.
t_on_exit() {
	T_ON_EXIT+=("$1")
}

trap 't_cleanup' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# --- TAP --------------------------------------------------------------------

plan() {
	T_PLANNED=$1
	echo "1..$1"
}

t_diag() {
	local line

	for line in "$@"; do
		printf '# %s\n' "$line"
	done
}

t_ok() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1"
}

# t_fail NAME [DIAGNOSTIC...]
t_fail() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	shift
	t_diag "$@"
}

# t_check NAME COMMAND...: ok when COMMAND succeeds; its output becomes the
# diagnostic on failure.
t_check() {
	local name=$1 out

	shift
	if out=$("$@" 2>&1); then
		t_ok "$name"
	else
		t_fail "$name" "command failed: $*" "$out"
	fi
}

# t_is NAME GOT WANT
t_is() {
	if [ "$2" = "$3" ]; then
		t_ok "$1"
	else
		t_fail "$1" "got:  $2" "want: $3"
	fi
}

# Skips the whole suite, saying why, with the skip exit status run.sh knows.
t_skip_all() {
	T_N=$((T_N + 1))
	echo "1..$T_N"
	echo "ok $T_N - $T_SUITE # SKIP $1"
	exit 77
}

# A setup step failed: the remaining assertions mean nothing.
t_bail() {
	t_fail "$1" "${@:2}"
	echo "Bail out! $1"
	exit 1
}

# Ends the suite: checks the plan, exits non-zero on any failure.
t_done() {
	if [ "$T_PLANNED" -eq 0 ]; then
		echo "1..$T_N"
	elif [ "$T_N" -ne "$T_PLANNED" ]; then
		t_diag "planned $T_PLANNED tests, ran $T_N"
		exit 1
	fi
	[ "$T_FAILED" -eq 0 ]
	exit
}

# --- preconditions ----------------------------------------------------------

need_root() {
	[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (network namespaces, BPF)"
}

need_cmd() {
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || t_skip_all "missing tool '$c' (run 'make deps')"
	done
}

# --- namespaces, links, processes -------------------------------------------

# The full name of the test's namespace NAME.
ns_name() {
	echo "$T_PREFIX$1"
}

# ns_add NAME...: create namespaces with loopback up.
ns_add() {
	local n

	for n in "$@"; do
		ip netns add "$T_PREFIX$n" || return
		T_NS+=("$T_PREFIX$n")
		ip -n "$T_PREFIX$n" link set lo up || return
	done
}

ns_exec() {
	local ns=$1

	shift
	ip netns exec "$T_PREFIX$ns" "$@"
}

# veth_add NS1 IF1 NS2 IF2: a veth pair made inside NS1, its peer moved to NS2.
veth_add() {
	ip -n "$T_PREFIX$1" link add "$2" type veth peer name "$4" netns "$T_PREFIX$3" || return
	T_LINKS+=("$T_PREFIX$1 $2")
}

# ns_bg VAR NS OUT COMMAND...: run COMMAND in NS in the background, stdout to
# OUT and stderr to OUT.err; its pid goes to VAR and is killed at exit.
# ip netns exec execs COMMAND, so the pid is COMMAND's own.
ns_bg() {
	local var=$1 ns=$2 out=$3

	shift 3
	ip netns exec "$T_PREFIX$ns" "$@" >"$out" 2>"$out.err" &
	T_PIDS+=("$!")
	printf -v "$var" '%s' "$!"
}

# bg_stop PID [SIGNAL]: signal a background process and wait for it; returns
# its exit status.
bg_stop() {
	local pid=$1 sig=${2:-TERM} rc=0 i

	kill "-$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || rc=$? # no job notice for a kill we meant
	for i in "${!T_PIDS[@]}"; do
		[ "${T_PIDS[$i]}" = "$pid" ] && unset 'T_PIDS[i]'
	done
	return "$rc"
}

# bg_wait PID: wait for a background process to exit by itself.
bg_wait() {
	bg_stop "$1" 0
}

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds.
wait_for() {
	local tries=$(($1 * 10))

	shift
	while ! "$@" >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}
