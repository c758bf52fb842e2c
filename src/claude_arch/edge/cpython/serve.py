"""``claude-arch edge serve``: the edge core as a local HTTP server, to try the worker offline.

    async with EdgeServer(EdgeConfig(upstream_url=emu.url, upstream_key=emu.api_key),
                          kv_entries=load_kv_file("edge-keys.json")) as edge:
        client = anthropic.AsyncAnthropic(base_url=edge.url, api_key=secret)

The server (aiohttp.web, as the emulator's) turns each request into an
:class:`~claude_arch.edge.platform.EdgeRequest`, lets :class:`~claude_arch.edge.handler.EdgeApp`
answer it and writes a stream chunk by chunk as the upstream sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, cast

import aiohttp
from aiohttp import web

from claude_arch.background import AiohttpServer
from claude_arch.edge.config import EdgeConfig
from claude_arch.edge.cpython.platform import cpython_platform
from claude_arch.edge.handler import EdgeApp
from claude_arch.edge.platform import EdgeRequest, EdgeResponse

__all__ = ["EdgeServer"]

_APP_KEY = web.AppKey("edge", EdgeApp)


def _edge_request(request: web.Request) -> EdgeRequest:
    async def read_body(limit: int) -> bytes:
        return await request.content.read(limit + 1)

    headers = {name.lower(): value for name, value in request.headers.items()}
    return EdgeRequest(
        request.method,
        request.path_qs,
        headers,
        read_body,
        origin=f"{request.scheme}://{request.host}",
    )


async def _respond(request: web.Request, answer: EdgeResponse) -> web.StreamResponse:
    if answer.stream is None:
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    await response.prepare(request)
    chunks = cast(AsyncIterator[bytes], answer.stream)
    try:
        async for chunk in chunks:
            await response.write(chunk)  # each event as it comes: nothing is held back
    finally:
        await cast(Any, chunks).aclose()
    await response.write_eof()
    return response


async def _handle(request: web.Request) -> web.StreamResponse:
    answer = await request.app[_APP_KEY].handle(_edge_request(request))
    return await _respond(request, answer)


class EdgeServer(AiohttpServer):
    """The edge core on a local port (``port=0``: a free one), over an aiohttp client session."""

    thread_name = "claude-arch-edge"

    def __init__(
        self,
        config: EdgeConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        kv_entries: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.host = host
        self.port = port
        self.kv_entries = dict(kv_entries or {})
        self._session: aiohttp.ClientSession | None = None
        self.edge: EdgeApp | None = None

    async def start_async(self) -> EdgeServer:
        self._session = aiohttp.ClientSession()
        self.edge = EdgeApp(
            self.config, cpython_platform(self._session, kv_entries=self.kv_entries)
        )
        app = web.Application(client_max_size=self.config.max_body_bytes + 1)
        app[_APP_KEY] = self.edge
        app.router.add_route("*", "/{tail:.*}", _handle)
        await self.serve_app(app, self.host, self.port)
        return self

    async def close_async(self) -> None:
        await self.stop_app()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def serve_forever(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in this thread until interrupted (what the CLI runs); ``on_ready(url)`` once
        listening."""

        async def run() -> None:
            await self.start_async()
            if on_ready is not None:
                on_ready(self.url)
            try:
                await asyncio.Event().wait()
            finally:
                await self.close_async()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
