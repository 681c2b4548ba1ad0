#!/usr/bin/env python3
"""Checks the deployment files under conf/ offline: no cluster, no container engine, no systemd.

    python3 tests/integration/deploy_test.py [REPO_ROOT]

conf/k8s/*.yaml: every document parses and has apiVersion, kind and metadata; the expected
objects exist; selectors match pod labels and every Service selects pods (or is external);
containers have liveness and readiness probes through `tb-ctl health` (the manager, which is the
registry that command asks, is probed on its own GET /health); game StatefulSets have a preStop
and a termination grace period above the drain limit, and id blocks that do not overlap; the
Services' ports are the ones conf/*.toml gives; every Secret, ConfigMap and key referenced
exists; the ConfigMap's TOML uses only known keys, holds no secret and names the manager Service.
conf/systemd: the units parse as INI, start a tb-* binary, restart on failure, and the game
unit's TimeoutStopSec is above the drain limit. conf/docker/Dockerfile: Debian 12 stages, the
build through tools/install-deps.sh, every program the manifests run copied into the image, and
the id helper conf/docker/tb-node-id computes what the pods expect.

Prints every problem found and exits 1, or prints a summary and exits 0.
"""

import configparser
import glob
import os
import re
import subprocess
import sys

try:
    import tomllib  # Python 3.11 (Debian 12)
except ImportError:  # pragma: no cover
    sys.exit("deploy_test: needs Python 3.11+ (tomllib)")
try:
    import yaml  # python3-yaml (tools/install-deps.sh)
except ImportError:  # pragma: no cover
    sys.exit("deploy_test: needs python3-yaml (tools/install-deps.sh installs it)")

NAMESPACE = "tablebus"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
# Config keys every node has besides those in its conf/<node>.toml (bind_node_config in
# nodes/common/config.cc).
COMMON_NODE_KEYS = {
    "node.id", "node.manager", "node.announce", "node.base_port",
    "log.level", "log.file", "log.max_size_mb", "log.max_files", "process.scheduler",
}
# Values that must come from a Secret, never from a ConfigMap.
SECRET_KEYS = {"ticket.secret", "mysql.password", "redis.password", "curve.secret_key"}
BUS_NODES = ("db", "login", "game", "proxy")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
# Nodes that cannot start without a secret, and the variable that carries it.
REQUIRED_SECRETS = (("proxy", "TB_TICKET_SECRET"), ("game", "TB_TICKET_SECRET"),
                    ("db", "TB_MYSQL_PASSWORD"))
# The binaries the issue names; the image must hold them all.
BINARIES = ("tb-manager", "tb-db", "tb-login", "tb-game", "tb-proxy", "tb-mon", "tb-ctl",
            "tb-bot")
ID_BLOCK = 100  # ids per game StatefulSet (conf/k8s/game.yaml)


class Checker:
    def __init__(self, root):
        self.root = root
        self.errors = []
        self.checks = 0

    def check(self, ok, message):
        self.checks += 1
        if not ok:
            self.errors.append(message)
        return bool(ok)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def rel(self, path):
        return os.path.relpath(path, self.root)


# ------------------------------------------------------------------------------------------
# conf/*.toml: the ports and limits everything else must agree with


def flatten(table, prefix=""):
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def load_conf(c):
    conf = {}
    for path in sorted(glob.glob(c.path("conf", "*.toml"))):
        name = os.path.basename(path)[: -len(".toml")]
        try:
            with open(path, "rb") as f:
                conf[name] = flatten(tomllib.load(f))
        except (OSError, tomllib.TOMLDecodeError) as e:
            c.check(False, f"{c.rel(path)}: does not parse: {e}")
    for name in ("manager", "db", "login", "game", "proxy"):
        c.check(name in conf, f"conf/{name}.toml: missing")
        conf.setdefault(name, {})
    return conf


def manager_ports(manager_conf):
    base = int(manager_conf.get("manager.base_port", 5555))
    return {"bus": base, "announce": base + 1, "metrics": base + 3545}


def proxy_port(proxy_conf):
    port = int(proxy_conf.get("proxy.listen_port", 0))
    return port if port else int(proxy_conf.get("node.base_port", 5555)) + 3333


def drain_limit_ms(game_conf):
    return int(game_conf.get("drain.limit_ms", 600000))


def duration_seconds(text):
    """A systemd time span ("660", "11min", "10min 30s", "infinity") in seconds."""
    text = text.strip()
    if text == "infinity":
        return float("inf")
    units = {"": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60,
             "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600,
             "hours": 3600, "ms": 0.001, "msec": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    if not parts or re.sub(r"[\d.\sa-z]", "", text):
        raise ValueError(f"not a time span: {text!r}")
    total = 0.0
    for number, unit in parts:
        if unit not in units:
            raise ValueError(f"unknown unit {unit!r} in {text!r}")
        total += float(number) * units[unit]
    return total


# ------------------------------------------------------------------------------------------
# Kubernetes: small accessors


def name_of(doc):
    return (doc.get("metadata") or {}).get("name", "?")


def label(doc):
    return f"{doc.get('kind')}/{name_of(doc)}"


def labels_of(doc):
    return (doc.get("metadata") or {}).get("labels") or {}


def component_of(doc):
    return labels_of(doc).get(COMPONENT_LABEL)


def template(doc):
    return (doc.get("spec") or {}).get("template") or {}


def pod_spec(doc):
    return template(doc).get("spec") or {}


def pod_labels(doc):
    return (template(doc).get("metadata") or {}).get("labels") or {}


def containers(doc):
    spec = pod_spec(doc)
    return (spec.get("initContainers") or []) + (spec.get("containers") or [])


def command_text(container):
    words = (container.get("command") or []) + (container.get("args") or [])
    return " ".join(str(w) for w in words)


def probe_text(probe):
    return " ".join(str(w) for w in ((probe or {}).get("exec") or {}).get("command") or [])


def env_of(container, name):
    for e in container.get("env") or []:
        if e.get("name") == name:
            return e
    return {}


def subset(small, big):
    return all(big.get(k) == v for k, v in (small or {}).items())


def parse_toml(text):
    try:
        return flatten(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return None


class Manifests:
    """Every document of conf/k8s, indexed."""

    def __init__(self, c):
        self.docs = []  # (path, doc)
        paths = [p for ext in ("yaml", "yml") for p in glob.glob(c.path("conf", "k8s", f"*.{ext}"))]
        c.check(paths, "conf/k8s: no manifests")
        for path in sorted(paths):
            try:
                with open(path) as f:
                    loaded = list(yaml.safe_load_all(f))
            except (OSError, yaml.YAMLError) as e:
                c.check(False, f"{c.rel(path)}: does not parse: {e}")
                continue
            for i, doc in enumerate(loaded):
                if doc is None:
                    continue
                where = f"{c.rel(path)} document {i + 1}"
                if not c.check(isinstance(doc, dict), f"{where}: not a mapping"):
                    continue
                c.check(doc.get("apiVersion"), f"{where}: no apiVersion")
                c.check(doc.get("kind"), f"{where}: no kind")
                if doc.get("kind") != "Kustomization":
                    meta = doc.get("metadata")
                    c.check(isinstance(meta, dict) and meta.get("name"),
                            f"{where}: no metadata.name")
                self.docs.append((path, doc))
        self.objects = [d for _, d in self.docs]
        self.workloads = [d for d in self.objects if d.get("kind") in WORKLOAD_KINDS]

    def find(self, kind, component=None, name=None):
        return [d for d in self.objects
                if d.get("kind") == kind
                and (component is None or component_of(d) == component)
                and (name is None or name_of(d) == name)]

    def configmap_toml(self, key):
        for cm in self.find("ConfigMap"):
            text = (cm.get("data") or {}).get(key)
            if text is not None:
                return parse_toml(text)  # a parse error is reported by check_configmaps
        return None

    def manager_host(self):
        services = self.find("Service", "manager")
        return name_of(services[0]) if services else "?"


# ------------------------------------------------------------------------------------------
# Kubernetes: the checks


def check_objects(c, m):
    c.check(m.find("Namespace", name=NAMESPACE), f"conf/k8s: no Namespace {NAMESPACE}")
    for comp in ("manager", "db", "login", "proxy"):
        c.check(len(m.find("Deployment", comp)) == 1,
                f"conf/k8s: want one Deployment of component {comp}")
    c.check(m.find("StatefulSet", "game"), "conf/k8s: no StatefulSet of component game")
    c.check(m.find("ConfigMap"), "conf/k8s: no ConfigMap")
    c.check(m.find("Secret"), "conf/k8s: no Secret")
    for d in m.find("Deployment", "manager"):
        c.check(d["spec"].get("replicas", 1) == 1, f"{label(d)}: the manager must have 1 replica")
        c.check((d["spec"].get("strategy") or {}).get("type") == "Recreate",
                f"{label(d)}: strategy must be Recreate (two managers would be two buses)")
    for d in m.objects:
        if d.get("kind") in ("Namespace", "Kustomization"):
            continue
        c.check((d.get("metadata") or {}).get("namespace") == NAMESPACE,
                f"{label(d)}: metadata.namespace must be {NAMESPACE}")
        c.check(labels_of(d).get(NAME_LABEL) == "tablebus",
                f"{label(d)}: no label {NAME_LABEL}: tablebus")


def check_bus_node_container(c, d, ct, comp):
    where = f"{label(d)} container {ct.get('name')}"
    cmd = command_text(ct)
    c.check(re.search(rf"\btb-{comp}\b", cmd), f"{where}: command does not run tb-{comp}: {cmd!r}")
    c.check(f"--config /etc/tablebus/{comp}.toml" in cmd,
            f"{where}: command must read --config /etc/tablebus/{comp}.toml")
    for kind in ("liveness", "readiness"):
        text = probe_text(ct.get(f"{kind}Probe"))
        c.check(re.search(r"\btb-ctl\b.*\bhealth\b", text),
                f"{where}: {kind} probe does not run `tb-ctl health`: {text!r}")
        c.check(f'"{comp}-' in text or f" {comp}-" in text,
                f"{where}: {kind} probe does not ask for a {comp}-<id> node: {text!r}")
        # The probe must name the node the command started: the same id source.
        if "tb-node-id" in cmd:
            c.check("tb-node-id" in text,
                    f"{where}: the command's id comes from tb-node-id, the {kind} probe's does not")
    c.check(env_of(ct, "TB_MANAGER").get("value"),
            f"{where}: no TB_MANAGER (where tb-ctl finds the manager)")
    if "tb-node-id" not in cmd:
        return
    source = env_of(ct, "TB_ID_FROM").get("value")
    c.check(source in ("ordinal", "ip", "hash") or env_of(ct, "TB_NODE_ID"),
            f"{where}: tb-node-id needs TB_ID_FROM (ordinal, ip or hash) or TB_NODE_ID")
    if source == "ip":
        field = (env_of(ct, "POD_IP").get("valueFrom") or {}).get("fieldRef") or {}
        c.check(field.get("fieldPath") == "status.podIP",
                f"{where}: TB_ID_FROM=ip needs POD_IP from status.podIP")
    if source == "ordinal":
        c.check(d.get("kind") == "StatefulSet",
                f"{where}: TB_ID_FROM=ordinal outside a StatefulSet")


def check_manager_container(c, d, ct, conf):
    # The manager is the registry `tb-ctl health` asks, not a node in it: it is probed on its
    # GET /health, which the broker's own event loop serves.
    where = f"{label(d)} container {ct.get('name')}"
    cmd = command_text(ct)
    c.check(re.search(r"\btb-manager\b", cmd), f"{where}: command does not run tb-manager")
    c.check("--config /etc/tablebus/manager.toml" in cmd,
            f"{where}: command must read --config /etc/tablebus/manager.toml")
    metrics = manager_ports(conf["manager"])["metrics"]
    named = {p.get("name"): p.get("containerPort") for p in ct.get("ports") or []}
    for kind in ("liveness", "readiness"):
        get = (ct.get(f"{kind}Probe") or {}).get("httpGet") or {}
        port = named.get(get.get("port"), get.get("port"))
        c.check(get.get("path") == "/health" and port == metrics,
                f"{where}: {kind} probe must be GET /health on {metrics}")


def check_workloads(c, m, conf):
    configmaps = {name_of(d) for d in m.find("ConfigMap")}
    for d in m.workloads:
        match = ((d.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        labels = pod_labels(d)
        c.check(match, f"{label(d)}: no spec.selector.matchLabels")
        c.check(subset(match, labels),
                f"{label(d)}: selector {match} does not match its pod labels {labels}")
        comp = labels.get(COMPONENT_LABEL)
        c.check(labels.get(NAME_LABEL) == "tablebus" and comp,
                f"{label(d)}: pod labels need {NAME_LABEL}: tablebus and {COMPONENT_LABEL}")
        for ct in containers(d):
            where = f"{label(d)} container {ct.get('name')}"
            c.check(ct.get("livenessProbe"), f"{where}: no livenessProbe")
            c.check(ct.get("readinessProbe"), f"{where}: no readinessProbe")
            if comp in BUS_NODES:
                check_bus_node_container(c, d, ct, comp)
            elif comp == "manager":
                check_manager_container(c, d, ct, conf)
            else:
                c.check(False, f"{where}: unknown component {comp!r}")
        for v in pod_spec(d).get("volumes") or []:
            if "configMap" in v:
                name = v["configMap"].get("name")
                c.check(name in configmaps,
                        f"{label(d)}: volume {v.get('name')} names missing ConfigMap {name}")


def check_game_nodes(c, m, conf):
    game_cm = m.configmap_toml("game.toml") or {}
    limit_ms = max(drain_limit_ms(conf["game"]), drain_limit_ms(game_cm) if game_cm else 0)
    services = {name_of(s) for s in m.find("Service")}
    blocks = []
    for d in m.find("StatefulSet", "game"):
        spec = d.get("spec") or {}
        grace = pod_spec(d).get("terminationGracePeriodSeconds", 30)
        set_limit = limit_ms
        for ct in containers(d):
            override = env_of(ct, "TB_DRAIN_LIMIT_MS").get("value")
            if override:
                set_limit = max(set_limit, int(override))
            c.check((ct.get("lifecycle") or {}).get("preStop"),
                    f"{label(d)} container {ct.get('name')}: no lifecycle.preStop (drain)")
            base = env_of(ct, "TB_ID_BASE").get("value")
            if c.check(str(base).isdigit(), f"{label(d)}: no TB_ID_BASE (its first node id)"):
                blocks.append((int(base), int(spec.get("replicas", 1)), label(d)))
        c.check(grace * 1000 > set_limit,
                f"{label(d)}: terminationGracePeriodSeconds {grace} s is not above the drain "
                f"limit {set_limit} ms")
        c.check((spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate",
                f"{label(d)}: updateStrategy must be RollingUpdate")
        c.check(spec.get("serviceName") in services,
                f"{label(d)}: serviceName {spec.get('serviceName')!r} is not a Service here")
    blocks.sort()
    for (b1, n1, l1), (b2, _, l2) in zip(blocks, blocks[1:]):
        c.check(b1 + max(n1, ID_BLOCK) <= b2,
                f"{l1} (ids from {b1}) and {l2} (ids from {b2}) overlap: keep {ID_BLOCK} apart")
    for base, replicas, where in blocks:
        c.check(replicas <= ID_BLOCK, f"{where}: more than {ID_BLOCK} replicas leave its id block")
        c.check(1 <= base and base + ID_BLOCK - 1 <= 1000000,
                f"{where}: ids {base}..{base + ID_BLOCK - 1} outside 1..1000000")


def check_services(c, m, conf):
    endpoint_names = {labels_of(d).get("kubernetes.io/service-name")
                      for d in m.find("EndpointSlice")} | {name_of(d) for d in m.find("Endpoints")}
    for s in m.find("Service"):
        spec = s.get("spec") or {}
        selector = spec.get("selector")
        if selector:
            targets = [d for d in m.workloads if subset(selector, pod_labels(d))]
            c.check(targets, f"{label(s)}: selector {selector} selects no pods")
            ports = [(p.get("name"), p.get("containerPort"))
                     for d in targets for ct in containers(d) for p in ct.get("ports") or []]
            for p in spec.get("ports") or []:
                target = p.get("targetPort", p.get("port"))
                c.check(any(target in named for named in ports),
                        f"{label(s)}: targetPort {target!r} is no container port of its pods")
        elif spec.get("type") == "ExternalName":
            c.check(spec.get("externalName"), f"{label(s)}: ExternalName without externalName")
        else:
            c.check(name_of(s) in endpoint_names,
                    f"{label(s)}: no selector, no ExternalName and no EndpointSlice/Endpoints")

    want = manager_ports(conf["manager"])
    manager_cm = m.configmap_toml("manager.toml")
    if manager_cm:
        c.check(manager_ports(manager_cm) == want,
                f"ConfigMap manager.toml ports {manager_ports(manager_cm)} differ from "
                f"conf/manager.toml {want}")
    for s in m.find("Service", "manager"):
        ports = {p.get("name"): p.get("port") for p in s["spec"].get("ports") or []}
        c.check(ports == want, f"{label(s)}: ports {ports}, conf/manager.toml gives {want}")
    for d in m.find("Deployment", "manager"):
        ports = {p.get("name"): p.get("containerPort")
                 for ct in containers(d) for p in ct.get("ports") or []}
        c.check(ports == want, f"{label(d)}: container ports {ports}, conf/ gives {want}")

    clients = proxy_port(conf["proxy"])
    proxy_cm = m.configmap_toml("proxy.toml")
    if proxy_cm:
        c.check(proxy_port(proxy_cm) == clients,
                f"ConfigMap proxy.toml listens on {proxy_port(proxy_cm)}, conf/proxy.toml on "
                f"{clients}")
    proxy_services = m.find("Service", "proxy")
    c.check(any(s["spec"].get("type") == "LoadBalancer" for s in proxy_services),
            "conf/k8s: no LoadBalancer Service for the proxies")
    for s in proxy_services:
        ports = [p.get("port") for p in s["spec"].get("ports") or []]
        c.check(ports == [clients], f"{label(s)}: ports {ports}, conf/proxy.toml gives {clients}")
    for d in m.find("Deployment", "proxy"):
        ports = [p.get("containerPort") for ct in containers(d) for p in ct.get("ports") or []]
        c.check(ports == [clients], f"{label(d)}: container ports {ports}, want [{clients}]")


def check_configmaps(c, m, conf):
    want = manager_ports(conf["manager"])
    bus = f"tcp://{m.manager_host()}:{want['bus']}"
    announce = f"tcp://{m.manager_host()}:{want['announce']}"
    services = {name_of(s) for s in m.find("Service")}
    for cm in m.find("ConfigMap"):
        for key, text in (cm.get("data") or {}).items():
            if not key.endswith(".toml"):
                continue
            where = f"{label(cm)} {key}"
            node = key[: -len(".toml")]
            values = parse_toml(text)
            if not c.check(values is not None, f"{where}: does not parse as TOML"):
                continue
            known = set(conf.get(node, {})) | COMMON_NODE_KEYS
            if node == "manager":
                known |= set(conf.get("manager.production", {}))
            unknown = sorted(set(values) - known)
            c.check(not unknown,
                    f"{where}: keys not in conf/{node}.toml (the node refuses them): {unknown}")
            leaked = sorted(set(values) & SECRET_KEYS)
            c.check(not leaked, f"{where}: secrets belong in a Secret, not a ConfigMap: {leaked}")
            if node == "db":
                for host in ("mysql.host", "redis.host"):
                    c.check(values.get(host) in services,
                            f"{where}: {host} {values.get(host)!r} is not a Service here")
            if node in BUS_NODES:
                c.check(values.get("node.manager") == bus, f"{where}: node.manager must be {bus}")
                c.check(values.get("node.announce") == announce,
                        f"{where}: node.announce must be {announce}")
    for d in m.workloads:
        for ct in containers(d):
            value = env_of(ct, "TB_MANAGER").get("value")
            if value:
                c.check(value == bus, f"{label(d)}: TB_MANAGER {value} is not {bus}")


def check_references(c, m):
    keys_of = {}
    for d in m.find("Secret") + m.find("ConfigMap"):
        keys = set(d.get("data") or {}) | set(d.get("stringData") or {})
        keys_of[(d["kind"], name_of(d))] = keys
    for comp, var in REQUIRED_SECRETS:
        for d in [w for w in m.workloads if pod_labels(w).get(COMPONENT_LABEL) == comp]:
            for ct in containers(d):
                c.check("secretKeyRef" in (env_of(ct, var).get("valueFrom") or {}),
                        f"{label(d)}: {var} must come from a Secret (secretKeyRef)")
    for d in m.workloads:
        for ct in containers(d):
            for e in ct.get("env") or []:
                source = e.get("valueFrom") or {}
                for ref, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                    if ref in source:
                        r = source[ref]
                        c.check(r.get("key") in keys_of.get((kind, r.get("name")), ()),
                                f"{label(d)}: env {e.get('name')} refers to missing {kind} "
                                f"{r.get('name')} key {r.get('key')}")
            for e in ct.get("envFrom") or []:
                for ref, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                    if ref in e:
                        name = e[ref].get("name")
                        c.check((kind, name) in keys_of,
                                f"{label(d)}: envFrom refers to missing {kind} {name}")
        for v in pod_spec(d).get("volumes") or []:
            for ref, kind, field in (("configMap", "ConfigMap", "name"),
                                     ("secret", "Secret", "secretName")):
                if ref not in v:
                    continue
                keys = keys_of.get((kind, v[ref].get(field)))
                if c.check(keys is not None,
                           f"{label(d)}: volume {v.get('name')} refers to a missing {kind}"):
                    for item in v[ref].get("items") or []:
                        c.check(item.get("key") in keys,
                                f"{label(d)}: volume {v.get('name')} item {item.get('key')} "
                                f"is not in the {kind}")
    for p in m.find("PodDisruptionBudget"):
        selector = ((p.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        c.check(any(subset(selector, pod_labels(d)) for d in m.workloads),
                f"{label(p)}: selects no pods")
    for n in m.find("NetworkPolicy"):
        selector = ((n.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {}
        c.check(not selector or any(subset(selector, pod_labels(d)) for d in m.workloads),
                f"{label(n)}: selects no pods")


def check_kustomization(c, m):
    found = [(p, d) for p, d in m.docs if d.get("kind") == "Kustomization"]
    if not c.check(found, "conf/k8s: no kustomization.yaml"):
        return
    path, k = found[0]
    listed = set(k.get("resources") or [])
    files = {os.path.basename(p) for p, _ in m.docs}
    # The secrets example stays out: applying it again would overwrite the real secrets.
    expected = {f for f in files if f != os.path.basename(path) and ".example." not in f}
    c.check(listed == expected,
            f"{c.rel(path)}: resources {sorted(listed)}, manifests {sorted(expected)}")
    c.check(k.get("namespace") == NAMESPACE, f"{c.rel(path)}: namespace must be {NAMESPACE}")


def check_kubernetes(c, conf):
    m = Manifests(c)
    check_objects(c, m)
    check_workloads(c, m, conf)
    check_game_nodes(c, m, conf)
    check_services(c, m, conf)
    check_configmaps(c, m, conf)
    check_references(c, m)
    check_kustomization(c, m)
    return m


# ------------------------------------------------------------------------------------------
# systemd


def read_unit(c, path):
    """configparser for the INI shape, and a plain pass for repeated keys (After=, ...)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#", ";"))
    parser.optionxform = str
    try:
        with open(path) as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as e:
        c.check(False, f"{c.rel(path)}: does not parse as INI: {e}")
        return None, {}
    values = {}
    section = None
    with open(path) as f:
        text = f.read().replace("\\\n", " ")  # systemd joins lines that end in a backslash
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        values.setdefault((section, key.strip()), []).append(value.strip())
    return parser, values


def check_service_unit(c, path, parser, values, conf):
    where = c.rel(path)
    if not c.check(parser.has_section("Service"), f"{where}: no [Service]"):
        return
    svc = parser["Service"]
    node = re.sub(r"^tablebus-|@?\.service$", "", os.path.basename(path))
    exec_start = " ".join(values.get(("Service", "ExecStart"), []))
    c.check(re.search(rf"/tb-{node}(\s|$)", exec_start),
            f"{where}: ExecStart does not start a tb-{node} binary: {exec_start!r}")
    c.check(f"--config /etc/tablebus/{node}.toml" in exec_start,
            f"{where}: ExecStart must read --config /etc/tablebus/{node}.toml")
    c.check(svc.get("Restart") in ("on-failure", "always", "on-abnormal"),
            f"{where}: Restart= must be on-failure (got {svc.get('Restart')!r})")
    c.check(svc.get("User") == "tablebus", f"{where}: User= must be tablebus")
    c.check(svc.get("KillSignal", "SIGTERM") == "SIGTERM", f"{where}: KillSignal= must be SIGTERM")
    env_files = values.get(("Service", "EnvironmentFile"), [])
    c.check(any(e.lstrip("-") == "/etc/tablebus/secrets.env" for e in env_files),
            f"{where}: no EnvironmentFile=/etc/tablebus/secrets.env")
    if node in ("proxy", "game", "db"):
        c.check("/etc/tablebus/secrets.env" in env_files,
                f"{where}: tb-{node} needs its secrets: the EnvironmentFile must not be optional")
    if node != "manager":
        after = " ".join(values.get(("Unit", "After"), [])).split()
        c.check("tablebus-manager.service" in after,
                f"{where}: not After=tablebus-manager.service")
        c.check("%i" in exec_start, f"{where}: the instance (%i) must give the node id")
    try:
        stop = duration_seconds(svc.get("TimeoutStopSec", "90"))
    except ValueError as e:
        c.check(False, f"{where}: TimeoutStopSec: {e}")
        stop = 0
    limit_ms = drain_limit_ms(conf["game"])
    if node == "game":
        c.check(stop * 1000 > limit_ms,
                f"{where}: TimeoutStopSec {stop:g} s is not above the drain limit {limit_ms} ms "
                "(conf/game.toml)")
    if node == "proxy":
        nofile = svc.get("LimitNOFILE", "0").split(":")[-1]
        want = int(conf["proxy"].get("proxy.max_connections", 16000))
        c.check(nofile == "infinity" or (nofile.isdigit() and int(nofile) > want),
                f"{where}: LimitNOFILE {nofile} is not above proxy.max_connections {want}")
    c.check(parser.has_section("Install"), f"{where}: no [Install]")


def check_systemd(c, conf):
    d = c.path("conf", "systemd")
    c.check(os.path.isfile(os.path.join(d, "README.md")), "conf/systemd/README.md: missing")
    units = sorted(glob.glob(os.path.join(d, "*.service")))
    names = {os.path.basename(u) for u in units}
    for want in ("tablebus-manager.service", "tablebus-db@.service", "tablebus-login@.service",
                 "tablebus-game@.service", "tablebus-proxy@.service"):
        c.check(want in names, f"conf/systemd/{want}: missing")
    for path in units + sorted(glob.glob(os.path.join(d, "*.target"))):
        parser, values = read_unit(c, path)
        if parser is None:
            continue
        c.check(parser.has_section("Unit"), f"{c.rel(path)}: no [Unit]")
        if path.endswith(".service"):
            check_service_unit(c, path, parser, values, conf)


# ------------------------------------------------------------------------------------------
# Docker


def dockerfile_stages(text):
    """[(image, alias, [instructions])], continuation lines joined, comments dropped."""
    stages = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            found = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.I)
            stages.append((found.group(1), found.group(2), []))
        elif stages:
            stages[-1][2].append(line)
    return stages


def programs_run_by(m):
    used = set()
    for d in m.objects:
        for ct in containers(d):
            texts = [command_text(ct), probe_text(ct.get("livenessProbe")),
                     probe_text(ct.get("readinessProbe")),
                     probe_text((ct.get("lifecycle") or {}).get("preStop"))]
            for text in texts:
                used |= set(re.findall(r"\btb-[a-z-]*[a-z]\b", text))
    return used


def check_node_id_helper(c):
    helper = c.path("conf", "docker", "tb-node-id")
    if not c.check(os.path.isfile(helper), "conf/docker/tb-node-id: missing"):
        return
    ip_id = str((244 * 65536 + 3 * 256 + 17) % 524288 + 1)
    cases = [
        ({"TB_ID_FROM": "ordinal", "TB_ID_BASE": "101", "POD_NAME": "tablebus-game-gomoku-1-3"},
         "104"),
        ({"TB_ID_FROM": "ip", "POD_IP": "10.244.3.17"}, ip_id),
        ({"TB_NODE_ID": "7"}, "7"),
        ({"TB_ID_FROM": "ordinal", "POD_NAME": "not-a-statefulset-pod"}, None),
        ({"TB_ID_FROM": "ip", "POD_IP": "fd00::1"}, None),
    ]
    for env, want in cases:
        run = subprocess.run(["sh", helper], capture_output=True, text=True, timeout=10,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env})
        got = run.stdout.strip() if run.returncode == 0 else None
        c.check(got == want, f"conf/docker/tb-node-id with {env}: got {got!r} "
                             f"(exit {run.returncode}), want {want!r}")


def check_docker(c, m):
    path = c.path("conf", "docker", "Dockerfile")
    if not c.check(os.path.isfile(path), "conf/docker/Dockerfile: missing"):
        return
    with open(path) as f:
        stages = dockerfile_stages(f.read())
    where = "conf/docker/Dockerfile"
    if not c.check(len(stages) >= 2, f"{where}: want a build stage and a runtime stage"):
        return
    for image, alias, _ in stages:
        c.check(re.match(r"debian:bookworm(-slim)?(@|$)", image),
                f"{where}: stage {alias or image} is FROM {image}, not debian:bookworm")
    build, runtime = stages[0], stages[-1]
    build_text = "\n".join(build[2])
    c.check(re.search(r"RUN .*tools/install-deps\.sh", build_text),
            f"{where}: the build stage does not run tools/install-deps.sh")
    c.check("cmake" in build_text, f"{where}: the build stage does not use CMake")
    c.check("install-deps.sh" not in "\n".join(runtime[2]),
            f"{where}: the runtime stage must hold runtime libraries only, not install-deps.sh")
    copies = " ".join(i for i in runtime[2]
                      if i.upper().startswith("COPY") and f"--from={build[1]}" in i) + " "
    for program in sorted(set(BINARIES) | programs_run_by(m)):
        c.check(re.search(rf"/{program}\s", copies),
                f"{where}: {program} (a node, tool or what the manifests run) is not copied "
                "into the runtime stage")
    c.check(re.search(r"/conf/?\s", copies), f"{where}: conf/ is not copied into the runtime stage")
    if "tb-node-id" in programs_run_by(m):
        check_node_id_helper(c)


def check_docs(c):
    c.check(os.path.isfile(c.path("docs", "operations.md")), "docs/operations.md: missing")
    c.check(not os.path.exists(c.path("docs", "OPERATIONS.md")),
            "docs/OPERATIONS.md: renamed to docs/operations.md")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", ".."))
    c = Checker(root)
    conf = load_conf(c)
    m = check_kubernetes(c, conf)
    check_systemd(c, conf)
    check_docker(c, m)
    check_docs(c)
    if c.errors:
        for e in c.errors:
            print(f"FAIL {e}")
        print(f"deploy_test: {len(c.errors)} of {c.checks} checks failed")
        return 1
    print(f"deploy_test: {c.checks} checks passed ({len(m.objects)} Kubernetes documents, "
          "systemd units, Dockerfile)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
