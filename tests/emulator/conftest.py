"""Fixtures for the emulator's tests: a real server on a free port and an HTTP client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_shapes import headers

from claude_arch.testing import EmulatorServer


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def client(emu: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers=headers(emu.api_key), timeout=10) as http:
        yield http
