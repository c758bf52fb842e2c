"""Per-key limits and budgets shared through Redis: N replicas enforce ONE limit together."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from decimal import Decimal

import pytest
from test_quota import admit, make_key

from claude_arch.errors import (
    RateLimitError,
    SpendLimitError,
    StoreUnavailableError,
)
from claude_arch.service.tenancy.keys import ApiKey
from claude_arch.service.tenancy.quota import Quotas

pytestmark = pytest.mark.redis

UNREACHABLE = "redis://127.0.0.1:1/0"


async def admitted_count(replicas: list[Quotas], key: ApiKey, attempts: int, **kw: object) -> int:
    """Admits spread round-robin over the replicas, all at once; how many got through."""

    async def one(n: int) -> int:
        try:
            await admit(replicas[n % len(replicas)], key, **kw)
        except (RateLimitError, SpendLimitError):
            return 0
        return 1

    return sum(await asyncio.gather(*(one(n) for n in range(attempts))))


async def test_two_replicas_share_one_rpm_limit(redis_url: str) -> None:
    replicas = [Quotas(redis_url=redis_url), Quotas(redis_url=redis_url)]
    key = make_key(rpm=10)
    try:
        assert await admitted_count(replicas, key, 20) == 10
        with pytest.raises(RateLimitError, match="10 requests per minute") as exc_info:
            await admit(replicas[1], key)
        assert exc_info.value.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert 0 < (exc_info.value.retry_after or 0) <= 6.0
    finally:
        for quotas in replicas:
            await quotas.aclose()


async def test_two_replicas_share_one_budget(redis_url: str) -> None:
    replicas = [Quotas(redis_url=redis_url), Quotas(redis_url=redis_url)]
    key = make_key(budget="1", period="day")
    try:
        got = await admitted_count(replicas, key, 10, max_cost_usd=Decimal("0.3"))
        assert got == 3
        probe = await admit(replicas[1], key, max_cost_usd=Decimal("0.1"))
        assert probe.headers["claude-arch-budget-remaining-usd"] == "0.000000"
        await replicas[0].settle(probe, input_tokens=1, output_tokens=1, cost_usd=Decimal("0.05"))
        assert await replicas[1].spent(key) == Decimal("0.05")
    finally:
        for quotas in replicas:
            await quotas.aclose()


async def test_tokens_are_refunded_across_replicas(redis_url: str) -> None:
    a, b = Quotas(redis_url=redis_url), Quotas(redis_url=redis_url)
    key = make_key(tpm=1000)
    try:
        first = await admit(a, key, input_tokens=100, max_output_tokens=800)
        with pytest.raises(RateLimitError, match="1000 tokens per minute"):
            await admit(b, key, input_tokens=100, max_output_tokens=700)
        await a.settle(first, input_tokens=100, output_tokens=50, cost_usd=Decimal(0))
        await admit(b, key, input_tokens=100, max_output_tokens=700)  # 750 came back
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_hold_whose_replica_died_is_released(redis_url: str) -> None:
    dead = Quotas(redis_url=redis_url, hold_ttl_s=0.2)
    alive = Quotas(redis_url=redis_url, hold_ttl_s=0.2)
    key = make_key(budget="1")
    try:
        orphan = await admit(dead, key, max_cost_usd=Decimal("1"))  # never settled in time
        deadline = time.monotonic() + 10.0
        while True:
            try:
                late = await admit(alive, key, max_cost_usd=Decimal("1"))
                break
            except SpendLimitError:
                assert time.monotonic() < deadline, "the orphaned hold was never released"
                await asyncio.sleep(0.05)
        # the orphan settles after all: its cost is charged, its (expired) hold not released twice
        await dead.settle(orphan, input_tokens=1, output_tokens=1, cost_usd=Decimal("0.25"))
        await alive.settle(late, input_tokens=1, output_tokens=1, cost_usd=Decimal("0.5"))
        assert await alive.spent(key) == Decimal("0.75")
        with pytest.raises(SpendLimitError, match=r"0\.750000 USD spent"):
            await admit(alive, key, max_cost_usd=Decimal("0.26"))
        await admit(alive, key, max_cost_usd=Decimal("0.25"))
    finally:
        await dead.aclose()
        await alive.aclose()


async def test_unreachable_redis_fails_closed_by_default() -> None:
    quotas = Quotas(redis_url=UNREACHABLE)
    host = UNREACHABLE.split("//", 1)[1].split("/", 1)[0]
    try:
        with pytest.raises(StoreUnavailableError, match="unreachable") as caught:
            await admit(quotas, make_key(rpm=5, budget="1"))
        assert host not in caught.value.message  # the caller never learns internal addresses
        with pytest.raises(StoreUnavailableError, match="unreachable") as caught:
            await quotas.ping()
        assert host not in caught.value.message
    finally:
        await quotas.aclose()


async def test_unreachable_redis_admits_when_failing_open() -> None:
    quotas = Quotas(redis_url=UNREACHABLE, fail_open=True)
    try:
        got = await admit(quotas, make_key(rpm=5, budget="1"))
        assert got.hold is None
        await quotas.settle(got, input_tokens=1, output_tokens=1, cost_usd=Decimal(1))
    finally:
        await quotas.aclose()


def _replica(redis_url: str, key: ApiKey, attempts: int) -> int:
    async def run() -> int:
        quotas = Quotas(redis_url=redis_url)
        try:
            return await admitted_count([quotas], key, attempts)
        finally:
            await quotas.aclose()

    return asyncio.run(run())


def test_two_os_processes_share_one_limit(redis_url: str) -> None:
    # rpm=3 refills one request every 20 s: far longer than two processes take to start
    key = make_key(rpm=3)
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        counts = pool.starmap(_replica, [(redis_url, key, 10), (redis_url, key, 10)])
    assert sum(counts) == 3
