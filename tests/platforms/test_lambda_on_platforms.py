"""The Lambda handlers on Amazon Bedrock: ``CLAUDE_ARCH_UPSTREAM=bedrock`` and the function's
role credentials in its environment (as Lambda provides them), an HTTP event run under the real
runtime client (``claude-arch lambda invoke``) is answered by the emulator's Bedrock API."""

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


def test_an_http_event_is_answered_through_bedrock(emu: EmulatorServer) -> None:
    env = {
        "ANTHROPIC_API_KEY": "",
        "CLAUDE_ARCH_UPSTREAM": "bedrock",
        "CLAUDE_ARCH_BEDROCK_REGION": "us-east-1",
        "CLAUDE_ARCH_BEDROCK_BASE_URL": emu.url,
        "AWS_ACCESS_KEY_ID": emu.aws_access_key,
        "AWS_SECRET_ACCESS_KEY": emu.aws_secret_key,
        "AWS_SESSION_TOKEN": "",
    }
    result = runner.invoke(app, ["lambda", "invoke", str(EVENTS / "http_api_v2.json")], env=env)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["payload"]["statusCode"] == 200, answer
    assert json.loads(answer["payload"]["body"])["usage"]["output_tokens"] > 0
    assert emu.stats()["by_endpoint"] == {"bedrock": {"requests": 1, "served": 1}}
