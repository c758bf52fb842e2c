"""Keeping the leases of jobs in flight alive while their calls run.

    renewer = LeaseRenewer(ledger, lease_s=60)
    renewer.start()                 # in the event loop that runs the jobs
    renewer.hold(job)
    try:
        outcome = await execute(client, job)
    finally:
        renewer.release(job)
    await renewer.stop()

Every third of ``lease_s`` the leases held are extended in one ``UPDATE``, so a call may take
longer than the lease while a dispatcher that dies loses its leases within ``lease_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from claude_arch.pipeline.jobs import Job
    from claude_arch.pipeline.ledger import Ledger

__all__ = ["LeaseRenewer"]

logger = logging.getLogger("claude_arch.pipeline")


class LeaseRenewer:
    """Renews the leases of the jobs :meth:`hold` was called for until :meth:`release`."""

    def __init__(self, ledger: Ledger, *, lease_s: float) -> None:
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        self.ledger = ledger
        self.lease_s = lease_s
        self._held: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    def hold(self, job: Job) -> None:
        if job.lease_token:
            self._held[job.lease_token] += 1

    def release(self, job: Job) -> None:
        if job.lease_token:
            self._held[job.lease_token] -= 1
            if self._held[job.lease_token] <= 0:
                del self._held[job.lease_token]

    @property
    def tokens(self) -> list[str]:
        """The lease tokens held now."""
        return sorted(self._held)

    def start(self) -> None:
        """Start renewing in the running loop (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._renew_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            tokens = self.tokens
            try:
                await self.ledger.renew(tokens, lease_s=self.lease_s)
            except Exception:
                # the leases may expire and the jobs run again elsewhere; results stay single
                logger.exception("could not renew %d leases", len(tokens))
