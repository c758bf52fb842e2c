"""How long a variant takes: time to the first token the user sees and to the whole answer, at
the median and the 95th percentile, and for asynchronous variants the delay of a result.

    >>> from claude_arch.advisor.profile import profile_from_mapping
    >>> from claude_arch.advisor.sources import default_sources
    >>> p = profile_from_mapping({"traffic": {"mean_rpm": 60},
    ...     "tokens": {"input": {"p50": 1000}, "output": {"p50": 300}},
    ...     "models": ["claude-haiku-4-5"]})
    >>> s = default_sources()
    >>> service = estimate_latency(p, s, s.assumptions.variant("service"))
    >>> round(service.ttft_p50_ms), round(service.total_p50_s, 2)
    (372, 2.25)

The call itself is the latency model's (time to first token + output tokens / tokens per second,
the 95th percentile stretched by its jitter); each variant adds its overhead (measured or
estimated, see ``assumptions.toml``), the network to users outside the home region (edge variants
are near every user), cold starts of a function idle longer than it is kept warm, and the steps of
a multi-step request one after another. A variant that does not stream shows the user nothing
until the end: its first token is its total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from claude_arch.advisor.assumptions import Variant
from claude_arch.advisor.demand import drain_rpm
from claude_arch.advisor.profile import WorkloadProfile
from claude_arch.advisor.sources import Sources

__all__ = ["VariantLatency", "call_seconds", "estimate_latency"]


@dataclass(frozen=True)
class VariantLatency:
    """A variant's latency for the profile; ``known`` is False for a model without a latency
    model (then only the overheads are counted)."""

    ttft_p50_ms: float
    ttft_p95_ms: float
    total_p50_s: float
    total_p95_s: float
    result_delay_s: float
    """How long a result may wait before it is worked on, at worst (0: answered at once)."""
    cold_start_share: float
    known: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "ttft_p50_ms": round(self.ttft_p50_ms, 1),
            "ttft_p95_ms": round(self.ttft_p95_ms, 1),
            "total_p50_s": round(self.total_p50_s, 3),
            "total_p95_s": round(self.total_p95_s, 3),
            "result_delay_s": round(self.result_delay_s, 1),
            "cold_start_share": round(self.cold_start_share, 4),
            "known": self.known,
        }


def call_seconds(profile: WorkloadProfile, sources: Sources) -> tuple[float, float, float, float]:
    """One call on the primary model: (ttft p50, ttft p95, total p50, total p95) in seconds."""
    speed = sources.latency_of(profile.model)
    if speed is None:
        return 0.0, 0.0, 0.0, 0.0
    out = profile.tokens.output
    stretch = 1 + speed.jitter
    return (
        speed.ttft_s,
        speed.ttft_s * stretch,
        speed.ttft_s + out.p50 / speed.tokens_per_s,
        (speed.ttft_s + out.high / speed.tokens_per_s) * stretch,
    )


def _cold_share(profile: WorkloadProfile, variant: Variant, call_s: float) -> float:
    if variant.keep_warm_s is None:
        return 0.0
    per_s = profile.traffic.mean_rpm / 60
    environments = max(1.0, per_s * call_s * profile.traffic.steps_per_request)
    return math.exp(-per_s / environments * variant.keep_warm_s)


def estimate_latency(
    profile: WorkloadProfile, sources: Sources, variant: Variant
) -> VariantLatency:
    """The latency of ``variant`` for ``profile``."""
    a = sources.assumptions
    ttft50, ttft95, total50, total95 = call_seconds(profile, sources)
    steps = profile.traffic.steps_per_request
    over = variant.overhead_ms
    # steps run one after another; the user's first token comes in the last one
    ttft50_ms = ((steps - 1) * total50 + ttft50) * 1000 + over.ttft
    ttft95_ms = ((steps - 1) * total95 + ttft95) * 1000 + over.p99
    total50_ms = steps * total50 * 1000 + over.p50
    total95_ms = steps * total95 * 1000 + over.p99
    far = 1 - 1 / len(profile.users.regions)
    near, away = a.network.near_rtt_ms, a.network.far_rtt_ms
    rtt50 = near if variant.edge or far <= 0.5 else away
    rtt95 = near if variant.edge or far <= 0.05 else away
    cold = _cold_share(profile, variant, total50)
    cold50 = cold95 = 0.0
    if variant.cold_start_ms is not None:
        cold50 = variant.cold_start_ms.p50 if cold >= 0.5 else 0.0
        cold95 = variant.cold_start_ms.p99 if cold >= 0.05 else 0.0
    ttft50_ms += rtt50 + cold50
    ttft95_ms += rtt95 + cold95
    total50_ms += rtt50 + cold50
    total95_ms += rtt95 + cold95
    if not variant.streams:
        ttft50_ms, ttft95_ms = total50_ms, total95_ms
    delay = 0.0
    if variant.batch:
        delay = a.capacity.batch_max_s
    elif variant.asynchronous:
        traffic = profile.traffic
        rate = drain_rpm(profile)
        backlog = max(0.0, traffic.peak - rate) * traffic.burst_minutes
        delay = 0.0 if backlog == 0 else backlog / max(rate - traffic.mean_rpm, 1e-9) * 60
    if variant.asynchronous:
        ttft50_ms = total50_ms = total50_ms + (
            a.capacity.batch_typical_s * 1000 if variant.batch else 0
        )
        ttft95_ms = total95_ms = total95_ms + delay * 1000
    return VariantLatency(
        ttft_p50_ms=ttft50_ms,
        ttft_p95_ms=ttft95_ms,
        total_p50_s=total50_ms / 1000,
        total_p95_s=total95_ms / 1000,
        result_delay_s=delay,
        cold_start_share=cold,
        known=sources.latency_of(profile.model) is not None,
    )
