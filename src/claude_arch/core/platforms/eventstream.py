"""The AWS event-stream binary framing (``application/vnd.amazon.eventstream``) Bedrock streams in.

One message on the wire:

    total length (uint32) · headers length (uint32) · CRC32 of those 8 bytes
    headers: name length (uint8) · name · value type (uint8) · value
    payload
    CRC32 of everything before it

All integers are big-endian. :func:`encode_message` writes string headers (all Bedrock sends);
:class:`EventStreamDecoder` reads every header type and checks both checksums.

    >>> frame = encode_message({":event-type": "chunk"}, b'{"bytes": "e30="}')
    >>> decoder = EventStreamDecoder()
    >>> [m.headers[":event-type"] for m in decoder.feed(frame[:10]) + decoder.feed(frame[10:])]
    ['chunk']
    >>> decoder.feed(frame[:-1] + bytes([frame[-1] ^ 1]))
    Traceback (most recent call last):
    ...
    claude_arch.core.platforms.eventstream.EventStreamError: message CRC mismatch
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

__all__ = [
    "MAX_HEADERS_BYTES",
    "MAX_PAYLOAD_BYTES",
    "EventMessage",
    "EventStreamDecoder",
    "EventStreamError",
    "HeaderValue",
    "encode_message",
]

MAX_HEADERS_BYTES = 128 * 1024
MAX_PAYLOAD_BYTES = 24 * 1024 * 1024
_PRELUDE = struct.Struct(">III")
_PRELUDE_BYTES = 12
_CRC_BYTES = 4
_MIN_MESSAGE = _PRELUDE_BYTES + _CRC_BYTES
_STRING = 7

HeaderValue = Union[bool, int, bytes, str, uuid.UUID]  # noqa: UP007 - an alias evaluated at runtime


class EventStreamError(ValueError):
    """The bytes are not a valid event stream (bad length, checksum or header)."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One decoded message: its headers (``:event-type``, ``:message-type`` …) and payload."""

    headers: Mapping[str, HeaderValue]
    payload: bytes


def _crc(data: bytes | memoryview, start: int = 0) -> int:
    return zlib.crc32(data, start) & 0xFFFFFFFF


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One framed message with string ``headers`` around ``payload``."""
    parts: list[bytes] = []
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        if len(raw_name) > 255 or len(raw_value) > 0xFFFF:
            raise EventStreamError(f"header {name[:40]!r} is too long")
        parts.append(struct.pack(">B", len(raw_name)) + raw_name)
        parts.append(struct.pack(">BH", _STRING, len(raw_value)) + raw_value)
    header_bytes = b"".join(parts)
    if len(header_bytes) > MAX_HEADERS_BYTES or len(payload) > MAX_PAYLOAD_BYTES:
        raise EventStreamError("message headers or payload over the event-stream limits")
    total = _PRELUDE_BYTES + len(header_bytes) + len(payload) + _CRC_BYTES
    prelude = struct.pack(">II", total, len(header_bytes))
    prelude += struct.pack(">I", _crc(prelude))
    body = prelude + header_bytes + payload
    return body + struct.pack(">I", _crc(body))


# value type → (fixed size or None for length-prefixed, how to read it)
_FIXED = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}


def _headers(data: memoryview) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    at = 0
    try:
        while at < len(data):
            size = data[at]
            name = bytes(data[at + 1 : at + 1 + size]).decode()
            at += 1 + size
            kind = data[at]
            at += 1
            value: HeaderValue
            if kind in (0, 1):
                value = kind == 0
            elif kind in _FIXED:
                fmt = struct.Struct(_FIXED[kind])
                (value,) = fmt.unpack_from(data, at)
                at += fmt.size
            elif kind in (6, _STRING):
                (length,) = struct.unpack_from(">H", data, at)
                raw = bytes(data[at + 2 : at + 2 + length])
                if len(raw) != length:
                    raise EventStreamError("header value runs past the headers")
                value = raw.decode() if kind == _STRING else raw
                at += 2 + length
            elif kind == 9:
                raw = bytes(data[at : at + 16])
                if len(raw) != 16:
                    raise EventStreamError("header value runs past the headers")
                value = uuid.UUID(bytes=raw)
                at += 16
            else:
                raise EventStreamError(f"unknown header value type {kind}")
            if at > len(data):
                raise EventStreamError("header value runs past the headers")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed headers ({type(exc).__name__})") from None
    return headers


class EventStreamDecoder:
    """Incremental decoder: feed it chunks as they arrive, collect the messages each completed.

    A checksum or length that does not hold raises :class:`EventStreamError`; the stream cannot
    be resynchronised after it, so the caller drops the connection.
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held of a message not yet complete (non-zero at the end: a cut stream)."""
        return len(self._buffer)

    def feed(self, chunk: bytes) -> list[EventMessage]:
        self._buffer += chunk
        messages: list[EventMessage] = []
        while len(self._buffer) >= _PRELUDE_BYTES:
            total, header_len, prelude_crc = _PRELUDE.unpack_from(self._buffer)
            if _crc(memoryview(self._buffer)[:8]) != prelude_crc:
                raise EventStreamError("prelude CRC mismatch")
            if header_len > MAX_HEADERS_BYTES:
                raise EventStreamError(f"headers of {header_len} bytes exceed the limit")
            payload_len = total - _MIN_MESSAGE - header_len
            if payload_len < 0 or payload_len > MAX_PAYLOAD_BYTES:
                raise EventStreamError(f"message length {total} is invalid")
            if len(self._buffer) < total:
                break
            frame = memoryview(self._buffer)[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - _CRC_BYTES)
            if _crc(frame[: total - _CRC_BYTES]) != message_crc:
                frame.release()
                raise EventStreamError("message CRC mismatch")
            start = _PRELUDE_BYTES + header_len
            headers = _headers(frame[_PRELUDE_BYTES:start])
            payload = bytes(frame[start : start + payload_len])
            frame.release()
            del self._buffer[:total]
            messages.append(EventMessage(headers, payload))
        return messages
