"""Settling a call (and storing a chat turn) runs to its end however often the request's task is
cancelled meanwhile: :func:`finish_anyway`. The first test shows why it is not anyio's
``CancelScope(shield=True)``: under asyncio that shield does not stop ``Task.cancel()``, the
cancellation uvicorn sends a request at shutdown.
"""

from __future__ import annotations

import asyncio

import anyio
import pytest

from claude_arch.service.api.upstream import finish_anyway, finishing


async def settle(log: list[str], started: asyncio.Event, release: asyncio.Event) -> None:
    """Stands for a settlement that waits on its store (Redis)."""
    started.set()
    await release.wait()
    log.append("settled")


async def cancelled_twice(task: asyncio.Task[None], started: asyncio.Event) -> None:
    await started.wait()
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_anyio_shield_does_not_stop_a_native_cancel() -> None:
    log: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def shielded() -> None:
        with anyio.CancelScope(shield=True):
            await settle(log, started, release)

    task = asyncio.create_task(shielded())
    await cancelled_twice(task, started)
    release.set()
    await asyncio.sleep(0.01)
    assert log == []  # the settlement was cut off


async def test_work_finishes_however_often_its_caller_is_cancelled() -> None:
    log: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(finish_anyway(settle(log, started, release)))
    await cancelled_twice(task, started)  # the caller goes at once…
    assert log == []
    release.set()
    await finishing(timeout_s=5)  # …and the work runs on to its end
    assert log == ["settled"]


async def test_its_result_and_errors_reach_a_caller_that_waits() -> None:
    async def fails() -> None:
        raise ValueError("store refused")

    with pytest.raises(ValueError, match="store refused"):
        await finish_anyway(fails())
    log: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()
    release.set()
    await finish_anyway(settle(log, started, release))
    assert log == ["settled"]


async def test_finishing_waits_no_longer_than_told() -> None:
    never = asyncio.Event()
    task = asyncio.create_task(finish_anyway(never.wait()))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await finishing(timeout_s=0.05)
    assert not task.done()
    never.set()
    await task
