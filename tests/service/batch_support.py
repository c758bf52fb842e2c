"""Shared pieces of the Message Batches tests (``test_batches_*.py``): an emulator that answers
batches at once and records what reached it, requests to put in a batch, and bounded polls on
real conditions (a batch ended upstream, its row settled).

    async with batch_upstream() as (emu, seen), ServiceServer.for_emulator(emu, tmp_path) as svc:
        ...
        assert not seen.batch_calls()          # nothing about batches reached the upstream
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

from aiohttp import web

from claude_arch.constants import HEADER_BETA
from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.wire import BATCHES_PATH
from claude_arch.service.api.batch_ledger import ledger_of
from claude_arch.service.api.batch_store import OwnedBatch
from claude_arch.service.tenancy.keys import ApiKey
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

T = TypeVar("T")
MODEL = "claude-haiku-4-5"
MICRO = Decimal("0.000001")
POLL_LIMIT_S = 60.0
"""A bound on every poll, so a broken condition fails the test instead of hanging it."""


def params(text: str = "Hello", **change: Any) -> dict[str, Any]:
    """A valid single call's params."""
    return {
        "model": MODEL,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": text}],
        **change,
    }


def batch_requests(count: int, prefix: str = "r", **change: Any) -> list[dict[str, Any]]:
    return [
        {"custom_id": f"{prefix}{i}", "params": params(f"question {i}", **change)}
        for i in range(count)
    ]


@dataclass
class UpstreamSeen:
    """What reached the upstream: (method, path, query, anthropic-beta header) per request."""

    calls: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def batch_calls(self) -> list[tuple[str, str, str, str | None]]:
        return [c for c in self.calls if c[1].startswith(BATCHES_PATH)]

    def creates(self) -> int:
        return sum(1 for c in self.calls if c[0] == "POST" and c[1] == BATCHES_PATH)


@asynccontextmanager
async def batch_upstream(
    *middlewares: Any, **config: Any
) -> AsyncIterator[tuple[EmulatorServer, UpstreamSeen]]:
    """An unpaced emulator that processes a batch at once (``batch_seconds_per_request=0``
    unless given) and records every request that reaches it; ``middlewares`` run inside the
    recording one."""
    seen = UpstreamSeen()

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        seen.calls.append(
            (request.method, request.path, request.query_string, request.headers.get(HEADER_BETA))
        )
        return await handler(request)

    emu = EmulatorServer(speed=0, **{"batch_seconds_per_request": 0, **config})
    for middleware in reversed(middlewares):
        emu.app.middlewares.insert(0, middleware)
    emu.app.middlewares.insert(0, record)
    async with emu:
        yield emu, seen


async def until(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll ``check`` until it returns something (not None); fail after ``POLL_LIMIT_S``."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {POLL_LIMIT_S} s")
        await asyncio.sleep(0.02)


async def ended(sdk: Any, batch_id: str) -> Any:
    """The batch, polled through the SDK (and the gateway) until it has ended."""

    async def check() -> Any:
        batch = await sdk.messages.batches.retrieve(batch_id)
        return batch if batch.processing_status == "ended" else None

    return await until(check, f"batch {batch_id} ended")


async def key_of(server: ServiceServer, secret: str) -> ApiKey:
    return await server.gateway.keys.authenticate(secret)


async def settled(server: ServiceServer, batch_id: str, key: ApiKey) -> OwnedBatch:
    """The batch's ownership row once the gateway has settled it."""
    owners = ledger_of(server.gateway).owners

    async def check() -> OwnedBatch | None:
        owned = await owners.get(batch_id, key.id)
        assert owned is not None, f"{batch_id} is not {key.id}'s"
        return owned if owned.settled else None

    return await until(check, f"batch {batch_id} settled")


def results_cost(results: list[Any]) -> Decimal:
    """What a batch's succeeded results (the SDK's objects) cost at the batch price, in whole
    micro-dollars as budgets count it."""
    return usages_cost(
        [r.result.message.usage.model_dump() for r in results if r.result.type == "succeeded"]
    )


def usages_cost(usages: list[dict[str, Any]], model: str = MODEL) -> Decimal:
    """What one batch's succeeded results cost at the batch price, from their ``usage``."""
    catalog = default_catalog()
    total = sum((catalog.cost(model, usage, batch=True) for usage in usages), Decimal(0))
    return total.quantize(MICRO, rounding=ROUND_HALF_EVEN)
