"""The ``claude-arch`` command: parsing and presentation only; behaviour lives in the layers."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from claude_arch import __version__

app = typer.Typer(
    name="claude-arch",
    help="Choose and run production architectures for the Claude API.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"claude-arch {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """claude-arch: choose and run production architectures for the Claude API."""


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the model catalog: IDs, aliases, limits and list prices (USD per million tokens)."""
    from claude_arch.core.catalog import default_catalog

    catalog = default_catalog()
    if as_json:
        rows = [
            {
                "id": m.id,
                "aliases": list(m.aliases),
                "family": m.family,
                "context_window": m.context_window,
                "max_output": m.max_output,
                "prices": {k: str(getattr(m.prices, k)) for k in m.prices.__slots__},
            }
            for m in catalog
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(
        title="Claude models: USD per million tokens (w = cache write)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("model", no_wrap=True)
    for col in ("context", "max out", "input", "output", "w 5m", "w 1h", "read"):
        table.add_column(col, justify="right", no_wrap=True)
    for m in catalog:
        p = m.prices
        table.add_row(
            m.id,
            f"{m.context_window // 1000}k",
            f"{m.max_output // 1000}k",
            *(
                str(v)
                for v in (p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read)
            ),
        )
    console.print(table)
    console.print(
        f"Message Batches bill {catalog.batch_discount:.0%} of these prices. "
        "Aliases and families: claude-arch models --json"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
