#!/usr/bin/env bash
# deploy/: every YAML file parses and passes yamllint; the Kubernetes objects
# carry what the workloads need and agree with each other (deploy_check.py;
# no kubectl, kubeconform or API server is packaged in Debian); the
# ConfigMap's agent and relay configuration is accepted by the real binaries
# and its CNI entry by weir-cni; install-cni.sh chains weir-cni into a
# .conflist and a .conf, idempotently; the systemd units pass
# systemd-analyze verify; the image's runtime stage installs the package of
# every library the daemons link.
# shellcheck disable=SC2317 # functions called through t_check
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"

top=$(cd "$here/../.." && pwd)
build=${WEIR_BUILD:-$top/build}
deploy=$top/deploy
k8s=$deploy/kubernetes
need_cmd python3 yamllint jq
python3 -c 'import yaml' 2>/dev/null || t_skip_all "python3-yaml is missing (run 'make deps')"
for b in weir-agent weir-relay weir-cni; do
	[ -x "$build/$b" ] || t_bail "$b is built" "missing $build/$b: run make"
done

# --- YAML -------------------------------------------------------------------------------------
mapfile -t yamls < <(find "$deploy" -name '*.yaml' | sort)
t_check "deploy/ has YAML files (${#yamls[@]})" test "${#yamls[@]}" -ge 9
t_check "every YAML file parses" python3 -c '
import sys, yaml
for p in sys.argv[1:]:
    list(yaml.safe_load_all(open(p)))' "${yamls[@]}"
t_check "yamllint finds nothing" yamllint -s \
	-d '{extends: default, rules: {line-length: {max: 100}, document-start: disable}}' "$deploy"

for c in kinds agent relay rbac services monitoring; do
	t_check "manifests: $c" python3 "$here/deploy_check.py" "$k8s" "$c"
done
t_check "manifests: config (extracted)" python3 "$here/deploy_check.py" "$k8s" config "$T_TMP"

# The checker itself catches a role that grants more than reading pods.
mkdir -p "$T_TMP/bad"
cp "$k8s"/*.yaml "$T_TMP/bad/"
sed -i 's/verbs: \["get", "list", "watch"\]/verbs: ["get", "list", "watch", "create"]/' "$T_TMP/bad/rbac.yaml"
t_check "the checker refuses a role with create" \
	bash -c "! python3 '$here/deploy_check.py' '$T_TMP/bad' rbac"

# --- the configuration, read by the binaries that will read it ----------------------------------
t_check "weir-agent accepts the ConfigMap's agent.json" \
	"$build/weir-agent" --config "$T_TMP/agent.json" --help
t_check "weir-relay accepts the ConfigMap's relay.json" \
	"$build/weir-relay" --config "$T_TMP/relay.json" --help
t_check "weir-agent accepts the systemd example" \
	"$build/weir-agent" --config "$deploy/systemd/agent.json" --help
t_check "weir-relay accepts the systemd example" \
	"$build/weir-relay" --config "$deploy/systemd/relay.json" --help

# --- install-cni.sh -----------------------------------------------------------------------------
install() {
	CNI_BIN_DIR="$T_TMP/bin" CNI_CONF_DIR="$T_TMP/net.d" WEIR_CNI_ENTRY="$T_TMP/weir-cni.json" \
		WEIR_CNI_BIN="$build/weir-cni" WEIR_CNI_WAIT=0 "$deploy/install-cni.sh"
}
mkdir -p "$T_TMP/net.d"
install 2>"$T_TMP/install.err"
t_is "with no CNI configuration the installer fails, saying so" \
	"$?:$(grep -c 'no CNI configuration' "$T_TMP/install.err")" "1:1"
cat >"$T_TMP/net.d/10-bridge.conflist" <<'JSON'
{"cniVersion": "1.0.0", "name": "podnet", "plugins": [
  {"type": "bridge", "bridge": "cni0", "ipam": {"type": "host-local", "subnet": "10.244.0.0/24"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
echo '{"cniVersion": "0.4.0", "name": "later", "type": "ptp"}' >"$T_TMP/net.d/20-later.conf"
install 2>/dev/null
t_is "the installer puts weir-cni in the bin dir" "$(cmp "$build/weir-cni" "$T_TMP/bin/weir-cni" && echo same)" same
t_is "... and appends it to the first configuration list, after the cluster's plugins" \
	"$(jq -c '[.plugins[].type]' "$T_TMP/net.d/10-bridge.conflist")" '["bridge","portmap","weir-cni"]'
cp "$T_TMP/net.d/10-bridge.conflist" "$T_TMP/first"
install 2>/dev/null
t_check "running it again changes nothing" cmp "$T_TMP/first" "$T_TMP/net.d/10-bridge.conflist"
t_is "the later file is left alone" "$(jq -c . "$T_TMP/net.d/20-later.conf")" \
	'{"cniVersion":"0.4.0","name":"later","type":"ptp"}'
rm "$T_TMP/net.d/10-bridge.conflist"
install 2>/dev/null
t_is "a single-plugin .conf becomes a .conflist of that plugin and weir-cni" \
	"$(jq -c '[.cniVersion, .name, [.plugins[].type], .plugins[0].cniVersion]' "$T_TMP/net.d/20-later.conflist")" \
	'["0.4.0","later",["ptp","weir-cni"],null]'
t_check "... replacing the .conf" test ! -e "$T_TMP/net.d/20-later.conf"

# weir-cni reads its entry as the runtime hands it over: the list's version
# and name, the entry, prevResult. The agent is not there: error 11 means
# the configuration was accepted and the agent tried.
jq -c --arg sock "$T_TMP/none.sock" '{cniVersion, name} + (.plugins[-1] | .agent_socket = $sock) +
	{prevResult: {cniVersion, interfaces: [{name: "veth1"}, {name: "eth0", sandbox: "/n"}],
	 ips: [{address: "10.1.0.5/24", interface: 1}]}}' "$T_TMP/net.d/20-later.conflist" >"$T_TMP/rt.json"
CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/n CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
	"$T_TMP/bin/weir-cni" <"$T_TMP/rt.json" >"$T_TMP/out" 2>/dev/null
t_check "weir-cni accepts the installed entry (and reports the absent agent: 11)" \
	jq -e '.code == 11' "$T_TMP/out"
t_is "weir-cni needs no shared library on the host (static)" \
	"$(ldd "$build/weir-cni" 2>&1 | grep -c '=>')" 0

# --- systemd units ------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	for u in weir-agent weir-relay; do
		sed "s|/usr/bin/$u|$build/$u|" "$deploy/systemd/$u.service" >"$T_TMP/$u.service"
	done
	out=$(systemd-analyze verify --man=no "$T_TMP/weir-agent.service" "$T_TMP/weir-relay.service" 2>&1)
	t_is "systemd-analyze verify: the units are clean" "$?:$out" "0:"
else
	t_ok "systemd units # SKIP systemd-analyze is not installed"
fi

# --- the image ---------------------------------------------------------------------------------
# The runtime stage's packages, against the Debian package of every library
# the daemons link directly (their own dependencies come with them).
runtime_pkgs=$(awk '/^FROM debian:12-slim/ {rt = 1} rt' "$deploy/Containerfile" |
	grep -oE '\b[a-z0-9][a-z0-9.+-]+\b' | sort -u)
missing=''
for b in weir-agent weir-relay; do
	for so in $(readelf -d "$build/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		lib=$(ldd "$build/$b" | awk -v so="$so" '$1 == so {print $3}')
		pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n1 | cut -d: -f1)
		[ -z "$pkg" ] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1)
		case $pkg in libc6 | libgcc-s1) continue ;; esac # in debian:12-slim already
		grep -qx "$pkg" <<<"$runtime_pkgs" || missing="$missing $b:$so(${pkg:-?})"
	done
done
t_is "the image's runtime stage installs every library the daemons link" "$missing" ""
build_pkgs=$(awk '/^FROM debian:12 AS build/ {b = 1} /^FROM debian:12-slim/ {b = 0} b' "$deploy/Containerfile")
missing=''
for p in libbpf-dev libelf-dev libjansson-dev libmnl-dev libmicrohttpd-dev libcurl4-openssl-dev \
	libyaml-dev libsqlite3-dev libcmocka-dev bpftool clang; do
	grep -qw -- "$p" <<<"$build_pkgs" || missing="$missing $p"
done
t_is "the image's build stage installs the build's packages" "$missing" ""
t_done
