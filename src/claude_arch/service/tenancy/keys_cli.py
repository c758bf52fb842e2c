"""``claude-arch keys``: create, list and revoke the service's API keys (wiring only).

    claude-arch keys create billing-team --rpm 60 --tpm 200000 --budget-usd 25 --period month
    claude-arch keys list --all --json
    claude-arch keys revoke key_3fa9c2d1e4b5a697

The database is the service's (``CLAUDE_ARCH_DATABASE_URL``, else SQLite in the data directory);
spending is shown when ``CLAUDE_ARCH_REDIS_URL`` is set, since in-process counters live in the
service's own memory. Behaviour lives in :mod:`claude_arch.service.tenancy.keys`.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from claude_arch.errors import ClaudeArchError
from claude_arch.tables import tsv

if TYPE_CHECKING:
    from claude_arch.service.tenancy.keys import ApiKey, KeyStore

__all__ = ["keys_app"]

T = TypeVar("T")
# the key table's column ranges (rpm 32-bit, tpm and micro-dollars 64-bit), as keys.py checks
MAX_RPM = 2**31 - 1
MAX_TPM = 2**63 - 1
MAX_BUDGET_USD = Decimal(MAX_TPM) * Decimal("0.000001")

keys_app = typer.Typer(
    name="keys",
    help="Create, list and revoke the service's API keys (stored hashed; secrets shown once).",
    no_args_is_help=True,
    add_completion=False,
)


class Period(enum.StrEnum):
    day = "day"
    month = "month"
    total = "total"


def _budget(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or not Decimal("0.000001") <= amount <= MAX_BUDGET_USD:
        raise typer.BadParameter(
            f"must be an amount of USD from 0.000001 to {MAX_BUDGET_USD}, not {value!r}"
        )
    return amount


def _run(operation: Callable[[KeyStore], Awaitable[T]]) -> T:
    """Run ``operation`` on a key store over the configured database; errors exit cleanly."""
    from claude_arch.core.sql import make_engine
    from claude_arch.service.tenancy.keys import KeyStore
    from claude_arch.settings import Settings

    async def run() -> T:
        engine = make_engine(Settings().sqlalchemy_url)
        try:
            store = KeyStore(engine)
            await store.init()
            return await operation(store)
        finally:
            await engine.dispose()

    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        return asyncio.run(run())
    except ClaudeArchError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except (OperationalError, InterfaceError, OSError) as exc:
        # an operator's tool: the cause (host, driver message) is theirs to see
        typer.echo(f"error: the database cannot be reached: {exc}", err=True)
        raise typer.Exit(1) from None


_CENTS = Decimal("0.01")


def money(usd: Decimal) -> str:
    """USD as a plain decimal: cents at least, more places only when the amount has them.

    >>> money(Decimal("2E+1")), money(Decimal("0.5")), money(Decimal("0.000125"))
    ('20.00', '0.50', '0.000125')
    """
    cents = usd.quantize(_CENTS)
    return f"{cents:f}" if cents == usd else f"{usd.normalize():f}"


def _row(key: ApiKey, spent: Decimal | None) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "rpm": key.rpm,
        "tpm": key.tpm,
        "budget_usd": None if key.budget_usd is None else money(key.budget_usd),
        "budget_period": key.budget_period,
        "spent_usd": None if spent is None else money(spent),
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _limits(row: dict[str, Any]) -> str:
    parts = [f"{row['rpm']} rpm" if row["rpm"] else "", f"{row['tpm']} tpm" if row["tpm"] else ""]
    if row["budget_usd"] is not None:
        parts.append(f"${row['budget_usd']}/{row['budget_period']}")
    return ", ".join(p for p in parts if p) or "unlimited"


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. billing-team.")],
    *,
    rpm: Annotated[
        int | None, typer.Option("--rpm", min=1, max=MAX_RPM, help="Requests per minute.")
    ] = None,
    tpm: Annotated[
        int | None,
        typer.Option("--tpm", min=1, max=MAX_TPM, help="Tokens per minute (input + output)."),
    ] = None,
    budget_usd: Annotated[
        Decimal | None,
        typer.Option("--budget-usd", parser=_budget, help="USD the key may spend per period."),
    ] = None,
    period: Annotated[Period, typer.Option("--period", help="Budget period.")] = Period.month,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.", metavar="")] = False,
) -> None:
    """Create a key and print its secret: it is shown this once and never again."""
    key, secret = _run(
        lambda store: store.create(
            name, rpm=rpm, tpm=tpm, budget_usd=budget_usd, budget_period=period.value
        )
    )
    if as_json:
        typer.echo(json.dumps({**_row(key, None), "secret": secret}, indent=2))
    else:
        typer.echo(f"created {key.id} ({key.name}): {_limits(_row(key, None))}")
        typer.echo(f"secret: {secret}")
    typer.echo("Store the secret now: it cannot be shown again.", err=True)


@keys_app.command("list")
def list_keys(
    include_revoked: Annotated[
        bool, typer.Option("--all", help="Include revoked keys.", metavar="")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.", metavar="")] = False,
) -> None:
    """List keys: id, name, prefix, limits, budget, spending, created, revoked. Never secrets."""
    from claude_arch.settings import Settings

    redis_url = Settings().redis_url

    async def listing(store: KeyStore) -> list[dict[str, Any]]:
        keys = await store.list(include_revoked=include_revoked)
        if not redis_url:
            return [_row(key, None) for key in keys]
        from claude_arch.service.tenancy.quota import Quotas

        quotas = Quotas(redis_url=redis_url)
        try:
            return [_row(key, await quotas.spent(key)) for key in keys]
        finally:
            await quotas.aclose()

    rows = _run(listing)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    _print_rows(rows)


_TSV_COLUMNS = (
    "id",
    "name",
    "prefix",
    "rpm",
    "tpm",
    "budget_usd",
    "budget_period",
    "spent_usd",
    "created_at",
    "revoked_at",
)
_WIDE_TABLE = 100
"""Columns the full keys table needs; narrower terminals get it without prefix and dates."""


def _print_rows(rows: list[dict[str, Any]]) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped: a header and one tab-separated row per key
        typer.echo(tsv(_TSV_COLUMNS, ([row[c] for c in _TSV_COLUMNS] for row in rows)), nl=False)
        return
    if not rows:
        typer.echo("no keys: create one with `claude-arch keys create NAME`")
        return
    wide = console.width >= _WIDE_TABLE
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold")
    if wide:
        table.add_column("prefix", no_wrap=True)
    table.add_column("limits", overflow="fold")
    table.add_column("spent", justify="right", no_wrap=True)
    table.add_column("created" if wide else "revoked", no_wrap=True)
    if wide:
        table.add_column("revoked", no_wrap=True)
    for row in rows:
        spent = "" if row["spent_usd"] is None else f"${row['spent_usd']}"
        revoked = (row["revoked_at"] or "")[:10]
        cells: list[str] = [row["id"], escape(row["name"])]
        if wide:
            cells.append(row["prefix"] + "…")
        cells += [_limits(row), spent]
        cells += [row["created_at"][:10], revoked] if wide else [revoked]
        table.add_row(*cells)
    console.print(table)
    if not wide:
        console.print(f"Prefixes and dates: a terminal of {_WIDE_TABLE}+ columns, or --json.")


@keys_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(metavar="ID_OR_PREFIX", help="A key's id or prefix.")],
) -> None:
    """Revoke a key; every replica refuses it within its key cache TTL (5 s by default)."""
    revoked = _run(lambda store: store.revoke(key))
    typer.echo(f"revoked {revoked.id} ({revoked.name}) at {revoked.revoked_at:%Y-%m-%d %H:%M:%S}")
