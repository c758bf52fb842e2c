"""Every failure leaves the service as one response in the Anthropic error shape.

An upstream answer is passed on as the client would have seen it from Anthropic, with two
exceptions: a refusal of the *gateway's* Anthropic credentials (401/403 upstream) becomes a 502, so
the caller is not told that its own service key is wrong, and nothing upstream says about the
gateway's key reaches the caller. An upstream error the gateway already retried carries
``x-should-retry: false``, so an official SDK does not stack its own retries on the gateway's.

    >>> from claude_arch.errors import RateLimitError
    >>> status, body, headers = problem(RateLimitError("slow down", retry_after=1.5), "req_1")
    >>> status, body["error"]["type"], headers["retry-after"]
    (429, 'rate_limit_error', '2')
"""

from __future__ import annotations

import logging
import math
from typing import Any

from claude_arch.constants import HEADER_REQUEST_ID, HEADER_RETRY_AFTER, HEADER_SHOULD_RETRY
from claude_arch.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ClaudeArchError,
    InternalServerError,
    PermissionDeniedError,
    SpendLimitError,
)

_log = logging.getLogger("claude_arch.service")

__all__ = ["crash", "from_upstream", "problem", "upstream_credentials_error"]


def upstream_credentials_error(exc: APIStatusError) -> InternalServerError:
    err = InternalServerError(
        "the gateway's upstream credentials were refused by the Messages API; "
        "the operator must check them",
        status=502,
        error_type="api_error",
    )
    err.model = exc.model
    return err


def crash(exc: BaseException, what: str = "unhandled error") -> InternalServerError:
    """The error a caller gets for a bug: the traceback goes to the log (with the request id),
    the caller gets the id, never the trace."""
    _log.error(what, exc_info=exc)
    return InternalServerError("internal error in the gateway; quote the request id")


def from_upstream(exc: BaseException) -> bool:
    """True for an error the upstream answered: it has the response's body (the service's own
    refusals have none) or the API's request id. Something in front of the API (a load
    balancer's error page) sends no request id, and its headers must not reach the caller."""
    return isinstance(exc, APIStatusError) and (
        exc.body is not None or HEADER_REQUEST_ID in exc.headers
    )


def problem(
    exc: ClaudeArchError, request_id: str, *, upstream: bool = False
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) of the response for ``exc``.

    ``upstream=True`` marks errors that came from the Messages API (not from our own checks)."""
    if upstream and isinstance(exc, AuthenticationError | PermissionDeniedError):
        exc = upstream_credentials_error(exc)
    if isinstance(exc, APIConnectionError) and exc.detail:
        # the caller is told what failed; where (the upstream's address) only the log says
        _log.warning("no answer from upstream: %s", exc.detail, extra={"error": exc.message})
    body = exc.to_body()
    body["request_id"] = request_id
    headers = {HEADER_REQUEST_ID: request_id}
    if isinstance(exc, APIStatusError):
        if not upstream:  # our own refusals carry the key's limit headers; upstream's stay out
            headers.update(exc.headers)
            headers[HEADER_REQUEST_ID] = request_id
        if exc.retry_after is not None and math.isfinite(exc.retry_after):
            headers[HEADER_RETRY_AFTER] = str(max(1, math.ceil(exc.retry_after)))
        if upstream and exc.attempts > 1:
            # the gateway already retried this call: an SDK retrying it again would stack its
            # attempts on ours (3 x 3 by default), so it is told not to
            headers[HEADER_SHOULD_RETRY] = "false"
        if isinstance(exc, SpendLimitError):
            # the official SDKs retry any 429 unless told not to; a spent budget will not refill
            body["error"]["details"] = {"error_code": "enforced_spend_limit_reached"}
            headers[HEADER_SHOULD_RETRY] = "false"
    status = exc.status if 400 <= exc.status <= 599 else 500
    return status, body, headers
