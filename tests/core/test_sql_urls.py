"""A libpq-style PostgreSQL URL works: ``?sslmode=…`` (what managed databases hand out) is
asyncpg's ``ssl``. Before, ``make_engine`` passed ``sslmode`` to asyncpg.connect, which refused it
with a TypeError on the first query (the service could not start)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from claude_arch.core.sql import async_url, make_engine
from claude_arch.service.tenancy.keys import KeyStore


@pytest.mark.parametrize("mode", ["disable", "prefer"])
async def test_a_postgresql_url_with_sslmode_connects(postgres_url: str, mode: str) -> None:
    separator = "&" if "?" in postgres_url else "?"
    engine = make_engine(f"{postgres_url}{separator}sslmode={mode}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        await KeyStore(engine).ping()
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://u:p%3Fsslmode@db/x?sslmode=require&application_name=a",
            "postgresql+asyncpg://u:p%3Fsslmode@db/x?ssl=require&application_name=a",
        ),
        ("postgres://db/x?ssl=require", "postgresql+asyncpg://db/x?ssl=require"),
        (
            "postgresql+asyncpg://db/x?sslmode=verify-full",
            "postgresql+asyncpg://db/x?ssl=verify-full",
        ),
        ("postgresql+psycopg://db/x?sslmode=require", "postgresql+psycopg://db/x?sslmode=require"),
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
    ],
)
def test_only_asyncpg_urls_have_sslmode_renamed(url: str, expected: str) -> None:
    assert async_url(url) == expected
