"""Does the organisation's rate-limit tier hold a variant's traffic, and which tier would.

    >>> from claude_arch.advisor.profile import profile_from_mapping
    >>> from claude_arch.advisor.sources import default_sources
    >>> p = profile_from_mapping({"traffic": {"mean_rpm": 40, "peak_rpm": 120},
    ...     "tokens": {"input": {"p50": 1000}, "output": {"p50": 200}},
    ...     "rate_limit_tier": "tier1", "models": ["claude-haiku-4-5"]})
    >>> s = default_sources()
    >>> fit = capacity_fit(p, s, s.assumptions.variant("service"))
    >>> fit.fits, fit.needs_tier, fit.binding
    (False, 'tier2', 'rpm')

A synchronous variant must hold the peak; a queue the rate that drains a peak within the delay
tolerance; Message Batches are held by the batch queue's size, not the per-minute limits. Each of
``teams_sharing_org`` gets an equal share of the tier; the orchestrator spreads its calls over
families in the measured routing mix.
"""

from __future__ import annotations

from dataclasses import dataclass

from claude_arch.advisor.assumptions import Variant
from claude_arch.advisor.demand import drain_rpm, itpm_tokens_per_call
from claude_arch.advisor.profile import WorkloadProfile
from claude_arch.advisor.sources import Sources

__all__ = ["CapacityFit", "capacity_fit", "tier_names"]


@dataclass(frozen=True)
class CapacityFit:
    """Whether the profile's tier holds the variant; the lowest tier that would (None: none);
    the limit that binds; and the demand per minute next to the tier's share."""

    fits: bool
    needs_tier: str | None
    binding: str | None
    demand: dict[str, float]
    allowed: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return {
            "fits": self.fits,
            "needs_tier": self.needs_tier,
            "binding": self.binding,
            "demand": {k: round(v, 1) for k, v in self.demand.items()},
            "allowed": {k: round(v, 1) for k, v in self.allowed.items()},
        }


def tier_names(sources: Sources) -> list[str]:
    """The catalog's tiers, lowest first."""
    return sorted(sources.catalog.tiers)


def _shares(profile: WorkloadProfile, sources: Sources, variant: Variant) -> dict[str, float]:
    if variant.routing and profile.request_mix == "mixed":
        return dict(sources.assumptions.routing.mix)
    return {sources.family(profile.model): 1.0}


def _check(
    profile: WorkloadProfile, sources: Sources, variant: Variant, tier: str
) -> tuple[str | None, dict[str, float], dict[str, float]]:
    """The first limit the tier misses (None: it holds), the demand and the tier's share."""
    teams = profile.teams_sharing_org
    steps = profile.traffic.steps_per_request
    if variant.batch:
        limit = sources.assumptions.capacity.batch_queue_limit.get(tier, 0) / teams
        waiting = profile.traffic.mean_rpm * steps * sources.assumptions.capacity.batch_typical_s
        waiting /= 60
        binding = None if waiting <= limit else "batch_queue"
        return binding, {"batch_queue": waiting}, {"batch_queue": limit}
    rpm = (drain_rpm(profile) if variant.asynchronous else profile.traffic.peak) * steps
    calls = {
        "rpm": rpm,
        "itpm": rpm * itpm_tokens_per_call(profile, sources, profile.model),
        "otpm": rpm * profile.tokens.output.mean,
    }
    limits = sources.catalog.tiers[tier]
    worst: tuple[float, str] | None = None
    demand: dict[str, float] = {}
    allowed: dict[str, float] = {}
    for family, share in sorted(_shares(profile, sources, variant).items()):
        lim = limits.get(family)
        if lim is None:  # no published preset: not limited here
            continue
        for name, cap in (("rpm", lim.rpm), ("itpm", lim.itpm), ("otpm", lim.otpm)):
            need, have = calls[name] * share, cap / teams
            key = name if len(_shares(profile, sources, variant)) == 1 else f"{family}.{name}"
            demand[key], allowed[key] = need, have
            load = need / have
            if load > 1 and (worst is None or load > worst[0]):
                worst = (load, key)
    return (None if worst is None else worst[1]), demand, allowed


def capacity_fit(profile: WorkloadProfile, sources: Sources, variant: Variant) -> CapacityFit:
    """How ``variant`` fits the profile's tier, and the lowest tier it fits."""
    binding, demand, allowed = _check(profile, sources, variant, profile.rate_limit_tier)
    needs = next(
        (t for t in tier_names(sources) if _check(profile, sources, variant, t)[0] is None), None
    )
    return CapacityFit(binding is None, needs, binding, demand, allowed)
