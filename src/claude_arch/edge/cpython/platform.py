"""The edge core's platform under CPython: aiohttp for fetch, a dict for KV, memory for the cache.

    async with aiohttp.ClientSession() as session:
        platform = cpython_platform(session, kv_entries=load_kv_file("edge-keys.json"))
        app = EdgeApp(EdgeConfig.from_env(os.environ), platform)

This is what ``claude-arch edge serve`` runs; it is not uploaded with the worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp

from claude_arch.edge.platform import MemoryCache, MemoryKeyValue, Platform, UpstreamResponse

__all__ = ["AiohttpFetcher", "cpython_platform", "load_kv_file"]

_CONNECT_TIMEOUT_S = 5.0
_READ_TIMEOUT_S = 600.0  # a long answer streams for minutes: the Messages API's own limit


class _AiohttpAnswer:
    """An aiohttp response as an :class:`UpstreamResponse`; released when read or streamed."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status

    def header(self, name: str) -> str | None:
        return self._response.headers.get(name)

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        finally:
            self._response.release()

    def stream(self) -> object:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        finally:
            self._response.release()


class AiohttpFetcher:
    """POST upstream through one shared ``aiohttp.ClientSession`` (its connection pool)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __call__(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        timeout = aiohttp.ClientTimeout(sock_connect=_CONNECT_TIMEOUT_S, sock_read=_READ_TIMEOUT_S)
        try:
            response = await self._session.post(
                url, headers=dict(headers), data=body, timeout=timeout, auto_decompress=True
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OSError(type(exc).__name__) from None
        return _AiohttpAnswer(response)


def load_kv_file(path: Path | str) -> dict[str, str]:
    """KV entries from a file in ``wrangler kv bulk put``'s format (a list of ``{key, value}``),
    as ``claude-arch edge keys-export`` writes it."""
    data = json.loads(Path(path).read_text("utf-8"))
    if not isinstance(data, list) or not all(
        isinstance(e, dict) and isinstance(e.get("key"), str) and isinstance(e.get("value"), str)
        for e in data
    ):
        raise ValueError(f"{path}: expected a JSON list of {{'key': str, 'value': str}} entries")
    return {entry["key"]: entry["value"] for entry in data}


def cpython_platform(
    session: aiohttp.ClientSession,
    *,
    kv_entries: Mapping[str, str] | None = None,
    cache_size: int = 1000,
) -> Platform:
    """A :class:`Platform` of one process: KV and cache live in memory, fetch is aiohttp."""
    return Platform(
        fetch=AiohttpFetcher(session),
        kv=MemoryKeyValue(kv_entries, clock=time.time),
        cache=MemoryCache(size=cache_size, clock=time.time),
        clock=time.time,
    )
