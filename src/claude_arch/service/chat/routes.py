"""The chat endpoints: ``POST /v1/chat`` (an SSE stream of text) and ``/v1/chat/ws`` (WebSocket).

Simpler than ``/v1/messages`` for an app or a browser: send text, get text; the conversation lives
on the server as a session (:mod:`claude_arch.service.chat.sessions`), trimmed to the model's
window.

    curl -N localhost:8080/v1/chat -H 'x-api-key: sk-ca-…' -d '{"text": "Hello"}'

    event: delta
    data: {"type":"delta","text":"Hello"}

    event: done
    data: {"type":"done","session_id":"sess_…","model":"claude-haiku-4-5","usage":{…},
           "cost_usd":"0.000021"}

The session's id also comes in the ``claude-arch-session-id`` response header; send it back as
``session_id`` to continue. Errors before the stream starts are plain HTTP errors in the Anthropic
shape (400 naming the field, 401, 404 unknown session, 429, 529); a failure after it started is an
``event: error`` with the same body. A client that disconnects stops the upstream call at once.
The WebSocket protocol is in :mod:`claude_arch.service.chat.websocket`; ``docs/service-chat.md``
has both.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from starlette.responses import Response, StreamingResponse

from claude_arch.constants import HEADER_SESSION_ID
from claude_arch.service.api.proxy import SSE_HEADERS, caller, request_id_of, until_disconnected
from claude_arch.service.chat import websocket as chat_ws
from claude_arch.service.chat.turn import ChatRequest, ChatTurn, error_body, parse_chat_request
from claude_arch.service.http.bodies import read_json

__all__ = ["router"]

router = APIRouter()

_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ChatRequest.model_json_schema()}},
    }
}


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One SSE event."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


@router.post(
    "/v1/chat",
    summary="Chat: send text, get an SSE stream of text deltas, then usage and cost",
    openapi_extra=_BODY_SCHEMA,
)
async def chat(request: Request) -> Response:
    gateway, key = await caller(request)
    body = parse_chat_request(await read_json(request, limit=gateway.settings.max_body_bytes))
    turn = ChatTurn(gateway, key, body)
    try:
        await until_disconnected(request, turn.start())  # a client gone before the first token
    except BaseException:
        await turn.stop()  # finished even if this task is cancelled again
        raise
    headers = {**SSE_HEADERS, **turn.headers, HEADER_SESSION_ID: str(turn.session_id)}
    return StreamingResponse(
        _events(turn, request_id_of(request)), media_type="text/event-stream", headers=headers
    )


async def _events(turn: ChatTurn, request_id: str) -> AsyncIterator[bytes]:
    try:
        async for text in turn.deltas():
            yield sse("delta", {"type": "delta", "text": text})
        yield sse("done", await turn.finish())
    except Exception as exc:  # the status line went out long ago: report it in the stream
        await turn.stop()
        yield sse("error", error_body(exc, request_id))
    finally:
        # reached without stop() only when the client went away (cancelled) or stopped reading
        await turn.stop(cancelled=True)


@router.websocket(chat_ws.WS_PATH)
async def chat_socket(websocket: WebSocket) -> None:
    await chat_ws.serve(websocket)
