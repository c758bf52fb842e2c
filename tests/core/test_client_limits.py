"""The client with the rate limiter (in-process and Redis), SDK conversion, local guards.

Limit tests turn ``learn_limits`` off: the emulator's headers announce its own (higher) limits,
which the limiter would otherwise adopt."""

from __future__ import annotations

import time

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter, RedisRateLimiter
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.errors import InvalidRequestError, LimiterTimeoutError
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello there"}]
PARAMS = {"model": HAIKU, "max_tokens": 16, "messages": HELLO}
TWO_PER_MINUTE = {"haiku": Limits(rpm=2, itpm=1_000_000, otpm=1_000_000)}


@pytest.fixture
def fixed_limits() -> Settings:
    return Settings(_env_file=None, learn_limits=False)  # type: ignore[call-arg]


async def test_limiter_admits_then_refuses_before_sending(
    emulator: EmulatorServer, fixed_limits: Settings
) -> None:
    settings = fixed_limits
    limiter = LocalRateLimiter(TWO_PER_MINUTE)
    async with ClaudeClient(
        settings, base_url=emulator.url, api_key=emulator.api_key, limiter=limiter
    ) as claude:
        for _ in range(2):
            await claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
        with pytest.raises(LimiterTimeoutError) as info:
            await claude.create(model=HAIKU, max_tokens=16, messages=HELLO, deadline=0.5)
    assert info.value.attempts == 1  # a refusal by our own limiter is not retried
    assert emulator.stats()["totals"]["requests"] == 2


async def test_429_pauses_the_shared_limiter(emulator: EmulatorServer, settings: Settings) -> None:
    emulator.set_faults({"kind": "429", "model": HAIKU, "next_n": 1, "seconds": 20})
    limiter = LocalRateLimiter({"haiku": Limits(rpm=1000, itpm=10**9, otpm=10**9)})
    async with ClaudeClient(
        settings, base_url=emulator.url, api_key=emulator.api_key, limiter=limiter
    ) as claude:
        with pytest.raises(Exception, match="rate") as info:
            await claude.create(model=HAIKU, max_tokens=16, messages=HELLO, deadline=5)
    assert info.value.__class__.__name__ == "RateLimitError"
    state = limiter.snapshot("haiku")
    assert state is not None
    assert state.paused_for > 15


@pytest.mark.redis
def test_redis_limiter_is_shared_by_sync_clients(
    emulator_thread: EmulatorServer, fixed_limits: Settings, redis_url: str
) -> None:
    settings = fixed_limits

    def client() -> SyncClaudeClient:
        limiter = RedisRateLimiter(redis_url, TWO_PER_MINUTE, prefix="test-client:")
        return SyncClaudeClient(
            settings, base_url=emulator_thread.url, api_key=emulator_thread.api_key, limiter=limiter
        )

    with client() as first, client() as second:
        first.create(model=HAIKU, max_tokens=16, messages=HELLO)
        second.create(model=HAIKU, max_tokens=16, messages=HELLO)
        started = time.monotonic()
        with pytest.raises(LimiterTimeoutError):
            first.create(model=HAIKU, max_tokens=16, messages=HELLO, deadline=0.5)
        assert time.monotonic() - started < 0.5
    assert emulator_thread.stats()["totals"]["requests"] == 2


async def test_results_convert_to_sdk_types(emulator: EmulatorServer, settings: Settings) -> None:
    anthropic_types = pytest.importorskip("anthropic.types")
    async with ClaudeClient(settings, base_url=emulator.url, api_key=emulator.api_key) as claude:
        msg = await claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
        batch = await claude.batches.create(requests=[{"custom_id": "a", "params": {**PARAMS}}])
        async with claude.stream(**PARAMS) as stream:
            events = [sdk async for event in stream if (sdk := event.to_sdk()) is not None]
    sdk = msg.to_sdk()
    assert isinstance(sdk, anthropic_types.Message)
    assert sdk.content[0].text == msg.text
    assert sdk.usage.output_tokens == msg.usage.output_tokens
    assert isinstance(batch.to_sdk(), anthropic_types.messages.MessageBatch)
    assert isinstance(events[0], anthropic_types.RawMessageStartEvent)
    assert isinstance(events[-1], anthropic_types.RawMessageStopEvent)


async def test_long_non_streaming_call_is_refused_like_the_sdk(settings: Settings) -> None:
    claude = ClaudeClient(settings, base_url="http://127.0.0.1:9", api_key="k", limiter=None)
    with pytest.raises(InvalidRequestError) as info:
        await claude.create(model="claude-sonnet-4-5", max_tokens=32_000, messages=HELLO)
    assert info.value.field == "max_tokens"
    assert "stream" in str(info.value)
    claude.stream(model="claude-sonnet-4-5", max_tokens=32_000, messages=HELLO)  # fine
    await claude.close()


async def test_max_tokens_above_the_otpm_bucket_is_admitted_not_refused(
    emulator: EmulatorServer, fixed_limits: Settings
) -> None:
    limiter = LocalRateLimiter({"haiku": Limits(rpm=100, itpm=1_000_000, otpm=1_000)})
    async with ClaudeClient(
        fixed_limits, base_url=emulator.url, api_key=emulator.api_key, limiter=limiter
    ) as claude:
        msg = await claude.create(model=HAIKU, max_tokens=4_000, messages=HELLO, deadline=5)
    state = limiter.snapshot("haiku")
    assert state is not None
    # The reservation (the whole bucket) was refunded down to what the model wrote.
    assert state.output_tokens.remaining == pytest.approx(1_000 - msg.usage.output_tokens, abs=2)
