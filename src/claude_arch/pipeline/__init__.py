"""The queue pipeline: a job ledger and dispatchers that run Messages calls against it.

    claude-arch pipeline submit docs/ --template summarize --run nightly
    claude-arch pipeline run --run nightly          # or: pipeline worker (N) + pipeline enqueue
    claude-arch pipeline run --run nightly --mode batch   # or: as Message Batches, half price
    claude-arch pipeline results --run nightly --out results.jsonl

See ``docs/pipeline.md``. Needs SQLAlchemy (the ``pipeline`` or ``service`` extra); the names
below load on first use, so the CLI starts without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claude_arch.pipeline.batch.dispatcher import BatchDispatcher, BatchStats
    from claude_arch.pipeline.batch.ledger import BatchLedger
    from claude_arch.pipeline.batch.rows import BatchRow, BatchState
    from claude_arch.pipeline.config import PipelineSettings
    from claude_arch.pipeline.dispatchers.local import LocalDispatcher, RunStats
    from claude_arch.pipeline.jobs import Completion, Job, JobStatus, NewJob, idempotency_key
    from claude_arch.pipeline.ledger import Ledger

__all__ = [
    "BatchDispatcher",
    "BatchLedger",
    "BatchRow",
    "BatchState",
    "BatchStats",
    "Completion",
    "Job",
    "JobStatus",
    "Ledger",
    "LocalDispatcher",
    "NewJob",
    "PipelineSettings",
    "RunStats",
    "idempotency_key",
]

_WHERE = {
    "BatchDispatcher": "batch.dispatcher",
    "BatchStats": "batch.dispatcher",
    "BatchLedger": "batch.ledger",
    "BatchRow": "batch.rows",
    "BatchState": "batch.rows",
    "Completion": "jobs",
    "Job": "jobs",
    "JobStatus": "jobs",
    "NewJob": "jobs",
    "idempotency_key": "jobs",
    "Ledger": "ledger",
    "LocalDispatcher": "dispatchers.local",
    "RunStats": "dispatchers.local",
    "PipelineSettings": "config",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"claude_arch.pipeline.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'claude_arch.pipeline' has no attribute {name!r}")
