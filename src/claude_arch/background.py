"""``BackgroundServer``: an asyncio server that a test runs in its own loop or in a thread.

    async with MyServer() as server:    # in this event loop: start_async / close_async
        ...
    with MyServer() as server:          # in a thread with a loop of its own: for sync code
        ...

A subclass supplies :meth:`start_async` (listen; set ``url``) and :meth:`close_async`; both the
emulator's and the service's test servers are built on it.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from claude_arch.errors import ConfigError

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["AiohttpServer", "BackgroundServer"]


class BackgroundServer:
    """Start and stop an async server from async code (this loop) or sync code (a thread)."""

    thread_name = "claude-arch-server"
    start_timeout_s = 10.0

    def __init__(self) -> None:
        self.url = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start_async(self) -> Self:
        """Start serving in the running loop; ``url`` is set when this returns."""
        raise NotImplementedError

    async def close_async(self) -> None:
        """Stop serving (a no-op when not serving)."""
        raise NotImplementedError

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop of the thread that :meth:`start` runs, while it runs."""
        return self._loop

    def start(self) -> Self:
        """Serve from a background thread with its own event loop; returns once listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # reported to the starting thread below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.close_async())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(self.start_timeout_s):
            raise ConfigError(f"{self.thread_name} did not start within {self.start_timeout_s} s")
        if failure:
            raise ConfigError(f"{self.thread_name} could not start: {failure[0]!r}") from failure[0]
        return self

    def close(self) -> None:
        """Stop the background server (a no-op when it is not running)."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self.start_timeout_s)
            self._loop = None
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close_async()


class AiohttpServer(BackgroundServer):
    """A :class:`BackgroundServer` serving an aiohttp application (the emulator, the edge):
    :meth:`serve_app` listens and sets ``url``; :meth:`stop_app` stops it."""

    shutdown_timeout_s = 0.5
    """Streams still open at close get this long to finish before they are cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self._runner: Any = None

    async def serve_app(self, app: web.Application, host: str, port: int) -> None:
        """Serve ``app`` on ``host:port`` (0: a free port) in the running loop."""
        from aiohttp import web

        runner = web.AppRunner(
            app,
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=self.shutdown_timeout_s,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        self._runner = runner
        self.url = f"http://{bound_host}:{bound_port}"

    async def stop_app(self) -> None:
        """Stop serving (a no-op when not serving)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
