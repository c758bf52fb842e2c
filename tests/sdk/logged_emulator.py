"""An emulator whose models each behave one known way, with a log of every request that arrived.

    log = RequestLog()
    with logged_emulator(log) as emu:
        ...  # an SDK calls emu.url with an ``x-sdk-case: NAME`` header
    attempts = log.of("retries")   # [Arrival(retry_count="0", status=429, at=…), …]

The log is an outermost aiohttp middleware on the real server: it sees the headers an SDK sent
and the final answer (errors included), timed on the server's clock.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from claude_arch.constants import (
    HEADER_API_KEY,
    HEADER_AUTHORIZATION,
    HEADER_REQUEST_ID,
    HEADER_RETRY_COUNT,
    HEADER_VERSION,
)
from claude_arch.testing import EmulatorServer

CASE_HEADER = "x-sdk-case"
API_KEY = "sk-ant-sdk-test"
RETRY_AFTER_S = 1.0
# One model per server behaviour, so a single emulator serves every case of a run.
MODELS = {
    "ok": "claude-haiku-4-5",
    "rate_limited": "claude-sonnet-5-5",
    "overloaded": "claude-opus-4-6",
    "retried": "claude-sonnet-4-6",
}


@dataclass(frozen=True)
class Arrival:
    """One request as the server saw it, and what it answered."""

    case: str
    path: str
    at: float
    retry_count: str | None
    auth: str
    """``x-api-key`` or ``bearer`` (the scheme only, never the key)."""
    version: str | None
    status: int
    request_id: str | None


@dataclass
class RequestLog:
    arrivals: list[Arrival] = field(default_factory=list)

    def of(self, case: str) -> list[Arrival]:
        return [a for a in self.arrivals if a.case == case]

    @web.middleware
    async def record(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        at = time.monotonic()
        response = await handler(request)
        headers = request.headers
        if HEADER_API_KEY in headers:
            auth = HEADER_API_KEY
        else:
            auth = headers.get(HEADER_AUTHORIZATION, "").partition(" ")[0].lower()
        self.arrivals.append(
            Arrival(
                case=headers.get(CASE_HEADER, ""),
                path=request.path,
                at=at,
                retry_count=headers.get(HEADER_RETRY_COUNT),
                auth=auth,
                version=headers.get(HEADER_VERSION),
                status=response.status,
                request_id=response.headers.get(HEADER_REQUEST_ID),
            )
        )
        return response


def logged_emulator(log: RequestLog, **overrides: Any) -> EmulatorServer:
    """An emulator (not started yet) that accepts ``API_KEY`` only; see ``MODELS``."""
    faults = [
        {"kind": "429", "model": MODELS["rate_limited"], "every": 1, "seconds": RETRY_AFTER_S},
        {"kind": "529", "model": MODELS["overloaded"], "every": 1, "seconds": RETRY_AFTER_S},
        # What the SDK's own two retries meet: a 429, then a 529, then the answer.
        {"kind": "429", "model": MODELS["retried"], "next_n": 1, "seconds": RETRY_AFTER_S},
        {"kind": "529", "model": MODELS["retried"], "next_n": 1, "seconds": RETRY_AFTER_S},
    ]
    emu = EmulatorServer(api_keys=[API_KEY], faults=faults, **overrides)
    emu.app.middlewares.insert(0, log.record)
    return emu
