"""Fixtures for the official-SDK tests: a logged emulator (the SDK installs, ``sdk0_python`` and
``ts_sdk_dir``, are the suite's, in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from logged_emulator import RequestLog, logged_emulator

from claude_arch.testing import EmulatorServer


@pytest.fixture
def request_log() -> RequestLog:
    return RequestLog()


@pytest.fixture
def emu(request_log: RequestLog) -> Iterator[EmulatorServer]:
    with logged_emulator(request_log) as server:
        yield server
