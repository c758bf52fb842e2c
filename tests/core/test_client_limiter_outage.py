"""Our own rate-limit store failing (Redis down, ``fail_open=False``) says nothing about the
model: the call fails, but no model is put in cooldown, so later calls still get the model asked
for once the store is back."""

from __future__ import annotations

import socket

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.ratelimit import RedisRateLimiter
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.errors import StoreUnavailableError
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

OPUS = "claude-opus-4-6"
HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def _limiter() -> RedisRateLimiter:
    return RedisRateLimiter(_closed_port_url(), fail_open=False, socket_timeout=1.0)


async def test_a_limiter_outage_cools_no_model_down(
    emulator: EmulatorServer, settings: Settings
) -> None:
    limiter = _limiter()
    async with ClaudeClient(
        settings,
        base_url=emulator.url,
        api_key=emulator.api_key,
        limiter=limiter,
        fallbacks={OPUS: [HAIKU]},
        max_retries=0,
    ) as claude:
        with pytest.raises(StoreUnavailableError, match="rate-limit store"):
            await claude.create(model=OPUS, max_tokens=16, messages=HELLO)
        assert not claude.core.cooldowns.cooling(OPUS)
        assert not claude.core.cooldowns.cooling(HAIKU)
    await limiter.aclose()


def test_a_limiter_outage_cools_no_model_down_sync(
    emulator_thread: EmulatorServer, settings: Settings
) -> None:
    limiter = _limiter()
    with SyncClaudeClient(
        settings,
        base_url=emulator_thread.url,
        api_key=emulator_thread.api_key,
        limiter=limiter,
        fallbacks={OPUS: [HAIKU]},
        max_retries=0,
    ) as claude:
        with pytest.raises(StoreUnavailableError, match="rate-limit store"):
            claude.create(model=OPUS, max_tokens=16, messages=HELLO)
        assert not claude.core.cooldowns.cooling(OPUS)
        assert not claude.core.cooldowns.cooling(HAIKU)
    limiter.close()
