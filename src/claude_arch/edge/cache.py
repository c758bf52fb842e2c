"""The exact-match answer cache: which requests may be answered from it, and under which key.

    >>> params = {"model": "claude-haiku-4-5", "max_tokens": 8,
    ...           "messages": [{"role": "user", "content": "Hi"}]}
    >>> reordered = dict(reversed(params.items()))
    >>> cache_key(params, scope="key_1", version="2023-06-01", beta="") == cache_key(
    ...     reordered, scope="key_1", version="2023-06-01", beta="")
    True
    >>> cache_key(params, scope="key_2", version="2023-06-01", beta="") == cache_key(
    ...     params, scope="key_1", version="2023-06-01", beta="")
    False

Two requests share an entry when their bodies are the same JSON (key order and spacing aside),
with the same ``anthropic-version`` and ``anthropic-beta``, from the same key (``scope``; the
edge's ``CLAUDE_ARCH_EDGE_CACHE_SHARED`` makes it one scope for all keys). Only complete,
successful, non-streaming answers are stored. A sampled answer (temperature above 0) is one draw:
the cache replays it, which is what a caller who opts in wants and what one who does not avoids
with ``cache-control: no-store`` (or ``no-cache``) on the request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["HEADER_CACHE", "bypasses_cache", "cache_key"]

HEADER_CACHE = "claude-arch-cache"
"""Response header: ``hit`` or ``miss`` (absent when the cache was not consulted)."""


def cache_key(params: Mapping[str, Any], *, scope: str, version: str, beta: str) -> str:
    """A SHA-256 hex digest naming the answer to ``params`` for one scope and protocol version."""
    canonical = json.dumps(
        [scope, version, beta, params], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def bypasses_cache(headers: Mapping[str, str]) -> bool:
    """True when the request asks not to be answered from, nor stored in, the cache.

    >>> bypasses_cache({"cache-control": "no-store"}), bypasses_cache({})
    (True, False)
    """
    directives = {d.strip().lower() for d in headers.get("cache-control", "").split(",")}
    return bool(directives & {"no-store", "no-cache"})
