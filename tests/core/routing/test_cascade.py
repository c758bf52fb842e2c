"""The cascade escalates a refused or truncated cheap answer and counts both calls."""

from __future__ import annotations

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.routing import Router, shipped_policy
from claude_arch.core.routing.classifiers.cascade import cascade_create
from claude_arch.errors import ConfigError
from claude_arch.testing import EmulatorServer


async def test_a_refusal_on_the_cheap_tier_escalates() -> None:
    async with (
        EmulatorServer() as emu,
        ClaudeClient(
            api_key=emu.api_key, base_url=emu.url, max_retries=0, router=Router(shipped_policy())
        ) as claude,
    ):
        emu.script(model="haiku", user="tricky", text="I can't help with that.")
        emu.script(model="sonnet", user="tricky", text="x", stop_reason="max_tokens")
        emu.script(user="tricky", text="Here is the full answer.")
        result = await cascade_create(
            claude,
            max_tokens=64,
            messages=[{"role": "user", "content": "tricky"}],
        )
    assert [d.tier for d in result.decisions] == ["fast", "balanced", "deep"]
    assert result.reasons == ["fast: refusal", "balanced: truncated (max_tokens)"]
    assert result.message.text == "Here is the full answer."
    assert result.message.record is not None
    assert result.cost_usd > result.message.record.cost_usd > 0  # all three calls are counted
    assert result.escalations == 2


async def test_a_good_cheap_answer_stops_there() -> None:
    async with (
        EmulatorServer() as emu,
        ClaudeClient(
            api_key=emu.api_key, base_url=emu.url, max_retries=0, router=Router(shipped_policy())
        ) as claude,
    ):
        result = await cascade_create(
            claude,
            max_tokens=64,
            messages=[{"role": "user", "content": "hello"}],
        )
        assert emu.stats()["totals"]["requests"] == 1
    assert [d.model for d in result.decisions] == ["claude-haiku-5-5"]
    assert result.cost_usd == result.message.record.cost_usd  # type: ignore[union-attr]


async def test_a_client_without_a_router_is_refused() -> None:
    async with ClaudeClient(api_key="sk-test", base_url="http://127.0.0.1:9") as claude:
        with pytest.raises(ConfigError, match="router"):
            await cascade_create(claude, max_tokens=64, messages=[{"role": "user", "content": "x"}])
