"""What one run measured: every request's outcome, and the figures the report shows.

    >>> run = Run("service", 2, wall_s=1.0, samples=[
    ...     Sample(0.30, 0.10, 200, 0.002), Sample(0.50, 0.20, 200, 0.004),
    ...     Sample(0.05, None, 429, 0.0)])
    >>> f = run.figures()
    >>> f.latency_p50_ms, f.latency_p99_ms, f.ok, f.throughput_rps, f.rate_limited_share
    (300.0, 500.0, 2, 2.0, 0.3333)
    >>> f.cost_per_1k_usd
    3.0

Latency and time to the first token are over the successful requests (nearest-rank
percentiles); throughput is successful requests per second of the run's wall time; the 429 share
is of every answer the variant gave (``upstream_429_share``: of the calls the emulator answered,
retries included); cost per 1,000 requests is the successful requests' mean cost × 1,000.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Figures", "Run", "Sample", "percentile"]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (any order); 0 when there are none.

    >>> percentile([4.0, 1.0, 3.0, 2.0], 50), percentile([4.0, 1.0, 3.0, 2.0], 99)
    (2.0, 4.0)
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: seconds to the whole answer and to the first token (None: not streamed,
    the whole answer is the first thing seen), the HTTP status, the cost in USD."""

    latency_s: float
    ttft_s: float | None
    status: int
    cost_usd: float


@dataclass(frozen=True)
class Figures:
    """The figures of one run (milliseconds, requests per second, shares 0..1, USD)."""

    requests: int
    ok: int
    latency_p50_ms: float
    latency_p99_ms: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    throughput_rps: float
    rate_limited_share: float
    error_share: float
    upstream_429_share: float
    cost_per_1k_usd: float

    def to_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


@dataclass
class Run:
    """One variant at one concurrency: its samples, the run's wall time, and what the emulator
    counted meanwhile (calls and 429s)."""

    variant: str
    concurrency: int
    wall_s: float
    samples: list[Sample] = field(default_factory=list)
    upstream_calls: int = 0
    upstream_429: int = 0
    notes: list[str] = field(default_factory=list)

    def figures(self) -> Figures:
        good = [s for s in self.samples if s.status == 200]
        latency = [s.latency_s * 1000 for s in good]
        ttft = [(s.latency_s if s.ttft_s is None else s.ttft_s) * 1000 for s in good]
        answered = len(self.samples) or 1
        return Figures(
            requests=len(self.samples),
            ok=len(good),
            latency_p50_ms=round(percentile(latency, 50), 2),
            latency_p99_ms=round(percentile(latency, 99), 2),
            ttft_p50_ms=round(percentile(ttft, 50), 2),
            ttft_p99_ms=round(percentile(ttft, 99), 2),
            throughput_rps=round(len(good) / self.wall_s, 2) if self.wall_s > 0 else 0.0,
            rate_limited_share=round(sum(s.status == 429 for s in self.samples) / answered, 4),
            error_share=round(sum(s.status != 200 for s in self.samples) / answered, 4),
            upstream_429_share=round(self.upstream_429 / max(self.upstream_calls, 1), 4),
            cost_per_1k_usd=round(statistics.fmean(s.cost_usd for s in good) * 1000, 4)
            if good
            else 0.0,
        )

    def latencies_ms(self) -> list[float]:
        """Every successful request's latency, for the distribution chart."""
        return [s.latency_s * 1000 for s in self.samples if s.status == 200]
