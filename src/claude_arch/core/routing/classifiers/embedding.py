"""The ``embedding`` classifier: logistic regression over MiniLM sentence embeddings, optionally
blended with a class-balanced k-nearest-neighbours head over the training prompts' embeddings.

It picks the cheapest tier whose risk of under-routing (the probability that the prompt needs a
dearer tier) is at most ``max_under_risk``, so the knob trades cost for quality directly
(``claude-arch route fit --max-under-routing`` chooses it by cross-validation:
:mod:`claude_arch.core.routing.evaluation.operating_point`).

    model = fit_embedding_model(load_examples("train.jsonl"), policy)   # claude-arch route fit
    model = fit_embedding_model(examples, policy, knn=KnnSettings(0.2, 10, 0.02))  # with the head
    model.save("router-model.json")
    classifier = EmbeddingClassifier(EmbeddingModel.load("router-model.json"))
"""

from __future__ import annotations

import asyncio
import base64
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
    "KNN_GRID",
    "Embedder",
    "EmbeddingClassifier",
    "EmbeddingModel",
    "KnnSettings",
    "NeighbourHead",
    "blend",
    "fit_embedding_model",
    "knn_probabilities",
]

EXCERPT_CHARS = 2_000
"""What of a prompt is tokenized: its head, more than the tokens embedded (64 by default)."""
_UNRECORDED_MAX_TOKENS = 256
"""What a model file fitted before ``max_tokens`` was recorded was fitted with."""


@dataclass(frozen=True, slots=True)
class KnnSettings:
    """The k-nearest-neighbours head: the ``k`` training prompts most cosine-similar to the
    prompt vote for their tiers, each with ``exp((similarity - best similarity) / temperature)``;
    each tier's votes are divided by its count among the training prompts (rare tiers count as
    much as common ones), normalised, and blended into the logistic model's probabilities with
    ``weight`` (0: the logistic model alone)."""

    weight: float
    k: int
    temperature: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"knn weight: expected 0 to 1, got {self.weight!r}")
        if self.k < 1:
            raise ValueError(f"knn k: expected a whole number >= 1, got {self.k!r}")
        if not self.temperature > 0.0:
            raise ValueError(f"knn temperature: expected > 0, got {self.temperature!r}")

    def to_dict(self) -> dict[str, float | int]:
        return {"weight": self.weight, "k": self.k, "temperature": self.temperature}


KNN_GRID: tuple[KnnSettings | None, ...] = (
    None,
    *(
        KnnSettings(weight, k, temperature)
        for weight in (0.1, 0.2, 0.3)
        for k in (5, 10, 20)
        for temperature in (0.01, 0.02, 0.05)
    ),
)
"""What ``route fit --max-under-routing`` chooses the head from, by cross-validation on the
training file (None: the logistic model alone, which wins ties)."""


@dataclass(frozen=True, slots=True)
class NeighbourHead:
    """A fitted kNN head: its settings, each training prompt's tier (an index into the model's
    ``tiers``) and their embeddings, ``float16`` little-endian, one row per prompt."""

    settings: KnnSettings
    tiers: tuple[int, ...]
    vectors: bytes

    def matrix(self, np: Any) -> Any:
        """The embeddings as a float32 (prompts, dim) array."""
        rows = np.frombuffer(self.vectors, dtype="<f2")
        return rows.reshape(len(self.tiers), -1).astype(np.float32)


def knn_probabilities(
    np: Any, similarities: Any, labels: Any, counts: Any, settings: KnnSettings
) -> Any:
    """(queries, tiers) probabilities of the kNN head from each query's cosine similarities to
    the training prompts (queries by prompts), their tiers (``labels``) and each tier's count of
    training prompts (``counts``); nearest first, ties by the prompts' order."""
    k = min(settings.k, similarities.shape[1])
    order = np.argsort(-similarities, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(similarities, order, axis=1)
    weights = np.exp((top - top[:, :1]) / settings.temperature)
    votes = (weights[:, :, None] * np.eye(len(counts))[labels[order]]).sum(axis=1)
    votes /= np.maximum(counts, 1)
    return votes / votes.sum(axis=1, keepdims=True)


def blend(logistic: Any, neighbours: Any, weight: float) -> Any:
    """``(1 - weight)`` of the logistic probabilities and ``weight`` of the kNN head's; with weight
    0 the logistic probabilities themselves."""
    if weight == 0.0:
        return logistic
    return (1.0 - weight) * logistic + weight * neighbours


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
    kept as a record; ``knn``: the k-nearest-neighbours head blended in, when there is one
    (the training embeddings, float16, go at the end of the file)."""

    tiers: list[str]
    weights: list[list[float]]
    max_under_risk: float = 0.2
    max_tokens: int = DEFAULT_MAX_TOKENS
    selection: dict[str, Any] | None = None
    knn: NeighbourHead | None = None

    def save(self, path: str | Path) -> None:
        body: dict[str, Any] = {
            "tiers": self.tiers,
            "max_under_risk": self.max_under_risk,
            "max_tokens": self.max_tokens,
        }
        if self.selection is not None:
            body["selection"] = self.selection
        if self.knn is not None:
            body["knn"] = self.knn.settings.to_dict()
        body["weights"] = self.weights  # late: the rest stays readable at the head of the file
        if self.knn is not None:
            body["neighbour_tiers"] = list(self.knn.tiers)
            body["neighbours_float16"] = base64.b64encode(self.knn.vectors).decode("ascii")
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
            tiers = list(body["tiers"])
            weights = body["weights"]
            knn = _load_head(body, len(tiers), len(weights) - 1) if "knn" in body else None
            return cls(tiers, weights, float(body["max_under_risk"]), max_tokens, selection, knn)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PolicyError(str(path), None, f"not a fitted router model: {exc}") from exc


def _load_head(body: dict[str, Any], tiers: int, dim: int) -> NeighbourHead:
    knn = body["knn"]
    if not isinstance(knn, dict):
        raise ValueError(f"knn: expected an object, got {knn!r}")
    settings = KnnSettings(float(knn["weight"]), int(knn["k"]), float(knn["temperature"]))
    labels = body["neighbour_tiers"]
    if not isinstance(labels, list) or not all(
        isinstance(t, int) and not isinstance(t, bool) and 0 <= t < tiers for t in labels
    ):
        raise ValueError(f"neighbour_tiers: expected tier indices below {tiers}")
    vectors = base64.b64decode(body["neighbours_float16"], validate=True)
    if not labels or len(vectors) != len(labels) * dim * 2:
        raise ValueError(
            f"neighbours_float16: expected {len(labels)} rows of {dim} float16, "
            f"got {len(vectors)} bytes"
        )
    return NeighbourHead(settings, tuple(labels), vectors)


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
    knn: KnnSettings | None = None,
) -> EmbeddingModel:
    """Fit multinomial logistic regression (full-batch gradient descent) on labelled prompts,
    embedded from their first ``max_tokens`` tokens (default: the embedder's, else 64); with
    ``knn`` of a weight above 0, keep their embeddings (float16) and tiers for the kNN head."""
    import numpy as np

    if embedder is None:
        from claude_arch.core.routing.classifiers.minilm import MiniLMEmbedder

        embedder = MiniLMEmbedder(max_tokens=max_tokens or DEFAULT_MAX_TOKENS)
    max_tokens = int(getattr(embedder, "max_tokens", None) or max_tokens or DEFAULT_MAX_TOKENS)
    tiers = list(policy.tier_names)
    vectors = np.asarray(embedder.embed([e.prompt[:EXCERPT_CHARS] for e in examples]))
    x = _features(np, vectors)
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
    head = None
    if knn is not None and knn.weight > 0.0:
        labels = tuple(tiers.index(e.tier) for e in examples)
        head = NeighbourHead(knn, labels, vectors.astype("<f2").tobytes())
    return EmbeddingModel(tiers, w.tolist(), max_under_risk, max_tokens, knn=head)


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
        head = model.knn
        if head is not None:
            self._neighbours = head.matrix(np)
            self._labels = np.asarray(head.tiers)
            self._counts = np.bincount(self._labels, minlength=len(model.tiers))

    def probabilities(self, text: str) -> dict[str, float]:
        np = self._np
        vector = np.asarray(self.embedder.embed([text[:EXCERPT_CHARS]]))
        logits = _features(np, vector) @ self._w
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        head = self.model.knn
        if head is not None and head.settings.weight > 0.0:
            similarities = vector.astype(np.float32) @ self._neighbours.T
            votes = knn_probabilities(np, similarities, self._labels, self._counts, head.settings)
            p = blend(p, votes, head.settings.weight)
        return {t: float(v) for t, v in zip(self.model.tiers, p[0], strict=True)}

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
