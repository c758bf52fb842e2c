"""Message Batches on the wire: the batch object, a page of batches, one result line.

>>> m = {"id": "msg_1", "content": [{"type": "text", "text": "ok"}]}
>>> r = BatchResult.from_dict({"custom_id": "a", "result": {"type": "succeeded", "message": m}})
>>> r.custom_id, r.type, r.message.text if r.message else None
('a', 'succeeded', 'ok')
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from claude_arch.core.types import Message

__all__ = ["BatchPage", "BatchResult", "JSONLines", "MessageBatch"]


def _sdk(type_path: str, data: Mapping[str, Any]) -> Any:
    import importlib

    from claude_arch.errors import ConfigError

    module_name, _, name = type_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        hint = "to_sdk() needs the official SDK: pip install 'claude-arch[sdk]'"
        raise ConfigError(hint) from exc
    return cls.model_validate(dict(data))


@dataclass(slots=True)
class MessageBatch:
    """A Message Batch as the API describes it; ``raw`` keeps every field, known or not."""

    id: str
    processing_status: str
    request_counts: dict[str, int]
    results_url: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MessageBatch:
        return cls(
            id=str(data.get("id", "")),
            processing_status=str(data.get("processing_status", "")),
            request_counts=dict(data.get("request_counts") or {}),
            results_url=data.get("results_url"),
            raw=dict(data),
        )

    @property
    def ended(self) -> bool:
        return self.processing_status == "ended"

    def to_sdk(self) -> Any:
        """As ``anthropic.types.messages.MessageBatch`` (needs the official SDK)."""
        return _sdk("anthropic.types.messages.MessageBatch", self.raw)


@dataclass(slots=True)
class BatchPage:
    """One page of ``GET /v1/messages/batches``."""

    data: list[MessageBatch]
    has_more: bool
    first_id: str | None
    last_id: str | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchPage:
        return cls(
            data=[MessageBatch.from_dict(b) for b in data.get("data") or ()],
            has_more=bool(data.get("has_more")),
            first_id=data.get("first_id"),
            last_id=data.get("last_id"),
        )


@dataclass(slots=True)
class BatchResult:
    """One line of a batch's results: ``type`` is succeeded, errored, canceled or expired."""

    custom_id: str
    type: str
    message: Message | None
    error: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchResult:
        result = data.get("result") or {}
        message = result.get("message")
        return cls(
            custom_id=str(data.get("custom_id", "")),
            type=str(result.get("type", "")),
            message=Message.from_dict(message) if isinstance(message, Mapping) else None,
            error=result.get("error"),
            raw=dict(data),
        )

    def to_sdk(self) -> Any:
        """As ``anthropic.types.messages.MessageBatchIndividualResponse``."""
        return _sdk("anthropic.types.messages.MessageBatchIndividualResponse", self.raw)


class JSONLines:
    """Splits a JSONL byte stream, delivered in arbitrary chunks, into parsed objects."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> Iterator[Any]:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)

    def flush(self) -> Iterator[Any]:
        line, self._buffer = self._buffer, b""
        if line.strip():
            yield json.loads(line)
