"""The local dispatcher against the emulator: faults, dead letters, one result per job."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.pipeline import JobStatus, Ledger, NewJob
from claude_arch.pipeline.dispatchers.local import LocalDispatcher
from claude_arch.testing import EmulatorServer

MODEL = "claude-haiku-4-5"


def requests(n: int, run: str = "r") -> list[NewJob]:
    return [
        NewJob(
            f"{run}-{i}",
            run,
            f"doc{i}.txt",
            {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": f"d{i}"}]},
            MODEL,
        )
        for i in range(n)
    ]


@pytest.fixture
async def emu() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(speed=0) as server:
        yield server


def client_for(emu: EmulatorServer) -> ClaudeClient:
    return ClaudeClient(api_key=emu.api_key, base_url=emu.url, max_retries=0)


async def test_a_thousand_jobs_through_429s_and_529s(
    emu: EmulatorServer, live_ledger: Ledger
) -> None:
    """10% of calls answered 429 or 529: every job succeeds once, every call is an attempt."""
    emu.set_faults(
        {"kind": "429", "probability": 0.05}, {"kind": "529", "probability": 0.05}, seed=7
    )
    await live_ledger.submit(requests(1000))
    async with client_for(emu) as client:
        stats = await LocalDispatcher(live_ledger, client, concurrency=200).run()

    counts = await live_ledger.counts()
    assert counts["succeeded"] == 1000
    assert stats.succeeded == 1000
    assert stats.refused == 0
    results = [j for j in await live_ledger.jobs(limit=2000) if j.result is not None]
    assert len(results) == 1000
    assert len({j.key for j in results}) == 1000
    totals = emu.stats()["totals"]
    faults = totals.get("fault_429", 0) + totals.get("fault_529", 0)
    assert faults > 50  # the faults really fired
    assert totals["requests"] == 1000  # the model answered each job exactly once
    assert totals["requests"] + faults == counts["attempts"] == 1000 + stats.retried
    assert counts["input_tokens"] == totals["input_tokens"]


async def test_retry_waits_for_the_servers_retry_after(
    emu: EmulatorServer, live_ledger: Ledger
) -> None:
    emu.set_faults({"kind": "429", "next_n": 1, "seconds": 2})
    await live_ledger.submit(requests(1))
    started = time.time()
    async with client_for(emu) as client:
        stats = await LocalDispatcher(live_ledger, client, concurrency=4, poll_s=0.05).run()
    [job] = await live_ledger.jobs()
    assert (job.status, job.attempts, stats.retried) == (JobStatus.succeeded, 2, 1)
    assert job.finished_at is not None
    assert job.finished_at - started >= 2.0


async def test_a_bad_request_is_a_dead_letter_and_blocks_nothing(
    emu: EmulatorServer, live_ledger: Ledger
) -> None:
    emu.script(user="poison", error={"status": 400, "type": "invalid_request_error"})
    poison = NewJob(
        "poison",
        "r",
        "poison.txt",
        {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "poison"}]},
        MODEL,
    )
    await live_ledger.submit([poison, *requests(20)])
    async with client_for(emu) as client:
        stats = await LocalDispatcher(live_ledger, client, concurrency=8).run()
    assert (stats.succeeded, stats.dead) == (20, 1)
    [dead] = await live_ledger.jobs(status=JobStatus.dead)
    assert dead.source == "poison.txt"
    assert dead.request["messages"][0]["content"] == "poison"
    assert dead.last_error is not None
    assert "400" in dead.last_error
    assert dead.attempts == 1


async def test_the_cost_cap_stops_taking_jobs(emu: EmulatorServer, live_ledger: Ledger) -> None:
    await live_ledger.submit(requests(50))
    async with client_for(emu) as client:
        stats = await LocalDispatcher(live_ledger, client, concurrency=1, max_cost_usd=1e-9).run()
    assert stats.stopped == "max_cost_usd", stats
    counts = await live_ledger.counts()
    assert (counts["succeeded"], counts["queued"]) == (1, 49)
