"""deploy/docker, checked without a Docker engine: the compose file, the image, the load balancer.

Each test reads the files as Compose, BuildKit and nginx would and checks one promise the
deployment makes (two replicas sharing Redis and PostgreSQL, health-gated start, WebSocket and
SSE through nginx, no secret in any file, an unprivileged image that needs keys).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlparse

import pytest
from deploy_files import (
    DOCKER,
    ENV,
    MissingVariable,
    interpolate,
    load_compose,
    nginx_bytes,
    nginx_config,
    nginx_seconds,
    only_interpolations,
    service_env,
)

from claude_arch.constants import DEFAULT_TIMEOUT_S, MAX_BATCH_BYTES, MAX_REQUEST_BYTES
from claude_arch.service.config import ServiceSettings

SECRET_NAME = re.compile(r"KEY|PASSWORD|SECRET|TOKEN", re.IGNORECASE)


def test_two_replicas_of_the_service_share_redis_and_postgres() -> None:
    compose = load_compose()
    service = compose["services"]["service"]
    assert service["deploy"]["replicas"] == 2
    env = service_env(compose, ENV)
    db = urlparse(env["CLAUDE_ARCH_DATABASE_URL"])
    assert db.scheme == "postgresql"
    assert db.hostname == "postgres"
    assert db.password == ENV["POSTGRES_PASSWORD"]
    assert db.path == "/" + compose["services"]["postgres"]["environment"]["POSTGRES_DB"]
    assert db.username == compose["services"]["postgres"]["environment"]["POSTGRES_USER"]
    redis = urlparse(env["CLAUDE_ARCH_REDIS_URL"])
    assert (redis.scheme, redis.hostname) == ("redis", "redis")
    for store in ("postgres", "redis"):
        assert set(compose["services"][store]["networks"]) <= set(service["networks"])


def test_the_service_environment_is_made_of_real_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = service_env(load_compose(), ENV)
    fields = {f"CLAUDE_ARCH_{name.upper()}" for name in ServiceSettings.model_fields}
    unknown = {n for n in env if n.startswith("CLAUDE_ARCH_")} - fields
    assert not unknown, f"not ServiceSettings fields: {unknown}"
    assert "CLAUDE_ARCH_DEV" not in env  # a public interface always needs keys
    for name in list(os.environ):
        if name.startswith(("CLAUDE_ARCH_", "ANTHROPIC_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = ServiceSettings(_env_file=None, host="0.0.0.0")  # type: ignore[call-arg]
    assert settings.uses_emulator  # no ANTHROPIC_API_KEY: offline, on the embedded emulator
    assert settings.requires_keys
    assert settings.sqlalchemy_url == env["CLAUDE_ARCH_DATABASE_URL"]
    assert settings.shutdown_grace_s == 30


def test_the_anthropic_key_is_passed_through_or_absent_never_empty() -> None:
    compose = load_compose()
    assert "ANTHROPIC_API_KEY" not in service_env(compose, ENV)
    given = service_env(compose, {**ENV, "ANTHROPIC_API_KEY": "from-the-shell"})
    assert given["ANTHROPIC_API_KEY"] == "from-the-shell"


def test_the_database_password_must_be_given() -> None:
    compose = load_compose()
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        service_env(compose, {})
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        service_env(compose, {"POSTGRES_PASSWORD": ""})


def test_every_container_is_health_checked_and_starts_after_what_it_needs() -> None:
    services = load_compose()["services"]
    for name, spec in services.items():
        assert spec.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert any("/readyz" in part for part in services["service"]["healthcheck"]["test"])
    needs = {"service": {"postgres", "redis"}, "lb": {"service"}}
    for name, wanted in needs.items():
        depends = services[name]["depends_on"]
        assert set(depends) == wanted
        assert all(d["condition"] == "service_healthy" for d in depends.values())


def test_only_lb_and_grafana_are_published_and_the_stores_have_no_route_out() -> None:
    compose = load_compose()
    published = {name for name, spec in compose["services"].items() if spec.get("ports")}
    assert published == {"lb", "grafana"}
    for name in published:
        (port,) = compose["services"][name]["ports"]
        assert interpolate(port, {}).startswith("127.0.0.1:")  # loopback unless the user opens it
    assert compose["networks"]["data"]["internal"] is True
    for store in ("postgres", "redis"):
        assert compose["services"][store]["networks"] == ["data"]


def test_a_stopping_replica_has_time_to_drain() -> None:
    service = load_compose()["services"]["service"]
    grace = float(interpolate(service["environment"]["CLAUDE_ARCH_SHUTDOWN_GRACE_S"], {}))
    assert nginx_seconds(service["stop_grace_period"]) > grace
    assert service["init"] is True  # a real init forwards SIGTERM and reaps children


def test_no_secret_is_written_in_the_compose_file() -> None:
    compose = load_compose()
    for name, spec in compose["services"].items():
        for var, value in (spec.get("environment") or {}).items():
            if value is None:
                continue
            if SECRET_NAME.search(var):
                assert only_interpolations(str(value)), f"{name}.{var} holds a literal"
            url = urlparse(str(value))
            if url.password is not None:
                assert only_interpolations(url.password), f"{name}.{var}: literal password"


def test_no_file_in_deploy_holds_a_key_or_a_password() -> None:
    leaks = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}|sk-ca-[A-Za-z0-9_-]{20,}|://[^/\s:@]+:[^$/\s@]+@")
    for path in DOCKER.iterdir():
        found = leaks.findall(path.read_text("utf-8"))
        assert not found, f"{path.name}: {found}"


def test_env_example_names_variables_without_values() -> None:
    lines = (DOCKER / ".env.example").read_text("utf-8").splitlines()
    assignments = [ln.lstrip("# ").strip() for ln in lines if re.match(r"#?\s*[A-Z_]+=", ln)]
    names = {a.split("=", 1)[0] for a in assignments}
    assert all(a.endswith("=") for a in assignments), assignments
    compose_text = (DOCKER / "compose.yaml").read_text("utf-8")
    assert {"POSTGRES_PASSWORD", "ANTHROPIC_API_KEY"} <= names
    for name in names:  # each one is read by the compose file
        assert name in compose_text, f"{name} is not used by compose.yaml"


# --- nginx ---------------------------------------------------------------------------------------
def _nginx_location() -> tuple[object, object, object]:
    http = nginx_config(DOCKER / "nginx.conf").one("http")
    server = http.one("server")
    return http, server, server.block("location", "/")


def test_the_load_balancer_routes_to_every_replica_found_by_dns() -> None:
    http, server, location = _nginx_location()
    (upstream_name,) = location.one("proxy_pass").args[0].removeprefix("http://").split("/")[:1]
    upstream = http.block("upstream", upstream_name)
    (member,) = upstream.all("server")
    host, _, port = member.args[0].partition(":")
    assert host in load_compose()["services"]
    assert "resolve" in member.args  # every replica's address, re-read as replicas come and go
    assert upstream.all("zone")  # `resolve` keeps the peers in shared memory
    assert http.all("resolver")
    (lb_port,) = load_compose()["services"]["lb"]["ports"]
    assert server.one("listen").args[0] == interpolate(lb_port, {}).rsplit(":", 1)[1]
    assert port == "8080"


def test_websocket_upgrades_and_sse_pass_through_unbuffered() -> None:
    http, _, location = _nginx_location()
    assert location.one("proxy_http_version").args == ["1.1"]
    headers = {d.args[0].lower(): d.args[1] for d in location.all("proxy_set_header")}
    assert headers["upgrade"] == "$http_upgrade"
    variable = headers["connection"]
    mapping = http.block("map", "$http_upgrade", variable)
    rows = {d.name: d.args[0] for d in mapping.children}
    assert rows == {"default": "upgrade", "": ""}  # keep-alive for plain requests
    assert location.one("proxy_buffering").args == ["off"]


def test_timeouts_outlast_a_silent_answer_and_bodies_reach_the_service() -> None:
    _, server, location = _nginx_location()
    read = nginx_seconds(location.one("proxy_read_timeout").args[0])
    assert read > DEFAULT_TIMEOUT_S  # a non-streaming answer is silent until it is done
    assert nginx_bytes(server.one("client_max_body_size").args[0]) > MAX_REQUEST_BYTES
    retry = location.one("proxy_next_upstream").args
    assert "non_idempotent" not in retry  # a started generation is never sent twice


def test_batches_reach_the_service_whole_and_name_the_callers_host() -> None:
    """A Message Batch body up to the API's 256 MB reaches the service (which answers a larger
    one with its own 413), and the Host header keeps its port: a batch's results_url is built
    from it."""
    _, server, location = _nginx_location()
    batches = server.block("location", "=", "/v1/messages/batches")
    assert nginx_bytes(batches.one("client_max_body_size").args[0]) > MAX_BATCH_BYTES
    for block in (location, batches):
        headers = {d.args[0].lower(): d.args[1] for d in block.all("proxy_set_header")}
        assert headers["host"] == "$http_host"
        assert block.one("proxy_pass").args == location.one("proxy_pass").args


def test_access_log_leaves_query_strings_out() -> None:
    http, _, _ = _nginx_location()
    for log_format in http.all("log_format"):
        text = " ".join(log_format.args)
        assert not re.search(r"\$(request|request_uri|args|query_string|arg_\w+)\b", text), text
