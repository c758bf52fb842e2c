"""A stream's final message is the same however its bytes are chunked and whether its content is
built as it comes (``keep_content=True``) or deferred (``keep_content=False``, the proxy's mode):
for every delta kind the API sends (text, input_json, thinking, signature, citations)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.streams.state import StreamState
from claude_arch.errors import OverloadedError

WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
FRAGMENTS = st.lists(WORDS, min_size=1, max_size=6)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | WORDS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=3),
    max_leaves=8,
)


def sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def split_json(raw: str, cuts: list[int]) -> list[str]:
    """``raw`` in fragments at ``cuts``, the first one empty, as the API streams tool input."""
    points = sorted({min(c, len(raw)) for c in cuts} | {0, len(raw)})
    return ["", *(raw[a:b] for a, b in itertools.pairwise(points))]


@st.composite
def blocks(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One content block as the final message holds it, and the deltas that build it."""
    kind = draw(st.sampled_from(["text", "tool_use", "thinking", "cited_text"]))
    if kind == "text":
        parts = draw(FRAGMENTS)
        deltas = [{"type": "text_delta", "text": p} for p in parts]
        return {"type": "text", "text": "".join(parts)}, deltas
    if kind == "cited_text":
        parts = draw(FRAGMENTS)
        cites = [
            {"type": "char_location", "cited_text": draw(WORDS), "document_index": 0,
             "document_title": None, "start_char_index": i, "end_char_index": i + 1}
            for i in range(draw(st.integers(1, 3)))
        ]  # fmt: skip
        deltas = [{"type": "citations_delta", "citation": c} for c in cites]
        deltas += [{"type": "text_delta", "text": p} for p in parts]
        return {"type": "text", "text": "".join(parts), "citations": cites}, deltas
    if kind == "thinking":
        parts = draw(FRAGMENTS)
        signature = draw(st.text(alphabet="abcdef0123456789", min_size=1, max_size=16))
        deltas = [{"type": "thinking_delta", "thinking": p} for p in parts]
        deltas.append({"type": "signature_delta", "signature": signature})
        return {"type": "thinking", "thinking": "".join(parts), "signature": signature}, deltas
    value = draw(st.dictionaries(WORDS, JSON_VALUES, max_size=4))
    raw = json.dumps(value)
    cuts = draw(st.lists(st.integers(0, len(raw)), max_size=6))
    deltas = [{"type": "input_json_delta", "partial_json": f} for f in split_json(raw, cuts)]
    block = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": value}
    return block, deltas


def opening(block: dict[str, Any]) -> dict[str, Any]:
    """A block as its ``content_block_start`` announces it."""
    if block["type"] == "tool_use":
        return {**block, "input": {}}
    if block["type"] == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "text", "text": "", **({"citations": []} if "citations" in block else {})}


def wire(content: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> list[bytes]:
    events = [
        sse("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 7, "output_tokens": 1}}}),
    ]  # fmt: skip
    for index, (block, deltas) in enumerate(content):
        start = {"type": "content_block_start", "index": index, "content_block": opening(block)}
        events.append(sse("content_block_start", start))
        if index == 0:
            events.append(b'event: ping\ndata: {"type": "ping"}\n\n')
        for delta in deltas:
            payload = {"type": "content_block_delta", "index": index, "delta": delta}
            events.append(sse("content_block_delta", payload))
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    final = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
             "usage": {"output_tokens": 42}}  # fmt: skip
    events += [sse("message_delta", final), sse("message_stop", {"type": "message_stop"})]
    return events


def chunked(events: list[bytes], cuts: list[int] | int | None) -> list[bytes]:
    """One event a chunk (``cuts`` None, how a paced server writes), whole events ``cuts`` at a
    time (an int: a reader that fell behind), or the body cut at arbitrary byte offsets."""
    if cuts is None:
        return events
    if isinstance(cuts, int):
        return [b"".join(events[i : i + cuts]) for i in range(0, len(events), cuts)]
    body = b"".join(events)
    points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    return [body[a:b] for a, b in itertools.pairwise(points)]


def read(chunks: list[bytes], *, keep_content: bool) -> dict[str, Any]:
    state = StreamState(started=0.0, keep_content=keep_content)
    for chunk in chunks:
        state.feed(chunk)
    state.end()
    assert state.done
    return state.message().to_dict()


@settings(max_examples=300, deadline=None)
@given(
    content=st.lists(blocks(), min_size=1, max_size=4),
    cuts=st.none() | st.integers(2, 6) | st.lists(st.integers(0, 10**6), max_size=12),
)
def test_the_final_message_does_not_depend_on_chunking_or_deferral(
    content: list[tuple[dict[str, Any], list[dict[str, Any]]]], cuts: list[int] | int | None
) -> None:
    chunks = chunked(wire(content), cuts)
    kept = read(chunks, keep_content=True)
    deferred = read(chunks, keep_content=False)
    assert kept["content"] == [block for block, _ in content]
    assert deferred == kept
    assert kept["usage"]["output_tokens"] == 42


def test_a_tool_stream_one_event_per_chunk_keeps_its_input_in_deferred_mode() -> None:
    """The gateway's regression: the first input_json fragment was parsed with the held events
    and the later ones skipped, so content_block_stop parsed a fragment."""
    tool = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
    deltas = [{"type": "input_json_delta", "partial_json": f} for f in ['{"ci', 'ty": "Oslo"}']]
    message = read(wire([(tool, deltas)]), keep_content=False)
    assert message["content"] == [tool]


def test_deferred_content_is_not_parsed_until_asked_for() -> None:
    """In deferred mode a lone delta chunk is stored as it came: usage and the end are known
    without it, and the content is built only by ``message()``."""
    text = {"type": "text", "text": "ab"}
    events = wire([(text, [{"type": "text_delta", "text": t} for t in "ab"])])
    state = StreamState(started=0.0, keep_content=False)
    released = [event for chunk in events for event in state.feed(chunk)]
    assert state.done
    assert state.deltas == 2
    assert state.head().usage.output_tokens == 42
    assert state.head().content == []  # nothing built yet
    kinds = [type(event).__name__ for event in released]
    # content events deferred, even the first delta (which released the held events)
    assert kinds == ["MessageStart", "Ping", "MessageDelta", "MessageStop"]
    assert state.message().content == [text]
    assert state.head().content == [text]  # the same message, now complete


def test_an_error_after_deferred_deltas_in_one_chunk_comes_after_them() -> None:
    """A chunk of deltas then an ``error`` event: the chunk is delivered (a proxy forwards its
    bytes, deltas included), and the error is raised by the next read."""
    text = {"type": "text", "text": "abc"}
    events = wire([(text, [{"type": "text_delta", "text": t} for t in "abc"])])
    head, deltas = events[:4], events[4:6]  # start, block start, ping, first delta; two deltas
    error = sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "x"}})
    state = StreamState(started=0.0, keep_content=False)
    for chunk in head:
        state.feed(chunk)
    assert state.has_content
    assert state.feed(b"".join(deltas) + error) == []  # delivered, not raised
    assert state.deltas == 3
    with pytest.raises(OverloadedError):
        state.feed(events[6])
    assert "".join(state.message().text) == "abc"  # what the caller was sent
