"""The rules classifier and the router: any prompt, empty or huge, is routed without error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.routing import Features, Router, shipped_policy

ROUTER = Router(shipped_policy())


def ask(content: object, **extra: object) -> dict[str, object]:
    return {"max_tokens": 1024, "messages": [{"role": "user", "content": content}], **extra}


@pytest.mark.parametrize(
    ("params", "tier", "reason"),
    [
        (ask("hello"), "fast", "rule greeting"),
        (ask("Prove that sqrt(2) is irrational."), "deep", "rule proof"),
        (ask("Design a distributed system for payments"), "deep", "rule large-design"),
        (ask("Why?\n```py\nprint(1)\n```"), "balanced", "rule code-block"),
        (
            ask(
                [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AA=="},
                    }
                ]
            ),
            "balanced",
            "rule images",
        ),
        (
            ask("weather?", tools=[{"name": "w", "input_schema": {"type": "object"}}]),
            "balanced",
            "rule tool-use",
        ),
        (ask("Translate to French: good night"), "fast", "rule short-transform"),
        ({**ask("Write a report"), "max_tokens": 20000}, "deep", "rule long-answer-requested"),
    ],
)
def test_rules_pick_the_tier(params: dict[str, object], tier: str, reason: str) -> None:
    decision = ROUTER.decide(params)
    assert (decision.tier, decision.reason, decision.classifier) == (tier, reason, "rules")
    assert decision.model == shipped_policy().tiers[tier].models[0]


def test_conversation_depth_counts_user_turns() -> None:
    turns = []
    for i in range(12):
        turns += [
            {"role": "user", "content": f"and then {i}"},
            {"role": "assistant", "content": "ok"},
        ]
    turns.append({"role": "user", "content": "and the rest"})
    features = Features.of({"messages": turns})
    assert features.turns == 13
    assert ROUTER.decide({"messages": turns}).reason == "rule long-conversation"


@pytest.mark.parametrize("size", [0, 1, 2_000_000])
def test_empty_and_huge_prompts_are_routed(size: int) -> None:
    decision = ROUTER.decide(ask("x " * (size // 2)))
    assert decision.tier in ROUTER.policy.tiers


def test_a_prompt_too_big_for_a_model_skips_it() -> None:
    huge = "word " * 1_200_000  # ~1.2M tokens by the estimate: fits no model, all kept
    decision = ROUTER.decide(ask(huge))
    assert decision.model in ROUTER.chain(decision, ask(huge))


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=2000),
    max_tokens=st.one_of(st.none(), st.integers(min_value=1, max_value=200_000)),
    depth=st.integers(min_value=0, max_value=30),
)
def test_any_prompt_is_routed(text: str, max_tokens: int | None, depth: int) -> None:
    messages = [{"role": "user", "content": text}] * depth
    params: dict[str, object] = {"messages": messages}
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    decision = ROUTER.decide(params)
    assert decision.tier in ROUTER.policy.tiers
    assert 0 <= decision.confidence <= 1
    assert decision.to_headers()["x-claude-arch-route"].startswith(decision.tier)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_malformed_bodies_are_routed_without_error(body: object) -> None:
    params = body if isinstance(body, dict) else {"messages": body}
    assert ROUTER.decide(params).tier in ROUTER.policy.tiers
