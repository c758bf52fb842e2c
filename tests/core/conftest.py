"""Real servers for the client tests, each in its own thread and event loop on a free port.

``stub_server``: a tiny aiohttp app (not our code) for transport-level behaviour.
``emulator``: the claude-arch emulator, unpaced, with its stats and faults at hand.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class StubServer:
    """A real HTTP server whose routes a test defines; it records what it saw."""

    url: str
    loop: asyncio.AbstractEventLoop
    seen: list[web.Request] = field(default_factory=list)
    disconnected: threading.Event = field(default_factory=threading.Event)


def _serve(app: web.Application) -> tuple[str, asyncio.AbstractEventLoop, Callable[[], None]]:
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    holder: dict[str, object] = {}

    async def start() -> None:
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.05)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        holder["url"] = f"http://127.0.0.1:{port}"
        holder["runner"] = runner
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "stub server did not start"

    async def shutdown() -> None:
        runner = holder["runner"]
        assert isinstance(runner, web.AppRunner)
        await runner.cleanup()
        # Handlers still waiting (a route that hangs on purpose) end here, not at loop close.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    return str(holder["url"]), loop, stop


@pytest.fixture
def stub_routes() -> dict[str, Handler]:
    """Routes of ``stub_server``: fill this dict before asking for the server."""
    return {}


@pytest.fixture
def stub_server(stub_routes: dict[str, Handler]) -> Iterator[StubServer]:
    app = web.Application()
    state: dict[str, StubServer] = {}

    def wrap(handler: Handler) -> Handler:
        async def recorded(request: web.Request) -> web.StreamResponse:
            state["server"].seen.append(request)
            return await handler(request)

        return recorded

    for path, handler in stub_routes.items():
        app.router.add_route("*", path, wrap(handler))
    url, loop, stop = _serve(app)
    state["server"] = StubServer(url, loop)
    yield state["server"]
    stop()


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    """The claude-arch emulator, unpaced, served from this test's event loop."""
    async with EmulatorServer(speed=0) as emu:
        yield emu


@pytest.fixture
def emulator_thread() -> Iterator[EmulatorServer]:
    """The emulator in a background thread, for the sync client (no event loop in the test)."""
    with EmulatorServer(speed=0) as emu:
        yield emu


@pytest.fixture
def settings() -> Settings:
    """Settings that ignore the environment and any .env file."""
    return Settings(_env_file=None)  # type: ignore[call-arg]


WaitFor = Callable[[Callable[[], object]], Awaitable[None]]


@pytest.fixture
def wait_for() -> WaitFor:
    """``await wait_for(lambda: condition)``: poll a condition another thread or server sets,
    failing after 10 s (there is no event to await across that boundary)."""

    async def wait(condition: Callable[[], object], limit_s: float = 10.0) -> None:
        async with asyncio.timeout(limit_s):
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    return wait
