"""SQL databases: one async SQLAlchemy engine set-up for every part that keeps rows (the service's
keys, sessions and batches; the pipeline's job ledger).

SQLite in the data directory by default, PostgreSQL (or any SQLAlchemy URL with an async driver)
at scale. Plain URLs are given their async driver:

    >>> async_url("sqlite:///data/claude-arch.db")
    'sqlite+aiosqlite:///data/claude-arch.db'
    >>> async_url("postgresql://app@db:5432/claude")
    'postgresql+asyncpg://app@db:5432/claude'

libpq's ``sslmode`` (in the URLs managed databases hand out) is asyncpg's ``ssl``:

    >>> async_url("postgresql://app@db/claude?sslmode=require")
    'postgresql+asyncpg://app@db/claude?ssl=require'
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["async_url", "create_tables", "make_engine"]

_CREATE_TRIES = 3

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """``url`` with an async driver when it names none."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    driver = _ASYNC_DRIVERS.get(scheme, scheme)
    if driver == "postgresql+asyncpg" and "?" in rest:
        # asyncpg.connect refuses sslmode (a TypeError on the first query); it takes the same
        # values as ssl
        base, _, query = rest.partition("?")
        params = query.split("&")
        if not any(p.startswith("ssl=") for p in params):
            params = ["ssl=" + p[8:] if p.startswith("sslmode=") else p for p in params]
        rest = f"{base}?{'&'.join(params)}"
    return f"{driver}://{rest}"


def make_engine(url: str) -> AsyncEngine:
    """An engine for ``url``; a SQLite file's folder is created, and SQLite runs in WAL mode so
    readers do not wait for the writer."""
    url = async_url(url)
    options: dict[str, Any] = {}
    if url.startswith("sqlite+aiosqlite:///"):
        path = url.removeprefix("sqlite+aiosqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        options["pool_pre_ping"] = True
    engine = create_async_engine(url, **options)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


async def create_tables(engine: AsyncEngine, *tables: Table) -> None:
    """Create the ``tables`` (of one metadata) that are missing. Replicas starting together may
    race to create them: a failure is retried (the next try creates only what the winner has
    not), and is fine when the tables exist afterwards."""
    if not tables:
        return
    for attempt in range(_CREATE_TRIES):
        try:
            async with engine.begin() as conn:
                await conn.run_sync(tables[0].metadata.create_all, tables=list(tables))
            return
        except DBAPIError:
            async with engine.connect() as conn:
                exists = await conn.run_sync(
                    lambda sync: all(sync.dialect.has_table(sync, t.name) for t in tables)
                )
            if exists:
                return
            if attempt == _CREATE_TRIES - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))  # the other replica's DDL commits


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
