"""Responses a platform transport hands back in the Anthropic API's shape.

``BufferedResponse`` holds a body already rewritten (an error, a token count);
``RelabelledResponse`` passes a body through under rewritten headers; ``EventStreamAsSSE`` turns
Bedrock's event stream into the ``event:``/``data:`` bytes the core's SSE machinery reads.

    >>> from claude_arch.core.platforms.eventstream import encode_message
    >>> import base64, json, asyncio
    >>> chunk = base64.b64encode(b'{"type":"message_stop"}').decode()
    >>> frame = encode_message({":event-type": "chunk", ":message-type": "event"},
    ...                        json.dumps({"bytes": chunk}).encode())
    >>> inner = BufferedResponse(200, {"x-amzn-requestid": "r-1"}, frame)
    >>> sse = EventStreamAsSSE(inner)
    >>> sse.headers["request-id"], asyncio.run(sse.read())
    ('r-1', b'event: message_stop\\ndata: {"type":"message_stop"}\\n\\n')
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Mapping

from claude_arch.constants import HEADER_REQUEST_ID
from claude_arch.core.platforms.eventstream import EventStreamDecoder, EventStreamError
from claude_arch.core.platforms.platform_errors import bedrock_stream_error
from claude_arch.core.transports.base import AsyncResponse
from claude_arch.errors import APIConnectionError

__all__ = ["BufferedResponse", "EventStreamAsSSE", "RelabelledResponse", "lower_headers"]

_AWS_REQUEST_ID = "x-amzn-requestid"


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A plain dict of ``headers`` under lower-case names, ``request-id`` from AWS's when absent."""
    out = {name.lower(): value for name, value in headers.items()}
    if HEADER_REQUEST_ID not in out and _AWS_REQUEST_ID in out:
        out[HEADER_REQUEST_ID] = out[_AWS_REQUEST_ID]
    return out


class BufferedResponse:
    """A response whose whole body is in memory."""

    __slots__ = ("_body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers: Mapping[str, str] = lower_headers(headers)
        self._body = body

    async def read(self) -> bytes:
        return self._body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        yield self._body

    async def aclose(self) -> None:
        return None


class RelabelledResponse:
    """``inner``'s status and body under ``headers``."""

    __slots__ = ("_inner", "headers", "status")

    def __init__(self, inner: AsyncResponse, headers: Mapping[str, str]) -> None:
        self._inner = inner
        self.status = inner.status
        self.headers = headers

    async def read(self) -> bytes:
        return await self._inner.read()

    def iter_chunks(self) -> AsyncIterator[bytes]:
        return self._inner.iter_chunks()

    async def aclose(self) -> None:
        await self._inner.aclose()


def _sse(name: str, data: bytes) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


def _event_name(data: bytes) -> str | None:
    try:
        decoded = json.loads(data)
    except ValueError:
        return None
    kind = decoded.get("type") if isinstance(decoded, dict) else None
    return kind if isinstance(kind, str) else None


class EventStreamAsSSE:
    """A Bedrock ``invoke-with-response-stream`` answer read as Messages API server-sent events.

    Each ``chunk`` event's payload ``{"bytes": base64(event JSON)}`` becomes ``event: <type>``
    with the JSON as its data; an exception frame becomes an ``error`` event (typed as
    :mod:`.platform_errors` maps it). A corrupt frame or a stream cut inside a frame raises
    :class:`~claude_arch.errors.APIConnectionError`.
    """

    __slots__ = ("_inner", "headers", "status")

    def __init__(self, inner: AsyncResponse) -> None:
        self._inner = inner
        self.status = inner.status
        headers = lower_headers(inner.headers)
        headers["content-type"] = "text/event-stream"
        self.headers: Mapping[str, str] = headers

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_chunks()])

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        decoder = EventStreamDecoder()
        async for chunk in self._inner.iter_chunks():
            try:
                messages = decoder.feed(chunk)
            except EventStreamError as exc:
                raise APIConnectionError(f"the Bedrock event stream is corrupt: {exc}") from None
            out = [_frame_as_sse(m.headers, m.payload) for m in messages]
            joined = b"".join(part for part in out if part)
            if joined:
                yield joined
        if decoder.pending:
            raise APIConnectionError("the Bedrock event stream ended inside a message")

    async def aclose(self) -> None:
        await self._inner.aclose()


def _frame_as_sse(headers: Mapping[str, object], payload: bytes) -> bytes | None:
    message_type = headers.get(":message-type", "event")
    if message_type == "exception":
        kind = str(headers.get(":exception-type", "internalServerException"))
        error = bedrock_stream_error(kind, payload)
        return _sse("error", json.dumps(error).encode())
    if message_type == "error":
        kind = str(headers.get(":error-code", "internalServerException"))
        text = json.dumps({"message": str(headers.get(":error-message", ""))}).encode()
        return _sse("error", json.dumps(bedrock_stream_error(kind, text)).encode())
    if headers.get(":event-type") != "chunk":
        return None  # other event types carry nothing for a Messages stream
    try:
        data = base64.b64decode(json.loads(payload)["bytes"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise APIConnectionError("a Bedrock stream chunk is not base64 JSON") from None
    name = _event_name(data)
    return _sse(name, data) if name else None
