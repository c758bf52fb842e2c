"""``pipeline run --mode batch`` killed with SIGKILL at its two dangerous moments, and run again:
no batch created twice, none forgotten, no result lost or written twice.

The runner is a real ``claude-arch`` subprocess; it talks to the emulator through
:class:`batch_proxy.BatchProxy`, which holds a batch's create, or stalls its results file,
until the test has killed the runner (no hook inside the pipeline).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_proxy import BatchProxy
from test_batch_mode import api_batches, one_result_each
from test_local_dispatcher import requests

from claude_arch.pipeline import JobStatus, Ledger
from claude_arch.pipeline.batch.ledger import BatchLedger
from claude_arch.pipeline.batch.rows import BatchState
from claude_arch.testing import EmulatorServer

JOBS = 300


class Runner:
    """``claude-arch pipeline run --mode batch`` against the proxy, on a SQLite ledger."""

    def __init__(self, proxy: BatchProxy, emu: EmulatorServer, data: Path, batch_size: int):
        self.env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": proxy.url,
            "ANTHROPIC_API_KEY": emu.api_key,
            "CLAUDE_ARCH_DATA_DIR": str(data),
        }
        self.env.pop("CLAUDE_ARCH_DATABASE_URL", None)
        self.cli = [sys.executable, "-m", "claude_arch.cli", "pipeline"]
        self.run = [*self.cli, "run", "--mode", "batch", "--batch-size", str(batch_size)]
        self.run += ["--lease-s", "1", "--poll-s", "0.05", "--max-poll-s", "0.3"]

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.run, env=self.env, stdout=subprocess.DEVNULL)

    def finish(self) -> str:
        """Run again to the end; its summary line."""
        done = subprocess.run(self.run, env=self.env, capture_output=True, check=False, timeout=90)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        return done.stdout.decode()

    def status(self) -> dict[str, Any]:
        done = subprocess.run(
            [*self.cli, "status", "--json"], env=self.env, capture_output=True, check=True
        )
        data: dict[str, Any] = json.loads(done.stdout)
        return data


async def until(condition: Callable[[], Awaitable[bool]], proc: subprocess.Popen[bytes]) -> None:
    """Poll every 20 ms (at most 30 s) until ``condition``; fail if the runner exits first."""
    for _ in range(1500):
        if await condition():
            return
        assert proc.poll() is None, "the runner ended before the moment to kill it"
        await asyncio.sleep(0.02)
    raise AssertionError("the runner never reached the moment to kill it")


def sigkill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(speed=0, batch_seconds_per_request=0.0005) as server:  # a thread
        yield server


@pytest.fixture
def proxy(emu: EmulatorServer) -> Iterator[BatchProxy]:
    with BatchProxy(emu.url) as server:
        yield server


@pytest.mark.parametrize("landed", [True, False], ids=["create-landed", "create-lost"])
async def test_killed_between_recording_and_creating_a_batch(
    emu: EmulatorServer, proxy: BatchProxy, tmp_path: Path, landed: bool
) -> None:
    """The runner dies while its first create is on the way. Either the create still lands
    (the batch exists, its id was never recorded) or it never does; the next runner finds the
    batch by listing, or creates it then, and never makes two."""
    runner = Runner(proxy, emu, tmp_path, batch_size=100)
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'claude-arch.db'}")
    try:
        await ledger.submit(requests(JOBS))
        batches = await BatchLedger.open(ledger)
        proxy.hold_creates = True
        proc = runner.start()
        try:

            async def create_on_the_way() -> bool:
                return proxy.held == 1

            await until(create_on_the_way, proc)
            [row] = await batches.rows()  # recorded before the create was sent
            assert (row.state, row.uncertain, row.api_id) == (BatchState.recorded, True, None)
            assert row.requests == 100
        finally:
            sigkill(proc)
        proxy.hold_creates = False
        proxy.release(forward=landed)
        if landed:
            for _ in range(500):
                if api_batches(emu):
                    break
                await asyncio.sleep(0.01)
            assert len(api_batches(emu)) == 1
        summary = runner.finish()

        await one_result_each(ledger, JOBS)
        rows = await batches.rows()
        first = rows[0]
    finally:
        await ledger.aclose()
    seen = api_batches(emu)

    assert f"found again {int(landed)}" in summary
    assert len(rows) == len(seen) == 3  # one API batch per row: none made twice
    assert {r.api_id for r in rows} == {b.id for b in seen}
    assert first.create_attempts == (1 if landed else 2)
    if landed:
        assert first.api_id == seen[0].id  # the batch the dead runner's create made
    assert all(r.state == BatchState.done for r in rows)
    assert emu.stats()["totals"]["batch_requests"] == JOBS  # every request answered once


async def test_killed_while_reading_results(
    emu: EmulatorServer, proxy: BatchProxy, tmp_path: Path
) -> None:
    """The runner dies with a third of a batch's results written: the next one reads the file
    again, writes the rest, and refuses what was written."""
    runner = Runner(proxy, emu, tmp_path, batch_size=JOBS)
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'claude-arch.db'}")
    try:
        await ledger.submit(requests(JOBS))
        proxy.stall_results_after = 150  # one chunk of 100 written, 50 read and not yet
        proc = runner.start()
        try:

            async def partly_written() -> bool:
                counts = await ledger.counts()
                return proxy.stalled == 1 and counts[JobStatus.succeeded] == 100

            await until(partly_written, proc)
            await asyncio.sleep(0.2)  # nothing more gets written while the file stalls
            assert (await ledger.counts())[JobStatus.succeeded] == 100
        finally:
            sigkill(proc)
        proxy.stall_results_after = None
        proxy.unstall()
        summary = runner.finish()

        rows = await one_result_each(ledger, JOBS)
        [batch] = await BatchLedger(ledger).rows()
        counts = await ledger.counts()
    finally:
        await ledger.aclose()
    [api] = api_batches(emu)
    totals = emu.stats()["totals"]

    assert "results already written 100" in summary
    assert "succeeded 200" in summary
    assert (batch.state, batch.api_id, batch.succeeded) == (BatchState.done, api.id, JOBS)
    assert all(r.attempts == 1 for r in rows)
    assert totals["batch_requests"] == JOBS
    assert counts["input_tokens"] == totals["input_tokens"]
    assert counts["output_tokens"] == totals["output_tokens"]
    assert batch.cost_usd == pytest.approx(counts["cost_usd"])
    status = runner.status()
    assert (status["batches_done"], status["batch_requests_open"], status["succeeded"]) == (
        1,
        0,
        JOBS,
    )
