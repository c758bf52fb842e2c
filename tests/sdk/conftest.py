"""Fixtures for the official-SDK tests: a logged emulator and the SDKs, installed on first use.

``sdk0_python`` and ``ts_sdk_dir`` install into a cache directory (see ``sdk_installs.py``) and
reuse it afterwards. When an install cannot run (no registry, no Node), the test skips on a
laptop and fails under ``CI=true``, by the suite's ``service_missing`` rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from logged_emulator import RequestLog, logged_emulator
from sdk_installs import HERE, SDK0_DIR, TS_DIR, install_sdk0_venv, install_ts_sdk

from claude_arch.testing import EmulatorServer


def service_missing(config: pytest.Config, name: str, where: str, why: str) -> None:
    """The suite's rule in ``tests/conftest.py``: skip on a laptop, fail under CI=true."""
    root = config.pluginmanager.get_plugin(str(HERE.parent / "conftest.py"))
    assert root is not None, "tests/conftest.py is not loaded"
    root.service_missing(name, where, why)


@pytest.fixture
def request_log() -> RequestLog:
    return RequestLog()


@pytest.fixture
def emu(request_log: RequestLog) -> Iterator[EmulatorServer]:
    with logged_emulator(request_log) as server:
        yield server


@pytest.fixture(scope="session")
def sdk0_python(pytestconfig: pytest.Config) -> Path:
    """The interpreter of a cached venv holding the 0.x Python SDK."""
    problem = install_sdk0_venv()
    if problem:
        service_missing(pytestconfig, "the 0.x Python SDK (anthropic<1)", str(SDK0_DIR), problem)
    return SDK0_DIR / "bin" / "python"


@pytest.fixture(scope="session")
def ts_sdk_dir(pytestconfig: pytest.Config) -> Path:
    """A cached directory holding ``check.mjs`` and the pinned ``@anthropic-ai/sdk``."""
    problem = install_ts_sdk()
    if problem:
        service_missing(pytestconfig, "the TypeScript SDK (npm install)", str(TS_DIR), problem)
    return TS_DIR
