"""Drive the pipeline: every request of a plan submitted as a job to a fresh ledger (SQLite),
then worked off by the local dispatcher, ``concurrency`` calls in flight.

    samples, wall_s = await drive_pipeline(emulator_url, plan, concurrency=8, data_dir=tmp)

The samples are the dispatcher's calls as its client metered them (each attempt is one: a 429
is a sample of its own, and the job waits out ``retry-after`` in the ledger before its next
attempt); the wall time runs from the dispatcher's start until no job is left. Calls do not
stream: the first token is the whole answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from claude_arch.advisor.measure.figures import Sample
from claude_arch.advisor.measure.workload import RequestPlan
from claude_arch.constants import EMULATOR_API_KEY
from claude_arch.core.types import UsageRecord

__all__ = ["drive_pipeline"]


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
    import time

    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.jobs import NewJob, idempotency_key
    from claude_arch.pipeline.ledger import Ledger
    from claude_arch.pipeline.local import LocalDispatcher

    run = f"bench-c{concurrency}"
    ledger = await Ledger.open(f"sqlite:///{data_dir / f'pipeline-{run}.db'}")
    meter = _SampleMeter(on_done)
    try:
        await ledger.submit(
            NewJob(
                key=idempotency_key(run, str(r.index), "bench", plan.model),
                run=run,
                source=f"bench#{r.index}",
                request=plan.body(r),
                model=plan.model,
            )
            for r in plan.requests
        )
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
