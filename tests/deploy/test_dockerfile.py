"""deploy/docker/Dockerfile, read as BuildKit would: what it installs, who it runs as, what it runs.

The health check's own command is run against a live service, so the probe the image ships is
known to tell ready from not ready.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_files import DOCKER, ROOT, dockerfile_stages, env_of, exec_form, only
from typer.testing import CliRunner

from claude_arch.cli import app

DOCKERFILE = DOCKER / "Dockerfile"


def final_stage() -> list[tuple[str, str]]:
    stages = dockerfile_stages(DOCKERFILE)
    assert len(stages) >= 2, "a build stage and a slim runtime stage"
    return stages[-1]


def test_the_runtime_stage_installs_the_service_extra_from_the_build_stage() -> None:
    build, runtime = dockerfile_stages(DOCKERFILE)[-2:]
    installs = [args for kw, args in build if kw == "RUN" and "pip install" in args]
    assert any(re.search(r"""pip install ["']?\.\[\$\{EXTRA\}\]""", a) for a in installs), installs
    assert "EXTRA=service" in [args for kw, args in build if kw == "ARG"]  # the default: serve
    copied = [args for kw, args in runtime if kw == "COPY"]
    assert any(a.startswith("--from=build ") for a in copied)


def test_it_runs_as_an_unprivileged_user_that_owns_the_data_dir() -> None:
    stage = final_stage()
    user = only(stage, "USER").split(":")[0]
    assert user not in ("root", "0")
    data_dir = env_of(stage)["CLAUDE_ARCH_DATA_DIR"]
    runs = " ".join(args for kw, args in stage if kw == "RUN")
    assert re.search(rf"useradd [^&]*--uid {user}\b", runs)
    made = re.search(rf"install -d -o (\S+) [^&]*{re.escape(data_dir)}", runs)
    assert made, "the data directory is created and owned by the service's user"
    assert re.search(rf"--uid {user}\b[^&]* {made.group(1)}\b", runs)
    assert only(stage, "WORKDIR") == data_dir  # the one writable place


def test_it_serves_on_every_interface_with_keys_on_the_exposed_port() -> None:
    stage = final_stage()
    command = exec_form(only(stage, "CMD"))
    assert command[:2] == ["claude-arch", "serve"]
    assert "--dev" not in command  # keys required: a public interface is never an open proxy
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert only(stage, "EXPOSE") == port
    health = only(stage, "HEALTHCHECK")
    assert f"127.0.0.1:{port}/readyz" in health
    # the options exist on the real command
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--host" in result.output
    assert "--port" in result.output


def test_no_secret_is_baked_into_the_image() -> None:
    for stage in dockerfile_stages(DOCKERFILE):
        for kw, args in stage:
            if kw in ("ENV", "ARG"):
                assert not re.search(r"API_KEY|PASSWORD|SECRET|TOKEN", args, re.I), args


def test_the_build_context_is_an_allow_list_holding_what_copy_needs() -> None:
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text("utf-8").splitlines()
    rules = [r.strip() for r in ignore if r.strip() and not r.startswith("#")]
    assert rules[0] == "*"  # everything is left out (.env, .git, data) unless let in
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    for kw, args in dockerfile_stages(DOCKERFILE)[0]:
        if kw == "COPY":
            *sources, _dest = args.split()
            for source in sources:
                assert source.rstrip("/") in allowed, source
                assert (ROOT / source).exists(), source


def _healthcheck_probe(port: int) -> list[str]:
    args = only(final_stage(), "HEALTHCHECK")
    probe = exec_form(args.split(" CMD ", 1)[1])
    assert probe[0] == "python"
    return [sys.executable, *(a.replace(":8080/", f":{port}/") for a in probe[1:])]


@pytest.mark.slow
def test_the_health_check_command_tells_ready_from_not_ready(tmp_path: Path) -> None:
    from claude_arch.service.config import ServiceSettings
    from claude_arch.service.testing import ServiceServer

    settings = ServiceSettings(  # type: ignore[call-arg]
        _env_file=None, dev=True, port=0, data_dir=tmp_path, emulator_speed=0
    )
    with ServiceServer(settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        ok = subprocess.run(_healthcheck_probe(port), capture_output=True, timeout=30, check=False)
        assert ok.returncode == 0, ok.stderr
        server.gateway.draining = True  # what SIGTERM does first
        drained = subprocess.run(
            _healthcheck_probe(port), capture_output=True, timeout=30, check=False
        )
        assert drained.returncode != 0
        assert b"503" in drained.stderr
