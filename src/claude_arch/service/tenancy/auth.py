"""Where a caller's service key comes from.

HTTP: ``x-api-key`` (the 0.x SDKs) or ``Authorization: Bearer`` (the 2.x SDKs). A browser cannot set
headers on a WebSocket, so there the key may also come as a subprotocol
(``claude-arch.key.<secret>``, beside ``claude-arch.v1``) or, last resort, a ``key`` query
parameter (which proxies may log: prefer the subprotocol).

    >>> key_from_headers({"authorization": "Bearer sk-ca-abc"})
    'sk-ca-abc'
    >>> key_from_subprotocols(["claude-arch.v1", "claude-arch.key.sk-ca-abc"])
    'sk-ca-abc'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from claude_arch.constants import HEADER_API_KEY, HEADER_AUTHORIZATION, WS_SUBPROTOCOL_KEY_PREFIX

__all__ = ["key_from_headers", "key_from_subprotocols"]


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    key = headers.get(HEADER_API_KEY)
    if key:
        return key.strip()
    auth = headers.get(HEADER_AUTHORIZATION)
    if auth:
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


def key_from_subprotocols(protocols: Iterable[str]) -> str | None:
    for proto in protocols:
        if proto.startswith(WS_SUBPROTOCOL_KEY_PREFIX):
            return proto.removeprefix(WS_SUBPROTOCOL_KEY_PREFIX) or None
    return None
