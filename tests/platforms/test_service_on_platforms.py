"""The service over the cloud platforms: a fallback chain naming ``bedrock:<model>`` keeps a
gateway answering through a 529 storm on the Anthropic API, and its answers say which provider
served (``x-claude-arch-provider``); ``CLAUDE_ARCH_UPSTREAM=vertex`` serves every call from
Vertex; a platform without credentials stops the start with what to set. Driven with the
official SDK 2.x."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

SONNET = "claude-sonnet-4-5"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(vertex_projects=["claude-arch-test"]) as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.aws_access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.aws_secret_key)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        yield server


@pytest.mark.sdk
def test_a_529_storm_is_served_by_bedrock_and_the_answer_says_so(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    with (
        ServiceServer.for_emulator(
            emu,
            tmp_path,
            dev=True,
            max_retries=0,
            fallbacks={SONNET: [f"bedrock:{SONNET}"]},
            bedrock_region="us-east-1",
            bedrock_base_url=emu.url,
        ) as svc,
        anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0) as client,
    ):
        calm = client.messages.with_raw_response.create(model=SONNET, max_tokens=16, messages=HI)
        emu.set_faults({"kind": "529", "endpoint": "anthropic", "every": 1})
        stormy = client.messages.with_raw_response.create(model=SONNET, max_tokens=16, messages=HI)
        with client.messages.stream(model=SONNET, max_tokens=16, messages=HI) as stream:
            streamed_by = stream.response.headers.get("x-claude-arch-provider")
            stream.get_final_message()
    assert "x-claude-arch-provider" not in calm.headers  # the Anthropic API alone: no header
    assert stormy.headers["x-claude-arch-provider"] == "bedrock"
    assert stormy.parse().content
    assert streamed_by == "bedrock"
    assert emu.stats()["by_endpoint"]["bedrock"]["requests"] == 2


@pytest.mark.sdk
def test_the_vertex_upstream_serves_every_call(emu: EmulatorServer, tmp_path: Path) -> None:
    with (
        ServiceServer.for_emulator(
            emu,
            tmp_path,
            dev=True,
            upstream="vertex",
            vertex_project="claude-arch-test",
            vertex_region="us-east5",
            vertex_base_url=f"{emu.url}/v1",
            vertex_access_token=emu.vertex_token,
        ) as svc,
        anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0) as client,
    ):
        raw = client.messages.with_raw_response.create(model=SONNET, max_tokens=16, messages=HI)
    assert raw.headers["x-claude-arch-provider"] == "vertex"
    assert raw.parse().usage.output_tokens > 0
    assert set(emu.stats()["by_endpoint"]) == {"vertex"}


def test_a_platform_without_its_settings_stops_the_start(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOOGLE_", "CLOUD_ML_", "CLAUDE_ARCH_", "ANTHROPIC_"))
    }
    env |= {"CLAUDE_ARCH_UPSTREAM": "vertex", "CLAUDE_ARCH_DATA_DIR": str(tmp_path)}
    started = subprocess.run(
        [sys.executable, "-m", "claude_arch.cli", "serve", "--dev", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "no Vertex AI region: set CLOUD_ML_REGION" in started.stdout + started.stderr
