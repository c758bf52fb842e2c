"""``-remaining`` and learned limits in the Redis limiter, on a real Redis.

The same rule as in-process, applied by the Lua script in the round trip that settles the
answered reservation (atomically, on the server's clock); and limits one process learned from
the API stored beside the buckets, so that a process still on its preset does not resize the
shared buckets to it. Amounts are whole requests and tokens against per-minute limits, so the
few milliseconds a test takes refill well under one unit: the checks count, they do not time.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter, RedisRateLimiter, Reservation
from claude_arch.errors import InvalidRequestError

pytestmark = pytest.mark.redis

PRIVATE_DB = 14
LIM = Limits(rpm=20, itpm=3000, otpm=900)
PRESET = Limits(rpm=4000, itpm=4_000_000, otpm=800_000)
P = "anthropic-ratelimit-"


@pytest.fixture
def private_redis_url(redis_url: str) -> str:
    """The test Redis, on a database no fixture flushes (keys here are unique and expire)."""
    return urlunsplit(urlsplit(redis_url)._replace(path=f"/{PRIVATE_DB}"))


def fresh(url: str, limits: Limits = LIM, prefix: str | None = None, **kw: Any) -> RedisRateLimiter:
    return RedisRateLimiter(url, {"a": limits}, prefix=prefix or f"test:{uuid.uuid4().hex}:", **kw)


def headers(remaining: tuple[int, int, int], caps: Limits = LIM) -> dict[str, str]:
    out: dict[str, str] = {}
    kinds = ("requests", "input-tokens", "output-tokens")
    for kind, cap, left in zip(kinds, (caps.rpm, caps.itpm, caps.otpm), remaining, strict=True):
        out[f"{P}{kind}-limit"] = str(cap)
        out[f"{P}{kind}-remaining"] = str(left)
    return out


def left(limiter: RedisRateLimiter | LocalRateLimiter) -> tuple[int, int, int]:
    state = limiter.snapshot("a")
    assert state is not None
    return (state.requests.remaining, state.input_tokens.remaining, state.output_tokens.remaining)


def take(limiter: Any, requests: int = 1, input_tokens: int = 0, output_tokens: int = 0) -> Any:
    got = limiter.try_acquire(
        "a", requests=requests, input_tokens=input_tokens, output_tokens=output_tokens
    )
    assert isinstance(got, Reservation)
    return got


def test_remaining_is_applied_when_the_reservation_is_settled(private_redis_url: str) -> None:
    limiter = fresh(private_redis_url)
    first = take(limiter, input_tokens=100, output_tokens=100)
    for _ in range(5):  # sent before the first answer came back
        take(limiter, input_tokens=100, output_tokens=100)
    limiter.learn("a", headers((10, 1000, 400)), reservation=first)
    assert left(limiter) == (14, 2400, 300)  # nothing yet: no I/O in learn
    limiter.settle(first, input_tokens=100, output_tokens=20)
    # the server had 10 / 1,000 / 400 after the first; 5 / 500 / 500 were sent since, and the
    # first's unused 80 output tokens came back
    assert left(limiter) == (5, 500, 0)
    limiter.close()


def test_never_raises_never_negative_stale_answers_change_nothing(private_redis_url: str) -> None:
    limiter = fresh(private_redis_url)
    older = take(limiter, input_tokens=500, output_tokens=100)
    newer = take(limiter, input_tokens=500, output_tokens=100)
    limiter.learn("a", headers((20, 3000, 900)), reservation=newer)  # more than here: ignored
    limiter.settle(newer, input_tokens=500, output_tokens=100)
    assert left(limiter) == (18, 2000, 700)
    # others spent 8 requests and 1,500 tokens before the older request reached the server
    limiter.learn("a", headers((11, 1000, 800)), reservation=older)
    limiter.settle(older, input_tokens=500, output_tokens=100)
    assert left(limiter) == (10, 500, 700)  # 11 - 1 / 1000 - 500, OTPM above: kept
    again = take(limiter, input_tokens=0, output_tokens=0)
    stale = take(limiter, input_tokens=0, output_tokens=0)
    limiter.learn("a", headers((8, 500, 700)), reservation=stale)  # what the server now says
    limiter.settle(stale, input_tokens=0, output_tokens=0)
    assert left(limiter) == (8, 500, 700)
    limiter.learn("a", headers((9, 500, 700)), reservation=again)  # older, and read later
    limiter.settle(again, input_tokens=0, output_tokens=0)
    assert left(limiter) == (8, 500, 700)
    last = take(limiter, input_tokens=500, output_tokens=0)
    limiter.learn("a", headers((0, 0, 0)), reservation=last)
    limiter.settle(last, input_tokens=500, output_tokens=0)
    assert left(limiter) == (0, 0, 0)  # zero, not below
    limiter.close()


async def test_async_settle_applies_it_too(private_redis_url: str) -> None:
    limiter = fresh(private_redis_url)
    res = await limiter.atry_acquire("a", input_tokens=10, output_tokens=10)
    assert isinstance(res, Reservation)
    limiter.learn("a", headers((3, 2990, 890)), reservation=res)
    await limiter.asettle(res, input_tokens=10, output_tokens=10)
    state = await limiter.asnapshot("a")
    assert state is not None
    assert state.requests.remaining == 3
    await limiter.aclose()


def test_a_recreated_hash_ignores_marks_of_the_old_one(private_redis_url: str) -> None:
    import redis

    limiter = fresh(private_redis_url)
    res = take(limiter)
    redis.Redis.from_url(private_redis_url).delete(limiter.key("a"))  # expired meanwhile
    take(limiter)
    limiter.learn("a", headers((0, 0, 0)), reservation=res)
    limiter.settle(res, input_tokens=0, output_tokens=0)
    assert left(limiter) == (19, 3000, 900)  # flows of another hash: not comparable
    limiter.close()


def test_a_preset_process_uses_the_limits_another_learned(private_redis_url: str) -> None:
    import redis

    prefix = f"test:{uuid.uuid4().hex}:"
    veteran = fresh(private_redis_url, PRESET, prefix)
    res = take(veteran)
    veteran.learn("a", headers((19, 2999, 899)), reservation=res)  # the API's limits: LIM
    assert veteran.limits_for("a") == LIM
    veteran.settle(res, input_tokens=0, output_tokens=0)
    for _ in range(18):
        take(veteran)
    newcomer = fresh(private_redis_url, PRESET, prefix)  # a worker that just started
    take(newcomer)  # the 20th of 20
    wait = newcomer.try_acquire("a", input_tokens=0, output_tokens=0)
    assert isinstance(wait, float)  # not 3,980 more requests from its preset
    assert newcomer.limits_for("a") == LIM
    assert not newcomer.limits_learned("a")  # adopted, not yet heard from the API itself
    with pytest.raises(InvalidRequestError, match="input-tokens-per-minute"):
        newcomer.try_acquire("a", input_tokens=4000, output_tokens=0)
    # configured limits below the learned ones stay the process's own
    modest = fresh(private_redis_url, Limits(5, 1000, 100), prefix)
    assert isinstance(modest.try_acquire("a", input_tokens=0, output_tokens=0), float)
    assert modest.limits_for("a") == Limits(5, 1000, 100)
    # learned limits outlive the buckets' refill time
    assert redis.Redis.from_url(private_redis_url).pttl(veteran.key("a")) > 3_000_000
    for limiter in (veteran, newcomer, modest):
        limiter.close()


# --- the same rule as in-process ------------------------------------------------------------------
SLOW = Limits(rpm=6, itpm=60, otpm=30)  # refill of 0.1 / 1 / 0.5 a second: tests take ms

ops = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 20), st.integers(0, 10)),
        st.tuples(st.just("others"), st.integers(0, 2), st.integers(0, 20), st.integers(0, 10)),
        st.tuples(st.just("answer"), st.integers(0, 20), st.floats(0, 1), st.floats(0, 1)),
    ),
    max_size=30,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops)
def test_redis_and_in_process_agree(private_redis_url: str, steps: list) -> None:
    shared = fresh(private_redis_url, SLOW)
    local = LocalRateLimiter({"a": SLOW})
    server = LocalRateLimiter({"a": SLOW})  # the organisation's buckets, others spending too
    in_flight: list[tuple[Reservation, Reservation, dict[str, str], int, int]] = []
    try:
        for step in steps:
            if step[0] == "send":
                _, estimate, max_tokens = step
                one = shared.try_acquire("a", input_tokens=estimate, output_tokens=max_tokens)
                two = local.try_acquire("a", input_tokens=estimate, output_tokens=max_tokens)
                assert isinstance(one, Reservation) == isinstance(two, Reservation)
                if isinstance(one, Reservation) and isinstance(two, Reservation):
                    at = server.try_acquire("a", input_tokens=estimate, output_tokens=max_tokens)
                    state = server.snapshot("a")
                    assert state is not None
                    said = (
                        state.requests.remaining,
                        state.input_tokens.remaining,
                        state.output_tokens.remaining,
                    )
                    used_in = estimate if isinstance(at, Reservation) else 0
                    in_flight.append((one, two, headers(said, SLOW), used_in, max_tokens))
            elif step[0] == "others":
                server.try_acquire(
                    "a", requests=step[1], input_tokens=step[2], output_tokens=step[3]
                )
            elif in_flight:
                one, two, said_headers, used_in, max_tokens = in_flight.pop(
                    step[1] % len(in_flight)
                )
                used_out = int(max_tokens * step[3])
                shared.learn("a", said_headers, reservation=one)
                shared.settle(one, input_tokens=used_in, output_tokens=used_out)
                local.learn("a", said_headers, reservation=two)
                local.settle(two, input_tokens=used_in, output_tokens=used_out)
                for a, b in zip(left(shared), left(local), strict=True):
                    assert abs(a - b) <= 1, (left(shared), left(local))
    finally:
        shared.close()


def test_the_script_costs_one_round_trip_per_settle(private_redis_url: str) -> None:
    """No extra call: ``learn`` does no I/O, and the observation rides on the settle."""
    limiter = fresh(private_redis_url)
    calls: list[Any] = []
    real = limiter._sync_call

    def counted(key: str, args: Any) -> Any:
        calls.append(args[0])
        return real(key, args)

    limiter._sync_call = counted  # type: ignore[method-assign]
    res = take(limiter)
    limiter.learn("a", headers((5, 3000, 900)), reservation=res)
    limiter.settle(res, input_tokens=0, output_tokens=0)  # nothing to refund: still one call
    assert calls == ["take", "give"]
    started = time.monotonic()
    assert left(limiter)[0] == 5
    assert time.monotonic() - started < 5
    limiter.close()
