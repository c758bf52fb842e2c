"""Errors the gateway decides itself count where errors count: ``/metrics`` (in
``claude_arch_requests_total`` with their status and error type, and in
``claude_arch_gateway_refused_total``), the dashboard's error count and "Recent errors". An
upstream's error is counted once, by the core client, never again as a refusal."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from dashboard_wiring import dashboard_service
from websockets.asyncio.client import connect

from claude_arch.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

HAIKU = "claude-haiku-4-5"
BODY_LIMIT = 64 * 1024
GOOD = {"model": HAIKU, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}


def samples(exposition: str, family: str) -> dict[frozenset[tuple[str, str]], float]:
    """``{labels: value}`` of one metric family in the Prometheus text."""
    out: dict[frozenset[tuple[str, str]], float] = {}
    for labels, value in re.findall(rf"^{family}\{{(.*?)\}} (\S+)$", exposition, flags=re.M):
        out[frozenset(re.findall(r'(\w+)="(.*?)"', labels))] = float(value)
    return out


def total(found: dict[frozenset[tuple[str, str]], float], **want: str) -> float:
    return sum(v for labels, v in found.items() if set(want.items()) <= labels)


async def chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 4096 + 1):
        yield b"x" * 4096


async def test_refusals_in_metrics_and_dashboard(emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.script(
        user="fail upstream",
        error={"status": 400, "type": "invalid_request_error", "message": "scripted"},
    )
    async with (
        dashboard_service(
            emulator, tmp_path, dashboard_keys=["ops"], max_body_bytes=BODY_LIMIT
        ) as (server, board),
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
    ):
        ops = {"x-api-key": await server.create_key("ops")}
        auth = {"x-api-key": await server.create_key("tenant", rpm=1)}
        before = (await http.get("/metrics")).text
        answers = {
            "no key": await http.post("/v1/messages", json=GOOD),
            "unknown model": await http.post(
                "/v1/messages", headers=auth, json={**GOOD, "model": "claude-nonexistent-9"}
            ),
            "max_tokens": await http.post(
                "/v1/messages", headers=auth, json={**GOOD, "max_tokens": 10_000_000}
            ),
            "bad json": await http.post(
                "/v1/messages",
                headers={**auth, "content-type": "application/json"},
                content=b'{"model": ',
            ),
            "413 declared": await http.post(
                "/v1/messages", headers=auth, content=b"x" * (BODY_LIMIT + 1)
            ),
            "413 streamed": await http.post(
                "/v1/messages", headers=auth, content=chunks(BODY_LIMIT + 1)
            ),
        }
        upstream = await http.post(
            "/v1/messages",
            headers=auth,
            json={**GOOD, "messages": [{"role": "user", "content": "fail upstream"}]},
        )
        answers["429 rpm"] = await http.post("/v1/messages", headers=auth, json=GOOD)
        # the dashboard's own refusals and unknown paths are not the API's errors
        await http.get("/v1/dashboard")
        await http.get("/v1/dashboard/series", headers=auth)
        await http.get("/static/nope.js")
        exposition = (await http.get("/metrics")).text
        snapshot = (await http.get("/v1/dashboard", headers=ops)).json()

    got = {name: (r.status_code, r.json()["error"]["type"]) for name, r in answers.items()}
    assert got == {
        "no key": (401, "authentication_error"),
        "unknown model": (404, "not_found_error"),
        "max_tokens": (400, "invalid_request_error"),
        "bad json": (400, "invalid_request_error"),
        "413 declared": (413, "request_too_large"),
        "413 streamed": (413, "request_too_large"),
        "429 rpm": (429, "rate_limit_error"),
    }
    assert upstream.status_code == 400

    assert "claude_arch_gateway_refused_total{" not in before
    refused = samples(exposition, "claude_arch_gateway_refused_total")
    assert refused == {
        frozenset({("status", "401"), ("error_type", "authentication_error")}): 1.0,
        frozenset({("status", "404"), ("error_type", "not_found_error")}): 1.0,
        frozenset({("status", "400"), ("error_type", "invalid_request_error")}): 2.0,
        frozenset({("status", "413"), ("error_type", "request_too_large")}): 2.0,
        frozenset({("status", "429"), ("error_type", "rate_limit_error")}): 1.0,
    }
    requests = samples(exposition, "claude_arch_requests_total")
    assert total(requests, status="401", error_type="authentication_error") == 1
    assert total(requests, status="404", error_type="not_found_error") == 1
    assert total(requests, status="413", error_type="request_too_large") == 2
    assert total(requests, status="429", error_type="rate_limit_error") == 1
    # two refusals and the upstream's own 400, which the core client counted once
    assert total(requests, status="400", error_type="invalid_request_error") == 3
    assert total(requests, status="400", model=HAIKU, operation="create") >= 1
    assert total(requests, status="200") == 0

    assert snapshot["totals"]["errors"] == 8  # 7 refusals + the upstream's error
    listed = sorted((e["status"], e["error_type"]) for e in snapshot["recent_errors"])
    assert listed == sorted([*got.values(), (400, "invalid_request_error")])
    ids = {e["request_id"] for e in snapshot["recent_errors"]}
    assert {r.json()["request_id"] for r in answers.values()} <= ids  # the ids callers got
    assert board.snapshot()["totals"]["errors"] == 8


async def test_a_dashboard_request_without_a_permitted_key_is_refused_as_before(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with (
        dashboard_service(emulator, tmp_path, dashboard_keys=["ops"]) as (server, _board),
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        tenant = {"x-api-key": await server.create_key("tenant")}
        statuses = [
            (await http.get(path, headers=headers)).status_code
            for path in ("/v1/dashboard", "/v1/dashboard/series?minutes=5")
            for headers in ({}, {"x-api-key": "sk-ca-unknown"}, tenant)
        ]
        refused = (await http.get("/metrics")).text
    assert statuses == [401, 401, 403] * 2
    assert "claude_arch_gateway_refused_total{" not in refused


async def test_refusals_inside_a_chat_socket_count_too(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """The WebSocket answers refusals as error frames, not statuses; they count the same:
    an unknown key (the socket is closed), a bad frame, a turn over the key's rpm."""
    async with (
        dashboard_service(emulator, tmp_path, dashboard_keys=["ops"]) as (server, board),
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
    ):
        ops = {"x-api-key": await server.create_key("ops")}
        tenant = await server.create_key("tenant", rpm=1)
        url = server.url.replace("http://", "ws://") + "/v1/chat/ws"
        async with connect(url, additional_headers={"x-api-key": "sk-ca-" + "u" * 43}) as ws:
            unknown = json.loads(await ws.recv())
        async with connect(url, additional_headers={"x-api-key": tenant}) as ws:
            await ws.send("not json")
            bad_frame = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "user", "text": "hi", "model": HAIKU}))
            while (done := json.loads(await ws.recv()))["type"] in {"delta", "ping"}:
                pass
            await ws.send(json.dumps({"type": "user", "text": "again", "model": HAIKU}))
            while (over := json.loads(await ws.recv()))["type"] == "ping":
                pass
        exposition = (await http.get("/metrics")).text
        snapshot = (await http.get("/v1/dashboard", headers=ops)).json()

    assert unknown["error"]["type"] == "authentication_error"
    assert bad_frame["error"]["type"] == "invalid_request_error"
    assert done["type"] == "done"
    assert over["error"]["type"] == "rate_limit_error"
    refused = samples(exposition, "claude_arch_gateway_refused_total")
    assert refused == {
        frozenset({("status", "401"), ("error_type", "authentication_error")}): 1.0,
        frozenset({("status", "400"), ("error_type", "invalid_request_error")}): 1.0,
        frozenset({("status", "429"), ("error_type", "rate_limit_error")}): 1.0,
    }
    requests = samples(exposition, "claude_arch_requests_total")
    assert total(requests, status="429", error_type="rate_limit_error", operation="stream") == 1
    assert total(requests, status="200") == 1  # the one turn that was answered
    assert snapshot["totals"]["errors"] == 3
    ids = {e["request_id"] for e in snapshot["recent_errors"]}
    assert {unknown["request_id"], bad_frame["request_id"], over["request_id"]} <= ids
    assert board.snapshot()["totals"]["errors"] == 3
