"""The async hot path: one pooled ``aiohttp`` session per transport.

Chosen by measurement (see ``bench/bench_client.py``): per request it adds less than the httpx
family on one core.

    transport = AiohttpTransport()
    response = await transport.send(WireRequest("GET", "http://127.0.0.1:4010/v1/models", {}))
    body = await response.read()
    await transport.aclose()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import aiohttp
import yarl

from claude_arch.core.transports.base import WireRequest, no_answer
from claude_arch.errors import APIConnectionError, APITimeoutError

__all__ = ["AiohttpResponse", "AiohttpTransport"]


def _described(exc: BaseException) -> str:
    """An aiohttp error for our messages. Never its repr: a ClientResponseError's repr shows its
    request_info, whose headers carry the API key."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{type(exc).__name__}({exc.status}, {exc.message!r})"
    return repr(exc)


class AiohttpResponse:
    __slots__ = ("_response", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except TimeoutError as exc:
            raise APITimeoutError("timed out reading the response") from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(
                f"connection lost reading the response: {_described(exc)}"
            ) from exc
        finally:
            self._response.release()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except TimeoutError as exc:
            raise APITimeoutError("timed out reading the stream") from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(
                f"connection lost reading the stream: {_described(exc)}"
            ) from exc

    async def aclose(self) -> None:
        # close(), not release(): an unread stream must drop its connection so upstream stops.
        if not self._response.closed:
            self._response.close()


class AiohttpTransport:
    """An :class:`~claude_arch.core.transports.base.AsyncTransport` over one aiohttp session,
    created on first use inside the running loop."""

    def __init__(self, *, max_connections: int = 1000, keepalive_s: float = 30.0) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}
        self._urls: dict[str, yarl.URL] = {}

    def _open(self) -> aiohttp.ClientSession:
        self._loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, keepalive_timeout=self._keepalive_s
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
            raise_for_status=False,
        )
        return self._session

    def _timeout(self, request: WireRequest) -> aiohttp.ClientTimeout:
        key = (request.timeout, request.connect_timeout)
        timeout = self._timeouts.get(key)
        if timeout is None:
            # Per read, as httpx (and so the official SDK) times out: a total would cut a
            # stream that is still sending (long answers must stream); the caller's deadline
            # bounds the whole call.
            timeout = aiohttp.ClientTimeout(total=None, connect=key[1], sock_read=key[0])
            if len(self._timeouts) < 64:  # per-call deadlines make many distinct keys
                self._timeouts[key] = timeout
        return timeout

    def _url(self, url: str) -> yarl.URL:
        """``url`` parsed once: a client calls a handful of URLs, and aiohttp would parse the
        string on every request (about 1% of a gateway's CPU)."""
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = yarl.URL(url)
            if len(self._urls) < 256:  # batch result URLs carry ids: bounded
                self._urls[url] = parsed
        return parsed

    async def send(self, request: WireRequest) -> AiohttpResponse:
        session = self._session
        if session is None or session.closed or self._loop is not asyncio.get_running_loop():
            # A session belongs to one loop: a client reused across asyncio.run() calls (a
            # Celery task per run, say) gets a fresh pool in each loop.
            session = self._open()
        try:
            response = await session.request(
                request.method,
                self._url(request.url),
                data=request.body,
                headers=request.headers,
                timeout=self._timeout(request),
                allow_redirects=False,
            )
        except TimeoutError as exc:
            raise no_answer(request.url, exc, "timed out", timed_out=True) from exc
        except aiohttp.ClientError as exc:
            raise no_answer(request.url, exc, _described(exc)) from exc
        return AiohttpResponse(response)

    async def aclose(self) -> None:
        same_loop = self._loop is asyncio.get_running_loop()
        if self._session is not None and not self._session.closed and same_loop:
            await self._session.close()
            # Let the connector finish closing its sockets (aiohttp's documented idiom).
            await asyncio.sleep(0)
        self._session = None
