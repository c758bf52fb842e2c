"""Chat sessions in a SQL database (SQLite, PostgreSQL): the default session store.

    store = SqlSessionStore(make_engine("sqlite:///data/claude-arch.db"))
    session = await store.create("key_1", model="claude-haiku-4-5")
    await store.append(session.id, "key_1", [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "Hello!"}])

Two tables on the service's ``metadata``: ``service_sessions`` (one row per session: owner, model,
system prompt, times) and ``service_session_turns`` (one row per turn, its messages as JSON).
A row per turn makes appending an INSERT instead of rewriting a growing JSON document, and two
replicas appending to one session at once both keep their turn. The rules (ownership, limits,
expiry) are in :mod:`claude_arch.service.chat.sessions`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from claude_arch.core.sql import create_tables
from claude_arch.errors import InvalidRequestError
from claude_arch.service.chat.sessions import (
    Session,
    SessionLimits,
    new_session_id,
    outages_as_502,
    session_not_found,
    utcnow,
)
from claude_arch.service.db import metadata

__all__ = ["SqlSessionStore", "sessions_table", "turns_table"]

PURGE_EVERY = timedelta(hours=1)

sessions_table = Table(
    "service_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key_id", String(32), nullable=False, index=True),
    Column("model", String(100), nullable=True),
    Column("system", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
)

turns_table = Table(
    "service_session_turns",
    metadata,
    # SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere 64 bits
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "session_id",
        String(40),
        ForeignKey("service_sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("messages", Text, nullable=False),
    Column("bytes", Integer, nullable=False),
)


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything written here was UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlSessionStore:
    """:class:`~claude_arch.service.chat.sessions.SessionStore` on an async SQLAlchemy engine."""

    outages: tuple[type[BaseException], ...] = (
        OperationalError,
        InterfaceError,
        PoolTimeoutError,
        OSError,
    )
    """A database that cannot be reached: a 502 naming the session store (not a 500)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        limits: SessionLimits | None = None,
        owns_engine: bool = False,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.limits = limits or SessionLimits()
        self._owns_engine = owns_engine
        self._now = now
        self._ready = False
        self._init_lock = asyncio.Lock()
        self._next_purge: datetime | None = None

    async def init(self) -> None:
        """Create the tables when missing (replicas starting together may race: fine)."""
        async with self._init_lock:
            if self._ready:
                return
            await create_tables(self.engine, sessions_table, turns_table)
            self._ready = True

    def _cutoff(self) -> datetime:
        return self._now() - timedelta(seconds=self.limits.ttl_s)

    @outages_as_502
    async def create(
        self, key_id: str, *, model: str | None = None, system: str | None = None
    ) -> Session:
        if system is not None and "\x00" in system:
            # PostgreSQL text cannot hold NUL (a DBAPIError, so a 500); the turns are JSON-escaped
            raise InvalidRequestError(
                "system: must not contain the NUL character (U+0000)", field="system"
            )
        await self.init()
        now = self._now()
        if self._next_purge is None or now >= self._next_purge:
            self._next_purge = now + PURGE_EVERY
            await self.purge_expired()
        session = Session(new_session_id(), key_id, model, system, now, now)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(sessions_table).values(
                    id=session.id,
                    key_id=key_id,
                    model=model,
                    system=system,
                    created_at=now,
                    updated_at=now,
                )
            )
        return session

    @outages_as_502
    async def get(self, session_id: str, key_id: str) -> Session:
        await self.init()
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(sessions_table).where(
                        sessions_table.c.id == session_id, sessions_table.c.key_id == key_id
                    )
                )
            ).first()
            if row is None or _utc(row.updated_at) < self._cutoff():
                raise session_not_found(session_id)
            turns = (
                await conn.execute(
                    select(turns_table.c.messages)
                    .where(turns_table.c.session_id == session_id)
                    .order_by(turns_table.c.id)
                )
            ).scalars()
            return Session(
                row.id,
                row.key_id,
                row.model,
                row.system,
                _utc(row.created_at),
                _utc(row.updated_at),
                [json.loads(t) for t in turns],
            )

    @outages_as_502
    async def append(self, session_id: str, key_id: str, turn: list[dict[str, Any]]) -> None:
        await self.init()
        encoded = json.dumps(turn, separators=(",", ":"), ensure_ascii=False)
        size = len(encoded.encode("utf-8"))
        async with self.engine.begin() as conn:
            touched = await conn.execute(
                update(sessions_table)
                .where(
                    sessions_table.c.id == session_id,
                    sessions_table.c.key_id == key_id,
                    sessions_table.c.updated_at >= self._cutoff(),
                )
                .values(updated_at=self._now())
            )
            if touched.rowcount == 0:
                raise session_not_found(session_id)
            await conn.execute(
                insert(turns_table).values(session_id=session_id, messages=encoded, bytes=size)
            )
            rows = (
                await conn.execute(
                    select(turns_table.c.id, turns_table.c.bytes)
                    .where(turns_table.c.session_id == session_id)
                    .order_by(turns_table.c.id.desc())
                )
            ).all()
            drop_from = self._first_dropped(rows)
            if drop_from is not None:
                await conn.execute(
                    delete(turns_table).where(
                        turns_table.c.session_id == session_id, turns_table.c.id <= drop_from
                    )
                )

    def _first_dropped(self, newest_first: Sequence[Any]) -> int | None:
        """The id of the newest turn that no longer fits (it and all older go), or None."""
        total = 0
        for count, (turn_id, size) in enumerate(newest_first, start=1):
            total += size
            if count > 1 and (count > self.limits.max_turns or total > self.limits.max_bytes):
                return int(turn_id)
        return None

    @outages_as_502
    async def delete(self, session_id: str, key_id: str) -> None:
        await self.init()
        async with self.engine.begin() as conn:
            owned = select(sessions_table.c.id).where(
                sessions_table.c.id == session_id, sessions_table.c.key_id == key_id
            )
            if (await conn.execute(owned)).first() is None:
                raise session_not_found(session_id)
            await conn.execute(delete(turns_table).where(turns_table.c.session_id == session_id))
            await conn.execute(delete(sessions_table).where(sessions_table.c.id == session_id))

    @outages_as_502
    async def purge_expired(self) -> int:
        """Delete sessions unused for ``ttl_s``; how many went."""
        await self.init()
        cutoff = self._cutoff()
        expired = select(sessions_table.c.id).where(sessions_table.c.updated_at < cutoff)
        async with self.engine.begin() as conn:
            await conn.execute(delete(turns_table).where(turns_table.c.session_id.in_(expired)))
            gone = await conn.execute(
                delete(sessions_table).where(sessions_table.c.updated_at < cutoff)
            )
        return int(gone.rowcount)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def aclose(self) -> None:
        if self._owns_engine:
            await self.engine.dispose()
