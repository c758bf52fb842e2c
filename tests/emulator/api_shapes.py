"""What the emulator tests send and check: request bodies, headers, SSE decoding, error shape.

Imported by name (``from api_shapes import body``): a module of its own rather than ``conftest``,
whose name other test folders share.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from claude_arch.constants import API_VERSION_0X

HAIKU = "claude-haiku-4-5"


def body(content: Any = "Hello", **extra: Any) -> dict[str, Any]:
    return {
        "model": HAIKU,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


def headers(key: str = "sk-ant-test") -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": API_VERSION_0X}


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, decoded data) for every event of an SSE body."""
    events = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def assert_error_shape(response: httpx.Response, status: int, error_type: str) -> str:
    """Check the Anthropic error shape; return the message."""
    assert response.status_code == status, response.text
    data = response.json()
    assert data["type"] == "error"
    assert data["error"]["type"] == error_type
    assert data["request_id"] == response.headers["request-id"]
    assert response.headers["request-id"].startswith("req_01")
    return str(data["error"]["message"])


def without_ids(message: Any) -> dict[str, Any]:
    """An SDK message as data without the IDs that differ between two answers to one request
    (the message's, and its tool calls' and their results' links); None fields left out, so a
    streamed message and a JSON one compare field for field."""
    data: dict[str, Any] = message.model_dump(exclude_none=True)
    data.pop("id")
    for block in data["content"]:
        block.pop("id", None)
        block.pop("tool_use_id", None)
    return data
