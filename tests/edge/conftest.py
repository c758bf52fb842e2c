"""Fixtures for the edge: keys made by the service's own key store, an emulator behind a gated
relay, and the edge running under CPython and under Pyodide with the same settings.

``edge`` is parametrised over both runtimes, so every behaviour test runs twice. The Pyodide one
needs node and npm: on a laptop without them it skips, under ``CI=true`` it fails
(``service_missing``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from edge_backends import (
    ALLOWED_MODELS,
    CORS_ORIGIN,
    LIMITED_RPM,
    MAX_BODY_BYTES,
    MAX_TOKENS_CAP,
    EdgeKeys,
    GatedUpstream,
    RunningEdge,
    install_pyodide,
    start_cpython_edge,
    start_pyodide_edge,
)

from claude_arch.core.sql import make_engine
from claude_arch.edge.cpython.keys_export import edge_records, export_keys
from claude_arch.service.tenancy.keys import KeyStore, hash_secret, keys_table
from claude_arch.testing import EmulatorServer


async def _make_keys(database: Path) -> EdgeKeys:
    engine = make_engine(f"sqlite:///{database}")
    try:
        store = KeyStore(engine)
        await store.init()
        _, unlimited = await store.create("edge-tests")
        _, limited = await store.create("edge-tests-limited", rpm=LIMITED_RPM)
        revoked_key, revoked = await store.create("edge-tests-revoked")
        await store.revoke(revoked_key.id)
        legacy = "sk-ca-" + secrets.token_urlsafe(32)  # a key made before salting
        async with engine.begin() as conn:
            await conn.execute(
                keys_table.insert().values(
                    id="key_legacy",
                    name="edge-tests-legacy",
                    prefix=legacy[:12],
                    secret_hash=hash_secret(legacy),
                    budget_period="month",
                    created_at=datetime.now(UTC),
                )
            )
    finally:
        await engine.dispose()
    entries = json.loads(export_keys(await edge_records(f"sqlite:///{database}")))
    kv = {e["key"]: e["value"] for e in entries}
    return EdgeKeys(unlimited, limited, revoked, legacy, kv)


def _missing(config: pytest.Config, name: str, where: str, why: str) -> None:
    """The suite's rule in ``tests/conftest.py``: skip on a laptop, fail under CI=true."""
    root = config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py is not loaded"
    root.service_missing(name, where, why)


@pytest.fixture(scope="session")
def edge_keys(tmp_path_factory: pytest.TempPathFactory) -> EdgeKeys:
    return asyncio.run(_make_keys(tmp_path_factory.mktemp("edge-keys") / "keys.db"))


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def upstream(emulator: EmulatorServer) -> Iterator[GatedUpstream]:
    with GatedUpstream(emulator.url) as relay:
        yield relay


def edge_env(upstream_url: str, upstream_key: str) -> dict[str, str]:
    """The settings both runtimes run with."""
    return {
        "ANTHROPIC_BASE_URL": upstream_url,
        "ANTHROPIC_API_KEY": upstream_key,
        "CLAUDE_ARCH_EDGE_ALLOWED_MODELS": ",".join(ALLOWED_MODELS),
        "CLAUDE_ARCH_EDGE_MAX_TOKENS": str(MAX_TOKENS_CAP),
        "CLAUDE_ARCH_EDGE_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "CLAUDE_ARCH_EDGE_CORS_ORIGINS": CORS_ORIGIN,
        "CLAUDE_ARCH_EDGE_CACHE_TTL_S": "300",
    }


@pytest.fixture(scope="session")
def cpython_edge(
    upstream: GatedUpstream,
    emulator: EmulatorServer,
    edge_keys: EdgeKeys,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningEdge]:
    keys_file = tmp_path_factory.mktemp("edge-cpython") / "edge-keys.json"
    keys_file.write_text(
        json.dumps([{"key": k, "value": v} for k, v in edge_keys.kv_entries.items()])
    )
    running = start_cpython_edge(edge_env(upstream.url, emulator.api_key), keys_file)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def pyodide_edge(
    request: pytest.FixtureRequest,
    upstream: GatedUpstream,
    emulator: EmulatorServer,
    edge_keys: EdgeKeys,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningEdge]:
    problem = install_pyodide()
    if problem:
        _missing(
            request.config, "Pyodide for Node (npm install pyodide)", "the test cache", problem
        )
    running = start_pyodide_edge(
        edge_env(upstream.url, emulator.api_key),
        edge_keys.kv_entries,
        tmp_path_factory.mktemp("edge-pyodide"),
    )
    yield running
    running.stop()


@pytest.fixture(scope="session", params=["cpython", "pyodide"])
def edge(request: pytest.FixtureRequest) -> RunningEdge:
    """The edge under each runtime in turn."""
    running: RunningEdge = request.getfixturevalue(f"{request.param}_edge")
    return running
