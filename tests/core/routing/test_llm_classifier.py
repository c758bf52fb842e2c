"""The llm classifier against the real emulator: scripted tool calls, faults, cache, budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.routing import Router, shipped_policy
from claude_arch.core.routing.classifiers.llm import LLMClassifier
from claude_arch.testing import EmulatorServer

SEED = shipped_policy("seed-intents")


def ask(text: str) -> dict[str, object]:
    return {"max_tokens": 512, "messages": [{"role": "user", "content": text}]}


@pytest.fixture
async def emu() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(keep_requests=10) as server:
        yield server


@pytest.fixture
async def client(emu: EmulatorServer) -> AsyncIterator[ClaudeClient]:
    async with ClaudeClient(api_key=emu.api_key, base_url=emu.url, max_retries=0) as c:
        yield c


async def test_the_forced_tool_call_picks_the_tier(
    emu: EmulatorServer, client: ClaudeClient
) -> None:
    emu.script(user="(?i)poem", tool_use={"name": "route", "input": {"tier": "creative"}})
    router = Router(SEED, classifier=LLMClassifier(SEED, client))
    decision = await router.adecide(ask("Write a poem about the sea " + "x" * 1000))
    assert (decision.tier, decision.model, decision.classifier) == (
        "creative",
        "claude-sonnet-4-6",
        "llm",
    )
    assert decision.cost_usd > 0
    sent = emu.received()[-1]["body"]
    assert sent["model"] == "claude-haiku-4-5"
    assert sent["tool_choice"] == {"type": "tool", "name": "route"}
    assert len(sent["messages"][0]["content"]) < 400  # the seed's 200 characters, and the facts


async def test_repeated_prompts_come_from_the_cache(
    emu: EmulatorServer, client: ClaudeClient
) -> None:
    emu.script(user="(?i)capital", tool_use={"name": "route", "input": {"tier": "question"}})
    router = Router(SEED, classifier=LLMClassifier(SEED, client))
    first = await router.adecide(ask("What is the capital of Peru?"))
    second = await router.adecide(ask("What is the capital of Peru?"))
    assert first.tier == second.tier == "question"
    assert second.reason.endswith("(cached)")
    assert second.cost_usd == 0
    assert emu.stats()["totals"]["requests"] == 1


async def test_an_answer_that_is_no_tier_falls_back_to_rules(
    emu: EmulatorServer, client: ClaudeClient
) -> None:
    emu.script(user="(?i)odd", tool_use={"name": "route", "input": {"tier": "banana"}})
    decision = await Router(SEED, classifier=LLMClassifier(SEED, client)).adecide(ask("odd one"))
    assert decision.tier == "task"  # the seed's default: Sonnet
    assert decision.classifier == "rules (fallback)"
    assert decision.reason == "fallback to rules: the answer named no tier"


async def test_an_overloaded_classifier_falls_back_to_rules(
    emu: EmulatorServer, client: ClaudeClient
) -> None:
    emu.set_faults({"kind": "529", "model": "claude-haiku-4-5", "next_n": 1})
    decision = await Router(SEED, classifier=LLMClassifier(SEED, client)).adecide(ask("hi"))
    assert decision.classifier == "rules (fallback)"
    assert "OverloadedError" in decision.reason


async def test_a_prompt_over_the_cost_budget_is_not_sent(
    emu: EmulatorServer, client: ClaudeClient
) -> None:
    classifier = LLMClassifier(SEED, client, max_cost_usd=0.0000001)
    decision = await Router(SEED, classifier=classifier).adecide(ask("anything"))
    assert "over the cost budget" in decision.reason
    assert emu.stats()["totals"].get("requests", 0) == 0


async def test_a_slow_classifier_falls_back_within_its_time_budget(
    emu: EmulatorServer, client: ClaudeClient
) -> None:
    emu.script(user="slow", tool_use={"name": "route", "input": {"tier": "code"}}, delay_s=5)
    classifier = LLMClassifier(SEED, client, timeout_s=0.2)
    decision = await Router(SEED, classifier=classifier).adecide(ask("slow"))
    assert decision.classifier == "rules (fallback)"
    assert "APITimeoutError" in decision.reason
