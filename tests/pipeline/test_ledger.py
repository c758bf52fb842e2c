"""The ledger on SQLite and PostgreSQL: idempotent submit, one lease at a time, one result."""

from __future__ import annotations

import asyncio
from typing import Any

from claude_arch.pipeline import Completion, JobStatus, Ledger, NewJob


def jobs(n: int, run: str = "r", start: int = 0) -> list[NewJob]:
    return [
        NewJob(f"{run}-{i}", run, f"doc{i}.txt", {"model": "claude-haiku-4-5"}, "claude-haiku-4-5")
        for i in range(start, start + n)
    ]


DONE = Completion("ok", {"id": "msg"}, {"input_tokens": 5, "output_tokens": 7}, 0.25)


async def test_submit_twice_adds_nothing_new(ledger: Ledger) -> None:
    assert await ledger.submit(jobs(3)) == 3
    assert await ledger.submit(jobs(4)) == 1
    counts = await ledger.counts()
    assert counts["queued"] == 4


async def test_a_result_is_written_once(ledger: Ledger, clock: Any) -> None:
    await ledger.submit(jobs(1))
    [job] = await ledger.lease("w1", 5, lease_s=10)
    assert job.status == JobStatus.leased
    assert job.attempts == 1
    assert await ledger.complete(job, DONE)
    assert not await ledger.complete(job, DONE)
    assert not await ledger.retry(job, after_s=1, error="late")
    [row] = await ledger.jobs()
    assert (row.status, row.result, row.cost_usd) == (JobStatus.succeeded, "ok", 0.25)
    counts = await ledger.counts()
    assert (counts["input_tokens"], counts["output_tokens"]) == (5, 7)


async def test_an_expired_lease_is_taken_back_and_the_old_holder_refused(
    ledger: Ledger, clock: Any
) -> None:
    await ledger.submit(jobs(1))
    [first] = await ledger.lease("w1", 1, lease_s=10)
    clock.now += 9
    assert await ledger.lease("w2", 1, lease_s=10) == []
    clock.now += 2
    [second] = await ledger.lease("w2", 1, lease_s=10)
    assert second.id == first.id
    assert second.attempts == 2
    assert not await ledger.complete(first, DONE)
    assert await ledger.complete(second, DONE)


async def test_renewal_keeps_a_lease(ledger: Ledger, clock: Any) -> None:
    await ledger.submit(jobs(1))
    [job] = await ledger.lease("w1", 1, lease_s=10)
    clock.now += 8
    assert job.lease_token is not None
    assert await ledger.renew([job.lease_token], lease_s=10) == 1
    clock.now += 8
    assert await ledger.lease("w2", 1, lease_s=10) == []
    assert await ledger.complete(job, DONE)


async def test_retry_waits_for_retry_after_then_dies_out_of_attempts(
    ledger: Ledger, clock: Any
) -> None:
    await ledger.submit([NewJob("k", "r", "a.txt", {}, "m", max_attempts=2)])
    [job] = await ledger.lease("w", 1, lease_s=10)
    assert await ledger.retry(job, after_s=5, error="429")
    assert await ledger.next_due() == clock.now + 5
    clock.now += 4
    assert await ledger.lease("w", 1, lease_s=10) == []
    clock.now += 1
    [job] = await ledger.lease("w", 1, lease_s=10)
    assert await ledger.retry(job, after_s=5, error="529")
    [dead] = await ledger.jobs(status=JobStatus.dead)
    assert dead.last_error is not None
    assert "529" in dead.last_error
    assert "after 2 attempts" in dead.last_error
    assert await ledger.next_due() is None


async def test_a_job_whose_worker_keeps_dying_becomes_dead(ledger: Ledger, clock: Any) -> None:
    await ledger.submit([NewJob("k", "r", "a.txt", {}, "m", max_attempts=2)])
    for _ in range(2):
        assert len(await ledger.lease("w", 1, lease_s=10)) == 1
        clock.now += 11
    assert await ledger.lease("w", 1, lease_s=10) == []
    [dead] = await ledger.jobs(status=JobStatus.dead)
    assert dead.last_error is not None
    assert "lease expired" in dead.last_error


async def test_dead_jobs_are_queued_again_and_cancel_stops_the_rest(ledger: Ledger) -> None:
    await ledger.submit(jobs(3))
    leased = await ledger.lease("w", 3, lease_s=10)
    for job in leased[:2]:
        assert await ledger.fail(job, error="400 bad")
    assert await ledger.requeue_dead([leased[0].id]) == 1
    counts = await ledger.counts()
    assert (counts["queued"], counts["dead"], counts["leased"]) == (1, 1, 1)
    assert await ledger.cancel() == 2
    assert not await ledger.complete(leased[2], DONE)
    assert (await ledger.counts())["cancelled"] == 2


async def test_runs_are_separate(ledger: Ledger) -> None:
    await ledger.submit(jobs(2, run="a") + jobs(2, run="b"))
    assert {j.run for j in await ledger.lease("w", 10, lease_s=10, run="b")} == {"b"}
    assert (await ledger.counts("a"))["queued"] == 2


async def test_concurrent_leasers_never_share_a_job(
    ledger_url: str, table_name: str, ledger: Ledger
) -> None:
    """Eight ledgers (eight engines, eight connection pools) lease 600 jobs at once."""
    await ledger.submit(jobs(600))
    others = [await Ledger.open(ledger_url, table_name=table_name) for _ in range(8)]

    async def drain(i: int, other: Ledger) -> list[int]:
        got: list[int] = []
        while batch := await other.lease(f"w{i}", 7, lease_s=300):
            assert len(batch) <= 7
            got.extend(j.id for j in batch)
        return got

    try:
        taken = await asyncio.gather(*(drain(i, o) for i, o in enumerate(others)))
    finally:
        for other in others:
            await other.aclose()
    ids = [i for got in taken for i in got]
    assert len(ids) == len(set(ids)) == 600
    assert sum(1 for got in taken if got) > 1  # they really raced
