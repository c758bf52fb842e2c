"""Knowing at once that a client hung up, without a watcher task per request.

A request waiting on the upstream must be cancelled the moment its client goes away (the model
would otherwise keep generating, and the request keep its slot at the gate). The portable way is
a task per request that waits on ASGI ``receive()`` for ``http.disconnect``, and that task
(created, woken, cancelled) is a sizeable part of a small request's CPU (figures: bench/README.md
§ bench_service.py). The server already learns of the hangup in ``connection_lost``, so
:class:`HangupProtocol` (uvicorn's httptools protocol, which ``claude-arch serve`` and the test
server run) puts a :class:`Hangup` in each request's ``scope["extensions"]`` and calls it from
there. Under any other server the extension is absent and :func:`watch_hangup` falls back to the
watcher task, so the app works the same under ``uvicorn --http h11`` or another ASGI server.

The same protocol writes each response's status line and body in one system call
(:class:`~claude_arch.service.http.coalesced.CoalescedWrites`), and bounds a request's head: more
than :data:`MAX_HEAD_BYTES` of request line and headers, or more than :data:`MAX_HEADERS`
headers, is a 431 and the connection is closed (httptools itself buffers a header of any size);
and drops a client that reads nothing of its answer for the send timeout (its connection's
write buffer stays full), as if it had hung up, with no cost per write (a timer runs only while
writing is paused).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import Receive, Scope

from claude_arch.core.wire import encode_body
from claude_arch.service.http.coalesced import CoalescedWrites

__all__ = [
    "DEFAULT_SEND_TIMEOUT_S",
    "HANGUP",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "SEND_TIMEOUT_STATE",
    "Hangup",
    "HangupProtocol",
    "cancelled_by_hangup",
    "http_protocol",
    "watch_hangup",
]

MAX_HEAD_BYTES = 64 * 1024
"""The request line and headers of one request, at most (then 431, and the connection closed)."""
MAX_HEADERS = 100
"""Request headers of one request, at most (then 431)."""
SEND_TIMEOUT_STATE = "claude_arch.send_timeout_s"
"""Where the app's lifespan state gives the protocol its send timeout (seconds)."""
DEFAULT_SEND_TIMEOUT_S = 30.0
logger = logging.getLogger("claude_arch.service")
HANGUP = "claude_arch.hangup"
"""The key of a request's :class:`Hangup` in ``scope["extensions"]``."""


class Hangup:
    """What the server tells a request about its client: ``happened`` once the connection closed
    before the response was complete; ``callback`` (set by the app) is called at that moment."""

    __slots__ = ("callback", "happened")

    def __init__(self) -> None:
        self.happened = False
        self.callback: Callable[[], None] | None = None

    def __call__(self) -> None:
        self.happened = True
        if self.callback is not None:
            self.callback()


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # no httptools: uvicorn's h11, and the watcher task
    HangupProtocol: type[asyncio.Protocol] | None = None
else:

    class HangupProtocol(HttpToolsProtocol):  # type: ignore[no-redef]
        """uvicorn's httptools protocol, telling each request's :class:`Hangup` when its
        client goes before the response is complete (module level: ``--workers`` pickles it),
        and writing a response's status line and body in one system call
        (:class:`CoalescedWrites`)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(CoalescedWrites(transport))  # type: ignore[arg-type]
            self._head_bytes = 0  # of the request line and headers being read; -1: in a body
            self._header_count = 0
            self._refused = False
            self._stall_s = float(self.app_state.get(SEND_TIMEOUT_STATE, DEFAULT_SEND_TIMEOUT_S))
            self._stalled: asyncio.TimerHandle | None = None

        def pause_writing(self) -> None:
            super().pause_writing()
            if self._stalled is None:  # the client stopped reading: how long may it?
                loop = asyncio.get_running_loop()
                self._stalled = loop.call_later(self._stall_s, self._drop_stalled)

        def resume_writing(self) -> None:
            super().resume_writing()
            self._stop_stall_timer()

        def _stop_stall_timer(self) -> None:
            if self._stalled is not None:
                self._stalled.cancel()
                self._stalled = None

        def _drop_stalled(self) -> None:
            """The client read nothing for the send timeout: drop it as if it had hung up (its
            request is cancelled, its upstream call stopped and settled, its slot freed)."""
            self._stalled = None
            logger.warning(
                "dropping a client that read nothing of its answer for %.1f s",
                self._stall_s,
                extra={"client": f"{self.client[0]}:{self.client[1]}" if self.client else None},
            )
            self.transport.abort()

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            if self._head_bytes >= 0:  # a request's head is being read: bound it
                end = data.find(b"\r\n\r\n")
                self._head_bytes += len(data) if end < 0 else end + 4
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse(
                        f"the request line and headers are larger than this service's limit "
                        f"of {MAX_HEAD_BYTES} bytes"
                    )
                    return
            super().data_received(data)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_count += 1
            if self._header_count > MAX_HEADERS:
                if not self._refused:
                    self._refuse(f"more than {MAX_HEADERS} request headers; at most {MAX_HEADERS}")
                return
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            if not self._refused:
                self._head_bytes = -1
                super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._refused:
                super().on_message_complete()
                self._head_bytes = 0  # the next request on this connection
                self._header_count = 0

        def _refuse(self, message: str) -> None:
            """Answer 431 in the Anthropic error shape and close: nothing of this request (nor
            what follows on the connection) reaches the app."""
            self._refused = True
            body = encode_body(
                {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
            )
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: application/json\r\nconnection: close\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            self.transport.close()

        def on_response_complete(self) -> None:
            self.transport.flush()  # type: ignore[attr-defined]
            super().on_response_complete()

        def shutdown(self) -> None:
            self.transport.flush()  # type: ignore[attr-defined]
            super().shutdown()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.scope["extensions"] = {HANGUP: Hangup()}  # type: ignore[dict-item]

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_stall_timer()
            cycle = self.cycle
            pending = cycle is not None and not cycle.response_complete
            super().connection_lost(exc)
            if pending and cycle is not None:
                hangup = cycle.scope.get("extensions", {}).get(HANGUP)
                if isinstance(hangup, Hangup):
                    hangup()


def http_protocol() -> type[asyncio.Protocol] | str:
    """What to pass uvicorn as ``http=``: :class:`HangupProtocol`, or ``"auto"`` without
    httptools."""
    return HangupProtocol if HangupProtocol is not None else "auto"


def _nothing() -> None:
    pass


class watch_hangup:  # lower case: used like a context-manager function
    """Within the block, ``on_hangup()`` is called (once) if the client goes away; at once when
    it already has. The request's body must have been read (the fallback watcher reads on).
    A class, not a generator: it runs on every request."""

    __slots__ = ("_hangup", "_on_hangup", "_receive", "_watcher")

    def __init__(self, scope: Scope, receive: Receive, on_hangup: Callable[[], None]) -> None:
        extensions: dict[str, Any] | None = scope.get("extensions")
        hangup = extensions.get(HANGUP) if extensions else None
        self._hangup = hangup if isinstance(hangup, Hangup) else None
        self._on_hangup = on_hangup
        self._receive = receive
        self._watcher: asyncio.Task[None] | None = None

    def __enter__(self) -> None:
        hangup = self._hangup
        if hangup is None:
            self._watcher = asyncio.create_task(self._watch())
            return
        if hangup.happened:
            self._on_hangup()
        hangup.callback = self._on_hangup

    def __exit__(self, *exc_info: object) -> None:
        if self._hangup is not None:
            self._hangup.callback = None
        elif self._watcher is not None:
            self._watcher.cancel()
        # ``on_hangup`` is often a bound method of the owner that holds this watch: a reference
        # cycle, which kept the request (its scope, body, the server's cycle) alive until the
        # garbage collector's next full pass; cut it, so reference counting frees them now
        self._on_hangup = _nothing

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self._on_hangup()


class cancelled_by_hangup:  # lower case: used like a context-manager function
    """Within the block, the client hanging up cancels the current task, and the block ends
    there: that ``CancelledError`` is absorbed (``hung_up`` is then True); any other
    cancellation (a shutdown) goes on as usual.

        with cancelled_by_hangup(scope, receive) as watch:
            answer = await upstream_call()
        if watch.hung_up: ...
    """

    __slots__ = ("_task", "_watch", "hung_up")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self._task = asyncio.current_task()
        self.hung_up = False
        self._watch = watch_hangup(scope, receive, self._cancel)

    def _cancel(self) -> None:
        if not self.hung_up:
            self.hung_up = True
            if self._task is not None:
                self._task.cancel()

    def __enter__(self) -> cancelled_by_hangup:
        self._watch.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> bool:
        self._watch.__exit__()
        if self.hung_up and exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            if self._task is not None:
                self._task.uncancel()
            return True
        return False
