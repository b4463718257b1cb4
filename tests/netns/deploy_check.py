#!/usr/bin/env python3
"""Checks deploy/kubernetes/ beyond YAML syntax: that each workload carries
what it needs and that the objects agree with each other (labels and
selectors, ports and probes, the service account and its role, the config
the binaries read). No API server or schema tool is packaged in Debian, so
these are the fields the Kubernetes API reference requires and the ones
Weir depends on.

Usage: deploy_check.py DIR CHECK   (CHECK: kinds, agent, relay, rbac,
services, config, monitoring). Prints each problem; exit 1 if any.
"""
import json
import os
import sys

import yaml

DIR, CHECK = sys.argv[1:3]
problems = []


def need(cond, what):
    if not cond:
        problems.append(what)


docs = []
for name in sorted(os.listdir(DIR)):
    if name.endswith((".yaml", ".yml")):
        with open(os.path.join(DIR, name)) as f:
            for d in yaml.safe_load_all(f):
                if d is not None:
                    d["_file"] = name
                    docs.append(d)


def find(kind, name=None):
    got = [d for d in docs if d.get("kind") == kind and
           (name is None or d.get("metadata", {}).get("name") == name)]
    need(got, "no %s %s" % (kind, name or ""))
    return got[0] if got else {}


def pod_spec(workload):
    return workload.get("spec", {}).get("template", {}).get("spec", {})


def container(spec, name, init=False):
    for c in spec.get("initContainers" if init else "containers", []):
        if c.get("name") == name:
            return c
    need(False, "no %scontainer %s" % ("init " if init else "", name))
    return {}


def check_kinds():
    for d in docs:
        where = "%s: %s" % (d["_file"], d.get("kind"))
        need(d.get("apiVersion"), where + ": apiVersion")
        need(d.get("kind"), d["_file"] + ": kind")
        if d.get("kind") == "Kustomization":
            for r in d.get("resources", []):
                need(os.path.exists(os.path.join(DIR, r)), where + ": resource %s missing" % r)
            continue
        need(d.get("metadata", {}).get("name"), where + ": metadata.name")
        if d.get("kind") not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            need(d["metadata"].get("namespace") == "weir", where + ": namespace weir")
    listed = set(find("Kustomization").get("resources", []))
    for name in os.listdir(DIR):
        if name.endswith(".yaml") and name != "kustomization.yaml":
            need(name in listed, "kustomization.yaml does not list " + name)


def check_probes(c, port, who):
    for probe in ("livenessProbe", "readinessProbe"):
        p = c.get(probe, {}).get("httpGet", {})
        need(p.get("path") == "/v1/status" and p.get("port") == port,
             "%s: %s is GET /v1/status on %s" % (who, probe, port))


def check_mounts(spec, c, who):
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        need(m["name"] in vols, "%s: mount %s has no volume" % (who, m["name"]))
    return {m["mountPath"]: vols.get(m["name"], {}) for m in c.get("volumeMounts", [])}


def check_agent():
    ds = find("DaemonSet", "weir-agent")
    spec = pod_spec(ds)
    labels = ds["spec"]["template"]["metadata"]["labels"]
    need(all(labels.get(k) == v for k, v in ds["spec"]["selector"]["matchLabels"].items()),
         "agent: the selector matches the pod template")
    need(spec.get("hostNetwork") is True, "agent: hostNetwork")
    need(spec.get("dnsPolicy") == "ClusterFirstWithHostNet", "agent: dnsPolicy for hostNetwork")
    need(spec.get("serviceAccountName") == "weir-agent", "agent: service account weir-agent")
    need({"operator": "Exists"} in spec.get("tolerations", []), "agent: runs on every node")
    c = container(spec, "agent")
    need(c.get("image"), "agent: image")
    need(c.get("securityContext", {}).get("privileged") is True, "agent: privileged")
    env = {e["name"]: e for e in c.get("env", [])}
    need(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
         == "spec.nodeName", "agent: NODE_NAME from spec.nodeName")
    need("$(NODE_NAME)" in c.get("args", []), "agent: --node-name $(NODE_NAME)")
    check_probes(c, 4244, "agent")
    mounts = check_mounts(spec, c, "agent")
    host = {p: v.get("hostPath", {}).get("path") for p, v in mounts.items()}
    need(host.get("/sys/fs/bpf") == "/sys/fs/bpf", "agent: bpffs mounted")
    need(host.get("/host/proc") == "/proc", "agent: the host's /proc mounted")
    need(host.get("/run/netns") == "/run/netns", "agent: /run/netns mounted")
    need(host.get("/var/lib/weir") == "/var/lib/weir",
         "agent: /var/lib/weir mounted from the host (state survives the pod)")
    need(host.get("/run/weir") == "/run/weir", "agent: its socket's directory is the host's")
    need(mounts.get("/etc/weir", {}).get("configMap", {}).get("name") == "weir-config",
         "agent: config from the ConfigMap")
    bpf = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/sys/fs/bpf"]
    need(bpf and bpf[0].get("mountPropagation") == "Bidirectional",
         "agent: bpffs mount propagates (pins survive restarts)")
    init = container(spec, "install-cni", init=True)
    need(init.get("image") == c.get("image"), "install-cni: the agent's image")
    need(init.get("command") == ["/usr/lib/weir/install-cni.sh"], "install-cni: runs the installer")
    imounts = check_mounts(spec, init, "install-cni")
    ihost = {p: v.get("hostPath", {}).get("path") for p, v in imounts.items()}
    ienv = {e["name"]: e.get("value") for e in init.get("env", [])}
    need(ihost.get(ienv.get("CNI_BIN_DIR")) == "/opt/cni/bin", "install-cni: CNI bin dir mounted")
    need(ihost.get(ienv.get("CNI_CONF_DIR")) == "/etc/cni/net.d",
         "install-cni: CNI conf dir mounted")
    need(ienv.get("WEIR_CNI_ENTRY", "").startswith("/etc/weir/"), "install-cni: entry from config")


def check_relay():
    dep = find("Deployment", "weir-relay")
    spec = pod_spec(dep)
    c = container(spec, "relay")
    need(c.get("image"), "relay: image")
    need(spec.get("securityContext", {}).get("runAsNonRoot") is True, "relay: not root")
    need(c.get("securityContext", {}).get("allowPrivilegeEscalation") is False,
         "relay: no privilege escalation")
    need(not spec.get("hostNetwork"), "relay: pod network")
    check_probes(c, 4245, "relay")
    check_mounts(spec, c, "relay")


def check_rbac():
    role = find("ClusterRole", "weir-agent")
    rules = role.get("rules", [])
    need(len(rules) == 1, "agent role: one rule")
    for r in rules:
        need(r.get("apiGroups") == [""] and r.get("resources") == ["pods"],
             "agent role: core pods only")
        need(sorted(r.get("verbs", [])) == ["get", "list", "watch"],
             "agent role: verbs exactly get, list, watch")
    b = find("ClusterRoleBinding", "weir-agent")
    need(b.get("roleRef", {}).get("name") == "weir-agent", "binding: the agent role")
    need({"kind": "ServiceAccount", "name": "weir-agent", "namespace": "weir"}
         in b.get("subjects", []), "binding: the agent's service account")
    find("ServiceAccount", "weir-agent")
    find("ServiceAccount", "weir-relay")
    for d in docs:
        if d.get("kind") in ("Role", "ClusterRole") and d["metadata"]["name"] != "weir-agent":
            need(False, "an unexpected role " + d["metadata"]["name"])


def check_services():
    for svc, wl_kind, port, headless in (("weir-agent", "DaemonSet", 4244, True),
                                         ("weir-relay", "Deployment", 4245, False)):
        s = find("Service", svc)
        wl = find(wl_kind, svc)
        labels = wl.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        sel = s.get("spec", {}).get("selector", {})
        need(sel and all(labels.get(k) == v for k, v in sel.items()),
             "%s: the Service selects the pods" % svc)
        need((s["spec"].get("clusterIP") == "None") == headless,
             "%s: headless is %s" % (svc, headless))
        ports = [c.get("containerPort") for c in pod_spec(wl).get("containers", [])[0].get("ports", [])]
        for p in s["spec"].get("ports", []):
            need(p.get("targetPort") in ports and p.get("port") == port and p.get("name") == "http",
                 "%s: port http %d reaches a container port" % (svc, port))


def check_config():
    cm = find("ConfigMap", "weir-config")["data"]
    agent = json.loads(cm["agent.json"])
    relay = json.loads(cm["relay.json"])
    entry = json.loads(cm["weir-cni.json"])
    need(agent.get("listen") == ":4244", "agent.json: listens on :4244 for probes and the relay")
    need(agent.get("k8s") is True, "agent.json: k8s on")
    need(agent.get("socket") == entry.get("agent_socket"),
         "the CNI entry's agent_socket is the agent's socket")
    need(os.path.dirname(agent.get("socket", "")) == "/run/weir", "agent socket under /run/weir")
    need(relay.get("peer_dns") == ["weir-agent.weir.svc.cluster.local:4244"],
         "relay.json: the agents' headless Service")
    need(relay.get("listen") == ":4245", "relay.json: listens on :4245")
    need(entry.get("type") == "weir-cni", "weir-cni.json: type weir-cni")
    out = sys.argv[3] if len(sys.argv) > 3 else None
    if out:
        for key in ("agent.json", "relay.json", "weir-cni.json"):
            with open(os.path.join(out, key), "w") as f:
                f.write(cm[key])


def check_monitoring():
    sm = find("ServiceMonitor", "weir")
    names = sm.get("spec", {}).get("selector", {}).get("matchExpressions", [{}])[0].get("values", [])
    need(sorted(names) == ["weir-agent", "weir-relay"], "ServiceMonitor: agents and relay")
    need(all(e.get("port") == "http" and e.get("path") == "/metrics"
             for e in sm["spec"].get("endpoints", [])), "ServiceMonitor: /metrics on http")


{"kinds": check_kinds, "agent": check_agent, "relay": check_relay, "rbac": check_rbac,
 "services": check_services, "config": check_config, "monitoring": check_monitoring}[CHECK]()
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
