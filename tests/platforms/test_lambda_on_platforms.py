"""The Lambda handlers on the cloud platforms: with ``CLAUDE_ARCH_UPSTREAM=bedrock`` and the
function's role credentials in its environment (as Lambda provides them), or
``CLAUDE_ARCH_UPSTREAM=vertex`` and a Vertex project, an HTTP event run under the real runtime
client (``claude-arch lambda invoke``) is answered by the emulator's Bedrock (InvokeModel or, for
the newest models, the Messages endpoint) or Vertex API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claude_arch.cli import app
from claude_arch.testing import EmulatorServer

EVENTS = Path(__file__).resolve().parents[1] / "serverless" / "events"
runner = CliRunner()


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.mark.parametrize(
    ("upstream", "model", "counts"),
    [
        ("bedrock", "claude-haiku-4-5", {"bedrock": {"requests": 1, "served": 1}}),
        (
            "bedrock",
            "claude-opus-5-5",
            {"bedrock": {"requests": 1, "served": 1, "messages_api": 1}},
        ),
        ("vertex", "claude-haiku-4-5", {"vertex": {"requests": 1, "served": 1}}),
    ],
)
def test_an_http_event_is_answered_through_the_platform(
    emu: EmulatorServer, upstream: str, model: str, counts: dict[str, dict[str, int]]
) -> None:
    env = {
        "ANTHROPIC_API_KEY": "",
        "CLAUDE_ARCH_UPSTREAM": upstream,
        "CLAUDE_ARCH_DEFAULT_MODEL": model,
        "CLAUDE_ARCH_BEDROCK_REGION": "us-east-1",
        "CLAUDE_ARCH_BEDROCK_BASE_URL": emu.url,
        "AWS_ACCESS_KEY_ID": emu.aws_access_key,
        "AWS_SECRET_ACCESS_KEY": emu.aws_secret_key,
        "AWS_SESSION_TOKEN": "",
        "CLAUDE_ARCH_VERTEX_PROJECT": "claude-arch-test",
        "CLAUDE_ARCH_VERTEX_REGION": "global",
        "CLAUDE_ARCH_VERTEX_BASE_URL": f"{emu.url}/v1",
        "CLAUDE_ARCH_VERTEX_ACCESS_TOKEN": emu.vertex_token,
    }
    result = runner.invoke(app, ["lambda", "invoke", str(EVENTS / "http_api_v2.json")], env=env)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["payload"]["statusCode"] == 200, answer
    assert json.loads(answer["payload"]["body"])["usage"]["output_tokens"] > 0
    assert emu.stats()["by_endpoint"] == counts


@pytest.mark.parametrize(
    ("upstream", "kind"), [("bedrock", "throttling"), ("vertex", "resource_exhausted")]
)
def test_a_platform_quota_error_is_answered_as_a_typed_429(
    emu: EmulatorServer, upstream: str, kind: str
) -> None:
    emu.set_faults({"kind": kind, "probability": 1.0})
    env = {
        "ANTHROPIC_API_KEY": "",
        "CLAUDE_ARCH_UPSTREAM": upstream,
        "CLAUDE_ARCH_MAX_RETRIES": "0",
        "CLAUDE_ARCH_BEDROCK_REGION": "us-east-1",
        "CLAUDE_ARCH_BEDROCK_BASE_URL": emu.url,
        "AWS_ACCESS_KEY_ID": emu.aws_access_key,
        "AWS_SECRET_ACCESS_KEY": emu.aws_secret_key,
        "AWS_SESSION_TOKEN": "",
        "CLAUDE_ARCH_VERTEX_PROJECT": "claude-arch-test",
        "CLAUDE_ARCH_VERTEX_REGION": "us-east5",
        "CLAUDE_ARCH_VERTEX_BASE_URL": f"{emu.url}/v1",
        "CLAUDE_ARCH_VERTEX_ACCESS_TOKEN": emu.vertex_token,
    }
    result = runner.invoke(app, ["lambda", "invoke", str(EVENTS / "http_api_v2.json")], env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)["payload"]
    assert payload["statusCode"] == 429, payload
    assert json.loads(payload["body"])["error"]["type"] == "rate_limit_error"
    assert emu.aws_secret_key not in result.stdout
    assert emu.vertex_token not in result.stdout
