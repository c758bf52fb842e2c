"""Score a router on labelled prompts: accuracy, macro-F1, confusion, under- and over-routing,
and what the set costs routed against always-balanced, always-deep and random routing.

Each prompt is priced on its tier's first model with its own input tokens
(:func:`claude_arch.core.tokens.count_text`) and ``output_tokens`` of answer. Under-routing: a
prompt sent to a cheaper tier than its label (ranked by that price); over-routing: a dearer one.
"Always balanced" is the tier named ``balanced`` (else the middle tier), "always deep" the tier
named ``deep`` (else the dearest); "random" draws tiers at the routed mix with a fixed seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from claude_arch.core.pricing.catalog import Catalog, default_catalog
from claude_arch.core.routing.evaluation.dataset import Example
from claude_arch.core.routing.policy import Policy
from claude_arch.core.tokens import count_text

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "EvalReport",
    "baseline_tier",
    "evaluate",
    "tier_costs",
    "tier_ranks",
]

DEFAULT_OUTPUT_TOKENS = 400


@dataclass(frozen=True, slots=True)
class EvalReport:
    """The scores of one evaluation; ``to_dict()`` is what ``route eval --json`` prints."""

    n: int
    tiers: tuple[str, ...]
    accuracy: float
    macro_f1: float
    confusion: dict[str, dict[str, int]]
    """label -> routed -> count."""
    under_routing: float
    over_routing: float
    cost_usd: Decimal
    baselines: dict[str, Decimal]
    output_tokens: int
    classifier: str
    policy: str

    def savings_vs(self, baseline: str) -> float:
        """The share saved against a baseline (0.4: 40% cheaper)."""
        base = self.baselines[baseline]
        return float(1 - self.cost_usd / base) if base else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "policy": self.policy,
            "classifier": self.classifier,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "under_routing": round(self.under_routing, 4),
            "over_routing": round(self.over_routing, 4),
            "confusion": self.confusion,
            "output_tokens": self.output_tokens,
            "cost_usd": float(self.cost_usd),
            "savings_vs_always_balanced": round(self.savings_vs("always_balanced"), 4),
            "baselines": {k: {"cost_usd": float(v)} for k, v in self.baselines.items()},
        }


def _tier_prices(policy: Policy, catalog: Catalog) -> dict[str, Decimal]:
    prices = {name: catalog.resolve(t.models[0]).prices for name, t in policy.tiers.items()}
    return {name: p.input + p.output for name, p in prices.items()}


def _named_or(policy: Policy, name: str, fallback: str) -> str:
    return name if name in policy.tiers else fallback


def tier_ranks(policy: Policy, catalog: Catalog | None = None) -> dict[str, int]:
    """Each tier's place by the price of its first model, cheapest 0 (tiers of one price share
    a place): routing to a lower place than the label is under-routing."""
    price = _tier_prices(policy, catalog or default_catalog())
    levels = sorted(set(price.values()))
    return {name: levels.index(p) for name, p in price.items()}


def baseline_tier(policy: Policy, catalog: Catalog | None = None) -> str:
    """The "always balanced" tier: the one named ``balanced``, else the middle one by price."""
    price = _tier_prices(policy, catalog or default_catalog())
    middle = sorted(policy.tier_names, key=lambda t: price[t])[len(policy.tiers) // 2]
    return _named_or(policy, "balanced", middle)


def tier_costs(
    examples: Sequence[Example],
    policy: Policy,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    catalog: Catalog | None = None,
) -> list[dict[str, Decimal]]:
    """What each example costs on each tier: its input tokens and ``output_tokens`` of answer,
    on the tier's first model."""
    catalog = catalog or default_catalog()
    out = []
    for e in examples:
        usage = {"input_tokens": count_text(e.prompt), "output_tokens": output_tokens}
        out.append({t: catalog.cost(policy.tiers[t].models[0], usage) for t in policy.tier_names})
    return out


def evaluate(
    examples: Sequence[Example],
    route: Callable[[str], str],
    policy: Policy,
    *,
    classifier: str = "rules",
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    catalog: Catalog | None = None,
    seed: int = 0,
) -> EvalReport:
    """Route every example's prompt with ``route`` (prompt -> tier name) and score it."""
    catalog = catalog or default_catalog()
    tiers = policy.tier_names
    price = _tier_prices(policy, catalog)
    routed = [route(e.prompt) for e in examples]
    tokens = [count_text(e.prompt) for e in examples]

    def cost_of(choice: Sequence[str]) -> Decimal:
        total = Decimal(0)
        for tier, n in zip(choice, tokens, strict=True):
            usage = {"input_tokens": n, "output_tokens": output_tokens}
            total += catalog.cost(policy.tiers[tier].models[0], usage)
        return total

    confusion = {a: dict.fromkeys(tiers, 0) for a in tiers}
    under = over = right = 0
    for example, tier in zip(examples, routed, strict=True):
        confusion[example.tier][tier] += 1
        right += tier == example.tier
        if price[tier] < price[example.tier]:
            under += 1
        elif price[tier] > price[example.tier]:
            over += 1
    f1s = []
    for t in tiers:
        tp = confusion[t][t]
        fp = sum(confusion[a][t] for a in tiers) - tp
        fn = sum(confusion[t].values()) - tp
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    n = len(examples)
    dearest = max(tiers, key=lambda t: price[t])
    shuffled = list(routed)
    random.Random(seed).shuffle(shuffled)
    baselines = {
        "always_balanced": cost_of([baseline_tier(policy, catalog)] * n),
        "always_deep": cost_of([_named_or(policy, "deep", dearest)] * n),
        "random": cost_of(shuffled),
    }
    return EvalReport(
        n=n,
        tiers=tiers,
        accuracy=right / n,
        macro_f1=sum(f1s) / len(f1s) if f1s else 0.0,
        confusion=confusion,
        under_routing=under / n,
        over_routing=over / n,
        cost_usd=cost_of(routed),
        baselines=baselines,
        output_tokens=output_tokens,
        classifier=classifier,
        policy=policy.name,
    )
