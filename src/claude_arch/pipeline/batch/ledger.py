"""Batch mode's record of its Message Batches: one row per batch, written before it is created.

    batches = await BatchLedger.open(ledger)
    planned = await batches.record("me", run="nightly", max_requests=100_000,
                                   max_bytes=256 * 2**20, lease_s=60)
    # planned.row.token prefixes every custom_id; planned.jobs are held for the batch

:meth:`BatchLedger.record` takes due jobs and writes the batch's row in one transaction, so a
job is never held by a batch that has no row. A held job is ``leased`` under the lease token
``batch:<token>`` with no lease expiry: no dispatcher takes it back, and only its batch's row
settles it (a result, a retry, or a dead letter), each through a conditional ``UPDATE`` on that
token, so a result read twice is written once.

A row moves ``recorded`` → ``created`` (the API's id is known) → ``ended`` (results being read)
→ ``done``; a batch the API refused is ``failed`` and one it no longer knows is ``lost`` (their
jobs go back to the queue). A row is owned by one dispatcher at a time through a lease
(:meth:`BatchLedger.claim`), renewed while it runs; a dead dispatcher's rows are claimed by the
next one. ``uncertain`` says a create call was sent without its answer being recorded: the batch
may exist, and must be looked for (:mod:`claude_arch.pipeline.batch.match`) before another is
created.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, or_, select, update

from claude_arch.core.sql import create_tables
from claude_arch.pipeline.batch.rows import (
    BODY_OVERHEAD,
    HELD_PREFIX,
    OPEN_STATES,
    BatchRow,
    BatchState,
    Planned,
    Settle,
    batch_row,
    request_bytes,
)
from claude_arch.pipeline.jobs import WAITING, Job, JobStatus, job_from_row
from claude_arch.pipeline.schema import batches_table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from claude_arch.pipeline.ledger import Ledger

__all__ = ["BatchLedger"]

_ID_CHUNK = 500


class BatchLedger:
    """The batches table beside a :class:`~claude_arch.pipeline.ledger.Ledger`'s jobs table,
    sharing its engine and transactions."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.table = batches_table(ledger.table.name)

    @classmethod
    async def open(cls, ledger: Ledger) -> BatchLedger:
        """The batches table of ``ledger``, created when missing."""
        batches = cls(ledger)
        await create_tables(ledger.engine, batches.table)
        return batches

    async def drop(self) -> None:
        async with self.ledger.transaction() as conn:
            await conn.run_sync(self.table.metadata.drop_all)

    # --- recording a batch -----------------------------------------------------------------------
    async def record(
        self,
        owner: str,
        *,
        run: str | None,
        max_requests: int,
        max_bytes: int,
        lease_s: float,
        statuses: Sequence[JobStatus] = WAITING,
        size_of: Callable[[str, Job], int] = request_bytes,
    ) -> Planned | None:
        """Hold up to ``max_requests`` due jobs (oldest first) whose requests fit in
        ``max_bytes`` of body, and write their batch's row (``recorded``, owned by ``owner``
        for ``lease_s``), in one transaction; None when no job is due. Each held job counts an
        attempt."""
        ledger = self.ledger
        jobs = ledger.table
        t = jobs.c
        now = ledger.clock()
        token = uuid.uuid4().hex[:16]
        due = [ledger.due_condition(now, statuses), ledger.run_condition(run)]
        async with ledger.transaction() as conn:
            found = await conn.execute(
                select(jobs)
                .where(*due)
                .order_by(t.id)
                .limit(max_requests)
                .with_for_update(skip_locked=True)
            )
            chosen: list[int] = []
            size = BODY_OVERHEAD
            for row in found:
                job = job_from_row(row)
                size += size_of(token, job)
                if size > max_bytes and chosen:
                    break
                chosen.append(job.id)
            held: list[Job] = []
            for start in range(0, len(chosen), _ID_CHUNK):
                result = await conn.execute(
                    update(jobs)
                    .where(t.id.in_(chosen[start : start + _ID_CHUNK]), *due)
                    .values(
                        status=JobStatus.leased,
                        lease_token=HELD_PREFIX + token,
                        lease_owner=f"batch {token}",
                        lease_expires=None,
                        attempts=t.attempts + 1,
                        updated_at=now,
                    )
                    .returning(*jobs.c)
                )
                held.extend(job_from_row(r) for r in result)
            if not held:
                return None
            held.sort(key=lambda j: j.id)
            body = BODY_OVERHEAD + sum(size_of(token, j) for j in held) - 1
            inserted = await conn.execute(
                self.table.insert()
                .values(
                    token=token,
                    run=run,
                    state=BatchState.recorded,
                    job_ids=[j.id for j in held],
                    requests=len(held),
                    body_bytes=body,
                    worst_case_usd=0.0,
                    uncertain=False,
                    create_attempts=0,
                    owner=owner,
                    lease_expires=now + lease_s,
                    next_check_at=0.0,
                    checks=0,
                    succeeded=0,
                    retried=0,
                    dead=0,
                    cost_usd=0.0,
                    created_at=now,
                    updated_at=now,
                )
                .returning(*self.table.c)
            )
            return Planned(batch_row(inserted.one()), held)

    # --- owning rows -----------------------------------------------------------------------------
    async def claim(self, row_id: int, owner: str, *, lease_s: float) -> BatchRow | None:
        """Own the open row ``row_id`` for ``lease_s`` if it is ``owner``'s or its lease ran
        out; None: another dispatcher holds it, or it is no longer open."""
        c = self.table.c
        now = self.ledger.clock()
        async with self.ledger.transaction() as conn:
            result = await conn.execute(
                update(self.table)
                .where(
                    c.id == row_id,
                    c.state.in_(list(OPEN_STATES)),
                    or_(c.owner == owner, c.lease_expires.is_(None), c.lease_expires < now),
                )
                .values(owner=owner, lease_expires=now + lease_s, updated_at=now)
                .returning(*self.table.c)
            )
            row = result.first()
            return batch_row(row) if row is not None else None

    async def renew(self, owner: str, *, lease_s: float) -> int:
        """Extend the leases of ``owner``'s open rows; return how many."""
        c = self.table.c
        now = self.ledger.clock()
        async with self.ledger.transaction() as conn:
            result = await conn.execute(
                update(self.table)
                .where(c.owner == owner, c.state.in_(list(OPEN_STATES)))
                .values(lease_expires=now + lease_s)
            )
            return max(result.rowcount, 0)

    async def update(self, row: BatchRow, owner: str, **values: Any) -> BatchRow | None:
        """Change ``row`` while ``owner`` still owns it and it is open; None: it lost the row."""
        c = self.table.c
        values["updated_at"] = self.ledger.clock()
        async with self.ledger.transaction() as conn:
            result = await conn.execute(
                update(self.table)
                .where(c.id == row.id, c.owner == owner, c.state.in_(list(OPEN_STATES)))
                .values(**values)
                .returning(*self.table.c)
            )
            found = result.first()
            return batch_row(found) if found is not None else None

    # --- reading ---------------------------------------------------------------------------------
    async def open_rows(self, run: str | None = None) -> list[BatchRow]:
        """The open rows (of ``run``, or all), oldest first."""
        c = self.table.c
        where: list[Any] = [c.state.in_(list(OPEN_STATES))]
        if run is not None:
            where.append(c.run == run)
        async with self.ledger.transaction() as conn:
            result = await conn.execute(select(self.table).where(*where).order_by(c.id))
            return [batch_row(r) for r in result]

    async def rows(self, run: str | None = None) -> list[BatchRow]:
        """Every row (of ``run``), oldest first."""
        c = self.table.c
        stmt = select(self.table).order_by(c.id)
        if run is not None:
            stmt = stmt.where(c.run == run)
        async with self.ledger.transaction() as conn:
            return [batch_row(r) for r in await conn.execute(stmt)]

    async def known_api_ids(self, since: float) -> set[str]:
        """The API ids of the rows recorded at or after ``since``."""
        c = self.table.c
        async with self.ledger.transaction() as conn:
            result = await conn.execute(
                select(c.api_id).where(c.api_id.is_not(None), c.created_at >= since)
            )
            return {str(r[0]) for r in result}

    async def held_jobs(self, row: BatchRow) -> list[Job]:
        """The jobs ``row`` still holds, in id order."""
        t = self.ledger.table.c
        async with self.ledger.transaction() as conn:
            result = await conn.execute(
                select(self.ledger.table)
                .where(t.lease_token == row.held_token, t.status == JobStatus.leased)
                .order_by(t.id)
            )
            return [job_from_row(r) for r in result]

    async def held_count(self, row: BatchRow) -> int:
        t = self.ledger.table.c
        async with self.ledger.transaction() as conn:
            result = await conn.execute(
                select(func.count()).where(
                    t.lease_token == row.held_token, t.status == JobStatus.leased
                )
            )
            return int(result.scalar() or 0)

    async def summary(self, run: str | None = None) -> dict[str, int]:
        """Batches per state, and the requests of the open ones."""
        c = self.table.c
        stmt = select(c.state, func.count(), func.coalesce(func.sum(c.requests), 0))
        if run is not None:
            stmt = stmt.where(c.run == run)
        out = {f"batches_{s.value}": 0 for s in BatchState}
        out["batch_requests_open"] = 0
        async with self.ledger.transaction() as conn:
            for state, n, requests in await conn.execute(stmt.group_by(c.state)):
                out[f"batches_{state}"] = int(n)
                if state in OPEN_STATES:
                    out["batch_requests_open"] += int(requests)
        return out

    # --- settling held jobs ----------------------------------------------------------------------
    async def settle(self, row: BatchRow, items: Sequence[Settle]) -> list[str | None]:
        """Write each result to its job while ``row`` still holds it (one conditional
        ``UPDATE`` each) and add what was written to ``row``'s counters, all in one
        transaction; return each job's new status (``succeeded``, ``retrying`` or ``dead``), or
        None where it was refused (written before, or the job was cancelled)."""
        if not items:
            return []
        c = self.table.c
        async with self.ledger.transaction() as conn:
            statuses = [await self._settle_one(conn, row, item) for item in items]
            done = [i for i, st in zip(items, statuses, strict=True) if st == "succeeded"]
            await conn.execute(
                update(self.table)
                .where(c.id == row.id)
                .values(
                    succeeded=c.succeeded + len(done),
                    retried=c.retried + statuses.count(JobStatus.retrying.value),
                    dead=c.dead + statuses.count(JobStatus.dead.value),
                    cost_usd=c.cost_usd + sum(float(i.values["cost_usd"]) for i in done),
                    updated_at=self.ledger.clock(),
                )
            )
            return statuses

    async def release(self, row: BatchRow, *, error: str, after_s: float = 0.0) -> int:
        """Send every job ``row`` still holds back to be leased again in ``after_s`` seconds
        (dead when out of attempts); return how many."""
        t = self.ledger.table.c
        now = self.ledger.clock()
        async with self.ledger.transaction() as conn:
            result = await conn.execute(
                update(self.ledger.table)
                .where(t.lease_token == row.held_token, t.status == JobStatus.leased)
                .values(**_retry_values(t, now, after_s, error))
            )
            return max(result.rowcount, 0)

    async def _settle_one(self, conn: AsyncConnection, row: BatchRow, item: Settle) -> str | None:
        t = self.ledger.table.c
        now = self.ledger.clock()
        if item.kind == "done":
            values = {**item.values, "status": JobStatus.succeeded, "finished_at": now}
            values.update(last_error=None, lease_token=None, updated_at=now)
        elif item.kind == "retry":
            values = _retry_values(t, now, item.after_s, item.error or "")
        else:
            values = {"status": JobStatus.dead, "last_error": item.error, "finished_at": now}
            values.update(lease_token=None, updated_at=now)
        result = await conn.execute(
            update(self.ledger.table)
            .where(
                t.id == item.job_id,
                t.lease_token == row.held_token,
                t.status == JobStatus.leased,
            )
            .values(**values)
            .returning(t.status)
        )
        found = result.first()
        return str(found[0]) if found is not None else None


def _retry_values(t: Any, now: float, after_s: float, error: str) -> dict[str, Any]:
    """The columns (``t``: the jobs table's) of a held job going back to the queue:
    ``retrying`` after ``after_s``, or ``dead`` when that was its last attempt."""
    out_of_attempts = t.attempts >= t.max_attempts
    return {
        "status": case((out_of_attempts, JobStatus.dead.value), else_=JobStatus.retrying.value),
        "not_before": now + after_s,
        "last_error": case((out_of_attempts, error + " (out of attempts)"), else_=error),
        "finished_at": case((out_of_attempts, now), else_=None),
        "lease_token": None,
        "lease_owner": None,
        "lease_expires": None,
        "updated_at": now,
    }
