"""The sans-IO state of one streamed response: bytes in, typed events out, the message so far.

Both stream classes (async and sync) feed it chunks. Events before the first content
(``message_start``, ``content_block_start``, ``ping``) are *held* until content arrives, so that
a failure before any content can be retried without the caller ever seeing the failed attempt.

    >>> state = StreamState(started=0.0)
    >>> state.feed(b'event: message_start\\ndata: {"type":"message_start","message":{"id":"m",'
    ...            b'"model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":3}}}\\n\\n')
    []
    >>> state.held, state.has_content
    (1, False)
"""

from __future__ import annotations

import dataclasses
import time

from claude_arch.core.types import Message, Usage
from claude_arch.core.wire import (
    ContentBlockDelta,
    MessageAccumulator,
    MessageDelta,
    MessageStop,
    SSEDecoder,
    StreamEvent,
    decode_event,
    typed_event,
)
from claude_arch.errors import ClaudeArchError, StreamInterruptedError

__all__ = ["StreamState"]

_CONTENT = (ContentBlockDelta, MessageDelta, MessageStop)
_DELTA_EVENT = b"event: content_block_delta\n"
_CONTENT_EVENT = b"event: content_block_"
_CONTENT_LINE = b"\n" + _CONTENT_EVENT
_DELTA_LINE = b"\n" + _DELTA_EVENT


class StreamState:
    """Decodes, accumulates and times one attempt's stream."""

    __slots__ = (
        "_decoder",
        "_held",
        "_keep_content",
        "_model",
        "_pending",
        "_started",
        "accumulator",
        "deltas",
        "has_content",
        "ttft_s",
    )

    def __init__(
        self, *, started: float, model: str | None = None, keep_content: bool = True
    ) -> None:
        self._decoder = SSEDecoder()
        # False: a proxy forwarding the raw bytes needs usage, errors and the end at once, and
        # the content only if it asks: a chunk that is exactly one content delta is stored
        # unparsed, and decoded (in order, with the others) only when the message is read
        self._keep_content = keep_content
        self._held: list[StreamEvent] = []
        self._started = started
        self._model = model
        # An error that arrived in the same chunk as content the caller has not seen yet: that
        # content is delivered first, the error on the next read.
        self._pending: ClaudeArchError | None = None
        self.accumulator = MessageAccumulator(defer_content=not keep_content)
        self.has_content = False
        self.ttft_s: float | None = None
        self.deltas = 0
        """Content deltas received: a floor for the output tokens of a stream cut short."""

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def done(self) -> bool:
        return self.accumulator.done

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Events the caller may see now (held ones are released with the first content).

        An ``error`` event raises its typed error; so does a malformed event sequence. With
        ``keep_content=False``, content events (``content_block_*``) are stored unparsed and
        not returned."""
        self._raise_pending()
        if (
            not self._keep_content
            and chunk.endswith(b"\n\n")
            and self._decoder.idle
            and b"\r" not in chunk
        ):
            # whole events, split at their blank lines: no decoder state to carry
            if self.has_content and chunk.startswith(_DELTA_EVENT) and chunk.count(b"\n\n") == 1:
                self.deltas += 1
                self.accumulator.defer(chunk)
                return []
            return self._whole_events(chunk)
        out: list[StreamEvent] = []
        for sse in self._decoder.feed(chunk):
            if not self._take(sse.event, sse.data, out):
                break
        return out

    def _whole_events(self, chunk: bytes) -> list[StreamEvent]:
        """A chunk of complete events (``\\n`` line ends): content events deferred, the rest
        decoded (the usual ``event:`` + ``data:`` pair without the SSE decoder)."""
        out: list[StreamEvent] = []
        pieces = chunk.split(b"\n\n")
        pieces.pop()  # what follows the last blank line: nothing
        # an event line starts the chunk or follows a newline (JSON data holds none)
        starts = chunk.startswith(_CONTENT_EVENT)
        if chunk.count(_CONTENT_LINE) + starts == len(pieces):  # content only: the commonest
            deltas = chunk.count(_DELTA_LINE) + chunk.startswith(_DELTA_EVENT)
            self.deltas += deltas
            self.accumulator.defer(*pieces)
            if deltas and not self.has_content:
                self._content_starts(out)
            return out
        delivered = False  # content in this chunk (its bytes reach a proxy's caller)
        for piece in pieces:
            if piece.startswith(_CONTENT_EVENT):
                self.accumulator.defer(piece)
                if piece.startswith(_DELTA_EVENT):
                    self.deltas += 1
                    delivered = True
                    if not self.has_content:
                        self._content_starts(out)
                continue
            head, sep, data = piece.partition(b"\ndata: ")
            if sep and head.startswith(b"event: ") and b"\n" not in head and b"\n" not in data:
                if not self._take(head[7:].decode(), data, out, delivered=delivered):
                    return out
                continue
            for sse in self._decoder.feed(piece + b"\n\n"):
                if not self._take(sse.event, sse.data, out, delivered=delivered):
                    return out
        return out

    def _take(
        self, name: str, data: str | bytes, out: list[StreamEvent], *, delivered: bool = False
    ) -> bool:
        """Decode and accumulate one event into ``out``; False when an ``error`` event is held
        back for the next read, so that content before it in the same chunk (in ``out``, or
        ``delivered`` unparsed) reaches the caller first."""
        try:
            event = typed_event(name, data, model=self._model)
        except ClaudeArchError as exc:
            if not out and not delivered:
                raise
            self._pending = exc
            return False
        try:
            self.accumulator.feed(event)
        except (ValueError, IndexError, KeyError) as exc:
            raise StreamInterruptedError(f"malformed stream: {exc}", model=self._model) from exc
        if isinstance(event, ContentBlockDelta):
            self.deltas += 1
        if not self.has_content:
            if not isinstance(event, _CONTENT):
                self._held.append(event)
                return True
            self._content_starts(out)
        out.append(event)
        return True

    def _content_starts(self, out: list[StreamEvent]) -> None:
        """The first content: time to first token, and the held events released."""
        self.has_content = True
        self.ttft_s = time.perf_counter() - self._started
        out.extend(self._held)
        self._held.clear()

    def end(self) -> list[StreamEvent]:
        """The body ended: trailing events, or :class:`StreamInterruptedError` without
        ``message_stop``."""
        self._raise_pending()
        out: list[StreamEvent] = []
        for sse in self._decoder.flush():
            event = decode_event(sse, model=self._model)
            self.accumulator.feed(event)
            out.append(event)
        if not self.done:
            raise StreamInterruptedError("the stream ended before message_stop", model=self._model)
        return out

    def _raise_pending(self) -> None:
        if self._pending is not None:
            exc, self._pending = self._pending, None
            raise exc

    def message(self) -> Message:
        """The message so far, content included (built now if it was deferred);
        :class:`StreamInterruptedError` when the content events do not fit together."""
        try:
            return self.accumulator.message()
        except (ValueError, IndexError, KeyError) as exc:
            raise StreamInterruptedError(f"malformed stream: {exc}", model=self._model) from exc

    def head(self) -> Message:
        """The message's id, model, stop reason and usage, without building deferred content
        (the same object :meth:`message` completes)."""
        return self.accumulator.head

    def partial_usage(self) -> Usage:
        """The usage of a stream that ended early (closed, or failed after content). The API
        reports output tokens only at the end, yet bills what it generated: at least one token
        per content delta received is counted, so a caller that hangs up before the end still
        pays for what it read."""
        usage = self.accumulator.head.usage
        if usage.output_tokens >= self.deltas:
            return usage
        return dataclasses.replace(usage, output_tokens=self.deltas)
