"""The three HTTP event shapes a Lambda function receives, and the response they all take.

API Gateway REST APIs send payload format 1.0 (``httpMethod``); HTTP APIs send 2.0 and Function
URLs send the same 2.0 shape (``requestContext.http.method``). :func:`read_http_event` reads
either into an :class:`HttpRequest`; :func:`http_response` is the proxy response both accept.

    >>> read_http_event({"version": "2.0", "requestContext": {"http": {"method": "POST"}},
    ...                  "headers": {"Origin": "https://app.example"}, "body": "{}"}).origin
    'https://app.example'
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from claude_arch.errors import InvalidRequestError
from claude_arch.serverless.cors import cors_headers

__all__ = ["HttpRequest", "cors_headers", "http_response", "read_http_event"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What the handler needs of an HTTP event: method, body bytes, the caller's origin and its
    ``Idempotency-Key`` header."""

    method: str
    body: bytes
    origin: str | None
    payload_version: str
    idempotency_key: str | None = None


def read_http_event(event: Any) -> HttpRequest:
    """The request in an API Gateway (v1 or v2) or Function URL event; a malformed event
    raises :class:`~claude_arch.errors.InvalidRequestError` naming the field."""
    if not isinstance(event, Mapping):
        raise InvalidRequestError("event: not an HTTP event (not a JSON object)", field="event")
    context = event.get("requestContext")
    if "httpMethod" in event:
        version, method = "1.0", event.get("httpMethod")
    elif isinstance(context, Mapping) and isinstance(context.get("http"), Mapping):
        version, method = "2.0", context["http"].get("method")
    else:
        raise InvalidRequestError(
            "event: not an API Gateway or Function URL event "
            "(neither httpMethod nor requestContext.http.method)",
            field="event",
        )
    if not isinstance(method, str) or not method:
        raise InvalidRequestError("event: the HTTP method is missing", field="event.httpMethod")
    headers = event.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise InvalidRequestError("event.headers: must be an object", field="event.headers")
    lower = {str(k).lower(): v for k, v in headers.items()}
    key = lower.get("idempotency-key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 255):
        raise InvalidRequestError(
            "Idempotency-Key: must be 1 to 255 characters", field="idempotency_key"
        )
    return HttpRequest(method.upper(), _body(event), lower.get("origin"), version, key)


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidRequestError("event.body: must be a string", field="event.body")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequestError(
                "event.body: isBase64Encoded is set but the body is not base64", field="event.body"
            ) from None
    return body.encode()


def http_response(
    status: int, body: Mapping[str, Any] | None, headers: Mapping[str, str]
) -> dict[str, Any]:
    """A proxy response for payload 1.0, 2.0 and Function URLs (a JSON body, or none)."""
    out = {"content-type": "application/json"} if body is not None else {}
    out.update(headers)
    return {
        "statusCode": status,
        "headers": out,
        "body": orjson.dumps(body).decode() if body is not None else "",
        "isBase64Encoded": False,
    }
