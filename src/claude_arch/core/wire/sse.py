"""Server-sent events: bytes in whatever chunks the network delivers → complete events.

Follows the WHATWG event-stream rules the Messages API relies on: lines end in ``\\n``, ``\\r\\n``
or ``\\r``; ``data:`` lines of one event join with ``\\n``; a blank line dispatches; lines starting
with ``:`` are comments; one space after the colon is dropped.

    >>> decoder = SSEDecoder()
    >>> decoder.feed(b"event: ping\\ndata: {\\"type\\"")
    []
    >>> decoder.feed(b": \\"ping\\"}\\n\\n")
    [ServerSentEvent(event='ping', data='{"type": "ping"}')]
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent"]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its ``event:`` name (``message`` when absent) and joined data."""

    event: str
    data: str


class SSEDecoder:
    """Incremental decoder; feed it chunks, collect the events each chunk completed."""

    __slots__ = ("_buffer", "_data", "_event", "_pending_cr")

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []
        # A chunk ending in "\r" may be the first half of "\r\n": the next chunk decides.
        self._pending_cr = False

    @property
    def idle(self) -> bool:
        """True between events: nothing buffered, no event half read."""
        return not self._buffer and not self._data and self._event is None and not self._pending_cr

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Events completed by ``chunk`` (possibly none)."""
        if not chunk:
            return []
        if self._pending_cr:
            self._pending_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):
                self._pending_cr = True
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._buffer = buffer.split(b"\n")
        events: list[ServerSentEvent] = []
        for raw in lines:
            event = self._line(raw)
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """Events left when the stream ends (a final event without its blank line is dropped,
        as the spec says; a trailing unterminated line is processed first)."""
        events: list[ServerSentEvent] = []
        if self._buffer:
            raw, self._buffer = self._buffer, b""
            event = self._line(raw)
            if event is not None:
                events.append(event)
        self._event, self._data = None, []
        return events

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            if not self._data:  # an event with no data line is not dispatched
                self._event = None
                return None
            event = ServerSentEvent(self._event or "message", "\n".join(self._data))
            self._event, self._data = None, []
            return event
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        # "id" and "retry" carry nothing the Messages API uses.
        return None
