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
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import pytest

from claude_arch.constants import HEADER_BUDGET_REMAINING
from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

SONNET = "claude-sonnet-4-5"
"""Retired on the Claude API; Bedrock and Vertex retire models on their own schedules."""
SERVED_SONNET = "claude-sonnet-4-6"
"""Served by the Claude API and both platforms: the model of a chain across them."""
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
            fallbacks={SERVED_SONNET: [f"bedrock:{SERVED_SONNET}"]},
            bedrock_region="us-east-1",
            bedrock_base_url=emu.url,
        ) as svc,
        anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0) as client,
    ):
        calm = client.messages.with_raw_response.create(
            model=SERVED_SONNET, max_tokens=16, messages=HI
        )
        emu.set_faults({"kind": "529", "endpoint": "anthropic", "every": 1})
        stormy = client.messages.with_raw_response.create(
            model=SERVED_SONNET, max_tokens=16, messages=HI
        )
        with client.messages.stream(model=SERVED_SONNET, max_tokens=16, messages=HI) as stream:
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


def _platform_service(emu: EmulatorServer, tmp_path: Path, upstream: str, **values: Any) -> Any:
    chosen: dict[str, Any] = {
        "bedrock_region": "us-east-1",
        "bedrock_base_url": emu.url,
        "vertex_project": "claude-arch-test",
        "vertex_region": "us-east5",
        "vertex_base_url": f"{emu.url}/v1",
        "vertex_access_token": emu.vertex_token,
    }
    chosen = {"dev": True, **chosen, **values}
    return ServiceServer.for_emulator(emu, tmp_path, max_retries=0, upstream=upstream, **chosen)


@pytest.mark.sdk
@pytest.mark.parametrize(
    ("upstream", "model"),
    [("bedrock", SONNET), ("bedrock", "claude-opus-5-5"), ("vertex", SONNET)],
)
def test_the_service_on_each_platform_creates_streams_calls_tools_counts_and_types_errors(
    emu: EmulatorServer, tmp_path: Path, upstream: str, model: str
) -> None:
    emu.script(user="weather", tool_use={"name": "get_weather", "input": {"city": "Oslo"}})
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    ask = [{"role": "user", "content": "weather in Oslo?"}]
    quota = {"bedrock": "throttling", "vertex": "resource_exhausted"}[upstream]
    with (
        _platform_service(emu, tmp_path, upstream) as svc,
        anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0) as client,
    ):
        message = client.messages.create(model=model, max_tokens=16, messages=HI)
        with client.messages.stream(model=model, max_tokens=24, messages=HI) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        with client.messages.stream(model=model, max_tokens=64, messages=ask, tools=tools) as s:
            called = s.get_final_message()
        counted = client.messages.count_tokens(model=model, messages=HI)
        emu.set_faults({"kind": quota, "next_n": 1})
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model=model, max_tokens=16, messages=HI)
    assert message.content[0].type == "text"
    assert text == final.content[0].text != ""
    assert called.stop_reason == "tool_use"
    assert [b.input for b in called.content if b.type == "tool_use"] == [{"city": "Oslo"}]
    assert counted.input_tokens == message.usage.input_tokens
    assert set(emu.stats()["by_endpoint"]) == {upstream}


@pytest.mark.sdk
def test_a_budget_reserves_and_charges_the_regional_endpoints_price(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """Two identical calls per service: the first answer's remaining budget shows the worst
    case held; the second's, the first call's charge beside its own hold."""

    def worst_and_charged(region: str) -> tuple[Decimal, Decimal]:
        data = tmp_path / region
        with _platform_service(emu, data, "vertex", vertex_region=region, dev=False) as svc:
            key = svc.create_key_sync(budget_usd=10)
            with anthropic.Anthropic(base_url=svc.url, api_key=key, max_retries=0) as client:
                left = []
                for _ in range(2):
                    raw = client.messages.with_raw_response.create(
                        model="claude-opus-5", max_tokens=200, messages=HI
                    )
                    left.append(Decimal(raw.headers[HEADER_BUDGET_REMAINING]))
        return Decimal(10) - left[0], left[0] - left[1]

    global_worst, global_cost = worst_and_charged("global")
    regional_worst, regional_cost = worst_and_charged("us-east5")
    assert global_cost > 0
    assert abs(regional_worst - global_worst * Decimal("1.1")) <= Decimal("0.000002")
    assert abs(regional_cost - global_cost * Decimal("1.1")) <= Decimal("0.000002")


@pytest.mark.sdk
def test_a_budget_holds_for_the_dearest_model_a_call_may_fall_back_to(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """On the Anthropic API with a fallback to a regional Vertex endpoint (10% dearer), a key's
    budget holds the fallback's worst case: the call may end up there."""

    def held(fallbacks: dict[str, list[str]]) -> Decimal:
        data = tmp_path / str(len(fallbacks))
        with _platform_service(emu, data, "anthropic", fallbacks=fallbacks, dev=False) as svc:
            key = svc.create_key_sync(budget_usd=10)
            with anthropic.Anthropic(base_url=svc.url, api_key=key, max_retries=0) as client:
                raw = client.messages.with_raw_response.create(
                    model="claude-opus-5", max_tokens=200, messages=HI
                )
        return Decimal(10) - Decimal(raw.headers[HEADER_BUDGET_REMAINING])

    plain = held({})
    with_fallback = held({"claude-opus-5": ["vertex:claude-opus-5"]})
    assert plain > 0
    assert abs(with_fallback - plain * Decimal("1.1")) <= Decimal("0.000002")


@pytest.mark.sdk
@pytest.mark.parametrize("upstream", ["bedrock", "vertex"])
def test_a_platform_gateway_lists_and_finds_models_the_claude_api_retired(
    emu: EmulatorServer, tmp_path: Path, upstream: str
) -> None:
    """The platforms retire models on their own schedules: the gateway lists every catalog
    model, and finds each, whatever the Claude API's retirement days say."""
    with (
        _platform_service(emu, tmp_path, upstream) as svc,
        anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0) as client,
    ):
        listed = [m.id for m in client.models.list(limit=1000)]
        found = [client.models.retrieve(m.id).id for m in default_catalog() if m.retires]
    assert listed == [m.id for m in default_catalog()]
    assert found == [m.id for m in default_catalog() if m.retires]
    assert SONNET in found
