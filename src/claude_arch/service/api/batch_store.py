"""Who owns each Message Batch: one row per batch created through the gateway, in the service
database (the ``service_batches`` table on :data:`claude_arch.service.db.metadata`).

    owners = BatchOwners(engine)
    await owners.add("msgbatch_01…", "key_3fa9…", requests=1000, hold=hold)
    owned = await owners.get("msgbatch_01…", "key_3fa9…")     # None for any other key
    rows, more = await owners.page("key_3fa9…", limit=20)    # the key's own, newest first

A row also keeps the batch's budget hold (its slot, id and amount, so any replica, even after a
restart, can release it) and its settlement: a replica *claims* it with a conditional update, adds
up the results' cost, then *finishes* it with another conditional update that only the claim's
holder can make, and only then charges the key. A claim whose replica died lapses after
``lease_s``; one that finished never lapses, so a batch is charged once, by one replica.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from claude_arch.core.sql import create_tables
from claude_arch.core.wire import paging
from claude_arch.errors import InvalidRequestError, NotFoundError
from claude_arch.service.db import metadata
from claude_arch.service.tenancy.budgets import BudgetHold, BudgetState

__all__ = ["BatchOwners", "OwnedBatch", "batches_table"]

SETTLE_LEASE_S = 15 * 60
"""How long a settlement claim lasts: reading the results of 100,000 requests takes minutes at
most; a claim older than this belongs to a replica that died, and another may take over."""

batches_table = Table(
    "service_batches",
    metadata,
    # SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere 64 bits
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("id", String(128), nullable=False, unique=True),
    Column("key_id", String(32), nullable=False),
    Column("request_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # how it was created, so any replica reads it back the same way: through the beta endpoint
    # (?beta=true) or not, and the anthropic-beta header, if any
    Column("beta", Boolean, nullable=False, default=False),
    Column("betas", String(1000), nullable=True),
    # the budget hold: None when nothing is held (the budget store was down and fail-open)
    Column("hold_slot", String(160), nullable=True),
    Column("hold_id", String(32), nullable=True),
    Column("hold_micro_usd", BigInteger, nullable=True),
    Column("hold_keep_until", DateTime(timezone=True), nullable=True),
    # the batch object as upstream last described it once ended (JSON), for listing
    Column("ended_batch", Text, nullable=True),
    Column("settle_claim", String(32), nullable=True),
    Column("settle_claimed_ms", BigInteger, nullable=True),
    Column("settled_at", DateTime(timezone=True), nullable=True),
    Column("cost_micro_usd", BigInteger, nullable=True),
    Index("ix_service_batches_key_seq", "key_id", "seq"),
)


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything written here was UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OwnedBatch:
    """One row: a batch, its owner, its budget hold and its settlement."""

    id: str
    key_id: str
    seq: int
    request_count: int
    created_at: datetime
    beta: bool
    """Created through the beta endpoint (``?beta=true``)."""
    betas: str | None
    """The ``anthropic-beta`` header it was created with."""
    hold: BudgetHold | None
    ended_batch: dict[str, Any] | None
    """The batch object upstream returned once it had ended (its ``results_url`` upstream's)."""
    settled_at: datetime | None
    cost_micro_usd: int | None

    @property
    def settled(self) -> bool:
        return self.settled_at is not None


def _from_row(row: Any) -> OwnedBatch:
    hold = None
    if row.hold_slot is not None:
        hold = BudgetHold(
            row.hold_slot,
            row.hold_id or "",
            int(row.hold_micro_usd or 0),
            BudgetState(0, 0),
            None if row.hold_keep_until is None else _utc(row.hold_keep_until),
        )
    return OwnedBatch(
        id=row.id,
        key_id=row.key_id,
        seq=int(row.seq),
        request_count=int(row.request_count),
        created_at=_utc(row.created_at),
        beta=bool(row.beta),
        betas=row.betas,
        hold=hold,
        ended_batch=json.loads(row.ended_batch) if row.ended_batch else None,
        settled_at=None if row.settled_at is None else _utc(row.settled_at),
        cost_micro_usd=row.cost_micro_usd,
    )


class BatchOwners:
    """The ``service_batches`` table of any SQLAlchemy async engine (SQLite, PostgreSQL); the
    table is created on first use. The engine is the caller's (shared with the keys)."""

    def __init__(self, engine: AsyncEngine, *, lease_s: float = SETTLE_LEASE_S) -> None:
        self.engine = engine
        self.lease_ms = int(lease_s * 1000)
        self._ready: asyncio.Future[None] | None = None

    async def init(self) -> None:
        """Create the table when it is missing (replicas starting together may race: fine)."""
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._create_table())
        try:
            await asyncio.shield(self._ready)
        except BaseException:
            if self._ready.done():
                self._ready = None  # a failure is tried again by the next request
            raise

    async def _create_table(self) -> None:
        await create_tables(self.engine, batches_table)

    async def add(
        self,
        batch_id: str,
        key_id: str,
        *,
        requests: int,
        hold: BudgetHold | None,
        beta: bool = False,
        betas: str | None = None,
    ) -> None:
        """Record that ``key_id`` created ``batch_id`` (of ``requests`` requests; through the
        beta endpoint, with the ``anthropic-beta`` header ``betas``), holding ``hold`` of its
        budget until the batch is settled."""
        await self.init()
        row = {
            "id": batch_id,
            "key_id": key_id,
            "request_count": requests,
            "created_at": datetime.now(UTC),
            "beta": beta,
            "betas": betas,
            "hold_slot": hold.slot if hold is not None else None,
            "hold_id": hold.id if hold is not None else None,
            "hold_micro_usd": hold.amount if hold is not None else None,
            "hold_keep_until": hold.expires_at if hold is not None else None,
        }
        async with self.engine.begin() as conn:
            await conn.execute(insert(batches_table).values(**row))

    async def get(self, batch_id: str, key_id: str) -> OwnedBatch | None:
        """The batch, if ``key_id`` owns it; None for an unknown batch or another key's."""
        await self.init()
        query = select(batches_table).where(
            batches_table.c.id == batch_id, batches_table.c.key_id == key_id
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _from_row(row)

    async def page(
        self,
        key_id: str,
        *,
        limit: str | int | None = None,
        before_id: str | None = None,
        after_id: str | None = None,
    ) -> tuple[list[OwnedBatch], bool]:
        """One page of ``key_id``'s batches, newest first, and whether more lie beyond it
        (before it, with ``before_id``): the API's paging (:mod:`claude_arch.core.wire.paging`),
        a 400 for a bad ``limit`` or both cursors, a 404 for a cursor that names none of the
        key's batches."""
        size = paging.parse_limit(limit)
        if before_id is not None and after_id is not None:
            raise InvalidRequestError(
                "before_id: use before_id or after_id, not both", field="before_id"
            )
        await self.init()
        table = batches_table
        mine = table.c.key_id == key_id
        async with self.engine.connect() as conn:
            cursor_id, name = (
                (before_id, "before_id") if before_id is not None else (after_id, "after_id")
            )
            if cursor_id is None:
                query = select(table).where(mine).order_by(table.c.seq.desc())
            else:
                at = (
                    await conn.execute(select(table.c.seq).where(mine, table.c.id == cursor_id))
                ).scalar()
                if at is None:
                    raise NotFoundError(f"{name}: no object with id {cursor_id[:100]!r}")
                if before_id is not None:  # the newer ones, nearest first
                    query = select(table).where(mine, table.c.seq > at).order_by(table.c.seq)
                else:
                    query = select(table).where(mine, table.c.seq < at).order_by(table.c.seq.desc())
            rows = (await conn.execute(query.limit(size + 1))).all()
        more = len(rows) > size
        chosen = [_from_row(row) for row in rows[:size]]
        if before_id is not None:
            chosen.reverse()
        return chosen, more

    async def remember_ended(self, batch_id: str, batch: dict[str, Any]) -> None:
        """Keep the ended batch's object, so a list need not ask upstream for it again."""
        await self.init()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(batches_table)
                .where(batches_table.c.id == batch_id, batches_table.c.ended_batch.is_(None))
                .values(ended_batch=json.dumps(batch, separators=(",", ":")))
            )

    async def claim_settlement(self, batch_id: str, claim: str) -> bool:
        """Take the right to settle ``batch_id`` under ``claim``: True for one caller at a time,
        across replicas, until the batch is settled or the claim's lease lapses."""
        await self.init()
        now = int(time.time() * 1000)
        table = batches_table
        free = table.c.settle_claimed_ms.is_(None) | (
            table.c.settle_claimed_ms < now - self.lease_ms
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(table)
                .where(table.c.id == batch_id, table.c.settled_at.is_(None), free)
                .values(settle_claim=claim, settle_claimed_ms=now)
            )
        return bool(result.rowcount == 1)

    async def release_claim(self, batch_id: str, claim: str) -> None:
        """Give up an unfinished claim (the results could not be read), so the next observer
        may settle at once."""
        await self.init()
        table = batches_table
        async with self.engine.begin() as conn:
            await conn.execute(
                update(table)
                .where(
                    table.c.id == batch_id,
                    table.c.settle_claim == claim,
                    table.c.settled_at.is_(None),
                )
                .values(settle_claim=None, settle_claimed_ms=None)
            )

    async def finish_settlement(self, batch_id: str, claim: str, cost_micro_usd: int) -> bool:
        """Mark ``batch_id`` settled at ``cost_micro_usd``: True only for the holder of a live
        ``claim``, once; the caller then charges the key, and nobody else ever will."""
        await self.init()
        table = batches_table
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(table)
                .where(
                    table.c.id == batch_id,
                    table.c.settle_claim == claim,
                    table.c.settled_at.is_(None),
                )
                .values(settled_at=datetime.now(UTC), cost_micro_usd=cost_micro_usd)
            )
        return bool(result.rowcount == 1)

    async def remove(self, batch_id: str) -> None:
        """Forget the batch (deleted upstream)."""
        await self.init()
        async with self.engine.begin() as conn:
            await conn.execute(delete(batches_table).where(batches_table.c.id == batch_id))
