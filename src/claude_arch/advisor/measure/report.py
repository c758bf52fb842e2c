"""A benchmark's results: per variant its runs (one per concurrency) or why it was not run;
``to_dict`` is what ``claude-arch bench --json`` prints.

    report.variant("service").headline.latency_p99_ms     # at the highest concurrency
    report.to_dict()["variants"][0]["status"]             # "measured", "not built", "failed"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from claude_arch.advisor.measure.figures import Figures, Run

__all__ = ["BenchReport", "VariantResult"]

Status = Literal["measured", "not built", "failed"]


@dataclass
class VariantResult:
    """One variant: measured (its runs), not built, or failed (``reason`` says why)."""

    id: str
    title: str
    how: str
    status: Status
    reason: str = ""
    runs: list[Run] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    """What else was seen: Lambda cold starts, the models that answered ``"auto"``."""

    @property
    def headline(self) -> Figures | None:
        """The figures at the highest concurrency measured."""
        if not self.runs:
            return None
        return max(self.runs, key=lambda r: r.concurrency).figures()

    def to_dict(self) -> dict[str, Any]:
        head = self.headline
        return {
            "id": self.id,
            "title": self.title,
            "how": self.how,
            "status": self.status,
            "reason": self.reason,
            "figures": None if head is None else head.to_dict(),
            "runs": [
                {
                    "concurrency": r.concurrency,
                    "wall_s": round(r.wall_s, 3),
                    "notes": r.notes,
                    **r.figures().to_dict(),
                }
                for r in self.runs
            ],
            **self.extras,
        }


@dataclass
class BenchReport:
    """Every variant's result for one profile, with the conditions of the run."""

    profile: str
    model: str
    speed: float
    requests: int
    concurrency: tuple[int, ...]
    tier: str
    machine: dict[str, Any]
    started_at: str
    tokens: dict[str, float]
    variants: list[VariantResult] = field(default_factory=list)

    def variant(self, variant_id: str) -> VariantResult:
        return next(v for v in self.variants if v.id == variant_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "model": self.model,
            "speed": self.speed,
            "requests": self.requests,
            "concurrency": list(self.concurrency),
            "rate_limit_tier": self.tier,
            "machine": self.machine,
            "started_at": self.started_at,
            "tokens": self.tokens,
            "variants": [v.to_dict() for v in self.variants],
        }
