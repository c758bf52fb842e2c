"""Emulator throughput: requests/s unpaced (JSON and SSE) and concurrent paced streams held.

    .venv/bin/python bench/bench_emulator.py [--seconds 5] [--concurrency 64] [--streams 1000]

The emulator runs in its own process(es) (``create_app`` under ``aiohttp.web.run_app``, no
rate limits); the load runs in other processes; nothing is installed. With two or more cores and
``taskset``, a one-worker emulator is pinned to core 1 and the load to core 0. Rows:

1. ``json`` / ``sse``: speed ∞ (no pacing), ``--concurrency`` keep-alive connections each sending
   its next request when the last answer is complete (a minimal HTTP/1.1 client, so the load costs
   far less CPU than the emulator), for ``--seconds`` after a warm-up. Columns: req/s, req/s per
   emulator core (req/s ÷ the emulator's CPU share: the capacity figure, steady even when other
   processes share the machine), p50/p99 latency, CPU share of emulator and load. Target: >= 3,000
   req/s per core (json). ``2`` workers: two emulator processes on one port (SO_REUSEPORT; limits,
   batches and stats are then per process), nothing pinned.
2. ``paced``: speed 1 (realistic sonnet pacing: 0.7 s to first token, 75 tokens/s, ±20 %),
   ``--streams`` opened within a second by one aiohttp client process and held to their end. A
   stream stalls when a gap between its content events exceeds ``STALL_S``; the row gives streams
   done, stalls, gaps, length over nominal, and the busiest second's CPU share of each side (a
   load near 100 % means the client, not the emulator, is what stretched the gaps).
   Target: >= 1,000 streams held with no stall.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

HEADERS = {"x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}
QUICK = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}
PACED_MODEL = "claude-sonnet-4-6"
PACED_TOKENS = 400  # 0.7 s + 400 / 75 tokens/s: a stream lasts about 6 s at speed 1
NOMINAL_S = 0.7 + PACED_TOKENS / 75
STALL_S = 0.5  # a sonnet chunk (about 5 words) is due every ~0.1 s; 0.5 s means it was held up
SERVER = """
import sys
from aiohttp import web
from claude_arch.emulator import EmulatorConfig, create_app
config = EmulatorConfig.model_validate_json(sys.argv[1])
web.run_app(create_app(config), host=config.host, port=config.port, reuse_port=True,
            backlog=4096, handler_cancellation=True, access_log=None, print=None)
"""


def cores() -> int:
    return len(os.sched_getaffinity(0))


def pinned(core: int | None) -> list[str]:
    if core is None or not shutil.which("taskset") or cores() < 2:
        return []
    return ["taskset", "-c", str(core)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc (fields 14 and 15 of stat)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator(workers: int, core: int | None, **config: Any) -> Iterator[tuple[str, list[int]]]:
    """Emulator processes on one port; yields (url, pids) once it answers."""
    port = free_port()
    spec = json.dumps({"port": port, "rate_limit_tier": "none", **config})
    procs = [
        subprocess.Popen([*pinned(core), sys.executable, "-c", SERVER, spec])
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start within 20 s") from None
                time.sleep(0.05)
        time.sleep(0.5 if workers > 1 else 0.1)  # let every worker bind before the load starts
        yield f"http://127.0.0.1:{port}", [p.pid for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


# --- load -----------------------------------------------------------------------------------------
class _Connection(asyncio.Protocol):
    """One keep-alive connection sending the same request again as soon as an answer completes.

    A few lines of HTTP/1.1 instead of a client library: a Python client (aiohttp) tops out near
    the emulator's own rate on one core, and then the figure would measure the client.
    """

    def __init__(self, request: bytes, run: _Run) -> None:
        self.request = request
        self.run = run
        self.buffer = bytearray()
        self.started = 0.0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.buffer.clear()
        self.started = time.monotonic()
        self.transport.write(self.request)

    def _complete(self) -> bool:
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = bytes(self.buffer[:head_end]).lower()
        length = head.find(b"content-length:")
        if length >= 0:
            size = int(head[length + 15 :].split(b"\r\n", 1)[0])
            return len(self.buffer) >= head_end + 4 + size
        return self.buffer.endswith(b"0\r\n\r\n")  # chunked (SSE): the last chunk

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self._complete():
            return
        now = time.monotonic()
        self.run.record(self.started, now, self.buffer.startswith(b"HTTP/1.1 200"))
        if now < self.run.stop:
            self.send()
        elif self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass
class _Run:
    warmup_end: float
    stop: float
    latencies: list[float] = field(default_factory=list)
    failures: int = 0

    def record(self, started: float, ended: float, ok: bool) -> None:
        if started < self.warmup_end:
            return
        if ok:
            self.latencies.append(ended - started)
        else:
            self.failures += 1


async def _closed_loop(
    url: str, body: dict[str, Any], concurrency: int, seconds: float
) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    request = (
        f"POST /v1/messages HTTP/1.1\r\nHost: {host}\r\n{head}"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    loop = asyncio.get_running_loop()
    warmup_end = time.monotonic() + min(1.0, seconds / 3)
    run = _Run(warmup_end, warmup_end + seconds)
    cpu_at_warmup_end: list[float] = []
    loop.call_later(
        warmup_end - time.monotonic(), lambda: cpu_at_warmup_end.append(time.process_time())
    )
    connections = []
    for _ in range(concurrency):
        _, protocol = await loop.create_connection(
            lambda: _Connection(request, run), host, int(port)
        )
        connections.append(protocol)
    await asyncio.gather(*(c.closed for c in connections))
    return {
        "latencies": run.latencies,
        "failures": run.failures,
        "window": (run.warmup_end, run.stop),
        "cpu": (time.process_time() - cpu_at_warmup_end[0]) / seconds,
    }


def closed_loop(args: tuple[str, dict[str, Any], int, float, int | None]) -> dict[str, Any]:
    url, body, concurrency, seconds, core = args
    if core is not None and cores() >= 2:
        os.sched_setaffinity(0, {core})
    return asyncio.run(_closed_loop(url, body, concurrency, seconds))


@dataclass
class StreamReport:
    completed: bool = False
    gaps: list[float] = field(default_factory=list)
    duration: float = 0.0


async def _held_streams(url: str, streams: int) -> list[StreamReport]:
    body = {**QUICK, "model": PACED_MODEL, "max_tokens": 4096, "stream": True}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=NOMINAL_S * 10)
    async with aiohttp.ClientSession(
        connector=connector, headers=HEADERS, timeout=timeout
    ) as session:

        async def one(delay: float) -> StreamReport:
            await asyncio.sleep(delay)
            report = StreamReport()
            started = time.monotonic()
            last: float | None = None
            try:
                async with session.post(url + "/v1/messages", json=body) as response:
                    async for chunk in response.content.iter_any():
                        now = time.monotonic()
                        if b"content_block_delta" in chunk:
                            if last is not None:
                                report.gaps.append(now - last)
                            last = now
                        report.completed = b"message_stop" in chunk or report.completed
            except (aiohttp.ClientError, TimeoutError):
                report.completed = False
            report.duration = time.monotonic() - started
            return report

        # Opened over a second, as users arrive, not as one SYN flood.
        return await asyncio.gather(*(one(i / streams) for i in range(streams)))


def held_streams(args: tuple[str, int, int | None]) -> list[StreamReport]:
    url, streams, core = args
    if core is not None and cores() >= 2:
        os.sched_setaffinity(0, {core})
    return asyncio.run(_held_streams(url, streams))


# --- rows -----------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class CpuSampler:
    """Samples the CPU time of processes every 0.1 s, to read the share used in a time window."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.samples.append((time.monotonic(), cpu_seconds(self.pids)))

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def busiest(self, seconds: float = 1.0) -> float:
        """The largest share over any ``seconds``-long stretch of the samples."""
        ends = [t for t, _ in self.samples]
        starts = [t for t in ends if ends and t + seconds <= ends[-1]]
        return max((self.share(t, t + seconds) for t in starts), default=float("nan"))

    def share(self, start: float, end: float) -> float:
        """CPU seconds per second (1.0 = one core busy) between ``start`` and ``end``."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return float("nan")
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return (c1 - c0) / (t1 - t0)


def throughput_row(
    name: str, body: dict[str, Any], args: argparse.Namespace, workers: int, load_procs: int
) -> str:
    server_core, load_core = (1, 0) if workers == 1 else (None, None)
    with emulator(workers, server_core, speed=0) as (url, pids), CpuSampler(pids) as cpu:
        per_proc = max(1, args.concurrency // load_procs)
        jobs = [(url, body, per_proc, args.seconds, load_core)] * load_procs
        with multiprocessing.get_context("spawn").Pool(load_procs) as pool:
            results = pool.map(closed_loop, jobs)
    latencies = [x for r in results for x in r["latencies"]]
    failures = sum(r["failures"] for r in results)
    window = (max(r["window"][0] for r in results), min(r["window"][1] for r in results))
    rate = len(latencies) / args.seconds
    load_cpu = sum(r["cpu"] for r in results)
    server_cpu = cpu.share(*window)
    return (
        f"| {name:<18} | {workers} | {args.concurrency:>4} | {rate:>8,.0f} | "
        f"{rate / server_cpu:>8,.0f} | "
        f"{percentile(latencies, 0.5) * 1000:6.1f} | {percentile(latencies, 0.99) * 1000:6.1f} | "
        f"{server_cpu * 100:5.0f} % | {load_cpu * 100:5.0f} % | {failures} |"
    )


def paced_row(args: argparse.Namespace, streams: int) -> str:
    config = {"speed": 1, "reply_tokens": [PACED_TOKENS, PACED_TOKENS]}
    with (
        emulator(1, 1, **config) as (url, pids),
        multiprocessing.get_context("spawn").Pool(1) as pool,
    ):
        load_pid = pool.apply(os.getpid)
        with CpuSampler(pids) as server_cpu, CpuSampler([load_pid]) as load_cpu:
            reports = pool.apply(held_streams, ((url, streams, 0),))
    done = [r for r in reports if r.completed]
    gaps = [g for r in done for g in r.gaps]
    stalled = sum(1 for r in reports if not r.completed or max(r.gaps, default=0) > STALL_S)
    stretch = statistics.median(r.duration for r in done) / NOMINAL_S if done else float("nan")
    return (
        f"| {streams:>7,} | {len(done):>9,} | {stalled:>7} | {percentile(gaps, 0.5) * 1000:6.0f} | "
        f"{percentile(gaps, 0.99) * 1000:6.0f} | {max(gaps, default=0) * 1000:7.0f} | "
        f"{stretch:5.2f} | {server_cpu.busiest() * 100:5.0f} % | "
        f"{load_cpu.busiest() * 100:5.0f} % |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--streams", default="1000", help="comma-separated, e.g. 1000,2000")
    args = parser.parse_args()
    sse = {**QUICK, "stream": True}
    print(f"cores available: {cores()}; taskset: {'yes' if pinned(1) else 'no'}")
    print(
        "\n| unpaced (speed ∞) | workers | conc | req/s | req/s per emulator core "
        "| p50 ms | p99 ms | emulator CPU | load CPU | failed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(throughput_row("json", QUICK, args, workers=1, load_procs=1))
    print(throughput_row("sse (whole stream)", sse, args, workers=1, load_procs=1))
    if cores() >= 2:
        print(throughput_row("json", QUICK, args, workers=2, load_procs=2))
        print(throughput_row("sse (whole stream)", sse, args, workers=2, load_procs=2))
    print(f"\npaced: a stream's nominal length {NOMINAL_S:.1f} s; a stall is a gap > {STALL_S} s")
    print(
        "| streams | done | stalled | gap p50 ms | p99 | max | length/nominal "
        "| emulator CPU | load CPU |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for streams in (int(s) for s in args.streams.split(",")):
        print(paced_row(args, streams))


if __name__ == "__main__":
    main()
