"""Fixtures of the reliability suite: a live ``claude-arch serve`` process in production mode and
its canaries (``live_gateway.py``).

The serve process and its emulator live for a module (starting one takes a second); a module
that needs a clean store flushes it. Redis is required: absent, the module skips on a laptop
and fails under ``CI=true`` (``tests/conftest.py``'s rule).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_gateway import LiveGateway, start_gateway, suite_conftest


@pytest.fixture(scope="module")
def module_redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The suite's Redis test database for a whole module, flushed before and after (the
    function-scoped ``redis_url`` of tests/conftest.py, for fixtures that outlive a test)."""
    root = suite_conftest(request.config)
    url: str = root.REDIS_URL
    problem = root._reachable(url)
    if problem:
        root.service_missing("Redis", url, problem)
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, module_redis_url: str
) -> Iterator[LiveGateway]:
    """A live production-mode gateway for the module (bodies up to 1 MiB), canary-checked at
    its end."""
    yield from start_gateway(
        tmp_path_factory.mktemp("gateway"),
        module_redis_url,
        env={"CLAUDE_ARCH_MAX_BODY_BYTES": str(1 << 20)},
    )
