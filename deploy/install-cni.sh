#!/usr/bin/env bash
# Installs weir-cni on a node and chains it into the node's CNI
# configuration: the agent DaemonSet's init container runs it with the host's
# CNI directories mounted. Idempotent: run again, it replaces its own entry.
#
# The runtime uses the first configuration file in name order. A .conflist
# gets weir-cni's entry appended to "plugins" (after the cluster's own
# plugins: weir-cni is chained); a single-plugin .conf becomes a .conflist of
# that plugin and weir-cni. Files are replaced by rename, so the runtime
# never reads half a file.
#
# Environment: CNI_BIN_DIR (/host/opt/cni/bin), CNI_CONF_DIR
# (/host/etc/cni/net.d), WEIR_CNI_ENTRY (/etc/weir/weir-cni.json: the
# plugin's entry), WEIR_CNI_BIN (/usr/lib/weir/weir-cni), WEIR_CNI_WAIT
# (300: seconds to wait for the cluster's CNI to write its configuration).
set -euo pipefail

bin_dir=${CNI_BIN_DIR:-/host/opt/cni/bin}
conf_dir=${CNI_CONF_DIR:-/host/etc/cni/net.d}
entry=${WEIR_CNI_ENTRY:-/etc/weir/weir-cni.json}
src=${WEIR_CNI_BIN:-/usr/lib/weir/weir-cni}
wait_s=${WEIR_CNI_WAIT:-300}

log() {
	echo "install-cni: $*" >&2
}

jq -e '.type == "weir-cni"' "$entry" >/dev/null ||
	{ log "$entry is not a weir-cni entry ({\"type\": \"weir-cni\", ...})"; exit 1; }

mkdir -p "$bin_dir"
cp "$src" "$bin_dir/.weir-cni.tmp"
chmod 0755 "$bin_dir/.weir-cni.tmp"
mv -f "$bin_dir/.weir-cni.tmp" "$bin_dir/weir-cni"
log "installed $bin_dir/weir-cni"

# The runtime's choice: the first *.conf, *.conflist or *.json by name.
first_conf() {
	find "$conf_dir" -maxdepth 1 -type f \( -name '*.conf' -o -name '*.conflist' -o -name '*.json' \) \
		-printf '%f\n' 2>/dev/null | LC_ALL=C sort | head -n 1
}

deadline=$((SECONDS + wait_s))
conf=$(first_conf)
while [ -z "$conf" ]; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		log "no CNI configuration in $conf_dir after ${wait_s}s: is the cluster's CNI installed?"
		exit 1
	fi
	sleep 2
	conf=$(first_conf)
done

path=$conf_dir/$conf
tmp=$conf_dir/.weir-cni-conflist.tmp
if jq -e 'has("plugins")' "$path" >/dev/null; then
	out=$path
	jq --slurpfile e "$entry" '.plugins = ([.plugins[] | select(.type != "weir-cni")] + $e)' \
		"$path" >"$tmp"
else
	# A single plugin: the list keeps its version and name, the plugin the rest.
	out=$conf_dir/${conf%.*}.conflist
	jq --slurpfile e "$entry" \
		'{cniVersion: .cniVersion, name: .name, plugins: ([del(.cniVersion, .name)] + $e)}' \
		"$path" >"$tmp"
fi
mv -f "$tmp" "$out"
[ "$out" = "$path" ] || rm -f "$path"
log "chained weir-cni into $out: $(jq -c '[.plugins[].type]' "$out")"
