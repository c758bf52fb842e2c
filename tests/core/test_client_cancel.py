"""A call cancelled before it has a response to hand over still produces its one usage record
(status 499, ``error_type`` "cancelled"), whether it was waiting on the server or a retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from claude_arch.core.client import ClaudeClient
from claude_arch.core.metering import RecordingMeter
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]


async def hang(request: web.Request) -> web.StreamResponse:
    await request.read()
    await asyncio.Event().wait()  # never answers; shutdown cancels it
    raise AssertionError("unreachable")


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    return {"/v1/messages": hang}


def _client(url: str, key: str, settings: Settings, meter: RecordingMeter) -> ClaudeClient:
    return ClaudeClient(settings, base_url=url, api_key=key, limiter=None, meters=[meter])


async def _consume(claude: ClaudeClient) -> None:
    async with claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream:
        await stream.until_done()


async def _create(claude: ClaudeClient) -> None:
    await claude.create(model=HAIKU, max_tokens=64, messages=HELLO)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def _assert_cancelled(meter: RecordingMeter) -> None:
    (record,) = meter.records
    assert record.status == 499
    assert record.error_type == "cancelled"
    assert record.attempts == 1


@pytest.mark.parametrize("call", [_create, _consume])
async def test_a_call_cancelled_in_its_retry_wait_is_recorded(
    emulator: EmulatorServer,
    settings: Settings,
    wait_for: Any,
    call: Callable[[ClaudeClient], Awaitable[None]],
) -> None:
    emulator.set_faults({"kind": "529", "next_n": 1, "seconds": 30})
    meter = RecordingMeter()
    async with _client(emulator.url, emulator.api_key, settings, meter) as claude:
        task = asyncio.create_task(call(claude))
        await wait_for(lambda: emulator.stats()["totals"].get("fault_529", 0) >= 1)
        await _cancel(task)
    _assert_cancelled(meter)


@pytest.mark.parametrize("call", [_create, _consume])
async def test_a_call_cancelled_before_any_answer_is_recorded(
    stub_server: Any,
    settings: Settings,
    wait_for: Any,
    call: Callable[[ClaudeClient], Awaitable[None]],
) -> None:
    meter = RecordingMeter()
    async with _client(stub_server.url, "sk-k", settings, meter) as claude:
        task = asyncio.create_task(call(claude))
        await wait_for(lambda: stub_server.seen)
        await _cancel(task)
    _assert_cancelled(meter)
