"""The streaming and memory scenarios, with the Python clients: TTFT, held streams, RSS.

Time to first token is measured against a paced emulator with no jitter (50 ms to the first
token, then 1,000 tokens/s, 200 tokens: a quarter-second stream), so 32 concurrent streams
keep every proxy well below its capacity and the difference to ``direct`` is what a proxy adds
to a stream's start, not queueing. Held streams run at speed 1 (realistic Sonnet pacing).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from service_harness.clients import Exchange, counted, held_streams, stream_ttft
from service_harness.processes import Server
from service_harness.report import CpuSampler, median, percentile, table

TTFT_EMULATOR: dict[str, Any] = {
    "speed": 1,
    "latency": {"haiku": {"ttft_s": 0.05, "tokens_per_s": 1000, "jitter": 0}},
    "reply_tokens": [200, 200],
}
TTFT_BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 1024,
    "stream": True,
    "messages": [{"role": "user", "content": "Hi"}],
}
PACED_TOKENS = 400
PACED_EMULATOR: dict[str, Any] = {"speed": 1, "reply_tokens": [PACED_TOKENS, PACED_TOKENS]}
PACED_BODY = {**TTFT_BODY, "model": "claude-sonnet-4-6", "max_tokens": 4096}
NOMINAL_S = 0.7 + PACED_TOKENS / 75  # sonnet at speed 1: 0.7 s to the first token, 75 tokens/s
STALL_S = 0.5
"""A Sonnet chunk (a few words) is due every ~0.1 s; a gap over 0.5 s means it was held up."""


@dataclass
class Ttft:
    target: Server
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    streams: int = 0
    failed: int = 0


def measure_ttft(
    targets: list[Server], *, concurrency: int, seconds: float, rounds: int
) -> list[Ttft]:
    results = [Ttft(t) for t in targets]
    for _ in range(rounds):
        for result in results:
            url, key = result.target.url, result.target.key_header
            exchanges = asyncio.run(
                stream_ttft(url, TTFT_BODY, key, concurrency=concurrency, seconds=seconds)
            )
            good = [e for e in exchanges if e.ok and e.first_token is not None and e.ended]
            ttfts = [(e.first_token or 0) - e.started for e in good]
            result.p50_ms.append(percentile(ttfts, 0.5) * 1000)
            result.p99_ms.append(percentile(ttfts, 0.99) * 1000)
            result.streams += len(good)
            result.failed += len(exchanges) - len(good)
    return results


def ttft_table(results: list[Ttft], concurrency: int) -> str:
    direct = results[0]
    rows = []
    for r in results:
        added = "–" if r is direct else f"{median(r.p50_ms) - median(direct.p50_ms):+.2f}"
        rows.append([
            r.target.name, f"{median(r.p50_ms):.2f}", added, f"{median(r.p99_ms):.2f}",
            f"{r.streams:,}", r.failed,
        ])  # fmt: skip
    headers = [f"TTFT, c={concurrency}", "p50 ms", "added p50 ms", "p99 ms", "streams", "failed"]
    return table(headers, rows) + "\nTarget (service): added TTFT p50 ≤ 2 ms."


def held_row(target: Server, emulator: Server, streams: int) -> list[Any]:
    """``streams`` paced streams through ``target``: done, stalls, gaps, CPU of each side."""
    with CpuSampler(lambda: target.pids) as proxy_cpu, CpuSampler(lambda: emulator.pids) as emu:
        reports = asyncio.run(
            held_streams(target.url, PACED_BODY, target.key_header, streams=streams)
        )
    done = [r for r in reports if r.ok and r.ended is not None]
    gaps = [g for r in done for g in r.gaps]
    stalled = sum(1 for r in done if max(r.gaps, default=0) > STALL_S)
    lengths = [(r.ended or 0) - r.started for r in done]
    ttfts = [(r.first_token or 0) - r.started for r in done if r.first_token]
    return [
        target.name, f"{streams:,}", f"{len(done):,}", stalled, streams - len(done),
        f"{percentile(gaps, 0.5) * 1000:.0f}", f"{percentile(gaps, 0.99) * 1000:.0f}",
        f"{max(gaps, default=0) * 1000:.0f}", f"{percentile(ttfts, 0.99) * 1000:.0f}",
        f"{median(lengths) / NOMINAL_S:.2f}" if lengths else "–",
        f"{proxy_cpu.busiest() * 100:.0f} %", f"{emu.busiest() * 100:.0f} %",
    ]  # fmt: skip


def held_table(rows: list[list[Any]]) -> str:
    headers = [
        "paced streams", "opened", "done", "stalled", "failed", "gap p50 ms", "gap p99",
        "gap max", "TTFT p99 ms", "length / nominal", "target CPU", "emulator CPU",
    ]  # fmt: skip
    note = (
        f"A stream stalls when a gap between its content events exceeds {STALL_S} s; "
        f"nominal length {NOMINAL_S:.1f} s; CPU is the busiest second."
    )
    return table(headers, rows) + "\n" + note


def rss_rows(service: Server, checkpoints: list[int], concurrency: int) -> list[list[Any]]:
    """RSS of a fresh service after each cumulative request count in ``checkpoints``."""
    body = {k: v for k, v in TTFT_BODY.items() if k != "stream"}
    body["max_tokens"] = 64
    rows: list[list[Any]] = [["0 (started)", f"{service.rss_mib():.1f}", "–", "–"]]
    sent, first = 0, None
    for checkpoint in checkpoints:
        exchanges: list[Exchange] = asyncio.run(
            counted(service.url, body, service.key_header, concurrency=concurrency,
                    total=checkpoint - sent)
        )  # fmt: skip
        sent = checkpoint
        rss = service.rss_mib()
        first = rss if first is None else first
        failed = sum(1 for e in exchanges if not e.ok)
        rows.append([f"{checkpoint:,}", f"{rss:.1f}", f"{(rss / first - 1) * 100:+.1f} %", failed])
    return rows


def rss_table(rows: list[list[Any]], concurrency: int) -> str:
    headers = [f"requests (c={concurrency})", "VmRSS MiB", "vs first checkpoint", "failed"]
    return table(headers, rows) + "\nTarget: RSS after 100k within 10 % of RSS after 10k."
