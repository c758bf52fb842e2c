"""Both lines of the official Python SDK pass the same Bedrock (InvokeModel and, through
``AnthropicBedrockMantle``, the Messages endpoint) and Vertex checks against the emulator
(``platform_sdk_check.py``): 2.x in this interpreter, 0.x in a cached venv holding
``anthropic[bedrock,vertex]<1`` (installed on first use, reused afterwards)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cached_install import CACHE, exclusive, run_step
from claude_arch.testing import EmulatorServer

CHECK = Path(__file__).with_name("platform_sdk_check.py")
SDK0_PLATFORMS = CACHE / "sdk0-platforms"
_READY = ".claude-arch-ready"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def install_sdk0_platforms(target: Path = SDK0_PLATFORMS) -> str | None:
    """A venv holding ``anthropic[bedrock,vertex]<1`` at ``target``; None, or the problem."""
    try:
        with exclusive(target):
            python = target / "bin" / "python"
            if (target / _READY).exists() and python.exists():
                return None
            shutil.rmtree(target, ignore_errors=True)
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            problem = run_step([sys.executable, "-m", "venv", str(target)]) or run_step(
                [*pip, "anthropic[bedrock,vertex]<1"]
            )
            if problem is None:
                (target / _READY).touch()
            return problem
    except OSError as exc:
        return str(exc)


@pytest.fixture(scope="session")
def sdk0_platforms_python() -> Path:
    problem = install_sdk0_platforms()
    if problem:
        message = f"the 0.x Python SDK with its platform extras not installed: {problem}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: SDK tests must run, not skip)")
        pytest.skip(message)
    return SDK0_PLATFORMS / "bin" / "python"


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(vertex_projects=["sdk-lines"]) as server:
        yield server


def run_check(python: Path | str, emu: EmulatorServer) -> dict[str, Any]:
    spec = {
        "url": emu.url,
        "key": emu.api_key,
        "aws_access_key": emu.aws_access_key,
        "aws_secret_key": emu.aws_secret_key,
        "vertex_token": emu.vertex_token,
        "project": "sdk-lines",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANTHROPIC_"))}
    done = subprocess.run(
        [str(python), str(CHECK), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def assert_passes(report: dict[str, Any]) -> None:
    expected = {
        "bedrock": ("msg_bdrk_", "PermissionDeniedError", 403),
        "bedrock_messages": ("msg_bdrk_", "PermissionDeniedError", 403),
        "vertex": ("msg_vrtx_", "AuthenticationError", 401),
    }
    for platform, (prefix, wrong_class, wrong_status) in expected.items():
        got = report[platform]
        assert got["id_prefix"] == prefix, (platform, got)
        assert got["has_text"], platform
        assert got["stream_joined"], platform
        assert got["stream_output_tokens"] == 40, platform
        assert got["tool"] == ["get_weather", {"city": "Oslo"}, "tool_use"], platform
        assert got["wrong_credential"] == {"class": wrong_class, "status": wrong_status}
        assert got["quota"] == {"class": "RateLimitError", "status": 429}, platform


@pytest.mark.sdk
def test_the_2x_sdk_passes_the_platform_checks(emu: EmulatorServer) -> None:
    report = run_check(sys.executable, emu)
    assert report["version"].startswith("2.")
    assert_passes(report)


@pytest.mark.sdk
@pytest.mark.slow
def test_the_0x_sdk_passes_the_platform_checks(
    emu: EmulatorServer, sdk0_platforms_python: Path
) -> None:
    report = run_check(sdk0_platforms_python, emu)
    assert report["version"].startswith("0.")
    assert_passes(report)
