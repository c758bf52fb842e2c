"""The benchmark's pure parts: the requests drawn from a profile, the figures, the charts, the
emulator it runs against, its options. Property tests where the inputs are large."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.advisor.measure.bench import BenchOptions
from claude_arch.advisor.measure.errors import BenchInputError
from claude_arch.advisor.measure.figures import Run, Sample, percentile
from claude_arch.advisor.measure.svg_charts import Series, bar_chart, line_chart, nice_ticks
from claude_arch.advisor.measure.upstream import upstream_config
from claude_arch.advisor.measure.workload import plan_requests
from claude_arch.advisor.profile import profile_from_mapping
from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.tokens import count_request


def _profile(p50_in: int, ratio_in: float, p50_out: int, ratio_out: float, share: float) -> object:
    return profile_from_mapping({
        "traffic": {"mean_rpm": 60},
        "tokens": {
            "input": {"p50": p50_in, "p95": math.ceil(p50_in * ratio_in)},
            "output": {"p50": p50_out, "p95": math.ceil(p50_out * ratio_out)},
            "cached_prefix_share": share,
        },
        "rate_limit_tier": "tier2",
        "models": ["claude-haiku-4-5"],
    })  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    spreads=st.tuples(st.integers(1, 3000), st.floats(1, 6), st.integers(1, 2000), st.floats(1, 6)),
    share=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
def test_every_body_holds_the_tokens_drawn(
    spreads: tuple[int, float, int, float], share: float, seed: int
) -> None:
    profile = _profile(*spreads, share)
    plan = plan_requests(profile, 8, seed=seed)  # type: ignore[arg-type]
    info = default_catalog().resolve("claude-haiku-4-5")
    for request in plan.requests:
        body = plan.body(request)
        assert 1 <= body["max_tokens"] == request.output_tokens <= info.max_output
        counted = count_request(body)
        # the drawn tokens, plus the message and system framing the count adds
        assert (
            request.input_tokens + plan.prefix_tokens
            <= counted
            <= (request.input_tokens + plan.prefix_tokens + 12)
        )
    assert plan.reply_tokens == max(r.output_tokens for r in plan.requests)
    assert plan_requests(profile, 8, seed=seed) == plan  # type: ignore[arg-type]


def test_the_draws_follow_the_spread() -> None:
    plan = plan_requests(_profile(800, 3000 / 800, 150, 400 / 150, 0.0), 2000, seed=3)  # type: ignore[arg-type]
    assert 760 <= plan.median("input_tokens") <= 840
    outputs = sorted(r.output_tokens for r in plan.requests)
    assert 140 <= plan.median("output_tokens") <= 160
    assert 360 <= outputs[int(0.95 * len(outputs))] <= 440


def test_a_long_shared_prefix_is_marked_for_caching() -> None:
    long = plan_requests(_profile(6000, 1, 100, 1, 0.5), 2)  # type: ignore[arg-type]
    short = plan_requests(_profile(600, 1, 100, 1, 0.5), 2)  # type: ignore[arg-type]
    assert long.body(long.requests[0])["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in short.body(short.requests[0])["system"][0]


samples = st.lists(
    st.builds(
        Sample,
        latency_s=st.floats(0.001, 100),
        ttft_s=st.none() | st.floats(0.0005, 0.001),
        status=st.sampled_from([200, 200, 200, 429, 529, 500]),
        cost_usd=st.floats(0, 1),
    ),
    max_size=300,
)


@settings(max_examples=80, deadline=None)
@given(samples=samples, wall=st.floats(0.01, 1000), calls=st.integers(0, 500))
def test_figures_hold_together(samples: list[Sample], wall: float, calls: int) -> None:
    run = Run("v", 4, wall, samples, upstream_calls=calls, upstream_429=calls // 3)
    f = run.figures()
    good = [s.latency_s * 1000 for s in samples if s.status == 200]
    assert f.ok == len(good) <= f.requests == len(samples)
    if good:
        assert min(good) - 0.01 <= f.latency_p50_ms <= f.latency_p99_ms <= max(good) + 0.01
        assert f.ttft_p50_ms <= f.latency_p99_ms + 0.01
    for share in (f.rate_limited_share, f.error_share, f.upstream_429_share):
        assert 0 <= share <= 1
    assert f.rate_limited_share <= f.error_share
    assert f.cost_per_1k_usd >= 0


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200), st.floats(1, 100))
def test_a_percentile_is_one_of_the_values(values: list[float], p: float) -> None:
    got = percentile(values, p)
    assert got in values
    assert percentile(values, 50) <= percentile(values, 99)


@given(st.floats(1e-6, 1e9))
def test_ticks_cover_the_range(high: float) -> None:
    ticks = nice_ticks(high)
    assert ticks[0] == 0
    assert ticks[-1] >= high * (1 - 1e-9)
    assert ticks == sorted(set(ticks))


names = st.text(min_size=1, max_size=20)  # markup characters included: escaped or broken XML
points = st.lists(st.tuples(st.floats(1, 1e5), st.floats(0, 1e5)), min_size=1, max_size=50)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, points, st.booleans()), min_size=1, max_size=6), st.booleans())
def test_line_charts_are_well_formed_svg(
    series: list[tuple[str, list[tuple[float, float]], bool]], x_log: bool
) -> None:
    svg = line_chart(
        [Series(n, "#123456", p, step=s) for n, p, s in series],
        title="<title> & more", x_label="x", y_label="y", x_log=x_log,
    )  # fmt: skip
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag.endswith("svg")
    assert len(root.findall("{http://www.w3.org/2000/svg}polyline")) == len(series)
    assert "nan" not in svg
    assert "inf" not in svg


@given(st.lists(st.tuples(names, st.floats(0, 1e6)), min_size=1, max_size=8))
def test_bar_charts_are_well_formed_svg(bars: list[tuple[str, float]]) -> None:
    svg = bar_chart([(n, v, "#abcdef") for n, v in bars], title="t", unit="$")
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) == len(bars)


def test_the_emulator_compresses_time_and_keeps_the_tiers_share() -> None:
    profile = _profile(800, 2, 150, 2, 0.0)
    plan = plan_requests(profile, 5)  # type: ignore[arg-type]
    config = upstream_config(profile, plan, speed=20, port=0)  # type: ignore[arg-type]
    tier = default_catalog().limits("tier2")
    for family, lim in tier.items():
        assert config.limits[family].rpm == lim.rpm * 20
        assert config.limits[family].otpm == lim.otpm * 20
    assert config.speed == 20
    assert config.reply_tokens == (plan.reply_tokens, plan.reply_tokens)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (BenchOptions(requests=0), "requests"),
        (BenchOptions(concurrency=()), "concurrency"),
        (BenchOptions(concurrency=(4, 0)), "concurrency"),
        (BenchOptions(speed=0), "speed"),
        (BenchOptions(variants=("nope",)), "variant"),
    ],
)
def test_options_out_of_range_name_the_option(options: BenchOptions, field: str) -> None:
    with pytest.raises(BenchInputError) as caught:
        options.check()
    assert caught.value.field == field
