"""``MessageStream.raw()``: the bytes as the server sent them, with the same accounting as reading
events; ``keep_content=False`` defers parsing lone deltas, bills every token and still gives the
same final message when asked for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.client import ClaudeClient
from claude_arch.core.streams.state import StreamState
from claude_arch.core.wire import SSEDecoder
from claude_arch.errors import APIStatusError
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Tell me about token buckets"}]


@pytest.mark.parametrize("keep_content", [True, False])
async def test_raw_bytes_are_the_servers_and_usage_is_counted(
    emulator: EmulatorServer, settings: Settings, keep_content: bool
) -> None:
    async with ClaudeClient(settings, base_url=emulator.url, api_key=emulator.api_key) as claude:
        reference = await claude.create(model=HAIKU, max_tokens=200, messages=HELLO)
        call = claude.build_call(
            "stream", {"model": HAIKU, "max_tokens": 200, "messages": HELLO, "stream": True}
        )
        stream = claude.stream_call(call, keep_content=keep_content)
        async with stream:
            body = b"".join([chunk async for chunk in stream.raw()])
            message = await stream.final_message()
    text = body.decode()
    assert text.startswith("event: message_start\n")
    assert text.rstrip().endswith('data: {"type":"message_stop"}')
    assert text.count("event: content_block_delta") > 1
    # billed in full either way: usage comes from message_start and message_delta
    assert message.usage.output_tokens == reference.usage.output_tokens
    assert message.record is not None
    assert message.record.cost_usd == reference.record.cost_usd  # type: ignore[union-attr]
    assert message.text == reference.text


async def test_an_error_after_content_still_raises_in_light_mode(
    emulator: EmulatorServer, settings: Settings
) -> None:
    emulator.set_faults({"kind": "mid_stream_error", "every": 1})
    async with ClaudeClient(
        settings, base_url=emulator.url, api_key=emulator.api_key, max_retries=0
    ) as claude:
        call = claude.build_call(
            "stream", {"model": HAIKU, "max_tokens": 200, "messages": HELLO, "stream": True}
        )
        async with claude.stream_call(call, keep_content=False) as stream:
            with pytest.raises(APIStatusError) as caught:
                await drain(stream.raw())
    assert caught.value.status == 200  # a mid-stream error event, as the SDK reports it


async def drain(chunks: AsyncIterator[bytes]) -> None:
    async for _ in chunks:
        pass


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


START = _event(
    "message_start",
    '{"type":"message_start","message":{"id":"m","model":"claude-haiku-4-5","content":[],'
    '"usage":{"input_tokens":3}}}',
) + _event(
    "content_block_start",
    '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
)
END = (
    _event("content_block_stop", '{"type":"content_block_stop","index":0}')
    + _event(
        "message_delta",
        '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}',
    )
    + _event("message_stop", '{"type":"message_stop"}')
)


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=12),
    cuts=st.lists(st.integers(1, 400), max_size=12),
)
def test_light_mode_agrees_with_full_parsing_however_the_bytes_are_cut(
    texts: list[str], cuts: list[int]
) -> None:
    import json

    deltas = b"".join(
        _event(
            "content_block_delta",
            json.dumps(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": t},
                }
            ),
        )
        for t in texts
    )
    body = START + deltas + END
    chunks, at = [], 0
    for cut in cuts:
        chunks.append(body[at : at + cut])
        at += cut
    chunks.append(body[at:])
    full, light = StreamState(started=0.0), StreamState(started=0.0, keep_content=False)
    for chunk in (c for c in chunks if c):
        full.feed(chunk)
        light.feed(chunk)
    assert full.done
    assert light.done
    assert light.message().usage == full.message().usage
    assert light.message().stop_reason == full.message().stop_reason == "end_turn"
    assert full.message().text == "".join(texts)
    assert light.message().to_dict() == full.message().to_dict()


def test_lone_deltas_are_deferred_and_the_rest_is_parsed() -> None:
    delta = _event(
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}',
    )
    light = StreamState(started=0.0, keep_content=False)
    assert light.feed(START) == []  # held until content
    # the first content releases the held events; content events themselves are deferred
    assert [type(e).__name__ for e in light.feed(delta)] == ["MessageStart"]
    for _ in range(5):
        assert light.feed(delta) == []  # lone deltas after it: stored, not parsed
    light.feed(END)
    assert light.done
    assert light.head().usage.output_tokens == 9
    assert light.head().text == ""  # nothing built yet
    assert light.message().text == "Hi" * 6  # built on demand, every delta in order


def test_the_decoder_is_idle_only_between_events() -> None:
    decoder = SSEDecoder()
    assert decoder.idle
    decoder.feed(b"event: ping\n")
    assert not decoder.idle
    decoder.feed(b"data: {}\n")
    assert not decoder.idle
    decoder.feed(b"\n")
    assert decoder.idle
    decoder.feed(b"event: pi")
    assert not decoder.idle
