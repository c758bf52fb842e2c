"""The non-streaming scenarios, measured with wrk: added latency, throughput, worker scaling.

Every scenario interleaves its targets (A, B, C, A, B, C, …) so drift on the shared machine
hits all of them alike, and reports the median of the rounds. Proxies sit on core 0; the
emulator and wrk on core 1; ``direct`` is wrk straight to the emulator, which also shows
whether core 1 (emulator + load) could have been the bottleneck.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_harness.processes import Server
from service_harness.report import median, table
from service_harness.wrk import WrkResult, run_wrk

UPSTREAM_BOUND = 0.9
"""Emulator + wrk CPU share of core 1 above which a proxy's rate may be the upstream's limit."""
SMALL = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}
STREAMED = {**SMALL, "stream": True}
"""The streamed throughput scenario's body (the stub upstream answers it with 20 deltas)."""


@dataclass
class Measured:
    target: Server
    runs: list[WrkResult]
    proxy_cpu: list[float]
    """CPU share of the target's processes (for ``direct``: the emulator's)."""
    emulator_cpu: list[float]

    def mid(self, attr: str) -> float:
        return median([getattr(r, attr) for r in self.runs])

    def cpu_ms_per_request(self) -> float:
        """The target's CPU per request: steadier than req/s when other work shares the core."""
        pairs = zip(self.proxy_cpu, self.runs, strict=True)
        return median([cpu / r.rate * 1000 for cpu, r in pairs if r.rate])


def measure(
    targets: list[Server],
    emulator: Server,
    *,
    connections: int,
    seconds: int,
    rounds: int,
    run_dir: Path,
    load_core: int | None = 1,
    body: dict[str, Any] = SMALL,
) -> list[Measured]:
    """Interleaved wrk rounds over ``targets`` (one warm-up run each first), each POSTing
    ``body``."""
    results = [Measured(t, [], [], []) for t in targets]
    for target in targets:
        target.warm(body)
        run_wrk(
            target.url + "/v1/messages", body, target.key_header,
            connections=connections, seconds=1, core=load_core, run_dir=run_dir,
        )  # fmt: skip
    for _ in range(rounds):
        for measured in results:
            target = measured.target
            cpu0, emu0 = target.cpu(), emulator.cpu()
            run = run_wrk(
                target.url + "/v1/messages", body, target.key_header,
                connections=connections, seconds=seconds, core=load_core, run_dir=run_dir,
            )  # fmt: skip
            elapsed = run.requests / run.rate if run.rate else float(seconds)
            measured.runs.append(run)
            measured.proxy_cpu.append((target.cpu() - cpu0) / elapsed)
            measured.emulator_cpu.append((emulator.cpu() - emu0) / elapsed)
    return results


def latency_table(results: list[Measured]) -> str:
    """Concurrency 1: p50/p99 per target and what each adds over ``direct``."""
    direct = results[0]
    rows: list[list[Any]] = []
    for m in results:
        p50, p99 = m.mid("p50_ms"), m.mid("p99_ms")
        added = (
            ("–", "–")
            if m is direct
            else (f"{p50 - direct.mid('p50_ms'):+.3f}", f"{p99 - direct.mid('p99_ms'):+.3f}")
        )
        errors = sum(r.errors for r in m.runs)
        rows.append([m.target.name, f"{p50:.3f}", f"{p99:.3f}", *added, errors])
    headers = ["c=1", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "errors"]
    return table(headers, rows) + "\nTarget (service): added p50 ≤ 1 ms, added p99 ≤ 3 ms."


def throughput_table(
    results: list[Measured], connections: int, *, unit: str = "req/s", goal: str = "≥ 0.8×"
) -> str:
    """Rate, latency and CPU per target; ``unit`` names what a request is (streams/s), ``goal``
    the service's target against the bare proxy."""
    direct = results[0]
    by_name = {m.target.name: m for m in results}
    rows: list[list[Any]] = []
    for m in results:
        added = "–" if m is direct else f"{m.mid('p50_ms') - direct.mid('p50_ms'):+.2f}"
        rows.append([
            m.target.name, f"{m.mid('rate'):,.0f}", f"{m.mid('p50_ms'):.2f}", added,
            f"{m.mid('p99_ms'):.2f}", f"{median(m.proxy_cpu) * 100:.0f} %",
            f"{m.cpu_ms_per_request():.3f}",
            f"{median(m.emulator_cpu) * 100:.0f} %", f"{m.mid('cpu') * 100:.0f} %",
            f"{m.target.rss_mib():.0f}", sum(r.errors for r in m.runs),
        ])  # fmt: skip
    headers = [
        f"c={connections}", unit, "p50 ms", "added p50", "p99 ms",
        "target CPU", "CPU ms/req", "upstream CPU", "wrk CPU", "RSS MiB", "errors",
    ]  # fmt: skip
    lines = [table(headers, rows)]
    for m in results[1:]:
        core1 = median(m.emulator_cpu) + m.mid("cpu")
        if core1 >= UPSTREAM_BOUND:
            lines.append(
                f"note: {m.target.name}: core 1 (upstream + wrk) was {core1:.0%} busy, so this "
                "rate may be the upstream's limit rather than the proxy's"
            )
    service = by_name.get("service")
    for name, label, target in (
        ("bare-proxy", "bare proxy", goal),
        ("litellm", "LiteLLM", "≥ 20×"),
    ):
        if service is not None and name in by_name:
            lines.append(f"service / {label}: {ratio(service, by_name[name])} (target {target})")
    return "\n".join(lines)


def ratio(a: Measured, b: Measured) -> str:
    """``a``'s median rate over ``b``'s, or why there is none."""
    if b.mid("rate") <= 0:
        return f"– ({b.target.name} completed no request in a run: raise --seconds)"
    return f"{a.mid('rate') / b.mid('rate'):.2f}×"


def scaling_table(results: list[Measured], connections: int) -> str:
    rows: list[list[Any]] = []
    one = next((m for m in results if m.target.name.endswith("1w")), None)
    for m in results:
        speedup = ratio(m, one) if one and m.target.name != "direct" else "–"
        rows.append([
            m.target.name, f"{m.mid('rate'):,.0f}", speedup, f"{m.mid('p50_ms'):.2f}",
            f"{m.mid('p99_ms'):.2f}", f"{median(m.proxy_cpu) * 100:.0f} %",
            f"{median(m.emulator_cpu) * 100:.0f} %", sum(r.errors for r in m.runs),
        ])  # fmt: skip
    headers = [
        f"c={connections}, nothing pinned", "req/s", "vs 1 worker", "p50 ms", "p99 ms",
        "target CPU", "emulator CPU", "errors",
    ]  # fmt: skip
    return table(headers, rows)
