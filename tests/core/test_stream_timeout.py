"""``timeout=`` bounds each attempt's waits for the server, as the official SDK's does (httpx's
per-read timeout): a stream that keeps sending is not cut when it runs longer than ``timeout``
(streaming is the advice for answers over 10 minutes). ``deadline=`` still bounds the whole call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from stub_answers import stream_head, stream_tail, text_delta

from claude_arch.core.client import ClaudeClient
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.errors import APITimeoutError
from claude_arch.settings import Settings

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]
DELTAS = 30
GAP_S = 0.05  # far below the 1 s timeout under test; the whole stream lasts 1.5 s


async def trickle(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    await response.write(stream_head())
    for _ in range(DELTAS):
        await response.write(text_delta("x"))
        await asyncio.sleep(GAP_S)
    await response.write(stream_tail(DELTAS))
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
