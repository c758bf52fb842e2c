"""The requests a benchmark sends: token counts drawn from the profile's spreads, as bodies.

    >>> from claude_arch.advisor.profile import profile_from_mapping
    >>> p = profile_from_mapping({"traffic": {"mean_rpm": 30},
    ...     "tokens": {"input": {"p50": 800, "p95": 3000}, "output": {"p50": 150, "p95": 400}},
    ...     "models": ["claude-haiku-5-5"]})
    >>> plan = plan_requests(p, 200, seed=1)
    >>> len(plan.requests), 100 < plan.median("output_tokens") < 220
    (200, True)
    >>> body = plan.body(plan.requests[0])
    >>> body["max_tokens"] == plan.requests[0].output_tokens
    True

Each spread is the log-normal through its p50 and p95 (the one ``TokenSpread.mean`` assumes),
clipped to the model's context window and maximum output. The share of the input that repeats
(``cached_prefix_share``) is one system prompt every request shares, marked for prompt caching
when it is long enough to be cached; the rest is text of its own per request. The emulator is
told to write past any ``max_tokens`` (:attr:`RequestPlan.reply_tokens`), so every answer is
exactly as long as its draw.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from typing import Any, Literal

from claude_arch.advisor.profile import TokenSpread, WorkloadProfile
from claude_arch.advisor.sources import Sources, default_sources

__all__ = ["PlannedRequest", "RequestPlan", "plan_requests", "words"]

_Z95 = 1.6448536269514722
# four-letter words: the token approximation counts each as one token
_VOCAB = (
    "data",
    "time",
    "work",
    "plan",
    "code",
    "line",
    "file",
    "form",
    "text",
    "news",
    "care",
    "deal",
    "cost",
    "rate",
    "rule",
    "case",
    "part",
    "list",
    "step",
    "goal",
    "fact",
    "note",
    "town",
    "road",
    "bird",
    "tree",
    "wind",
    "fire",
    "snow",
    "lake",
    "hill",
    "farm",
    "milk",
    "salt",
)


def words(n: int, rng: random.Random) -> str:
    """``n`` tokens of filler text (``n`` four-letter words).

    >>> words(3, random.Random(0)).count(" ")
    2
    """
    return " ".join(rng.choices(_VOCAB, k=max(n, 0)))


def _draw(spread: TokenSpread, rng: random.Random, ceiling: int) -> int:
    sigma = math.log(spread.high / spread.p50) / _Z95
    value = spread.p50 * math.exp(sigma * rng.gauss(0.0, 1.0))
    return max(1, min(ceiling, round(value)))


@dataclass(frozen=True)
class PlannedRequest:
    """One request's draw: its own input tokens (beside the shared prefix) and output tokens."""

    index: int
    input_tokens: int
    output_tokens: int
    text: str


@dataclass(frozen=True)
class RequestPlan:
    """The requests of a run, the shared prefix, and the model they are sent to."""

    model: str
    requests: tuple[PlannedRequest, ...]
    prefix: str
    prefix_tokens: int
    cache_prefix: bool

    @property
    def reply_tokens(self) -> int:
        """What the emulator must be ready to write: the longest draw."""
        return max((r.output_tokens for r in self.requests), default=1)

    def median(self, what: Literal["input_tokens", "output_tokens"]) -> float:
        return float(statistics.median(getattr(r, what) for r in self.requests))

    def body(self, request: PlannedRequest, *, model: str | None = None) -> dict[str, Any]:
        """The Messages body of ``request`` (``model``: another name, e.g. ``"auto"``)."""
        body: dict[str, Any] = {
            "model": model or self.model,
            "max_tokens": request.output_tokens,
            "messages": [{"role": "user", "content": request.text}],
        }
        if self.prefix:
            block: dict[str, Any] = {"type": "text", "text": self.prefix}
            if self.cache_prefix:
                block["cache_control"] = {"type": "ephemeral"}
            body["system"] = [block]
        return body


def plan_requests(
    profile: WorkloadProfile, n: int, *, seed: int = 0, sources: Sources | None = None
) -> RequestPlan:
    """``n`` requests drawn from ``profile``'s token spreads (the same ``seed``, the same run)."""
    src = sources or default_sources()
    info = src.catalog.resolve(profile.model)
    rng = random.Random(seed)
    tokens = profile.tokens
    prefix_tokens = round(tokens.input.p50 * tokens.cached_prefix_share)
    minimum = src.assumptions.workload.cache_min_tokens.get(info.family, 1024)
    room = max(1, info.context_window - info.max_output - prefix_tokens)
    requests = []
    for index in range(n):
        whole = _draw(tokens.input, rng, info.context_window - info.max_output)
        own = max(1, min(room, whole - prefix_tokens))
        out = _draw(tokens.output, rng, info.max_output)
        requests.append(PlannedRequest(index, own, out, words(own, rng)))
    return RequestPlan(
        model=info.id,
        requests=tuple(requests),
        prefix=words(prefix_tokens, random.Random(seed ^ 0x5EED)),
        prefix_tokens=prefix_tokens,
        cache_prefix=prefix_tokens >= minimum,
    )
