"""The service with the chat router, for the chat tests (whether or not ``create_app`` already
includes it), plus small polling helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from claude_arch.emulator.config import LatencyProfile
from claude_arch.service.chat import routes as chat
from claude_arch.service.chat.sessions import SessionStore, sessions_of
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

LONG_REPLY = "word " * 3000
"""A scripted answer that takes the paced emulator many seconds to stream."""
SLOW = {"haiku": LatencyProfile(ttft_s=0.05, tokens_per_s=5, jitter=0)}
"""A pace with long quiet gaps between deltas: a turn that is not stopped keeps going for
seconds, and only a real cancellation (not a failed send of the next delta) stops it in 100 ms."""


@asynccontextmanager
async def slow_emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(speed=1, latency=SLOW) as emulator:
        emulator.script(text=LONG_REPLY)
        yield emulator


@asynccontextmanager
async def chat_service(
    emulator: EmulatorServer, data_dir: Path, **settings: Any
) -> AsyncIterator[ServiceServer]:
    server = ServiceServer.for_emulator(emulator, data_dir, **settings)
    if not any(getattr(route, "path", None) == "/v1/chat" for route in server.app.routes):
        server.app.include_router(chat.router)
    async with server:
        yield server


def sessions(server: ServiceServer) -> SessionStore:
    return sessions_of(server.gateway)


async def key_id_of(server: ServiceServer, secret: str) -> str:
    return (await server.gateway.keys.authenticate(secret)).id


async def seconds_until(condition: Callable[[], object], *, limit_s: float = 5.0) -> float:
    """Poll ``condition`` every millisecond; the seconds it took to become true."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit_s:
            raise AssertionError(f"not true within {limit_s} s")
        await asyncio.sleep(0.001)
    return time.monotonic() - started
