"""The edge core's platform on Cloudflare Workers: ``js.fetch``, Workers KV, ``caches.default``.

    edge = WorkersEdge()                       # one per isolate, at module level
    answer = await edge.handle(request, env, ctx)   # in the WorkerEntrypoint's fetch

``deploy/cloudflare-worker/src/entry.py`` is the whole worker around it. The JavaScript side is
reached through Pyodide's ``js`` module and ``pyodide.ffi``, imported when first used, so this
module imports (and type-checks) under CPython too. A stream is the upstream's own
``ReadableStream``, handed back to the runtime unread: no Python code runs per chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any
from urllib.parse import urlsplit

from claude_arch.edge.config import ENV_NAMES, EdgeConfig, EdgeConfigError
from claude_arch.edge.handler import EdgeApp
from claude_arch.edge.platform import CachedAnswer, EdgeRequest, EdgeResponse, Platform
from claude_arch.edge.problems import EdgeProblem, new_request_id

__all__ = ["KV_BINDING", "WorkersCache", "WorkersEdge", "WorkersKV", "js_fetch"]

KV_BINDING = "EDGE_KV"
"""The name of the Workers KV binding holding keys (``key:…``) and limit counters (``rl:…``)."""
_CACHE_PATH = "/.claude-arch-cache/"
_STORED_AT = "claude-arch-stored-at"
_KEPT_HEADERS = ("content-type", "request-id")


def _ffi() -> tuple[Any, Any]:
    """Pyodide's ``js`` module and ``pyodide.ffi`` (they exist only under Pyodide)."""
    import js  # type: ignore[import-not-found]
    import pyodide.ffi  # type: ignore[import-not-found]

    return js, pyodide.ffi


def _object(value: Mapping[str, Any]) -> Any:
    """A Python dict as a plain JavaScript object (what fetch, KV and Response take as options)."""
    js, ffi = _ffi()
    return ffi.to_js(dict(value), dict_converter=js.Object.fromEntries)


def _text(value: Any) -> str | None:
    # JavaScript null and undefined arrive as None or as a proxy, depending on Pyodide's version
    return value if isinstance(value, str) else None


class _JsAnswer:
    """A JavaScript ``Response`` as an :class:`~claude_arch.edge.platform.UpstreamResponse`."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status = int(response.status)

    def header(self, name: str) -> str | None:
        return _text(self._response.headers.get(name))

    async def read(self) -> bytes:
        buffer = await self._response.arrayBuffer()
        return bytes(buffer.to_bytes())

    def stream(self) -> object:
        return self._response.body


async def js_fetch(url: str, headers: Mapping[str, str], body: bytes) -> _JsAnswer:
    """POST through the runtime's ``fetch``; ``OSError`` when no answer comes."""
    js, ffi = _ffi()
    init = _object({"method": "POST", "headers": _object(headers), "body": body.decode("utf-8")})
    try:
        response = await js.fetch(url, init)
    except ffi.JsException:
        raise OSError("fetch failed") from None
    return _JsAnswer(response)


class WorkersKV:
    """A Workers KV binding as a :class:`~claude_arch.edge.platform.KeyValue`."""

    def __init__(self, binding: Any) -> None:
        self._binding = binding

    async def get(self, key: str) -> str | None:
        return _text(await self._binding.get(key))

    async def put(self, key: str, value: str, *, ttl_s: int | None = None) -> None:
        if ttl_s is None:
            await self._binding.put(key, value)
        else:
            await self._binding.put(key, value, _object({"expirationTtl": ttl_s}))


class WorkersCache:
    """``caches.default`` as a :class:`~claude_arch.edge.platform.ResponseCache`: entries are
    ``GET {origin}/.claude-arch-cache/{key}`` with ``cache-control: max-age=ttl``."""

    async def get(self, key: str, origin: str) -> CachedAnswer | None:
        js, _ = _ffi()
        response = await js.caches.default.match(origin + _CACHE_PATH + key)
        if response is None or not hasattr(response, "arrayBuffer"):
            return None
        body = bytes((await response.arrayBuffer()).to_bytes())
        headers = {
            name: value
            for name in _KEPT_HEADERS
            if (value := _text(response.headers.get(name))) is not None
        }
        stored_at = float(_text(response.headers.get(_STORED_AT)) or 0)
        return CachedAnswer(headers, body, stored_at)

    async def put(self, key: str, origin: str, answer: CachedAnswer, *, ttl_s: int) -> None:
        js, ffi = _ffi()
        headers = {
            **answer.headers,
            "cache-control": f"max-age={ttl_s}",
            _STORED_AT: repr(answer.stored_at),
        }
        response = js.Response.new(ffi.to_js(answer.body), _object({"headers": _object(headers)}))
        await js.caches.default.put(origin + _CACHE_PATH + key, response)


def _defer_with(ctx: Any) -> Any:
    """Run deferred work as a task the runtime waits for (``ctx.waitUntil``) after the answer."""

    def defer(work: Coroutine[Any, Any, None]) -> None:
        js, ffi = _ffi()
        task = asyncio.ensure_future(work)

        def executor(resolve: Any, reject: Any) -> None:
            task.add_done_callback(lambda done: resolve() if not done.cancelled() else reject())

        ctx.waitUntil(js.Promise.new(ffi.create_once_callable(executor)))

    return defer


class WorkersEdge:
    """The edge of one isolate: built from the Worker's ``env`` on the first request."""

    def __init__(self) -> None:
        self.app: EdgeApp | None = None

    def _app(self, env: Any) -> EdgeApp:
        if self.app is None:
            values = {name: getattr(env, name, None) for name in ENV_NAMES}
            config = EdgeConfig.from_env({k: v for k, v in values.items() if isinstance(v, str)})
            kv = getattr(env, KV_BINDING, None)
            platform = Platform(
                fetch=js_fetch,
                kv=WorkersKV(kv) if kv is not None else None,
                cache=WorkersCache(),
            )
            self.app = EdgeApp(config, platform)
        return self.app

    async def handle(self, request: Any, env: Any, ctx: Any) -> EdgeResponse:
        """Answer a Workers request (a ``workers.Request`` or a JavaScript ``Request``)."""
        js_request = getattr(request, "js_object", request)
        try:
            app = self._app(env)
        except EdgeConfigError as exc:
            # the setting's name, never its value; the operator reads it in the logs too
            print(f"claude-arch edge: {exc}")
            return EdgeProblem(500, f"the edge is misconfigured: {exc}").to_response(
                new_request_id()
            )
        return await app.handle(_edge_request(js_request, ctx))


def _edge_request(js_request: Any, ctx: Any) -> EdgeRequest:
    url = urlsplit(str(js_request.url))
    headers = {str(name).lower(): str(value) for name, value in js_request.headers}

    async def read_body(limit: int) -> bytes:
        buffer = await js_request.arrayBuffer()
        return bytes(buffer.to_bytes())[: limit + 1]

    path = url.path + (f"?{url.query}" if url.query else "")
    return EdgeRequest(
        str(js_request.method),
        path,
        headers,
        read_body,
        origin=f"{url.scheme}://{url.netloc}",
        defer=_defer_with(ctx),
    )
