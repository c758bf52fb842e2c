"""Prompt caching: ``cache_control`` breakpoints write, then read, prefix entries with a TTL.

    >>> now = [0.0]
    >>> cache = PromptCache(min_tokens=10, clock=lambda: now[0])
    >>> params = {"model": "m", "system": [{"type": "text", "text": "word " * 40,
    ...           "cache_control": {"type": "ephemeral"}}],
    ...           "messages": [{"role": "user", "content": "hi"}]}
    >>> first = cache.apply(params, scope="k", total_tokens=50)
    >>> (first.read, first.created_5m) == (0, 43)
    True
    >>> cache.apply(params, scope="k", total_tokens=50).read
    43
    >>> now[0] = 301.0   # five minutes later: expired (a read would have refreshed it)
    >>> cache.apply(params, scope="k", total_tokens=50).read
    0

Breakpoints are taken in the API's order (tools, system, messages; a top-level ``cache_control``
marks the last block of the last message). A breakpoint whose prefix is shorter than
``min_tokens`` is not cached, as on the real API. Token counts use ``claude_arch.core.tokens``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from claude_arch.core.tokens import (
    MESSAGE_OVERHEAD,
    SYSTEM_OVERHEAD,
    TOOLS_OVERHEAD,
    count_content,
    count_text,
)
from claude_arch.errors import InvalidRequestError

__all__ = ["CacheUsage", "PromptCache"]

MAX_BREAKPOINTS = 4
_TTL_S = {"5m": 300.0, "1h": 3600.0}
_MAX_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class CacheUsage:
    read: int = 0
    created_5m: int = 0
    created_1h: int = 0

    @property
    def created(self) -> int:
        return self.created_5m + self.created_1h


_NO_CACHE = CacheUsage()


def _ttl_of(block: Mapping[str, Any]) -> str | None:
    control = block.get("cache_control")
    if isinstance(control, Mapping):
        return str(control.get("ttl") or "5m")
    return None


def _dump(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def _breakpoints(params: Mapping[str, Any]) -> Iterator[tuple[int, bytes, str]]:
    """(prefix tokens, prefix digest, ttl) at every breakpoint, in prompt order."""
    running = hashlib.blake2b(str(params.get("model")).encode(), digest_size=16)
    tokens = 0
    tools = [t for t in params.get("tools") or () if isinstance(t, Mapping)]
    for i, tool in enumerate(tools):
        running.update(_dump(tool))
        ttl = _ttl_of(tool)
        if ttl:
            prefix = TOOLS_OVERHEAD + count_text(json.dumps(tools[: i + 1], separators=(",", ":")))
            yield prefix, running.digest(), ttl
    if tools:
        tokens = TOOLS_OVERHEAD + count_text(json.dumps(tools, separators=(",", ":")))
    system = params.get("system")
    if isinstance(system, str) and system:
        running.update(system.encode("utf-8", "surrogatepass"))  # JSON allows lone surrogates
        tokens += SYSTEM_OVERHEAD + count_text(system)
    elif isinstance(system, list) and system:
        tokens += SYSTEM_OVERHEAD
        for block in system:
            running.update(_dump(block))
            tokens += count_content([block])
            ttl = _ttl_of(block)
            if ttl:
                yield tokens, running.digest(), ttl
    messages = list(params.get("messages") or ())
    auto = params.get("cache_control")
    for m_index, message in enumerate(messages):
        tokens += MESSAGE_OVERHEAD
        running.update(str(message.get("role")).encode())
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for b_index, block in enumerate(blocks or ()):
            running.update(_dump(block))
            tokens += count_content([block])
            ttl = _ttl_of(block)
            last = m_index == len(messages) - 1 and b_index == len(blocks) - 1
            if ttl is None and last and isinstance(auto, Mapping):
                ttl = str(auto.get("ttl") or "5m")
            if ttl:
                yield tokens, running.digest(), ttl


class PromptCache:
    """Entries keyed by (scope, prefix digest) with an expiry that every read refreshes."""

    def __init__(self, *, min_tokens: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._min = min_tokens
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, bytes], tuple[float, int, str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _evict(self, now: float) -> None:
        """Drop expired entries, then the least recently used down to 3/4 of the cap.

        Evicting a quarter at once keeps this O(1) per request on average; the real API may
        also evict a prefix before its TTL.
        """
        live = {k: v for k, v in self._entries.items() if v[0] > now}
        for key in list(itertools.islice(live, max(0, len(live) - _MAX_ENTRIES * 3 // 4))):
            del live[key]
        self._entries = live

    def cached(self, params: Mapping[str, Any], *, scope: str) -> int:
        """Tokens a request would read from the cache now, changing nothing.

        Rate limits admit on this: cache reads do not count against input tokens per minute.
        """
        now = self._clock()
        with self._lock:
            for _, digest, _ttl in reversed(list(_breakpoints(params))[:MAX_BREAKPOINTS]):
                entry = self._entries.get((scope, digest))
                if entry is not None and entry[0] > now:
                    return entry[1]
        return 0

    def apply(self, params: Mapping[str, Any], *, scope: str, total_tokens: int) -> CacheUsage:
        """Read the longest cached prefix, write the breakpoints after it; report the tokens."""
        points = list(_breakpoints(params))
        if not points:
            return _NO_CACHE
        if len(points) > MAX_BREAKPOINTS:
            raise InvalidRequestError(
                f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {len(points)}.",
                field="cache_control",
            )
        now = self._clock()
        with self._lock:
            if len(self._entries) > _MAX_ENTRIES:
                self._evict(now)
            read, hit = 0, -1
            for i in range(len(points) - 1, -1, -1):
                tokens, digest, _ = points[i]
                entry = self._entries.get((scope, digest))
                if entry is not None and entry[0] > now:
                    read, hit = entry[1], i
                    # Re-inserted, so the dict's order stays least recently used first.
                    del self._entries[(scope, digest)]
                    self._entries[(scope, digest)] = (now + _TTL_S[entry[2]], entry[1], entry[2])
                    break
            created = {"5m": 0, "1h": 0}
            covered = read
            for tokens, digest, ttl in points[hit + 1 :]:
                if tokens < self._min or tokens > total_tokens or tokens <= covered:
                    continue
                self._entries.pop((scope, digest), None)
                self._entries[(scope, digest)] = (now + _TTL_S.get(ttl, 300.0), tokens, ttl)
                created[ttl if ttl in created else "5m"] += tokens - covered
                covered = tokens
        return CacheUsage(read=read, created_5m=created["5m"], created_1h=created["1h"])
