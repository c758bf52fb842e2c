"""Handing job ids to a Celery broker: which jobs to publish, with what countdown, and sending.

The ledger is the truth and a message is only a hint that a job may be due: a task leases its
job before it calls anything, so a duplicate message costs one ``UPDATE`` and never a second
call or a second result. That makes re-publishing safe, and it is how lost messages are healed:

- :func:`enqueue` publishes every waiting job (of a run): ``pipeline enqueue``;
- :func:`reconcile` returns expired leases to ``queued`` and publishes them, and publishes again
  the waiting jobs nobody touched for ``stale_s`` (a message lost with a broker, or held
  unacknowledged by a worker that was killed): ``pipeline reconcile`` and the beat schedule.

    published = await enqueue(ledger, publisher, run="nightly")
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claude_arch.pipeline.ledger import Ledger

__all__ = [
    "RUN_JOB_TASK",
    "Publisher",
    "Reconciled",
    "celery_publisher",
    "countdown_for",
    "enqueue",
    "reconcile",
]

RUN_JOB_TASK = "claude_arch.pipeline.run_job"
RECONCILE_TASK = "claude_arch.pipeline.reconcile"
_PAGE = 1000

Publisher = Callable[[Sequence[tuple[int, float]]], None]
"""Sends ``(job id, countdown seconds)`` pairs to the broker."""


def countdown_for(wait_s: float, max_countdown_s: float, rng: random.Random | None = None) -> float:
    """The countdown for a job due in ``wait_s`` seconds: the wait plus up to 10% jitter (so jobs
    told the same ``retry-after`` do not all come back in the same instant), capped at
    ``max_countdown_s`` (an early message finds the job not due and is re-queued again).

    >>> countdown_for(0, 300)
    0.0
    >>> 2.0 <= countdown_for(2.0, 300) <= 2.2
    True
    >>> countdown_for(900, 300)
    300.0
    """
    if wait_s <= 0:
        return 0.0
    jitter = (rng or random).uniform(0, 0.1 * wait_s)
    return round(min(wait_s + jitter, float(max_countdown_s)), 3)


def celery_publisher(app: Any, queue: str) -> Publisher:
    """A publisher that sends ``run_job(job_id)`` tasks through ``app`` (one connection for a
    whole page)."""

    def publish(items: Sequence[tuple[int, float]]) -> None:
        with app.producer_or_acquire() as producer:
            for job_id, countdown in items:
                app.send_task(
                    RUN_JOB_TASK,
                    args=(job_id,),
                    countdown=countdown or None,
                    queue=queue,
                    producer=producer,
                )

    return publish


async def enqueue(
    ledger: Ledger, publish: Publisher, *, run: str | None = None, max_countdown_s: float = 300.0
) -> int:
    """Publish every waiting job (of ``run``), paging by id; return how many were published."""
    published = 0
    after = 0
    while page := await ledger.waiting_to_publish(idle_s=0.0, run=run, after_id=after, limit=_PAGE):
        now = ledger.clock()
        publish([(i, countdown_for(nb - now, max_countdown_s)) for i, nb in page])
        published += len(page)
        after = page[-1][0]
    return published


@dataclass(frozen=True)
class Reconciled:
    """What one reconciliation did: expired leases queued again, stale jobs published again."""

    reclaimed: int
    republished: int


async def reconcile(
    ledger: Ledger,
    publish: Publisher,
    *,
    stale_s: float,
    run: str | None = None,
    max_countdown_s: float = 300.0,
) -> Reconciled:
    """Queue expired leases again and publish them, and publish the waiting jobs untouched for
    ``stale_s`` seconds."""
    reclaimed = await ledger.reclaim_expired(run)
    if reclaimed:
        publish([(i, 0.0) for i in reclaimed])
    republished = 0
    after = 0
    while page := await ledger.waiting_to_publish(
        idle_s=stale_s, run=run, after_id=after, limit=_PAGE
    ):
        now = ledger.clock()
        publish([(i, countdown_for(nb - now, max_countdown_s)) for i, nb in page])
        republished += len(page)
        after = page[-1][0]
    return Reconciled(reclaimed=len(reclaimed), republished=republished)
