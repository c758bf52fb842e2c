"""``close()`` from another task (or thread) while the stream is still opening: when the answer
then arrives, its response is closed, its reservation settled and the call recorded once (499);
the caller reads nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from stub_answers import stream_head, text_delta

from claude_arch.core.client import ClaudeClient
from claude_arch.core.metering import RecordingMeter
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.settings import Settings
from claude_arch.testing import ManualClock

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]
LIMITS = Limits(rpm=1000, itpm=100_000, otpm=10_000)
RELEASE = threading.Event()


async def held_then_stream(request: web.Request) -> web.StreamResponse:
    await request.read()
    await asyncio.to_thread(RELEASE.wait, 10)  # until the test has closed the stream
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    await response.write(stream_head() + text_delta("x"))
    await asyncio.Event().wait()  # until the client goes; shutdown cancels it
    return response


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    RELEASE.clear()
    return {"/v1/messages": held_then_stream}


def _settings() -> Settings:
    return Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]


def _otpm_used(limiter: LocalRateLimiter) -> int:
    state = limiter.snapshot("haiku")
    assert state is not None
    return LIMITS.otpm - state.output_tokens.remaining


async def test_close_while_opening(stub_server: Any, wait_for: Any) -> None:
    meter = RecordingMeter()
    limiter = LocalRateLimiter({"haiku": LIMITS}, clock=ManualClock())
    seen: list[object] = []
    async with ClaudeClient(
        _settings(), base_url=stub_server.url, api_key="sk-k", limiter=limiter, meters=[meter]
    ) as claude:
        stream = claude.stream(model=HAIKU, max_tokens=500, messages=HELLO)

        async def consume() -> None:
            async with stream:
                seen.extend([event async for event in stream])

        task = asyncio.create_task(consume())
        await wait_for(lambda: stub_server.seen)
        await stream.close()
        RELEASE.set()
        async with asyncio.timeout(10):
            await task
    assert seen == []
    assert [r.status for r in meter.records] == [499]
    assert _otpm_used(limiter) == 1


def test_close_while_opening_sync(stub_server: Any) -> None:
    meter = RecordingMeter()
    limiter = LocalRateLimiter({"haiku": LIMITS}, clock=ManualClock())
    seen: list[object] = []
    with SyncClaudeClient(
        _settings(), base_url=stub_server.url, api_key="sk-k", limiter=limiter, meters=[meter]
    ) as claude:
        stream = claude.stream(model=HAIKU, max_tokens=500, messages=HELLO)

        def consume() -> None:
            with stream:
                seen.extend(stream)

        thread = threading.Thread(target=consume)
        thread.start()
        seen_request = threading.Event()
        for _ in range(1000):  # poll what the stub's thread records, 10 s at most
            if stub_server.seen:
                seen_request.set()
                break
            seen_request.wait(0.01)
        assert seen_request.is_set()
        stream.close()
        RELEASE.set()
        thread.join(10)
        assert not thread.is_alive()
    assert seen == []
    assert [r.status for r in meter.records] == [499]
    assert _otpm_used(limiter) == 1
