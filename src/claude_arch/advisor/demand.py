"""What a profile asks of the API per minute: calls, input and output tokens, at the mean, the
peak, and the rate a queue must drain at to stay within the delay tolerance.

    >>> from claude_arch.advisor.profile import profile_from_mapping
    >>> traffic = {"mean_rpm": 100, "peak_rpm": 400, "burst_minutes": 10}
    >>> p = profile_from_mapping({"traffic": traffic,
    ...     "tokens": {"input": {"p50": 1000}, "output": {"p50": 100}},
    ...     "delay_tolerance": "30m", "models": ["claude-haiku-4-5"]})
    >>> drain_rpm(p)
    175.0

A burst of D minutes at the peak P over a mean M leaves a backlog of (P - r) D at a drain rate r,
cleared at (r - M) a minute; within a tolerance T that needs r >= (P D + M T) / (D + T).
"""

from __future__ import annotations

from claude_arch.advisor.profile import WorkloadProfile
from claude_arch.advisor.sources import Sources

__all__ = ["cached_prefix_tokens", "drain_rpm", "itpm_tokens_per_call", "monthly_minutes"]


def monthly_minutes(sources: Sources) -> int:
    """Minutes in the month the advisor prices."""
    return sources.assumptions.workload.days_per_month * 24 * 60


def drain_rpm(profile: WorkloadProfile) -> float:
    """Requests per minute a queue must process so a peak's backlog clears within the delay
    tolerance (the peak itself with no tolerance, the mean with an endless one)."""
    traffic = profile.traffic
    burst, tolerance = traffic.burst_minutes, profile.delay_tolerance / 60
    return (traffic.peak * burst + traffic.mean_rpm * tolerance) / (burst + tolerance)


def cached_prefix_tokens(profile: WorkloadProfile, sources: Sources, model: str) -> float:
    """Tokens per call prompt caching can serve: the repeated prefix, or 0 when it is shorter
    than the smallest prefix the model's family caches."""
    prefix = profile.tokens.input.mean * profile.tokens.cached_prefix_share
    least = sources.assumptions.workload.cache_min_tokens.get(sources.family(model), 0)
    return prefix if prefix >= least and prefix > 0 else 0.0


def write_share(profile: WorkloadProfile, sources: Sources) -> float:
    """The share of calls that write the cache: at most one per cache lifetime at the mean
    rate, every call when calls are further apart (an upper bound on Poisson arrivals' writes)."""
    per_ttl = profile.traffic.mean_rpm * profile.traffic.steps_per_request
    per_ttl *= sources.assumptions.workload.cache_ttl_minutes
    return min(1.0, 1.0 / per_ttl)


def itpm_tokens_per_call(profile: WorkloadProfile, sources: Sources, model: str) -> float:
    """Input tokens per call that count against ITPM: all but cache reads."""
    reads = cached_prefix_tokens(profile, sources, model) * (1 - write_share(profile, sources))
    return profile.tokens.input.mean - reads
