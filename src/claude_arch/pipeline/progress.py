"""Reading a run back: its status summary with an ETA, and its results as JSONL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_arch.pipeline.jobs import JobStatus
from claude_arch.pipeline.ledger import Ledger

__all__ = ["summary", "write_results"]


async def summary(
    ledger: Ledger, run: str | None = None, window_s: float = 60.0, *, batches: bool = False
) -> dict[str, Any]:
    """Counts per status, tokens, cost, attempts, and the ETA (seconds) of what is left at the
    pace of the last ``window_s`` seconds (None when nothing finished in it); with ``batches``,
    batch mode's batches per state and the requests in the open ones."""
    data = await ledger.counts(run)
    recent = await ledger.finished_since(ledger.clock() - window_s, run)
    left = sum(data[s] for s in (JobStatus.queued, JobStatus.retrying, JobStatus.leased))
    data["eta_s"] = (
        round(left / (recent / window_s), 1) if recent and left else (0 if not left else None)
    )
    data["cost_usd"] = round(data["cost_usd"], 6)
    if batches:
        from claude_arch.pipeline.batch.ledger import BatchLedger

        data.update(await (await BatchLedger.open(ledger)).summary(run))
    if run is not None:
        from claude_arch.pipeline.dispatchers.caps import SpendCaps

        caps = await SpendCaps.open(ledger)
        if await caps.get(run) is not None:
            data.update(await caps.usage(run))
    return data


async def write_results(ledger: Ledger, out: Path, run: str | None = None) -> int:
    """Write one JSON line per succeeded job, paging through the ledger; return how many."""
    written = 0
    after = 0
    with out.open("w", encoding="utf-8") as f:
        while page := await ledger.jobs(status=JobStatus.succeeded, run=run, after_id=after):
            for job in page:
                line = {
                    "id": job.id,
                    "key": job.key,
                    "source": job.source,
                    "result": job.result,
                    "usage": job.usage,
                    "cost_usd": job.cost_usd,
                }
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
                written += 1
            after = page[-1].id
    return written
