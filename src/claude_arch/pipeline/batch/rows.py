"""Batch mode's records: a batch's row as read, its states, and its requests' ``custom_id``.

Every request of a batch is ``<token>-<job id>``: the token (16 random hex digits, one per batch)
ties a result line to its batch's row, the job id to its job. A job the batch holds is leased
under ``batch:<token>``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from claude_arch.core.wire.protocol import encode_body

if TYPE_CHECKING:
    from claude_arch.pipeline.jobs import Job

__all__ = [
    "BODY_OVERHEAD",
    "HELD_PREFIX",
    "OPEN_STATES",
    "BatchRow",
    "BatchState",
    "Planned",
    "Settle",
    "batch_row",
    "custom_id",
    "parse_custom_id",
    "request_bytes",
]

HELD_PREFIX = "batch:"
"""The lease token of a job held by a batch: this prefix and the batch's token."""
BODY_OVERHEAD = len(b'{"requests":[]}')
"""The bytes of a batch's body around its requests."""


class BatchState(enum.StrEnum):
    recorded = "recorded"
    created = "created"
    ended = "ended"
    done = "done"
    failed = "failed"
    lost = "lost"


OPEN_STATES = (BatchState.recorded, BatchState.created, BatchState.ended)


def custom_id(token: str, job_id: int) -> str:
    """The ``custom_id`` of job ``job_id`` in the batch of ``token``.

    >>> custom_id("3f2a", 17), parse_custom_id("3f2a-17"), parse_custom_id("q1")
    ('3f2a-17', ('3f2a', 17), None)
    """
    return f"{token}-{job_id}"


def parse_custom_id(value: str) -> tuple[str, int] | None:
    """``(token, job id)`` of a ``custom_id`` batch mode made, else None."""
    token, sep, job = value.rpartition("-")
    if not sep or not token or not job.isdigit():
        return None
    return token, int(job)


@dataclass(frozen=True)
class BatchRow:
    """One batch as the ledger holds it (see the module's docstring for the states)."""

    id: int
    token: str
    run: str | None
    state: BatchState
    api_id: str | None
    job_ids: list[int]
    requests: int
    body_bytes: int
    worst_case_usd: float
    uncertain: bool
    create_attempts: int
    owner: str | None
    lease_expires: float | None
    next_check_at: float
    checks: int
    request_counts: dict[str, int] | None
    succeeded: int
    retried: int
    dead: int
    cost_usd: float
    last_error: str | None
    created_at: float
    ended_at: float | None

    @property
    def held_token(self) -> str:
        """The lease token its jobs are held under."""
        return HELD_PREFIX + self.token


def batch_row(row: Any) -> BatchRow:
    """A :class:`BatchRow` from a row of the batches table."""
    m = row._mapping
    return BatchRow(
        id=int(m["id"]),
        token=m["token"],
        run=m["run"],
        state=BatchState(m["state"]),
        api_id=m["api_id"],
        job_ids=[int(i) for i in m["job_ids"]],
        requests=int(m["requests"]),
        body_bytes=int(m["body_bytes"]),
        worst_case_usd=float(m["worst_case_usd"] or 0.0),
        uncertain=bool(m["uncertain"]),
        create_attempts=int(m["create_attempts"]),
        owner=m["owner"],
        lease_expires=m["lease_expires"],
        next_check_at=float(m["next_check_at"] or 0.0),
        checks=int(m["checks"]),
        request_counts=m["request_counts"],
        succeeded=int(m["succeeded"]),
        retried=int(m["retried"]),
        dead=int(m["dead"]),
        cost_usd=float(m["cost_usd"] or 0.0),
        last_error=m["last_error"],
        created_at=float(m["created_at"]),
        ended_at=m["ended_at"],
    )


@dataclass(frozen=True)
class Planned:
    """A batch just recorded: its row and the jobs it holds, in ``custom_id`` order."""

    row: BatchRow
    jobs: list[Job]


@dataclass(frozen=True)
class Settle:
    """What one result does to its job: ``done`` (with the result's columns), ``retry`` after
    ``after_s`` seconds (dead when out of attempts) or ``dead``, with ``error``."""

    job_id: int
    kind: str
    values: dict[str, Any]
    after_s: float = 0.0
    error: str | None = None


def request_bytes(token: str, job: Job) -> int:
    """What the job adds to a batch's body: its ``{"custom_id", "params"}`` object and a comma."""
    return len(encode_body({"custom_id": custom_id(token, job.id), "params": job.request})) + 1
