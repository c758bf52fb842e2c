"""Typed Messages API stream events and the accumulator that turns them into a :class:`Message`.

>>> acc = MessageAccumulator()
>>> for sse in [
...     ServerSentEvent("message_start", '{"type":"message_start","message":{"id":"msg_1",'
...                     '"model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":5}}}'),
...     ServerSentEvent("content_block_start", '{"type":"content_block_start","index":0,'
...                     '"content_block":{"type":"text","text":""}}'),
...     ServerSentEvent("content_block_delta", '{"type":"content_block_delta","index":0,'
...                     '"delta":{"type":"text_delta","text":"Hi"}}'),
...     ServerSentEvent("content_block_stop", '{"type":"content_block_stop","index":0}'),
...     ServerSentEvent("message_delta", '{"type":"message_delta","delta":{"stop_reason":'
...                     '"end_turn"},"usage":{"output_tokens":1}}'),
...     ServerSentEvent("message_stop", '{"type":"message_stop"}'),
... ]:
...     acc.feed(decode_event(sse))
>>> msg = acc.message()
>>> msg.text, msg.stop_reason, msg.usage.output_tokens, acc.done
('Hi', 'end_turn', 1, True)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from claude_arch.core.types import Message, Usage
from claude_arch.core.wire import fastjson
from claude_arch.core.wire.sse import ServerSentEvent, SSEDecoder
from claude_arch.errors import APIStatusError, ConfigError, error_for_status

__all__ = [
    "ContentBlockDelta",
    "ContentBlockStart",
    "ContentBlockStop",
    "MessageAccumulator",
    "MessageDelta",
    "MessageStart",
    "MessageStop",
    "Ping",
    "StreamEvent",
    "UnknownEvent",
    "decode_event",
    "stream_error",
    "typed_event",
]


class _Event:
    """Shared by the event types: the wire dict and the official SDK's type."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The event as the wire carries it in ``data:``."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]

    def to_sdk(self) -> Any:
        """As ``anthropic.types.RawMessageStreamEvent`` (needs the official SDK); ``None`` for
        ``ping`` and unknown events, which the SDK has no type for and does not yield."""
        try:
            from anthropic.types import RawMessageStreamEvent
            from pydantic import TypeAdapter
        except ImportError as exc:  # pragma: no cover - depends on the environment
            hint = "to_sdk() needs the official SDK: pip install 'claude-arch[sdk]'"
            raise ConfigError(hint) from exc
        return TypeAdapter(RawMessageStreamEvent).validate_python(self.to_dict())


@dataclass(frozen=True, slots=True)
class MessageStart(_Event):
    message: dict[str, Any]
    type: str = "message_start"


@dataclass(frozen=True, slots=True)
class ContentBlockStart(_Event):
    index: int
    content_block: dict[str, Any]
    type: str = "content_block_start"


@dataclass(frozen=True, slots=True)
class ContentBlockDelta(_Event):
    """A fragment of one content block: ``delta["type"]`` is ``text_delta``, ``input_json_delta``,
    ``thinking_delta``, ``signature_delta`` or ``citations_delta``."""

    index: int
    delta: dict[str, Any]
    type: str = "content_block_delta"

    @property
    def text(self) -> str:
        """The text of a ``text_delta`` ("" for other deltas)."""
        return str(self.delta.get("text", "")) if self.delta.get("type") == "text_delta" else ""


@dataclass(frozen=True, slots=True)
class ContentBlockStop(_Event):
    index: int
    type: str = "content_block_stop"


@dataclass(frozen=True, slots=True)
class MessageDelta(_Event):
    delta: dict[str, Any]
    usage: dict[str, Any]
    type: str = "message_delta"


@dataclass(frozen=True, slots=True)
class MessageStop(_Event):
    type: str = "message_stop"


@dataclass(frozen=True, slots=True)
class Ping(_Event):
    type: str = "ping"

    def to_sdk(self) -> Any:
        return None


@dataclass(frozen=True, slots=True)
class UnknownEvent(_Event):
    """An event type this version does not know; passed through untouched."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def to_sdk(self) -> Any:
        return None


StreamEvent = (
    MessageStart
    | ContentBlockStart
    | ContentBlockDelta
    | ContentBlockStop
    | MessageDelta
    | MessageStop
    | Ping
    | UnknownEvent
)


def decode_event(sse: ServerSentEvent, *, model: str | None = None) -> StreamEvent:
    """The typed event for one SSE event; an ``error`` event raises its typed APIStatusError."""
    return typed_event(sse.event, sse.data, model=model)


def typed_event(name: str, raw: str | bytes, *, model: str | None = None) -> StreamEvent:
    """The typed event for an SSE event's name and data (its ``data:`` lines joined)."""
    try:
        data = fastjson.loads(raw) if raw else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if name == "content_block_delta":
        return ContentBlockDelta(int(data.get("index", 0)), data.get("delta") or {})
    if name == "ping":
        return Ping()
    if name == "content_block_start":
        return ContentBlockStart(int(data.get("index", 0)), data.get("content_block") or {})
    if name == "content_block_stop":
        return ContentBlockStop(int(data.get("index", 0)))
    if name == "message_start":
        return MessageStart(data.get("message") or {})
    if name == "message_delta":
        return MessageDelta(data.get("delta") or {}, data.get("usage") or {})
    if name == "message_stop":
        return MessageStop()
    if name == "error":
        raise stream_error(data, model=model)
    return UnknownEvent(name, data)


def stream_error(data: dict[str, Any], *, model: str | None = None) -> APIStatusError:
    """The typed error of a mid-stream ``error`` event: status 200 as the SDK reports it, class by
    error type (an ``overloaded_error`` event is an :class:`OverloadedError`)."""
    return error_for_status(200, data, model=model)


class MessageAccumulator:
    """Builds the final message from stream events: text, thinking, citations and tool input.

    ``defer_content=True`` (a proxy that forwards the raw bytes and rarely reads the content):
    the message's id, model, stop reason and usage are kept as events arrive, while content
    events are only stored, in order, and built into the message the first time
    :meth:`message` is called; :attr:`head` reads the rest without building it. Both modes give
    the same message.

        >>> acc = MessageAccumulator(defer_content=True)
        >>> acc.feed(MessageStart({"id": "m", "content": [], "usage": {"input_tokens": 2}}))
        >>> acc.feed(ContentBlockStart(0, {"type": "tool_use", "id": "t", "name": "f",
        ...                                "input": {}}))
        >>> acc.defer(b'event: content_block_delta\\ndata: {"type":"content_block_delta",'
        ...           b'"index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}\\n\\n')
        >>> acc.feed(ContentBlockStop(0))
        >>> acc.head.content
        []
        >>> acc.message().content
        [{'type': 'tool_use', 'id': 't', 'name': 'f', 'input': {}}]
    """

    __slots__ = ("_deferred", "_json", "_message", "_parts", "done")

    def __init__(self, *, defer_content: bool = False) -> None:
        self._message: Message | None = None
        self._json: dict[int, list[str]] = {}
        # Text and thinking fragments, joined when read: adding each delta to the block's string
        # copied the whole text every time (quadratic: seconds of CPU for a 100k-delta answer).
        self._parts: dict[tuple[int, str], list[str]] = {}
        # Content events not built yet, in arrival order: typed events, or the raw bytes of
        # one content_block_delta event each (decoded when built).
        self._deferred: list[StreamEvent | bytes] | None = [] if defer_content else None
        self.done = False

    def feed(self, event: StreamEvent) -> None:
        deferred = self._deferred
        if deferred is not None and isinstance(event, _CONTENT_EVENTS):
            deferred.append(event)
        elif isinstance(event, ContentBlockDelta):
            self._delta(event)
        elif isinstance(event, MessageStart):
            self._message = Message.from_dict(event.message)
        elif isinstance(event, ContentBlockStart):
            content = self._need().content
            block = dict(event.content_block)
            while len(content) <= event.index:
                content.append({})
            content[event.index] = block
            self._parts.pop((event.index, "text"), None)
            self._parts.pop((event.index, "thinking"), None)
        elif isinstance(event, ContentBlockStop):
            self._join()
            parts = self._json.pop(event.index, None)
            if parts is not None:
                joined = "".join(parts)
                self._need().content[event.index]["input"] = json.loads(joined) if joined else {}
        elif isinstance(event, MessageDelta):
            msg = self._need()
            msg.stop_reason = event.delta.get("stop_reason", msg.stop_reason)
            msg.stop_sequence = event.delta.get("stop_sequence", msg.stop_sequence)
            _merge_usage(msg.usage, event.usage)
        elif isinstance(event, MessageStop):
            self.done = True

    def defer(self, *events: bytes) -> None:
        """Store complete ``content_block_*`` SSE events, each as received (its closing blank
        line may be left off), to be decoded only if the content is read (``defer_content``
        mode; otherwise they are decoded now)."""
        if self._deferred is not None:
            self._deferred.extend(events)
            return
        for raw in events:
            self._feed_raw(raw)

    def _feed_raw(self, sse_bytes: bytes) -> None:
        for sse in SSEDecoder().feed(sse_bytes + b"\n\n"):
            self.feed(decode_event(sse))

    def _build(self) -> None:
        """Feed the deferred content events in order; from then on content is built as it
        comes."""
        deferred, self._deferred = self._deferred, None
        if not deferred:
            return
        for item in deferred:
            if isinstance(item, bytes):
                self._feed_raw(item)
            else:
                self.feed(item)

    def _delta(self, event: ContentBlockDelta) -> None:
        block = self._need().content[event.index]
        delta = event.delta
        kind = delta.get("type")
        if kind == "text_delta":
            self._part(event.index, block, "text").append(delta.get("text", ""))
        elif kind == "input_json_delta":
            self._json.setdefault(event.index, []).append(delta.get("partial_json", ""))
        elif kind == "thinking_delta":
            self._part(event.index, block, "thinking").append(delta.get("thinking", ""))
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature", "")
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))

    def _part(self, index: int, block: dict[str, Any], key: str) -> list[str]:
        parts = self._parts.get((index, key))
        if parts is None:
            parts = self._parts[(index, key)] = [block.get(key, "")]
        return parts

    def _join(self) -> None:
        """Write the pending fragments into their blocks."""
        if not self._parts:
            return
        content = self._need().content
        for (index, key), parts in self._parts.items():
            content[index][key] = "".join(parts)
        self._parts.clear()

    def _need(self) -> Message:
        if self._message is None:
            raise ValueError("stream event before message_start")
        return self._message

    @property
    def started(self) -> bool:
        return self._message is not None

    @property
    def head(self) -> Message:
        """The message without building deferred content: id, model, stop reason and usage are
        current; ``content`` is complete only after :meth:`message`. The same object
        :meth:`message` returns."""
        return self._need()

    def message(self) -> Message:
        """The message as accumulated so far (complete once ``done``); builds deferred content.

        ``ValueError``, ``IndexError`` or ``KeyError`` for a malformed event sequence."""
        self._build()
        self._join()
        return self._need()


_CONTENT_EVENTS = (ContentBlockStart, ContentBlockDelta, ContentBlockStop)


def _merge_usage(usage: Usage, update: dict[str, Any]) -> None:
    # message_delta usage fields are cumulative: the latest value wins.
    for name in (
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ):
        value = update.get(name)
        if value is not None:
            setattr(usage, name, int(value))
    geo = update.get("inference_geo")
    if isinstance(geo, str):
        usage.inference_geo = geo
