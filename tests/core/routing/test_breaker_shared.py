"""The Redis-shared breaker the service uses: failures counted in one replica open the breaker
in another once its view refreshes, a success closes it for both, and nothing blocks the event
loop (writes run as tasks; reads come from the local view)."""

from __future__ import annotations

import pytest

from claude_arch.core.routing.breakers.redis import RedisBreaker
from claude_arch.core.routing.breakers.shared import AsyncRedisBreaker
from claude_arch.testing import ManualClock

MODEL = "claude-haiku-5-5"


@pytest.mark.redis
async def test_replicas_share_the_open_breaker_through_redis(redis_url: str) -> None:
    clock = ManualClock(start=1_000_000.0)
    settings = {"failures": 2, "window_s": 10, "cooldown_s": 30, "clock": clock}
    one = AsyncRedisBreaker(redis_url, refresh_s=0, **settings)  # type: ignore[arg-type]
    two = AsyncRedisBreaker(redis_url, refresh_s=0, **settings)  # type: ignore[arg-type]
    sync = RedisBreaker(redis_url, **settings)  # type: ignore[arg-type]
    try:
        assert two.state(MODEL) == "closed"
        one.record_failure(MODEL)
        one.record_failure(MODEL)
        await one.flush()
        assert one.state(MODEL) == "open"  # its own failures count at once
        await two.refresh()
        assert two.state(MODEL) == "open"  # the other replica learns from Redis
        assert sync.state(MODEL) == "open"  # the same keys as the synchronous breaker
        clock.advance(31)
        assert two.state(MODEL) == "half_open"
        two.record_success(MODEL)  # the probe succeeded
        await two.flush()
        await one.refresh()
        assert one.state(MODEL) == "closed"
    finally:
        await one.aclose()
        await two.aclose()
        sync.close()


async def test_an_unreachable_store_keeps_the_local_view() -> None:
    breaker = AsyncRedisBreaker("redis://127.0.0.1:9/0", failures=1, refresh_s=0)
    breaker.record_failure(MODEL)
    await breaker.flush()  # the write failed (logged), the call did not
    assert breaker.state(MODEL) == "closed"
    await breaker.aclose()
