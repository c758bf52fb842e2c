"""The local runner killed with SIGKILL again and again: no job lost, none answered twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from test_local_dispatcher import requests

from claude_arch.pipeline import JobStatus, Ledger
from claude_arch.testing import EmulatorServer

JOBS = 500
KILL_AT = (40, 130, 220, 330)  # succeeded jobs at which each runner is killed


async def _wait_for(condition_met: object, proc: subprocess.Popen[bytes], bound: int) -> None:
    """Poll until the coroutine function returns True or the runner exits, at most ``bound``
    times 20 ms."""
    for _ in range(bound):
        if proc.poll() is not None or await condition_met():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the runner made no progress")


async def test_sigkilled_runners_lose_nothing_and_answer_once(tmp_path: Path) -> None:
    with EmulatorServer(speed=0) as emu:  # a thread: it serves while this loop blocks
        emu.set_faults({"kind": "529", "probability": 0.05}, seed=3)
        env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": emu.url,
            "ANTHROPIC_API_KEY": emu.api_key,
            "CLAUDE_ARCH_DATA_DIR": str(tmp_path),
            "CLAUDE_ARCH_DATABASE_URL": "",
        }
        env.pop("CLAUDE_ARCH_DATABASE_URL")
        ledger = await Ledger.open(f"sqlite:///{tmp_path / 'claude-arch.db'}")
        await ledger.submit(requests(JOBS))
        command = [sys.executable, "-m", "claude_arch.cli", "pipeline", "run"]
        command += ["--lease-s", "1", "--concurrency", "16"]

        async def succeeded() -> int:
            return int((await ledger.counts())[JobStatus.succeeded])

        kills = 0
        try:
            for target in KILL_AT:
                proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: ASYNC220
                try:

                    async def reached(target: int = target) -> bool:
                        return await succeeded() >= target

                    await _wait_for(reached, proc, bound=3000)
                finally:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGKILL)
                        kills += 1
                    proc.wait()
            # the emulator serves from its own thread, so blocking this loop is harmless
            final = subprocess.run(command, env=env, capture_output=True, check=False)  # noqa: ASYNC221
            assert final.returncode == 0, final.stderr.decode()[-2000:]

            counts = await ledger.counts()
            rows = await ledger.jobs(limit=JOBS * 2)
        finally:
            await ledger.aclose()
        totals = emu.stats()["totals"]

    assert kills >= 3  # the runners really died mid-run
    assert counts[JobStatus.succeeded] == JOBS  # zero lost jobs
    assert all(r.status == JobStatus.succeeded and r.result for r in rows)
    assert len({r.key for r in rows}) == len(rows) == JOBS  # one result per job
    upstream = totals["requests"] + totals.get("fault_529", 0)
    assert totals["requests"] >= JOBS
    assert upstream <= counts["attempts"]  # no call outside a lease (jobs + retries)
