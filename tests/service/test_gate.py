"""The in-flight gate: at most N at once, a bounded wait, then a 529 with retry-after."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.errors import OverloadedError
from claude_arch.service.api.gate import InflightGate


async def test_a_waiter_gets_the_slot_that_frees_up() -> None:
    gate = InflightGate(max_inflight=1, queue_timeout_s=5.0)
    release = asyncio.Event()
    order: list[str] = []

    async def holder() -> None:
        async with gate.slot():
            order.append("first in")
            await release.wait()
        order.append("first out")

    async def waiter() -> None:
        async with gate.slot():
            order.append("second in")

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    assert gate.inflight == 1
    assert gate.waiting == 1
    release.set()
    await asyncio.gather(first, second)
    assert order == ["first in", "first out", "second in"]
    assert (gate.inflight, gate.waiting, gate.rejected) == (0, 0, 0)


async def test_past_the_queue_timeout_the_caller_gets_a_529_with_retry_after() -> None:
    gate = InflightGate(max_inflight=1, queue_timeout_s=0.01)
    hold = asyncio.Event()

    async def holder() -> None:
        async with gate.slot():
            await hold.wait()

    task = asyncio.create_task(holder())
    await asyncio.sleep(0)
    with pytest.raises(OverloadedError) as caught:
        async with gate.slot():
            pytest.fail("admitted past the limit")
    assert caught.value.status == 529
    assert caught.value.retry_after == 1.0
    assert "1 requests in flight" in caught.value.message
    assert (gate.waiting, gate.rejected) == (0, 1)
    hold.set()
    await task
    assert gate.inflight == 0


async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    gate = InflightGate(max_inflight=1, queue_timeout_s=10.0)
    hold = asyncio.Event()

    async def holder() -> None:
        async with gate.slot():
            await hold.wait()

    async def waiter() -> None:
        async with gate.slot():
            pytest.fail("a cancelled waiter ran")

    task = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    hold.set()
    await task
    assert (gate.inflight, gate.waiting, gate.rejected) == (0, 0, 0)
    async with gate.slot():  # the slot came back
        assert gate.inflight == 1


@settings(max_examples=30, deadline=None)
@given(limit=st.integers(1, 8), callers=st.integers(1, 40))
def test_never_more_than_the_limit_at_once(limit: int, callers: int) -> None:
    async def run() -> int:
        gate = InflightGate(max_inflight=limit, queue_timeout_s=10.0)
        peak = 0

        async def call() -> None:
            nonlocal peak
            async with gate.slot():
                peak = max(peak, gate.inflight)
                await asyncio.sleep(0)

        await asyncio.gather(*(call() for _ in range(callers)))
        assert gate.inflight == 0
        return peak

    assert asyncio.run(run()) == min(limit, callers)
