"""Fixtures shared by the whole suite: real services, found or reported.

A test that needs Redis (or another service) asks for its fixture. On a laptop without the service
the test skips with the reason; under ``CI=true`` the same absence fails the test instead, so a
green CI run never hides a skipped service test.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REDIS_URL = os.environ.get("CLAUDE_ARCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get(
    "CLAUDE_ARCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def service_missing(name: str, url: str, why: str) -> None:
    """Skip (laptop) or fail (CI) a test whose service cannot be reached."""
    message = f"{name} not reachable at {url}: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: service tests must run, not skip)")
    pytest.skip(message)


def _reachable(url: str, default_port: int = 6379) -> str | None:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1.0
        ):
            return None
    except OSError as exc:
        return str(exc)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis URL on a test database, flushed before and after the test."""
    problem = _reachable(REDIS_URL)
    if problem:
        service_missing("Redis", REDIS_URL, problem)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def postgres_url() -> str:
    """A PostgreSQL URL (database ``test``); tests create their own tables under unique names
    or drop what they made."""
    problem = _reachable(POSTGRES_URL, 5432)
    if problem:
        service_missing("PostgreSQL", POSTGRES_URL, problem)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def sdk0_python() -> Path:
    """The interpreter of a cached venv holding the 0.x Python SDK (``tests/sdk/sdk_installs.py``
    installs it on first use and reuses it afterwards)."""
    from sdk_installs import SDK0_DIR, install_sdk0_venv

    problem = install_sdk0_venv()
    if problem:
        service_missing("the 0.x Python SDK (anthropic<1)", str(SDK0_DIR), problem)
    return SDK0_DIR / "bin" / "python"


@pytest.fixture(scope="session")
def ts_sdk_dir() -> Path:
    """A cached directory holding ``tests/sdk/ts``'s scripts and the pinned
    ``@anthropic-ai/sdk`` (installed with npm on first use)."""
    from sdk_installs import TS_DIR, install_ts_sdk

    problem = install_ts_sdk()
    if problem:
        service_missing("the TypeScript SDK (npm install)", str(TS_DIR), problem)
    return TS_DIR


sys.path.insert(0, str(Path(__file__).resolve().parent / "sdk"))  # sdk_installs, for the above


RABBITMQ_URL = os.environ.get(
    "CLAUDE_ARCH_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"
)


@pytest.fixture
def rabbitmq_url() -> str:
    """An AMQP URL of the RabbitMQ broker (guest/guest on 127.0.0.1:5672 by default)."""
    problem = _reachable(RABBITMQ_URL, 5672)
    if problem:
        service_missing("RabbitMQ", RABBITMQ_URL, problem)
    return RABBITMQ_URL
