"""CORS headers for a function's answer, from ``CLAUDE_ARCH_FUNCTION_CORS_ORIGINS``.

>>> cors_headers("https://app.example", ("https://app.example",), preflight=False)
{'access-control-allow-origin': 'https://app.example', 'vary': 'origin'}
>>> cors_headers("https://evil.example", ("https://app.example",), preflight=False)
{}
"""

from __future__ import annotations

__all__ = ["cors_headers"]

_CORS_METHODS = "POST, OPTIONS"
_CORS_HEADERS = "content-type, authorization, x-api-key, idempotency-key"
_CORS_MAX_AGE_S = "600"


def cors_headers(
    origin: str | None, allowed: tuple[str, ...], *, preflight: bool
) -> dict[str, str]:
    """The CORS headers for a request from ``origin`` (none when it is not allowed)."""
    if not allowed or origin is None:
        return {}
    if "*" in allowed:
        headers = {"access-control-allow-origin": "*"}
    elif origin in allowed:
        headers = {"access-control-allow-origin": origin, "vary": "origin"}
    else:
        return {}
    if preflight:
        headers["access-control-allow-methods"] = _CORS_METHODS
        headers["access-control-allow-headers"] = _CORS_HEADERS
        headers["access-control-max-age"] = _CORS_MAX_AGE_S
    return headers
