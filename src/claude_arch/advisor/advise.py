"""Score every variant and combination for a workload and recommend one, with the runner-up.

    >>> from claude_arch.advisor.profile_file import profile_from_data
    >>> p = profile_from_data({"traffic": {"mean_rpm": 20, "peak_rpm": 60},
    ...     "tokens": {"input": {"p50": 800}, "output": {"p50": 200}},
    ...     "delay_tolerance": "1m", "rate_limit_tier": "tier2", "models": ["claude-haiku-5-5"]})
    >>> advice = advise(p)
    >>> advice.recommended, advice.runner_up
    ('serverless', 'pipeline')

The rule, in order: a variant is *fit* when it streams to a user who waits (``interactive``),
meets the TTFT and total targets at the 95th percentile, delivers within the delay tolerance,
holds the traffic on the profile's tier, and its bill is within the budget. Among fit variants
the one with the lowest month all in wins: the model calls, the infrastructure, and the
operations it needs (``ops_hours`` at an engineer's hour, the measure of complexity). When none
is fit, the one with the fewest problems and then the lowest month is shown, with its problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from claude_arch.advisor.assumptions import Variant
from claude_arch.advisor.cost import ModelCost, model_cost
from claude_arch.advisor.latency import VariantLatency, estimate_latency
from claude_arch.advisor.plan import Plan, plan_variant
from claude_arch.advisor.profile import WorkloadProfile
from claude_arch.advisor.sources import Sources, default_sources

__all__ = ["Advice", "Scored", "advise", "score_variant"]


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


@dataclass(frozen=True)
class Scored:
    """One variant scored: its latency, plan (capacity and bill), and what rules it out."""

    variant: Variant
    latency: VariantLatency
    plan: Plan
    problems: tuple[str, ...]

    @property
    def fit(self) -> bool:
        return not self.problems

    @property
    def total_usd(self) -> Decimal:
        """The month all in: the bill plus the operations."""
        return self.plan.bill_usd + self.plan.ops_usd

    @property
    def complexity(self) -> str:
        hours = self.variant.ops_hours
        return "low" if hours <= 2 else "medium" if hours <= 4 else "high"

    def to_dict(self) -> dict[str, object]:
        v = self.variant
        return {
            "id": v.id,
            "title": v.title,
            "fit": self.fit,
            "problems": list(self.problems),
            "latency": self.latency.to_dict(),
            "cost": {
                "api_usd": float(self.plan.bill_usd - self.plan.infra_usd),
                "infra_usd": float(self.plan.infra_usd),
                "bill_usd": float(self.plan.bill_usd),
                "ops_usd": float(self.plan.ops_usd),
                "total_usd": float(self.total_usd),
            },
            "capacity": None if self.plan.capacity is None else self.plan.capacity.to_dict(),
            "complexity": {"level": self.complexity, "ops_hours": v.ops_hours},
            "failure": v.failure,
            "built": v.built,
            "measured": v.measured,
            "source": v.source,
        }


def score_variant(profile: WorkloadProfile, sources: Sources, variant_id: str) -> Scored:
    """Latency, plan and problems of one variant for ``profile``."""
    variant = sources.assumptions.variant(variant_id)
    latency = estimate_latency(profile, sources, variant)
    plan = plan_variant(profile, sources, variant_id)
    problems: list[str] = []
    targets = profile.latency
    if targets.interactive and not variant.streams:
        problems.append("does not stream to a user who waits")
    if targets.ttft_ms is not None and latency.ttft_p95_ms > targets.ttft_ms:
        problems.append(
            f"TTFT p95 {latency.ttft_p95_ms:,.0f} ms is over the {targets.ttft_ms:g} ms target"
        )
    if targets.total_s is not None and latency.total_p95_s > targets.total_s:
        problems.append(
            f"total p95 {latency.total_p95_s:,.1f} s is over the {targets.total_s:g} s target"
        )
    if latency.result_delay_s > profile.delay_tolerance * (1 + 1e-9):
        problems.append(
            f"results may wait {_duration(latency.result_delay_s)}; the tolerance is "
            f"{_duration(profile.delay_tolerance)}"
        )
    cap = plan.capacity
    if cap is not None and not cap.fits:
        need = f"needs {cap.needs_tier}" if cap.needs_tier else "no tier holds it"
        problems.append(f"{profile.rate_limit_tier} does not hold it ({cap.binding}): {need}")
    if plan.lambda_concurrency > sources.assumptions.capacity.lambda_concurrency_limit:
        problems.append(
            f"needs {plan.lambda_concurrency} concurrent functions, over the default limit of "
            f"{sources.assumptions.capacity.lambda_concurrency_limit}"
        )
    budget = profile.budget_usd_per_month
    if budget is not None and plan.bill_usd > budget:
        problems.append(f"bill ${plan.bill_usd:,.2f} is over the ${budget:,.2f} budget")
    return Scored(variant, latency, plan, tuple(problems))


@dataclass(frozen=True)
class Advice:
    """Every variant scored, best first; the recommendation, the runner-up and why."""

    profile: WorkloadProfile
    ranked: tuple[Scored, ...]
    reasons: tuple[str, ...]
    capacity_note: str | None
    models: tuple[ModelCost, ...]

    @property
    def recommended(self) -> str:
        return self.ranked[0].variant.id

    @property
    def runner_up(self) -> str:
        return self.ranked[1].variant.id

    def scored(self, variant_id: str) -> Scored:
        return next(s for s in self.ranked if s.variant.id == variant_id)

    def to_dict(self) -> dict[str, object]:
        return {
            "profile": self.profile.name,
            "recommended": self.recommended,
            "runner_up": self.runner_up,
            "fit": self.ranked[0].fit,
            "reasons": list(self.reasons),
            "capacity_note": self.capacity_note,
            "models": [m.to_dict() for m in self.models],
            "variants": [s.to_dict() for s in self.ranked],
        }


def _rank_key(s: Scored) -> tuple[int, Decimal, float, str]:
    return (len(s.problems), s.total_usd, s.variant.ops_hours, s.variant.id)


def _capacity_note(profile: WorkloadProfile, ranked: list[Scored]) -> str | None:
    sync = [s for s in ranked if not s.variant.asynchronous and s.plan.capacity is not None]
    if not sync or any(s.plan.capacity and s.plan.capacity.fits for s in sync):
        return None
    needs = [s.plan.capacity.needs_tier for s in sync if s.plan.capacity]
    lowest = min((n for n in needs if n is not None), default=None)
    tier = profile.rate_limit_tier
    if lowest is None:
        return f"the peak is over every tier's limits on {tier}: needs batch mode"
    return f"the peak is over {tier}'s limits: needs {lowest}, or batch mode"


def _reasons(best: Scored, second: Scored) -> list[str]:
    if not best.fit:
        return ["no variant is fit for this profile; the least bad one:", *best.problems]
    saving = second.total_usd - best.total_usd
    out = [
        f"lowest month all in among fit variants: ${best.total_usd:,.2f} "
        f"(${best.plan.bill_usd:,.2f} bill + ${best.plan.ops_usd:,.2f} operations)",
    ]
    if second.fit:
        out.append(f"${saving:,.2f} a month less than the runner-up, {second.variant.id}")
    else:
        out.append(f"the runner-up, {second.variant.id}, is not fit: {second.problems[0]}")
    lat = best.latency
    if best.variant.asynchronous:
        out.append(f"results within {_duration(lat.result_delay_s or lat.total_p95_s)}")
    else:
        out.append(f"TTFT p95 {lat.ttft_p95_ms:,.0f} ms, total p95 {lat.total_p95_s:,.1f} s")
    saved = [line for line in best.plan.lines if line.usd < 0]
    if saved:
        out.append(f"routing saves ${-saved[0].usd:,.2f} a month (measured ratio)")
    if best.variant.batch:
        out.append("Message Batches bill at the catalog's batch discount")
    out.append("latency measured" if best.variant.measured else f"estimate: {best.variant.source}")
    return out


def advise(profile: WorkloadProfile, sources: Sources | None = None) -> Advice:
    """Score every variant and combination of the assumptions for ``profile`` (already checked
    with :func:`~claude_arch.advisor.checks.check_profile`); pure and deterministic."""
    src = sources or default_sources()
    ranked = sorted(
        (score_variant(profile, src, vid) for vid in src.assumptions.ids), key=_rank_key
    )
    return Advice(
        profile=profile,
        ranked=tuple(ranked),
        reasons=tuple(_reasons(ranked[0], ranked[1])),
        capacity_note=_capacity_note(profile, ranked),
        models=tuple(model_cost(profile, src, m) for m in profile.models),
    )
