"""``/v1/chat/ws``: many chat turns on one WebSocket, each cancellable, with heartbeats.

Frames are JSON text. Client → server::

    {"type": "user", "text": "Hi", "model"?: "...", "session_id"?: "sess_…", "max_tokens"?: 512,
     "system"?: "..."}
    {"type": "cancel"}            stop the running turn at once
    {"type": "ping"}              answered with {"type": "pong"}

Server → client::

    {"type": "delta", "text": "…"}                               as the answer streams
    {"type": "done", "session_id": "sess_…", "model": "…", "usage": {…}, "cost_usd": "…"}
    {"type": "done", …, "cancelled": true}                       after a cancel frame
    {"type": "error", "error": {"type": "…", "message": "…"}, "request_id": "req_…"}
    {"type": "ping"}                                             every heartbeat_s

The key comes as a header, as the subprotocol ``claude-arch.key.<secret>`` (a browser offers it
beside ``claude-arch.v1``, which the server echoes back), or as ``?key=``. A bad key: the socket
is accepted, gets an error frame, and is closed with code 4401 (a browser cannot see the HTTP
status of a refused upgrade, but it sees a close code and a frame).

One turn at a time: a ``user`` frame while a turn runs gets an error frame ("a turn is in progress;
send cancel first"); the running turn goes on. A bad frame (not JSON, not an object, unknown type,
missing or too long text, a binary frame) gets an error frame naming the problem; the socket
stays open, as it does after an upstream failure. The socket remembers its session: a turn
without ``session_id`` continues the socket's last one. Closing the socket stops a running
turn's upstream call at once. ``cancel`` with no turn running is ignored (the turn it meant has
already sent its ``done``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from claude_arch.constants import WS_CLOSE_UNAUTHORIZED, WS_SUBPROTOCOL
from claude_arch.errors import AuthenticationError, ClaudeArchError, InvalidRequestError
from claude_arch.service.api.proxy import count_refusal
from claude_arch.service.chat.turn import (
    MAX_TEXT_CHARS,
    ChatTurn,
    error_body,
    parse_chat_request,
)
from claude_arch.service.http.middleware import new_request_id
from claude_arch.service.http.problems import crash, from_upstream
from claude_arch.service.tenancy.auth import key_from_headers, key_from_subprotocols

if TYPE_CHECKING:
    from claude_arch.service.gateway import Gateway
    from claude_arch.service.tenancy.keys import ApiKey

__all__ = ["ChatSocket", "serve"]

MAX_FRAME_CHARS = 4 * MAX_TEXT_CHARS
"""A text frame longer than this is refused before it is parsed."""
_log = logging.getLogger("claude_arch.service.chat")
WS_PATH = "/v1/chat/ws"


def socket_request_id(websocket: WebSocket) -> str:
    """The socket's request id (its log lines carry it): error frames name it, so a frame a
    user reports leads to the lines of its turn."""
    request_id = websocket.scope.get("state", {}).get("request_id")
    return str(request_id) if request_id else new_request_id()


class _Gone(Exception):
    """The client closed the socket while we were sending."""


def _count_refusal(websocket: WebSocket, exc: ClaudeArchError) -> None:
    """Count an error frame the gateway decided itself as the HTTP routes count their answers
    (``claude_arch_requests_total``, ``claude_arch_gateway_refused_total``, the dashboard);
    an upstream's error or a call the core client made is counted by the client."""
    count_refusal(websocket.app, exc, WS_PATH, upstream=from_upstream(exc))


async def serve(websocket: WebSocket) -> None:
    """Accept, authenticate, then run the socket until the client leaves."""
    gateway: Gateway = websocket.app.state.gateway
    offered: list[str] = list(websocket.scope.get("subprotocols") or [])
    secret = (
        key_from_headers(websocket.headers)
        or key_from_subprotocols(offered)
        or websocket.query_params.get("key")
    )
    await websocket.accept(subprotocol=WS_SUBPROTOCOL if WS_SUBPROTOCOL in offered else None)
    try:
        key = await gateway.authenticate(secret)
    except ClaudeArchError as exc:
        code = WS_CLOSE_UNAUTHORIZED if isinstance(exc, AuthenticationError) else 1011
        _count_refusal(websocket, exc)
        frame = json.dumps(error_body(exc, socket_request_id(websocket)))
        with suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.send_text(frame)
            await websocket.close(code=code, reason=exc.error_type)
        return
    websocket.state.key_id = key.id
    await ChatSocket(websocket, gateway, key).run()


class ChatSocket:
    """The state of one socket: its key, its session, the running turn and the heartbeat."""

    def __init__(self, websocket: WebSocket, gateway: Gateway, key: ApiKey) -> None:
        self.websocket = websocket
        self.gateway = gateway
        self.key = key
        self.session_id: str | None = None
        self._turn: ChatTurn | None = None
        self._task: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()  # three tasks send: the turn, the heartbeat, the reader

    async def send(self, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
        try:
            async with self._send_lock:
                await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise _Gone from exc

    async def send_error(self, exc: Exception, **extra: Any) -> None:
        if not isinstance(exc, ClaudeArchError):
            exc = crash(exc, "chat turn failed")
        _count_refusal(self.websocket, exc)
        await self.send({**error_body(exc, socket_request_id(self.websocket)), **extra})

    async def run(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    await self._on_frame(dict(message))
                except InvalidRequestError as exc:
                    await self.send_error(exc)
        except _Gone:
            pass
        finally:
            heartbeat.cancel()
            await self._cancel_turn()  # the client left: stop upstream now

    async def _on_frame(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if text is None:
            raise InvalidRequestError(
                "frame: binary frames are not supported; send JSON text frames", field="frame"
            )
        if len(text) > MAX_FRAME_CHARS:
            raise InvalidRequestError(
                f"frame: longer than {MAX_FRAME_CHARS} characters", field="frame"
            )
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            raise InvalidRequestError("frame: not valid JSON", field="frame") from None
        if not isinstance(frame, dict):
            raise InvalidRequestError(
                f"frame: expected a JSON object, got {type(frame).__name__}", field="frame"
            )
        kind = frame.pop("type", None)
        if kind == "user":
            await self._start_turn(frame)
        elif kind == "cancel":
            await self._cancel_turn(reply=True)
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind != "pong":
            shown = "missing" if kind is None else f"unknown frame type {str(kind)[:40]!r}"
            raise InvalidRequestError(
                f"type: {shown}; expected 'user', 'cancel' or 'ping'", field="type"
            )

    async def _start_turn(self, frame: dict[str, Any]) -> None:
        if self._task is not None and not self._task.done():
            raise InvalidRequestError("a turn is in progress; send cancel first", field="type")
        request = parse_chat_request(frame)
        turn = ChatTurn(self.gateway, self.key, request, session_id=self.session_id)
        self._turn = turn
        self._task = asyncio.create_task(self._run_turn(turn))

    async def _run_turn(self, turn: ChatTurn) -> None:
        try:
            await turn.start()
            async for text in turn.deltas():
                await self.send({"type": "delta", "text": text})
            done = await turn.finish()
            self.session_id = turn.session_id
            await self.send(done)
        except asyncio.CancelledError:
            await turn.stop(cancelled=True)
            raise
        except _Gone:
            await turn.stop(cancelled=True)
        except Exception as exc:
            await turn.stop()
            if turn.delivered:  # the partial answer was stored in the session
                self.session_id = turn.session_id
            extra = {"session_id": turn.session_id} if turn.session_id else {}
            with suppress(_Gone):
                await self.send_error(exc, **extra)

    async def _cancel_turn(self, *, reply: bool = False) -> None:
        task, turn = self._task, self._turn
        if task is None or turn is None or task.done():
            return
        task.cancel()
        await asyncio.wait([task])  # its stop() has closed upstream, settled, stored
        if turn.delivered:
            self.session_id = turn.session_id
        if reply:
            await self.send(turn.summary())

    async def _heartbeat(self) -> None:
        interval = self.gateway.settings.heartbeat_s
        with suppress(_Gone):
            while True:
                await asyncio.sleep(interval)
                await self.send({"type": "ping"})
