"""``claude-arch keys`` against a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from keys_databases import SQL_BACKENDS, database_for
from typer.testing import CliRunner, Result

from claude_arch.core.sql import make_engine
from claude_arch.errors import AuthenticationError
from claude_arch.service.tenancy.keys import ApiKey, KeyStore
from claude_arch.service.tenancy.keys_cli import keys_app
from claude_arch.service.tenancy.quota import Quotas

app = typer.Typer()
app.add_typer(keys_app, name="keys")  # as cli.py registers it


@app.callback()
def _root() -> None:
    """claude-arch (test root)."""


@pytest.fixture(params=SQL_BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    with database_for(request, request.param, tmp_path) as url:
        yield url


def keys(database_url: str, *args: str, redis_url: str = "", columns: int | None = None) -> Result:
    """Run ``claude-arch keys …``; piped, or on a terminal ``columns`` wide when given."""
    env = {"CLAUDE_ARCH_DATABASE_URL": database_url, "CLAUDE_ARCH_REDIS_URL": redis_url}
    if columns is not None:
        env |= {"COLUMNS": str(columns), "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    return CliRunner().invoke(app, ["keys", *args], env=env)


def authenticate(database_url: str, secret: str) -> ApiKey:
    async def run() -> ApiKey:
        engine = make_engine(database_url)
        try:
            return await KeyStore(engine).authenticate(secret)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def create(database_url: str, *args: str) -> dict[str, Any]:
    result = keys(database_url, "create", *args, "--json")
    assert result.exit_code == 0, result.output
    assert "cannot be shown again" in result.stderr
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def test_create_prints_the_secret_once_and_it_authenticates(database_url: str) -> None:
    result = keys(database_url, "create", "billing", "--rpm", "60", "--budget-usd", "25")
    assert result.exit_code == 0, result.output
    secret = next(w for w in result.stdout.split() if w.startswith("sk-ca-"))
    assert "60 rpm, $25.00/month" in result.stdout
    key = authenticate(database_url, secret)
    assert (key.name, key.rpm, key.budget_usd) == ("billing", 60, Decimal(25))

    listed = keys(database_url, "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert secret not in listed.output
    assert hashlib.sha256(secret.encode()).hexdigest() not in listed.output
    assert [row["id"] for row in json.loads(listed.stdout)] == [key.id]


def test_revoke_by_id_or_prefix_then_list(database_url: str) -> None:
    first = create(database_url, "a", "--tpm", "1000", "--budget-usd", "0.5", "--period", "day")
    second = create(database_url, "b")
    assert first["budget_period"] == "day"
    result = keys(database_url, "revoke", first["id"])
    assert result.exit_code == 0, result.output
    assert f"revoked {first['id']} (a)" in result.stdout
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate(database_url, first["secret"])
    assert keys(database_url, "revoke", second["prefix"]).exit_code == 0

    assert json.loads(keys(database_url, "list", "--json").stdout) == []
    every = json.loads(keys(database_url, "list", "--all", "--json").stdout)
    assert {row["id"] for row in every} == {first["id"], second["id"]}
    assert all(row["revoked_at"] for row in every)
    assert all("secret" not in row for row in every)
    table = keys(database_url, "list", "--all", columns=120)
    assert first["id"] in table.stdout
    assert "1000 tpm, $0.50/day" in table.stdout
    assert "revoked" in table.stdout


def test_list_at_80_columns_fits_and_piped_is_tab_separated(database_url: str) -> None:
    made = [
        create(database_url, "a-team-with-a-rather-long-name", "--rpm", "60", "--tpm", "200000"),
        create(database_url, "b", "--budget-usd", "25", "--period", "month"),
    ]
    narrow = keys(database_url, "list", columns=80)
    assert narrow.exit_code == 0, narrow.output
    lines = re.sub(r"\x1b\[[0-9;]*m", "", narrow.stdout).splitlines()  # bold headings
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    for row in made:
        assert row["id"] in narrow.stdout  # ids are never wrapped or cut
    assert "60 rpm" in narrow.stdout
    assert "$25.00/month" in narrow.stdout
    heading = next(line for line in lines if line.strip())
    assert "limits" in heading
    assert "prefix" not in heading
    assert "Prefixes and dates" in narrow.stdout
    wide = keys(database_url, "list", columns=140)
    assert "prefix" in next(line for line in wide.stdout.splitlines() if line.strip())
    assert made[0]["prefix"] in wide.stdout

    piped = keys(database_url, "list")
    header, *rows = (line.split("\t") for line in piped.stdout.splitlines())
    assert header[:4] == ["id", "name", "prefix", "rpm"]
    assert all(len(row) == len(header) for row in rows)
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_id[made[0]["id"]]["tpm"] == "200000"
    assert by_id[made[1]["id"]]["budget_usd"] == "25.00"
    assert by_id[made[1]["id"]]["revoked_at"] == ""
    empty = keys(database_url, "list", "--all")  # the header alone still parses when piped
    assert empty.stdout.splitlines()[0].startswith("id\tname")


def test_revoking_an_unknown_key_fails_clearly(database_url: str) -> None:
    result = keys(database_url, "revoke", "key_nope")
    assert result.exit_code == 1
    assert "no service key has the id or prefix 'key_nope'" in result.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--rpm", "0"], "--rpm"),
        (["--tpm", "-5"], "--tpm"),
        (["--budget-usd", "-3"], "--budget-usd"),
        (["--budget-usd", "lots"], "--budget-usd"),
        (["--period", "week"], "--period"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    tmp_path: Path, args: list[str], option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = keys(f"sqlite:///{tmp_path / 'keys.db'}", "create", "a", *args)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert not (tmp_path / "keys.db").exists()  # refused before touching the database


def test_list_shows_spending_from_redis(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'keys.db'}"
    created = create(database_url, "spender", "--budget-usd", "10")
    key = authenticate(database_url, created["secret"])

    async def spend() -> None:
        quotas = Quotas(redis_url=redis_url)
        try:
            admission = await quotas.admit(
                key, input_tokens=10, max_output_tokens=10, max_cost_usd=Decimal("0.5")
            )
            await quotas.settle(
                admission, input_tokens=10, output_tokens=5, cost_usd=Decimal("0.125")
            )
        finally:
            await quotas.aclose()

    asyncio.run(spend())
    rows = json.loads(keys(database_url, "list", "--json", redis_url=redis_url).stdout)
    assert rows[0]["spent_usd"] == "0.125"  # a plain decimal, no padding
    table = keys(database_url, "list", redis_url=redis_url, columns=120).stdout
    assert "$0.125" in table
    piped = keys(database_url, "list", redis_url=redis_url).stdout.splitlines()
    assert (
        dict(zip(piped[0].split("\t"), piped[1].split("\t"), strict=True))["spent_usd"] == "0.125"
    )
