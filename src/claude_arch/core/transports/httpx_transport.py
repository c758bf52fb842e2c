"""httpx transports: the sync one behind ``SyncClaudeClient`` (Lambda, Celery: no event loop), and
an async one kept for comparison in ``bench/`` (pass ``module=httpx2`` to measure that line).

    transport = HttpxTransport()
    response = transport.send(WireRequest("GET", "http://127.0.0.1:4010/v1/models", {}))
    body = response.read()
    transport.close()

httpx times out per operation (connect, each read), not per exchange: the sync client checks its
deadline between stream chunks and gives each request the time that remains.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from types import ModuleType
from typing import Any

import httpx

from claude_arch.core.transports.base import WireRequest, no_answer
from claude_arch.errors import APIConnectionError

__all__ = ["HttpxAsyncTransport", "HttpxResponse", "HttpxTransport"]


def _wrap(module: Any, exc: Exception, what: str) -> APIConnectionError:
    """``what``: the request's URL, or what was being read."""
    timed_out = isinstance(exc, module.TimeoutException)
    return no_answer(what, exc, repr(exc), timed_out=timed_out)


def _timeout(module: Any, request: WireRequest) -> Any:
    return module.Timeout(request.timeout, connect=request.connect_timeout)


def _limits(module: Any, max_connections: int) -> Any:
    return module.Limits(max_connections=max_connections, max_keepalive_connections=100)


class HttpxResponse:
    """A response of either httpx transport (sync methods for the sync one, async for the other)."""

    __slots__ = ("_errors", "_module", "_response", "headers", "status")

    def __init__(self, response: Any, module: Any) -> None:
        self._response = response
        self._module = module
        self._errors: tuple[type[Exception], ...] = (module.TransportError, module.StreamError)
        self.status: int = response.status_code
        self.headers: Mapping[str, str] = response.headers

    def read(self) -> bytes:
        try:
            return bytes(self._response.read())
        except self._errors as exc:
            raise _wrap(self._module, exc, "reading the response") from exc
        finally:
            self._response.close()

    def iter_chunks(self) -> Iterator[bytes]:
        try:
            yield from self._response.iter_bytes()
        except self._errors as exc:
            raise _wrap(self._module, exc, "reading the stream") from exc

    def close(self) -> None:
        self._response.close()

    async def aread(self) -> bytes:
        try:
            return bytes(await self._response.aread())
        except self._errors as exc:
            raise _wrap(self._module, exc, "reading the response") from exc
        finally:
            await self._response.aclose()

    async def aiter_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except self._errors as exc:
            raise _wrap(self._module, exc, "reading the stream") from exc

    async def aclose(self) -> None:
        await self._response.aclose()


class _AsyncView:
    """Presents an :class:`HttpxResponse` through the async response protocol."""

    __slots__ = ("_inner", "headers", "status")

    def __init__(self, inner: HttpxResponse) -> None:
        self._inner = inner
        self.status = inner.status
        self.headers = inner.headers

    async def read(self) -> bytes:
        return await self._inner.aread()

    def iter_chunks(self) -> AsyncIterator[bytes]:
        return self._inner.aiter_chunks()

    async def aclose(self) -> None:
        await self._inner.aclose()


class HttpxTransport:
    """A sync transport over one pooled ``httpx.Client``."""

    def __init__(self, *, module: ModuleType | None = None, max_connections: int = 100) -> None:
        self._module: Any = module or httpx
        self._client: Any = self._module.Client(
            limits=_limits(self._module, max_connections), follow_redirects=False
        )

    def send(self, request: WireRequest) -> HttpxResponse:
        m = self._module
        try:
            built = self._client.build_request(
                request.method,
                request.url,
                content=request.body,
                headers=request.headers,
                timeout=_timeout(m, request),
            )
            return HttpxResponse(self._client.send(built, stream=True), m)
        except m.TransportError as exc:
            raise _wrap(m, exc, request.url) from exc

    def close(self) -> None:
        self._client.close()


class HttpxAsyncTransport:
    """An async transport over ``httpx.AsyncClient`` (or ``httpx2``); for measurement."""

    def __init__(self, *, module: ModuleType | None = None, max_connections: int = 1000) -> None:
        self._module: Any = module or httpx
        self._client: Any = self._module.AsyncClient(
            limits=_limits(self._module, max_connections), follow_redirects=False
        )

    async def send(self, request: WireRequest) -> _AsyncView:
        m = self._module
        try:
            built = self._client.build_request(
                request.method,
                request.url,
                content=request.body,
                headers=request.headers,
                timeout=_timeout(m, request),
            )
            return _AsyncView(HttpxResponse(await self._client.send(built, stream=True), m))
        except m.TransportError as exc:
            raise _wrap(m, exc, request.url) from exc

    async def aclose(self) -> None:
        await self._client.aclose()
