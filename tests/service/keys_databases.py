"""Databases for the key-store tests: a SQLite file, or a PostgreSQL database of the test's own.

A fresh PostgreSQL database per test (dropped afterwards) keeps parallel test runs apart even
though the table name ``service_keys`` is fixed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SQL_BACKENDS = ["sqlite", "postgresql"]


async def _admin(base_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(base_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_postgres_database(base_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the server of ``base_url``; dropped on exit."""
    name = f"keys_{secrets.token_hex(6)}"
    asyncio.run(_admin(base_url, f'CREATE DATABASE "{name}"'))
    try:
        yield base_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def database_for(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """A database URL of ``backend`` for one test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'keys.db'}"
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url
