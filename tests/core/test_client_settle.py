"""Every reservation is settled exactly once, with what the call really used, on every path:
a 2xx that is not a message, a stream closed early, a stream that fails after content."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from stub_answers import MESSAGE, sse, stream_head, text_delta

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.errors import OverloadedError
from claude_arch.settings import Settings
from claude_arch.testing import ManualClock

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]
LIMITS = Limits(rpm=1000, itpm=100_000, otpm=10_000)
ANSWERS: list[bytes] = []


async def messages(request: web.Request) -> web.Response:
    await request.read()
    body = ANSWERS.pop(0) if len(ANSWERS) > 1 else ANSWERS[0]
    return web.Response(body=body, content_type="application/json")


START = stream_head(input_tokens=10, cache_creation_input_tokens=1000)
DELTA = text_delta("Hi")
ERROR = sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})


async def stream_then_hang(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    await response.write(START + DELTA)
    await asyncio.Event().wait()  # the client closes; shutdown cancels the rest
    return response


async def stream_then_error(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    await response.write(START + DELTA)
    await response.write(ERROR)
    return response


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    ANSWERS.clear()
    return {
        "/v1/messages": messages,
        "/hang/v1/messages": stream_then_hang,
        "/error/v1/messages": stream_then_error,
    }


def _settings() -> Settings:
    return Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]


def _limiter() -> LocalRateLimiter:
    return LocalRateLimiter({"haiku": LIMITS}, clock=ManualClock())


def _used(limiter: LocalRateLimiter) -> tuple[int, int]:
    state = limiter.snapshot("haiku")
    assert state is not None
    return (
        LIMITS.itpm - state.input_tokens.remaining,
        LIMITS.otpm - state.output_tokens.remaining,
    )


async def test_a_2xx_without_a_message_refunds_its_reservation(stub_server: Any) -> None:
    ANSWERS.extend([b"<html>proxy says hi</html>", json.dumps(MESSAGE).encode()])
    limiter = _limiter()
    async with ClaudeClient(
        _settings(), base_url=stub_server.url, api_key="sk-k", limiter=limiter
    ) as claude:
        msg = await claude.create(model=HAIKU, max_tokens=500, messages=HELLO)
    assert msg.record is not None
    assert msg.record.attempts == 2
    assert _used(limiter) == (4, 1)  # only the message that came back is charged


def test_a_2xx_without_a_message_refunds_its_reservation_sync(stub_server: Any) -> None:
    ANSWERS.extend([b"<html>proxy says hi</html>", json.dumps(MESSAGE).encode()])
    limiter = _limiter()
    with SyncClaudeClient(
        _settings(), base_url=stub_server.url, api_key="sk-k", limiter=limiter
    ) as claude:
        msg = claude.create(model=HAIKU, max_tokens=500, messages=HELLO)
    assert msg.record is not None
    assert msg.record.attempts == 2
    assert _used(limiter) == (4, 1)


async def test_a_stream_closed_early_charges_its_cache_writes(stub_server: Any) -> None:
    limiter = _limiter()
    async with (
        ClaudeClient(
            _settings(), base_url=stub_server.url + "/hang", api_key="sk-k", limiter=limiter
        ) as claude,
        claude.stream(model=HAIKU, max_tokens=500, messages=HELLO) as stream,
    ):
        async for _ in stream.text_stream:
            break
    assert _used(limiter) == (1010, 1)  # ITPM counts cache writes, as a finished call's settle


def test_a_stream_closed_early_charges_its_cache_writes_sync(stub_server: Any) -> None:
    limiter = _limiter()
    with (
        SyncClaudeClient(
            _settings(), base_url=stub_server.url + "/hang", api_key="sk-k", limiter=limiter
        ) as claude,
        claude.stream(model=HAIKU, max_tokens=500, messages=HELLO) as stream,
    ):
        for _ in stream.text_stream:
            break
    assert _used(limiter) == (1010, 1)


async def test_a_stream_failing_after_content_charges_its_cache_writes(stub_server: Any) -> None:
    limiter = _limiter()
    async with ClaudeClient(
        _settings(), base_url=stub_server.url + "/error", api_key="sk-k", limiter=limiter
    ) as claude:
        with pytest.raises(OverloadedError):
            async with claude.stream(model=HAIKU, max_tokens=500, messages=HELLO) as stream:
                await stream.until_done()
    assert _used(limiter) == (1010, 1)
