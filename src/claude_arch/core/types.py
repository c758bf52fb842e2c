"""Result types of the Messages API, as plain typed objects (no SDK needed).

Content blocks stay wire-shaped dicts so that anything the API adds passes through untouched;
:class:`Message` adds the accessors people reach for (``.text``, ``.tool_uses``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Message", "Usage"]


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
        )

    def to_dict(self) -> dict[str, Any]:
        return {
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
