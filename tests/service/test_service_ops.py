"""Operations end to end: ``/healthz``, ``/readyz`` (200, and 503 naming the upstream when it is
down), ``/metrics`` after real calls, and JSON logs with request ids and no prompt text or keys
(unless ``log_prompts`` is on)."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from error_shape import message_body, sse_events
from log_capture import CapturedLogs, json_logs

from claude_arch.service.config import ServiceSettings
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


@pytest.fixture
async def http(service: ServiceServer) -> AsyncIterator[httpx.AsyncClient]:
    key = await service.create_key("ops", rpm=1000)
    async with httpx.AsyncClient(base_url=service.url, headers={"x-api-key": key}) as client:
        yield client


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_healthz_answers(http: httpx.AsyncClient) -> None:
    r = await http.get("/healthz", headers={"x-api-key": ""})  # no key needed
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert r.headers["request-id"].startswith("req_")


async def test_readyz_is_200_when_every_store_and_the_upstream_answer(
    http: httpx.AsyncClient,
) -> None:
    r = await http.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "ready": True,
        "checks": {"database": "ok", "limits": "ok", "sessions": "ok", "upstream": "ok"},
    }


async def test_readyz_is_503_naming_the_upstream_when_it_is_down(tmp_path: Path) -> None:
    port = closed_port()
    settings = ServiceSettings(
        _env_file=None,  # type: ignore[call-arg]
        base_url=f"http://127.0.0.1:{port}",
        api_key="sk-ant-unused",
        data_dir=tmp_path,
        port=0,
        max_retries=0,
    )
    async with ServiceServer(settings) as svc, httpx.AsyncClient(base_url=svc.url) as http:
        r = await http.get("/readyz")
        assert r.status_code == 503, r.text
        checks = r.json()["checks"]
        assert checks["upstream"].startswith("failed: ")
        assert checks["database"] == checks["limits"] == "ok"
        assert str(port) not in r.text  # which store failed, never where it lives
        assert (await http.get("/healthz")).status_code == 200  # alive, just not ready


async def test_metrics_count_calls_and_show_the_gateway_gauges(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/messages", json=message_body())).status_code == 200
    r = await http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    calls = [
        line
        for line in text.splitlines()
        if line.startswith("claude_arch_requests_total{") and 'model="claude-haiku-4-5"' in line
    ]
    assert calls, text[:3000]
    assert any('status="200"' in line and line.endswith(" 1.0") for line in calls), calls
    for gauge in ("inflight", "waiting", "rejected"):
        assert f"\nclaude_arch_gateway_{gauge} 0.0" in text


async def call_with_marker(http: httpx.AsyncClient, logs: CapturedLogs) -> tuple[str, str, str]:
    """One JSON call and one stream carrying a unique prompt; (marker, json id, stream id)."""
    marker = "marker-" + secrets.token_hex(8)
    r = await http.post("/v1/messages", json=message_body(f"Please echo {marker}"))
    assert r.status_code == 200, r.text
    s = await http.post("/v1/messages", json=message_body(f"Stream {marker}", stream=True))
    assert s.status_code == 200
    assert sse_events(s.text)[-1][0] == "message_stop"
    return marker, r.headers["request-id"], s.headers["request-id"]


def lines_of(logs: CapturedLogs, request_id: str) -> list[dict[str, Any]]:
    return [line for line in logs.lines() if line.get("request_id") == request_id]


async def test_logs_are_json_with_request_ids_and_no_prompt_or_key(
    service: ServiceServer, http: httpx.AsyncClient
) -> None:
    key = http.headers["x-api-key"]
    with json_logs("DEBUG") as logs:
        marker, json_id, stream_id = await call_with_marker(http, logs)
    for request_id, path in ((json_id, "/v1/messages"), (stream_id, "/v1/messages")):
        mine = lines_of(logs, request_id)
        access = [line for line in mine if line["logger"] == "claude_arch.service.access"]
        assert [(a["path"], a["status"]) for a in access] == [(path, 200)]
        assert access[0]["key_id"]
        # one line per request: the call's model, tokens and cost join the access line
        assert access[0]["model"] == "claude-haiku-4-5"
        assert access[0]["output_tokens"] > 0
        assert access[0]["call_status"] == 200
        assert "prompt" not in access[0]
        assert "answer" not in access[0]
    text = logs.text()
    assert marker not in text
    assert key not in text
    random_part = key[-43:]  # after sk-ca-<lookup id>_, which is the public key id
    assert not any(random_part[i : i + 8] in text for i in range(43 - 8 + 1))  # nor a piece


async def test_log_prompts_puts_the_prompt_in_the_request_line(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with (
        ServiceServer.for_emulator(emulator, tmp_path, dev=True, log_prompts=True) as svc,
        httpx.AsyncClient(base_url=svc.url) as http,
    ):
        with json_logs("INFO") as logs:
            marker, json_id, stream_id = await call_with_marker(http, logs)
    for request_id in (json_id, stream_id):
        (call,) = [
            line
            for line in lines_of(logs, request_id)
            if line["logger"] == "claude_arch.service.access"
        ]
        assert marker in call["prompt"]
        assert call["answer"]
