"""The mission's selection table comes out of the model for its shipped examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_arch.advisor import advise, load_profile, profile_from_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("event-triggers", {"serverless"}),
        ("chat-ui", {"service"}),
        ("etl", {"pipeline", "pipeline-batch"}),
        ("workflows", {"orchestrator"}),
    ],
)
def test_each_example_gets_the_seed_tables_choice(name: str, expected: set[str]) -> None:
    advice = advise(load_profile(EXAMPLES / f"{name}.yaml"))
    assert advice.recommended in expected
    assert advice.ranked[0].fit, advice.ranked[0].problems
    assert advice.runner_up != advice.recommended


def test_etl_that_cannot_wait_a_day_goes_to_the_synchronous_queue() -> None:
    etl = {
        "traffic": {"mean_rpm": 300, "peak_rpm": 1500, "burst_minutes": 30},
        "tokens": {"input": {"p50": 4000}, "output": {"p50": 400}},
        "delay_tolerance": "2h",
        "rate_limit_tier": "tier4",
        "models": ["claude-haiku-5-5"],
    }
    advice = advise(profile_from_data(etl))
    assert advice.recommended == "pipeline"
    batch = advice.scored("pipeline-batch")
    assert any("results may wait 1 d" in p for p in batch.problems)
    # the queue holds the drain rate, not the peak: the synchronous service needs a higher tier
    assert not advice.scored("service").fit
    assert any("no tier holds it" in p for p in advice.scored("service").problems)


def test_a_chat_with_users_on_several_continents_and_a_tight_ttft_goes_to_the_edge() -> None:
    chat = {
        "traffic": {"mean_rpm": 60, "peak_rpm": 120},
        "tokens": {"input": {"p50": 1000}, "output": {"p50": 300}},
        "latency": {"interactive": True, "ttft_ms": 550},
        "rate_limit_tier": "tier2",
        "users": {"regions": ["eu-west", "us-east", "ap-south"]},
        "models": ["claude-haiku-5-5"],
    }
    advice = advise(profile_from_data(chat))
    assert advice.recommended in {"edge", "edge+service"}
    assert any("TTFT p95" in p for p in advice.scored("service").problems)


def test_a_mixed_chat_is_routed_behind_the_gateway_or_in_the_app() -> None:
    chat = {
        "traffic": {"mean_rpm": 100, "peak_rpm": 200},
        "tokens": {"input": {"p50": 2000}, "output": {"p50": 400}},
        "latency": {"interactive": True, "ttft_ms": 2000},
        "rate_limit_tier": "tier4",
        "models": ["claude-sonnet-5-5"],
        "request_mix": "mixed",
    }
    advice = advise(profile_from_data(chat))
    assert advice.ranked[0].variant.routing
    saving = [ln for ln in advice.ranked[0].plan.lines if ln.usd < 0]
    assert saving, "routing saves money on a mixed workload"
    plain = advice.scored("service").plan.bill_usd
    assert advice.ranked[0].plan.bill_usd < plain
