"""Cross-checks of the operations files that no schema expresses, run by
scripts/ops-check with the venv's Python (PyYAML comes with
kubernetes-validate):

  ops-check.py dashboard  deploy/grafana/eoshost.json
  ops-check.py compose    <output of docker-compose config>
  ops-check.py kubernetes <output of kubectl kustomize> <plugin.wasm>

Each prints what it checked, or the first problem and exits 1.
"""

import base64
import json
import sys

import yaml


def fail(message):
    print(f"ops-check: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def dashboard(path):
    with open(path, encoding="utf-8") as file:
        board = json.load(file)
    check(board.get("uid") and board.get("title"), f"{path}: no uid or title")
    panels = [p for p in board.get("panels", []) if p.get("type") != "row"]
    check(len(panels) >= 8, f"{path}: only {len(panels)} panels")
    ids = [p["id"] for p in board["panels"]]
    check(len(ids) == len(set(ids)), f"{path}: panel ids repeat: {ids}")
    variables = {v["name"] for v in board.get("templating", {}).get("list", [])}
    for panel in panels:
        targets = panel.get("targets", [])
        check(targets and all(t.get("expr") for t in targets), f"{path}: panel {panel.get('title')!r} queries nothing")
        check(panel.get("datasource", {}).get("uid") == "${datasource}", f"{path}: panel {panel.get('title')!r} ignores $datasource")
        for target in targets:
            for name in ("job", "instance"):
                check(f"${name}" in target["expr"], f"{path}: {target['expr']!r} ignores ${name}")
    check({"datasource", "job", "instance"} <= variables, f"{path}: variables {variables}")
    print(f"dashboard: {len(panels)} panels, every one querying with $datasource, $job and $instance", file=sys.stderr)


def compose(path):
    with open(path, encoding="utf-8") as file:
        services = yaml.safe_load(file)["services"]
    check({"kafka", "topics", "producer", "eoshost", "prometheus"} <= set(services), f"services: {sorted(services)}")
    eoshost = services["eoshost"]
    check(eoshost.get("hostname"), "eoshost has no fixed hostname: its transactional id would change with the container")
    check(any("--metrics-addr=0.0.0.0:9464" == arg for arg in eoshost.get("command", [])), "eoshost serves no metrics")
    mounts = services["prometheus"].get("volumes", [])
    sources = [m.get("source", "") if isinstance(m, dict) else m.split(":")[0] for m in mounts]
    check(any(s.rstrip("/").endswith("deploy/prometheus") for s in sources), f"prometheus does not mount deploy/prometheus: {mounts}")
    check("prometheus.yml" in " ".join(services["prometheus"].get("command", [])), "prometheus does not load deploy/prometheus/prometheus.yml")
    print("compose: 5 services; eoshost has a fixed hostname; prometheus loads deploy/prometheus", file=sys.stderr)


def kubernetes(path, plugin):
    with open(path, encoding="utf-8") as file:
        documents = [d for d in yaml.safe_load_all(file) if d]
    by_kind = {}
    for document in documents:
        by_kind.setdefault(document["kind"], []).append(document)
    for kind in ("StatefulSet", "Service", "PodMonitor", "ConfigMap"):
        check(kind in by_kind, f"no {kind} in the kustomization's output")
    stateful = by_kind["StatefulSet"][0]
    spec = stateful["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    check(spec.get("podManagementPolicy") == "Parallel", "podManagementPolicy must be Parallel (replicas are peers)")
    check(pod.get("terminationGracePeriodSeconds", 30) >= 30, "terminationGracePeriodSeconds must cover eoshost's ~25 s stop")
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    check("metrics" in ports, "the container has no port named metrics")
    for probe, want in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", None)):
        http = container.get(probe, {}).get("httpGet", {})
        check(http.get("port") == "metrics", f"{probe} does not use the metrics port")
        check(want is None or http.get("path") == want, f"{probe} must ask {want}")
    env = {e["name"]: e for e in container.get("env", [])}
    check(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name", "POD_NAME must come from metadata.name")
    check("$(POD_NAME)" in env.get("EOSHOST_TRANSACTIONAL_ID", {}).get("value", ""), "the transactional id must derive from the pod name")
    check("$(POD_NAME)" in env.get("EOSHOST_GROUP_INSTANCE_ID", {}).get("value", ""), "the group instance id must derive from the pod name")
    address = env.get("EOSHOST_METRICS_ADDR", {}).get("value", "")
    check(address.endswith(f":{ports['metrics']}"), f"EOSHOST_METRICS_ADDR {address!r} is not the metrics port")
    requests = container.get("resources", {}).get("requests", {})
    check("cpu" in requests and "memory" in requests, "resource requests missing")

    config_maps = {c["metadata"]["name"]: c for c in by_kind["ConfigMap"]}
    plugin_volume = next((v for v in pod["volumes"] if v["name"] == "plugin"), None)
    check(plugin_volume and plugin_volume.get("configMap"), "no plugin volume from a ConfigMap")
    plugin_map = config_maps.get(plugin_volume["configMap"]["name"])
    check(plugin_map is not None, f"the plugin volume names a ConfigMap the kustomization does not make: {plugin_volume}")
    with open(plugin, "rb") as file:
        wasm = file.read()
    check(base64.b64decode(plugin_map.get("binaryData", {}).get("plugin.wasm", "")) == wasm, "the plugin ConfigMap's binaryData is not the plugin")
    env_from = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
    check(env_from and all(name in config_maps for name in env_from), f"envFrom names unknown ConfigMaps: {env_from}")
    settings = {k: v for name in env_from for k, v in config_maps[name].get("data", {}).items()}
    check({"EOSHOST_INPUT", "EOSHOST_OUTPUT", "EOSHOST_GROUP"} <= set(settings), f"settings lack input/output/group: {sorted(settings)}")

    service = by_kind["Service"][0]
    check(service["spec"].get("clusterIP") == "None", "the Service must be headless (clusterIP: None)")
    check(spec.get("serviceName") == service["metadata"]["name"], "the StatefulSet's serviceName is not the headless Service")
    selects = lambda selector: all(pod_labels.get(k) == v for k, v in selector.items())  # noqa: E731
    check(selects(service["spec"]["selector"]), "the Service does not select the pods")
    check(selects(spec["selector"]["matchLabels"]), "the StatefulSet's selector does not match its pods")

    monitor = by_kind["PodMonitor"][0]
    check(monitor["apiVersion"] == "monitoring.coreos.com/v1", "PodMonitor apiVersion must be monitoring.coreos.com/v1")
    check(selects(monitor["spec"]["selector"]["matchLabels"]), "the PodMonitor does not select the pods")
    endpoints = monitor["spec"].get("podMetricsEndpoints", [])
    check(endpoints and all(e.get("port") in ports and e.get("path", "/metrics") == "/metrics" for e in endpoints), f"PodMonitor endpoints {endpoints}")
    print(f"kubernetes: {len(documents)} resources cross-checked (selectors, ports, probes, ids, plugin ConfigMap)", file=sys.stderr)


if __name__ == "__main__":
    commands = {"dashboard": dashboard, "compose": compose, "kubernetes": kubernetes}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        fail(f"usage: ops-check.py {'|'.join(commands)} FILE...")
    commands[sys.argv[1]](*sys.argv[2:])
