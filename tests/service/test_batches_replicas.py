"""Who owns a batch, and what it cost, outlive the gateway that created it: after a restart
(SQLite file, and PostgreSQL) the batch is still its key's alone and is settled by the new
process; two replicas sharing the database and Redis that both see a batch end settle it once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import pytest
import redis.asyncio
from batch_support import (
    MODEL,
    batch_requests,
    batch_upstream,
    key_of,
    results_cost,
    settled,
    until,
)
from keys_databases import SQL_BACKENDS, database_for
from service_process import ServiceProcess
from test_quota import make_key

from claude_arch.constants import HEADER_BUDGET_REMAINING
from claude_arch.core.sql import make_engine
from claude_arch.core.wire import BATCHES_PATH
from claude_arch.service.api.batch_store import BatchOwners
from claude_arch.service.tenancy.budgets import BATCH_HOLD_TTL_S, RedisBudgets
from claude_arch.service.tenancy.keys import KeyStore
from claude_arch.service.tenancy.quota import Quotas, usd
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

BUDGET = Decimal(20)
POLL_LIMIT_S = 60.0


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_for(request, request.param, tmp_path) as url:
        yield url


async def test_ownership_and_settlement_survive_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        batch_upstream() as (emu, _seen),
        anthropic.AsyncAnthropic(base_url=emu.url, api_key=emu.api_key) as direct,
    ):
        async with ServiceServer.for_emulator(
            emu, tmp_path / "one", database_url=database_url
        ) as first:
            owner = await first.create_key("owner", budget_usd=BUDGET)
            other = await first.create_key("other")
            async with anthropic.AsyncAnthropic(base_url=first.url, api_key=owner) as sdk:
                batch = await sdk.messages.batches.create(requests=batch_requests(10))

        # it ends upstream while no gateway runs
        async def upstream_ended() -> Any:
            b = await direct.messages.batches.retrieve(batch.id)
            return b if b.processing_status == "ended" else None

        await until(upstream_ended, "the batch ended upstream")

        async with (
            ServiceServer.for_emulator(emu, tmp_path / "two", database_url=database_url) as second,
            anthropic.AsyncAnthropic(base_url=second.url, api_key=owner) as sdk,
            anthropic.AsyncAnthropic(base_url=second.url, api_key=other) as stranger,
        ):
            done = await sdk.messages.batches.retrieve(batch.id)
            assert done.processing_status == "ended"
            assert done.results_url == f"{second.url}{BATCHES_PATH}/{batch.id}/results"
            assert [b.id async for b in sdk.messages.batches.list()] == [batch.id]
            results = [r async for r in await sdk.messages.batches.results(batch.id)]
            assert len(results) == 10
            with pytest.raises(anthropic.NotFoundError):
                await stranger.messages.batches.retrieve(batch.id)
            with pytest.raises(anthropic.NotFoundError):
                await stranger.messages.batches.results(batch.id)
            assert [b.id async for b in stranger.messages.batches.list()] == []

            key = await key_of(second, owner)
            row = await settled(second, batch.id, key)
            assert usd(row.cost_micro_usd or 0) == results_cost(results)
            assert await second.gateway.quotas.spent(key) == results_cost(results)


async def shared_key(database_url: str) -> tuple[str, Any]:
    """A key with a budget in the shared database, made before either replica starts."""
    engine = make_engine(database_url)
    try:
        store = KeyStore(engine)
        await store.init()
        key, secret = await store.create("owner", budget_usd=BUDGET)
        await store.aclose()
    finally:
        await engine.dispose()
    return secret, key


async def spent_and_row(
    redis_url: str, database_url: str, key: Any, batch_id: str
) -> tuple[Decimal, Any]:
    quotas = Quotas(redis_url=redis_url)
    engine = make_engine(database_url)
    try:
        return await quotas.spent(key), await BatchOwners(engine).get(batch_id, key.id)
    finally:
        await quotas.aclose()
        await engine.dispose()


def settled_lines(*replicas: ServiceProcess) -> list[dict[str, Any]]:
    """The "batch settled" log lines of every replica."""
    lines = []
    for replica in replicas:
        for line in replica.log_path.read_text(errors="replace").splitlines():
            if '"batch settled"' in line:
                lines.append(json.loads(line))
    return lines


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_two_replicas_that_both_see_a_batch_end_settle_it_once(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    secret, key = asyncio.run(shared_key(database_url))
    env = {"CLAUDE_ARCH_REDIS_URL": redis_url, "CLAUDE_ARCH_DATABASE_URL": database_url}
    with (
        EmulatorServer(speed=0, batch_seconds_per_request=0) as emu,
        ServiceProcess(tmp_path / "a", upstream=emu, env=env) as a,
        ServiceProcess(tmp_path / "b", upstream=emu, env=env) as b,
        anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key) as direct,
        anthropic.Anthropic(base_url=a.url, api_key=secret, max_retries=0) as via_a,
        anthropic.Anthropic(base_url=b.url, api_key=secret, max_retries=0) as via_b,
    ):
        a.wait_ready()
        b.wait_ready()
        batch = via_a.messages.batches.create(requests=batch_requests(200, max_tokens=64))

        # ended upstream, seen by neither replica yet
        until_sync(lambda: direct.messages.batches.retrieve(batch.id).processing_status == "ended")
        results = list(direct.messages.batches.results(batch.id))
        cost = results_cost(results)

        def observe(sdk: anthropic.Anthropic, how: str) -> None:
            if how == "retrieve":
                sdk.messages.batches.retrieve(batch.id)
            elif how == "list":
                list(sdk.messages.batches.list())
            else:
                list(sdk.messages.batches.results(batch.id))

        # both replicas see it ended, several times each, at once
        calls = [(sdk, how) for sdk in (via_a, via_b) for how in ("retrieve", "list", "results")]
        with ThreadPoolExecutor(len(calls) * 2) as pool:
            for done in [pool.submit(observe, *call) for call in calls * 2]:
                done.result()

        def settled_once() -> bool:
            spent, row = asyncio.run(spent_and_row(redis_url, database_url, key, batch.id))
            return row is not None and row.settled and spent == cost

        until_sync(settled_once)
        # looking again, on either replica, charges nothing more
        for sdk in (via_a, via_b):
            observe(sdk, "results")
            observe(sdk, "retrieve")
        lines = settled_lines(a, b)
        assert [(line["batch_id"], line["cost_usd"]) for line in lines] == [(batch.id, str(cost))]
        spent, row = asyncio.run(spent_and_row(redis_url, database_url, key, batch.id))
        assert spent == cost
        assert usd(row.cost_micro_usd) == cost
        assert row.hold is not None
        assert row.hold.amount > 0  # the worst case was held, and the settlement released it:
        counted = via_b.messages.with_raw_response.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
        assert Decimal(counted.headers[HEADER_BUDGET_REMAINING]) == BUDGET - cost
        assert lines[0]["batch_requests"] == 200
        assert lines[0]["key_id"] == key.id
        assert MODEL in {r.result.message.model for r in results}


def until_sync(condition: Any) -> None:
    """Poll ``condition`` until it holds; fail after ``POLL_LIMIT_S``."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {POLL_LIMIT_S} s")
        time.sleep(0.05)


@pytest.mark.redis
async def test_a_batch_hold_outlives_the_batch_and_a_call_hold_does_not(redis_url: str) -> None:
    """In Redis a hold lapses at its TTL, by the server's clock: a batch's after 25 hours (the
    API ends a batch within 24), a single call's after the usual hour."""
    quotas = Quotas(redis_url=redis_url)
    key = make_key(budget="10")
    try:
        for_batch = await quotas.admit(
            key,
            input_tokens=0,
            max_output_tokens=0,
            max_cost_usd=Decimal("1"),
            hold_ttl_s=BATCH_HOLD_TTL_S,
        )
        for_call = await quotas.admit(
            key, input_tokens=10, max_output_tokens=10, max_cost_usd=Decimal("1")
        )
        assert for_batch.hold is not None
        assert for_call.hold is not None
        holds = RedisBudgets(redis_url).keys(for_batch.hold.slot)[1]
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            seconds, micros = await client.time()
            now_ms = seconds * 1000 + micros // 1000
            batch_ttl_ms = await client.zscore(holds, for_batch.hold.id) - now_ms
            call_ttl_ms = await client.zscore(holds, for_call.hold.id) - now_ms
        finally:
            await client.aclose()
        hour_ms = 3600 * 1000
        assert 25 * hour_ms - 60_000 < batch_ttl_ms <= 25 * hour_ms
        assert hour_ms - 60_000 < call_ttl_ms <= hour_ms
        # the batch's hold is settled like any other: released, and the cost charged
        hold = await quotas.keep_hold(for_batch)
        await quotas.charge(hold, cost_usd=Decimal("0.25"))
        await quotas.settle(for_call, input_tokens=0, output_tokens=0, cost_usd=Decimal(0))
        assert await quotas.spent(key) == Decimal("0.25")
    finally:
        await quotas.aclose()
