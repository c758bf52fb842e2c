"""The ``local`` dispatcher: an asyncio pool in one process, hundreds of calls in flight.

    ledger = await Ledger.open(settings.sqlalchemy_url)
    async with pipeline_client(settings) as client:
        stats = await LocalDispatcher(ledger, client, concurrency=256).run()

It leases due jobs in batches, runs :func:`~claude_arch.pipeline.job.execute` on each (the client
acquires from the rate limiter before every call), records each outcome under its lease, and
renews the leases of the jobs in flight every third of ``lease_s``. Jobs whose lease expired (a
dispatcher that died) are due again and taken back. :meth:`LocalDispatcher.run` returns when no
job is left to do (or, with ``follow``, never), or once ``max_cost_usd`` is spent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from claude_arch.pipeline.dispatchers.leases import LeaseRenewer
from claude_arch.pipeline.job import execute, record
from claude_arch.pipeline.jobs import WAITING, JobStatus

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.jobs import Job
    from claude_arch.pipeline.ledger import Ledger

__all__ = ["LocalDispatcher", "RunStats"]

logger = logging.getLogger("claude_arch.pipeline")


@dataclass
class RunStats:
    """What one dispatcher did: outcomes recorded, results refused (lease lost), in flight, the
    tokens and cost of its successes, and why it stopped early (``"max_cost_usd"``) if it did."""

    succeeded: int = 0
    retried: int = 0
    dead: int = 0
    refused: int = 0
    in_flight: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    stopped: str | None = None
    started: float = field(default_factory=time.monotonic)


class LocalDispatcher:
    """Runs the ledger's due jobs (of ``run``, or all; waiting in ``statuses``, by default
    queued or retrying) with up to ``concurrency`` in flight."""

    def __init__(
        self,
        ledger: Ledger,
        client: ClaudeClient,
        *,
        run: str | None = None,
        concurrency: int = 256,
        lease_s: float = 60.0,
        poll_s: float = 0.5,
        follow: bool = False,
        max_cost_usd: float | None = None,
        on_progress: Callable[[RunStats], None] | None = None,
        statuses: Sequence[JobStatus] = WAITING,
    ) -> None:
        if concurrency < 1 or lease_s <= 0 or poll_s <= 0:
            raise ValueError("concurrency, lease_s and poll_s must be positive")
        self.ledger = ledger
        self.client = client
        self.run_name = run
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_s = min(poll_s, lease_s / 3)
        self.follow = follow
        self.max_cost_usd = max_cost_usd
        self.on_progress = on_progress
        self.statuses = tuple(statuses)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = RunStats()
        self._tasks: dict[asyncio.Task[None], Job] = {}
        self._renewer = LeaseRenewer(ledger, lease_s=lease_s)

    async def run(self) -> RunStats:
        """Work until nothing is left (or the cost cap is reached); return what was done."""
        spent_before = 0.0
        if self.max_cost_usd is not None:
            spent_before = (await self.ledger.counts(self.run_name))["cost_usd"]
        self._renewer.start()
        refill = max(1, self.concurrency // 8)
        try:
            while True:
                if (
                    self.max_cost_usd is not None
                    and spent_before + self.stats.cost_usd >= self.max_cost_usd
                ):
                    self.stats.stopped = "max_cost_usd"
                free = self.concurrency - len(self._tasks)
                leased = 0
                if self.stats.stopped is None and (free >= refill or not self._tasks):
                    jobs = await self.ledger.lease(
                        self.owner,
                        free,
                        lease_s=self.lease_s,
                        run=self.run_name,
                        statuses=self.statuses,
                    )
                    leased = len(jobs)
                    for job in jobs:
                        self._renewer.hold(job)
                        self._tasks[asyncio.create_task(self._work(job))] = job
                self._report()
                if not self._tasks:
                    if self.stats.stopped is not None:
                        break
                    due = await self.ledger.next_due(self.run_name, self.statuses)
                    if due is None and not self.follow:
                        break
                    wait = self.poll_s if due is None else due - self.ledger.clock()
                    await asyncio.sleep(min(max(wait, 0.005), self.poll_s))
                    continue
                if leased and leased == free:
                    continue  # more may be due: fill the pool before waiting
                await asyncio.wait(
                    self._tasks, timeout=self.poll_s, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            await self._renewer.stop()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._report()
        return self.stats

    async def _work(self, job: Job) -> None:
        task = asyncio.current_task()
        try:
            outcome = await execute(self.client, job)
            if not await record(self.ledger, job, outcome):
                self.stats.refused += 1
                logger.warning("job %s: lease lost, %s not recorded", job.id, outcome.kind)
            elif outcome.kind == "done" and outcome.completion is not None:
                done = outcome.completion
                self.stats.succeeded += 1
                self.stats.input_tokens += int(done.usage.get("input_tokens", 0))
                self.stats.output_tokens += int(done.usage.get("output_tokens", 0))
                self.stats.cost_usd += done.cost_usd
            elif outcome.kind == "retry":
                self.stats.retried += 1
            else:
                self.stats.dead += 1
                logger.warning("job %s (%s) is dead: %s", job.id, job.source, outcome.error)
        except Exception:
            # the lease expires and the job is taken back; the dispatcher keeps going
            logger.exception("job %s: could not run or record it", job.id)
        finally:
            self._renewer.release(job)
            if task is not None:
                self._tasks.pop(task, None)

    def _report(self) -> None:
        self.stats.in_flight = len(self._tasks)
        if self.on_progress is not None:
            self.on_progress(replace(self.stats))
