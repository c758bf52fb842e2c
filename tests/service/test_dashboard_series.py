"""The dashboard's time series: per-minute buckets of the last hour in bounded memory, and
``GET /v1/dashboard/series`` bounding what it returns whatever its query string says, behind the
same keys as ``/v1/dashboard``."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.core.types import Usage, UsageRecord
from claude_arch.service.config import ServiceSettings
from claude_arch.service.operations.dashboard import Dashboard
from claude_arch.service.operations.dashboard_series import (
    HISTORY_MINUTES,
    MAX_SERIES,
    SAMPLES_PER_MINUTE,
    MinuteSeries,
    bounded_int,
)
from claude_arch.service.testing import ServiceServer

HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-6"
T0 = 1_800_000_000.0  # a minute boundary: 30_000_000 minutes


def rec(model: str = HAIKU, **fields: Any) -> UsageRecord:
    return UsageRecord(model=model, **fields)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the series -------------------------------------------------------------------------------
def test_rates_percentiles_tokens_and_cost_per_minute() -> None:
    clock = Clock(T0)
    board = Dashboard(clock=clock)
    for i in range(1, 101):  # one minute: 100 calls, latencies 10..1000 ms
        board.record(
            rec(usage=Usage(3, 3), cost_usd=Decimal("0.01"), latency_s=i / 100, ttft_s=i / 1000)
        )
    board.record(rec(SONNET, status=529, error_type="overloaded_error"))
    clock.now = T0 + 60 + 30  # half-way through the next minute
    board.record(rec(usage=Usage(30, 0), latency_s=2.0))

    out = board.series(minutes=3)
    assert out["times"] == [T0 - 60, T0, T0 + 60]
    assert out["models"] == [HAIKU, SONNET]  # the busiest first
    assert out["requests_per_s"][HAIKU] == [None, round(100 / 60, 4), round(1 / 30, 4)]
    assert out["requests_per_s"][SONNET] == [None, round(1 / 60, 4), None]
    assert out["errors_per_s"] == {"overloaded_error": [None, round(1 / 60, 4), 0.0]}
    assert out["latency_ms"][HAIKU] == {"p50": [None, 500.0, 2000.0], "p99": [None, 990.0, 2000.0]}
    assert out["ttft_ms"][HAIKU]["p99"] == [None, 99.0, None]
    assert out["latency_ms"][SONNET] == {"p50": [None, None, None], "p99": [None, None, None]}
    assert out["tokens_per_s"][HAIKU] == [None, 10.0, 1.0]
    assert out["cost_usd_per_min"][HAIKU][1] == pytest.approx(1.0)


def test_only_the_last_hour_is_kept_and_returned() -> None:
    series = MinuteSeries()
    for minute in range(3 * HISTORY_MINUTES):
        series.add(HAIKU, None, rec(latency_s=1.0), now=T0 + minute * 60)
    assert len(series._minutes) == HISTORY_MINUTES
    now = T0 + (3 * HISTORY_MINUTES - 1) * 60
    out = series.window(minutes=10_000, series=10_000, now=now)
    assert len(out["times"]) == HISTORY_MINUTES
    assert all(v == round(1 / 60, 4) for v in out["requests_per_s"][HAIKU][:-1])
    # an hour later with nothing new: every minute empty, nothing older shows again
    later = series.window(minutes=60, series=12, now=now + 3600)
    assert later["models"] == []
    assert later["times"][0] > now


def test_memory_and_answer_bounded_whatever_the_traffic() -> None:
    series = MinuteSeries(rng=random.Random(7))
    board = Dashboard()
    for i in range(5000):
        series.add(HAIKU, None, rec(latency_s=i / 1000, ttft_s=0.1), now=T0 + 5)
        board.record(rec(f"made-up-{i}", status=500, error_type=f"weird_{i}"))
    bucket = series._minutes[-1].models[HAIKU]
    assert len(bucket.latency.samples) == SAMPLES_PER_MINUTE
    assert bucket.latency.seen == 5000
    # a fair sample: its median is near the true one (2.5 s), not the first or last values'
    p50 = series.window(minutes=1, series=1, now=T0 + 30)["latency_ms"][HAIKU]["p50"][0]
    assert 1500 < p50 < 3500
    out = board.series()
    assert out["models"] == ["other"]  # made-up names fold into one label
    assert out["error_types"] == ["other"]


@given(
    st.lists(st.sampled_from([HAIKU, SONNET, "claude-opus-4-1", "x"]), max_size=60),
    st.integers(-5, 500),
    st.integers(-5, 500),
)
def test_every_list_has_one_value_per_minute(models: list[str], minutes: int, n: int) -> None:
    series = MinuteSeries()
    for i, model in enumerate(models):
        series.add(model, "api_error" if i % 3 else None, rec(model), now=T0 + i * 37)
    out = series.window(minutes=minutes, series=n, now=T0 + len(models) * 37)
    width = len(out["times"])
    assert 1 <= width <= HISTORY_MINUTES
    assert len(out["models"]) <= MAX_SERIES
    for name in ("requests_per_s", "tokens_per_s", "cost_usd_per_min", "errors_per_s"):
        assert all(len(row) == width for row in out[name].values())
    for name in ("latency_ms", "ttft_ms"):
        assert all(len(p[q]) == width for p in out[name].values() for q in ("p50", "p99"))


@given(st.one_of(st.none(), st.text(max_size=30), st.integers().map(str)))
def test_bounded_int_is_always_in_range(raw: str | None) -> None:
    assert 1 <= bounded_int(raw, default=60, low=1, high=60) <= 60


# --- through the service ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def dev_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dev-mode service on its embedded emulator (in a thread), with some traffic."""
    settings_ = ServiceSettings(  # type: ignore[call-arg]
        _env_file=None,
        dev=True,
        port=0,
        data_dir=tmp_path_factory.mktemp("series"),
        emulator_speed=0,
    )
    with ServiceServer(settings_) as server, httpx.Client(base_url=server.url) as http:
        for model in (HAIKU, SONNET):
            body = {"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
            assert http.post("/v1/messages", json=body).status_code == 200
        yield server.url


QUERY_NAMES = st.sampled_from(["minutes", "series", "window", "models", "limit", ""]) | st.text(
    max_size=8
)
QUERY_VALUES = (
    st.integers(-(10**30), 10**30).map(str)
    | st.text(max_size=40)
    | st.sampled_from(["", "60", "61", "0", "-1", "1e9", "NaN", "12.5", "０", "9" * 50])
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(QUERY_NAMES, QUERY_VALUES), max_size=6))
def test_series_endpoint_bounds_whatever_the_query_says(
    dev_service: str, query: list[tuple[str, str]]
) -> None:
    with httpx.Client(base_url=dev_service) as http:
        response = http.get("/v1/dashboard/series", params=query)
    assert response.status_code == 200, response.text
    body = response.json()
    width = len(body["times"])
    assert 1 <= width <= HISTORY_MINUTES == 60
    assert body["times"][-1] - body["times"][0] == (width - 1) * 60
    assert len(body["models"]) <= MAX_SERIES
    assert len(body["error_types"]) <= MAX_SERIES
    assert len(body["keys"]) <= 20
    for row in body["requests_per_s"].values():
        assert len(row) == width
    assert body["emulator"] is True  # the embedded emulator answers


def test_series_endpoint_defaults_and_clamps(dev_service: str) -> None:
    with httpx.Client(base_url=dev_service) as http:
        full = http.get("/v1/dashboard/series").json()
        # apart: the last minute alone may hold no call (the fixture's calls may lie in the
        # minute before), so the series bound is checked over the whole hour
        one_minute = http.get("/v1/dashboard/series?minutes=0").json()
        one_series = http.get("/v1/dashboard/series?series=0").json()
        huge = http.get("/v1/dashboard/series?minutes=100000&series=100000").json()
    assert (len(full["times"]), set(full["models"])) == (60, {HAIKU, SONNET})
    assert len(one_minute["times"]) == 1
    assert (len(one_series["times"]), len(one_series["models"])) == (60, 1)
    assert (len(huge["times"]), len(huge["models"])) == (60, 2)


@pytest.mark.timeout(60)
async def test_series_needs_an_operator_key_and_lists_key_spend(tmp_path: Path) -> None:
    settings_ = ServiceSettings(  # type: ignore[call-arg]
        _env_file=None,
        port=0,
        data_dir=tmp_path,
        emulator_speed=0,
        dashboard_keys=["ops"],
    )
    async with ServiceServer(settings_) as server, httpx.AsyncClient(base_url=server.url) as http:
        operator = await server.create_key("ops")
        tenant = await server.create_key("tenant", budget_usd=5)
        body = {"model": HAIKU, "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
        sent = await http.post("/v1/messages", json=body, headers={"x-api-key": tenant})
        assert sent.status_code == 200
        anonymous = await http.get("/v1/dashboard/series")
        forbidden = await http.get("/v1/dashboard/series", headers={"x-api-key": tenant})
        allowed = await http.get("/v1/dashboard/series", headers={"x-api-key": operator})
        snapshot = await http.get("/v1/dashboard", headers={"x-api-key": operator})
    assert (anonymous.status_code, anonymous.json()["error"]["type"]) == (
        401,
        "authentication_error",
    )
    assert (forbidden.status_code, forbidden.json()["error"]["type"]) == (403, "permission_error")
    assert allowed.status_code == 200
    keys = allowed.json()["keys"]
    assert keys[0]["name"] == "tenant"  # a key with a budget first
    assert keys[0]["budget_usd"] == "5"
    assert Decimal(keys[0]["spent_usd"]) > 0
    assert {k["name"] for k in keys} == {"tenant", "ops"}
    assert operator not in allowed.text
    assert tenant not in allowed.text
    # the dashboard's own refusals are not the API's errors
    assert snapshot.json()["totals"]["errors"] == 0
