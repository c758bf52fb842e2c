"""Timing the upstream from inside it: when each Messages request arrived at the emulator and when
its handler was cancelled (the gateway closed the connection), on the test's own clock.

    watch = UpstreamWatch()
    emulator.app.middlewares.insert(0, watch.record)   # before the emulator starts
    ...
    stopped_at = await until(lambda: bool(watch.stopped))
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

POLL_S = 0.005


@dataclass
class UpstreamWatch:
    """When each upstream request arrived and when its handler was cancelled (disconnect)."""

    started: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)

    @web.middleware
    async def record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path != "/v1/messages":
            return await handler(request)
        self.started.append(time.monotonic())
        try:
            return await handler(request)
        except (asyncio.CancelledError, ConnectionResetError):
            self.stopped.append(time.monotonic())
            raise


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> float:
    """Poll ``condition`` until true; the monotonic time it was first seen true."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 (the state lives in other servers: poll it)
            await asyncio.sleep(POLL_S)
    return time.monotonic()
