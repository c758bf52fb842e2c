"""The ``embedding`` classifier: logistic regression over MiniLM sentence embeddings.

It picks the cheapest tier whose risk of under-routing (the probability that the prompt needs a
dearer tier) is at most ``max_under_risk``, so the knob trades cost for quality directly
(``claude-arch route fit --max-under-routing`` chooses it by cross-validation:
:mod:`claude_arch.core.routing.evaluation.operating_point`).

    model = fit_embedding_model(load_examples("train.jsonl"), policy)   # claude-arch route fit
    model.save("router-model.json")
    classifier = EmbeddingClassifier(EmbeddingModel.load("router-model.json"))
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from claude_arch.core.routing.classifiers.minilm import (
    DEFAULT_MAX_TOKENS,  # no numpy until an embedder
)
from claude_arch.core.routing.decision import Verdict
from claude_arch.core.routing.errors import PolicyError
from claude_arch.core.routing.evaluation.dataset import Example
from claude_arch.core.routing.features import Features
from claude_arch.core.routing.policy import Policy

__all__ = [
    "EXCERPT_CHARS",
    "Embedder",
    "EmbeddingClassifier",
    "EmbeddingModel",
    "fit_embedding_model",
]

EXCERPT_CHARS = 2_000
"""What of a prompt is tokenized: its head, more than the tokens embedded (64 by default)."""
_UNRECORDED_MAX_TOKENS = 256
"""What a model file fitted before ``max_tokens`` was recorded was fitted with."""


class Embedder(Protocol):
    """Turns texts into unit vectors (``MiniLMEmbedder``, or a stand-in in tests)."""

    def embed(self, texts: list[str]) -> Any: ...


@dataclass(slots=True)
class EmbeddingModel:
    """Fitted weights: ``tiers`` cheapest first, ``weights`` (dim+1 rows by tiers: bias last);
    ``max_tokens``: how many tokens of each prompt the embeddings were made of (the classifier
    embeds as many); ``selection``: how ``max_under_risk`` was chosen, when it was chosen by
    cross-validation (``route fit --max-under-routing``: the bound, the folds, the rules'
    ``below_confidence`` it was chosen with, and the cross-validated saving and under-routing),
    kept as a record."""

    tiers: list[str]
    weights: list[list[float]]
    max_under_risk: float = 0.2
    max_tokens: int = DEFAULT_MAX_TOKENS
    selection: dict[str, Any] | None = None

    def save(self, path: str | Path) -> None:
        body: dict[str, Any] = {
            "tiers": self.tiers,
            "max_under_risk": self.max_under_risk,
            "max_tokens": self.max_tokens,
        }
        if self.selection is not None:
            body["selection"] = self.selection
        body["weights"] = self.weights  # last: the rest stays readable at the head of the file
        Path(path).write_text(json.dumps(body), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingModel:
        try:
            body = json.loads(Path(path).read_text(encoding="utf-8"))
            max_tokens = body.get("max_tokens", _UNRECORDED_MAX_TOKENS)
            if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 2:
                raise ValueError(f"max_tokens: expected a whole number >= 2, got {max_tokens!r}")
            selection = body.get("selection")
            if selection is not None and not isinstance(selection, dict):
                raise ValueError(f"selection: expected an object, got {selection!r}")
            return cls(
                list(body["tiers"]),
                body["weights"],
                float(body["max_under_risk"]),
                max_tokens,
                selection,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PolicyError(str(path), None, f"not a fitted router model: {exc}") from exc


def _features(np: Any, vectors: Any) -> Any:
    return np.hstack([vectors, np.ones((vectors.shape[0], 1), dtype=vectors.dtype)])


def fit_embedding_model(
    examples: Sequence[Example],
    policy: Policy,
    embedder: Embedder | None = None,
    *,
    max_under_risk: float = 0.2,
    l2: float = 1e-3,
    steps: int = 600,
    learning_rate: float = 2.0,
    max_tokens: int | None = None,
) -> EmbeddingModel:
    """Fit multinomial logistic regression (full-batch gradient descent) on labelled prompts,
    embedded from their first ``max_tokens`` tokens (default: the embedder's, else 64)."""
    import numpy as np

    if embedder is None:
        from claude_arch.core.routing.classifiers.minilm import MiniLMEmbedder

        embedder = MiniLMEmbedder(max_tokens=max_tokens or DEFAULT_MAX_TOKENS)
    max_tokens = int(getattr(embedder, "max_tokens", None) or max_tokens or DEFAULT_MAX_TOKENS)
    tiers = list(policy.tier_names)
    x = _features(np, embedder.embed([e.prompt[:EXCERPT_CHARS] for e in examples]))
    y = np.zeros((len(examples), len(tiers)))
    for i, e in enumerate(examples):
        y[i, tiers.index(e.tier)] = 1.0
    w = np.zeros((x.shape[1], len(tiers)))
    balance = y.sum(0) / len(examples)  # weight classes evenly: rare deep prompts count as much
    sample_w = (y / np.maximum(balance, 1e-9)).sum(1, keepdims=True) / len(tiers)
    for _ in range(steps):
        logits = x @ w
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = x.T @ ((p - y) * sample_w) / len(examples) + l2 * w
        w -= learning_rate * grad
    return EmbeddingModel(tiers, w.tolist(), max_under_risk, max_tokens)


class EmbeddingClassifier:
    """Route with a fitted :class:`EmbeddingModel`; local, about 20 ms of one core per prompt
    (64 tokens), made in a worker thread by :meth:`aclassify`, so an event loop goes on."""

    name = "embedding"

    def __init__(self, model: EmbeddingModel, embedder: Embedder | None = None) -> None:
        import numpy as np

        if embedder is None:
            from claude_arch.core.routing.classifiers.minilm import MiniLMEmbedder

            embedder = MiniLMEmbedder(max_tokens=model.max_tokens)
        self._np: Any = np
        self.model = model
        self.embedder = embedder
        self._w = np.asarray(model.weights, dtype=np.float32)

    def probabilities(self, text: str) -> dict[str, float]:
        np = self._np
        x = _features(np, self.embedder.embed([text[:EXCERPT_CHARS]]))
        logits = (x @ self._w)[0]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return {t: float(v) for t, v in zip(self.model.tiers, p, strict=True)}

    def classify(self, features: Features) -> Verdict:
        p = self.probabilities(features.text)
        tiers = self.model.tiers
        for i, tier in enumerate(tiers):
            dearer = sum(p[t] for t in tiers[i + 1 :])
            if dearer <= self.model.max_under_risk:
                return Verdict(tier, p[tier], f"embedding: P(needs more than {tier})={dearer:.2f}")
        return Verdict(tiers[-1], p[tiers[-1]], "embedding: dearest tier")

    async def aclassify(self, features: Features) -> Verdict:
        """:meth:`classify` in the default executor's thread: the forward pass holds a core for
        tens of milliseconds (numpy lets go of the GIL in its matrix products), which an event
        loop would otherwise spend blocked; each thread has its own work arrays."""
        return await asyncio.to_thread(self.classify, features)
