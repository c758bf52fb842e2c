"""What every failure leaving the service must look like: the Anthropic error shape, checked by a
JSON schema, with the response's ``request-id`` in the body and no traceback anywhere.

    r = await http.post("/v1/messages", content=b"{")
    message = assert_anthropic_error(r, 400, "invalid_request_error")

Imported by name from the service tests (a module of its own, not ``conftest``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema

ERROR_TYPES = {
    400: {"invalid_request_error"},
    401: {"authentication_error"},
    403: {"permission_error"},
    404: {"not_found_error"},
    405: {"invalid_request_error"},
    413: {"request_too_large"},
    429: {"rate_limit_error"},
    500: {"api_error"},
    502: {"api_error"},
    504: {"timeout_error"},
    529: {"overloaded_error"},
}
"""Every status the service may answer with an error, and the error types it may carry."""

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "error", "request_id"],
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {
                "type": {"enum": sorted({t for types in ERROR_TYPES.values() for t in types})},
                "message": {"type": "string", "minLength": 1},
            },
        },
        "request_id": {"type": "string", "pattern": "^req_[0-9a-f]{24}$"},
    },
}
# What a Python traceback leaves in text; none of it may reach a caller.
TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "site-packages")


def check_error_body(body: Any, status: int) -> None:
    """``body`` (decoded JSON) is a well-formed Anthropic error for ``status``."""
    jsonschema.validate(body, ERROR_SCHEMA)
    assert status in ERROR_TYPES, f"unexpected error status {status}: {body}"
    assert body["error"]["type"] in ERROR_TYPES[status], (status, body)
    assert_no_trace(json.dumps(body))


def assert_no_trace(text: str) -> None:
    for marker in TRACE_MARKERS:
        assert marker not in text, f"a traceback reached the caller: {text[:2000]}"


def assert_anthropic_error(
    response: httpx.Response, status: int | None = None, error_type: str | None = None
) -> str:
    """Check status, shape and request id of an error response; return its message."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    check_error_body(body, response.status_code)
    assert response.headers.get_list("request-id") == [body["request_id"]]
    if error_type is not None:
        assert body["error"]["type"] == error_type, body
    if response.status_code in (429, 529):
        assert int(response.headers["retry-after"]) >= 1
    return str(body["error"]["message"])


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, decoded data) for every event of an SSE body."""
    events = []
    for chunk in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def message_body(content: Any = "Hello", **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }
