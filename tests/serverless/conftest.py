"""The serverless tests' shared fixture: an emulator per test module that accepts only the
canary key the functions are given (which no log line or answer may hold)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lambda_env import CANARY_KEY

from claude_arch.testing import EmulatorServer


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_keys=[CANARY_KEY]) as server:
        yield server
