"""Backpressure: at most ``max_inflight`` upstream calls per replica; the rest wait briefly in
line, then are turned away with a 529 and ``retry-after`` so a client (or the load balancer) tries
again later instead of piling on.

    gate = InflightGate(max_inflight=256, queue_timeout_s=2.0)
    async with gate.slot():
        ...   # the upstream call

A refusal is an :class:`~claude_arch.errors.OverloadedError`, the error an official SDK already
retries with backoff.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from claude_arch.errors import OverloadedError

__all__ = ["InflightGate"]


class InflightGate:
    """A counting gate with a bounded wait (an ``asyncio.Semaphore`` plus the counts /metrics
    and the dashboard show)."""

    def __init__(self, *, max_inflight: int, queue_timeout_s: float) -> None:
        self.max_inflight = max_inflight
        self.queue_timeout_s = queue_timeout_s
        self._slots = asyncio.Semaphore(max_inflight)
        self.inflight = 0
        self.waiting = 0
        self.rejected = 0

    @property
    def retry_after_s(self) -> int:
        """What a refused client is told: the time one wait would have taken, at least 1 s."""
        return max(1, math.ceil(self.queue_timeout_s))

    async def acquire(self) -> None:
        """Take one slot (:meth:`release` it); raise :class:`OverloadedError` after the queue
        timeout."""
        if self._slots.locked():
            self.waiting += 1
            try:
                async with asyncio.timeout(self.queue_timeout_s):
                    await self._slots.acquire()
            except TimeoutError:
                self.rejected += 1
                raise OverloadedError(
                    f"this replica is at its limit of {self.max_inflight} requests in flight; "
                    f"retry after {self.retry_after_s}s",
                    retry_after=float(self.retry_after_s),
                ) from None
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()
        self.inflight += 1

    def release(self) -> None:
        self.inflight -= 1
        self._slots.release()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()
