"""The dashboard's charts end to end in headless Chromium (Debian's chromium, driven by
playwright-core; the same cached driver as tests/service/test_web_browser.py).

A dev-mode service on an emulator: a few requests the gateway refuses itself (an unknown model,
an oversized ``max_tokens``, malformed JSON, a body over the limit), then a few chat turns in the
page. The page shows six drawn charts with points in them, the refusals in the error count and in
"Recent errors", the emulator banner; it does not scroll sideways at 1280 and 1920 px (the per-model
table's latency and TTFT columns inside the dashboard), its six tiles sit in one row there, and a
phone's width is one column; no console error. Screenshots are kept under pytest's ``tmp_path``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from browser import CHROMIUM
from dashboard_wiring import dashboard_service
from test_web_browser import browser_driver  # noqa: F401 - the fixture, installed once

from claude_arch.testing import EmulatorServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROMPTS = ["say hello", "and a second turn", "a third one"]
WIDE = (1280, 1920)
PHONE = 390
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BODY_LIMIT = 64 * 1024
HAIKU = "claude-haiku-4-5"


async def refuse_a_few(url: str) -> list[tuple[int, str]]:
    """Requests the gateway answers itself, nothing sent upstream: (status, error type) each."""
    good = {"model": HAIKU, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        answers = [
            await http.post("/v1/messages", json={**good, "model": "claude-nonexistent-9"}),
            await http.post("/v1/messages", json={**good, "max_tokens": 10_000_000}),
            await http.post(
                "/v1/messages", content=b'{"model": ', headers={"content-type": "application/json"}
            ),
            await http.post("/v1/messages", content=b"x" * (BODY_LIMIT + 1)),
        ]
    return [(r.status_code, r.json()["error"]["type"]) for r in answers]


async def drive(driver: Path, url: str, shots: Path) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None  # the driver only installs where Node is
    config = {
        "url": url + "/",
        "chromium": str(CHROMIUM),
        "prompts": PROMPTS,
        "widths": list(WIDE),
        "narrowWidth": PHONE,
        "shots": str(shots),
        "timeoutMs": 30_000,
    }
    done = await anyio.run_process(
        [node, str(driver / "dashboard_test.mjs"), json.dumps(config)],
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    assert "failure" not in report, report["failure"]
    return report


async def test_charts_errors_banner_and_layout(
    browser_driver: Path,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    async with (
        EmulatorServer(speed=0) as emulator,
        dashboard_service(emulator, tmp_path / "data", dev=True, max_body_bytes=BODY_LIMIT) as (
            server,
            board,
        ),
    ):
        refused = await refuse_a_few(server.url)
        report = await drive(browser_driver, server.url, tmp_path)
        snapshot = board.snapshot()

    assert refused == [
        (404, "not_found_error"),
        (400, "invalid_request_error"),
        (400, "invalid_request_error"),
        (413, "request_too_large"),
    ]
    assert report["problems"] == []  # no console error, page error, failed request, CSP block
    assert [a["failed"] for a in report["answers"]] == [False] * len(PROMPTS)

    charts = {c["id"]: c for c in report["charts"]}
    assert set(charts) == {
        "chart-requests", "chart-errors", "chart-latency",
        "chart-ttft", "chart-tokens", "chart-cost",
    }  # fmt: skip
    for chart in charts.values():
        assert chart["points"] > 0, chart
        assert chart["canvas"] is not None, chart
        assert min(chart["canvas"]) > 50, chart
    assert HAIKU in charts["chart-requests"]["legend"]
    assert set(charts["chart-errors"]["legend"]) >= {"not_found_error", "invalid_request_error"}
    assert f"{HAIKU} p99" in charts["chart-latency"]["legend"]
    assert all(colours > 1 for colours in report["inked"])  # something drawn on every canvas

    # the four refusals counted where errors are: the tile and "Recent errors"
    assert report["totalErrors"].startswith("4 "), report["totalErrors"]
    assert snapshot["totals"]["errors"] == 4
    assert report["errorsEmptyHidden"] is True
    shown = sorted((row[2], row[3]) for row in report["errorRows"])
    assert shown == sorted((str(status), kind) for status, kind in refused)
    assert report["banner"]["hidden"] is False
    assert report["banner"]["visible"] is True
    assert "emulator" in report["banner"]["text"]
    assert report["keysEmpty"]["hidden"] is False  # dev mode: no keys, said so

    for width in WIDE:
        seen = report["widths"][str(width)]
        assert seen["scrollWidth"] <= seen["clientWidth"], (width, seen)
        assert seen["columns"] == 2, (width, seen)
        assert seen["tableRight"] <= seen["dashboardRight"] + 1, (width, seen)
        assert seen["tableScrolls"] is False, (width, seen)  # no scroll box in use either
        headline = [h for h in seen["headers"] if h["text"].startswith(("Latency", "TTFT"))]
        assert len(headline) == 2, (width, headline)
        assert all(h["visible"] for h in headline), (width, headline)
        assert seen["tileRows"] == 1, (width, seen)
        assert seen["tilesPerRow"] == 6, (width, seen)
        assert seen["chartsFit"] is True, (width, seen)

    narrow = report["narrow"]
    assert narrow["columns"] == 1
    assert narrow["scrollWidth"] <= narrow["innerWidth"]
    assert narrow["tilesPerRow"] > 1
    assert 6 % narrow["tilesPerRow"] == 0  # 2 x 3, not 5 + 1
    assert narrow["chartsFit"] is True

    for width in (*WIDE, PHONE):
        data = (tmp_path / f"dashboard-{width}.png").read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) > 10_000
