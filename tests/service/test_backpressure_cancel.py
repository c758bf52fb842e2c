"""Backpressure and cancellation, measured at the upstream.

- At most ``max_inflight`` upstream calls per replica; the next requests wait up to
  ``queue_timeout_s`` for a slot (and get one if it frees), then a 529 ``overloaded_error`` with
  ``retry-after``.
- A client that hangs up, streaming or not, cancels its upstream request within 100 ms: the
  emulator's own handler is cancelled (timed by a middleware on the emulator, same clock).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from error_shape import assert_anthropic_error, message_body
from upstream_watch import UpstreamWatch, until

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

CANCEL_WITHIN_S = 0.100
LONG_TEXT = " ".join(["word"] * 3000)  # ~20 s of output at speed 1


@pytest.fixture
async def slow_upstream(watch: UpstreamWatch) -> AsyncIterator[EmulatorServer]:
    """A realistic-speed emulator whose answers are long (streams) or late (JSON)."""
    emu = EmulatorServer(speed=1)
    emu.app.middlewares.insert(0, watch.record)
    emu.script(user="^stream", text=LONG_TEXT)
    emu.script(user="^late", text="finally", delay_s=30)
    async with emu:
        yield emu


async def test_beyond_max_inflight_requests_wait_then_get_a_529_with_retry_after(
    slow_upstream: EmulatorServer, watch: UpstreamWatch, tmp_path: Path
) -> None:
    async with (
        ServiceServer.for_emulator(
            slow_upstream, tmp_path, dev=True, max_inflight=2, queue_timeout_s=0.2
        ) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=60) as http,
    ):
        gate = svc.gateway.gate
        late = message_body("late")
        holders = [asyncio.create_task(http.post("/v1/messages", json=late)) for _ in range(2)]
        await until(lambda: gate.inflight == 2 and len(watch.started) == 2)
        started = time.monotonic()
        refused = await asyncio.gather(
            *(http.post("/v1/messages", json=message_body("Hello")) for _ in range(2))
        )
        waited = time.monotonic() - started
        for r in refused:
            message = assert_anthropic_error(r, 529, "overloaded_error")
            assert r.headers["retry-after"] == "1"
            assert "limit of 2 requests in flight" in message
        assert 0.2 <= waited < 2.0  # they queued for the timeout, then were turned away
        assert len(watch.started) == 2  # the refused ones never reached the upstream
        metrics = (await http.get("/metrics")).text
        assert "claude_arch_gateway_rejected 2.0" in metrics
        assert "claude_arch_gateway_inflight 2.0" in metrics
        for task in holders:
            task.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
        await until(lambda: gate.inflight == 0)


async def test_a_waiting_request_takes_a_slot_that_frees_within_the_queue_timeout(
    slow_upstream: EmulatorServer, watch: UpstreamWatch, tmp_path: Path
) -> None:
    async with (
        ServiceServer.for_emulator(
            slow_upstream, tmp_path, dev=True, max_inflight=1, queue_timeout_s=5
        ) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=60) as http,
    ):
        gate = svc.gateway.gate
        holder = asyncio.create_task(http.post("/v1/messages", json=message_body("late")))
        await until(lambda: gate.inflight == 1)
        waiting = asyncio.create_task(http.post("/v1/messages", json=message_body("Hello")))
        await until(lambda: gate.waiting == 1)
        holder.cancel()  # the holder's client hangs up: its slot frees
        await asyncio.gather(holder, return_exceptions=True)
        r = await waiting
        assert r.status_code == 200, r.text
        assert gate.rejected == 0


async def test_a_stream_whose_client_hangs_up_stops_upstream_within_100_ms(
    slow_upstream: EmulatorServer, watch: UpstreamWatch, tmp_path: Path
) -> None:
    async with (
        ServiceServer.for_emulator(slow_upstream, tmp_path, dev=True) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=60) as http,
    ):
        body = message_body("stream a long answer", stream=True, max_tokens=8000)
        async with http.stream("POST", "/v1/messages", json=body) as r:
            assert r.status_code == 200
            received = b""
            async for chunk in r.aiter_raw():
                received += chunk
                if received.count(b"content_block_delta") >= 3:
                    break
            hung_up = time.monotonic()
        stopped = await until(lambda: bool(watch.stopped))
        assert watch.stopped[0] - hung_up <= CANCEL_WITHIN_S, watch.stopped[0] - hung_up
        assert stopped - hung_up < 1.0
        stats = slow_upstream.stats()
        assert stats["totals"]["streams_cancelled"] == 1
        (stop_ms,) = stats["stream_stop_ms"]
        assert stop_ms <= CANCEL_WITHIN_S * 1000
        await until(lambda: svc.gateway.gate.inflight == 0)


async def test_a_json_request_whose_client_hangs_up_stops_upstream_within_100_ms(
    slow_upstream: EmulatorServer, watch: UpstreamWatch, tmp_path: Path
) -> None:
    async with (
        ServiceServer.for_emulator(slow_upstream, tmp_path, dev=True) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=60) as http,
    ):
        call = asyncio.create_task(http.post("/v1/messages", json=message_body("late")))
        await until(lambda: bool(watch.started))
        hung_up = time.monotonic()
        call.cancel()  # closes the client's connection
        await asyncio.gather(call, return_exceptions=True)
        await until(lambda: bool(watch.stopped))
        assert watch.stopped[0] - hung_up <= CANCEL_WITHIN_S, watch.stopped[0] - hung_up
        await until(lambda: svc.gateway.gate.inflight == 0)
        assert "output_tokens" not in slow_upstream.stats()["totals"]  # it never answered
