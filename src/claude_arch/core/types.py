"""Result types of the Messages API, as plain typed objects (no SDK needed).

Content blocks stay wire-shaped dicts so that anything the API adds passes through untouched;
:class:`Message` adds the accessors people reach for (``.text``, ``.tool_uses``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

__all__ = ["USE_DEFAULT", "Message", "Usage", "UsageRecord", "UseDefault"]


class UseDefault(enum.Enum):
    """The type of :data:`USE_DEFAULT` (one member, so type checkers narrow on ``is``)."""

    USE_DEFAULT = "use the default"

    def __repr__(self) -> str:
        return "USE_DEFAULT"


USE_DEFAULT: Final = UseDefault.USE_DEFAULT
"""An argument left to its default: a client's ``limiter``, ``timeout`` and ``max_retries`` come
from its settings, a call's ``timeout`` from its client. ``None`` always means off:

    ClaudeClient(timeout=None, limiter=None)   # no per-attempt timeout, no rate limiter
    await claude.create(..., timeout=USE_DEFAULT)   # the client's timeout (the default)
"""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(slots=True)
class Usage:
    """Token usage of one message, as the API reports it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0
    service_tier: str | None = None
    inference_geo: str | None = None
    """Where the API ran the call (``"us"``, ``"global"``), when it says: a US-only call bills
    1.1x (``[endpoints.anthropic]`` in the catalog), whether the request or the workspace's
    default asked for it."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage:
        data = data or {}
        cc = data.get("cache_creation") or {}
        return cls(
            input_tokens=int(data.get("input_tokens") or 0),
            output_tokens=int(data.get("output_tokens") or 0),
            cache_creation_input_tokens=int(data.get("cache_creation_input_tokens") or 0),
            cache_read_input_tokens=int(data.get("cache_read_input_tokens") or 0),
            cache_creation_5m=int(cc.get("ephemeral_5m_input_tokens") or 0),
            cache_creation_1h=int(cc.get("ephemeral_1h_input_tokens") or 0),
            service_tier=data.get("service_tier"),
            inference_geo=_text(data.get("inference_geo")),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_5m,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
            "output_tokens": self.output_tokens,
            "service_tier": self.service_tier,
        }
        if self.inference_geo is not None:  # the API's field only where it reports one
            out["inference_geo"] = self.inference_geo
        return out

    @property
    def cache_creation(self) -> dict[str, int]:
        return {
            "ephemeral_5m_input_tokens": self.cache_creation_5m,
            "ephemeral_1h_input_tokens": self.cache_creation_1h,
        }


@dataclass(slots=True)
class Message:
    """A complete assistant message (from JSON, or accumulated from a stream)."""

    id: str
    model: str
    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Usage = field(default_factory=Usage)
    role: str = "assistant"
    record: UsageRecord | None = None
    """What the call cost and how it went; set by ``ClaudeClient``."""
    wire: bytes | None = field(default=None, repr=False, compare=False)
    """The JSON body exactly as the server sent it (non-streamed calls): a proxy forwards it
    unchanged, fields this library does not know included."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            id=str(data.get("id", "")),
            model=str(data.get("model", "")),
            content=list(data.get("content") or []),
            stop_reason=data.get("stop_reason"),
            stop_sequence=data.get("stop_sequence"),
            usage=Usage.from_dict(data.get("usage")),
            role=str(data.get("role", "assistant")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "role": self.role,
            "model": self.model,
            "content": self.content,
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "usage": self.usage.to_dict(),
        }

    @property
    def text(self) -> str:
        """All text blocks joined."""
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [b for b in self.content if b.get("type") == "tool_use"]

    def to_sdk(self) -> Any:
        """This message as the official SDK's ``anthropic.types.Message`` (needs ``anthropic``)."""
        try:
            from anthropic.types import Message as SDKMessage
        except ImportError as exc:  # pragma: no cover - depends on the environment
            from claude_arch.errors import ConfigError

            raise ConfigError(
                "to_sdk() needs the official SDK: pip install 'claude-arch[sdk]'"
            ) from exc
        return SDKMessage.model_validate(self.to_dict())


@dataclass(slots=True)
class UsageRecord:
    """One call as metering sees it: the model, tokens, cost, timing and how many attempts it took.

    Every ``ClaudeClient`` call produces one (successful or not) and hands it to the meters.
    """

    model: str
    operation: str = "create"  # create | stream | count_tokens | batch
    usage: Usage = field(default_factory=Usage)
    cost_usd: Decimal = Decimal(0)
    latency_s: float = 0.0
    ttft_s: float | None = None
    attempts: int = 1
    request_id: str | None = None
    error_type: str | None = None  # None on success, else the Anthropic error type
    status: int = 200
    fallback_from: str | None = None  # the model first asked for, when a fallback answered
    max_tokens: int | None = None
    response_id: str | None = None
    stop_reason: str | None = None
    route: dict[str, Any] | None = None
    """For ``model: "auto"`` with a router: the routing decision (tier, model, reason, …)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "operation": self.operation,
            "usage": self.usage.to_dict(),
            "cost_usd": str(self.cost_usd),
            "latency_s": self.latency_s,
            "ttft_s": self.ttft_s,
            "attempts": self.attempts,
            "request_id": self.request_id,
            "error_type": self.error_type,
            "status": self.status,
            "fallback_from": self.fallback_from,
            "max_tokens": self.max_tokens,
            "response_id": self.response_id,
            "stop_reason": self.stop_reason,
            "route": self.route,
        }
