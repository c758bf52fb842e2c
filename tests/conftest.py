"""Fixtures shared by the whole suite: real services, found or reported.

A test that needs Redis (or another service) asks for its fixture. On a laptop without the service
the test skips with the reason; under ``CI=true`` the same absence fails the test instead, so a
green CI run never hides a skipped service test.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
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
