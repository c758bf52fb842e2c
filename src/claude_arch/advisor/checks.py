"""Hold a profile against the catalog and the latency model: refuse what cannot be.

>>> from claude_arch.advisor.profile import profile_from_mapping
>>> from claude_arch.advisor.sources import default_sources
>>> p = profile_from_mapping({"traffic": {"mean_rpm": 10},
...     "tokens": {"input": {"p50": 500}, "output": {"p50": 200}},
...     "latency": {"ttft_ms": 50}, "models": ["claude-sonnet-5-5"]})
>>> check_profile(p, default_sources())
Traceback (most recent call last):
...
claude_arch.advisor.errors.ProfileError: latency.ttft_ms: 50 ms is below ... 700 ms (...)
"""

from __future__ import annotations

from claude_arch.advisor.errors import ProfileError
from claude_arch.advisor.profile import WorkloadProfile
from claude_arch.advisor.sources import Sources
from claude_arch.errors import UnknownModelError

__all__ = ["check_profile"]


def check_profile(profile: WorkloadProfile, sources: Sources) -> WorkloadProfile:
    """The profile with its models resolved to catalog IDs, or :class:`ProfileError` for a
    tier that does not exist, an unknown model, an output or prompt over a model's limits, or a
    latency target the primary model cannot reach."""
    catalog = sources.catalog
    if profile.rate_limit_tier not in catalog.tiers:
        known = ", ".join(sorted(catalog.tiers))
        raise ProfileError(
            "rate_limit_tier", f"unknown tier {profile.rate_limit_tier!r}; expected one of {known}"
        )
    resolved: list[str] = []
    tokens = profile.tokens
    for i, name in enumerate(profile.models):
        try:
            info = catalog.resolve(name)
        except UnknownModelError as exc:
            raise ProfileError(f"models.{i}", str(exc).removeprefix("model: ")) from None
        if tokens.output.high > info.max_output:
            field = "tokens.output.p95" if tokens.output.p95 is not None else "tokens.output.p50"
            raise ProfileError(
                field,
                f"{tokens.output.high} output tokens is more than {info.id} can write "
                f"({info.max_output})",
            )
        if tokens.input.high + tokens.output.high > info.context_window:
            field = "tokens.input.p95" if tokens.input.p95 is not None else "tokens.input.p50"
            raise ProfileError(
                field,
                f"{tokens.input.high} input + {tokens.output.high} output tokens do not fit "
                f"{info.id}'s context window ({info.context_window})",
            )
        resolved.append(info.id)
    primary = resolved[0]
    speed = sources.latency_of(primary)
    targets = profile.latency
    if speed is not None and targets.ttft_ms is not None and targets.ttft_ms < speed.ttft_s * 1000:
        raise ProfileError(
            "latency.ttft_ms",
            f"{targets.ttft_ms:g} ms is below {primary}'s time to first token, "
            f"{speed.ttft_s * 1000:g} ms (the emulator's latency model)",
        )
    if speed is not None and targets.total_s is not None:
        steps = profile.traffic.steps_per_request
        least = steps * (speed.ttft_s + tokens.output.p50 / speed.tokens_per_s)
        if targets.total_s < least:
            raise ProfileError(
                "latency.total_s",
                f"{targets.total_s:g} s is less than {primary} needs for {steps} call(s) of "
                f"{tokens.output.p50} output tokens, {least:.2f} s (the emulator's latency model)",
            )
    return profile.model_copy(update={"models": resolved})
