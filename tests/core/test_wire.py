"""The wire layer without a server: SSE split anywhere, typed events, accumulation, headers."""

from __future__ import annotations

import email.utils
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.streams.state import StreamState
from claude_arch.core.wire import (
    BatchResult,
    ContentBlockDelta,
    JSONLines,
    MessageAccumulator,
    MessageStart,
    Ping,
    ServerSentEvent,
    SSEDecoder,
    UnknownEvent,
    decode_event,
    encode_body,
    error_from_response,
    ratelimit_headers,
    request_headers,
    retry_after_from_headers,
    should_retry_from_headers,
)
from claude_arch.errors import (
    BadRequestError,
    OverloadedError,
    RateLimitError,
    SpendLimitError,
    StreamInterruptedError,
)


def _event(data: dict[str, object]) -> str:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"


def _text(text: str) -> dict[str, object]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }


def _json(part: str) -> dict[str, object]:
    delta = {"type": "input_json_delta", "partial_json": part}
    return {"type": "content_block_delta", "index": 1, "delta": delta}


START = {
    "type": "message_start",
    "message": {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 377, "output_tokens": 1, "cache_read_input_tokens": 5},
    },
}
TOOL = {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {}}
TOOL_STREAM = "".join(
    _event(e)
    for e in [
        START,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        _text("I'll "),
        _text("check ☀."),
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": TOOL},
        _json(""),
        _json('{"city": "Par'),
        _json('is", "days": 3}'),
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 65},
        },
        {"type": "message_stop"},
    ]
).encode()


def _decode_all(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    return events + decoder.flush()


REFERENCE = _decode_all([TOOL_STREAM])


def test_reference_stream_decodes_to_thirteen_events() -> None:
    assert [e.event for e in REFERENCE][:3] == ["message_start", "content_block_start", "ping"]
    assert len(REFERENCE) == 13


def test_every_two_way_split_gives_the_same_events() -> None:
    for cut in range(len(TOOL_STREAM) + 1):
        assert _decode_all([TOOL_STREAM[:cut], TOOL_STREAM[cut:]]) == REFERENCE, cut


def test_byte_by_byte_gives_the_same_events() -> None:
    assert _decode_all([TOOL_STREAM[i : i + 1] for i in range(len(TOOL_STREAM))]) == REFERENCE


@given(st.lists(st.integers(min_value=0, max_value=len(TOOL_STREAM)), max_size=40))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(TOOL_STREAM)]
    chunks = [TOOL_STREAM[a:b] for a, b in itertools.pairwise(bounds)]
    assert _decode_all(chunks) == REFERENCE


@given(
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.lists(st.integers(min_value=0, max_value=2000), max_size=10),
)
def test_every_line_ending_style_decodes_alike(newline: bytes, cuts: list[int]) -> None:
    stream = TOOL_STREAM.replace(b"\n", newline)
    bounds = [0, *sorted(c % (len(stream) + 1) for c in cuts), len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert _decode_all(chunks) == REFERENCE


def test_comments_multiline_data_and_dataless_events() -> None:
    decoder = SSEDecoder()
    raw = b": keep-alive\n\nevent: x\n\nevent: y\ndata: a\ndata:b\nid: 7\n\n"
    assert decoder.feed(raw) == [ServerSentEvent("y", "a\nb")]


def test_accumulator_builds_text_and_tool_input() -> None:
    acc = MessageAccumulator()
    for sse in REFERENCE:
        acc.feed(decode_event(sse))
    msg = acc.message()
    assert acc.done
    assert msg.text == "I'll check ☀."
    assert msg.tool_uses == [
        {
            "type": "tool_use",
            "id": "toolu_01",
            "name": "weather",
            "input": {"city": "Paris", "days": 3},
        }
    ]
    assert (msg.stop_reason, msg.usage.input_tokens, msg.usage.output_tokens) == (
        "tool_use",
        377,
        65,
    )
    assert msg.usage.cache_read_input_tokens == 5


def test_typed_events_and_unknown_pass_through() -> None:
    assert isinstance(decode_event(REFERENCE[0]), MessageStart)
    assert isinstance(decode_event(REFERENCE[2]), Ping)
    delta = decode_event(REFERENCE[3])
    assert isinstance(delta, ContentBlockDelta)
    assert delta.text == "I'll "
    new = decode_event(ServerSentEvent("future_event", '{"type":"future_event","x":1}'))
    assert new == UnknownEvent("future_event", {"type": "future_event", "x": 1})


def test_error_event_raises_its_typed_error() -> None:
    data = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    with pytest.raises(OverloadedError) as info:
        decode_event(ServerSentEvent("error", data), model="claude-haiku-4-5")
    assert info.value.status == 200  # what the wire said, like the official SDK
    assert info.value.model == "claude-haiku-4-5"


def test_stream_state_holds_preamble_until_content() -> None:
    state = StreamState(started=0.0)
    cut = TOOL_STREAM.index(b"event: content_block_delta")
    assert state.feed(TOOL_STREAM[:cut]) == []
    assert state.held == 3
    assert not state.has_content
    released = state.feed(TOOL_STREAM[cut:])
    assert [e.type for e in released][:4] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
    ]
    assert state.done
    assert state.ttft_s is not None
    assert state.end() == []


def test_stream_state_without_message_stop_is_interrupted() -> None:
    state = StreamState(started=0.0)
    state.feed(TOOL_STREAM[: TOOL_STREAM.index(b"event: message_delta")])
    with pytest.raises(StreamInterruptedError):
        state.end()


def test_header_styles() -> None:
    two = request_headers("sk-secret", betas=["a-1", "b-2"])
    assert two["authorization"] == "Bearer sk-secret"
    assert two["anthropic-version"] == "2026-10-21"
    assert two["anthropic-beta"] == "a-1,b-2"
    assert "x-api-key" not in two
    zero = request_headers("sk-secret", style="0.x")
    assert zero["x-api-key"] == "sk-secret"
    assert zero["anthropic-version"] == "2023-06-01"
    assert "authorization" not in zero
    assert "authorization" not in request_headers(None)


def test_body_is_compact_utf8() -> None:
    assert encode_body({"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'.encode()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "junk", "retry-after": "2"}, 2.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_from_headers(headers) == expected


def test_retry_after_as_http_date() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_from_headers({"retry-after": date}, now=now) == pytest.approx(30.0)


def test_should_retry_header() -> None:
    assert should_retry_from_headers({"x-should-retry": "true"}) is True
    assert should_retry_from_headers({"x-should-retry": "false"}) is False
    assert should_retry_from_headers({}) is None


def test_error_from_response_carries_hints_and_request_id() -> None:
    error = {"type": "rate_limit_error", "message": "slow"}
    body = json.dumps({"type": "error", "error": error, "request_id": "req_1"}).encode()
    exc = error_from_response(429, {"retry-after": "2", "x-should-retry": "true"}, body, model="m")
    assert isinstance(exc, RateLimitError)
    assert (exc.retry_after, exc.should_retry) == (2.0, True)
    assert (exc.request_id, exc.model) == ("req_1", "m")


def test_spend_limit_and_non_json_errors() -> None:
    body = json.dumps(
        {"type": "error", "error": {"type": "rate_limit_error", "message": "spend",
                                    "details": {"error_code": "enforced_spend_limit_reached"}}}
    ).encode()  # fmt: skip
    assert isinstance(error_from_response(429, {}, body), SpendLimitError)
    exc = error_from_response(400, {"request-id": "req_2"}, b"<html>bad gateway</html>")
    assert isinstance(exc, BadRequestError)
    assert exc.request_id == "req_2"
    assert "bad gateway" in exc.message


def test_ratelimit_headers_picks_only_those() -> None:
    headers = {"anthropic-ratelimit-requests-limit": "50", "request-id": "r", "x": "y"}
    assert ratelimit_headers(headers) == {"anthropic-ratelimit-requests-limit": "50"}


def test_jsonl_lines_split_anywhere() -> None:
    lines = [{"custom_id": f"c{i}", "result": {"type": "canceled"}} for i in range(5)]
    raw = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    for cut in range(len(raw) + 1):
        parser = JSONLines()
        got = [*parser.feed(raw[:cut]), *parser.feed(raw[cut:]), *parser.flush()]
        assert got == lines
    assert BatchResult.from_dict(lines[0]).type == "canceled"
