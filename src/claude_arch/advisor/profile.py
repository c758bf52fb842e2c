"""A workload profile: how much traffic, how many tokens, how fast, how patient, how rich.

    >>> p = profile_from_mapping({
    ...     "traffic": {"mean_rpm": 30, "peak_rpm": 90},
    ...     "tokens": {"input": {"p50": 800, "p95": 2000}, "output": {"p50": 200}},
    ...     "delay_tolerance": "5m", "rate_limit_tier": "tier2", "models": ["claude-haiku-5-5"],
    ... })
    >>> p.delay_tolerance, p.tokens.output.high, round(p.tokens.input.mean)
    (300.0, 200, 934)
    >>> profile_from_mapping({"traffic": {"mean_rpm": -1}})
    Traceback (most recent call last):
    ...
    claude_arch.advisor.errors.ProfileError: traffic.mean_rpm: Input should be greater than 0

Field checks need nothing else; :func:`check_profile` then holds the profile against the catalog
and the latency model (a model that exists, an output it can write, a latency it can reach).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from claude_arch.advisor.errors import ProfileError

__all__ = [
    "Latency",
    "TokenSpread",
    "Tokens",
    "Traffic",
    "Users",
    "WorkloadProfile",
    "parse_duration",
    "profile_from_mapping",
]

_Z95 = 1.6448536269514722  # the standard normal's 95th percentile
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"``.

    >>> parse_duration("2h"), parse_duration(90)
    (7200.0, 90.0)
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m, 2h or 1d")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"expected a duration such as 30s, 5m, 2h or 1d, not {value!r}")
    return float(match[1]) * _UNIT_S[match[2]]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Traffic(_Part):
    """Requests per minute on average and at the peak, how long a peak lasts, and how many
    model calls one request makes (a multi-step workflow makes several, one after another)."""

    mean_rpm: Annotated[float, Field(gt=0)]
    peak_rpm: Annotated[float, Field(gt=0)] | None = None
    burst_minutes: Annotated[float, Field(gt=0)] = 5.0
    steps_per_request: Annotated[int, Field(ge=1, le=100)] = 1

    @field_validator("peak_rpm")
    @classmethod
    def _peak_over_mean(cls, peak: float | None, info: ValidationInfo) -> float | None:
        mean = info.data.get("mean_rpm")
        if peak is not None and mean is not None and peak < mean:
            raise ValueError(f"must be at least traffic.mean_rpm ({mean:g})")
        return peak

    @property
    def peak(self) -> float:
        """The peak rate (the mean when no peak is given)."""
        return self.mean_rpm if self.peak_rpm is None else self.peak_rpm


class TokenSpread(_Part):
    """Tokens per call: median and 95th percentile (the median when not given)."""

    p50: Annotated[int, Field(gt=0)]
    p95: Annotated[int, Field(gt=0)] | None = None

    @field_validator("p95")
    @classmethod
    def _p95_over_p50(cls, p95: int | None, info: ValidationInfo) -> int | None:
        p50 = info.data.get("p50")
        if p95 is not None and p50 is not None and p95 < p50:
            raise ValueError(f"must be at least p50 ({p50})")
        return p95

    @property
    def high(self) -> int:
        """The 95th percentile."""
        return self.p50 if self.p95 is None else self.p95

    @property
    def mean(self) -> float:
        """The mean of a log-normal spread with this median and 95th percentile."""
        sigma = math.log(self.high / self.p50) / _Z95
        return self.p50 * math.exp(sigma * sigma / 2)


class Tokens(_Part):
    """Input and output tokens per call, and the share of the input that is a repeated prefix
    (a system prompt, documents, tools: what prompt caching can serve)."""

    input: TokenSpread
    output: TokenSpread
    cached_prefix_share: Annotated[float, Field(ge=0, le=1)] = 0.0


class Latency(_Part):
    """Whether a user waits and watches (interactive), and targets at the 95th percentile:
    time to the first token (ms) and to the whole answer (s)."""

    interactive: bool = False
    ttft_ms: Annotated[float, Field(gt=0)] | None = None
    total_s: Annotated[float, Field(gt=0)] | None = None


class Users(_Part):
    """Where the users are; the first region is where a central deployment runs."""

    regions: Annotated[list[str], Field(min_length=1)] = Field(default_factory=lambda: ["home"])


class WorkloadProfile(_Part):
    """Everything the advisor needs to know about one application's traffic."""

    name: str = "workload"
    description: str = ""
    traffic: Traffic
    tokens: Tokens
    latency: Latency = Field(default_factory=Latency)
    delay_tolerance: Annotated[float, Field(ge=0), BeforeValidator(parse_duration)] = 0.0
    """How long a result may take, in seconds (``"30s"``, ``"2h"``, ``"1d"`` in a file)."""
    budget_usd_per_month: Annotated[Decimal, Field(gt=0)] | None = None
    rate_limit_tier: str = "tier1"
    users: Users = Field(default_factory=Users)
    teams_sharing_org: Annotated[int, Field(ge=1)] = 1
    """Apps or teams spending the same organisation's limits (each gets an equal share)."""
    models: Annotated[list[str], Field(min_length=1)]
    """Preferred models, the first one the one every variant is priced and timed on."""
    request_mix: Literal["uniform", "mixed"] = "uniform"
    """``mixed``: easy and hard requests together, what routing saves on."""

    @property
    def model(self) -> str:
        """The primary model."""
        return self.models[0]


def _field_of(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def profile_from_mapping(data: Mapping[str, Any] | Any) -> WorkloadProfile:
    """Validate a mapping (parsed YAML, JSON or flags) into a profile; :class:`ProfileError`
    names the first field that is wrong and why."""
    if not isinstance(data, Mapping):
        raise ProfileError("(profile)", "expected a mapping of fields (traffic, tokens, ...)")
    try:
        return WorkloadProfile.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        reason = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            reason = "not a profile field"
        raise ProfileError(_field_of(tuple(first["loc"])) or "(profile)", reason) from None
