"""Server-sent events for one reply: the exact event sequence the SDKs accumulate, paced or not.

    message_start → (content_block_start → ping? → content_block_delta… → content_block_stop)…
    → message_delta → message_stop

Text and thinking arrive as ``text_delta`` / ``thinking_delta`` chunks of a few words, a thinking
block closes with a ``signature_delta``, a tool call opens with ``input: {}`` and streams its JSON
as ``input_json_delta`` fragments (the first one empty), as does a ``server_tool_use``; a server
tool's result block arrives whole in its ``content_block_start``. A text block with citations
opens with ``citations: []`` and sends each as a ``citations_delta`` before its text.
Unpaced streams are written in one go; paced ones sleep the latency model's time per chunk, with
a ``ping`` every ``ping_interval_s`` of a long wait (as the API keeps quiet connections alive).
A client that disconnects cancels the generation at once (the app runs with handler
cancellation), which the stats record.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from aiohttp import web

from claude_arch.core.tokens import count_text
from claude_arch.emulator.answers.replies import Reply
from claude_arch.emulator.faults import Draw

__all__ = ["SSE", "StreamEncoding", "StreamOutcome", "sse_event", "stream_reply"]

_CHUNK = re.compile(r"\S+(?:\s+\S+){0,4}\s*|\s+")
_PING = b'event: ping\ndata: {"type": "ping"}\n\n'
_OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

# (bytes to send, output tokens they carry, whether the event is a content delta)
_Event = tuple[bytes, int, bool]


def sse_event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class StreamEncoding(Protocol):
    """How a platform frames the events of one stream (SSE for the Anthropic API and Vertex,
    AWS event stream for Bedrock)."""

    headers: Mapping[str, str]

    def event(self, name: str, data: dict[str, Any]) -> bytes: ...

    def ping(self) -> bytes: ...

    def overloaded(self) -> bytes:
        """The mid-stream failure as this platform sends it."""
        ...


class _SSE:
    headers: Mapping[str, str] = {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
    }

    def event(self, name: str, data: dict[str, Any]) -> bytes:
        return sse_event(name, data)

    def ping(self) -> bytes:
        return _PING

    def overloaded(self) -> bytes:
        return sse_event("error", _OVERLOADED)


SSE: StreamEncoding = _SSE()


def _chunks(text: str) -> list[str]:
    return _CHUNK.findall(text) or [text]


def _json_fragments(raw: str) -> list[str]:
    step = max(8, len(raw) // 3)
    return ["", *(raw[i : i + step] for i in range(0, len(raw), step))]


def _block_events(
    index: int, block: dict[str, Any], encode: Callable[[str, dict[str, Any]], bytes]
) -> Iterator[_Event]:
    kind = block["type"]
    delta = "content_block_delta"
    if kind == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        if "citations" in block:
            opening["citations"] = []
        yield encode("content_block_start", _start(index, opening)), 0, False
        for citation in block.get("citations") or ():
            payload = {"type": "citations_delta", "citation": citation}
            yield encode(delta, _delta(index, payload)), 0, True
        for piece in _chunks(block["text"]):
            payload = {"type": "text_delta", "text": piece}
            yield encode(delta, _delta(index, payload)), count_text(piece), True
    elif kind == "thinking":
        thinking = {"type": "thinking", "thinking": "", "signature": ""}
        yield encode("content_block_start", _start(index, thinking)), 0, False
        for piece in _chunks(block["thinking"]):
            payload = {"type": "thinking_delta", "thinking": piece}
            yield encode(delta, _delta(index, payload)), count_text(piece), True
        payload = {"type": "signature_delta", "signature": block["signature"]}
        yield encode(delta, _delta(index, payload)), 0, True
    elif kind in ("tool_use", "server_tool_use"):
        tool_opening: dict[str, Any] = {**block, "input": {}}
        yield encode("content_block_start", _start(index, tool_opening)), 0, False
        raw = json.dumps(block.get("input", {}), separators=(",", ":"))
        for piece in _json_fragments(raw):
            payload = {"type": "input_json_delta", "partial_json": piece}
            yield encode(delta, _delta(index, payload)), count_text(piece), True
    else:  # a server tool's result arrives whole
        yield encode("content_block_start", _start(index, block)), 0, False
    yield encode("content_block_stop", {"type": "content_block_stop", "index": index}), 0, False


def _start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _events(message: dict[str, Any], reply: Reply, encoding: StreamEncoding) -> Iterator[_Event]:
    encode = encoding.event
    usage = message["usage"]
    start_usage = {**usage, "output_tokens": min(1, reply.output_tokens)}
    started = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    yield (
        encode(
            "message_start", {"type": "message_start", "message": {**started, "usage": start_usage}}
        ),
        0,
        False,
    )
    for index, block in enumerate(reply.content):
        events = _block_events(index, block, encode)
        yield next(events)  # content_block_start
        if index == 0:
            yield encoding.ping(), 0, False
        yield from events
    final_usage = {
        "input_tokens": usage["input_tokens"],
        "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
        "cache_read_input_tokens": usage["cache_read_input_tokens"],
        "output_tokens": reply.output_tokens,
    }
    if "server_tool_use" in usage:
        final_usage["server_tool_use"] = usage["server_tool_use"]
    delta = {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence}
    yield (
        encode("message_delta", {"type": "message_delta", "delta": delta, "usage": final_usage}),
        0,
        False,
    )
    yield encode("message_stop", {"type": "message_stop"}), 0, False


class StreamOutcome:
    """How a stream ended, for limits and stats: tokens sent and whether it completed."""

    __slots__ = ("completed", "failed", "output_tokens")

    def __init__(self) -> None:
        self.output_tokens = 0
        self.completed = False
        self.failed = False


async def stream_reply(
    request: web.Request,
    headers: dict[str, str],
    message: dict[str, Any],
    reply: Reply,
    *,
    first_token_s: float,
    per_token_s: float,
    ping_interval_s: float,
    draw: Draw | None,
    outcome: StreamOutcome,
    on_finish: Callable[[StreamOutcome], None],
    on_cancel: Callable[[float], None],
    encoding: StreamEncoding = SSE,
) -> web.StreamResponse:
    """Send ``reply`` as SSE, recording in ``outcome`` what was delivered.

    ``on_finish`` runs before the last bytes leave, so a client that has read the whole stream
    finds it already accounted for; ``on_cancel`` gets the instant a disconnect was noticed.
    """
    response = web.StreamResponse(headers={**headers, **encoding.headers})
    fault = draw.fault if draw is not None else None
    fail_after = fault.after_deltas if fault is not None else -1
    paced = first_token_s > 0 or per_token_s > 0
    buffer: list[bytes] = []
    deltas = 0
    try:
        await response.prepare(request)
        ping = encoding.ping()
        for number, (data, tokens, is_delta) in enumerate(_events(message, reply, encoding)):
            if is_delta and deltas == fail_after and fault is not None:
                if fault.kind == "mid_stream_error":
                    buffer.append(encoding.overloaded())
                outcome.failed = True
                break
            deltas += is_delta
            if paced:
                delay = (first_token_s if number == 1 else 0.0) + tokens * per_token_s
                if delay > 0:
                    if buffer:
                        await response.write(b"".join(buffer))
                        buffer.clear()
                    while delay > ping_interval_s:
                        await asyncio.sleep(ping_interval_s)
                        await response.write(ping)
                        delay -= ping_interval_s
                    await asyncio.sleep(delay)
            buffer.append(data)
            outcome.output_tokens += tokens
        else:
            outcome.completed = True
            outcome.output_tokens = reply.output_tokens
        on_finish(outcome)
        if buffer:
            await response.write(b"".join(buffer))
        await response.write_eof()
    except (asyncio.CancelledError, ConnectionResetError):
        noticed = time.monotonic()
        on_cancel(noticed)
        raise
    return response
