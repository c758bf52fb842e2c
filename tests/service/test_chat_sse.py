"""POST /v1/chat: an SSE stream of deltas then usage and cost; sessions; errors; disconnects."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from chat_server import LONG_REPLY, chat_service, key_id_of, seconds_until, sessions, slow_emulator

from claude_arch.constants import HEADER_SESSION_ID
from claude_arch.core.tokens import count_request
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


@pytest.fixture
async def svc(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[ServiceServer]:
    async with chat_service(emulator, tmp_path, max_retries=0) as server:
        yield server


async def events_of(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    name = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


async def chat(
    http: httpx.AsyncClient, key: str, **body: Any
) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    async with http.stream("POST", "/v1/chat", headers={"x-api-key": key}, json=body) as r:
        if r.status_code != 200:
            await r.aread()
            return r, []
        return r, await events_of(r)


async def test_a_turn_streams_deltas_then_usage_and_cost(svc: ServiceServer) -> None:
    key = await svc.create_key("chat", rpm=100)
    async with httpx.AsyncClient(base_url=svc.url) as http:
        response, events = await chat(http, key, text="Hello there", model="claude-haiku-4-5")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events]
    assert names[-1] == "done"
    assert set(names[:-1]) == {"delta"}
    assert len(names) > 2
    done = events[-1][1]
    assert done["session_id"] == response.headers[HEADER_SESSION_ID]
    assert done["model"] == "claude-haiku-4-5"
    assert done["usage"]["output_tokens"] > 0
    assert done["usage"]["input_tokens"] == count_request(
        {"messages": [{"role": "user", "content": "Hello there"}]}
    )
    assert Decimal(done["cost_usd"]) > 0
    assert response.headers["anthropic-ratelimit-requests-limit"] == "100"  # the key's limit
    text = "".join(data["text"] for name, data in events if name == "delta")
    stored = await sessions(svc).get(done["session_id"], await key_id_of(svc, key))
    assert stored.messages == [
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": [{"type": "text", "text": text}]},
    ]


async def test_the_second_turn_sends_the_first(svc: ServiceServer) -> None:
    key = await svc.create_key("chat")
    async with httpx.AsyncClient(base_url=svc.url) as http:
        _, first = await chat(http, key, text="My name is Ada.")
        session_id = first[-1][1]["session_id"]
        response, second = await chat(http, key, text="What is my name?", session_id=session_id)
    done = second[-1][1]
    assert response.headers[HEADER_SESSION_ID] == session_id == done["session_id"]
    stored = await sessions(svc).get(session_id, await key_id_of(svc, key))
    assert len(stored.turns) == 2
    sent = [*stored.turns[0], {"role": "user", "content": "What is my name?"}]
    # the emulator counts input with the same tokenizer: the upstream request held turn one
    assert done["usage"]["input_tokens"] == count_request({"messages": sent})


@pytest.mark.parametrize(
    ("body", "status", "error_type", "names"),
    [
        ({}, 400, "invalid_request_error", "text"),
        ({"text": ""}, 400, "invalid_request_error", "text"),
        ({"text": "x" * 100_001}, 400, "invalid_request_error", "text"),
        ({"text": 5}, 400, "invalid_request_error", "text"),
        ({"text": "hi", "max_tokens": "9"}, 400, "invalid_request_error", "max_tokens"),
        ({"text": "hi", "max_tokens": 0}, 400, "invalid_request_error", "max_tokens"),
        ({"text": "hi", "temperature": 1}, 400, "invalid_request_error", "temperature"),
        ({"text": "hi", "model": "claude-haiku-4-20250514"}, 404, "not_found_error", "model"),
        ({"text": "hi", "session_id": "sess_nope"}, 404, "not_found_error", "session_id"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    svc: ServiceServer, body: dict[str, Any], status: int, error_type: str, names: str
) -> None:
    key = await svc.create_key("chat")
    async with httpx.AsyncClient(base_url=svc.url) as http:
        response, _ = await chat(http, key, **body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == error_type
    assert error["message"].startswith(names)


async def test_malformed_json_and_missing_keys(svc: ServiceServer) -> None:
    key = await svc.create_key("chat")
    async with httpx.AsyncClient(base_url=svc.url) as http:
        bad = await http.post("/v1/chat", headers={"x-api-key": key}, content=b"{nope")
        anonymous = await http.post("/v1/chat", json={"text": "hi"})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("body: malformed JSON")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"


async def test_another_keys_session_is_not_found(svc: ServiceServer) -> None:
    alice, bob = await svc.create_key("alice"), await svc.create_key("bob")
    async with httpx.AsyncClient(base_url=svc.url) as http:
        _, events = await chat(http, alice, text="private")
        response, _ = await chat(http, bob, text="peek", session_id=events[-1][1]["session_id"])
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


async def test_an_upstream_refusal_before_the_stream_is_an_http_error(
    svc: ServiceServer, emulator: EmulatorServer
) -> None:
    key = await svc.create_key("chat")
    emulator.set_faults({"kind": "529", "model": "*", "next_n": 1})
    async with httpx.AsyncClient(base_url=svc.url) as http:
        response, _ = await chat(http, key, text="hi")
    assert response.status_code == 529
    assert response.json()["error"]["type"] == "overloaded_error"
    assert HEADER_SESSION_ID not in response.headers  # no session was made for it


async def test_a_failure_mid_stream_is_an_error_event_and_the_partial_turn_is_kept(
    svc: ServiceServer, emulator: EmulatorServer
) -> None:
    key = await svc.create_key("chat")
    emulator.set_faults({"kind": "mid_stream_error", "model": "*", "next_n": 1, "after_deltas": 2})
    async with httpx.AsyncClient(base_url=svc.url) as http:
        response, events = await chat(http, key, text="Tell me a story")
    assert response.status_code == 200
    names = [name for name, _ in events]
    assert names == ["delta", "delta", "error"]
    assert events[-1][1]["error"]["type"] == "overloaded_error"
    partial = "".join(data["text"] for name, data in events if name == "delta")
    session_id = response.headers[HEADER_SESSION_ID]
    stored = await sessions(svc).get(session_id, await key_id_of(svc, key))
    assert stored.messages[-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": partial}],
    }


async def test_a_client_that_disconnects_stops_upstream_within_100_ms(tmp_path: Path) -> None:
    async with slow_emulator() as slow, chat_service(slow, tmp_path) as svc:
        key = await svc.create_key("chat")
        async with httpx.AsyncClient(base_url=svc.url) as http:
            async with http.stream(
                "POST", "/v1/chat", headers={"x-api-key": key}, json={"text": "go on"}
            ) as response:
                async for line in response.aiter_lines():
                    if line.startswith("event: delta"):
                        break
                session_id = response.headers[HEADER_SESSION_ID]
            # leaving the block closed the connection
            took = await seconds_until(lambda: slow.stats()["stream_stop_ms"])
        assert took < 0.1
        key_id = await key_id_of(svc, key)
        deadline = time.monotonic() + 5
        while not (stored := await sessions(svc).get(session_id, key_id)).turns:
            assert time.monotonic() < deadline, "the stopped turn was not stored"
            await asyncio.sleep(0.01)
        partial = stored.messages[-1]["content"][0]["text"]
        assert LONG_REPLY.startswith(partial)  # the part the client could have seen
        assert 0 < len(partial) < len(LONG_REPLY)
