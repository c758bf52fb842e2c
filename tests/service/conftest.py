"""Fixtures for the service: an emulator upstream and the service on free ports, in this loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from upstream_watch import UpstreamWatch

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


@pytest.fixture
def watch() -> UpstreamWatch:
    """When each upstream request started and stopped (add ``watch.record`` to an emulator)."""
    return UpstreamWatch()


@pytest.fixture
async def late_upstream(watch: UpstreamWatch) -> AsyncIterator[EmulatorServer]:
    """An upstream whose first byte (JSON answer or stream) comes 30 s after a request whose
    last user turn starts with "late"; ``watch`` sees its requests."""
    emu = EmulatorServer(speed=0)
    emu.app.middlewares.insert(0, watch.record)
    emu.script(user="^late", text="finally", delay_s=30)
    async with emu:
        yield emu


@pytest.fixture
def hits() -> list[str]:
    """The paths of the requests that reached the ``emulator`` fixture's server."""
    return []


@pytest.fixture
async def emulator(hits: list[str]) -> AsyncIterator[EmulatorServer]:
    """An unpaced emulator that counts, in ``hits``, every request that reaches it (the
    emulator's own stats count answered messages only, not count_tokens or models)."""

    @web.middleware
    async def count(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        hits.append(request.path)
        return await handler(request)

    server = EmulatorServer(speed=0)
    server.app.middlewares.insert(0, count)
    async with server:
        yield server


@pytest.fixture
async def service(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[ServiceServer]:
    """The service with keys required, upstream the emulator, SQLite in tmp_path."""
    async with ServiceServer.for_emulator(emulator, tmp_path) as server:
        yield server


@pytest.fixture
async def dev_service(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[ServiceServer]:
    """The service in loopback dev mode: no keys needed."""
    async with ServiceServer.for_emulator(emulator, tmp_path, dev=True) as server:
        yield server
