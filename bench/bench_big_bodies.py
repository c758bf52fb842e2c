"""Does one large request stall everyone else? The service (pinned to core 0) receives bodies of
many small content blocks while a probe asks ``/healthz`` every 5 ms; the table gives the probe's
worst and median latency during each body, against the probe's latency with no body at all.

    .venv/bin/python bench/bench_big_bodies.py            # 1, 3 and 9 MB bodies, 3 rounds each

Parsing and checking a request (JSON, validation, token estimate, nesting) runs on the event
loop for a small body and in a worker thread above ``service.bodies.OFFLOAD_BYTES``; without
that, a 9 MB body of 300,000 blocks held the loop for most of a second.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))  # the service_harness package beside this file

from service_harness.processes import Processes, Server


def body_of(megabytes: float) -> bytes:
    """A Messages request of ``megabytes`` MB made of 30-byte text blocks."""
    blocks = int(megabytes * 1_000_000 / 30)
    content = [{"type": "text", "text": "word"} for _ in range(blocks)]
    return json.dumps(
        {"model": "claude-haiku-4-5", "max_tokens": 8,
         "messages": [{"role": "user", "content": content}]}
    ).encode()  # fmt: skip


async def probe_during(server: Server, body: bytes | None, seconds: float = 1.5) -> list[float]:
    """``/healthz`` latencies (ms), one probe every 5 ms, while ``body`` is posted (or idle)."""
    latencies: list[float] = []
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    headers[server.key_header[0]] = server.key_header[1]
    async with aiohttp.ClientSession(server.url) as http:

        async def post() -> int:
            if body is None:
                await asyncio.sleep(seconds)
                return 0
            async with http.post("/v1/messages", data=body, headers=headers) as reply:
                await reply.read()
                return reply.status

        task = asyncio.create_task(post())
        while not task.done():
            started = time.perf_counter()
            async with http.get("/healthz") as reply:
                await reply.read()
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.005)
        status = await task
    if body is not None and status != 200:
        raise SystemExit(f"the big request was answered {status}")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,9", help="body sizes in MB")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"# bench_big_bodies.py, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{platform.processor() or platform.machine()}; Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as run_dir, Processes(Path(run_dir)) as procs:
        emulator = procs.emulator(core=1, speed=0)
        service = procs.service(emulator, core=0)
        print("| body | /healthz worst ms | /healthz median ms | rounds |")
        print("|---|---:|---:|---:|")
        idle = [x for _ in range(args.rounds) for x in asyncio.run(probe_during(service, None))]
        print(f"| none | {max(idle):.1f} | {statistics.median(idle):.2f} | {args.rounds} |")
        for size in (float(s) for s in args.sizes.split(",")):
            body = body_of(size)
            runs = [asyncio.run(probe_during(service, body)) for _ in range(args.rounds)]
            worst = max(max(r) for r in runs)
            median = statistics.median(x for r in runs for x in r)
            print(f"| {len(body) / 1e6:.1f} MB | {worst:.1f} | {median:.2f} | {args.rounds} |")


if __name__ == "__main__":
    main()
