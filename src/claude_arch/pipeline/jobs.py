"""What the ledger holds and hands out: jobs, their states, and a finished call's result."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "WAITING",
    "Completion",
    "Job",
    "JobStatus",
    "NewJob",
    "idempotency_key",
    "job_from_row",
]

DEFAULT_MAX_ATTEMPTS = 8


class JobStatus(enum.StrEnum):
    """A job's state: ``queued`` → ``leased`` → ``succeeded``, or back to ``retrying`` (then
    leased again), or ``dead`` (a dead letter: ``pipeline dead retry`` queues it again), or
    ``cancelled``."""

    queued = "queued"
    leased = "leased"
    succeeded = "succeeded"
    retrying = "retrying"
    dead = "dead"
    cancelled = "cancelled"


WAITING = (JobStatus.queued, JobStatus.retrying)


def idempotency_key(run: str, identity: str, template: str, model: str) -> str:
    """The key that makes re-submitting the same input a no-op.

    >>> idempotency_key("r", "a.txt#sha", "summarize#sha", "claude-haiku-4-5")[:12]
    '460968e00722'
    """
    parts = "\x1f".join((run, identity, template, model)).encode()
    return hashlib.sha256(parts).hexdigest()


@dataclass(frozen=True)
class NewJob:
    """A job to submit: its key, run, source, rendered Messages params and model."""

    key: str
    run: str
    source: str
    request: dict[str, Any]
    model: str
    template: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def row(self, now: float) -> dict[str, Any]:
        return {
            "key": self.key,
            "run": self.run,
            "source": self.source,
            "template": self.template,
            "model": self.model,
            "request": self.request,
            "status": JobStatus.queued.value,
            "attempts": 0,
            "max_attempts": self.max_attempts,
            "not_before": 0.0,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
            "created_at": now,
            "updated_at": now,
        }


@dataclass(frozen=True)
class Job:
    """One row of the ledger as read (a leased job carries its ``lease_token``)."""

    id: int
    key: str
    run: str
    source: str
    model: str
    request: dict[str, Any]
    status: JobStatus
    attempts: int
    max_attempts: int
    lease_token: str | None = None
    lease_expires: float | None = None
    not_before: float = 0.0
    result: str | None = None
    usage: dict[str, Any] | None = None
    cost_usd: float = 0.0
    last_error: str | None = None
    template: str | None = None
    created_at: float = 0.0
    finished_at: float | None = None


@dataclass(frozen=True)
class Completion:
    """A successful call: the answer's text, the response body, its usage and cost."""

    text: str
    response: dict[str, Any]
    usage: dict[str, Any] = field(default_factory=dict)
    cost_usd: float = 0.0


def job_from_row(row: Any) -> Job:
    m = row._mapping
    return Job(
        id=int(m["id"]),
        key=m["key"],
        run=m["run"],
        source=m["source"],
        model=m["model"],
        request=dict(m["request"]),
        status=JobStatus(m["status"]),
        attempts=int(m["attempts"]),
        max_attempts=int(m["max_attempts"]),
        lease_token=m["lease_token"],
        lease_expires=m["lease_expires"],
        not_before=float(m["not_before"] or 0.0),
        result=m["result"],
        usage=m["usage"],
        cost_usd=float(m["cost_usd"] or 0.0),
        last_error=m["last_error"],
        template=m["template"],
        created_at=float(m["created_at"]),
        finished_at=m["finished_at"],
    )
