"""A stream cut short after content (the client hangs up, or cancels a chat turn) is charged at
least one output token per content delta the gateway received. The API reports output tokens only
at the end of a stream, so before, such a stream was charged its input alone: a key could read an
answer and hang up before ``message_delta`` to have it for free, past its budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from error_shape import message_body

from claude_arch.core.types import Usage
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

LONG_TEXT = " ".join(["word"] * 3000)  # ~20 s of output at speed 1
SEEN = 40  # content deltas the client reads before it hangs up


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[ServiceServer]:
    emu = EmulatorServer(speed=1)
    emu.script(user="^stream", text=LONG_TEXT)
    async with emu, ServiceServer.for_emulator(emu, tmp_path) as server:
        yield server


async def spent_after_hang_up(svc: ServiceServer, path: str, body: dict[str, object]) -> Decimal:
    secret = await svc.create_key("budgeted", budget_usd=10)
    key = await svc.gateway.keys.authenticate(secret)
    headers = {"x-api-key": secret}
    async with (
        httpx.AsyncClient(base_url=svc.url, timeout=60, headers=headers) as http,
        http.stream("POST", path, json=body) as r,
    ):
        assert r.status_code == 200
        seen = 0
        async for chunk in r.aiter_raw():
            seen += chunk.count(b"event: content_block_delta") + chunk.count(b"event: delta")
            if seen >= SEEN:
                break
    async with asyncio.timeout(10):  # settled once the service sees the hang-up
        while svc.gateway.gate.inflight:  # noqa: ASYNC110 (the state lives in the server)
            await asyncio.sleep(0.01)
    return await svc.gateway.quotas.spent(key)


def floor_cost(svc: ServiceServer, input_tokens: int) -> Decimal:
    catalog = svc.gateway.client.catalog
    return catalog.cost("claude-haiku-4-5", Usage(input_tokens=input_tokens, output_tokens=SEEN))


async def test_a_proxied_stream_cut_by_its_client_is_charged_what_it_delivered(
    svc: ServiceServer,
) -> None:
    body = message_body("stream a long answer", stream=True, max_tokens=8000)
    spent = await spent_after_hang_up(svc, "/v1/messages", body)
    assert spent >= floor_cost(svc, 1), spent


async def test_a_chat_turn_cut_by_its_client_is_charged_what_it_delivered(
    svc: ServiceServer,
) -> None:
    body = {"text": "stream a long answer", "model": "claude-haiku-4-5", "max_tokens": 8000}
    spent = await spent_after_hang_up(svc, "/v1/chat", body)
    assert spent >= floor_cost(svc, 1), spent
