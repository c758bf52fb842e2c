"""Request bodies: read within the size limit, parsed as a JSON object, or a 400/413 that says why.

params = await read_json(request, limit=settings.max_body_bytes)

A body over :data:`OFFLOAD_BYTES` is parsed in a worker thread, so one large request does not hold
the event loop (and every other request) while it is parsed; :func:`large` tells a route to do the
same with its other per-body work (validation, the token estimate).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request

from claude_arch.core.wire import fastjson
from claude_arch.errors import CallCancelledError, InvalidRequestError, RequestTooLargeError

__all__ = ["OFFLOAD_BYTES", "large", "parse_json_object", "read_json"]

OFFLOAD_BYTES = 256 * 1024
"""Bodies larger than this are parsed and checked off the event loop, so that one large body
does not stall every other request (figures: bench/README.md § bench_big_bodies.py)."""
_SIZE = "body_bytes"


async def read_json(request: Request, *, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    # ASGI messages read directly (Starlette's ``request.stream()`` is an async generator,
    # dear on a gateway's per-request path); a body nearly always comes in one message
    receive = request.receive
    body = b""
    more: list[bytes] = []  # chunks after the first, joined once at the end
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect: the client left mid-body
            raise CallCancelledError("the client closed the connection before its body was read")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:  # a chunked body announces no length: count as it comes
                raise too_large(limit)
            if body:
                more.append(chunk)
            else:
                body = chunk
        if not message.get("more_body", False):
            if more:
                body = b"".join([body, *more])
            request.scope.setdefault("state", {})[_SIZE] = len(body)
            if len(body) > OFFLOAD_BYTES:
                return await asyncio.to_thread(parse_json_object, body)
            return parse_json_object(body)


def large(request: Request) -> bool:
    """Whether the body :func:`read_json` read was over :data:`OFFLOAD_BYTES`."""
    state: dict[str, Any] = request.scope.get("state") or {}
    return int(state.get(_SIZE, 0)) > OFFLOAD_BYTES


def too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(
        f"request body is larger than this service's limit of {limit} bytes"
    )


def parse_json_object(body: bytes | str) -> dict[str, Any]:
    """``body`` as a JSON object; anything else is an :class:`InvalidRequestError`.

    >>> parse_json_object(b'{"a": 1}')
    {'a': 1}
    >>> parse_json_object(b'[1]')
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: body: expected a JSON object, got list
    """
    if not body:
        raise InvalidRequestError("body: expected a JSON object, got an empty body", field="body")
    try:
        data = fastjson.loads(body)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            where = f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        elif isinstance(exc, fastjson.NotANumberError):
            where = f" ({exc})"
        else:
            where = ""
        raise InvalidRequestError(f"body: malformed JSON{where}", field="body") from None
    if not isinstance(data, dict):
        raise InvalidRequestError(
            f"body: expected a JSON object, got {type(data).__name__}", field="body"
        )
    # json.loads accepts an escaped lone surrogate, which no UTF-8 encoder (ours, the upstream
    # call's) can write: a 400 here, not a 500 later. Only a body with a \uD8xx-\uDFxx escape
    # at all (a fast byte search) is re-encoded to check.
    if isinstance(body, bytes):
        escaped = b"\\ud" in body or b"\\uD" in body
    else:
        escaped = "\\ud" in body or "\\uD" in body
    if escaped and not _encodable(data):
        raise InvalidRequestError(
            "body: a lone UTF-16 surrogate escape (\\ud800 to \\udfff without its pair) "
            "is not valid Unicode",
            field="body",
        )
    return data


def _encodable(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True
