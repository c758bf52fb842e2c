"""CORS for browsers calling the edge: which origins may, what they may send and read.

    >>> cors = Cors(frozenset({"https://app.example.com"}))
    >>> cors.headers("https://app.example.com")["access-control-allow-origin"]
    'https://app.example.com'
    >>> cors.headers("https://evil.example.net")
    {}

``origins`` is the set of allowed origins (``*`` allows any); empty turns CORS off, so browsers
refuse cross-origin calls. A browser holding an edge key shows that key to its user: give each
user (or each browser app) its own key with its own limit, never a shared one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from claude_arch.edge import protocol_data as protocol
from claude_arch.edge.cache import HEADER_CACHE

__all__ = ["Cors"]

_EXPOSED = ", ".join(
    [
        protocol.HEADER_REQUEST_ID,
        protocol.HEADER_RETRY_AFTER,
        HEADER_CACHE,
        *(
            f"{protocol.RATELIMIT_HEADER_PREFIX}requests-{part}"
            for part in ("limit", "remaining", "reset")
        ),
    ]
)
_PREFLIGHT_MAX_AGE_S = "600"


@dataclass(frozen=True, slots=True)
class Cors:
    """The CORS policy of the edge."""

    origins: frozenset[str]

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and ("*" in self.origins or origin in self.origins)

    def headers(self, origin: str | None) -> dict[str, str]:
        """Headers for an actual response to ``origin`` (empty when it is not allowed)."""
        if not origin or not self.allows(origin):
            return {}
        return {
            "access-control-allow-origin": "*" if "*" in self.origins else origin,
            "access-control-expose-headers": _EXPOSED,
            "vary": "origin",
        }

    def preflight(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers answering an ``OPTIONS`` preflight (empty when the origin is not allowed)."""
        allowed = self.headers(headers.get("origin"))
        if not allowed:
            return {}
        requested = headers.get("access-control-request-headers", "")
        return {
            **allowed,
            "access-control-allow-methods": "POST, OPTIONS",
            "access-control-allow-headers": requested
            or "content-type, x-api-key, authorization, anthropic-version, anthropic-beta",
            "access-control-max-age": _PREFLIGHT_MAX_AGE_S,
        }
