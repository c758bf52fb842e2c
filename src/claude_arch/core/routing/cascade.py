"""The ``cascade`` strategy: answer on the cheapest tier, escalate one tier when a check on the
answer fails (a refusal, a truncated answer, or a verifier's "no"), counting every call's cost.

    async with ClaudeClient() as claude:
        result = await cascade_create(claude, router, max_tokens=512, messages=[...])
        result.message.text, result.escalations, result.cost_usd
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from claude_arch.core.client import ClaudeClient
from claude_arch.core.routing.decision import Decision
from claude_arch.core.routing.routed_call import create_routed
from claude_arch.core.routing.router import Router
from claude_arch.core.types import Message

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
    router: Router,
    *,
    verifier: Verifier | None = None,
    **params: Any,
) -> CascadeResult:
    """Answer on the cheapest tier; on a failed check retry one tier up, to the dearest."""
    decisions: list[Decision] = []
    reasons: list[str] = []
    cost = Decimal(0)
    tiers = router.policy.tier_names
    message: Message | None = None
    for tier in tiers:
        routed = await create_routed(client, _Pinned(router, tier), **params)
        message = routed.message
        decisions.append(routed.decision)
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


class _Pinned(Router):
    """A router whose every decision is one tier (the cascade's current step)."""

    def __init__(self, base: Router, tier: str) -> None:
        super().__init__(base.policy, breaker=base.breaker, catalog=base.catalog)
        self._tier = tier

    async def adecide(self, params: Any) -> Decision:
        models = self.chain(
            Decision(self._tier, self.policy.tiers[self._tier].models[0], "", "cascade")
        )
        return Decision(
            self._tier, models[0], f"cascade step {self._tier}", "cascade", policy=self.policy.name
        )
