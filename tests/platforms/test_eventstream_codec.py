"""The AWS event-stream codec: what it writes, botocore reads; what it reads survives any
chunking; a flipped bit anywhere is refused."""

from __future__ import annotations

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.platforms.eventstream import (
    EventStreamDecoder,
    EventStreamError,
    encode_message,
)

names = st.text(st.characters(codec="utf-8", exclude_characters=":"), min_size=1, max_size=20)
headers = st.dictionaries(names, st.text(max_size=60), max_size=5)
messages = st.lists(st.tuples(headers, st.binary(max_size=300)), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(messages, st.data())
def test_round_trip_survives_any_chunking(batch: list[tuple[dict[str, str], bytes]], data) -> None:
    wire = b"".join(encode_message(h, p) for h, p in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    decoder = EventStreamDecoder()
    got = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        got += decoder.feed(wire[start:end])
    assert [(dict(m.headers), m.payload) for m in got] == batch
    assert decoder.pending == 0


@settings(max_examples=100, deadline=None)
@given(headers, st.binary(max_size=200))
def test_botocore_reads_what_we_write(hdrs: dict[str, str], payload: bytes) -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(encode_message(hdrs, payload))
    (message,) = list(buffer)
    assert message.headers == hdrs
    assert message.payload == payload


@settings(max_examples=150, deadline=None)
@given(headers, st.binary(max_size=100), st.data())
def test_any_flipped_bit_is_refused(hdrs: dict[str, str], payload: bytes, data) -> None:
    frame = bytearray(encode_message(hdrs, payload))
    at = data.draw(st.integers(0, len(frame) - 1))
    frame[at] ^= 1 << data.draw(st.integers(0, 7))
    decoder = EventStreamDecoder()
    try:
        decoded = decoder.feed(bytes(frame))
    except EventStreamError:
        return
    # A flipped length bit can make the decoder wait for bytes that never come: not a message.
    assert decoded == []
    assert decoder.pending == len(frame)


def test_crc_failures_name_the_checksum() -> None:
    frame = bytearray(encode_message({":event-type": "chunk"}, b"{}"))
    frame[9] ^= 0xFF  # inside the prelude CRC
    with pytest.raises(EventStreamError, match="prelude CRC"):
        EventStreamDecoder().feed(bytes(frame))
    frame = bytearray(encode_message({":event-type": "chunk"}, b"{}"))
    frame[-6] ^= 0xFF  # the payload
    with pytest.raises(EventStreamError, match="message CRC"):
        EventStreamDecoder().feed(bytes(frame))


def test_reads_headers_of_every_type_botocore_writes() -> None:
    # A frame as AWS sends it for an exception: typed headers written by hand here.
    import struct
    import zlib

    def header(name: str, kind: int, value: bytes) -> bytes:
        return bytes([len(name)]) + name.encode() + bytes([kind]) + value

    body = (
        header(":message-type", 7, struct.pack(">H", 9) + b"exception")
        + header("flag", 0, b"")
        + header("n", 4, struct.pack(">i", -7))
        + header("when", 8, struct.pack(">q", 1700000000000))
        + header("raw", 6, struct.pack(">H", 2) + b"\x00\x01")
    )
    payload = b'{"message":"x"}'
    total = 12 + len(body) + len(payload) + 4
    prelude = struct.pack(">II", total, len(body))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    frame = prelude + body + payload
    frame += struct.pack(">I", zlib.crc32(frame))
    (message,) = EventStreamDecoder().feed(frame)
    assert dict(message.headers) == {
        ":message-type": "exception",
        "flag": True,
        "n": -7,
        "when": 1700000000000,
        "raw": b"\x00\x01",
    }
    assert message.payload == payload
