"""``GatewayApp``: FastAPI, with the hot routes dispatched straight to their handlers.

``POST /v1/messages`` and ``/v1/messages/count_tokens`` carry nearly all of a gateway's traffic
and need none of FastAPI's middleware layers, router and dependency solver, which cost about as
much as a plain Starlette route's whole request (figures: bench/README.md § Service). Their
handlers (ordinary FastAPI handlers that take a ``Request``, still registered for the OpenAPI
document) are called directly, with the same error mapping the app's exception handlers give.
Everything else goes through FastAPI unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from claude_arch.errors import ClaudeArchError
from claude_arch.service.http.middleware import RequestContext
from claude_arch.service.http.problems import crash

__all__ = ["GatewayApp", "Handler"]

Handler = Callable[[Request], Awaitable[Response]]


class GatewayApp(FastAPI):
    """A FastAPI app with :class:`RequestContext` outermost and a fast lane for hot routes;
    ``body_limits`` are the paths whose bodies have a limit other than ``max_body_bytes``;
    ``on_refusal(exc, path)`` sees the errors the middleware answers itself."""

    def __init__(
        self,
        *,
        max_body_bytes: int,
        error_response: Callable[[ClaudeArchError, Request], Response],
        on_refusal: Callable[[ClaudeArchError, str], None] | None = None,
        loopback_only: bool = False,
        body_limits: Mapping[str, int] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._fast: dict[str, Handler] = {}
        self._error_response = error_response
        self._outer: ASGIApp = RequestContext(
            self._dispatch,
            max_body_bytes=max_body_bytes,
            on_refusal=on_refusal,
            loopback_only=loopback_only,
            body_limits=body_limits,
        )

    def fast_post(self, path: str, handler: Handler) -> None:
        """Serve ``POST path`` with ``handler`` directly (register it as a route too, for the
        OpenAPI document)."""
        self._fast[path] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await super().__call__(scope, receive, send)
        else:
            await self._outer(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = None
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self._fast.get(scope["path"])
        if handler is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except ClaudeArchError as exc:
            response = self._error_response(exc, request)
        except Exception as exc:  # the same answer the app's catch-all handler gives
            response = self._error_response(crash(exc), request)
        await response(scope, receive, send)
