"""A call whose deadline has already passed (a Lambda's remaining time minus a margin can be
negative) sends nothing: a request cut a millisecond later would still be generated, and billed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from stub_answers import MESSAGE

from claude_arch.core.client import ClaudeClient
from claude_arch.core.metering import RecordingMeter
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.errors import APITimeoutError
from claude_arch.settings import Settings

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]


async def messages(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response(MESSAGE)


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    return {"/v1/messages": messages}


def _settings() -> Settings:
    return Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]


async def test_an_expired_deadline_sends_nothing(stub_server: Any) -> None:
    meter = RecordingMeter()
    async with ClaudeClient(
        _settings(), base_url=stub_server.url, api_key="sk-k", meters=[meter]
    ) as claude:
        await claude.create(model=HAIKU, max_tokens=8, messages=HELLO)  # the pool is warm
        with pytest.raises(APITimeoutError):
            await claude.create(model=HAIKU, max_tokens=8, messages=HELLO, deadline=-1.0)
        with pytest.raises(APITimeoutError):
            async with claude.stream(model=HAIKU, max_tokens=8, messages=HELLO, deadline=0):
                pass
    assert len(stub_server.seen) == 1
    assert [r.error_type for r in meter.records] == [None, "timeout_error", "timeout_error"]


def test_an_expired_deadline_sends_nothing_sync(stub_server: Any) -> None:
    with SyncClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude:
        claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
        with pytest.raises(APITimeoutError):
            claude.create(model=HAIKU, max_tokens=8, messages=HELLO, deadline=-1.0)
    assert len(stub_server.seen) == 1
