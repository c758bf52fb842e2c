"""What is handed to the broker: countdowns, enqueue, and the reconciler, on a real ledger."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from test_local_dispatcher import requests

from claude_arch.pipeline import Completion, JobStatus, Ledger
from claude_arch.pipeline.dispatchers.broker import countdown_for, enqueue, reconcile


class Sent:
    """A publisher that keeps what it was given (stands in for the broker)."""

    def __init__(self) -> None:
        self.items: list[tuple[int, float]] = []

    def __call__(self, items: Sequence[tuple[int, float]]) -> None:
        self.items.extend(items)

    @property
    def ids(self) -> list[int]:
        return [i for i, _ in self.items]


@given(
    wait=st.floats(-1e6, 1e6, allow_nan=False),
    cap=st.floats(0.001, 1e5, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_a_countdown_covers_the_wait_with_bounded_jitter_and_never_passes_the_cap(
    wait: float, cap: float, seed: int
) -> None:
    got = countdown_for(wait, cap, random.Random(seed))
    if wait <= 0:
        assert got == 0.0
        return
    assert got <= round(cap, 3) + 1e-9
    assert got >= round(min(wait, cap), 3) - 1e-3
    assert got <= round(wait * 1.1, 3) + 1e-3


async def test_lease_one_takes_only_that_job_and_only_when_due(ledger: Ledger, clock: Any) -> None:
    await ledger.submit(requests(3))
    first, second, _ = await ledger.jobs()
    job = await ledger.lease_one(second.id, "w", lease_s=10)
    assert job is not None
    assert (job.id, job.attempts, job.status) == (second.id, 1, JobStatus.leased)
    assert await ledger.lease_one(second.id, "other", lease_s=10) is None  # held
    assert await ledger.retry(job, after_s=30, error="429")
    assert await ledger.lease_one(second.id, "w", lease_s=10) is None  # not due yet
    waiting = await ledger.get(second.id)
    assert waiting is not None
    assert waiting.not_before == clock.now + 30
    clock.now += 31
    again = await ledger.lease_one(second.id, "w", lease_s=10)
    assert again is not None
    assert again.attempts == 2
    assert await ledger.complete(again, Completion("ok", {}, {}, 0.0))
    assert await ledger.lease_one(second.id, "w", lease_s=10) is None  # finished
    assert await ledger.lease_one(10_000, "w", lease_s=10) is None  # unknown
    untouched = await ledger.get(first.id)
    assert untouched is not None
    assert untouched.status == JobStatus.queued


async def test_enqueue_publishes_every_waiting_job_once_with_its_countdown(
    ledger: Ledger, clock: Any
) -> None:
    await ledger.submit(requests(2500))
    [job] = await ledger.lease("w", 1, lease_s=10)
    assert await ledger.retry(job, after_s=20, error="429")
    sent = Sent()
    assert await enqueue(ledger, sent, max_countdown_s=300) == 2500
    assert sorted(sent.ids) == sorted({j.id for j in await ledger.jobs(limit=3000)})
    countdowns = dict(sent.items)
    assert 20 <= countdowns[job.id] <= 22
    assert sum(1 for c in countdowns.values() if c) == 1
    # published jobs count as touched: a reconciler right after publishes none of them again
    again = Sent()
    done = await reconcile(ledger, again, stale_s=60)
    assert (done.reclaimed, done.republished, again.items) == (0, 0, [])


async def test_the_reconciler_queues_expired_leases_and_republishes_stale_jobs(
    ledger: Ledger, clock: Any
) -> None:
    await ledger.submit(requests(5))
    await enqueue(ledger, Sent())
    leased = await ledger.lease("dead-worker", 2, lease_s=10)
    clock.now += 11  # the worker died: its leases have expired
    sent = Sent()
    done = await reconcile(ledger, sent, stale_s=60)
    assert done.reclaimed == 2
    assert done.republished == 0
    assert sent.ids == [j.id for j in leased]
    for job in leased:
        back = await ledger.get(job.id)
        assert back is not None
        assert (back.status, back.attempts, back.lease_token) == (JobStatus.queued, 1, None)
        assert not await ledger.complete(job, Completion("late", {}, {}, 0.0))  # refused
    clock.now += 61  # nobody took the others for longer than stale_s: their messages were lost
    sent = Sent()
    done = await reconcile(ledger, sent, stale_s=60)
    assert (done.reclaimed, done.republished) == (0, 5)
    assert sorted(sent.ids) == sorted(j.id for j in await ledger.jobs())


async def test_an_expired_last_attempt_is_dead_not_requeued(ledger: Ledger, clock: Any) -> None:
    job = requests(1)[0]
    await ledger.submit([type(job)(**{**job.__dict__, "max_attempts": 1})])
    await ledger.lease("w", 1, lease_s=5)
    clock.now += 6
    sent = Sent()
    done = await reconcile(ledger, sent, stale_s=60)
    assert (done.reclaimed, sent.items) == (0, [])
    [dead] = await ledger.jobs(status=JobStatus.dead)
    assert dead.last_error is not None
    assert "last attempt" in dead.last_error
