"""Ledgers on SQLite and PostgreSQL, each on a table of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from claude_arch.pipeline import Ledger
from claude_arch.testing import ManualClock


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: a SQLite file, then PostgreSQL's ``test`` database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def table_name() -> str:
    return f"pipeline_jobs_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand (``clock.now``, ``clock.advance``)."""
    return ManualClock(1_000_000.0)


@pytest.fixture
async def ledger(
    ledger_url: str, table_name: str, clock: Callable[[], float]
) -> AsyncIterator[Ledger]:
    """A ledger on a fresh table (dropped afterwards), on the test's clock."""
    ledger = await Ledger.open(ledger_url, table_name=table_name, clock=clock)
    try:
        yield ledger
    finally:
        await ledger.drop()
        await ledger.aclose()


@pytest.fixture
async def live_ledger(ledger_url: str, table_name: str) -> AsyncIterator[Ledger]:
    """A ledger on a fresh table (dropped afterwards), on the real clock."""
    ledger = await Ledger.open(ledger_url, table_name=table_name)
    try:
        yield ledger
    finally:
        await ledger.drop()
        await ledger.aclose()
