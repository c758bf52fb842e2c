"""Bedrock's and Vertex's error answers, rewritten in the Anthropic shape the wire layer types.

Bedrock answers ``{"message": …}`` with the error's name in ``x-amzn-ErrorType`` (and, in a
stream, an exception frame whose ``:exception-type`` names it); Vertex answers Google's
``{"error": {"code", "message", "status"}}`` for the platform's own errors and passes the
model's Anthropic-shaped errors through. Each becomes the status and Anthropic error body that
:func:`claude_arch.errors.error_for_status` turns into the one matching class:

    ============================================  ======  ==========================
    platform error                                status  error class
    ============================================  ======  ==========================
    ThrottlingException, ModelNotReadyException   429     RateLimitError
    ServiceQuotaExceededException                 429     RateLimitError, not retried
    ServiceUnavailableException (503)             529     OverloadedError
    ModelTimeoutException (408)                   504     GatewayTimeoutError
    ModelErrorException, ModelStreamError… (424)  500     InternalServerError
    InternalServerException                       500     InternalServerError
    ValidationException                           400     BadRequestError
    AccessDeniedException, InvalidSignature…      403     PermissionDeniedError
    ResourceNotFoundException                     404     NotFoundError
    Vertex RESOURCE_EXHAUSTED                     429     RateLimitError
    Vertex UNAVAILABLE (503)                      529     OverloadedError
    Vertex UNAUTHENTICATED / PERMISSION_DENIED    401/403 Authentication…/PermissionDenied…
    ============================================  ======  ==========================

    >>> status, body, _ = bedrock_error(
    ...     429, {"x-amzn-errortype": "ThrottlingException:http://internal"},
    ...     b'{"message": "Too many requests"}')
    >>> status, body["error"]
    (429, {'type': 'rate_limit_error', 'message': 'Bedrock ThrottlingException: Too many requests'})
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from claude_arch.constants import HEADER_SHOULD_RETRY
from claude_arch.errors import error_type_for_status

__all__ = ["bedrock_error", "bedrock_stream_error", "vertex_error"]

# Bedrock error name (as x-amzn-ErrorType or :exception-type, any case) → our status
_BEDROCK_STATUS = {
    "throttlingexception": 429,
    "modelnotreadyexception": 429,
    "servicequotaexceededexception": 429,
    "serviceunavailableexception": 529,
    "modeltimeoutexception": 504,
    "modelerrorexception": 500,
    "modelstreamerrorexception": 500,
    "internalserverexception": 500,
    "validationexception": 400,
    "accessdeniedexception": 403,
    "resourcenotfoundexception": 404,
}
_NOT_RETRIED = frozenset({"servicequotaexceededexception"})
_BY_HTTP = {503: 529, 408: 504, 424: 500}

_VERTEX_STATUS = {
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 529,
    "DEADLINE_EXCEEDED": 504,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "INTERNAL": 500,
}
# AWS quotes the canonical request in a signature mismatch: it holds the signed headers, the
# session token among them. Never pass that on.
_CANONICAL_QUOTE = "\n\nThe Canonical String"


def _body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type_for_status(status), "message": message}}


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _clean(message: object) -> str:
    return str(message).split(_CANONICAL_QUOTE, 1)[0].strip()[:2000]


def bedrock_error(
    status: int, headers: Mapping[str, str], raw: bytes
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, Anthropic-shaped body and extra headers for a Bedrock error answer."""
    data = _json(raw)
    if isinstance(data, dict) and data.get("type") == "error":
        return status, data, {}  # already in the Anthropic shape (a model's own error)
    name = (headers.get("x-amzn-errortype") or "").split(":", 1)[0]
    if not name and isinstance(data, dict):
        name = str(data.get("__type", "")).rpartition("#")[2]
    text = data.get("message") or data.get("Message") if isinstance(data, dict) else None
    if text is None:
        text = raw[:300].decode("utf-8", errors="replace").strip() or f"HTTP {status}"
    ours = _BEDROCK_STATUS.get(name.lower(), _BY_HTTP.get(status, status))
    extra = {HEADER_SHOULD_RETRY: "false"} if name.lower() in _NOT_RETRIED else {}
    label = f"Bedrock {name}" if name else "Bedrock"
    return ours, _body(ours, f"{label}: {_clean(text)}"), extra


def bedrock_stream_error(exception_type: str, payload: bytes) -> dict[str, Any]:
    """The SSE ``error`` event for a Bedrock exception frame (``throttlingException`` …)."""
    data = _json(payload)
    text = (
        data.get("message", "")
        if isinstance(data, dict)
        else payload[:300].decode(errors="replace")
    )
    ours = _BEDROCK_STATUS.get(exception_type.lower(), 500)
    return _body(ours, f"Bedrock {exception_type}: {_clean(text)}")


def vertex_error(
    status: int, headers: Mapping[str, str], raw: bytes
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, Anthropic-shaped body and extra headers for a Vertex AI error answer."""
    data = _json(raw)
    if isinstance(data, list) and data:  # Google answers some errors as a one-element list
        data = data[0]
    if isinstance(data, dict) and data.get("type") == "error":
        return status, data, {}  # the model's own error, passed through by Vertex
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        text = raw[:300].decode("utf-8", errors="replace").strip() or f"HTTP {status}"
        ours = _BY_HTTP.get(status, status)
        return ours, _body(ours, f"Vertex AI: {text}"), {}
    code = str(error.get("status") or "")
    ours = _VERTEX_STATUS.get(code, _BY_HTTP.get(status, status))
    label = f"Vertex AI {code}" if code else "Vertex AI"
    return ours, _body(ours, f"{label}: {_clean(error.get('message', ''))}"), {}
