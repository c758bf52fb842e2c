"""``RequestContext``: a plain ASGI middleware (no per-request task, unlike Starlette's
``BaseHTTPMiddleware``) that gives each HTTP request an id, answers an over-long
``content-length`` with a 413 before any body is read, stamps ``request-id`` on the response and
writes one JSON access-log line (method, path, status, duration, the key's public id).

``loopback_only`` (dev mode, no keys): a request whose ``Host`` or ``Origin`` names anything but a
loopback host is refused with a 403, so that a web page on another site, open in this machine's
browser, cannot use the keyless service (a WebSocket has no CORS; a rebound DNS name looks local).
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claude_arch.constants import HEADER_REQUEST_ID_IN
from claude_arch.core.wire import encode_body
from claude_arch.errors import ClaudeArchError, PermissionDeniedError, RequestTooLargeError
from claude_arch.service.api.upstream import CALL_LOG_FIELDS
from claude_arch.service.config import is_loopback
from claude_arch.service.http.bodies import too_large
from claude_arch.service.http.problems import problem
from claude_arch.service.operations.logs import log_fields, request_context

__all__ = ["RequestContext", "new_request_id"]

_access = logging.getLogger("claude_arch.service.access")


_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{8,128}")
_ID_HEADER = HEADER_REQUEST_ID_IN.encode()


_ID_PREFIX = "req_" + secrets.token_hex(6)  # this process, then a counter: unique, and cheap
_ids = itertools.count(1)


def new_request_id() -> str:
    """``req_`` + 12 hex digits of this process + 12 of a counter (request ids need to be
    unique, not secret; ``secrets.token_hex`` per request cost a system call each)."""
    return f"{_ID_PREFIX}{next(_ids):012x}"


def request_id_for(scope: Scope) -> str:
    """The load balancer's ``x-request-id`` when it looks like an id, so one id follows a request
    through the LB's log and ours; else a new one."""
    for name, value in scope["headers"]:
        if name == _ID_HEADER:
            return value.decode() if _SANE_ID.fullmatch(value) else new_request_id()
    return new_request_id()


def foreign_header(scope: Scope) -> str | None:
    """``host`` or ``origin`` when that header names a host that is not loopback, else None."""
    for name, value in scope["headers"]:
        if name in (b"host", b"origin"):
            text = value.decode("latin-1")
            try:
                host = urlsplit(text if name == b"origin" else "//" + text).hostname
            except ValueError:
                host = None
            if not host or not is_loopback(host):
                return "origin" if name == b"origin" else "host"
    return None


class RequestContext:
    """The middleware the module describes; ``body_limits`` maps paths whose bodies have a limit
    of their own (a Message Batch's) to it, in place of ``max_body_bytes``; ``on_refusal(exc,
    path)`` is told of each error it answers itself (to count it)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        loopback_only: bool = False,
        body_limits: Mapping[str, int] | None = None,
        on_refusal: Callable[[ClaudeArchError, str], None] | None = None,
    ) -> None:
        self.app = app
        self.on_refusal = on_refusal
        self.max_body_bytes = max_body_bytes
        self.loopback_only = loopback_only
        self.body_limits = dict(body_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        header_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close":
                state["close_code"] = message.get("code", 1000)
                status = status or 403  # closed before it was accepted: the handshake's 403
            elif kind == "http.response.start":
                status = message["status"]
                # one request-id only: error responses already carry it (an SDK reading a
                # doubled header would get "req_a, req_a" as the id)
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"request-id"]
                message["headers"] = [*headers, (b"request-id", header_id)]
            await send(message)

        with request_context(request_id):
            try:
                foreign = foreign_header(scope) if self.loopback_only else None
                if foreign is not None:
                    await self._reject_foreign(scope, receive, send_with_id, request_id, foreign)
                elif scope["type"] == "http" and self._too_long(scope):
                    await self._reject_too_large(scope, request_id, send_with_id)
                else:
                    await self.app(scope, receive, send_with_id)
            finally:
                method = scope["method"] if scope["type"] == "http" else "WEBSOCKET"
                extra = {
                    "method": method,
                    "path": scope["path"],
                    "status": status,  # a socket: 101 once accepted, else the refusal's 403
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "key_id": state.get("key_id"),
                }
                if scope["type"] == "websocket":
                    extra["close_code"] = state.get("close_code")  # None: the client closed
                call = state.get(CALL_LOG_FIELDS)  # the upstream call's model, tokens, cost
                if call:
                    extra.update(call)
                log_fields(_access, f"{method} {scope['path']} {status}", extra)

    def _limit(self, scope: Scope) -> int:
        return self.body_limits.get(scope["path"], self.max_body_bytes)

    def _too_long(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return value.isdigit() and int(value) > self._limit(scope)
        return False

    async def _reject_foreign(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, header: str
    ) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect; a close before accept is a 403 handshake
            await send({"type": "websocket.close", "code": 1008})
            return
        refusal = PermissionDeniedError(
            f"{header}: this service runs without keys (dev mode) and serves only pages and "
            "clients on this machine's loopback addresses"
        )
        self._refused(refusal, scope)
        await self._send_error(refusal, request_id, send)

    async def _reject_too_large(self, scope: Scope, request_id: str, send: Send) -> None:
        refusal = too_large(self._limit(scope))
        self._refused(refusal, scope)
        await self._send_error(refusal, request_id, send)

    def _refused(self, exc: ClaudeArchError, scope: Scope) -> None:
        if self.on_refusal is not None:
            self.on_refusal(exc, scope["path"])

    async def _send_error(
        self, exc: PermissionDeniedError | RequestTooLargeError, request_id: str, send: Send
    ) -> None:
        status, body, headers = problem(exc, request_id)
        raw = encode_body(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()),
                    (b"connection", b"close"),
                    *((k.encode(), v.encode()) for k, v in headers.items() if k != "request-id"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})
