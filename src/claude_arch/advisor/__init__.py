"""Choose a variant for a workload: a pure model of latency, cost, capacity and complexity.

    from claude_arch.advisor import advise, load_profile, plan_variant

    profile = load_profile("examples/profiles/chat-ui.yaml")   # ProfileError: file:line: field
    advice = advise(profile)
    advice.recommended, advice.runner_up, advice.reasons
    plan_variant(profile, default_sources(), advice.recommended).lines   # the bill, line by line

The data: the catalog (prices, limits), the emulator's latency model, and ``assumptions.toml``
(infrastructure prices, measured overheads, routing savings); ``docs/selection-guide.md`` explains
each threshold.
"""

from __future__ import annotations

from claude_arch.advisor.advise import Advice, Scored, advise
from claude_arch.advisor.assumptions import Assumptions, Variant, default_assumptions
from claude_arch.advisor.checks import check_profile
from claude_arch.advisor.errors import ProfileError
from claude_arch.advisor.plan import BillLine, Plan, plan_variant
from claude_arch.advisor.profile import WorkloadProfile, profile_from_mapping
from claude_arch.advisor.profile_file import load_profile, profile_from_data
from claude_arch.advisor.sources import Sources, default_sources

__all__ = [
    "Advice",
    "Assumptions",
    "BillLine",
    "Plan",
    "ProfileError",
    "Scored",
    "Sources",
    "Variant",
    "WorkloadProfile",
    "advise",
    "check_profile",
    "default_assumptions",
    "default_sources",
    "load_profile",
    "plan_variant",
    "profile_from_data",
    "profile_from_mapping",
]
