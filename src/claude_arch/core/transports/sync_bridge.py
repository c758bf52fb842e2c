"""An async transport used from blocking code: its own event loop in a daemon thread.

The platform transports (Bedrock, Vertex, several providers behind one) are written once, for
asyncio; :class:`SyncClaudeClient <claude_arch.core.sync_client.SyncClaudeClient>` (the Lambda
handlers, scripts) reaches them through this bridge: each ``send``, ``read`` and chunk of a
stream is run on the bridge's loop and waited for, so the calling thread blocks as with httpx.

    transport = SyncBridge(lambda: upstream_transport(settings, fallbacks, AiohttpTransport()))
    client = SyncClaudeClient(settings, transport=transport)

The async transport is built on the bridge's loop (``make`` runs there), since aiohttp's
sessions belong to the loop that made them.

A stream's chunks are read ahead on the bridge's loop (at most :data:`READ_AHEAD` of them
waiting) and handed over in batches: the blocking reader takes everything read so far at each
wake-up, so a stream costs a thread hop per batch rather than a round trip through the loop per
chunk (bench/README.md § bench_platforms.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from typing import Any, TypeVar

from claude_arch.core.transports.base import AsyncResponse, AsyncTransport, WireRequest

__all__ = ["READ_AHEAD", "SyncBridge"]

T = TypeVar("T")
READ_AHEAD = 64
"""Chunks of a stream read ahead of the blocking reader at most; then reading pauses."""


class _BridgedResponse:
    """An :class:`AsyncResponse` read from a blocking thread."""

    def __init__(self, bridge: SyncBridge, inner: AsyncResponse) -> None:
        self._bridge = bridge
        self._inner = inner
        self._pump: _ChunkPump | None = None
        self.status = inner.status
        self.headers: Mapping[str, str] = inner.headers

    def read(self) -> bytes:
        return self._bridge.run(self._inner.read())

    def iter_chunks(self) -> Iterator[bytes]:
        self._pump = _ChunkPump(self._bridge, self._inner.iter_chunks())
        return self._pump.chunks()

    def close(self) -> None:
        if self._pump is not None:
            self._pump.stop()
        self._bridge.run(self._inner.aclose())


_END = object()
"""Put after the last chunk (and after the error, when reading failed)."""


class _ChunkPump:
    """Reads ``chunks`` on the bridge's loop ahead of the blocking reader, which takes all that
    is waiting at each wake-up. An error while reading reaches the reader after the chunks read
    before it; :meth:`stop` ends the reading (the reader then sees the stream end)."""

    def __init__(self, bridge: SyncBridge, chunks: AsyncIterator[bytes]) -> None:
        self._bridge = bridge
        self._chunks = chunks
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = False
        self._paused = False
        self._room = asyncio.Event()
        self._task: asyncio.Future[None] | None = None
        bridge.run(self._start())

    async def _start(self) -> None:
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        put = self._queue.put
        try:
            async for chunk in self._chunks:
                put(chunk)
                if self._queue.qsize() >= READ_AHEAD:
                    # flag first, then look again: a reader that drained the queue before it
                    # saw the flag has left room (no wait); one that drains after it sees the
                    # flag and sets the event this wait is for
                    self._room.clear()
                    self._paused = True
                    if self._queue.qsize() >= READ_AHEAD:
                        await self._room.wait()
        except asyncio.CancelledError:
            pass  # stopped: the reader sees the end
        except Exception as exc:  # handed to the reader, raised in its thread
            put(_Failed(exc))
        finally:
            aclose = getattr(self._chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await aclose()
            self._done = True
            put(_END)

    def chunks(self) -> Iterator[bytes]:
        get, get_nowait = self._queue.get, self._queue.get_nowait
        while True:
            batch = [get()]
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(get_nowait())
            if self._paused:
                self._paused = False
                self._bridge.call_soon(self._room.set)
            for item in batch:
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item

    def stop(self) -> None:
        """Stop reading and wait until the reading has ended."""
        if not self._done:
            self._bridge.run(self._stop())

    async def _stop(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class SyncBridge:
    """A :class:`~claude_arch.core.transports.base.SyncTransport` over the async transport that
    ``make`` builds; thread-safe (calls from many threads share the one loop)."""

    def __init__(self, make: Callable[[], AsyncTransport]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="claude-arch-sync-bridge", daemon=True
        )
        self._thread.start()
        try:
            self._transport = self.run(_build(make))
        except BaseException:  # a settings error (what to set): no thread is left behind
            self._stop_loop()
            raise

    def __repr__(self) -> str:
        return f"SyncBridge({self._transport!r})"

    @property
    def transport(self) -> AsyncTransport:
        """The async transport behind the bridge."""
        return self._transport

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the bridge's loop and wait for its result (or its exception)."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Have the bridge's loop call ``callback`` (without waiting for it)."""
        self._loop.call_soon_threadsafe(callback)

    def send(self, request: WireRequest) -> _BridgedResponse:
        return _BridgedResponse(self, self.run(self._transport.send(request)))

    def close(self) -> None:
        """Close the async transport, then stop the loop and its thread."""
        if self._loop.is_closed():
            return
        try:
            self.run(self._transport.aclose())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


async def _build(make: Callable[[], AsyncTransport]) -> AsyncTransport:
    return make()
