"""The Redis limiter against a real Redis: the same guarantee as in-process, shared by processes."""

from __future__ import annotations

import multiprocessing
import random
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import RateLimiter, RedisRateLimiter, Reservation
from claude_arch.errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigError,
    InvalidRequestError,
)

pytestmark = pytest.mark.redis

PRIVATE_DB = 14
LIMITS = {"a": Limits(rpm=5, itpm=1000, otpm=300), "b": Limits(rpm=3, itpm=500, otpm=900)}


@pytest.fixture
def private_redis_url(redis_url: str) -> str:
    """The test Redis, on a database no fixture flushes.

    Suites running at the same time on the same Redis flush the fixture's database between their
    tests, which would refill these buckets mid-test. Every test here uses keys of its own (a
    fresh prefix) that expire by themselves, so nothing needs flushing.
    """
    return urlunsplit(urlsplit(redis_url)._replace(path=f"/{PRIVATE_DB}"))


def fresh(url: str, limits: dict[str, Limits] = LIMITS, **kw: Any) -> RedisRateLimiter:
    """A limiter on keys of its own, so hypothesis examples never share buckets."""
    return RedisRateLimiter(url, limits, prefix=f"test:{uuid.uuid4().hex}:", **kw)


class TimedLedger:
    """Admissions and refunds with the client-side interval each happened in (server time lies
    within it): taken - refunded over events i..j <= capacity + rate * (end_j - start_i)."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, int], list[tuple[float, float, int]]] = {}

    def add(self, family: str, kind: int, span: tuple[float, float], amount: int) -> None:
        self.events.setdefault((family, kind), []).append((*span, amount))

    def assert_within(self, limits: dict[str, Limits]) -> None:
        for (family, kind), events in self.events.items():
            cap = (limits[family].rpm, limits[family].itpm, limits[family].otpm)[kind]
            for i, (start_i, _, _) in enumerate(events):
                total = 0
                for _, end_j, amount in events[i:]:
                    total += amount
                    assert total <= cap + cap / 60.0 * (end_j - start_i) + 1e-6


step = st.tuples(
    st.sampled_from(["a", "b"]),
    st.integers(0, 1000) | st.integers(0, 100),
    st.integers(0, 900) | st.integers(0, 100),
    st.floats(0.0, 1.5) | st.just(0.0),
    st.floats(0.0, 1.0) | st.just(0.0),
    st.integers(0, 3),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(step, max_size=40))
def test_admitted_minus_refunded_never_exceeds_capacity_plus_refill(
    private_redis_url: str, steps: list
) -> None:
    limiter = fresh(private_redis_url)
    ledger = TimedLedger()
    pending: list[tuple[Reservation, int, int]] = []
    try:
        for family, est, max_tokens, in_frac, out_frac, settle_pick in steps:
            lim = LIMITS[family]
            if est > lim.itpm or max_tokens > lim.otpm:
                with pytest.raises(InvalidRequestError):
                    limiter.try_acquire(family, input_tokens=est, output_tokens=max_tokens)
                continue
            before = time.time()
            got = limiter.try_acquire(family, input_tokens=est, output_tokens=max_tokens)
            span = (before, time.time())
            if isinstance(got, Reservation):
                for kind, amount in enumerate((1, est, max_tokens)):
                    ledger.add(family, kind, span, amount)
                pending.append((got, int(est * in_frac), int(max_tokens * out_frac)))
            else:
                assert got > 0
            if settle_pick and pending:
                res, used_in, used_out = pending.pop(settle_pick % len(pending))
                before = time.time()
                limiter.settle(res, input_tokens=used_in, output_tokens=used_out)
                span = (before, time.time())
                ledger.add(res.family, 1, span, -max(0, res.input_tokens - used_in))
                ledger.add(res.family, 2, span, -max(0, res.output_tokens - used_out))
        ledger.assert_within(LIMITS)
    finally:
        limiter.close()


def test_all_or_nothing_settle_and_snapshot(private_redis_url: str) -> None:
    limiter = fresh(private_redis_url)
    assert isinstance(limiter, RateLimiter)
    res = limiter.try_acquire("a", input_tokens=400, output_tokens=300)
    assert isinstance(res, Reservation)
    wait = limiter.try_acquire("a", input_tokens=100, output_tokens=30)
    assert isinstance(wait, float)
    assert 5.9 < wait <= 6.0  # OTPM empty, refilling 5 tokens/s
    limiter.settle(res, input_tokens=100, output_tokens=50)
    limiter.settle(res, input_tokens=100, output_tokens=50)  # idempotent
    state = limiter.snapshot("a")
    assert state is not None
    assert state.requests.remaining == 4  # the refused attempt took nothing
    assert state.input_tokens.remaining == 900
    assert 250 <= state.output_tokens.remaining <= 251
    more = limiter.try_acquire("a", input_tokens=0, output_tokens=250)
    assert isinstance(more, Reservation)
    limiter.settle(more, input_tokens=600, output_tokens=250)  # 600 over the estimate: charged
    state = limiter.snapshot("a")
    assert state is not None
    assert state.input_tokens.remaining <= 301
    limiter.close()


def test_oversized_and_unlimited(private_redis_url: str) -> None:
    limiter = fresh(private_redis_url)
    with pytest.raises(InvalidRequestError, match="output-tokens-per-minute"):
        limiter.try_acquire("a", input_tokens=1, output_tokens=301)
    res = limiter.try_acquire("opus", input_tokens=10**9, output_tokens=10**9)
    assert isinstance(res, Reservation)
    assert not res.limited
    assert limiter.snapshot("opus") is None
    limiter.close()


def test_pause_and_limits_are_shared_between_limiters(private_redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    one = RedisRateLimiter(private_redis_url, LIMITS, prefix=prefix)
    # a skewed local clock changes nothing: buckets run on the server's clock
    two = RedisRateLimiter(
        private_redis_url, LIMITS, prefix=prefix, clock=lambda: time.monotonic() + 1e6
    )
    for _ in range(3):
        assert isinstance(one.try_acquire("b", input_tokens=1, output_tokens=1), Reservation)
    assert isinstance(two.try_acquire("b", input_tokens=1, output_tokens=1), float)
    assert isinstance(two.try_acquire("a", input_tokens=1, output_tokens=1), Reservation)
    one.pause("a", 30.0)
    one.pause("opus", 30.0)
    wait = two.try_acquire("a", input_tokens=1, output_tokens=1)
    assert isinstance(wait, float)
    assert 29.0 < wait <= 30.0
    assert isinstance(two.try_acquire("opus", input_tokens=1, output_tokens=1), float)
    state = two.snapshot("a")
    assert state is not None
    assert 29.0 < state.paused_for <= 30.0
    one.close()
    two.close()


def test_learned_limits_keep_usage_and_keys_expire(private_redis_url: str) -> None:
    import redis

    limiter = fresh(private_redis_url)
    assert isinstance(limiter.try_acquire("a", input_tokens=800, output_tokens=0), Reservation)
    ttl_ms = redis.Redis.from_url(private_redis_url).pttl(limiter.key("a"))
    assert 47_000 < ttl_ms <= 49_000  # 800 of 1000 in use: full again in 48 s
    limiter.learn("a", {"anthropic-ratelimit-input-tokens-limit": "2000"})
    state = limiter.snapshot("a")
    assert state is not None
    assert state.input_tokens.limit == 2000
    assert 1200 <= state.input_tokens.remaining <= 1201
    limiter.close()


async def test_async_twins(private_redis_url: str) -> None:
    limiter = fresh(private_redis_url, {"a": Limits(rpm=6000, itpm=10**6, otpm=10**6)})
    drain = await limiter.atry_acquire("a", requests=6000, input_tokens=0, output_tokens=0)
    assert isinstance(drain, Reservation)
    res = await limiter.aacquire("a", input_tokens=5, output_tokens=50)
    await limiter.asettle(res, input_tokens=5, output_tokens=10)
    state = await limiter.asnapshot("a")
    assert state is not None
    assert state.output_tokens.remaining >= 10**6 - 10
    await limiter.apause("a", 60.0)
    with pytest.raises(APITimeoutError):
        await limiter.aacquire("a", input_tokens=1, output_tokens=1, deadline=time.monotonic() + 5)
    await limiter.aclose()


def test_acquire_waits_the_server_computed_time(private_redis_url: str) -> None:
    limiter = fresh(private_redis_url, {"a": Limits(rpm=6000, itpm=10**6, otpm=10**6)})
    drain = limiter.try_acquire("a", requests=6000, input_tokens=0, output_tokens=0)
    assert isinstance(drain, Reservation)
    res = limiter.acquire("a", input_tokens=1, output_tokens=1, deadline=time.monotonic() + 5)
    assert res.limited
    limiter.close()


def test_missing_redis_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, private_redis_url: str
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigError, match=r"pip install 'claude-arch\[redis\]'"):
        RedisRateLimiter(private_redis_url, LIMITS)


# --- eight processes, one limiter ---------------------------------------------------------------
RATE_LIMITS = Limits(rpm=10**6, itpm=180_000, otpm=10**7)  # ITPM binds: 3,000 tokens/s
RUN_SECONDS = 3.0


def _hammer(url: str, prefix: str, seed: int, signals: tuple[Any, Any, Any, Any]) -> None:
    ready, go, stop, out = signals
    limiter = RedisRateLimiter(url, {"a": RATE_LIMITS}, prefix=prefix)
    rng = random.Random(seed)
    ready.release()
    if not go.wait(timeout=60):
        return
    deadline = time.monotonic() + (stop.value - time.time())
    tokens, last = 0, 0.0
    while True:
        amount = rng.randint(1, 20)
        try:
            limiter.acquire("a", input_tokens=amount, output_tokens=1, deadline=deadline)
        except APITimeoutError:
            break
        tokens += amount
        last = time.time()
    limiter.close()
    out.put((tokens, last))


@pytest.mark.slow
def test_eight_processes_share_one_limit(private_redis_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    prefix = f"test:{uuid.uuid4().hex}:"
    ready, go, stop, out = ctx.Semaphore(0), ctx.Event(), ctx.Value("d", 0.0), ctx.Queue()
    workers = [
        ctx.Process(target=_hammer, args=(private_redis_url, prefix, seed, (ready, go, stop, out)))
        for seed in range(8)
    ]
    for w in workers:
        w.start()
    for _ in workers:
        assert ready.acquire(timeout=60)
    parent = RedisRateLimiter(private_redis_url, {"a": RATE_LIMITS}, prefix=prefix)
    # empty the bucket first, so what is measured is the refill rate, not the initial burst
    started = time.time()
    drained = parent.try_acquire("a", input_tokens=RATE_LIMITS.itpm, output_tokens=0)
    assert isinstance(drained, Reservation)
    stop.value = time.time() + RUN_SECONDS
    go.set()
    results = [out.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    parent.close()
    rate = RATE_LIMITS.itpm / 60.0
    admitted = sum(tokens for tokens, _ in results)
    last = max(at for _, at in results)
    most_possible = rate * (last - started)  # the bucket was empty at `started`
    reachable = rate * (stop.value - started)
    assert admitted <= most_possible * 1.01, (admitted, most_possible)
    assert admitted >= reachable * 0.95, (admitted, reachable)


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://:hunter2@127.0.0.1:{port}/0"


async def test_unreachable_redis_fails_open_without_leaking_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RedisRateLimiter(_closed_port_url(), LIMITS, socket_timeout=1.0)
    res = limiter.try_acquire("a", input_tokens=1, output_tokens=1)
    assert isinstance(res, Reservation)
    assert not res.limited
    limiter.settle(res, input_tokens=1, output_tokens=1)
    limiter.pause("a", 1.0)
    assert limiter.snapshot("a") is None
    got = await limiter.atry_acquire("a", input_tokens=1, output_tokens=1)
    assert isinstance(got, Reservation)
    assert "unreachable" in caplog.text
    assert "hunter2" not in caplog.text
    await limiter.aclose()


def test_unreachable_redis_can_fail_closed() -> None:
    limiter = RedisRateLimiter(_closed_port_url(), LIMITS, fail_open=False, socket_timeout=1.0)
    with pytest.raises(APIConnectionError, match="unreachable") as exc:
        limiter.try_acquire("a", input_tokens=1, output_tokens=1)
    assert "hunter2" not in str(exc.value)
    limiter.close()


def test_threads_share_one_client_and_the_totals_hold(private_redis_url: str) -> None:
    limiter = fresh(private_redis_url, {"a": Limits(rpm=10**6, itpm=600, otpm=10**6)})
    admitted: list[int] = []
    start = threading.Barrier(4)

    def hammer() -> None:
        start.wait(timeout=10)
        for _ in range(100):
            if isinstance(limiter.try_acquire("a", input_tokens=3, output_tokens=1), Reservation):
                admitted.append(3)

    began = time.time()
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.time() - began
    assert 600 - 3 <= sum(admitted) <= 600 + 10 * elapsed
    limiter.pause("a", float("inf"))  # clamped to a day: the script cannot parse "inf"
    wait = limiter.try_acquire("a", input_tokens=1, output_tokens=1)
    assert isinstance(wait, float)
    assert 86_000 < wait <= 86_400
    limiter.close()
