"""Client costs: import time, overhead per call over a bare aiohttp call, and transports compared.

    .venv/bin/python bench/bench_client.py [--calls 2000] [--runs 7]

1. Import time (fresh interpreter per run, median of ``--runs``) of ``claude_arch``, of each client
   path with its transport, and of ``anthropic``, all in the same run.
2. Overhead per call: the emulator runs in a separate process (pinned with ``taskset`` to the
   other core when there are two or more); this process is pinned to core 0. Bare aiohttp
   POSTs the same body and parses the JSON; ``transport`` does the same through our aiohttp
   transport; ``ClaudeClient.create`` adds validation, limiter,
   decoding, usage record and cost. Calls are interleaved in blocks so emulator drift hits both
   alike; the figure is the difference of the p50 latencies (target: <= 0.3 ms).
3. Transports through ``ClaudeClient`` (aiohttp, httpx, httpx2) at concurrency 1 and 64: req/s,
   p50 latency and this process's CPU time per request (the fair figure when the emulator, not
   the client, is the bottleneck); then ``SyncClaudeClient`` over httpx and httpx2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import httpx2

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.core.transports.aiohttp_transport import AiohttpTransport
from claude_arch.core.transports.base import AsyncTransport, WireRequest
from claude_arch.core.transports.httpx_transport import HttpxAsyncTransport, HttpxTransport
from claude_arch.settings import Settings

MODEL = "claude-haiku-4-5"
PARAMS: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Summarise the plot of Hamlet in one line."}],
}
EMULATOR = """
import asyncio, sys
from claude_arch.testing import EmulatorServer
async def main():
    async with EmulatorServer(speed=0, rate_limit_tier="none") as emu:
        print(emu.url, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""
IMPORTS = {
    "claude_arch": "import claude_arch",
    "ClaudeClient + aiohttp": "from claude_arch.core.client import ClaudeClient; "
    "import claude_arch.core.transports.aiohttp_transport",
    "SyncClaudeClient + httpx": "from claude_arch.core.sync_client import SyncClaudeClient; "
    "import claude_arch.core.transports.httpx_transport",
    "anthropic": "import anthropic",
}


def pin(core: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


def import_times(runs: int) -> dict[str, float]:
    probe = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
    results: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for _ in range(runs):
        for name, statement in IMPORTS.items():
            out = subprocess.run(
                [sys.executable, "-c", probe.format(statement)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[name].append(float(out.stdout.strip()))
    return {name: statistics.median(times) for name, times in results.items()}


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [*pin(1), sys.executable, "-c", EMULATOR], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def timed(n: int, call: Callable[[], Awaitable[object]], out: list[float]) -> None:
    for _ in range(n):
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)


async def overhead(url: str, calls: int) -> dict[str, float]:
    body = json.dumps(PARAMS).encode()
    headers = {
        "content-type": "application/json",
        "anthropic-version": "2026-10-21",
        "authorization": "Bearer sk-ant-emulator",
    }
    settings = Settings(_env_file=None, max_retries=0)  # type: ignore[call-arg]
    samples: dict[str, list[float]] = {
        "bare": [],
        "transport": [],
        "client": [],
        "client+limiter": [],
    }
    transport = AiohttpTransport()
    wire = WireRequest("POST", url + "/v1/messages", headers, body, 600.0, 5.0)
    async with aiohttp.ClientSession() as session:

        async def bare() -> object:
            async with session.post(url + "/v1/messages", data=body, headers=headers) as resp:
                return json.loads(await resp.read())

        plain = ClaudeClient(settings, base_url=url, api_key="sk-ant-emulator", limiter=None)
        # Limits far above the load: the figure is the limiter's cost, not its waiting.
        limiter = LocalRateLimiter({"haiku": Limits(rpm=10**12, itpm=10**15, otpm=10**15)})
        limited = ClaudeClient(settings, base_url=url, api_key="sk-ant-emulator", limiter=limiter)

        async def transport_only() -> object:
            return json.loads(await (await transport.send(wire)).read())

        runners = {
            "bare": bare,
            "transport": transport_only,
            "client": lambda: plain.create(**PARAMS),
            "client+limiter": lambda: limited.create(**PARAMS),
        }
        for run in runners.values():  # warm up connections and caches
            await timed(50, run, [])
        block = 100
        for _ in range(max(1, calls // block)):
            for name, run in runners.items():
                await timed(block, run, samples[name])
        await plain.close()
        await limited.close()
        await transport.aclose()
    return {name: p50_ms(s) for name, s in samples.items()}


TRANSPORTS: dict[str, Callable[[], AsyncTransport]] = {
    "aiohttp": AiohttpTransport,
    "httpx": HttpxAsyncTransport,
    "httpx2": lambda: HttpxAsyncTransport(module=httpx2),
}


async def load(url: str, transport: AsyncTransport, concurrency: int, calls: int) -> list[float]:
    settings = Settings(_env_file=None, max_retries=0)  # type: ignore[call-arg]
    client = ClaudeClient(
        settings, base_url=url, api_key="sk-ant-emulator", transport=transport, limiter=None
    )
    await asyncio.gather(*(client.create(**PARAMS) for _ in range(concurrency)))  # warm up
    latencies: list[float] = []
    per_worker = max(1, calls // concurrency)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(
        *(timed(per_worker, lambda: client.create(**PARAMS), latencies) for _ in range(concurrency))
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await client.close()
    n = len(latencies)
    return [n / wall, p50_ms(latencies), cpu / n * 1000]


def sync_load(url: str, module: Any, calls: int) -> list[float]:
    settings = Settings(_env_file=None, max_retries=0)  # type: ignore[call-arg]
    client = SyncClaudeClient(
        settings,
        base_url=url,
        api_key="sk-ant-emulator",
        transport=HttpxTransport(module=module),
        limiter=None,
    )
    for _ in range(50):
        client.create(**PARAMS)
    latencies = []
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        started = time.perf_counter()
        client.create(**PARAMS)
        latencies.append(time.perf_counter() - started)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    client.close()
    return [calls / wall, p50_ms(latencies), cpu / calls * 1000]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if pin(0):
        os.sched_setaffinity(0, {0})

    print(f"## Import time (median of {args.runs} fresh interpreters)")
    for name, seconds in import_times(args.runs).items():
        print(f"  {name:<28} {seconds * 1000:8.1f} ms")

    proc, url = start_emulator()
    try:
        print(f"\n## Overhead per call, sequential, p50 of {args.calls} interleaved calls")
        figures = asyncio.run(overhead(url, args.calls))
        for name, ms in figures.items():
            added = ms - figures["bare"]
            print(f"  {name:<28} {ms:8.3f} ms   added {added:+.3f} ms")

        print("\n## Transports through ClaudeClient (emulator in its own process)")
        print(f"  {'transport':<10} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'cpu ms/req':>11}")
        for concurrency in (1, 64):
            for name, make in TRANSPORTS.items():
                rate, p50, cpu = asyncio.run(load(url, make(), concurrency, args.calls))
                print(f"  {name:<10} {concurrency:>4} {rate:9.0f} {p50:8.2f} {cpu:11.3f}")

        print("\n## SyncClaudeClient (Lambda, Celery), sequential")
        for name, module in (("httpx", httpx), ("httpx2", httpx2)):
            rate, p50, cpu = sync_load(url, module, args.calls)
            print(f"  {name:<10} {1:>4} {rate:9.0f} {p50:8.2f} {cpu:11.3f}")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
