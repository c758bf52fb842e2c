"""Figures and tables: percentiles, CPU shares, and how busy the rest of the machine was.

    with OtherLoad(our_pids) as other:
        ...                                 # a scenario
    print(other.describe())                 # "other processes: 0.12 cores (load average 0.80)"

The machine is shared, so every table says how much CPU *other* processes used while it was
measured: the whole machine's busy time (/proc/stat) less what our processes used.
"""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from service_harness.processes import cpu_seconds


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned by the renderer (``---:``)."""
    lines = ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_busy_s() -> float:
    """CPU seconds every core of the machine spent busy since boot (/proc/stat, first line)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """This process's CPU and its reaped children's (wrk runs)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class OtherLoad:
    """CPU used by processes that are not ours while a block runs, in cores (1.0 = one core)."""

    def __init__(self, our_pids: Callable[[], list[int]]) -> None:
        self.our_pids = our_pids
        self.cores = 0.0
        self._t0 = self._busy0 = self._ours0 = 0.0

    def _ours(self) -> float:
        return cpu_seconds(self.our_pids()) + own_cpu_s()

    def __enter__(self) -> OtherLoad:
        self._t0 = time.monotonic()
        self._busy0, self._ours0 = machine_busy_s(), self._ours()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.monotonic() - self._t0
        busy = machine_busy_s() - self._busy0
        ours = self._ours() - self._ours0
        self.cores = max(0.0, busy - ours) / elapsed if elapsed > 0 else float("nan")

    def describe(self) -> str:
        load1 = Path("/proc/loadavg").read_text().split()[0]
        return (
            f"other processes on the machine meanwhile: {self.cores:.2f} cores (load avg {load1})"
        )


class CpuSampler:
    """Samples processes' CPU time every 0.1 s, to find their busiest second."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.samples.append((time.monotonic(), cpu_seconds(self.pids())))

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def busiest(self, seconds: float = 1.0) -> float:
        """The largest CPU share (1.0 = one core) over any ``seconds``-long stretch."""
        shares = []
        for i, (t0, c0) in enumerate(self.samples):
            later = next(((t, c) for t, c in self.samples[i:] if t - t0 >= seconds), None)
            if later is not None:
                shares.append((later[1] - c0) / (later[0] - t0))
        return max(shares, default=float("nan"))
