"""The in-process limiter on a fake clock: the window guarantee, refunds, pauses, learning."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import Limits, default_catalog
from claude_arch.core.ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    Reservation,
    itpm_tokens,
    limiter_from_settings,
    limits_from_headers,
)
from claude_arch.core.ratelimit.local import PRUNE_AT
from claude_arch.core.types import Usage
from claude_arch.errors import InvalidRequestError, LimiterTimeoutError
from claude_arch.settings import Settings
from claude_arch.testing import ManualClock

LIMITS = {"a": Limits(rpm=5, itpm=1000, otpm=300), "b": Limits(rpm=3, itpm=500, otpm=900)}
KINDS = ("requests", "input_tokens", "output_tokens")


@dataclass
class Ledger:
    """Every admission and settle per (family, kind): (time, units taken minus units refunded)."""

    events: dict[tuple[str, str], list[tuple[float, int]]] = field(default_factory=dict)

    def add(self, family: str, kind: str, at: float, amount: int) -> None:
        self.events.setdefault((family, kind), []).append((at, amount))

    def assert_within(self, limits: dict[str, Limits], slack: float = 1e-6) -> None:
        """For every window [t_i, t_j]: taken - refunded <= capacity + capacity/60 * (t_j - t_i)."""
        for (family, kind), events in self.events.items():
            lim = limits[family]
            cap = {"requests": lim.rpm, "input_tokens": lim.itpm, "output_tokens": lim.otpm}[kind]
            for i, (t_i, _) in enumerate(events):
                total = 0
                for t_j, amount in events[i:]:
                    total += amount
                    bound = cap + cap / 60.0 * (t_j - t_i)
                    assert total <= bound + slack, (family, kind, t_i, t_j, total, bound)


def record_admission(ledger: Ledger, res: Reservation, at: float) -> None:
    ledger.add(res.family, "requests", at, res.requests)
    ledger.add(res.family, "input_tokens", at, res.input_tokens)
    ledger.add(res.family, "output_tokens", at, res.output_tokens)


def record_settle(ledger: Ledger, res: Reservation, at: float, used_in: int, used_out: int) -> None:
    # only refunds count against the guarantee; usage above the reservation is the caller's debt
    ledger.add(res.family, "input_tokens", at, -max(0, res.input_tokens - used_in))
    ledger.add(res.family, "output_tokens", at, -max(0, res.output_tokens - used_out))


step = st.tuples(
    st.sampled_from(["a", "b"]),
    st.integers(0, 1000) | st.integers(0, 100),  # input estimate
    st.integers(0, 900) | st.integers(0, 100),  # max_tokens
    st.floats(0.0, 1.5) | st.just(0.0),  # actual input as a fraction of the estimate
    st.floats(0.0, 1.0) | st.just(0.0),  # actual output as a fraction of max_tokens
    st.just(0.0) | st.floats(0.0, 2.0) | st.floats(0.0, 40.0),  # seconds before this step
    st.integers(0, 3),  # settle one of the pending reservations this step (0: none)
)


@settings(max_examples=500, deadline=None)
@given(st.lists(step, max_size=80))
def test_admitted_minus_refunded_never_exceeds_capacity_plus_refill(steps: list) -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    ledger = Ledger()
    pending: list[tuple[Reservation, int, int]] = []
    for family, est, max_tokens, in_frac, out_frac, advance, settle_pick in steps:
        clock.advance(advance)
        lim = LIMITS[family]
        if est > lim.itpm or max_tokens > lim.otpm:
            with pytest.raises(InvalidRequestError):
                limiter.try_acquire(family, input_tokens=est, output_tokens=max_tokens)
            continue
        got = limiter.try_acquire(family, input_tokens=est, output_tokens=max_tokens)
        if isinstance(got, Reservation):
            record_admission(ledger, got, clock.now)
            pending.append((got, int(est * in_frac), int(max_tokens * out_frac)))
        else:
            assert got > 0
        if settle_pick and pending:
            res, used_in, used_out = pending.pop(settle_pick % len(pending))
            limiter.settle(res, input_tokens=used_in, output_tokens=used_out)
            record_settle(ledger, res, clock.now, used_in, used_out)
    ledger.assert_within(LIMITS)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 300)), min_size=1, max_size=30),
)
def test_the_announced_wait_is_exact(requests: list[tuple[int, int]]) -> None:
    """Not too strict either: after the announced wait the same request is admitted."""
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    for est, out in requests:
        got = limiter.try_acquire("a", input_tokens=est, output_tokens=out)
        if isinstance(got, float):
            clock.advance(got)
            again = limiter.try_acquire("a", input_tokens=est, output_tokens=out)
            assert isinstance(again, Reservation) or again < 1e-9


def test_all_or_nothing() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    assert isinstance(limiter.try_acquire("a", input_tokens=100, output_tokens=300), Reservation)
    wait = limiter.try_acquire("a", input_tokens=100, output_tokens=30)
    assert wait == pytest.approx(6.0)  # OTPM refills 5 tokens/s; RPM and ITPM had room
    state = limiter.snapshot("a")
    assert state is not None
    assert (state.requests.remaining, state.input_tokens.remaining) == (4, 900)
    assert state.output_tokens.remaining == 0
    assert state.output_tokens.reset == pytest.approx(60.0)


def test_settle_refunds_unused_output_and_is_idempotent() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    res = limiter.try_acquire("a", input_tokens=400, output_tokens=300)
    assert isinstance(res, Reservation)
    limiter.settle(res, input_tokens=100, output_tokens=50)
    limiter.settle(res, input_tokens=100, output_tokens=50)
    state = limiter.snapshot("a")
    assert state is not None
    assert (state.input_tokens.remaining, state.output_tokens.remaining) == (900, 250)


def test_settle_charges_usage_beyond_the_reservation() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    res = limiter.try_acquire("a", input_tokens=500, output_tokens=10)
    assert isinstance(res, Reservation)
    limiter.settle(res, input_tokens=1500, output_tokens=10)  # the estimate was 1000 too low
    state = limiter.snapshot("a")
    assert state is not None
    assert state.input_tokens.remaining == 0
    assert limiter.try_acquire("a", input_tokens=1, output_tokens=1) == pytest.approx(30.06)


def test_cache_reads_do_not_count_against_itpm() -> None:
    usage = Usage(input_tokens=10, cache_creation_input_tokens=200, cache_read_input_tokens=5000)
    assert itpm_tokens(usage) == 210


def test_oversized_request_names_the_limit() -> None:
    limiter = LocalRateLimiter(LIMITS, clock=ManualClock())
    with pytest.raises(InvalidRequestError, match="input-tokens-per-minute") as exc:
        limiter.try_acquire("a", input_tokens=1001, output_tokens=1)
    assert exc.value.field == "messages"
    with pytest.raises(InvalidRequestError, match="output-tokens-per-minute") as exc:
        limiter.try_acquire("a", input_tokens=1, output_tokens=301)
    assert exc.value.field == "max_tokens"
    with pytest.raises(InvalidRequestError, match="negative"):
        limiter.try_acquire("a", input_tokens=-1, output_tokens=1)


def test_unlimited_family_and_scopes() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    res = limiter.try_acquire("opus", input_tokens=10**9, output_tokens=10**9)
    assert isinstance(res, Reservation)
    assert not res.limited
    limiter.settle(res, input_tokens=0, output_tokens=0)
    assert limiter.snapshot("opus") is None
    for _ in range(3):
        assert isinstance(limiter.try_acquire("b", input_tokens=1, output_tokens=1), Reservation)
    assert isinstance(limiter.try_acquire("b", input_tokens=1, output_tokens=1), float)
    other = limiter.try_acquire("b", input_tokens=1, output_tokens=1, scope="key-2")
    assert isinstance(other, Reservation)


def test_pause_blocks_the_bucket_until_it_ends() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    limiter.pause("a", 10.0)
    limiter.pause("a", 2.0)  # a shorter pause never shortens a longer one
    limiter.pause("opus", 5.0)
    assert limiter.try_acquire("a", input_tokens=1, output_tokens=1) == pytest.approx(10.0)
    assert limiter.try_acquire("opus", input_tokens=1, output_tokens=1) == pytest.approx(5.0)
    assert isinstance(limiter.try_acquire("b", input_tokens=1, output_tokens=1), Reservation)
    state = limiter.snapshot("a")
    assert state is not None
    assert state.paused_for == pytest.approx(10.0)
    clock.advance(10.0)
    assert isinstance(limiter.try_acquire("a", input_tokens=1, output_tokens=1), Reservation)
    assert isinstance(limiter.try_acquire("opus", input_tokens=1, output_tokens=1), Reservation)


def test_learn_adopts_header_limits_and_keeps_usage() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    assert isinstance(limiter.try_acquire("a", input_tokens=800, output_tokens=0), Reservation)
    limiter.learn(
        "a",
        {
            "Anthropic-RateLimit-Input-Tokens-Limit": "2000",
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-input-tokens-remaining": "1500",  # above: no lower
        },
    )
    assert limiter.limits_for("a") == Limits(rpm=50, itpm=2000, otpm=300)
    state = limiter.snapshot("a")
    assert state is not None
    assert (state.input_tokens.limit, state.input_tokens.remaining) == (2000, 1200)
    assert (state.requests.limit, state.requests.remaining) == (50, 49)
    # a family without limits learns only from a complete set of headers
    limiter.learn("opus", {"anthropic-ratelimit-requests-limit": "50"})
    assert limiter.limits_for("opus") is None
    limiter.learn(
        "opus",
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-input-tokens-limit": "30000",
            "anthropic-ratelimit-output-tokens-limit": "8000",
        },
        scope="key-1",
    )
    assert limiter.limits_for("opus", scope="key-1") == Limits(50, 30000, 8000)
    assert limiter.limits_for("opus") is None


def test_limits_from_headers_ignores_garbage() -> None:
    current = Limits(1, 2, 3)
    assert limits_from_headers({}, current) is None
    assert limits_from_headers({"anthropic-ratelimit-requests-limit": "x"}, current) is None
    assert limits_from_headers({"anthropic-ratelimit-requests-limit": "0"}, current) is None


async def test_acquire_waits_the_computed_time() -> None:
    limiter = LocalRateLimiter({"a": Limits(rpm=6000, itpm=10**6, otpm=10**6)})
    started = time.monotonic()
    drain = limiter.try_acquire("a", requests=6000, input_tokens=0, output_tokens=0)
    assert isinstance(drain, Reservation)
    res = await limiter.aacquire("a", input_tokens=1, output_tokens=1)
    assert res.requests == 1
    # admitted only once one request has refilled (10 ms at 100/s); correctness, not speed
    assert time.monotonic() - started >= 0.0099


async def test_acquire_gives_up_at_once_when_the_deadline_cannot_be_met() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    assert isinstance(limiter.try_acquire("a", input_tokens=1000, output_tokens=1), Reservation)
    with pytest.raises(LimiterTimeoutError, match="deadline"):
        await asyncio.wait_for(
            limiter.aacquire("a", input_tokens=500, output_tokens=1, deadline=clock.now + 29.0),
            timeout=1.0,
        )
    with pytest.raises(LimiterTimeoutError):
        limiter.acquire("a", input_tokens=500, output_tokens=1, deadline=clock.now + 29.0)
    clock.advance(30.0)
    res = await limiter.aacquire("a", input_tokens=500, output_tokens=1, deadline=clock.now)
    assert res.input_tokens == 500


def test_acquire_waits_in_threads() -> None:
    limiter = LocalRateLimiter({"a": Limits(rpm=6000, itpm=10**6, otpm=10**6)})
    started = time.monotonic()
    assert isinstance(
        limiter.try_acquire("a", requests=6000, input_tokens=0, output_tokens=0), Reservation
    )
    results: list[Reservation] = []
    worker = threading.Thread(
        target=lambda: results.append(
            limiter.acquire("a", input_tokens=1, output_tokens=1, deadline=started + 10)
        )
    )
    worker.start()
    worker.join(timeout=10)
    assert len(results) == 1
    assert time.monotonic() - started >= 0.0099


def test_thread_safety_totals_are_exact() -> None:
    clock = ManualClock()  # frozen: no refill, so exactly the capacity is admitted
    limits = {"a": Limits(rpm=10**6, itpm=20_000, otpm=10**6)}
    limiter = LocalRateLimiter(limits, clock=clock)
    admitted: list[list[Reservation]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def hammer(mine: list[Reservation]) -> None:
        start.wait(timeout=10)
        for _ in range(3000):
            got = limiter.try_acquire("a", input_tokens=3, output_tokens=7)
            if isinstance(got, Reservation):
                mine.append(got)

    threads = [threading.Thread(target=hammer, args=(a,)) for a in admitted]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    everything = [r for mine in admitted for r in mine]
    assert len(everything) == 20_000 // 3

    def settle_all(mine: list[Reservation]) -> None:
        for res in mine:
            limiter.settle(res, input_tokens=0, output_tokens=0)

    settlers = [threading.Thread(target=settle_all, args=(mine,)) for mine in admitted]
    for t in settlers:
        t.start()
    for t in settlers:
        t.join(timeout=30)
    state = limiter.snapshot("a")
    assert state is not None
    assert state.input_tokens.remaining == 20_000
    assert state.output_tokens.remaining == 10**6
    assert state.requests.remaining == 10**6 - len(everything)


def test_limiter_from_settings() -> None:
    catalog = default_catalog()
    assert limiter_from_settings(Settings(_env_file=None, rate_limit_tier="none"), catalog) is None
    local = limiter_from_settings(Settings(_env_file=None, rate_limit_tier="tier1"), catalog)
    assert isinstance(local, LocalRateLimiter)
    assert isinstance(local, RateLimiter)
    assert local.limits_for("haiku") == catalog.limits("tier1")["haiku"]
    shared = limiter_from_settings(
        Settings(_env_file=None, redis_url="redis://127.0.0.1:1/0"), catalog
    )
    assert isinstance(shared, RedisRateLimiter)  # no connection until first use
    assert isinstance(shared, RateLimiter)


def test_importing_the_package_does_not_import_redis() -> None:
    code = (
        "import sys, claude_arch, claude_arch.core.ratelimit as rl; "
        "assert 'redis' not in sys.modules, 'redis imported'; "
        "rl.LocalRateLimiter({})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def test_async_twins_match_the_sync_methods() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    res = await limiter.atry_acquire("a", input_tokens=100, output_tokens=300)
    assert isinstance(res, Reservation)
    await limiter.asettle(res, input_tokens=100, output_tokens=100)
    await limiter.apause("a", 3.0)
    assert await limiter.asnapshot("a") == limiter.snapshot("a")
    state = await limiter.asnapshot("a")
    assert state is not None
    assert (state.output_tokens.remaining, state.paused_for) == (200, 3.0)
    await limiter.aclose()
    limiter.close()


def test_buckets_of_idle_callers_are_forgotten_and_behave_as_full() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    for n in range(PRUNE_AT):
        got = limiter.try_acquire("a", input_tokens=10, output_tokens=10, scope=f"key{n}")
        assert isinstance(got, Reservation)
    clock.advance(60)  # every one of them has refilled
    busy = limiter.try_acquire("a", input_tokens=1000, output_tokens=300, scope="busy")
    assert isinstance(busy, Reservation)
    assert len(limiter._buckets) == 1  # the prune forgot the full ones, then added "busy"
    busy_state = limiter.snapshot("a", scope="busy")
    assert busy_state is not None
    assert busy_state.input_tokens.remaining == 0  # a bucket in use is kept
    state = limiter.snapshot("a", scope="key0")
    assert state is not None
    assert state.requests.remaining == LIMITS["a"].rpm  # forgotten means full
