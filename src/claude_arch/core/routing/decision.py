"""What a classifier says (:class:`Verdict`) and what the router decided (:class:`Decision`).

A ``Decision`` goes wherever the call is accounted for: ``to_dict()`` into usage records and logs,
``to_headers()`` onto the service's response, ``tier``/``classifier`` as metric labels.

    >>> d = Decision(tier="fast", model="claude-haiku-5-5", reason="rule greeting",
    ...              classifier="rules", confidence=0.9, latency_s=0.00001)
    >>> d.to_headers()["x-claude-arch-route"]
    'fast; model=claude-haiku-5-5; classifier=rules'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

__all__ = ["ROUTE_HEADER", "ROUTE_REASON_HEADER", "Decision", "Verdict"]

ROUTE_HEADER = "x-claude-arch-route"
ROUTE_REASON_HEADER = "x-claude-arch-route-reason"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A classifier's answer: a tier, how sure it is (0..1) and why."""

    tier: str
    confidence: float
    reason: str
    cost_usd: Decimal = Decimal(0)
    """What deciding cost (an ``llm`` classifier's call; 0 for local classifiers)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The router's choice for one request.

    ``classifier`` names what decided (``rules``, ``llm``, ``embedding``, ``rules (fallback)``,
    ``fixed``); ``latency_s`` and ``cost_usd`` are what deciding took; ``fallback_from`` is set
    when a model of the chain other than the first answered.
    """

    tier: str
    model: str
    reason: str
    classifier: str
    confidence: float = 1.0
    latency_s: float = 0.0
    cost_usd: Decimal = Decimal(0)
    policy: str = ""
    fallback_from: str | None = None

    def with_model(self, model: str) -> Decision:
        """The same decision answered by ``model`` (a fallback when it differs)."""
        if model == self.model:
            return self
        return replace(self, model=model, fallback_from=self.fallback_from or self.model)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields for usage records and structured logs."""
        out = asdict(self)
        out["cost_usd"] = str(self.cost_usd)
        return out

    def to_headers(self) -> dict[str, str]:
        """Response headers: the tier, model and classifier, and the reason (ASCII-safe)."""
        reason = self.reason.encode("ascii", "replace").decode()[:200]
        return {
            ROUTE_HEADER: f"{self.tier}; model={self.model}; classifier={self.classifier}",
            ROUTE_REASON_HEADER: reason,
        }
