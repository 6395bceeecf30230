"""docker/: the compose stack, the dialer image, Prometheus rules and the Grafana dashboard fit together.

Docker itself is not run here; these tests check the files: YAML and JSON structure, that every
mounted file exists, that addresses, ports and secrets agree across files, and that dashboards and
alerts only query metrics the daemon exports.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from astconf_files import DOCKER_DIR, REPO, as_dict, load, one, value, values

REQUIRED_SERVICES = {"asterisk", "redis", "mosquitto", "dialer", "prometheus", "grafana"}
DIALER_COMMAND = ["dialer", "run", "--config", "/etc/dialer/dialer.toml"]
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "rate", "increase", "irate", "delta", "histogram_quantile",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "offset", "abs", "clamp_min", "clamp_max", "topk", "bottomk", "vector", "scalar", "time",
}  # fmt: skip


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER_DIR / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def toml() -> dict:
    with (DOCKER_DIR / "dialer.toml").open("rb") as fh:
        return tomllib.load(fh)


def bind_mounts(service: dict) -> list[tuple[Path, str, bool]]:
    """(host path, container path, read-only) of each bind mount; named volumes are skipped."""
    out = []
    for spec in service.get("volumes", []):
        source, target, *mode = spec.split(":")
        if source.startswith((".", "/")):
            out.append(((DOCKER_DIR / source).resolve(), target, mode == ["ro"]))
    return out


def mounted(service: dict, target: str) -> Path:
    for source, tgt, _ in bind_mounts(service):
        if tgt == target:
            return source
    raise AssertionError(f"nothing is mounted at {target}")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (label_values(metric, label) included)."""
    expr = re.sub(r"label_values\(\s*([A-Za-z_:][\w:]*)\s*,[^)]*\)", r"\1", expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", expr):
        if m.group(0) in PROMQL_WORDS or expr[m.end() :].lstrip().startswith("("):
            continue
        names.add(m.group(0))
    return names


def exported_metrics() -> set[str]:
    from dialer.metrics import Metrics

    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}
    names = set()
    for family in Metrics().registry.collect():
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    return names


def dashboard_queries() -> list[str]:
    dash = json.loads((DOCKER_DIR / "grafana" / "dashboards" / "dialer.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    for var in dash.get("templating", {}).get("list", []):
        query = var.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else query)
    return exprs


def alert_rules() -> list[dict]:
    rules = yaml.safe_load((DOCKER_DIR / "prometheus" / "alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


# --- compose ---------------------------------------------------------------------------------


def test_compose_has_every_service(compose):
    assert set(compose["services"]) >= REQUIRED_SERVICES


def test_every_bind_mount_points_at_an_existing_file(compose):
    for name, service in compose["services"].items():
        for source, target, read_only in bind_mounts(service):
            assert source.exists(), f"{name}: {source} (mounted at {target}) does not exist"
            assert read_only, f"{name}: mount {target} read-only; the stack must not write the repo"


def test_asterisk_runs_our_configuration(compose):
    asterisk = compose["services"]["asterisk"]
    assert re.search(r":(20|22)(\.\d+)*(_|$)", asterisk["image"]), "use an Asterisk 20 or 22 image"
    assert mounted(asterisk, "/etc/asterisk") == REPO / "asterisk_conf"
    assert mounted(asterisk, "/var/lib/asterisk/sounds/custom") == DOCKER_DIR / "sounds"


def test_published_rtp_ports_match_rtp_conf(compose):
    rtp = as_dict(one(load("rtp.conf"), "general"))
    wanted = f"{rtp['rtpstart']}-{rtp['rtpend']}:{rtp['rtpstart']}-{rtp['rtpend']}/udp"
    assert wanted in compose["services"]["asterisk"]["ports"]
    assert not any(str(p).startswith("5038") for p in compose["services"]["asterisk"]["ports"]), "AMI stays private"


def test_dialer_is_built_from_the_repo_and_runs_its_config(compose):
    dialer = compose["services"]["dialer"]
    context = (DOCKER_DIR / dialer["build"]["context"]).resolve()
    assert context == REPO
    assert (context / dialer["build"]["dockerfile"]).is_file()
    assert dialer["command"] == DIALER_COMMAND
    assert mounted(dialer, "/etc/dialer/dialer.toml") == DOCKER_DIR / "dialer.toml"


def test_only_the_dialers_address_may_log_in_to_ami(compose):
    address = compose["services"]["dialer"]["networks"]["dialer-net"]["ipv4_address"]
    permits = values(one(load("manager.conf"), "dialer"), "permit")
    assert permits == [f"{address}/255.255.255.255"]
    ipam = compose["networks"]["dialer-net"]["ipam"]["config"][0]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(ipam["subnet"])
    assert ipaddress.ip_address(address) not in ipaddress.ip_network(ipam["ip_range"]), (
        "the fixed address must be outside the dynamic range or another container may take it"
    )


def test_dockerfile_installs_the_project_and_runs_the_daemon():
    text = (DOCKER_DIR / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        for source in line.split()[:-1]:
            assert (REPO / source).exists(), f"Dockerfile copies {source}, which is not in the repository"
    assert "COPY pyproject.toml" in text
    m = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert m is not None
    assert json.loads(m.group(1)) == DIALER_COMMAND
    assert re.search(r"^USER (?!root)\w+", text, re.M), "run the daemon as an unprivileged user"


def test_dockerignore_keeps_out_the_bulk_and_nothing_the_image_copies():
    ignored = {ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    assert {".git", ".venv"} <= ignored, "the build context is the repository root: keep .git and .venv out"
    text = (DOCKER_DIR / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        for source in line.split()[:-1]:
            assert source.rstrip("/") not in ignored, f"Dockerfile copies {source}, which .dockerignore leaves out"


def test_mosquitto_listens_inside_the_network(compose):
    conf = mounted(compose["services"]["mosquitto"], "/mosquitto/config/mosquitto.conf").read_text()
    assert re.search(r"^listener 1883\b", conf, re.M)
    assert "ports" not in compose["services"]["mosquitto"], "anonymous MQTT must not be published"


# --- the dialer's example configuration --------------------------------------------------------


def test_dialer_toml_points_at_the_compose_services(compose, toml):
    services = set(compose["services"])
    assert toml["ami"]["host"] in services
    assert urlparse(toml["redis"]["url"]).hostname in services
    assert urlparse(toml["mqtt"]["url"]).hostname in services
    assert toml["metrics"]["port"] == 9108
    assert toml["metrics"]["host"] == "0.0.0.0", "Prometheus scrapes from another container"
    assert toml["campaigns"]
    assert all({"id", "file"} <= set(c) for c in toml["campaigns"])


def test_dialer_toml_logs_in_as_the_manager_user(toml):
    user = one(load("manager.conf"), toml["ami"]["username"])
    assert toml["ami"]["secret"] == value(user, "secret")
    assert toml["ami"]["port"] == 5038


def test_dialer_toml_agents_are_pjsip_endpoints(toml):
    endpoints = {c.name for c in load("pjsip.conf").categories if ("type", "endpoint") in as_dict(c).items()}
    for agent in toml.get("agents", []):
        assert agent["extension"] in endpoints, f"agent {agent['id']} has no PJSIP endpoint"


def test_dialer_toml_supervisor_extension_is_a_pjsip_endpoint(toml):
    # transfers fall back to it and spying rings it: on real Asterisk a missing endpoint fails the Dial
    # (CHANUNAVAIL), while the PBX simulator answers any extension
    from dialer.config import load_settings

    endpoints = {c.name for c in load("pjsip.conf").categories if ("type", "endpoint") in as_dict(c).items()}
    assert load_settings(DOCKER_DIR / "dialer.toml").supervisor_extension in endpoints


def test_examples_dialer_toml_supervisor_extension_is_a_pjsip_endpoint():
    # the example config left the default "1999", which asterisk_conf/pjsip.conf has no endpoint for
    from dialer.config import load_settings

    endpoints = {c.name for c in load("pjsip.conf").categories if ("type", "endpoint") in as_dict(c).items()}
    assert load_settings(REPO / "examples" / "dialer.toml").supervisor_extension in endpoints


def test_every_service_waited_for_as_healthy_has_a_healthcheck(compose):
    # otherwise `docker compose up` refuses to start the service that waits for it
    for name, svc in compose["services"].items():
        deps = svc.get("depends_on") or {}
        for dep, cond in (deps.items() if isinstance(deps, dict) else ()):  # a plain list waits for nothing
            if isinstance(cond, dict) and cond.get("condition") == "service_healthy":
                assert "healthcheck" in compose["services"][dep], f"{name} waits for {dep}, which has no healthcheck"


def test_dialer_toml_is_obviously_an_example(toml):
    text = (DOCKER_DIR / "dialer.toml").read_text()
    assert text.lstrip().startswith("# EXAMPLE")
    assert "CHANGE_ME" in toml["ami"]["secret"]


def test_dialer_toml_loads_with_the_daemons_settings():
    from dialer.config import load_settings

    settings = load_settings(DOCKER_DIR / "dialer.toml")
    assert settings.ami.host == "asterisk"


# --- Prometheus --------------------------------------------------------------------------------


def test_prometheus_scrapes_the_dialer_and_loads_the_rules(compose, toml):
    prom = compose["services"]["prometheus"]
    config = yaml.safe_load(mounted(prom, "/etc/prometheus/prometheus.yml").read_text())
    targets = [t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert f"dialer:{toml['metrics']['port']}" in targets
    for rule_file in config["rule_files"]:
        assert mounted(prom, rule_file).is_file()
    assert any("retention.time=35d" in arg for arg in prom["command"]), "keep the 30-day abandon window"


def test_alert_rules_cover_the_abandon_cap_ami_and_hopper():
    rules = {r["alert"]: r for r in alert_rules()}
    assert any("Abandon" in name and "0.025" in r["expr"] for name, r in rules.items())
    assert any("0.03" in r["expr"] for r in rules.values())
    assert "dialer_ami_connected" in rules["DialerAmiDisconnected"]["expr"]
    assert "dialer_hopper_depth" in rules["DialerHopperEmpty"]["expr"]
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"], name
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name


def test_alert_rules_query_only_dialer_metrics_and_up():
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert all(n.startswith("dialer_") or n == "up" for n in names), (rule["alert"], names)


# --- Grafana -----------------------------------------------------------------------------------


def test_grafana_is_provisioned_from_the_mounted_files(compose):
    grafana = compose["services"]["grafana"]
    provisioning = mounted(grafana, "/etc/grafana/provisioning")
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    providers = yaml.safe_load((provisioning / "dashboards" / "dialer.yml").read_text())["providers"]
    [source] = datasources
    assert urlparse(source["url"]).hostname == "prometheus"
    dashboards = mounted(grafana, providers[0]["options"]["path"])
    dash = json.loads((dashboards / "dialer.json").read_text())
    uids = {p["datasource"]["uid"] for p in dash["panels"]} | {
        t["datasource"]["uid"] for p in dash["panels"] for t in p["targets"]
    }
    assert uids == {source["uid"]}


def test_dashboard_queries_only_dialer_metrics():
    for expr in dashboard_queries():
        names = metric_names(expr)
        assert names, expr
        assert all(n.startswith("dialer_") for n in names), (expr, names)


def test_dashboard_shows_what_supervisors_are_judged_by():
    text = "\n".join(dashboard_queries())
    for metric in (
        "dialer_calls_placed_total",
        "dialer_calls_answered_total",
        "dialer_live_answers_total",
        "dialer_calls_abandoned_total",
        "dialer_abandon_ratio",
        "dialer_agents",
        "dialer_dial_ratio",
        "dialer_hopper_depth",
    ):
        assert re.search(rf"\b{metric}\b", text), f"no panel shows {metric}"
    dash = json.loads((DOCKER_DIR / "grafana" / "dashboards" / "dialer.json").read_text())
    cap_panels = [p for p in dash["panels"] if "cap" in p["title"].lower()]
    steps = [s["value"] for p in cap_panels for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert 0.03 in steps, "draw the 3 % legal cap on the abandon panels"


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_queried_metric_is_exported_by_the_daemon(source):
    exprs = dashboard_queries() if source == "dashboard" else [r["expr"] for r in alert_rules()]
    queried = set().union(*(metric_names(e) for e in exprs)) - {"up"}
    missing = queried - exported_metrics()
    assert not missing, f"{source} queries metrics dialer/metrics.py does not export: {sorted(missing)}"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (campaign) (increase(dialer_calls_abandoned_total{campaign=~"$campaign"}[24h]))',
            {"dialer_calls_abandoned_total"},
        ),
        (
            'dialer_hopper_depth == 0 and on (campaign) sum by (campaign) (dialer_agents{state="ready"}) > 0',
            {
                "dialer_hopper_depth",
                "dialer_agents",
            },
        ),
        ("histogram_quantile(0.99, sum by (le) (rate(node_cpu_seconds_total[5m])))", {"node_cpu_seconds_total"}),
        ("label_values(dialer_calls_placed_total, campaign)", {"dialer_calls_placed_total"}),
        ('up{job="dialer"} == 0', {"up"}),
    ],
)
def test_metric_name_extraction(expr, names):
    assert metric_names(expr) == names


def test_abandon_rates_are_the_daemons_gauges_not_a_ratio_of_counters():
    # abandoned_total / live_answers_total counts agentless calls' abandons (offered to no agent, in no live
    # answer) and leaves out a UK campaign's estimated AMD false positives: the gauges follow both rules
    rules = {r["alert"]: r["expr"] for r in alert_rules()}
    for name, window in (("DialerAbandonRateNearCap24h", "24h"), ("DialerAbandonRateOverCap24h", "24h"),
                         ("DialerAbandonRateNearCap30d", "30d")):
        assert f"dialer_abandon_ratio_{window}" in rules[name], name
        assert "dialer_calls_abandoned_total" not in rules[name], name
    for expr in dashboard_queries():
        assert not ("dialer_calls_abandoned_total" in expr and "dialer_live_answers_total" in expr), expr
    text = "\n".join(dashboard_queries())
    assert "dialer_abandon_ratio_24h" in text
    assert "dialer_abandon_ratio_30d" in text
