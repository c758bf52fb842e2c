"""Two real service processes sharing Redis (limits) and one SQLite file (keys) enforce one
per-key limit together: a key with rpm=10 gets exactly 10 answers out of 20 requests spread over
both replicas, and 10 rate-limit errors with ``retry-after``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from error_shape import assert_anthropic_error, message_body
from service_process import ServiceProcess

from claude_arch.core.sql import make_engine
from claude_arch.service.tenancy.keys import KeyStore
from claude_arch.testing import EmulatorServer

RPM = 10


async def create_key(database_url: str, **limits: int) -> str:
    """A key in the shared database, made before either replica starts."""
    engine = make_engine(database_url)
    try:
        store = KeyStore(engine)
        await store.init()
        _key, secret = await store.create("shared-limit", **limits)
        await store.aclose()
    finally:
        await engine.dispose()
    return secret


@pytest.fixture
def upstream() -> Iterator[EmulatorServer]:
    with EmulatorServer(speed=0) as emu:
        yield emu


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_replicas_enforce_one_rpm_together(
    upstream: EmulatorServer, redis_url: str, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'shared-keys.db'}"
    secret = asyncio.run(create_key(database_url, rpm=RPM))
    env = {"CLAUDE_ARCH_REDIS_URL": redis_url, "CLAUDE_ARCH_DATABASE_URL": database_url}
    with (
        ServiceProcess(tmp_path / "a", upstream=upstream, env=env) as a,
        ServiceProcess(tmp_path / "b", upstream=upstream, env=env) as b,
    ):
        a.wait_ready()
        b.wait_ready()
        headers = {"x-api-key": secret}
        answers: dict[str, list[int]] = {a.url: [], b.url: []}
        with httpx.Client(headers=headers, timeout=30) as http:
            for url in itertools.islice(itertools.cycle((a.url, b.url)), 2 * RPM):
                r = http.post(url + "/v1/messages", json=message_body())
                answers[url].append(r.status_code)
                if r.status_code != 200:
                    assert_anthropic_error(r, 429, "rate_limit_error")
                    refused = r
        # in turns: each replica answered 5 and then refused 5, so neither had a limit of its own
        half = RPM // 2
        assert answers[a.url] == answers[b.url] == [200] * half + [429] * half, answers
        assert int(refused.headers["retry-after"]) >= 1
        assert upstream.stats()["totals"]["requests"] == RPM  # refusals never went upstream
