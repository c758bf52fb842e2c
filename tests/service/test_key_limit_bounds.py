"""Limits too large for their column are a 400 naming the field, not a database error.

``rpm`` is a 32-bit column and ``tpm`` and the budget (in micro-dollars) 64-bit ones: without a
bound, PostgreSQL refused the INSERT (a DBAPIError, a traceback in ``keys create``) and SQLite
overflowed on a large budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from keys_databases import SQL_BACKENDS, database_for
from test_keys_cli import keys

from claude_arch.core.sql import make_engine
from claude_arch.errors import InvalidRequestError
from claude_arch.service.tenancy.keys import KeyStore


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_for(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[KeyStore]:
    engine = make_engine(database_url)
    store = KeyStore(engine)
    await store.init()
    yield store
    await engine.dispose()


@pytest.mark.parametrize(
    ("field", "limits"),
    [
        ("rpm", {"rpm": 2**31}),
        ("tpm", {"tpm": 2**63}),
        ("budget_usd", {"budget_usd": Decimal("1e20")}),
    ],
)
async def test_a_limit_beyond_its_column_is_a_400_naming_it(
    store: KeyStore, field: str, limits: dict[str, Any]
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await store.create("huge", **limits)
    assert caught.value.field == field
    assert await store.list() == []


async def test_the_largest_limits_are_kept(store: KeyStore) -> None:
    key, _ = await store.create(
        "max", rpm=2**31 - 1, tpm=2**63 - 1, budget_usd=Decimal("9223372036854.775807")
    )
    [listed] = await store.list()
    assert (listed.rpm, listed.tpm, listed.budget_usd) == (key.rpm, key.tpm, key.budget_usd)
    assert listed.budget_usd == Decimal("9223372036854.775807")


@pytest.mark.parametrize(
    ("option", "value"),
    [("--rpm", str(2**31)), ("--tpm", str(2**63)), ("--budget-usd", "1e20")],
)
def test_the_cli_refuses_a_limit_beyond_its_column_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    result = keys(f"sqlite:///{tmp_path / 'k.db'}", "create", "huge", option, value)
    assert result.exit_code == 2, result.output
    assert option in result.output
