"""``timeout=`` bounds each attempt's waits for the server, as the official SDK's does (httpx's
per-read timeout): a stream that keeps sending is not cut when it runs longer than ``timeout``
(streaming is the advice for answers over 10 minutes). ``deadline=`` still bounds the whole call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from claude_arch.core.client import ClaudeClient
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.errors import APITimeoutError
from claude_arch.settings import Settings

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]
DELTAS = 30
GAP_S = 0.05  # far below the 1 s timeout under test; the whole stream lasts 1.5 s


def _sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


async def trickle(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    message = {
        "id": "msg_01stub",
        "type": "message",
        "role": "assistant",
        "model": HAIKU,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 4, "output_tokens": 1},
    }
    await response.write(_sse("message_start", {"type": "message_start", "message": message}))
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    await response.write(_sse("content_block_start", block))
    for _ in range(DELTAS):
        delta = {"type": "text_delta", "text": "x"}
        event = {"type": "content_block_delta", "index": 0, "delta": delta}
        await response.write(_sse("content_block_delta", event))
        await asyncio.sleep(GAP_S)
    await response.write(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    end = {"stop_reason": "end_turn", "stop_sequence": None}
    usage = {"output_tokens": DELTAS}
    await response.write(
        _sse("message_delta", {"type": "message_delta", "delta": end, "usage": usage})
    )
    await response.write(_sse("message_stop", {"type": "message_stop"}))
    return response


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    return {"/v1/messages": trickle}


def _settings() -> Settings:
    return Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]


async def test_a_stream_longer_than_its_timeout_is_not_cut(stub_server: Any) -> None:
    async with (
        ClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k", timeout=1.0) as claude,
        claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream,
    ):
        message = await stream.final_message()
    assert message.text == "x" * DELTAS


def test_a_stream_longer_than_its_timeout_is_not_cut_sync(stub_server: Any) -> None:
    with (
        SyncClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k", timeout=1.0) as c,
        c.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream,
    ):
        message = stream.final_message()
    assert message.text == "x" * DELTAS


async def test_the_deadline_still_cuts_a_stream_that_keeps_sending(stub_server: Any) -> None:
    async with ClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude:
        stream = claude.stream(model=HAIKU, max_tokens=64, messages=HELLO, deadline=0.5)
        with pytest.raises(APITimeoutError):
            async with stream:
                await stream.until_done()
