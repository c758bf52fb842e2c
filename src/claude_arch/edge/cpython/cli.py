"""``claude-arch edge``: serve the edge core locally, bundle it for Workers, export keys (wiring).

    claude-arch edge serve --port 8787 --keys-file edge-keys.json
    claude-arch edge bundle
    claude-arch edge keys-export > edge-keys.json
    claude-arch edge generate --check

Settings come from the environment, as a Worker's come from its vars (``docs/edge.md``). With no
``ANTHROPIC_API_KEY`` and no ``ANTHROPIC_BASE_URL``, ``serve`` starts the embedded emulator and
sends everything there. Behaviour lives in :mod:`claude_arch.edge`.
"""

from __future__ import annotations

import asyncio
import enum
import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["edge_app"]

edge_app = typer.Typer(
    name="edge",
    help="The edge worker: serve its core locally, bundle it for Cloudflare, export keys.",
    no_args_is_help=True,
    add_completion=False,
)


class KeysFormat(enum.StrEnum):
    kv = "kv"
    env = "env"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@edge_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 8787,
    keys_file: Annotated[
        Path | None,
        typer.Option(help="KV entries (claude-arch edge keys-export) to load at start."),
    ] = None,
) -> None:
    """Run the edge core under CPython: aiohttp fetch, in-memory KV and cache."""
    from claude_arch.constants import ENV_API_KEY, ENV_BASE_URL
    from claude_arch.edge.config import EdgeConfig, EdgeConfigError
    from claude_arch.edge.cpython.platform import load_kv_file
    from claude_arch.edge.cpython.serve import EdgeServer

    env = dict(os.environ)
    emulator = None
    if not env.get(ENV_API_KEY) and not env.get(ENV_BASE_URL):
        from claude_arch.testing import start_embedded

        emulator = start_embedded()
        env[ENV_BASE_URL], env[ENV_API_KEY] = emulator.url, emulator.api_key
        typer.echo(f"upstream: the embedded emulator at {emulator.url} (no {ENV_API_KEY} set)")
    try:
        config = EdgeConfig.from_env(env)
        entries = load_kv_file(keys_file) if keys_file is not None else {}
    except (EdgeConfigError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    server = EdgeServer(config, host=host, port=port, kv_entries=entries)
    try:
        server.serve_forever(
            lambda url: typer.echo(
                f"claude-arch edge on {url} ({len(entries)} KV entries); Ctrl-C stops"
            )
        )
    finally:
        if emulator is not None:
            emulator.close()


@edge_app.command("bundle")
def bundle(
    out: Annotated[
        Path | None, typer.Option(help="Directory to write (default: the worker's src/).")
    ] = None,
) -> None:
    """Write the worker's Python (entry.py and claude_arch/edge) and print its size."""
    from claude_arch.edge.cpython.bundle import ENTRY_PY, build_bundle, bundle_size

    target = out or ENTRY_PY.parent
    if not ENTRY_PY.exists():
        raise _fail(f"{ENTRY_PY} is missing: run this from a checkout of the repository")
    files = build_bundle(target)
    typer.echo(f"{len(files)} files, {bundle_size(files)} bytes of Python in {target}")


@edge_app.command("generate")
def generate(
    check: Annotated[
        bool, typer.Option("--check", help="Only check; exit 1 when out of date.", metavar="")
    ] = False,
) -> None:
    """Write claude_arch/edge/protocol_data.py from core (catalog, errors, limits)."""
    from claude_arch.edge.cpython.generate import (
        PROTOCOL_DATA_PATH,
        render_protocol_data,
        write_protocol_data,
    )

    if check:
        current = PROTOCOL_DATA_PATH.read_text("utf-8") if PROTOCOL_DATA_PATH.exists() else ""
        if current != render_protocol_data():
            raise _fail(f"{PROTOCOL_DATA_PATH} is out of date: run claude-arch edge generate")
        typer.echo(f"{PROTOCOL_DATA_PATH} is up to date")
        return
    changed = write_protocol_data(PROTOCOL_DATA_PATH)
    typer.echo(f"{PROTOCOL_DATA_PATH} {'rewritten' if changed else 'already up to date'}")


@edge_app.command("keys-export")
def keys_export(
    fmt: Annotated[
        KeysFormat,
        typer.Option("--format", help="kv: wrangler kv bulk put; env: CLAUDE_ARCH_EDGE_KEYS."),
    ] = KeysFormat.kv,
) -> None:
    """Print the service's keys (hashes, never secrets) for Workers KV or the keys secret."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from claude_arch.edge.cpython.keys_export import edge_records, export_keys
    from claude_arch.settings import Settings

    try:
        records = asyncio.run(edge_records(Settings().sqlalchemy_url))
    except (OperationalError, InterfaceError, OSError) as exc:
        raise _fail(f"the database cannot be reached: {exc}") from None
    typer.echo(export_keys(records, fmt.value))
