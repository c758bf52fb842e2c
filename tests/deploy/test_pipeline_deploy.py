"""deploy/pipeline, checked without a Docker engine: the workers' compose file and their image.

Each test reads the files as Compose and BuildKit would and checks one promise: the workers
share one limiter and one ledger, exactly one of them runs the reconciler, every setting named
is a real one, the broker is reachable from the workers, and no secret is written anywhere.
"""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlparse

from deploy_files import (
    DOCKER,
    ENV,
    PIPELINE,
    dockerfile_stages,
    env_of,
    interpolate,
    load_compose,
    only,
    only_interpolations,
    service_env,
)

from claude_arch.pipeline.config import PipelineSettings
from claude_arch.settings import Settings

WORKERS = ("worker", "reconciler")
SECRET_NAME = re.compile(r"KEY|PASSWORD|SECRET|TOKEN", re.IGNORECASE)


def command_of(service: dict[str, object]) -> list[str]:
    """The container's argv after Compose's interpolation (``sh -c`` strings split)."""
    argv = [interpolate(str(a), ENV) for a in service["command"]]  # type: ignore[attr-defined]
    if argv[:2] == ["sh", "-c"]:
        argv = shlex.split(argv[2].removeprefix("exec "))
    return argv


def test_every_worker_shares_the_limiter_the_ledger_and_the_broker() -> None:
    compose = load_compose(PIPELINE)
    envs = [service_env(compose, ENV, name) for name in WORKERS]
    assert envs[0] == envs[1]
    env = envs[0]
    db = urlparse(env["CLAUDE_ARCH_DATABASE_URL"])
    assert (db.scheme, db.hostname, db.password) == ("postgresql", "postgres", "pw-for-the-test")
    limiter = urlparse(env["CLAUDE_ARCH_REDIS_URL"])
    broker = urlparse(env["CLAUDE_ARCH_BROKER_URL"])
    assert (limiter.scheme, limiter.hostname) == ("redis", "redis")
    assert broker.hostname in compose["services"]
    assert broker.path != limiter.path  # the broker's keys never mix with the limiter's
    for name in WORKERS:
        assert set(compose["services"]["redis"]["networks"]) <= set(
            compose["services"][name]["networks"]
        )
    assert compose["services"]["worker"]["deploy"]["replicas"] >= 2


def test_the_environment_is_made_of_real_settings() -> None:
    env = service_env(load_compose(PIPELINE), ENV, "worker")
    known = {f"CLAUDE_ARCH_{n.upper()}" for n in Settings.model_fields}
    known |= {f"CLAUDE_ARCH_PIPELINE_{n.upper()}" for n in PipelineSettings.model_fields}
    known.add("CLAUDE_ARCH_BROKER_URL")
    unknown = {n for n in env if n.startswith("CLAUDE_ARCH_")} - known
    assert not unknown, unknown
    pipeline = PipelineSettings(
        _env_file=None,
        **{
            k.removeprefix("CLAUDE_ARCH_PIPELINE_").lower(): v
            for k, v in env.items()
            if k.startswith("CLAUDE_ARCH_PIPELINE_")
        },
    )
    # Celery's own warm shutdown is bounded by the grace period; the visibility timeout must
    # outlast a task and its countdown, which the settings derive
    assert pipeline.visibility_timeout_s > pipeline.time_limit_s + pipeline.max_countdown_s


def test_exactly_one_container_runs_the_reconciler_schedule() -> None:
    compose = load_compose(PIPELINE)
    beats = []
    for name, spec in compose["services"].items():
        argv = command_of(spec) if "command" in spec else []
        if argv[:3] == ["claude-arch", "pipeline", "worker"] and "--beat" in argv:
            beats.append((name, spec.get("deploy", {}).get("replicas", 1)))
    assert beats == [("reconciler", 1)]


def test_the_worker_command_is_a_real_cli_invocation() -> None:
    from typer.testing import CliRunner

    from claude_arch.cli import app

    for name in WORKERS:
        argv = command_of(load_compose(PIPELINE)["services"][name])
        assert argv[0] == "claude-arch"
        result = CliRunner().invoke(app, [*argv[1:3], "--help"])
        assert result.exit_code == 0
        for flag in (a for a in argv[3:] if a.startswith("--")):
            assert flag in result.output, f"{name}: {flag} is not an option"


def test_the_image_installs_the_pipeline_extra_and_runs_unprivileged() -> None:
    """The workers are the service's image built with EXTRA=pipeline, their command set here."""
    compose = load_compose(PIPELINE)
    build_spec = compose["services"]["worker"]["build"]
    dockerfile = (PIPELINE / build_spec["context"] / build_spec["dockerfile"]).resolve()
    assert dockerfile == (DOCKER / "Dockerfile").resolve()
    assert build_spec["args"] == {"EXTRA": "pipeline"}
    build, runtime = dockerfile_stages(dockerfile)[-2:]
    assert "EXTRA=service" in [args for kw, args in build if kw == "ARG"]
    assert '".[${EXTRA}]"' in only(build, "RUN")
    assert only(runtime, "USER").split(":")[0] == "10001"
    assert not any(SECRET_NAME.search(k) for k in env_of(runtime))
    for name in WORKERS:
        assert compose["services"][name]["healthcheck"] == {"disable": True}  # no /readyz here
        assert command_of(compose["services"][name])[:3] == ["claude-arch", "pipeline", "worker"]


def test_no_secret_is_written_and_the_data_stores_have_no_route_out() -> None:
    compose = load_compose(PIPELINE)
    assert compose["networks"]["data"]["internal"] is True
    for name in ("redis", "postgres", "rabbitmq"):
        assert compose["services"][name]["networks"] == ["data"]
        assert "ports" not in compose["services"][name]
    for name, spec in compose["services"].items():
        env = spec.get("environment") or {}
        for var, value in env.items():
            if value is None:
                continue
            if SECRET_NAME.search(var):
                assert only_interpolations(str(value)), f"{name}.{var} holds a literal"
            password = urlparse(str(value)).password
            if password is not None:
                assert only_interpolations(password), f"{name}.{var}: literal password"
    leaks = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}|://[^/\s:@]+:[^$/\s@]+@")
    for path in PIPELINE.iterdir():
        assert not leaks.findall(path.read_text("utf-8")), path.name


def test_env_example_names_variables_the_compose_file_reads() -> None:
    lines = (PIPELINE / ".env.example").read_text("utf-8").splitlines()
    assignments = [ln.lstrip("# ").strip() for ln in lines if re.match(r"#?\s*[A-Z_]+=", ln)]
    assert all(a.endswith("=") for a in assignments), assignments
    text = (PIPELINE / "compose.yaml").read_text("utf-8")
    for name in (a.split("=", 1)[0] for a in assignments):
        assert name in text, f"{name} is not used by compose.yaml"
