"""The edge's refusals: one exception, one response in the Anthropic error shape.

    >>> err = EdgeProblem(429, "rate limit: 60 requests per minute", retry_after_s=12)
    >>> response = err.to_response("req_edge_1")
    >>> response.status, response.headers["retry-after"]
    (429, '12')
    >>> json.loads(response.body)["error"]
    {'type': 'rate_limit_error', 'message': 'rate limit: 60 requests per minute'}

The error type of a status comes from :data:`claude_arch.edge.protocol_data.ERROR_TYPES` (core's
``errors.py``); a status it does not list maps as core's ``error_type_for_status`` does.
"""

from __future__ import annotations

import json
import secrets

from claude_arch.edge import protocol_data as protocol
from claude_arch.edge.platform import EdgeResponse

__all__ = ["EdgeProblem", "error_type_for_status", "new_request_id"]

JSON = "application/json"


def error_type_for_status(status: int) -> str:
    """The Anthropic error type of ``status``.

    >>> error_type_for_status(413), error_type_for_status(405), error_type_for_status(502)
    ('request_too_large', 'invalid_request_error', 'api_error')
    """
    known = protocol.ERROR_TYPES.get(status)
    if known is not None:
        return known
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def new_request_id() -> str:
    """An id for an answer the edge gives itself (``req_edge_`` + 24 hex digits)."""
    return "req_edge_" + secrets.token_hex(12)


class EdgeProblem(Exception):
    """A request the edge answers itself, with ``status`` and a message safe to show the caller.

    ``headers`` go on the response (a limit's ``anthropic-ratelimit-requests-*``);
    ``retry_after_s`` becomes ``retry-after``; ``should_retry`` becomes ``x-should-retry``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        retry_after_s: int | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type_for_status(status)
        self.headers = dict(headers or {})
        self.retry_after_s = retry_after_s
        self.should_retry = should_retry

    def to_response(self, request_id: str) -> EdgeResponse:
        """The response: the error body with ``request_id``, in the body and as ``request-id``."""
        body = {
            "type": "error",
            "error": {"type": self.error_type, "message": self.message},
            "request_id": request_id,
        }
        headers = {
            **self.headers,
            "content-type": JSON,
            protocol.HEADER_REQUEST_ID: request_id,
        }
        if self.retry_after_s is not None:
            headers[protocol.HEADER_RETRY_AFTER] = str(max(1, self.retry_after_s))
        if self.should_retry is not None:
            headers[protocol.HEADER_SHOULD_RETRY] = "true" if self.should_retry else "false"
        return EdgeResponse(self.status, headers, json.dumps(body).encode("utf-8"))
