"""A run's spending cap shared by every worker: reservations in the ledger, and real workers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery_fleet import Fleet, wait_until
from test_local_dispatcher import client_for, requests

from claude_arch.pipeline import Completion, JobStatus, Ledger
from claude_arch.pipeline.dispatchers.caps import SpendCaps, worst_case_usd
from claude_arch.testing import EmulatorServer


async def test_calls_are_admitted_while_spent_plus_reserved_fits(
    ledger: Ledger, clock: Any
) -> None:
    await ledger.submit(requests(6))
    caps = await SpendCaps.open(ledger)
    jobs = await ledger.lease("w", 6, lease_s=10)
    assert await caps.admit(jobs[0], 1.0) == "ok"  # no cap: nothing reserved
    await caps.release(jobs[0])

    await caps.set("r", 3.0)
    assert await caps.get("r") == 3.0
    assert [await caps.admit(j, 1.0) for j in jobs[:4]] == ["ok", "ok", "ok", "wait"]
    assert (await caps.usage("r"))["reserved_usd"] == 3.0
    # the first call cost less than it might have: its room comes back as spent
    assert await ledger.complete(jobs[0], Completion("hi", {}, {}, 0.25))
    await caps.release(jobs[0])
    assert await caps.admit(jobs[3], 0.5) == "ok"  # 0.25 + 2.0 + 0.5 <= 3
    assert await caps.admit(jobs[4], 1.0) == "wait"
    assert await caps.admit(jobs[5], 2.8) == "capped"  # no room even with nothing in flight
    # a worker that died frees its reservations when its leases run out
    clock.advance(11)
    again = await ledger.lease("w2", 6, lease_s=10)  # the five expired leases, taken back
    assert len(again) == 5
    assert [await caps.admit(j, 1.0) for j in again[:3]] == ["ok", "ok", "wait"]
    assert (await caps.usage("r"))["reserved_usd"] == 2.0  # the dead leases' rows are gone
    await caps.set("r", None)
    assert await caps.get("r") is None


async def test_concurrent_admissions_never_pass_the_cap(live_ledger: Ledger) -> None:
    await live_ledger.submit(requests(40))
    caps = await SpendCaps.open(live_ledger)
    await caps.set("r", 10.0)
    jobs = await live_ledger.lease("w", 40, lease_s=60)
    verdicts = await asyncio.gather(*(caps.admit(j, 1.0) for j in jobs))
    assert verdicts.count("ok") == 10
    assert verdicts.count("wait") == 30


async def test_a_worst_case_covers_the_call() -> None:
    async with EmulatorServer(speed=0) as emu, client_for(emu) as client:
        job = requests(1)[0]
        worst = worst_case_usd(client, job.request)
        message = await client.create(**job.request)
    assert message.record is not None
    assert 0 < float(message.record.cost_usd) <= worst


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(speed=0) as server:
        yield server


async def test_workers_stop_at_the_runs_cap_and_go_on_when_it_is_raised(
    emu: EmulatorServer, redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    """Two workers with 64 slots each and a cap for about half of the run: the recorded spend
    never passes it, the rest stays queued, and a higher cap finishes the run."""
    broker = redis_url.rsplit("/", 1)[0] + "/14"
    fleet = Fleet(
        emu, broker=broker, database=postgres_url, limiter_redis=redis_url, log_dir=tmp_path
    )
    jobs = requests(200)
    async with client_for(emu) as client:
        worst = worst_case_usd(client, jobs[0].request)
    cap = round(60 * worst, 6)
    ledger = await fleet.ledger()
    try:
        await ledger.submit(jobs)
        fleet.start()
        fleet.start()
        assert "capped at $" in fleet.cli("enqueue", "--run", "r", "--max-cost-usd", str(cap))

        async def cap_reached() -> bool:
            counts = await ledger.counts()
            return bool(counts["cost_usd"] + worst > cap and counts[JobStatus.leased] == 0)

        await wait_until(cap_reached, fleet, what="the cap reached", polls=1200)
        await asyncio.sleep(3)  # the jobs told to wait come back, and are refused
        counts = await ledger.counts()
        assert counts["cost_usd"] <= cap
        assert 60 <= counts[JobStatus.succeeded] < 200
        assert counts[JobStatus.queued] == 200 - counts[JobStatus.succeeded]
        assert counts["attempts"] == counts[JobStatus.succeeded]  # held back ≠ an attempt
        status = fleet.cli("status", "--run", "r", "--json")
        assert f'"max_cost_usd": {cap}' in status

        fleet.cli("enqueue", "--run", "r", "--max-cost-usd", "1000")

        async def all_done() -> bool:
            return (await ledger.counts())[JobStatus.succeeded] == 200

        await wait_until(all_done, fleet, what="all 200 succeeded", polls=1200)
    finally:
        fleet.stop()
        await ledger.drop()
        await ledger.aclose()
    assert emu.stats()["totals"]["requests"] == 200
