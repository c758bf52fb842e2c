"""A spending cap per run that holds across any number of workers: a reservation per call.

    caps = await SpendCaps.open(ledger)
    await caps.set("nightly", 20.0)                     # pipeline enqueue --max-cost-usd 20
    verdict = await caps.admit(job, worst_case_usd)     # before the call, under the job's lease
    ...                                                 # call, record the outcome
    await caps.release(job)

The cap and the reservations live in the ledger's database, so every worker on every machine
sees the same ones. :meth:`SpendCaps.admit` lets a call go only when the run's recorded cost,
plus what the calls in flight may cost at most, plus this call's worst case stays within the
cap; it takes the cap's row lock (PostgreSQL; SQLite has one writer), so two workers cannot both
take the last room. A reservation counts only while its job is still ``leased`` under the
same token with a lease that has not expired: a worker that dies frees its reservations when its
leases run out, with nothing to clean up (stale rows are deleted on the way).

The verdicts: ``ok`` (reserved), ``wait`` (the room is held by calls in flight: try again in a
moment) or ``capped`` (even with nothing in flight this call does not fit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from claude_arch.core.pricing.worst_case import worst_case_cost
from claude_arch.core.sql import create_tables
from claude_arch.pipeline.jobs import JobStatus
from claude_arch.pipeline.schema import caps_tables

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.jobs import Job
    from claude_arch.pipeline.ledger import Ledger

__all__ = ["SpendCaps", "Verdict", "worst_case_usd"]

Verdict = Literal["ok", "wait", "capped"]


def worst_case_usd(client: ClaudeClient, request: dict[str, Any]) -> float:
    """What sending ``request`` may cost at most, at list price: its estimated input and all of
    its ``max_tokens``, on its model (a ``model: "auto"`` request: the one its router picks),
    with every price factor it asks for (core's worst case, as a key's budget reserves it)."""
    call = client.build_call("create", request)
    model = call.requested
    cost = worst_case_cost(
        client.catalog,
        model.id,
        call.params,
        input_tokens=call.input_estimate,
        output_tokens=min(call.max_tokens, model.max_output),
    )
    return float(cost)


class SpendCaps:
    """The caps of one ledger's runs and the reservations of their calls in flight."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.caps, self.holds = caps_tables(ledger.table.name)

    @classmethod
    async def open(cls, ledger: Ledger) -> SpendCaps:
        caps = cls(ledger)
        await create_tables(ledger.engine, caps.caps, caps.holds)
        return caps

    async def set(self, run: str, max_cost_usd: float | None) -> None:
        """Cap ``run`` at ``max_cost_usd`` (None: no cap)."""
        c = self.caps.c
        async with self.ledger.transaction() as conn:
            if max_cost_usd is None:
                await conn.execute(delete(self.caps).where(c.run == run))
                return
            dialect = postgresql if self.ledger.engine.dialect.name == "postgresql" else sqlite
            now = self.ledger.clock()
            stmt = dialect.insert(self.caps).values(
                run=run, max_cost_usd=max_cost_usd, updated_at=now
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run"],
                    set_={"max_cost_usd": max_cost_usd, "updated_at": now},
                )
            )

    async def get(self, run: str) -> float | None:
        """``run``'s cap, None when it has none."""
        async with self.ledger.transaction() as conn:
            found = await conn.execute(
                select(self.caps.c.max_cost_usd).where(self.caps.c.run == run)
            )
            value = found.scalar()
            return float(value) if value is not None else None

    async def admit(self, job: Job, worst_usd: float) -> Verdict:
        """Reserve ``worst_usd`` for ``job``'s call (leased, with its token) if its run's cap
        allows it (see the module's docstring)."""
        if job.lease_token is None:
            raise ValueError(f"job {job.id} is not leased")
        c, h, t = self.caps.c, self.holds.c, self.ledger.table.c
        now = self.ledger.clock()
        async with self.ledger.transaction() as conn:
            found = await conn.execute(
                select(c.max_cost_usd).where(c.run == job.run).with_for_update()
            )
            cap = found.scalar()
            if cap is None:
                return "ok"
            live = and_(
                t.id == h.job_id,
                t.lease_token == h.lease_token,
                t.status == JobStatus.leased,
                t.lease_expires >= now,
            )
            await conn.execute(
                delete(self.holds).where(h.run == job.run, ~select(t.id).where(live).exists())
            )
            spent = await conn.execute(
                select(func.coalesce(func.sum(t.cost_usd), 0.0)).where(t.run == job.run)
            )
            held = await conn.execute(
                select(func.coalesce(func.sum(h.usd), 0.0)).where(h.run == job.run)
            )
            used = float(spent.scalar() or 0.0)
            if used + worst_usd > cap:
                return "capped"
            if used + float(held.scalar() or 0.0) + worst_usd > cap:
                return "wait"
            await conn.execute(
                self.holds.insert().values(
                    job_id=job.id,
                    lease_token=job.lease_token,
                    run=job.run,
                    usd=worst_usd,
                    created_at=now,
                )
            )
            return "ok"

    async def release(self, job: Job) -> None:
        """Drop ``job``'s reservation (its outcome is recorded, or it never ran)."""
        async with self.ledger.transaction() as conn:
            h = self.holds.c
            mine = and_(h.job_id == job.id, h.lease_token == job.lease_token)
            await conn.execute(delete(self.holds).where(mine))

    async def usage(self, run: str) -> dict[str, float | None]:
        """``run``'s cap and what its calls in flight hold (for ``pipeline status``)."""
        async with self.ledger.transaction() as conn:
            held = await conn.execute(
                select(func.coalesce(func.sum(self.holds.c.usd), 0.0)).where(
                    self.holds.c.run == run
                )
            )
            held_usd = float(held.scalar() or 0.0)
        return {"max_cost_usd": await self.get(run), "reserved_usd": round(held_usd, 6)}
