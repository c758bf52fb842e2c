"""What the stub servers of the client tests answer: a message, and streams in real SSE framing."""

from __future__ import annotations

import json
from typing import Any

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]
MESSAGE = {
    "id": "msg_01stub",
    "type": "message",
    "role": "assistant",
    "model": HAIKU,
    "content": [{"type": "text", "text": "Hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 4, "output_tokens": 1},
}


def sse(kind: str, data: dict[str, Any]) -> bytes:
    """One server-sent event with its ``event:`` line, as the API sends it."""
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def stream_head(**usage: int) -> bytes:
    """``message_start`` (with ``usage``; default 4 input tokens) and an open text block."""
    message = {
        "id": "msg_01stub",
        "type": "message",
        "role": "assistant",
        "model": HAIKU,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 4, "output_tokens": 1, **usage},
    }
    text = {"type": "text", "text": ""}
    block = {"type": "content_block_start", "index": 0, "content_block": text}
    start = {"type": "message_start", "message": message}
    return sse("message_start", start) + sse("content_block_start", block)


def text_delta(text: str) -> bytes:
    delta = {"type": "text_delta", "text": text}
    return sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})


def stream_tail(output_tokens: int) -> bytes:
    """Close the text block and the message (``end_turn``)."""
    end = {"stop_reason": "end_turn", "stop_sequence": None}
    usage = {"output_tokens": output_tokens}
    return (
        sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + sse("message_delta", {"type": "message_delta", "delta": end, "usage": usage})
        + sse("message_stop", {"type": "message_stop"})
    )
