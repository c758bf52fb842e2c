"""The job ledger: one row per job, the single source of truth for what is done.

Every state change is one conditional ``UPDATE``, so any number of dispatchers (tasks, processes,
machines) can share one ledger:

- :meth:`Ledger.lease` takes up to ``n`` jobs that are due (queued, retrying past ``not_before``,
  or leased with an expired lease) and stamps them with a fresh lease token and expiry. A job is
  never leased twice while its lease is valid: the eligibility test is repeated in the ``UPDATE``
  itself (PostgreSQL re-checks it on a row a concurrent transaction changed; SQLite runs one
  writer at a time), and PostgreSQL skips rows another leaser holds locked.
- :meth:`Ledger.lease_one` does the same for one job by id (a Celery task's message names it).
- :meth:`Ledger.complete`, :meth:`Ledger.retry` and :meth:`Ledger.fail` only act while the job is
  still ``leased`` under the caller's token, so a result is written once: a worker whose lease was
  taken back learns its result was refused.
- :meth:`Ledger.reclaim_expired` and :meth:`Ledger.waiting_to_publish` tell a broker-fed
  dispatcher which jobs to publish (again): expired leases, and waiting jobs nobody touched.

    >>> import asyncio
    >>> async def demo():
    ...     ledger = await Ledger.open("sqlite:///:memory:")
    ...     await ledger.submit([NewJob("k1", "demo", "a.txt", {"model": "m"}, "m")])
    ...     [job] = await ledger.lease("worker-1", 10, lease_s=60)
    ...     first = await ledger.complete(job, Completion("hi", {}, {}, 0.001))
    ...     again = await ledger.complete(job, Completion("hi", {}, {}, 0.001))
    ...     await ledger.aclose()
    ...     return job.attempts, first, again
    >>> asyncio.run(demo())
    (1, True, False)

Times are the callers' clocks (seconds since the epoch): machines sharing a ledger need clocks
within a small fraction of the lease duration of each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from claude_arch.core.sql import create_tables, make_engine
from claude_arch.pipeline.jobs import (
    WAITING,
    Completion,
    Job,
    JobStatus,
    NewJob,
    job_from_row,
)
from claude_arch.pipeline.schema import jobs_table

__all__ = ["Ledger"]

Clock = Callable[[], float]
_INSERT_CHUNK = 500


class Ledger:
    """Jobs in one SQL table; every method is one short transaction."""

    def __init__(
        self, engine: AsyncEngine, *, table_name: str = "pipeline_jobs", clock: Clock = time.time
    ) -> None:
        self.engine = engine
        self.table = jobs_table(table_name)
        self.clock = clock
        # SQLite has one writer at a time: queue this process's transactions here instead of
        # letting many connections spin on the file lock
        self._serial = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    async def open(
        cls, url: str, *, table_name: str = "pipeline_jobs", clock: Clock = time.time
    ) -> Ledger:
        """The ledger at ``url`` (any SQLAlchemy URL), its table created when missing."""
        ledger = cls(make_engine(url), table_name=table_name, clock=clock)
        await ledger.create()
        return ledger

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction on the ledger's database (on SQLite, one at a time in this process);
        the batch mode's table shares it."""
        if self._serial is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._serial, self.engine.begin() as conn:
            yield conn

    async def create(self) -> None:
        """Create the table when missing (workers starting together may race: that is fine)."""
        await create_tables(self.engine, self.table)

    async def drop(self) -> None:
        async with self.transaction() as conn:
            await conn.run_sync(self.table.metadata.drop_all)

    async def aclose(self) -> None:
        await self.engine.dispose()

    # --- writing jobs ----------------------------------------------------------------------------
    async def submit(self, jobs: Iterable[NewJob]) -> int:
        """Insert the jobs whose key is new, all in one transaction; return how many were new."""
        now = self.clock()
        rows = [job.row(now) for job in jobs]
        insert = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert
        added = 0
        async with self.transaction() as conn:
            for start in range(0, len(rows), _INSERT_CHUNK):
                stmt = (
                    insert(self.table)
                    .values(rows[start : start + _INSERT_CHUNK])
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(self.table.c.id)
                )
                added += len((await conn.execute(stmt)).all())
        return added

    async def lease(
        self,
        owner: str,
        n: int,
        *,
        lease_s: float,
        run: str | None = None,
        statuses: Sequence[JobStatus] = WAITING,
    ) -> list[Job]:
        """Lease up to ``n`` due jobs (oldest first) for ``lease_s`` seconds; each lease counts
        as an attempt. Due: waiting in one of ``statuses`` past ``not_before``, or leased with an
        expired lease. Expired leases of jobs out of attempts become ``dead`` instead."""
        return await self._lease(owner, n, lease_s, self.run_condition(run), statuses)

    async def lease_one(self, job_id: int, owner: str, *, lease_s: float) -> Job | None:
        """Lease the job ``job_id`` if it is due (as :meth:`lease` does); None: it is not due,
        held under a valid lease, finished, or unknown (see :meth:`get` for which)."""
        jobs = await self._lease(owner, 1, lease_s, self.table.c.id == job_id, WAITING)
        return jobs[0] if jobs else None

    async def _lease(
        self, owner: str, n: int, lease_s: float, where: Any, statuses: Sequence[JobStatus]
    ) -> list[Job]:
        t = self.table.c
        now = self.clock()
        token = f"{owner}:{uuid.uuid4().hex}"
        async with self.transaction() as conn:
            await conn.execute(self._bury_expired(now, where))
            due = (
                select(t.id)
                .where(self.due_condition(now, statuses), where)
                .order_by(t.id)
                .limit(n)
                .with_for_update(skip_locked=True)
                # materialized: PostgreSQL may otherwise run a LIMIT subquery once per row
                .cte("due")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            result = await conn.execute(
                update(self.table)
                .where(t.id == due.c.id, self.due_condition(now, statuses))
                .values(
                    status=JobStatus.leased,
                    lease_token=token,
                    lease_owner=owner,
                    lease_expires=now + lease_s,
                    attempts=t.attempts + 1,
                    updated_at=now,
                )
                .returning(*self.table.c)
            )
            return sorted((job_from_row(row) for row in result), key=lambda j: j.id)

    async def reclaim_expired(self, run: str | None = None) -> list[int]:
        """Put jobs whose lease expired back to ``queued`` (``dead`` when that was their last
        attempt); return the ids queued again, oldest first."""
        t = self.table.c
        now = self.clock()
        async with self.transaction() as conn:
            await conn.execute(self._bury_expired(now, self.run_condition(run)))
            result = await conn.execute(
                update(self.table)
                .where(self._expired(now), t.attempts < t.max_attempts, self.run_condition(run))
                .values(
                    status=JobStatus.queued,
                    lease_token=None,
                    lease_expires=None,
                    last_error="lease expired (the worker died or hung)",
                    updated_at=now,
                )
                .returning(t.id)
            )
            return sorted(int(row[0]) for row in result)

    async def waiting_to_publish(
        self, *, idle_s: float, run: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[tuple[int, float]]:
        """Waiting jobs (queued or retrying) after ``after_id`` untouched for ``idle_s`` seconds,
        as ``(id, not_before)`` in id order, each marked touched now: a dispatcher that sends
        jobs to a broker calls this, so a job is handed out again only after another
        ``idle_s`` without news of it."""
        t = self.table.c
        now = self.clock()
        async with self.transaction() as conn:
            pick = (
                select(t.id)
                .where(
                    t.status.in_(WAITING),
                    t.updated_at <= now - idle_s,
                    t.id > after_id,
                    self.run_condition(run),
                )
                .order_by(t.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .cte("pick")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            result = await conn.execute(
                update(self.table)
                .where(t.id == pick.c.id, t.status.in_(WAITING))
                .values(updated_at=now)
                .returning(t.id, t.not_before)
            )
            return sorted((int(i), float(nb)) for i, nb in result)

    async def renew(self, tokens: Sequence[str], *, lease_s: float) -> int:
        """Extend the leases still held under ``tokens``; return how many jobs were extended."""
        if not tokens:
            return 0
        t = self.table.c
        now = self.clock()
        async with self.transaction() as conn:
            result = await conn.execute(
                update(self.table)
                .where(t.lease_token.in_(list(tokens)), t.status == JobStatus.leased)
                .values(lease_expires=now + lease_s, updated_at=now)
            )
            return max(result.rowcount, 0)

    async def complete(self, job: Job, done: Completion) -> bool:
        """Write the job's result if it still holds its lease; False: refused (written before,
        or the lease was taken back)."""
        return await self._settle(
            job,
            status=JobStatus.succeeded,
            result=done.text,
            response=done.response,
            usage=done.usage,
            cost_usd=done.cost_usd,
            input_tokens=int(done.usage.get("input_tokens", 0)),
            output_tokens=int(done.usage.get("output_tokens", 0)),
            last_error=None,
            finished_at=self.clock(),
        )

    async def retry(self, job: Job, *, after_s: float, error: str) -> bool:
        """Put the job back to be leased again in ``after_s`` seconds (``dead`` when it has no
        attempts left); False: the lease was no longer held."""
        now = self.clock()
        if job.attempts >= job.max_attempts:
            return await self.fail(job, error=f"{error} (after {job.attempts} attempts)")
        return await self._settle(
            job, status=JobStatus.retrying, not_before=now + after_s, last_error=error
        )

    async def give_back(self, job: Job, *, after_s: float = 0.0) -> bool:
        """Return the job unsent (its attempt not counted) to be leased again in ``after_s``
        seconds; False: the lease was no longer held."""
        t = self.table.c
        return await self._settle(
            job,
            status=JobStatus.queued,
            attempts=t.attempts - 1,
            not_before=self.clock() + after_s,
        )

    async def fail(self, job: Job, *, error: str) -> bool:
        """Make the job a dead letter with ``error``; False: the lease was no longer held."""
        return await self._settle(
            job, status=JobStatus.dead, last_error=error, finished_at=self.clock()
        )

    async def _settle(self, job: Job, **values: Any) -> bool:
        t = self.table.c
        values.update(lease_token=None, lease_expires=None, updated_at=self.clock())
        async with self.transaction() as conn:
            result = await conn.execute(
                update(self.table)
                .where(
                    t.key == job.key,
                    t.lease_token == job.lease_token,
                    t.status == JobStatus.leased,
                )
                .values(**values)
            )
            return result.rowcount == 1

    async def cancel(self, run: str | None = None) -> int:
        """Cancel every job not finished yet (a leased job's result will be refused)."""
        return await self._move(
            [JobStatus.queued, JobStatus.retrying, JobStatus.leased], JobStatus.cancelled, run
        )

    async def requeue_dead(self, ids: Sequence[int] | None = None, run: str | None = None) -> int:
        """Queue dead jobs again with fresh attempts: those in ``ids``, or all (of ``run``)."""
        return await self._move([JobStatus.dead], JobStatus.queued, run, ids, attempts=0)

    async def _move(
        self,
        sources: Sequence[JobStatus],
        target: JobStatus,
        run: str | None,
        ids: Sequence[int] | None = None,
        **values: Any,
    ) -> int:
        t = self.table.c
        where = [t.status.in_(list(sources)), self.run_condition(run)]
        if ids is not None:
            where.append(t.id.in_(list(ids)))
        async with self.transaction() as conn:
            result = await conn.execute(
                update(self.table)
                .where(*where)
                .values(
                    status=target,
                    lease_token=None,
                    lease_expires=None,
                    not_before=0.0,
                    updated_at=self.clock(),
                    **values,
                )
            )
            return max(result.rowcount, 0)

    # --- reading ---------------------------------------------------------------------------------
    async def get(self, job_id: int) -> Job | None:
        """The job ``job_id`` as it is now; None when there is none."""
        async with self.transaction() as conn:
            row = (await conn.execute(select(self.table).where(self.table.c.id == job_id))).first()
            return job_from_row(row) if row is not None else None

    async def jobs(
        self,
        *,
        status: JobStatus | None = None,
        run: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[Job]:
        """Jobs in id order after ``after_id`` (page through with the last id seen)."""
        t = self.table.c
        stmt = select(self.table).where(t.id > after_id, self.run_condition(run))
        if status is not None:
            stmt = stmt.where(t.status == status)
        async with self.transaction() as conn:
            result = await conn.execute(stmt.order_by(t.id).limit(limit))
            return [job_from_row(row) for row in result]

    async def counts(self, run: str | None = None) -> dict[str, Any]:
        """Jobs per status, plus ``input_tokens``, ``output_tokens``, ``cost_usd`` and
        ``attempts`` summed over the jobs (of ``run``)."""
        t = self.table.c
        async with self.transaction() as conn:
            per = await conn.execute(
                select(
                    t.status,
                    func.count(),
                    func.coalesce(func.sum(t.input_tokens), 0),
                    func.coalesce(func.sum(t.output_tokens), 0),
                    func.coalesce(func.sum(t.cost_usd), 0.0),
                    func.coalesce(func.sum(t.attempts), 0),
                )
                .where(self.run_condition(run))
                .group_by(t.status)
            )
            out: dict[str, Any] = {s.value: 0 for s in JobStatus}
            out.update(input_tokens=0, output_tokens=0, cost_usd=0.0, attempts=0)
            for status, n, tin, tout, cost, attempts in per:
                out[status] = int(n)
                out["input_tokens"] += int(tin)
                out["output_tokens"] += int(tout)
                out["cost_usd"] += float(cost)
                out["attempts"] += int(attempts)
            return out

    async def finished_since(self, since: float, run: str | None = None) -> int:
        """How many jobs succeeded after ``since``."""
        t = self.table.c
        async with self.transaction() as conn:
            result = await conn.execute(
                select(func.count()).where(
                    t.status == JobStatus.succeeded, t.finished_at > since, self.run_condition(run)
                )
            )
            return int(result.scalar() or 0)

    async def next_due(
        self, run: str | None = None, statuses: Sequence[JobStatus] = WAITING
    ) -> float | None:
        """When the earliest unfinished job (waiting in ``statuses``, or leased) becomes leasable
        (now or later); None: none left. Jobs held in a Message Batch do not count: their
        batch's row brings them back."""
        t = self.table.c
        async with self.transaction() as conn:
            waiting = await conn.execute(
                select(func.min(t.not_before)).where(
                    t.status.in_(list(statuses)), self.run_condition(run)
                )
            )
            leased = await conn.execute(
                select(func.min(t.lease_expires)).where(
                    t.status == JobStatus.leased, self.run_condition(run)
                )
            )
            times = [v for v in (waiting.scalar(), leased.scalar()) if v is not None]
            return min(times) if times else None

    # --- conditions ------------------------------------------------------------------------------
    def _bury_expired(self, now: float, where: Any) -> Any:
        t = self.table.c
        return (
            update(self.table)
            .where(self._expired(now), t.attempts >= t.max_attempts, where)
            .values(
                status=JobStatus.dead,
                lease_token=None,
                last_error="lease expired on the last attempt (the worker died or hung)",
                updated_at=now,
                finished_at=now,
            )
        )

    def _expired(self, now: float) -> Any:
        t = self.table.c
        return and_(t.status == JobStatus.leased, t.lease_expires < now)

    def due_condition(self, now: float, statuses: Sequence[JobStatus] = WAITING) -> Any:
        """Waiting in ``statuses`` and past ``not_before``, or an expired lease with attempts
        left. A job held in a Message Batch has no lease expiry (its batch's row holds it)."""
        t = self.table.c
        return or_(
            and_(t.status.in_(list(statuses)), t.not_before <= now),
            and_(self._expired(now), t.attempts < t.max_attempts),
        )

    def run_condition(self, run: str | None) -> Any:
        """The jobs of ``run`` (every job when None)."""
        return self.table.c.run == run if run is not None else and_(True)
