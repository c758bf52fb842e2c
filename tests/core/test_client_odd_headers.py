"""Header values a server (or a proxy in front of it) may send that no parser should trip on:
``inf`` or an overflowing number in a rate-limit or ``retry-after`` header."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from stub_answers import MESSAGE

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter, limits_from_headers
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.core.wire import retry_after_from_headers
from claude_arch.settings import Settings

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
# Answers the stub gives, in order; the last one repeats.
SCRIPT: list[tuple[int, dict[str, Any], dict[str, str]]] = []


async def messages(request: web.Request) -> web.Response:
    await request.read()
    status, body, headers = SCRIPT.pop(0) if len(SCRIPT) > 1 else SCRIPT[0]
    return web.json_response(body, status=status, headers={"request-id": "req_stub", **headers})


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    SCRIPT.clear()
    return {"/v1/messages": messages}


def _settings() -> Settings:
    return Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]


def test_an_infinite_limit_header_is_ignored() -> None:
    current = Limits(1, 2, 3)
    for odd in ("inf", "-inf", "Infinity", "1e400", "nan"):
        headers = {"anthropic-ratelimit-requests-limit": odd}
        assert limits_from_headers(headers, current) is None


async def test_an_infinite_limit_header_does_not_break_a_call(stub_server: Any) -> None:
    SCRIPT.append((200, MESSAGE, {"anthropic-ratelimit-requests-limit": "inf"}))
    limiter = LocalRateLimiter({"haiku": Limits(rpm=50, itpm=50_000, otpm=10_000)})
    async with ClaudeClient(
        _settings(), base_url=stub_server.url, api_key="sk-k", limiter=limiter
    ) as claude:
        msg = await claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
    assert msg.text == "Hi"
    assert limiter.limits_for("haiku") == Limits(rpm=50, itpm=50_000, otpm=10_000)


def test_a_retry_after_that_is_not_finite_falls_back_to_backoff() -> None:
    assert retry_after_from_headers({"retry-after": "inf"}) is None
    assert retry_after_from_headers({"retry-after": "nan"}) is None
    assert retry_after_from_headers({"retry-after-ms": "inf", "retry-after": "2"}) == 2.0


def test_a_huge_retry_after_is_capped_as_the_sdk_caps_it() -> None:
    # time.sleep overflows far below 1e12 s; the official SDK waits at most 4,294,967 s.
    assert retry_after_from_headers({"retry-after": "1e12"}) == 4_294_967.0
    assert retry_after_from_headers({"retry-after-ms": "1e15"}) == 4_294_967.0


def test_sync_client_retries_after_an_infinite_retry_after(stub_server: Any) -> None:
    SCRIPT.extend([(529, OVERLOADED, {"retry-after": "inf"}), (200, MESSAGE, {})])
    with SyncClaudeClient(
        _settings(), base_url=stub_server.url, api_key="sk-k", limiter=None
    ) as claude:
        claude.core.retry.initial_delay = 0.001  # the backoff, not the header, decides
        msg = claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
    assert msg.text == "Hi"
    assert msg.record.attempts == 2
