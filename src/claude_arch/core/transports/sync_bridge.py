"""An async transport used from blocking code: its own event loop in a daemon thread.

The platform transports (Bedrock, Vertex, several providers behind one) are written once, for
asyncio; :class:`SyncClaudeClient <claude_arch.core.sync_client.SyncClaudeClient>` (the Lambda
handlers, scripts) reaches them through this bridge: each ``send``, ``read`` and chunk of a
stream is run on the bridge's loop and waited for, so the calling thread blocks as with httpx.

    transport = SyncBridge(lambda: upstream_transport(settings, fallbacks, AiohttpTransport()))
    client = SyncClaudeClient(settings, transport=transport)

The async transport is built on the bridge's loop (``make`` runs there), since aiohttp's
sessions belong to the loop that made them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from typing import Any, TypeVar

from claude_arch.core.transports.base import AsyncResponse, AsyncTransport, WireRequest

__all__ = ["SyncBridge"]

T = TypeVar("T")


class _BridgedResponse:
    """An :class:`AsyncResponse` read from a blocking thread."""

    def __init__(self, bridge: SyncBridge, inner: AsyncResponse) -> None:
        self._bridge = bridge
        self._inner = inner
        self.status = inner.status
        self.headers: Mapping[str, str] = inner.headers

    def read(self) -> bytes:
        return self._bridge.run(self._inner.read())

    def iter_chunks(self) -> Iterator[bytes]:
        chunks: AsyncIterator[bytes] = self._inner.iter_chunks()
        while True:
            try:
                yield self._bridge.run(_next(chunks))
            except StopAsyncIteration:
                return

    def close(self) -> None:
        self._bridge.run(self._inner.aclose())


async def _next(chunks: AsyncIterator[bytes]) -> bytes:
    return await chunks.__anext__()


class SyncBridge:
    """A :class:`~claude_arch.core.transports.base.SyncTransport` over the async transport that
    ``make`` builds; thread-safe (calls from many threads share the one loop)."""

    def __init__(self, make: Callable[[], AsyncTransport]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="claude-arch-sync-bridge", daemon=True
        )
        self._thread.start()
        self._transport = self.run(_build(make))

    def __repr__(self) -> str:
        return f"SyncBridge({self._transport!r})"

    @property
    def transport(self) -> AsyncTransport:
        """The async transport behind the bridge."""
        return self._transport

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the bridge's loop and wait for its result (or its exception)."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def send(self, request: WireRequest) -> _BridgedResponse:
        return _BridgedResponse(self, self.run(self._transport.send(request)))

    def close(self) -> None:
        """Close the async transport, then stop the loop and its thread."""
        if self._loop.is_closed():
            return
        try:
            self.run(self._transport.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()


async def _build(make: Callable[[], AsyncTransport]) -> AsyncTransport:
    return make()
