"""Edge cases and bad input of the advisor's model, and its properties under hypothesis."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.advisor import (
    ProfileError,
    advise,
    default_sources,
    plan_variant,
    profile_from_data,
)
from claude_arch.advisor.capacity import capacity_fit, tier_names

BASE: dict[str, Any] = {
    "traffic": {"mean_rpm": 50, "peak_rpm": 100},
    "tokens": {"input": {"p50": 1000, "p95": 4000}, "output": {"p50": 300, "p95": 800}},
    "delay_tolerance": "1m",
    "rate_limit_tier": "tier2",
    "models": ["claude-sonnet-5-5"],
}


def _with(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(BASE))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"traffic__mean_rpm": -5}, "traffic.mean_rpm", "greater than 0"),
        ({"traffic__peak_rpm": 10}, "traffic.peak_rpm", "at least traffic.mean_rpm"),
        ({"tokens__output__p95": 500_000}, "tokens.output.p95", "more than claude-sonnet-5-5"),
        ({"tokens__input__p95": 2_000_000}, "tokens.input.p95", "context window"),
        ({"latency__ttft_ms": 100}, "latency.ttft_ms", "below claude-sonnet-5-5's time to"),
        ({"latency__total_s": 1}, "latency.total_s", "less than claude-sonnet-5-5 needs"),
        ({"budget_usd_per_month": 0}, "budget_usd_per_month", "greater than 0"),
        ({"rate_limit_tier": "tier9"}, "rate_limit_tier", "expected one of tier1"),
        ({"models": ["claude-haiku-4-20250514"]}, "models.0", "Did you mean"),
        ({"models": []}, "models", "at least 1"),
        ({"delay_tolerance": "soon"}, "delay_tolerance", "30s, 5m, 2h or 1d"),
        ({"tokens__cached_prefix_share": 1.5}, "tokens.cached_prefix_share", "less than or"),
        ({"colour": "blue"}, "colour", "not a profile field"),
    ],
)
def test_impossible_profiles_are_refused_naming_the_field(
    changes: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_data(_with(**changes))
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_over_every_tier_says_batch_mode() -> None:
    huge = _with(traffic__mean_rpm=20_000, traffic__peak_rpm=40_000, delay_tolerance="1d")
    advice = advise(profile_from_data(huge))
    assert advice.capacity_note == "the peak is over every tier's limits on tier2: needs batch mode"
    assert advice.recommended == "pipeline-batch"


def test_over_this_tier_names_the_tier_that_would_hold_it() -> None:
    advice = advise(profile_from_data(_with(traffic__peak_rpm=1000)))
    assert advice.capacity_note == "the peak is over tier2's limits: needs tier4, or batch mode"
    assert "tier2 does not hold it (otpm): needs tier4" in advice.scored("service").problems


def test_a_budget_below_every_bill_is_explained_not_crashed() -> None:
    advice = advise(profile_from_data(_with(budget_usd_per_month=1)))
    assert not advice.ranked[0].fit
    assert any("over the $1.00 budget" in p for p in advice.ranked[0].problems)
    assert advice.reasons[0].startswith("no variant is fit")


def test_caching_and_batch_lower_the_bill_of_a_long_shared_prefix() -> None:
    cached = profile_from_data(_with(tokens__cached_prefix_share=0.8))
    cost = advise(cached).models[0]
    assert cost.cached_usd is not None
    assert cost.cached_usd < cost.standard_usd
    discount = default_sources().catalog.batch_discount
    assert abs(cost.batch_usd - cost.cached_usd * discount) <= Decimal("0.01")


def test_a_prefix_shorter_than_the_cache_minimum_is_not_cached() -> None:
    short = profile_from_data(_with(tokens__cached_prefix_share=0.1))
    assert advise(short).models[0].cached_usd is None


def test_plan_sizes_by_littles_law_and_lists_the_bill() -> None:
    profile = profile_from_data(_with(traffic__peak_rpm=600, rate_limit_tier="tier4"))
    sources = default_sources()
    speed = sources.latency_of("claude-sonnet-5-5")
    assert speed is not None
    call_s = speed.ttft_s + 300 / speed.tokens_per_s
    plan = plan_variant(profile, sources, "service")
    assert plan.concurrent_calls == -(-600 / 60 * call_s // 1)
    assert plan.replicas == sources.assumptions.capacity.min_replicas
    assert plan.bill_usd == sum(line.usd for line in plan.lines)
    lam = plan_variant(profile, sources, "serverless")
    assert lam.lambda_concurrency >= 600 / 60 * call_s
    assert [ln.item for ln in lam.lines] == ["model calls: claude-sonnet-5-5", "Lambda"]


def test_advice_is_deterministic() -> None:
    profile = profile_from_data(BASE)
    assert json.dumps(advise(profile).to_dict()) == json.dumps(advise(profile).to_dict())


_rates = st.floats(min_value=0.5, max_value=5000, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    mean=_rates,
    more=st.floats(min_value=1.0, max_value=10.0),
    share=st.floats(min_value=0, max_value=1),
    mix=st.sampled_from(["uniform", "mixed"]),
)
def test_more_traffic_never_costs_less(mean: float, more: float, share: float, mix: str) -> None:
    def bills(rate: float) -> dict[str, Decimal]:
        data = _with(
            traffic__mean_rpm=rate,
            traffic__peak_rpm=rate * 2,
            tokens__cached_prefix_share=share,
            request_mix=mix,
        )
        advice = advise(profile_from_data(data))
        return {s.variant.id: s.plan.bill_usd for s in advice.ranked}

    low, high = bills(mean), bills(mean * more)
    for variant, usd in low.items():
        assert high[variant] >= usd, variant


@settings(max_examples=40, deadline=None)
@given(
    mean=st.floats(min_value=1, max_value=20_000),
    tokens=st.integers(min_value=10, max_value=50_000),
    teams=st.integers(min_value=1, max_value=5),
)
def test_a_higher_tier_never_fits_fewer(mean: float, tokens: int, teams: int) -> None:
    sources = default_sources()
    fitted = []
    for tier in tier_names(sources):
        data = _with(
            traffic__mean_rpm=mean,
            traffic__peak_rpm=mean * 3,
            tokens__input={"p50": tokens},
            rate_limit_tier=tier,
            teams_sharing_org=teams,
        )
        profile = profile_from_data(data)
        fitted.append(
            sum(
                capacity_fit(profile, sources, sources.assumptions.variant(v)).fits
                for v in sources.assumptions.ids
            )
        )
    assert fitted == sorted(fitted)
