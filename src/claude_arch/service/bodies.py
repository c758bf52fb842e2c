"""Request bodies: read within the size limit, parsed as a JSON object, or a 400/413 that says why.

params = await read_json(request, limit=settings.max_body_bytes)
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from claude_arch.errors import InvalidRequestError, RequestTooLargeError

__all__ = ["parse_json_object", "read_json"]


async def read_json(request: Request, *, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # a chunked body announces no length: count as it comes
            raise too_large(limit)
    return parse_json_object(bytes(body))


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
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise InvalidRequestError(f"body: malformed JSON{where}", field="body") from None
    if not isinstance(data, dict):
        raise InvalidRequestError(
            f"body: expected a JSON object, got {type(data).__name__}", field="body"
        )
    return data
