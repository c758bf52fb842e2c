"""A request's objects are freed by reference counting as it ends, not left in reference cycles
for the garbage collector: a cycle per request kept each request (its scope, body and the
server's response cycle) alive until a full collection, and on a busy replica the collector's
passes took ~9% of the CPU (bench/README.md § bench_service.py).

Checked on the live server with ``gc.DEBUG_SAVEALL``: after the requests, a collection finds no
object of the service's, Starlette's or uvicorn's in a cycle (the test's own client and the
emulator are not looked at).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from error_shape import message_body

from claude_arch.service.app import GC_YOUNG_THRESHOLD, tune_gc
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

WATCHED = ("claude_arch.service", "claude_arch.core", "starlette", "fastapi", "uvicorn")


@pytest.fixture
def restore_gc() -> Iterator[None]:
    """The collector as it was: no debug flags, nothing kept in ``gc.garbage``."""
    yield
    gc.set_debug(0)
    gc.garbage.clear()


def garbage_of_ours() -> list[str]:
    gc.collect()
    return sorted(
        f"{type(o).__module__}.{type(o).__qualname__}"
        for o in gc.garbage
        if type(o).__module__.startswith(WATCHED)
    )


async def test_requests_leave_no_reference_cycles(
    emulator: EmulatorServer, tmp_path: Path, restore_gc: None
) -> None:
    async with (
        ServiceServer.for_emulator(emulator, tmp_path, dev=True) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=30) as http,
    ):

        async def each_kind() -> None:
            assert (await http.post("/v1/messages", json=message_body("json"))).status_code == 200
            streamed = await http.post("/v1/messages", json=message_body("s", stream=True))
            assert "message_stop" in streamed.text
            count = {"model": "claude-haiku-4-5", "messages": message_body("c")["messages"]}
            counted = await http.post("/v1/messages/count_tokens", json=count)
            assert counted.status_code == 200
            bad = await http.post("/v1/messages", json={"model": "claude-haiku-4-5"})
            assert bad.status_code == 400
            assert (await http.get("/healthz")).status_code == 200

        await each_kind()  # caches, pools and lazily built things are made once
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        for _ in range(10):
            await each_kind()
        assert garbage_of_ours() == []


def test_a_serving_process_collects_young_objects_less_often() -> None:
    saved = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *saved[1:])
        gc.set_threshold(GC_YOUNG_THRESHOLD * 2, *saved[1:])  # a higher one already set: kept
        tune_gc()
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD * 2
    finally:
        gc.set_threshold(*saved)
