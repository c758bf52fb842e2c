"""Fixtures for the service: an emulator upstream and the service on free ports, in this loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(speed=0) as server:
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
