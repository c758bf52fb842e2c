"""The dashboard: the meter's arithmetic on known records (counts, cost, nearest-rank p50/p99),
its bounded memory, and ``GET /v1/dashboard`` after real calls through the service; the page and
its assets as the server sends them."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_wiring import dashboard_service
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.types import Usage, UsageRecord
from claude_arch.service.operations.dashboard import Dashboard, percentile
from claude_arch.service.operations.logs import request_context
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-6"


def ok(model: str = HAIKU, **fields: Any) -> UsageRecord:
    return UsageRecord(model=model, **fields)


# --- percentiles ------------------------------------------------------------------------------
def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 50) == percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 99) == 2.0
    assert percentile([], 50) is None


@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=300),
    st.sampled_from([50, 90, 99]),
)
def test_percentile_splits_the_samples_where_it_says(values: list[float], p: int) -> None:
    ordered = sorted(values)
    got = percentile(ordered, p)
    assert got in ordered
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    assert sum(v <= got for v in ordered) >= rank  # at least p% are at or below it
    assert sum(v < got for v in ordered) < rank  # and it is the smallest such value


# --- the meter --------------------------------------------------------------------------------
def test_counts_tokens_cost_and_percentiles_per_model() -> None:
    board = Dashboard()
    for i in range(1, 101):  # latencies 10..1000 ms, TTFT 1..100 ms
        board.record(
            ok(
                usage=Usage(input_tokens=i, output_tokens=2 * i),
                cost_usd=Decimal("0.001"),
                latency_s=i / 100,
                ttft_s=i / 1000,
            )
        )
    board.record(ok(SONNET, usage=Usage(5, 7), cost_usd=Decimal("0.25"), latency_s=2.0))

    snap = board.snapshot()
    haiku = snap["models"][HAIKU]
    assert haiku["requests"] == 100
    assert haiku["errors"] == haiku["cancelled"] == 0
    assert haiku["input_tokens"] == 5050
    assert haiku["output_tokens"] == 10100
    assert Decimal(haiku["cost_usd"]) == Decimal("0.100")
    assert haiku["latency_ms"] == {"p50": 500.0, "p99": 990.0}
    assert haiku["ttft_ms"] == {"p50": 50.0, "p99": 99.0}
    sonnet = snap["models"][SONNET]
    assert sonnet["latency_ms"] == {"p50": 2000.0, "p99": 2000.0}
    assert sonnet["ttft_ms"] == {"p50": None, "p99": None}  # no stream, no TTFT
    assert snap["totals"] == {
        "requests": 101,
        "errors": 0,
        "cancelled": 0,
        "input_tokens": 5055,
        "output_tokens": 10107,
        "cost_usd": "0.350",
    }
    assert "gateway" not in snap
    json.dumps(snap)  # JSON-ready as is


def test_errors_are_counted_listed_newest_first_and_kept_out_of_latency() -> None:
    board = Dashboard(clock=lambda: 1000.0)
    board.record(ok(latency_s=0.1))
    with request_context("req_service_1"):
        board.record(
            ok(status=529, error_type="overloaded_error", request_id="req_up_1", latency_s=30.0)
        )
    board.record(ok(SONNET, status=429, error_type="rate_limit_error"))
    board.record(ok(status=499, error_type="cancelled", latency_s=9.0))

    snap = board.snapshot()
    haiku = snap["models"][HAIKU]
    assert (haiku["requests"], haiku["errors"], haiku["cancelled"]) == (3, 1, 1)
    assert haiku["latency_ms"]["p99"] == 100.0  # the failure's 30 s and the cancel's 9 s left out
    assert haiku["samples"] == 1
    assert snap["recent_errors"] == [
        {
            "time": 1000.0,
            "model": SONNET,
            "status": 429,
            "error_type": "rate_limit_error",
            "request_id": None,
            "upstream_request_id": None,
        },
        {
            "time": 1000.0,
            "model": HAIKU,
            "status": 529,
            "error_type": "overloaded_error",
            "request_id": "req_service_1",
            "upstream_request_id": "req_up_1",
        },
    ]


def test_token_counts_do_not_skew_latency() -> None:
    board = Dashboard()
    board.record(ok(operation="count_tokens", latency_s=0.001))
    board.record(ok(operation="stream", latency_s=1.0, ttft_s=0.5))
    row = board.snapshot()["models"][HAIKU]
    assert row["requests"] == 2
    assert row["latency_ms"]["p50"] == 1000.0


def test_memory_is_bounded_whatever_the_traffic() -> None:
    board = Dashboard(window=10, recent_errors=3)
    for i in range(1000):
        board.record(ok(latency_s=float(i), ttft_s=float(i)))
    for i in range(50):
        board.record(ok(f"made-up-model-{i}", status=500, error_type="api_error"))

    snap = board.snapshot()
    haiku = snap["models"][HAIKU]
    assert haiku["requests"] == 1000  # counters cover everything since start
    assert haiku["samples"] == 10  # percentiles only the last `window` calls
    assert haiku["latency_ms"] == {"p50": 994_000.0, "p99": 999_000.0}  # of 990..999 s
    assert set(snap["models"]) == {HAIKU, "other"}  # unknown names never grow the table
    assert snap["models"]["other"]["errors"] == 50
    assert len(snap["recent_errors"]) == 3


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Dashboard(window=0)


# --- through the service ----------------------------------------------------------------------
@pytest.mark.timeout(60)
async def test_endpoint_counts_real_calls(emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.script(
        user="fail please",
        error={"status": 400, "type": "invalid_request_error", "message": "scripted"},
    )
    async with dashboard_service(emulator, tmp_path, dashboard_keys=["dashboard"]) as (
        server,
        _board,
    ):
        key = await server.create_key("dashboard")
        tenant = await server.create_key("a-tenant")
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            refused = await http.get("/v1/dashboard")
            assert refused.status_code == 401
            assert refused.json()["error"]["type"] == "authentication_error"
            # every tenant's figures: a key not named an operator's is refused
            forbidden = await http.get("/v1/dashboard", headers={"x-api-key": tenant})
            assert forbidden.status_code == 403
            assert forbidden.json()["error"]["type"] == "permission_error"
            assert "CLAUDE_ARCH_DASHBOARD_KEYS" in forbidden.json()["error"]["message"]

            auth = {"x-api-key": key}
            body = {
                "model": HAIKU,
                "max_tokens": 40,
                "messages": [{"role": "user", "content": "hello"}],
            }
            plain = (await http.post("/v1/messages", headers=auth, json=body)).json()
            streamed = await http.post(
                "/v1/messages", headers=auth, json={**body, "model": SONNET, "stream": True}
            )
            assert streamed.status_code == 200
            failing = {**body, "messages": [{"role": "user", "content": "fail please"}]}
            failed = await http.post("/v1/messages", headers=auth, json=failing)
            assert failed.status_code == 400

            snap = (await http.get("/v1/dashboard", headers=auth)).json()

    usage = plain["usage"]
    haiku = snap["models"][HAIKU]
    assert haiku["requests"] == 2
    assert haiku["errors"] == 1
    assert haiku["input_tokens"] == usage["input_tokens"]
    assert haiku["output_tokens"] == usage["output_tokens"] > 0
    assert Decimal(haiku["cost_usd"]) == default_catalog().cost(HAIKU, usage) > 0
    assert haiku["latency_ms"]["p50"] > 0

    sonnet = snap["models"][SONNET]
    assert sonnet["requests"] == 1
    assert sonnet["ttft_ms"]["p50"] is not None  # a stream records its first token
    assert sonnet["output_tokens"] > 0

    assert snap["totals"]["requests"] == 3
    assert snap["gateway"] == {
        "inflight": 0,
        "waiting": 0,
        "rejected": 0,
        "max_inflight": server.settings.max_inflight,
    }
    (error,) = snap["recent_errors"]
    assert (error["model"], error["status"], error["error_type"]) == (
        HAIKU,
        400,
        "invalid_request_error",
    )
    assert error["request_id"] == failed.json()["request_id"]  # the id the caller was given
    assert "fail please" not in json.dumps(snap)
    assert key not in json.dumps(snap)


async def test_dev_mode_needs_no_key(emulator: EmulatorServer, tmp_path: Path) -> None:
    async with (
        dashboard_service(emulator, tmp_path, dev=True) as (server, _board),
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        response = await http.get("/v1/dashboard")
    assert response.status_code == 200
    assert response.json()["totals"]["requests"] == 0


async def test_page_and_assets(emulator: EmulatorServer, tmp_path: Path) -> None:
    async with (
        dashboard_service(emulator, tmp_path) as (server, _board),
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        page = await http.get("/")
        script = await http.get("/static/app.js")
        style = await http.get("/static/style.css")
        missing = [
            (await http.get(path)).status_code
            for path in ("/static/index.html", "/static/nope.js", "/static/..%2fdashboard.py")
        ]
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/static/app.js"' in page.text
    assert not re.search(r"https?://", page.text + script.text + style.text)  # nothing external
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/v1/chat/ws" in script.text
    assert "innerHTML" not in script.text  # data reaches the DOM only as text
    assert style.headers["content-type"].startswith("text/css")
    assert missing == [404, 404, 404]
