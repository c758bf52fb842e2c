"""Request plumbing shared by every route: request IDs, API keys, versions, bodies, error replies.

    >>> response = error_response(429, "rate_limit_error", "slow down", "req_01x")
    >>> response.status, response.headers["request-id"]
    (429, 'req_01x')

Every response carries ``request-id``; every error has the Anthropic shape
``{"type": "error", "error": {"type", "message"}, "request_id"}``. API keys are never echoed:
they become a short hash (:func:`~claude_arch.emulator.ids.short_hash`) for stats and limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from claude_arch.constants import (
    API_VERSION_0X,
    API_VERSION_2X,
    HEADER_API_KEY,
    HEADER_AUTHORIZATION,
    HEADER_REQUEST_ID,
    HEADER_VERSION,
)
from claude_arch.emulator.ids import new_id, short_hash
from claude_arch.errors import ClaudeArchError

__all__ = [
    "ErrorAnswer",
    "error_response",
    "json_response",
    "parse_json",
    "read_body",
    "read_json",
    "request_id",
    "require_key",
]

ACCEPTED_VERSIONS = frozenset({API_VERSION_0X, API_VERSION_2X, "2023-01-01"})
_JSON = "application/json"
REQUEST_ID_KEY = web.RequestKey("request_id", str)


class ErrorAnswer(Exception):
    """An answer in the error shape, raised from anywhere in a handler."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = dict(headers or {})
        self.details = dict(details) if details else None
        self.code = code
        """A cloud platform's own name for the error (``ThrottlingException``), when it has one."""

    @classmethod
    def of(cls, exc: ClaudeArchError) -> ErrorAnswer:
        return cls(exc.status, exc.error_type, exc.message)


def request_id(request: web.Request) -> str:
    """This request's ``req_01…`` ID (made on first use)."""
    rid = request.get(REQUEST_ID_KEY)
    if rid is None:
        rid = request[REQUEST_ID_KEY] = new_id("req")
    return rid


def error_body(
    error_type: str, message: str, rid: str, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if details:
        error["details"] = dict(details)
    return {"type": "error", "error": error, "request_id": rid}


def error_response(
    status: int,
    error_type: str,
    message: str,
    rid: str,
    headers: Mapping[str, str] | None = None,
    *,
    details: Mapping[str, Any] | None = None,
) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(error_body(error_type, message, rid, details)).encode(),
        content_type=_JSON,
        headers={HEADER_REQUEST_ID: rid, **(headers or {})},
    )


def json_response(
    data: Any, rid: str, headers: Mapping[str, str] | None = None, status: int = 200
) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, separators=(",", ":")).encode(),
        content_type=_JSON,
        headers={HEADER_REQUEST_ID: rid, **headers} if headers else {HEADER_REQUEST_ID: rid},
    )


def require_key(request: web.Request, allowed: frozenset[str]) -> str:
    """The caller's key ID (a hash); 401 when the key is missing or not accepted."""
    key = request.headers.get(HEADER_API_KEY)
    if not key:
        auth = request.headers.get(HEADER_AUTHORIZATION, "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
    if not key:
        raise ErrorAnswer(
            401,
            "authentication_error",
            "x-api-key header or Authorization: Bearer is required",
        )
    if allowed and key not in allowed:
        raise ErrorAnswer(401, "authentication_error", "invalid x-api-key")
    return short_hash(key)


def require_version(request: web.Request) -> None:
    version = request.headers.get(HEADER_VERSION)
    if version is None:
        raise ErrorAnswer(400, "invalid_request_error", "anthropic-version: header is required")
    if version not in ACCEPTED_VERSIONS:
        known = ", ".join(sorted(ACCEPTED_VERSIONS))
        raise ErrorAnswer(
            400,
            "invalid_request_error",
            f"anthropic-version: {version[:40]!r} is not a valid version; use one of {known}",
        )


async def read_json(request: web.Request, limit: int) -> Any:
    """The decoded JSON body; 413 over ``limit`` bytes (checked before reading when announced)."""
    return parse_json(await read_body(request, limit))


def parse_json(raw: bytes) -> Any:
    """``raw`` decoded as JSON; a 400 when it is not JSON."""
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise ErrorAnswer(400, "invalid_request_error", f"body: invalid JSON ({exc})") from None


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body; 413 over ``limit`` bytes (checked before reading when announced)."""
    announced = request.content_length
    if announced is not None and announced > limit:
        raise _too_large(limit)
    # A chunked body announces no length: count as it arrives, so an oversized one is refused
    # at the limit instead of being buffered up to the app's (batch-sized) maximum.
    parts: list[bytes] = []
    size = 0
    async for part in request.content.iter_any():
        size += len(part)
        if size > limit:
            raise _too_large(limit)
        parts.append(part)
    return b"".join(parts)


def _too_large(limit: int) -> ErrorAnswer:
    message = f"Request exceeds the maximum allowed size of {limit} bytes"
    return ErrorAnswer(413, "request_too_large", message)


def _no_constants(name: str) -> Any:
    # Python's json reads NaN and Infinity; JSON (and the real API) does not.
    raise ValueError(f"{name} is not a JSON value")


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ErrorAnswer(400, "invalid_request_error", "body: expected a JSON object")
    return body
