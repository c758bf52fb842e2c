"""The ``cascade`` strategy: answer on the cheapest tier, escalate one tier when a check on the
answer fails (a refusal, a truncated answer, or a verifier's "no"), counting every call's cost.

    async with ClaudeClient(router=build_router("default")) as claude:
        result = await cascade_create(claude, max_tokens=512, messages=[...])
        result.message.text, result.escalations, result.cost_usd

Each step is one call of the client's, pinned to a tier: the client's loop retries it and walks
the tier's chain (breakers, cooldowns, the limiter) as for any ``model: "auto"`` call.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from claude_arch.constants import AUTO_MODEL
from claude_arch.core.client import ClaudeClient
from claude_arch.core.routing.decision import Decision
from claude_arch.core.types import Message
from claude_arch.errors import ConfigError

__all__ = ["CascadeResult", "answer_problem", "cascade_create"]

_REFUSAL = re.compile(r"^\s*(I can(no|')t|I'm (not able|unable)|I am unable|Sorry, I can)", re.I)

Verifier = Callable[[dict[str, Any], Message], Awaitable[bool]]
"""``(request params, answer) -> acceptable?``: e.g. a cheap model asked whether it answers."""


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """The accepted answer, every decision taken on the way, and their summed cost."""

    message: Message
    decisions: list[Decision] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    cost_usd: Decimal = Decimal(0)

    @property
    def escalations(self) -> int:
        return len(self.decisions) - 1


def answer_problem(message: Message) -> str | None:
    """Why an answer should be escalated (a refusal, truncation), or None when it looks fine."""
    if message.stop_reason == "refusal" or _REFUSAL.match(message.text):
        return "refusal"
    if message.stop_reason == "max_tokens":
        return "truncated (max_tokens)"
    return None


async def cascade_create(
    client: ClaudeClient,
    *,
    verifier: Verifier | None = None,
    **params: Any,
) -> CascadeResult:
    """Answer on the cheapest tier of ``client``'s router; on a failed check retry one tier up,
    to the dearest."""
    router = client.router
    if router is None:
        raise ConfigError("cascade_create: give the client a router (ClaudeClient(router=...))")
    decisions: list[Decision] = []
    reasons: list[str] = []
    cost = Decimal(0)
    message: Message | None = None
    for tier in router.policy.tier_names:
        policy = router.policy
        first = router.chain(Decision(tier, policy.tiers[tier].models[0], "", "cascade"))
        step = Decision(tier, first[0], f"cascade step {tier}", "cascade", policy=policy.name)
        call = client.build_call("create", {**params, "model": AUTO_MODEL}, route=step)
        message = await client.send_call(call)
        decisions.append(step.with_model(call.current.id))
        cost += message.record.cost_usd if message.record else Decimal(0)
        problem = answer_problem(message)
        if problem is None and verifier is not None and not await verifier(params, message):
            problem = "the verifier rejected the answer"
        if problem is None:
            break
        reasons.append(f"{tier}: {problem}")
    if message is None:  # pragma: no cover - a policy has at least one tier
        raise ValueError("the policy has no tiers")
    return CascadeResult(message, decisions, reasons, cost)
