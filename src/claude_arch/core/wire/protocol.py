"""The Messages API on the wire: paths, request headers in both SDK styles, bodies, error answers.

Pure functions over bytes and header mappings, no I/O, so both clients (async and sync) and any
transport share them.

    >>> h = request_headers("sk-test", style="2.x")
    >>> h["authorization"].startswith("Bearer "), h["anthropic-version"]
    (True, '2026-10-21')
    >>> request_headers("sk-test", style="0.x")["x-api-key"]
    'sk-test'
    >>> retry_after_from_headers({"retry-after-ms": "1500", "retry-after": "9"})
    1.5
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from claude_arch.constants import (
    API_VERSION_0X,
    API_VERSION_2X,
    HEADER_API_KEY,
    HEADER_AUTHORIZATION,
    HEADER_BETA,
    HEADER_REQUEST_ID,
    HEADER_RETRY_AFTER,
    HEADER_RETRY_AFTER_MS,
    HEADER_SHOULD_RETRY,
    HEADER_VERSION,
    RATELIMIT_HEADER_PREFIX,
)
from claude_arch.core.wire import fastjson
from claude_arch.errors import APIStatusError, error_for_status

__all__ = [
    "BATCHES_PATH",
    "COUNT_TOKENS_PATH",
    "MESSAGES_PATH",
    "MODELS_PATH",
    "ApiStyle",
    "decode_json",
    "encode_body",
    "error_from_response",
    "ratelimit_headers",
    "request_headers",
    "request_id",
    "retry_after_from_headers",
    "should_retry_from_headers",
]

ApiStyle = Literal["2.x", "0.x"]
"""Which official SDK line our requests look like: ``2.x`` (Bearer auth, 2026-10-21) by default."""

MESSAGES_PATH = "/v1/messages"
MODELS_PATH = "/v1/models"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
BATCHES_PATH = "/v1/messages/batches"

_USER_AGENT = "claude-arch/0.1"
# The official SDK's cap: time.sleep overflows on larger waits (as low as 2**32 ms on Windows).
MAX_RETRY_AFTER_S = 4_294_967.0


def request_headers(
    api_key: str | None,
    *,
    style: ApiStyle = "2.x",
    betas: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Headers every request carries; computed once per client, not per call."""
    headers = {
        "accept": "application/json",
        "content-type": "application/json",
        "user-agent": _USER_AGENT,
    }
    if style == "2.x":
        headers[HEADER_VERSION] = API_VERSION_2X
        if api_key:
            headers[HEADER_AUTHORIZATION] = f"Bearer {api_key}"
    else:
        headers[HEADER_VERSION] = API_VERSION_0X
        if api_key:
            headers[HEADER_API_KEY] = api_key
    if betas:
        headers[HEADER_BETA] = ",".join(betas)
    if extra:
        headers.update({k.lower(): v for k, v in extra.items()})
    return headers


def encode_body(params: Mapping[str, Any]) -> bytes:
    """A request body: compact JSON, UTF-8 (non-ASCII kept as is, as the SDK sends it)."""
    return fastjson.dumps(params)


def decode_json(body: bytes) -> Any:
    """A JSON response body (``None`` for an empty or non-JSON body)."""
    if not body:
        return None
    try:
        return fastjson.loads(body)
    except ValueError:
        return None


def request_id(headers: Mapping[str, str]) -> str | None:
    return headers.get(HEADER_REQUEST_ID)


def retry_after_from_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, else ``retry-after`` as seconds or
    an HTTP date; ``None`` when absent, unparseable or not finite; at most ``MAX_RETRY_AFTER_S``."""
    ms = headers.get(HEADER_RETRY_AFTER_MS)
    if ms is not None:
        try:
            return _finite_wait(float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get(HEADER_RETRY_AFTER)
    if value is None:
        return None
    try:
        return _finite_wait(float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return _finite_wait(
        float(email.utils.mktime_tz(parsed)) - (time.time() if now is None else now)
    )


def _finite_wait(seconds: float) -> float:
    # "inf" or "nan" would sleep forever or crash the sleep: unparseable, so the backoff decides.
    if not math.isfinite(seconds):
        raise ValueError(seconds)
    return min(seconds, MAX_RETRY_AFTER_S)


def should_retry_from_headers(headers: Mapping[str, str]) -> bool | None:
    """``x-should-retry``: True/False when the server decided, ``None`` when it left it to us."""
    value = headers.get(HEADER_SHOULD_RETRY)
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def ratelimit_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``anthropic-ratelimit-*`` headers of a response (lower-case names)."""
    return {
        k.lower(): v for k, v in headers.items() if k.lower().startswith(RATELIMIT_HEADER_PREFIX)
    }


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, *, model: str | None = None
) -> APIStatusError:
    """The typed error for a non-2xx answer, with the server's retry hints attached."""
    data = decode_json(body)
    if not isinstance(data, dict):
        text = body[:500].decode("utf-8", errors="replace").strip()
        data = {"type": "error", "error": {"type": None, "message": text or f"HTTP {status}"}}
    return error_for_status(
        status,
        data,
        {k.lower(): v for k, v in headers.items()},
        retry_after=retry_after_from_headers(headers),
        should_retry=should_retry_from_headers(headers),
        model=model,
    )
