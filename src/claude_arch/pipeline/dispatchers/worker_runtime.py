"""What a Celery worker process holds for its tasks: one event loop, ledger, client and renewer.

Celery runs a task in a thread (``--pool threads``) or a child process (``prefork``); the job
function is a coroutine. Each worker process therefore starts one event loop in a thread of its
own, opens the ledger and the client there once, and every task hands its job to that loop and
waits:

    runtime = WorkerRuntime.for_process(PipelineSettings())
    step = runtime.handle(job_id)      # lease, call, record; blocks this thread only
    if step.countdown is not None:
        ...                            # re-queue the job's message with that countdown

The client is :func:`~claude_arch.pipeline.job.pipeline_client`'s, as the local dispatcher's: the
settings' rate limiter (Redis with ``CLAUDE_ARCH_REDIS_URL``, so every worker on every machine
draws from the organisation's one budget) and no retries of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from claude_arch.pipeline.dispatchers.broker import countdown_for
from claude_arch.pipeline.dispatchers.caps import SpendCaps, Verdict, worst_case_usd
from claude_arch.pipeline.dispatchers.leases import LeaseRenewer
from claude_arch.pipeline.job import Outcome, execute, pipeline_client, record
from claude_arch.pipeline.jobs import WAITING

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.config import PipelineSettings
    from claude_arch.pipeline.jobs import Job
    from claude_arch.pipeline.ledger import Ledger
    from claude_arch.settings import Settings

__all__ = ["Step", "WorkerRuntime"]

T = TypeVar("T")
logger = logging.getLogger("claude_arch.pipeline")

# the call gets the hard time limit less this, so its outcome is recorded before a prefork
# child would be killed for overrunning
_RECORD_MARGIN_S = 5.0
CAP_LOOKUP_S = 5.0
"""How long a worker trusts what it read of a run's spending cap (a new cap applies within it)."""
CAP_WAIT_S = 2.0
"""How long a job waits when the calls in flight hold its run's remaining room."""


@dataclass(frozen=True)
class Step:
    """What a task did with its message: ``done``, ``dead``, ``retry`` / ``wait`` (publish the
    job again after ``countdown`` seconds), ``skip`` (nothing to do: finished, cancelled, or
    leased by another worker), ``refused`` (the lease was taken back before the result was
    written) or ``capped`` (its run's spending cap leaves no room for the call: the job stays
    queued, and ``pipeline enqueue`` publishes it again once the cap is raised)."""

    kind: Literal["done", "dead", "retry", "wait", "skip", "refused", "capped"]
    countdown: float | None = None


class WorkerRuntime:
    """One event loop thread with the ledger, the client and a lease renewer, for one process."""

    _current: WorkerRuntime | None = None
    _lock = threading.Lock()

    def __init__(self, config: PipelineSettings, settings: Settings | None = None) -> None:
        from claude_arch.settings import Settings

        self.config = config
        self.settings = settings or Settings()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="claude-arch-pipeline-loop", daemon=True
        )
        self._thread.start()
        self.ledger: Ledger
        self.caps: SpendCaps
        self._cap_seen: dict[str, tuple[float, float | None]] = {}
        self.client: ClaudeClient
        self.renewer: LeaseRenewer
        self.call(self._open())

    @classmethod
    def for_process(cls, config: PipelineSettings) -> WorkerRuntime:
        """This process's runtime, made on first use (a forked child makes its own)."""
        with cls._lock:
            current = cls._current
            if current is None or current.pid != os.getpid():
                current = cls._current = cls(config)
            return current

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the runtime's loop and wait for it in this thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def handle(self, job_id: int) -> Step:
        """Lease job ``job_id``, send its request once, record the outcome under the lease."""
        return self.call(self._handle(job_id), timeout=self.config.time_limit_s)

    def close(self) -> None:
        """Close the client and the ledger, then stop the loop."""
        with contextlib.suppress(Exception):
            self.call(self._close(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    async def _open(self) -> None:
        from claude_arch.pipeline.ledger import Ledger

        self.ledger = await Ledger.open(self.settings.sqlalchemy_url, table_name=self.config.table)
        self.caps = await SpendCaps.open(self.ledger)
        self.client = pipeline_client(self.settings, self.config)
        self.renewer = LeaseRenewer(self.ledger, lease_s=self.config.lease_s)
        self.renewer.start()

    async def _close(self) -> None:
        await self.renewer.stop()
        await self.client.close()
        await self.ledger.aclose()

    async def _handle(self, job_id: int) -> Step:
        job = await self.ledger.lease_one(job_id, self.owner, lease_s=self.config.lease_s)
        if job is None:
            return await self._not_leased(job_id)
        capped = await self._cap_of(job.run) is not None
        if capped:
            verdict = await self.caps.admit(job, worst_case_usd(self.client, job.request))
            if verdict != "ok":
                return await self._held_back(job, verdict)
        self.renewer.hold(job)
        try:
            budget = max(1.0, self.config.time_limit_s - _RECORD_MARGIN_S)
            try:
                outcome = await asyncio.wait_for(execute(self.client, job), timeout=budget)
            except TimeoutError:
                error = f"no answer within the task's time limit ({budget:.0f} s)"
                if job.attempts < job.max_attempts:
                    outcome = Outcome("retry", after_s=self.config.lease_s, error=error)
                else:
                    outcome = Outcome("dead", error=error)
            if not await record(self.ledger, job, outcome):
                logger.warning("job %s: lease lost, %s not recorded", job.id, outcome.kind)
                return Step("refused")
        finally:
            self.renewer.release(job)
            if capped:
                await self.caps.release(job)
        if outcome.kind == "retry":
            return Step("retry", countdown_for(outcome.after_s, self.config.max_countdown_s))
        if outcome.kind == "dead":
            logger.warning("job %s (%s) is dead: %s", job.id, job.source, outcome.error)
        return Step(outcome.kind)

    async def _cap_of(self, run: str) -> float | None:
        """``run``'s spending cap, looked up again every :data:`CAP_LOOKUP_S` seconds."""
        now = time.monotonic()
        seen = self._cap_seen.get(run)
        if seen is None or now - seen[0] > CAP_LOOKUP_S:
            seen = self._cap_seen[run] = (now, await self.caps.get(run))
        return seen[1]

    async def _held_back(self, job: Job, verdict: Verdict) -> Step:
        if verdict == "wait":  # calls in flight hold the room: look again shortly
            await self.ledger.give_back(job, after_s=CAP_WAIT_S)
            return Step("wait", countdown_for(CAP_WAIT_S, self.config.max_countdown_s))
        await self.ledger.give_back(job)
        logger.warning("job %s: run %s has reached its spending cap; left queued", job.id, job.run)
        return Step("capped")

    async def _not_leased(self, job_id: int) -> Step:
        job = await self.ledger.get(job_id)
        if job is not None and job.status in WAITING:
            wait = job.not_before - self.ledger.clock()
            if wait > 0:
                return Step("wait", countdown_for(wait, self.config.max_countdown_s))
        return Step("skip")
