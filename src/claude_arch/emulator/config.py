"""The emulator's configuration: one pydantic model the CLI, the tests and the embedded mode build.

    >>> cfg = EmulatorConfig(speed=0, rate_limit_tier="none")
    >>> cfg.paced
    False
    >>> EmulatorConfig.model_validate({"faults": [{"kind": "529", "model": "claude-opus-4-6",
    ...                                            "probability": 0.5}]}).faults[0].kind
    '529'

Every field has a plain type so ``claude-arch emulator --speed 100 --tier tier1 --fault 529:0.1``
maps onto it without glue.
"""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from claude_arch.constants import (
    EMULATOR_AWS_ACCESS_KEY,
    EMULATOR_AWS_SECRET_KEY,
    EMULATOR_DEFAULT_PORT,
    EMULATOR_VERTEX_TOKEN,
)

__all__ = [
    "EmulatorConfig",
    "Endpoint",
    "FaultKind",
    "FaultSpec",
    "LatencyProfile",
    "LimitSpec",
    "RuleMatch",
    "RuleReply",
    "RuleSpec",
]

FaultKind = Literal[
    "429",
    "529",
    "500",
    "504",
    "spend_limit",
    "reset",
    "slow_first_byte",
    "mid_stream_error",
    "stream_cut",
    "throttling",
    "service_unavailable",
    "resource_exhausted",
]
"""The last three are the platforms' own: ``throttling`` (Bedrock's ThrottlingException, 429)
and ``service_unavailable`` (its ServiceUnavailableException, 503) hit Bedrock requests only,
``resource_exhausted`` (Vertex's quota 429) Vertex requests only. Every other kind hits every
endpoint, answered in that endpoint's error shape."""

Endpoint = Literal["*", "anthropic", "bedrock", "vertex"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FaultSpec(_Spec):
    """One fault: which requests it hits (model, probability, schedule) and how it behaves.

    ``probability`` draws per matching request from the seeded generator; ``next_n`` hits the
    next N matching requests; ``every`` hits every k-th. Any of the three triggers the fault.
    """

    kind: FaultKind
    model: str = Field(default="*", description="model ID or alias, or '*' for every model")
    endpoint: Endpoint = "*"
    """Which API it hits: the Anthropic API, Bedrock's, Vertex's, or '*' for all."""
    probability: Annotated[float, Field(ge=0, le=1)] = 0.0
    next_n: Annotated[int, Field(ge=0)] = 0
    every: Annotated[int, Field(ge=0)] = 0
    seconds: Annotated[float, Field(ge=0)] = 1.0
    """slow_first_byte: the delay; 429/529: the retry-after sent."""
    after_deltas: Annotated[int, Field(ge=0)] = 2
    """mid_stream_error / stream_cut: content deltas sent before the failure."""


class LimitSpec(_Spec):
    rpm: Annotated[int, Field(gt=0)]
    itpm: Annotated[int, Field(gt=0)]
    otpm: Annotated[int, Field(gt=0)]


class LatencyProfile(_Spec):
    """How fast a model family answers at speed 1: time to first token, output tokens/s, jitter."""

    ttft_s: Annotated[float, Field(ge=0)]
    tokens_per_s: Annotated[float, Field(gt=0)]
    jitter: Annotated[float, Field(ge=0, le=1)] = 0.2


class RuleMatch(_Spec):
    """Regexes (``re.search``) on the request; an absent field matches anything."""

    model: str | None = None
    system: str | None = None
    user: str | None = None

    @field_validator("model", "system", "user")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return pattern


class RuleError(_Spec):
    status: Annotated[int, Field(ge=400, le=599)] = 500
    type: str = "api_error"
    message: str = "Scripted error"
    retry_after_s: Annotated[float, Field(ge=0)] = 1.0
    """Sent as ``retry-after`` on a scripted 429 or 529, as the API does."""


class RuleToolUse(_Spec):
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class RuleReply(_Spec):
    text: str | None = None
    tool_use: RuleToolUse | list[RuleToolUse] | None = None
    """One tool call, or several in parallel (only the first when the request sets
    ``tool_choice.disable_parallel_tool_use``)."""
    error: RuleError | None = None
    delay_s: Annotated[float, Field(ge=0)] = 0.0
    stop_reason: Literal["end_turn", "refusal", "pause_turn", "max_tokens"] | None = None
    """Force a stop reason (e.g. to test how a client handles ``refusal``)."""


class RuleSpec(_Spec):
    """A scripted reply: the first rule whose ``match`` fits the request answers it."""

    match: RuleMatch = Field(default_factory=RuleMatch)
    reply: RuleReply


DEFAULT_LATENCY: dict[str, LatencyProfile] = {
    "haiku": LatencyProfile(ttft_s=0.35, tokens_per_s=160),
    "sonnet": LatencyProfile(ttft_s=0.7, tokens_per_s=75),
    "opus": LatencyProfile(ttft_s=1.2, tokens_per_s=45),
}


class EmulatorConfig(_Spec):
    """Everything the emulator can be told; defaults suit the embedded, realistic mode."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = EMULATOR_DEFAULT_PORT
    speed: Annotated[float, Field(ge=0)] = 1.0
    """Latency divisor: 1 realistic, 100 for tests; 0 or inf never sleeps."""
    seed: int = 0
    deterministic: bool = True
    """Same request, same reply. False: replies vary between identical requests."""
    api_keys: list[str] = Field(default_factory=list)
    """Accepted keys; empty accepts any non-empty key."""
    rate_limit_tier: str = "tier4"
    """A tier preset of the catalog, or 'none' to disable limits."""
    limits: dict[str, LimitSpec] = Field(default_factory=dict)
    """Per-family limits that override the tier preset."""
    faults: list[FaultSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)
    rules_file: Path | None = None
    """TOML or JSON file with ``[[rules]]`` / ``{"rules": [...]}``, loaded at start."""
    latency: dict[str, LatencyProfile] = Field(default_factory=lambda: dict(DEFAULT_LATENCY))
    reply_tokens: tuple[int, int] | None = None
    """Override the per-family reply length range (output tokens before max_tokens)."""
    ping_interval_s: Annotated[float, Field(gt=0)] = 10.0
    """A paced stream that waits longer than this sends ``ping`` events meanwhile."""
    cache_min_tokens: Annotated[int, Field(ge=0)] = 1024
    """Prompts shorter than this at a breakpoint are not cached (the real minimum is 1024+)."""
    batch_seconds_per_request: Annotated[float, Field(ge=0)] = 0.01
    batch_expiry_s: Annotated[float, Field(gt=0)] = 24 * 3600.0
    max_batches: Annotated[int, Field(gt=0)] = 10_000
    """Batches kept in memory; past it the oldest ended ones (and their results) are forgotten."""
    max_request_bytes: int = 32 * 1024 * 1024
    max_batch_bytes: int = 256 * 1024 * 1024
    lenient: bool = False
    """Accept top-level request fields outside the API's known list
    (:mod:`claude_arch.core.validation.fields`), for clients newer than it; by default they are a
    400 ``"<field>: Extra inputs are not permitted"``, as on the API."""
    aws_credentials: dict[str, str] = Field(
        default_factory=lambda: {EMULATOR_AWS_ACCESS_KEY: EMULATOR_AWS_SECRET_KEY}
    )
    """Bedrock: access key ID → secret key; a request's SigV4 signature must match one."""
    bedrock_api_keys: list[str] = Field(default_factory=list)
    """Bedrock API keys (``Authorization: Bearer``, the SDK's ``AWS_BEARER_TOKEN_BEDROCK``)."""
    vertex_tokens: list[str] = Field(default_factory=lambda: [EMULATOR_VERTEX_TOKEN])
    """Vertex: accepted bearer tokens (a missing or other token gets a 401)."""
    vertex_projects: list[str] = Field(default_factory=list)
    """Vertex projects the tokens may call (a 403 for any other); empty allows any."""
    today: date | None = None
    """The day the Anthropic routes take as today when they ask whether a model is retired
    (``ModelInfo.retires``): a model past its day answers 404 ``not_found_error`` and is not
    listed. None: the real date (UTC). Tests set it so that no retirement day breaks them."""
    serve_retired: bool = False
    """Keep serving (and listing) models past their retirement day, for an app that still needs
    one to answer; the Bedrock and Vertex routes serve them either way."""
    keep_requests: Annotated[int, Field(ge=0, le=100_000)] = 0
    """Keep the last N Messages/count_tokens requests (body and headers, keys removed) for tests
    to inspect: ``EmulatorServer.received()``. 0 keeps none."""

    @property
    def paced(self) -> bool:
        """False when the emulator never sleeps (speed 0 or infinite)."""
        return 0 < self.speed < math.inf
