"""A client that built its own limiter from the settings (Redis when ``redis_url`` is set) closes
it with itself: ``async with ClaudeClient()`` leaves no Redis connection behind."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import redis

from claude_arch.core.client import ClaudeClient
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]


def _connections(url: str) -> int:
    with redis.Redis.from_url(url) as admin:
        return len(admin.client_list()) - 1  # not counting this one


def _settings(redis_url: str) -> Settings:
    return Settings(_env_file=None, redis_url=redis_url)  # type: ignore[call-arg]


async def test_the_async_client_closes_the_limiter_it_built(
    redis_url: str, emulator: EmulatorServer, wait_for: Any
) -> None:
    before = _connections(redis_url)
    async with ClaudeClient(
        _settings(redis_url), base_url=emulator.url, api_key=emulator.api_key
    ) as claude:
        await claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
        assert _connections(redis_url) > before
    await wait_for(lambda: _connections(redis_url) == before)


def test_the_sync_client_closes_the_limiter_it_built(
    redis_url: str, emulator_thread: EmulatorServer
) -> None:
    before = _connections(redis_url)
    with SyncClaudeClient(
        _settings(redis_url), base_url=emulator_thread.url, api_key=emulator_thread.api_key
    ) as claude:
        claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
        assert _connections(redis_url) > before
    limit = time.monotonic() + 10  # the server notices the closed socket a moment later
    while _connections(redis_url) != before:
        assert time.monotonic() < limit, "the limiter's Redis connection is still open"
        time.sleep(0.01)


_LATE_CLOSE = """
import asyncio, sys
from claude_arch.core.ratelimit import RedisRateLimiter
limiter = RedisRateLimiter(sys.argv[1], {})
async def use():
    await limiter.atry_acquire("haiku", input_tokens=1, output_tokens=1)
asyncio.run(use())
asyncio.run(limiter.aclose())
"""


def test_a_limiter_closed_in_a_later_event_loop_does_not_fail(redis_url: str) -> None:
    # A worker that runs each task in its own loop and closes at shutdown, in yet another loop.
    # In a child process: the first loop's dropped pool warns when garbage-collected.
    done = subprocess.run(
        [sys.executable, "-c", _LATE_CLOSE, redis_url], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
