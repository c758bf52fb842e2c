"""Batch mode's sync path: the jobs a batch sent back, run as plain calls in the same run.

    path = SyncPath(ledger, client, run="nightly", concurrency=64, lease_s=60)
    await path.poke()          # starts the local dispatcher over retrying jobs, if there are any
    path.running               # while it works
    path.add_to(stats)         # what it did, counted into the batch run's stats
    await path.stop()

Used with ``retry_via="sync"``: expired and retryable errored requests become ``retrying``, and
only this path takes ``retrying`` jobs (new batches take ``queued`` ones), through the local
dispatcher (the rate limiter, a lease per call, list price).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from claude_arch.pipeline.dispatchers.local import LocalDispatcher, RunStats
from claude_arch.pipeline.jobs import JobStatus

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.ledger import Ledger

__all__ = ["SyncPath"]

_RETRIED = (JobStatus.retrying,)


class SyncPath:
    """The local dispatcher over ``retrying`` jobs, started again whenever some are due."""

    def __init__(
        self,
        ledger: Ledger,
        client: ClaudeClient,
        *,
        run: str | None,
        concurrency: int,
        lease_s: float,
    ) -> None:
        self.ledger = ledger
        self.client = client
        self.run_name = run
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.done = RunStats()
        """What the dispatchers that have finished did."""
        self._current: LocalDispatcher | None = None
        self.task: asyncio.Task[RunStats] | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def poke(self) -> None:
        """Start a dispatcher when none runs and retried jobs are due."""
        if self.running or await self.ledger.next_due(self.run_name, _RETRIED) is None:
            return
        self._finish()
        self._current = LocalDispatcher(
            self.ledger,
            self.client,
            run=self.run_name,
            concurrency=self.concurrency,
            lease_s=self.lease_s,
            statuses=_RETRIED,
        )
        self.task = asyncio.create_task(self._current.run())

    async def stop(self) -> None:
        """Cancel a dispatcher still running (its leases expire; its jobs are due again)."""
        if self.task is not None:
            if not self.task.done():
                self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
            self.task = None
        self._finish()

    def add_to(self, stats: RunStats) -> None:
        """Count what this path did (finished and running) into ``stats``."""
        for did in (self.done, self._current.stats if self._current else None):
            if did is None:
                continue
            stats.succeeded += did.succeeded
            stats.retried += did.retried
            stats.dead += did.dead
            stats.refused += did.refused
            stats.input_tokens += did.input_tokens
            stats.output_tokens += did.output_tokens
            stats.cost_usd += did.cost_usd

    def _finish(self) -> None:
        if self._current is None:
            return
        did, into = self._current.stats, self.done
        into.succeeded += did.succeeded
        into.retried += did.retried
        into.dead += did.dead
        into.refused += did.refused
        into.input_tokens += did.input_tokens
        into.output_tokens += did.output_tokens
        into.cost_usd += did.cost_usd
        self._current = None
