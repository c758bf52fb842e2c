"""Choose the embedding router's operating point on the training split alone.

Two knobs decide what the router (rules first, the embedding classifier behind them) costs and
how often it under-routes: the policy's ``below_confidence`` (a rule less sure than this asks the
classifier) and the classifier's ``max_under_risk`` (route cheaper only when the probability that
the prompt needs a dearer tier is at most this); a third, the classifier's head (the logistic
model alone, or blended with a k-nearest-neighbours head: ``heads``, each a
:class:`~claude_arch.core.routing.classifiers.embedding.KnnSettings`), is chosen with them when
more than one is offered. :func:`choose_operating_point` picks them by
repeated stratified k-fold cross-validation on the labelled training prompts: each fold's
classifier is fitted on the other folds and routes the held-out prompts (each routed by the rules
first, as the router does), and the pair chosen is the one with the **largest mean saving against
always-balanced whose mean under-routing is at most** ``max_under_routing`` (the target's bound
less a margin: the held-out estimate is noisy). No test prompt is looked at.

    selection = choose_operating_point(load_examples("train.jsonl"), policy, max_under_routing=0.04)
    selection.chosen.below_confidence, selection.chosen.max_under_risk, selection.chosen.head

``claude-arch route fit TRAIN --max-under-routing 0.04`` does this over ``KNN_GRID`` and fits on
all of TRAIN with the chosen head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from claude_arch.core.pricing.catalog import Catalog
from claude_arch.core.routing.classifiers.embedding import (
    EXCERPT_CHARS,
    Embedder,
    KnnSettings,
    blend,
    fit_embedding_model,
    knn_probabilities,
)
from claude_arch.core.routing.classifiers.rules import RulesClassifier
from claude_arch.core.routing.evaluation.dataset import Example
from claude_arch.core.routing.evaluation.scoring import (
    DEFAULT_OUTPUT_TOKENS,
    baseline_tier,
    tier_costs,
    tier_ranks,
)
from claude_arch.core.routing.features import Features
from claude_arch.core.routing.policy import Policy

__all__ = ["OperatingPoint", "Selection", "choose_operating_point", "routed_tiers"]

DEFAULT_RISKS = tuple(round(0.02 * i, 2) for i in range(1, 50))
"""``max_under_risk`` candidates: 0.02 to 0.98 by 0.02."""


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """One candidate and its cross-validated figures (means over the repeats)."""

    below_confidence: float
    max_under_risk: float
    saving: float
    """Cost saved against always-balanced (0.4: 40% cheaper)."""
    under_routing: float
    over_routing: float
    accuracy: float
    head: KnnSettings | None = None
    """The kNN head blended into the logistic model (None: the logistic model alone)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen point, the bound it was chosen under and every candidate measured."""

    chosen: OperatingPoint
    max_under_routing: float
    folds: int
    repeats: int
    examples: int
    grid: tuple[OperatingPoint, ...] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The record a fitted model keeps (without the grid)."""
        return {
            "by": "repeated stratified k-fold cross-validation on the training prompts: the "
            "largest mean saving against always-balanced whose mean under-routing is at most "
            "max_under_routing",
            "max_under_routing": self.max_under_routing,
            "folds": self.folds,
            "repeats": self.repeats,
            "examples": self.examples,
            **{k: round(v, 4) for k, v in asdict(self.chosen).items() if k != "head"},
            "knn": None if self.chosen.head is None else self.chosen.head.to_dict(),
        }

    def frontier(self) -> list[OperatingPoint]:
        """For each ``below_confidence``, the point of most saving within the bound, with the
        chosen head."""
        best: dict[float, OperatingPoint] = {}
        for point in self.grid:
            if point.head != self.chosen.head:
                continue
            if point.under_routing <= self.max_under_routing + 1e-12:
                held = best.get(point.below_confidence)
                if held is None or point.saving > held.saving:
                    best[point.below_confidence] = point
        return [best[k] for k in sorted(best)]


def routed_tiers(probabilities: Any, max_under_risk: float) -> Any:
    """The classifier's choice for each row of ``probabilities`` (prompts by tiers, cheapest
    first): the cheapest tier whose dearer tiers together are at most ``max_under_risk`` likely
    (what :class:`~claude_arch.core.routing.classifiers.embedding.EmbeddingClassifier` does)."""
    import numpy as np

    p = np.asarray(probabilities)
    above = np.cumsum(p[:, ::-1], axis=1)[:, ::-1]  # above[:, i]: tiers i and dearer
    dearer = np.hstack([above[:, 1:], np.zeros((len(p), 1))])
    return (dearer <= max_under_risk + 1e-12).argmax(axis=1)


class _Memo:
    """Embeds every example once; the folds' fits look their vectors up."""

    def __init__(self, embedder: Embedder, texts: Iterable[str]) -> None:
        import numpy as np

        unique = list(dict.fromkeys(t[:EXCERPT_CHARS] for t in texts))
        vectors = np.asarray(embedder.embed(unique))
        self._vectors = dict(zip(unique, vectors, strict=True))
        self.max_tokens = getattr(embedder, "max_tokens", None)

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        return np.stack([self._vectors[t[:EXCERPT_CHARS]] for t in texts])


def _folds(labels: Any, folds: int, seed: int) -> Any:
    """Each example's fold, stratified by label: each label's examples shuffled, then dealt."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.zeros(len(labels), dtype=int)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        out[members] = np.arange(len(members)) % folds
    return out


def _held_out_probabilities(
    examples: Sequence[Example],
    policy: Policy,
    embedder: Embedder,
    labels: Any,
    *,
    folds: int,
    repeats: int,
    seed: int,
    fit_options: dict[str, Any],
    heads: Sequence[KnnSettings | None] = (None,),
) -> dict[KnnSettings | None, Any]:
    """For each head, (repeats, examples, tiers): each example's probabilities from the fold
    that held it out (one logistic fit per fold serves every head)."""
    import numpy as np

    tiers = len(policy.tier_names)
    out = {head: np.zeros((repeats, len(examples), tiers)) for head in heads}
    for r in range(repeats):
        fold = _folds(labels, folds, seed + r)
        for k in range(folds):
            held = np.flatnonzero(fold == k)
            kept = np.flatnonzero(fold != k)
            model = fit_embedding_model(
                [examples[i] for i in kept.tolist()],
                policy,
                embedder,
                **fit_options,
            )
            x = embedder.embed([examples[i].prompt for i in held.tolist()])
            logits = np.hstack([x, np.ones((len(held), 1))]) @ np.asarray(model.weights)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            if any(head is not None for head in heads):
                neighbours = embedder.embed([examples[i].prompt for i in kept.tolist()])
                similarities = (
                    np.asarray(x, dtype=np.float32) @ np.asarray(neighbours, dtype=np.float32).T
                )
                counts = np.bincount(labels[kept], minlength=tiers)
            for head in heads:
                if head is None:
                    out[head][r, held] = p
                    continue
                votes = knn_probabilities(np, similarities, labels[kept], counts, head)
                out[head][r, held] = blend(p, votes, head.weight)
    return out


def _figures(
    held_out: Any,
    stands: Any,
    *,
    rule_tier: Any,
    labels: Any,
    price: Any,
    rank: Any,
    risks: Sequence[float],
) -> Any:
    """(risks, repeats, 4): for each ``max_under_risk`` and repeat, the set's routed cost, its
    under- and over-routing and accuracy; each example routed by the rules where they
    ``stand``, else by its ``held_out`` probabilities (repeats, examples, tiers) as
    :func:`routed_tiers` does."""
    import numpy as np

    above = np.cumsum(held_out[..., ::-1], axis=-1)[..., ::-1]  # tiers i and dearer
    routed = np.full((len(risks), *held_out.shape[:2]), held_out.shape[-1] - 1)
    for tier in range(held_out.shape[-1] - 2, -1, -1):  # the cheapest tier within the risk wins
        within = above[None, :, :, tier + 1] <= np.asarray(risks)[:, None, None] + 1e-12
        routed = np.where(within, tier, routed)
    routed = np.where(stands, rule_tier, routed)  # (risks, repeats, examples)
    rows = np.arange(len(labels))
    return np.stack(
        [
            price[rows, routed].sum(-1),
            (rank[routed] < rank[labels]).mean(-1),
            (rank[routed] > rank[labels]).mean(-1),
            (routed == labels).mean(-1),
        ],
        axis=-1,
    )  # (risks, repeats, 4)


def choose_operating_point(
    examples: Sequence[Example],
    policy: Policy,
    embedder: Embedder | None = None,
    *,
    max_under_routing: float = 0.04,
    folds: int = 5,
    repeats: int = 20,
    seed: int = 0,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    below_confidences: Sequence[float] | None = None,
    risks: Sequence[float] = DEFAULT_RISKS,
    catalog: Catalog | None = None,
    heads: Sequence[KnnSettings | None] = (None,),
    **fit_options: Any,
) -> Selection:
    """Cross-validate the router on ``examples`` and choose ``below_confidence``,
    ``max_under_risk`` and, of ``heads``, the classifier's head (see the module's docstring; a
    tie goes to the earlier head). ``below_confidences`` defaults to the
    confidences the policy's rules and default have, and 1.0: each cuts the rules in a different
    place (a rule at least that sure stands). Prices as ``route eval`` does (each prompt's input
    tokens and ``output_tokens``, on each tier's first model). Raises ``ValueError`` when no
    candidate is within the bound, or a fold would be empty."""
    import numpy as np

    tiers = list(policy.tier_names)
    labels = np.array([tiers.index(e.tier) for e in examples])
    smallest = int(np.bincount(labels, minlength=len(tiers)).min())
    if folds < 2 or smallest < folds:
        raise ValueError(
            f"{folds} folds need at least {folds} examples of every tier (the fewest: {smallest})"
        )
    if embedder is None:
        from claude_arch.core.routing.classifiers.minilm import DEFAULT_MAX_TOKENS, MiniLMEmbedder

        embedder = MiniLMEmbedder(max_tokens=DEFAULT_MAX_TOKENS)
    memo = _Memo(embedder, (e.prompt for e in examples))
    held_out = _held_out_probabilities(
        examples,
        policy,
        memo,
        labels,
        folds=folds,
        repeats=repeats,
        seed=seed,
        fit_options=fit_options,
        heads=heads,
    )
    rules = RulesClassifier(policy)
    verdicts = [
        rules.classify(Features.of({"messages": [{"role": "user", "content": e.prompt}]}))
        for e in examples
    ]
    rule_tier = np.array([tiers.index(v.tier) for v in verdicts])
    rule_confidence = np.array([v.confidence for v in verdicts])
    costs = tier_costs(examples, policy, output_tokens, catalog)
    price = np.array([[float(c[t]) for t in tiers] for c in costs])
    rank = np.array([tier_ranks(policy, catalog)[t] for t in tiers])
    baseline = float(price[:, tiers.index(baseline_tier(policy, catalog))].sum())
    if below_confidences is None:
        below_confidences = sorted(
            {r.confidence for r in policy.rules} | {policy.default_confidence, 1.0}
        )
    grid = []
    for head in heads:
        for below in below_confidences:
            stands = rule_confidence >= below
            figures = _figures(
                held_out[head],
                stands,
                rule_tier=rule_tier,
                labels=labels,
                price=price,
                rank=rank,
                risks=risks,
            )
            figures[..., 0] = 1 - figures[..., 0] / baseline
            for risk, (saving, under, over, accuracy) in zip(
                risks, figures.mean(axis=1).tolist(), strict=True
            ):
                grid.append(
                    OperatingPoint(float(below), float(risk), saving, under, over, accuracy, head)
                )
    within = [g for g in grid if g.under_routing <= max_under_routing + 1e-12]
    if not within:
        raise ValueError(f"no operating point keeps under-routing within {max_under_routing:.1%}")
    chosen = max(within, key=lambda g: (round(g.saving, 9), -g.under_routing))  # tie: less under
    return Selection(chosen, max_under_routing, folds, repeats, len(examples), tuple(grid))
