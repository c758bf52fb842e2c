"""``POST /v1/advise`` on a live service, and the page's "Choose" view in headless Chromium: the
recommendation follows the form as it is edited; a bad value is named and marked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_arch.advisor import advise, load_profile
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

from .headless import check_pages, chromium_driver

PNG = b"\x89PNG\r\n\x1a\n"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"
ETL = {
    "traffic": {"mean_rpm": 1500, "peak_rpm": 6000, "burst_minutes": 60},
    "tokens": {"input": {"p50": 4000, "p95": 12000}, "output": {"p50": 400, "p95": 800}},
    "delay_tolerance": "1d",
    "rate_limit_tier": "tier3",
    "models": ["claude-haiku-5-5"],
}


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer() as server:
        yield server


async def _post(url: str, body: Any, key: str | None = None) -> httpx.Response:
    headers = {"x-api-key": key} if key else {}
    async with httpx.AsyncClient(base_url=url) as http:
        if isinstance(body, bytes):
            return await http.post("/v1/advise", content=body, headers=headers)
        return await http.post("/v1/advise", json=body, headers=headers)


async def test_a_profile_gets_the_advice_and_the_plan(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with ServiceServer.for_emulator(emulator, tmp_path, dev=True) as svc:
        answer = await _post(svc.url, ETL)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["recommended"] == "pipeline-batch"  # the same model as `advise etl.yaml`
    assert body["plan"]["variant"] == "pipeline-batch"
    assert {v["id"] for v in body["variants"]} >= {"service", "serverless", "edge"}
    assert emulator.stats()["totals"].get("requests", 0) == 0  # nothing went upstream


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ETL, "traffic": {"mean_rpm": -1}}, "traffic.mean_rpm"),
        ({**ETL, "budget_usd_per_month": 0}, "budget_usd_per_month"),
        ({**ETL, "models": ["claude-nonesuch-1"]}, "models"),
        ({**ETL, "colour": "blue"}, "colour"),
        (b"[1, 2]", ""),
        (b"{not json", ""),
    ],
)
async def test_a_bad_profile_is_a_400_naming_the_field(
    emulator: EmulatorServer, tmp_path: Path, body: Any, field: str
) -> None:
    async with ServiceServer.for_emulator(emulator, tmp_path, dev=True) as svc:
        answer = await _post(svc.url, body)
    assert answer.status_code == 400
    error = answer.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(field)
    assert error["request_id"]


async def test_a_service_with_keys_needs_one(emulator: EmulatorServer, tmp_path: Path) -> None:
    async with ServiceServer.for_emulator(emulator, tmp_path) as svc:
        key = await svc.create_key("advisor")
        refused = await _post(svc.url, ETL)
        wrong = await _post(svc.url, ETL, key="sk-ca-" + "x" * 43)
        allowed = await _post(svc.url, ETL, key=key)
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"
    assert wrong.status_code == 401
    assert allowed.status_code == 200


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_choose_view_in_chromium(
    emulator: EmulatorServer, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    chromium, driver = chromium_driver(pytestconfig)
    shots = {name: tmp_path / f"{name}.png" for name in ("choose", "invalid")}
    async with ServiceServer.for_emulator(emulator, tmp_path, dev=True) as svc:
        seen = await check_pages(
            driver, chromium, chooseUrl=svc.url + "/",
            chooseShot=str(shots["choose"]), invalidShot=str(shots["invalid"]),
        )  # fmt: skip
    assert seen["problems"] == []  # no console error, no failed request, no CSP block
    chat_ui = advise(load_profile(EXAMPLES / "chat-ui.yaml"))  # the form starts as chat-ui.yaml
    assert seen["first"] == f"Recommended: {chat_ui.recommended} (runner-up: {chat_ui.runner_up})"
    assert seen["firstRows"] == 10
    assert seen["second"].startswith("Recommended: pipeline-batch")
    assert "Bill $/month" in seen["capacity"]
    assert seen["invalidStatus"].startswith("tokens.output.p95:")
    assert seen["chatStillThere"] is True
    for shot in shots.values():
        assert shot.read_bytes().startswith(PNG)
