"""What the gateway forwards: unknown fields, cache_control and anthropic-beta reach the upstream
unchanged (a lenient emulator accepts the unknown field; a strict one refuses it, and that 400
comes back as the upstream sent it); "auto" becomes the default model; the upstream's answer
comes back byte for byte."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_arch.constants import DEFAULT_MODEL
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


@pytest.fixture
async def seen_service(
    tmp_path: Path,
) -> AsyncIterator[tuple[ServiceServer, EmulatorServer, str]]:
    async with (
        EmulatorServer(speed=0, keep_requests=10, lenient=True) as emulator,
        ServiceServer.for_emulator(emulator, tmp_path) as service,
    ):
        yield service, emulator, await service.create_key("passthrough")


BODY: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 32,
    "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "hello",
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                }
            ],
        }
    ],
    "metadata": {"user_id": "u-1"},
    "a_field_from_the_future": {"nested": [1, 2, 3]},
}


async def test_unknown_fields_cache_control_and_beta_reach_the_upstream(
    seen_service: tuple[ServiceServer, EmulatorServer, str],
) -> None:
    service, emulator, key = seen_service
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.post(
            "/v1/messages",
            json=BODY,
            headers={"x-api-key": key, "anthropic-beta": "future-feature-2026-11-01,other-beta"},
        )
    assert r.status_code == 200, r.text
    sent = emulator.received()[-1]["body"]
    for field in ("system", "messages", "metadata", "a_field_from_the_future"):
        assert sent[field] == BODY[field]
    assert (
        emulator.received()[-1]["headers"]["anthropic-beta"]
        == "future-feature-2026-11-01,other-beta"
    )
    # the service's key never goes upstream; the gateway's upstream key does
    assert key not in json.dumps(emulator.received()[-1]["headers"])


async def test_a_strict_upstreams_refusal_of_an_unknown_field_comes_back_unchanged(
    tmp_path: Path,
) -> None:
    async with (
        EmulatorServer(speed=0, keep_requests=10) as emulator,
        ServiceServer.for_emulator(emulator, tmp_path) as service,
    ):
        key = await service.create_key("strict")
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{service.url}/v1/messages", json=BODY, headers={"x-api-key": key})
            direct = await http.post(
                f"{emulator.url}/v1/messages",
                json=BODY,
                headers={"x-api-key": emulator.api_key, "anthropic-version": "2023-06-01"},
            )
    assert direct.status_code == 400
    assert direct.json()["error"] == {
        "type": "invalid_request_error",
        "message": "a_field_from_the_future: Extra inputs are not permitted",
    }
    assert r.status_code == 400, r.text
    assert r.json()["error"] == direct.json()["error"]
    # the gateway sent it on: the upstream, not the gateway, refused it
    assert (
        emulator.received()[0]["body"]["a_field_from_the_future"] == BODY["a_field_from_the_future"]
    )


async def test_the_answer_is_forwarded_byte_for_byte(
    seen_service: tuple[ServiceServer, EmulatorServer, str],
) -> None:
    service, emulator, key = seen_service
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.post("/v1/messages", json=BODY, headers={"authorization": f"Bearer {key}"})
        direct = await http.post(
            f"{emulator.url}/v1/messages",
            json=BODY,
            headers={"x-api-key": emulator.api_key, "anthropic-version": "2023-06-01"},
        )
    assert r.status_code == 200
    # the deterministic emulator answers the same request with the same bytes, ids aside
    ours, theirs = r.json(), direct.json()
    assert ours.pop("id") != theirs.pop("id")
    assert ours == theirs
    assert r.content.replace(r.json()["id"].encode(), b"") == direct.content.replace(
        direct.json()["id"].encode(), b""
    )
    assert r.headers["request-id"].startswith("req_")


async def test_auto_model_becomes_the_configured_default(
    seen_service: tuple[ServiceServer, EmulatorServer, str],
) -> None:
    service, emulator, key = seen_service
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.post(
            "/v1/messages", json={**BODY, "model": "auto"}, headers={"x-api-key": key}
        )
    assert r.status_code == 200
    assert emulator.received()[-1]["body"]["model"] == DEFAULT_MODEL
    assert r.json()["model"] == DEFAULT_MODEL


async def test_a_stream_is_forwarded_as_the_upstream_sent_it(
    seen_service: tuple[ServiceServer, EmulatorServer, str],
) -> None:
    service, emulator, key = seen_service
    async with (
        httpx.AsyncClient(base_url=service.url) as http,
        http.stream(
            "POST", "/v1/messages", json={**BODY, "stream": True}, headers={"x-api-key": key}
        ) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = (await r.aread()).decode()
    events = [
        line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event:")
    ]
    assert events[0] == "message_start"
    assert events[-1] == "message_stop"
    assert "content_block_delta" in events
    assert emulator.received()[-1]["body"]["stream"] is True
    assert (
        emulator.received()[-1]["body"]["a_field_from_the_future"]
        == BODY["a_field_from_the_future"]
    )


async def test_count_tokens_resolves_auto_like_messages(
    seen_service: tuple[ServiceServer, EmulatorServer, str],
) -> None:
    service, emulator, key = seen_service
    body = {"model": "auto", "messages": BODY["messages"]}
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.post("/v1/messages/count_tokens", json=body, headers={"x-api-key": key})
    assert r.status_code == 200, r.text
    assert r.json()["input_tokens"] > 0
    assert emulator.received()[-1]["path"] == "/v1/messages/count_tokens"
    assert emulator.received()[-1]["body"]["model"] == DEFAULT_MODEL
