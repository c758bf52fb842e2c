"""A stream closed because its caller was cancelled under anyio (whose cancellation hits every
later ``await``, as Starlette cancels a response whose client left) still gives the Redis limiter
back the output tokens it held. (redis-py sends the settle script before its first wait, so this
held before ``close()`` shielded the settle too; the shield covers a store that waits first.)"""

from __future__ import annotations

import asyncio
import uuid

import anyio
import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import RedisRateLimiter
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

pytestmark = pytest.mark.redis
HAIKU = "claude-haiku-4-5"


async def test_a_cancelled_close_still_settles_the_reservation(redis_url: str) -> None:
    settings = Settings(_env_file=None, learn_limits=False)  # type: ignore[call-arg]
    limits = {"haiku": Limits(rpm=1000, itpm=100_000, otpm=10_000)}
    limiter = RedisRateLimiter(redis_url, limits, prefix=f"test:{uuid.uuid4().hex}:")
    async with (
        # paced, so the stream is still open when it is closed
        EmulatorServer(speed=50, rate_limit_tier="none") as emulator,
        ClaudeClient(
            settings, base_url=emulator.url, api_key=emulator.api_key, limiter=limiter
        ) as claude,
    ):
        stream = claude.stream(
            model=HAIKU, max_tokens=4000, messages=[{"role": "user", "content": "a long story"}]
        )
        await stream.__aenter__()
        held = await limiter.asnapshot("haiku")
        assert held is not None
        assert held.output_tokens.remaining < 7_000  # max_tokens (4,000) is held
        with anyio.CancelScope() as scope:
            scope.cancel()  # every await below raises until the scope ends
            await stream.close()
        # the settle ran to the end in its shielded task
        for _ in range(100):
            state = await limiter.asnapshot("haiku")
            assert state is not None
            if state.output_tokens.remaining > 9_000:
                break
            await asyncio.sleep(0.01)
        assert state.output_tokens.remaining > 9_000
        await limiter.aclose()
