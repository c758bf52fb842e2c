"""Drive the pipeline: every request of a plan submitted as a job to a fresh ledger (SQLite),
then worked off by the local dispatcher, ``concurrency`` calls in flight, or sent as Message
Batches by the batch dispatcher.

    samples, wall_s = await drive_pipeline(emulator_url, plan, concurrency=8, data_dir=tmp)
    samples, wall_s = await drive_pipeline_batch(emulator_url, plan, data_dir=tmp)

The local dispatcher's samples are its calls as its client metered them (each attempt is one: a
429 is a sample of its own, and the job waits out ``retry-after`` in the ledger before its next
attempt). In batch mode a sample is a job: from the dispatcher's start until its result was
written, at the cost the ledger recorded (the batch price); the emulator works a batch off at its
own pace (``batch_seconds_per_request``), so these latencies say what the pipeline adds, not how
long the API takes (most batches within an hour, all within 24 h). The wall time runs from the
dispatcher's start until no job is left. Nothing streams: the first token is the whole answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from claude_arch.advisor.measure.figures import Sample
from claude_arch.advisor.measure.workload import RequestPlan
from claude_arch.constants import EMULATOR_API_KEY
from claude_arch.core.types import UsageRecord

if TYPE_CHECKING:
    from claude_arch.pipeline.jobs import NewJob

__all__ = ["drive_pipeline", "drive_pipeline_batch"]


class _SampleMeter:
    """Turns each of the client's usage records into a sample as the call ends."""

    def __init__(self, on_done: Callable[[], None] | None) -> None:
        self.samples: list[Sample] = []
        self._on_done = on_done

    def record(self, record: UsageRecord) -> None:
        self.samples.append(Sample(record.latency_s, None, record.status, float(record.cost_usd)))
        if self._on_done is not None and record.status == 200:
            self._on_done()


async def drive_pipeline(
    upstream_url: str,
    plan: RequestPlan,
    *,
    concurrency: int,
    data_dir: Path,
    on_done: Callable[[], None] | None = None,
) -> tuple[list[Sample], float]:
    """Submit ``plan`` as one run of jobs and work it off; the samples and the wall time.
    ``data_dir`` must exist (the ledger's SQLite file goes there)."""
    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.dispatchers.local import LocalDispatcher
    from claude_arch.pipeline.ledger import Ledger

    run = f"bench-c{concurrency}"
    ledger = await Ledger.open(f"sqlite:///{data_dir / f'pipeline-{run}.db'}")
    meter = _SampleMeter(on_done)
    try:
        await ledger.submit(_jobs(plan, run))
        async with ClaudeClient(
            api_key=EMULATOR_API_KEY,
            base_url=upstream_url,
            limiter=None,
            max_retries=0,
            meters=[meter],
        ) as client:
            dispatcher = LocalDispatcher(
                ledger, client, run=run, concurrency=concurrency, poll_s=0.05
            )
            started = time.perf_counter()
            await dispatcher.run()
            wall = time.perf_counter() - started
    finally:
        await ledger.aclose()
    return meter.samples, wall


async def drive_pipeline_batch(
    upstream_url: str,
    plan: RequestPlan,
    *,
    data_dir: Path,
    run: str = "bench-batch",
    on_done: Callable[[], None] | None = None,
) -> tuple[list[Sample], float]:
    """Submit ``plan`` as one run of jobs and send it as Message Batches until every result is
    in; a sample per job (see the module's docstring) and the wall time."""
    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.batch.dispatcher import BatchDispatcher
    from claude_arch.pipeline.dispatchers.local import RunStats
    from claude_arch.pipeline.jobs import JobStatus
    from claude_arch.pipeline.ledger import Ledger

    ledger = await Ledger.open(f"sqlite:///{data_dir / f'pipeline-{run}.db'}")
    told = 0

    def progress(stats: RunStats) -> None:
        nonlocal told
        while on_done is not None and told < stats.succeeded:
            told += 1
            on_done()

    try:
        await ledger.submit(_jobs(plan, run))
        async with ClaudeClient(
            api_key=EMULATOR_API_KEY, base_url=upstream_url, limiter=None, max_retries=0
        ) as client:
            dispatcher = BatchDispatcher(
                ledger, client, run=run, poll_s=0.05, max_poll_s=0.5, on_progress=progress
            )
            started = time.time()
            await dispatcher.run()
            wall = time.time() - started
        jobs = await ledger.jobs(run=run, limit=len(plan.requests) + 1)
    finally:
        await ledger.aclose()
    samples = [
        Sample(
            max((job.finished_at or started) - started, 0.0),
            None,
            200 if job.status == JobStatus.succeeded else 500,
            job.cost_usd,
        )
        for job in jobs
    ]
    return samples, wall


def _jobs(plan: RequestPlan, run: str) -> Iterable[NewJob]:
    from claude_arch.pipeline.jobs import NewJob, idempotency_key

    for r in plan.requests:
        yield NewJob(
            key=idempotency_key(run, str(r.index), "bench", plan.model),
            run=run,
            source=f"bench#{r.index}",
            request=plan.body(r),
            model=plan.model,
        )
