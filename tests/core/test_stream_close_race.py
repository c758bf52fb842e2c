"""``await stream.close()`` from another task (a WebSocket handler whose peer left, say) while a
task still iterates the stream: the call keeps exactly one usage record, the caller's 499."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from stub_answers import stream_head, text_delta

from claude_arch.core.client import ClaudeClient
from claude_arch.core.metering import RecordingMeter
from claude_arch.core.wire import ContentBlockDelta
from claude_arch.errors import ClaudeArchError
from claude_arch.settings import Settings

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]


async def delta_then_hang(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    await response.write(stream_head() + text_delta("x"))
    await asyncio.Event().wait()  # until the client goes; shutdown cancels it
    return response


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    return {"/v1/messages": delta_then_hang}


async def test_close_from_another_task_records_the_call_once(stub_server: Any) -> None:
    meter = RecordingMeter()
    settings = Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]
    async with ClaudeClient(
        settings, base_url=stub_server.url, api_key="sk-k", meters=[meter]
    ) as c:
        stream = c.stream(model=HAIKU, max_tokens=64, messages=HELLO)
        first = asyncio.Event()

        async def consume() -> None:
            async for event in stream:
                if isinstance(event, ContentBlockDelta):
                    first.set()

        task = asyncio.create_task(consume())
        async with asyncio.timeout(10):
            await first.wait()
        await stream.close()
        with contextlib.suppress(ClaudeArchError):
            await task
    assert [r.status for r in meter.records] == [499]
