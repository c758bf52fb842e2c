"""The platforms wired into the client by settings: ``CLAUDE_ARCH_UPSTREAM=bedrock|vertex``
sends every call to that platform, and a fallback chain that names the same model on another
provider moves traffic there during a 529 storm and back once the model's cooldown passes,
proven from the emulator's per-endpoint counts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.retry import Cooldowns
from claude_arch.core.routing import build_router
from claude_arch.core.routing.breakers.local import LocalBreaker
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer, ManualClock

SONNET = "claude-sonnet-4-6"
OLD_SONNET = "claude-sonnet-4-5"
"""Retired on the Claude API; Bedrock and Vertex retire models on their own schedules."""
HI = [{"role": "user", "content": "hi"}]


def aws_env(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> None:
    """The standard AWS chain reads the environment first, as on Lambda."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.aws_access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.aws_secret_key)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture
def emu_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(vertex_projects=["claude-arch-test"]) as server:
        aws_env(monkeypatch, server)
        yield server


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(vertex_projects=["claude-arch-test"]) as server:
        aws_env(monkeypatch, server)
        yield server


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def platform_settings(emu: EmulatorServer, upstream: str) -> Settings:
    """Every call to ``upstream`` (bedrock or vertex), both pointed at ``emu``."""
    return settings(
        upstream=upstream,
        bedrock_region="us-east-1",
        bedrock_base_url=emu.url,
        vertex_project="claude-arch-test",
        vertex_region="us-east5",
        vertex_base_url=f"{emu.url}/v1",
        vertex_access_token=emu.vertex_token,
    )


def served(emu: EmulatorServer) -> dict[str, int]:
    return {e: c.get("requests", 0) for e, c in emu.stats()["by_endpoint"].items()}


@pytest.mark.parametrize("upstream", ["bedrock", "vertex"])
async def test_the_upstream_setting_sends_every_call_to_that_platform(
    emu: EmulatorServer, upstream: str
) -> None:
    chosen = platform_settings(emu, upstream)
    async with ClaudeClient(chosen) as claude:
        message = await claude.create(model=OLD_SONNET, max_tokens=32, messages=HI)
        async with claude.stream(model=OLD_SONNET, max_tokens=32, messages=HI) as stream:
            final = await stream.final_message()
    assert message.text
    assert final.usage.output_tokens > 0
    assert message.record is not None
    assert message.record.cost_usd > 0
    assert served(emu) == {upstream: 2}


async def test_a_529_storm_moves_traffic_to_bedrock_and_back(emu: EmulatorServer) -> None:
    clock = ManualClock()
    chosen = settings(bedrock_region="us-east-1", bedrock_base_url=emu.url)
    async with ClaudeClient(
        chosen,
        api_key=emu.api_key,
        base_url=emu.url,
        max_retries=0,
        fallbacks={SONNET: [f"bedrock:{SONNET}"]},
    ) as claude:
        claude.core.cooldowns = Cooldowns(30, clock=clock)
        emu.set_faults({"kind": "529", "endpoint": "anthropic", "every": 1})
        during = [await claude.create(model=SONNET, max_tokens=16, messages=HI) for _ in range(3)]
        # the first call tried the Anthropic API once; then it cooled down and was skipped
        assert [m.record.model for m in during if m.record] == [f"bedrock:{SONNET}"] * 3
        assert during[0].record is not None
        assert during[0].record.fallback_from == SONNET
        storm = emu.stats()["by_endpoint"]
        assert storm["anthropic"] == {"requests": 1, "errors_529": 1}
        assert storm["bedrock"]["requests"] == 3

        emu.set_faults()  # the storm is over
        clock.advance(31)  # the cooldown has passed: the Anthropic API is tried first again
        after = await claude.create(model=SONNET, max_tokens=16, messages=HI)
    assert after.record is not None
    assert (after.record.model, after.record.fallback_from) == (SONNET, None)
    assert emu.stats()["by_endpoint"]["bedrock"]["requests"] == 3


@pytest.mark.parametrize("upstream", ["bedrock", "vertex"])
def test_the_sync_client_reaches_the_platforms_through_its_bridge(
    emu_thread: EmulatorServer, upstream: str
) -> None:
    chosen = platform_settings(emu_thread, upstream)
    with SyncClaudeClient(chosen) as claude:
        message = claude.create(model=OLD_SONNET, max_tokens=32, messages=HI)
        with claude.stream(model=OLD_SONNET, max_tokens=32, messages=HI) as stream:
            final = stream.final_message()
    assert message.text
    assert final.usage.output_tokens > 0
    assert served(emu_thread) == {upstream: 2}


POLICY = """
name: across-providers
tiers:
  balanced:
    models: [claude-sonnet-4-6, bedrock:claude-sonnet-4-6]
default: {tier: balanced, confidence: 0.9}
classifier: {kind: rules, below_confidence: 0.5}
rules: []
"""


async def _auto_through_a_storm(
    emu: EmulatorServer, tmp_path: Path, fallbacks: dict[str, list[str]]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    clock = ManualClock()
    breaker = LocalBreaker(failures=2, window_s=60, cooldown_s=30, clock=clock)
    chosen = settings(bedrock_region="us-east-1", bedrock_base_url=emu.url)
    async with ClaudeClient(
        chosen,
        api_key=emu.api_key,
        base_url=emu.url,
        max_retries=0,
        cooldown_s=0,  # the breaker decides here, not the client's cooldown
        fallbacks=fallbacks,
        router=build_router(policy, breaker=breaker),
    ) as claude:
        emu.set_faults({"kind": "529", "endpoint": "anthropic", "every": 1})
        during = [await claude.create(model="auto", max_tokens=16, messages=HI) for _ in range(4)]
        assert [m.record.route["model"] for m in during if m.record and m.record.route] == [
            f"bedrock:{SONNET}"
        ] * 4
        assert breaker.state(SONNET) == "open"
        assert served(emu) == {"anthropic": 2, "bedrock": 4}  # open after two: not tried again

        emu.set_faults()
        clock.advance(31)  # the probe goes to the Anthropic API, succeeds, closes the breaker
        after = [await claude.create(model="auto", max_tokens=16, messages=HI) for _ in range(2)]
    assert [m.record.route["model"] for m in after if m.record and m.record.route] == [SONNET] * 2
    assert breaker.state(SONNET) == "closed"
    assert served(emu) == {"anthropic": 4, "bedrock": 4}


async def test_the_orchestrators_breaker_moves_auto_traffic_to_bedrock_and_back(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """A routing tier naming the same model on Bedrock: the 529 storm opens the Anthropic
    model's breaker, so ``auto`` calls go straight to Bedrock; once the storm is over and the
    breaker's cooldown has passed, a probe closes it and traffic comes back. (The client
    reaches Bedrock because a fallback chain names it; the next test names it in the policy
    alone.)"""
    await _auto_through_a_storm(emu, tmp_path, {SONNET: [f"bedrock:{SONNET}"]})


async def test_a_routing_policy_alone_can_name_a_platform_model(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    await _auto_through_a_storm(emu, tmp_path, {})
