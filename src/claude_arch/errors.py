"""One exception tree for claude-arch, mirroring the Anthropic error types.

    ClaudeArchError
    ├── ConfigError                  bad settings or missing optional extra
    ├── CallCancelledError           499 cancelled: the caller stopped the call (records only)
    ├── InvalidRequestError          400 invalid_request_error  (carries .field)
    │   └── UnknownModelError        404 not_found_error        (carries .suggestions)
    └── APIError                     an answer (or no answer) from the Messages API
        ├── APIStatusError           any non-2xx status or a mid-stream error event
        │   ├── BadRequestError      400 invalid_request_error
        │   ├── AuthenticationError  401 authentication_error
        │   ├── BillingError         402 billing_error
        │   ├── PermissionDeniedError 403 permission_error
        │   ├── NotFoundError        404 not_found_error
        │   ├── ConflictError        409 conflict_error
        │   ├── RequestTooLargeError 413 request_too_large
        │   ├── RateLimitError       429 rate_limit_error
        │   │   └── SpendLimitError  429 enforced_spend_limit_reached (never retried)
        │   ├── InternalServerError  500 api_error (and any other 5xx)
        │   ├── GatewayTimeoutError  504 timeout_error
        │   └── OverloadedError      529 overloaded_error
        ├── APIConnectionError       no HTTP answer (reset, refused, DNS)
        │   ├── APITimeoutError      the request or the caller's deadline ran out
        │   │   └── LimiterTimeoutError   our own rate limiter would admit the call too late
        │   └── StoreUnavailableError     a store of ours (limits, keys, sessions) is unreachable
        └── StreamInterruptedError   the stream ended without message_stop

The two local ones (nothing was sent upstream) subclass the upstream failure their caller sees
on the wire, so a gateway answers them as before while code that must tell them apart (a
fallback that need not cool the model down) branches on the type:

    >>> issubclass(LimiterTimeoutError, APITimeoutError), LimiterTimeoutError.status
    (True, 504)

Every error knows its HTTP ``status`` and Anthropic ``error_type`` so the edges (the service, the
emulator, the Lambda handler) turn it into exactly one response with ``to_body()``.

    >>> try:
    ...     raise RateLimitError("slow down", retry_after=2.0, model="claude-haiku-4-5")
    ... except APIStatusError as exc:
    ...     exc.status, exc.error_type, exc.to_body()["error"]["type"]
    (429, 'rate_limit_error', 'rate_limit_error')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BillingError",
    "CallCancelledError",
    "ClaudeArchError",
    "ConfigError",
    "ConflictError",
    "GatewayTimeoutError",
    "InternalServerError",
    "InvalidRequestError",
    "LimiterTimeoutError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "SpendLimitError",
    "StoreUnavailableError",
    "StreamInterruptedError",
    "UnknownModelError",
    "error_for_status",
    "error_type_for_status",
]


class ClaudeArchError(Exception):
    """Base of every error claude-arch raises."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "api_error"

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        request_id: str | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.model = model
        self.request_id = request_id
        self.attempts = attempts

    def to_body(self) -> dict[str, Any]:
        """The error in the Anthropic wire shape."""
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": self.error_type, "message": self.message},
        }
        if self.request_id:
            body["request_id"] = self.request_id
        return body

    def __str__(self) -> str:
        parts = [self.message]
        if self.model:
            parts.append(f"model={self.model}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        if self.attempts > 1:
            parts.append(f"attempts={self.attempts}")
        return " | ".join(parts)


class ConfigError(ClaudeArchError):
    """A setting is wrong or an optional extra is missing."""


class CallCancelledError(ClaudeArchError):
    """The caller stopped the call (closed a stream, cancelled the task). Never raised to the
    caller; it is what the call's usage record says (status 499, as proxies log a client that
    went away)."""

    status = 499
    error_type = "cancelled"


class InvalidRequestError(ClaudeArchError):
    """The request is malformed; ``field`` names the parameter, e.g. ``messages.0.role``."""

    status = 400
    error_type = "invalid_request_error"

    def __init__(self, message: str, *, field: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field = field


class UnknownModelError(InvalidRequestError):
    """The model ID is not in the catalog; ``suggestions`` holds the closest real IDs."""

    status = 404
    error_type = "not_found_error"

    def __init__(self, model: str, suggestions: Sequence[str] = ()) -> None:
        hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"model: unknown model {model!r}.{hint}", field="model", model=model)
        self.suggestions = tuple(suggestions)


class APIError(ClaudeArchError):
    """An error talking to the Messages API (or a compatible server)."""


class APIStatusError(APIError):
    """The server answered with an error status or a mid-stream ``error`` event."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        if status is not None:
            self.status = status  # type: ignore[misc]
        if error_type is not None:
            self.error_type = error_type  # type: ignore[misc]
        self.body = dict(body) if body is not None else None
        self.headers = dict(headers) if headers is not None else {}
        self.retry_after = retry_after
        self.should_retry = should_retry


class BadRequestError(APIStatusError):
    status = 400
    error_type = "invalid_request_error"


class AuthenticationError(APIStatusError):
    status = 401
    error_type = "authentication_error"


class BillingError(APIStatusError):
    status = 402
    error_type = "billing_error"


class PermissionDeniedError(APIStatusError):
    status = 403
    error_type = "permission_error"


class NotFoundError(APIStatusError):
    status = 404
    error_type = "not_found_error"


class ConflictError(APIStatusError):
    status = 409
    error_type = "conflict_error"


class RequestTooLargeError(APIStatusError):
    status = 413
    error_type = "request_too_large"


class RateLimitError(APIStatusError):
    status = 429
    error_type = "rate_limit_error"


class SpendLimitError(RateLimitError):
    """429 with ``error.details.error_code == "enforced_spend_limit_reached"``: never retried."""


class InternalServerError(APIStatusError):
    status = 500
    error_type = "api_error"


class GatewayTimeoutError(APIStatusError):
    status = 504
    error_type = "timeout_error"


class OverloadedError(APIStatusError):
    status = 529
    error_type = "overloaded_error"


class APIConnectionError(APIError):
    """No HTTP answer: connection refused or reset, DNS failure. ``message`` says what went
    wrong, never where (a base URL's path can hold an account token); ``detail``, when a
    transport gives one, keeps the URL and the HTTP library's own words for the log."""

    status = 502
    error_type = "api_error"

    def __init__(self, message: str, *, detail: str | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.detail = detail


class APITimeoutError(APIConnectionError):
    """The request timed out or the caller's deadline ran out."""

    status = 504
    error_type = "timeout_error"


class LimiterTimeoutError(APITimeoutError):
    """Our rate limiter admits the call only after its deadline: nothing was sent, and waiting
    again cannot help (a model of another family may still be admitted)."""


class StoreUnavailableError(APIConnectionError):
    """A store of ours (the shared limiter's Redis, the key, quota, session or batch store) did
    not answer: nothing was sent upstream, and the model is not to blame."""


class StreamInterruptedError(APIError):
    """The SSE stream ended before ``message_stop``."""

    status = 502
    error_type = "api_error"


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: BillingError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    429: RateLimitError,
    500: InternalServerError,
    504: GatewayTimeoutError,
    529: OverloadedError,
}

_BY_TYPE: dict[str, type[APIStatusError]] = {
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "billing_error": BillingError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "conflict_error": ConflictError,
    "request_too_large": RequestTooLargeError,
    "rate_limit_error": RateLimitError,
    "api_error": InternalServerError,
    "timeout_error": GatewayTimeoutError,
    "overloaded_error": OverloadedError,
}


def error_type_for_status(status: int) -> str:
    """The Anthropic error type a bare HTTP status stands for (a framework's own 404 or 405).

    >>> error_type_for_status(405), error_type_for_status(529), error_type_for_status(502)
    ('invalid_request_error', 'overloaded_error', 'api_error')
    """
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls.error_type
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def error_for_status(
    status: int,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None = None,
    *,
    retry_after: float | None = None,
    should_retry: bool | None = None,
    model: str | None = None,
) -> APIStatusError:
    """The typed error for an error response (with status 200: a mid-stream error event)."""
    err = (body or {}).get("error") or {}
    etype = err.get("type") if isinstance(err, Mapping) else None
    message = err.get("message") if isinstance(err, Mapping) else None
    details = err.get("details") if isinstance(err, Mapping) else None
    cls: type[APIStatusError]
    if status in _BY_STATUS:
        cls = _BY_STATUS[status]
    elif status >= 500:
        cls = InternalServerError
    elif isinstance(etype, str) and etype in _BY_TYPE:
        cls = _BY_TYPE[etype]
    else:
        cls = APIStatusError
    if (
        cls is RateLimitError
        and isinstance(details, Mapping)
        and details.get("error_code") == "enforced_spend_limit_reached"
    ):
        cls = SpendLimitError
    request_id = (body or {}).get("request_id") or (headers or {}).get("request-id")
    return cls(
        str(message or f"HTTP {status}"),
        status=status,
        error_type=str(etype) if etype else None,
        body=body,
        headers=headers,
        retry_after=retry_after,
        should_retry=should_retry,
        model=model,
        request_id=str(request_id) if request_id else None,
    )
