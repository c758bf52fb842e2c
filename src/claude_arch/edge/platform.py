"""The edge core's boundary with its platform: fetch, a key-value store, a response cache, a clock.

The same core runs on Cloudflare Workers (:mod:`claude_arch.edge.on_workers`: ``js.fetch``,
Workers KV, ``caches.default``, ``ctx.waitUntil``) and under CPython
(:mod:`claude_arch.edge.cpython.platform`: aiohttp, a dict or a JSON file, an in-memory TTL
cache). A test can build a :class:`Platform` from plain objects:

    >>> import asyncio
    >>> kv = MemoryKeyValue(clock=lambda: 0.0)
    >>> asyncio.run(kv.put("greeting", "hi", ttl_s=60)); asyncio.run(kv.get("greeting"))
    'hi'

Everything here is the standard library only: it is uploaded with the worker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "CachedAnswer",
    "EdgeRequest",
    "EdgeResponse",
    "Fetcher",
    "KeyValue",
    "MemoryCache",
    "MemoryKeyValue",
    "Platform",
    "ResponseCache",
    "UpstreamResponse",
]


@dataclass(frozen=True, slots=True)
class EdgeRequest:
    """An incoming request: ``headers`` with lower-case names; the body is read on demand.

    ``read_body(limit)`` returns the body, or at least ``limit + 1`` bytes of it when it is longer,
    so an oversize body is refused without holding all of it.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    read_body: Callable[[int], Awaitable[bytes]]
    origin: str = ""
    """The scheme and host the request came to (``https://edge.example.com``): cache keys
    live under it."""
    defer: Callable[[Coroutine[Any, Any, None]], None] | None = None
    """Runs work after the response for this request (Workers: its ``ctx.waitUntil``); None:
    the platform's own ``defer``."""


@dataclass(slots=True)
class EdgeResponse:
    """What the core answers: a whole ``body``, or ``stream``, the upstream's body unread.

    ``stream`` is opaque to the core (a JavaScript ``ReadableStream`` on Workers, an async
    iterator of bytes under CPython); the platform hands it to its client as it comes.
    """

    status: int
    headers: dict[str, str]
    body: bytes = b""
    stream: object | None = None


class UpstreamResponse(Protocol):
    """An answer from the Messages API (or a claude-arch service), body not yet read."""

    status: int

    def header(self, name: str) -> str | None:
        """One response header (lower-case ``name``), or None."""
        ...

    async def read(self) -> bytes:
        """The whole body."""
        ...

    def stream(self) -> object:
        """The body as the platform's stream, unread: handed to the client chunk by chunk."""
        ...


class Fetcher(Protocol):
    """POST a JSON body upstream; raise ``OSError`` when no answer comes (refused, reset, DNS)."""

    async def __call__(
        self, url: str, headers: Mapping[str, str], body: bytes
    ) -> UpstreamResponse: ...


class KeyValue(Protocol):
    """A string store with per-entry expiry (Workers KV: eventually consistent, ``ttl_s`` ≥ 60)."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, *, ttl_s: int | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A stored non-streaming answer: status 200, its headers and body, and when it was stored."""

    headers: dict[str, str]
    body: bytes
    stored_at: float


class ResponseCache(Protocol):
    """Answers by key for ``ttl_s`` seconds (the Cache API: per data centre, best effort)."""

    async def get(self, key: str, origin: str) -> CachedAnswer | None: ...

    async def put(self, key: str, origin: str, answer: CachedAnswer, *, ttl_s: int) -> None: ...


@dataclass(slots=True)
class Platform:
    """What the core needs from where it runs.

    ``defer`` runs work after the response (Workers: ``ctx.waitUntil``); ``clock`` is wall time
    in seconds (window counters must agree between isolates).
    """

    fetch: Fetcher
    kv: KeyValue | None
    cache: ResponseCache | None
    clock: Callable[[], float] = time.time
    defer: Callable[[Coroutine[Any, Any, None]], None] = field(default_factory=lambda: _spawn)


_PENDING: set[asyncio.Task[None]] = set()


def _spawn(work: Coroutine[Any, Any, None]) -> None:
    # a reference is kept until the task ends: the loop holds tasks only weakly
    task = asyncio.ensure_future(work)
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


class MemoryKeyValue:
    """A :class:`KeyValue` in a dict, expiring entries by ``clock``; ``data`` may be preloaded
    (keys made with ``claude-arch edge keys-export``)."""

    def __init__(
        self, data: Mapping[str, str] | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float | None]] = {
            key: (value, None) for key, value in (data or {}).items()
        }

    async def get(self, key: str) -> str | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= self._clock():
            del self._data[key]
            return None
        return value

    async def put(self, key: str, value: str, *, ttl_s: int | None = None) -> None:
        self._data[key] = (value, None if ttl_s is None else self._clock() + ttl_s)


class MemoryCache:
    """A :class:`ResponseCache` in a dict (one process): at most ``size`` answers, the oldest
    dropped first."""

    def __init__(self, *, size: int = 1000, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._size = size
        self._data: dict[str, tuple[CachedAnswer, float]] = {}

    async def get(self, key: str, origin: str) -> CachedAnswer | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._data[key]
            return None
        return entry[0]

    async def put(self, key: str, origin: str, answer: CachedAnswer, *, ttl_s: int) -> None:
        self._data.pop(key, None)
        self._data[key] = (answer, self._clock() + ttl_s)
        while len(self._data) > self._size:
            del self._data[next(iter(self._data))]
