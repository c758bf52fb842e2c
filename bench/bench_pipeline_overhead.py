"""What the queue pipeline adds to one call: a job through the ledger and the local dispatcher
against the same call made directly, one at a time, against an unpaced emulator.

    .venv/bin/python bench/bench_pipeline_overhead.py [--jobs 300] [--rounds 3]

Both sides use the same client (no retries, no limiter) and emulator (speed 0: the call itself
is the emulator's own work and the HTTP round trip). The pipeline side submits ``--jobs`` jobs to
a SQLite ledger and runs the local dispatcher at concurrency 1; a job's cycle is the time between
two consecutive ``finished_at`` (lease, call, result written, next lease). The overhead is the
cycle minus a direct call, at p50 and p99, the median over ``--rounds`` runs: the figure the
advisor's ``pipeline`` variant adds to a call's latency (a Celery hop through the broker comes on
top; bench_pipeline.py measures throughput, not this).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import platform
import statistics
import tempfile
import time
from pathlib import Path

from claude_arch.core.client import ClaudeClient
from claude_arch.pipeline import Ledger, NewJob
from claude_arch.pipeline.dispatchers.local import LocalDispatcher
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

MODEL = "claude-haiku-4-5"


def params(i: int) -> dict[str, object]:
    return {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": f"d{i}"}]}


def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(p / 100 * len(ordered)) - 1)]


async def direct(client: ClaudeClient, n: int) -> list[float]:
    took = []
    for i in range(n):
        start = time.perf_counter()
        await client.create(**params(i))
        took.append(time.perf_counter() - start)
    return took


async def through_pipeline(client: ClaudeClient, n: int, folder: Path, round_: int) -> list[float]:
    ledger = await Ledger.open(f"sqlite:///{folder / f'ledger{round_}.db'}")
    try:
        jobs = [NewJob(f"r{round_}-{i}", "bench", f"doc{i}", params(i), MODEL) for i in range(n)]
        await ledger.submit(jobs)
        await LocalDispatcher(ledger, client, concurrency=1, poll_s=0.001).run()
        done = sorted(j.finished_at for j in await ledger.jobs(limit=n + 1) if j.finished_at)
    finally:
        await ledger.engine.dispose()
    return [b - a for a, b in itertools.pairwise(done)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]
    rows: list[tuple[float, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(speed=0) as emu:
        async with ClaudeClient(
            settings, base_url=emu.url, api_key=emu.api_key, max_retries=0, limiter=None
        ) as client:
            await direct(client, 20)  # warm-up: connections, imports
            for round_ in range(args.rounds):
                calls = await direct(client, args.jobs)
                cycles = await through_pipeline(client, args.jobs, Path(tmp), round_)
                rows.append(
                    (
                        percentile(calls, 50),
                        percentile(calls, 99),
                        percentile(cycles, 50),
                        percentile(cycles, 99),
                    )
                )
    ms = [[v * 1000 for v in row] for row in rows]
    d50, d99, c50, c99 = (statistics.median(col) for col in zip(*ms, strict=True))
    print(f"# {datetime.date.today()} {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"{args.jobs} jobs x {args.rounds} rounds, medians of the rounds (ms)")
    print("| | p50 | p99 |\n|---|---:|---:|")
    print(f"| direct call | {d50:.2f} | {d99:.2f} |")
    print(f"| pipeline job cycle | {c50:.2f} | {c99:.2f} |")
    print(f"| overhead | {c50 - d50:.2f} | {c99 - d99:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
