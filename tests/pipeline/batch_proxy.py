"""A proxy in front of the emulator that stops batch mode at the moments a crash test needs:

- ``hold_creates``: a ``POST /v1/messages/batches`` waits (``held`` counts them) until
  :meth:`BatchProxy.release` forwards it to the emulator (the batch exists, and the dispatcher,
  killed meanwhile, never learned its id) or drops it (the create never reached the API);
- ``lose_create_answers``: the next N creates are forwarded, and the connection is closed
  instead of answering (the batch exists; the client sees a broken connection);
- ``stall_results_after``: a results file is sent up to that many lines, then the response
  stalls (``stalled`` counts them) until :meth:`BatchProxy.unstall`.

Everything else is passed through, with the proxy's host kept so the emulator's ``results_url``
points back at the proxy. Nothing in the pipeline knows it is there.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

from claude_arch.background import AiohttpServer

BATCHES = "/v1/messages/batches"
_HOP = {"host", "content-length", "transfer-encoding", "connection"}


class BatchProxy(AiohttpServer):
    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.hold_creates = False
        self.lose_create_answers = 0
        self.stall_results_after: int | None = None
        self.held = 0
        self.stalled = 0
        self.creates_forwarded = 0
        self._release = asyncio.Event()
        self._forward = True
        self._unstall = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    # --- control (from any thread) ---------------------------------------------------------------
    def release(self, *, forward: bool) -> None:
        """Let the held creates go on: to the emulator (``forward``) or nowhere."""
        self._forward = forward
        self._threadsafe(self._release.set)

    def unstall(self) -> None:
        """Send the rest of the stalled results files."""
        self._threadsafe(self._unstall.set)

    def _threadsafe(self, call: Any) -> None:
        loop = self.loop
        if loop is not None:
            loop.call_soon_threadsafe(call)
        else:
            call()

    # --- serving ---------------------------------------------------------------------------------
    async def start_async(self) -> BatchProxy:
        app = web.Application(client_max_size=300 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        await self.serve_app(app, "127.0.0.1", 0)
        return self

    async def close_async(self) -> None:
        self._release.set()
        self._unstall.set()
        await self.stop_app()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        create = request.method == "POST" and request.path == BATCHES
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        headers["Host"] = request.host
        if create and self.hold_creates:
            # shielded: like the API, the proxy goes on with a request whose client has died
            held = asyncio.ensure_future(self._held_create(request.path_qs, headers, body))
            answer = await asyncio.shield(held)
            if answer is None:
                return web.Response(status=502, text="dropped by the test's proxy")
            status, answer_headers, data = answer
            return web.Response(status=status, body=data, headers=answer_headers)
        lose = create and self.lose_create_answers > 0
        if lose:
            self.lose_create_answers -= 1
        assert self._session is not None
        async with self._session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body
        ) as upstream:
            data = await upstream.read()
            if create:
                self.creates_forwarded += 1
            if lose and request.transport is not None:
                request.transport.close()  # the batch exists; its id never arrives
                return web.Response(status=502)
            if request.path.endswith("/results") and self.stall_results_after is not None:
                return await self._stalled(request, upstream, data)
            return web.Response(status=upstream.status, body=data, headers=_answer(upstream))

    async def _held_create(
        self, path_qs: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        self.held += 1
        await self._release.wait()
        if not self._forward:
            return None
        assert self._session is not None
        async with self._session.post(self.upstream + path_qs, headers=headers, data=body) as up:
            data = await up.read()
            self.creates_forwarded += 1
            return up.status, _answer(up), data

    async def _stalled(
        self, request: web.Request, upstream: aiohttp.ClientResponse, data: bytes
    ) -> web.StreamResponse:
        lines = data.splitlines(keepends=True)
        cut = self.stall_results_after or 0
        response = web.StreamResponse(status=upstream.status, headers=_answer(upstream))
        await response.prepare(request)
        await response.write(b"".join(lines[:cut]))
        self.stalled += 1
        await self._unstall.wait()
        await response.write(b"".join(lines[cut:]))
        await response.write_eof()
        return response


def _answer(upstream: aiohttp.ClientResponse) -> dict[str, str]:
    return {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
