"""The Anthropic-compatible API: ``POST /v1/messages`` (JSON and SSE) and
``POST /v1/messages/count_tokens`` (the models: :mod:`claude_arch.service.api.model_routes`).

Any official SDK works through it unchanged: point its base URL here and give it a *service* key;
the Anthropic key stays on the server. Unknown body fields and ``anthropic-beta`` pass through,
``cache_control`` is never touched, ``model: "auto"`` becomes the configured default.
A stream is forwarded chunk by chunk as it arrives; a failure before its first content is retried
(or falls back) by the core client, so the caller sees either a stream or a clean HTTP error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from claude_arch.constants import HEADER_BETA
from claude_arch.core.wire import encode_body
from claude_arch.errors import (
    CallCancelledError,
    ClaudeArchError,
    InvalidRequestError,
    OverloadedError,
)
from claude_arch.service.api.upstream import Admitted, limit_headers
from claude_arch.service.http.bodies import large, read_json
from claude_arch.service.http.hangup import cancelled_by_hangup
from claude_arch.service.http.problems import from_upstream, problem
from claude_arch.service.tenancy.auth import key_from_headers

if TYPE_CHECKING:
    from claude_arch.core.streams.async_stream import MessageStream
    from claude_arch.service.gateway import Gateway
    from claude_arch.service.tenancy.keys import ApiKey

__all__ = ["router"]

T = TypeVar("T")
_FREE = Decimal(0)
router = APIRouter()
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def caller(request: Request) -> tuple[Gateway, ApiKey]:
    gateway = gateway_of(request)
    key = await gateway.authenticate(key_from_headers(request.headers))
    request.state.key_id = key.id
    return gateway, key


def request_id_of(request: Request) -> str:
    return str(request.state.request_id)


def refuse_client_options(params: dict[str, Any], names: tuple[str, ...]) -> None:
    """A 400 for a body field the core client would take as its own option, not a body field
    (``extra_headers`` would become the upstream request's headers: its ``x-api-key``, its
    ``content-length``); the Messages API refuses unknown fields the same way."""
    for name in names:
        if name in params:
            raise InvalidRequestError(f"{name}: Extra inputs are not permitted", field=name)


def beta_headers(request: Request) -> dict[str, str] | None:
    beta = request.headers.get(HEADER_BETA)
    return {HEADER_BETA: beta} if beta else None


@router.post("/v1/messages", summary="Create a Message (JSON, or SSE with stream: true)")
async def create_message(request: Request) -> Response:
    gateway, key = await caller(request)
    params = await read_json(request, limit=gateway.settings.max_body_bytes)
    refuse_client_options(params, ("extra_headers",))
    streaming = params.get("stream") is True  # any other non-null value: core's 400
    # "auto" under an LLM or embedding classifier: decided here, without blocking the loop
    route = await gateway.client.aroute(params)
    admit = functools.partial(
        Admitted,
        gateway,
        key,
        params,
        stream=streaming,
        extra_headers=beta_headers(request),
        log_into=request.scope["state"],
        route=route,
    )
    # validation and the token estimate walk the whole body: a large one off the event loop
    admitted = await asyncio.to_thread(admit) if large(request) else admit()
    request_id = request_id_of(request)
    await admitted.open()
    try:
        # watched: a client gone before the answer (a long prompt, a retry waiting out a 429,
        # a stream's first token) must not keep the upstream generating, nor its gate slot
        if streaming:
            stream = await until_disconnected(request, admitted.stream(raw=True))
        else:
            message = await until_disconnected(request, admitted.create())
    except BaseException:
        await admitted.aclose()
        raise
    admitted.headers = admitted.answer_headers()
    if streaming:
        return ForwardedStream(admitted, stream, request_id)
    admitted.answer = message.text
    admitted.release_slot()
    body = message.wire if message.wire is not None else encode_body(message.to_dict())
    return SettledAfter(body, admitted)


class SettledAfter(Response):
    """A JSON answer whose call is settled (quota, log fields) once the answer is on its way,
    so the caller does not wait for the bookkeeping; settled however the sending ends."""

    def __init__(self, body: bytes, admitted: Admitted) -> None:
        super().__init__(body, media_type="application/json", headers=admitted.headers)
        self.admitted = admitted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.admitted.aclose()


async def until_disconnected(request: Request, work: Awaitable[T]) -> T:
    """``work``'s result, unless the client hangs up first: then ``work`` is cancelled at once
    (closing its upstream connection, so the model stops generating) and 499 is raised.
    The work runs in this task: :class:`~claude_arch.service.http.hangup.cancelled_by_hangup`."""
    with cancelled_by_hangup(request.scope, request.receive):
        return await work
    raise CallCancelledError("the client closed the connection; the call was cancelled")


class ForwardedStream(StreamingResponse):
    """An SSE answer: the upstream bytes forwarded chunk by chunk as they come, from the
    request's own task, which the client hanging up cancels (Starlette's ``StreamingResponse``
    starts two more tasks per stream to notice). A failure after content is sent as an
    ``error`` event (the status line went out long ago); the call is settled however the
    sending ends."""

    def __init__(self, admitted: Admitted, stream: MessageStream, request_id: str) -> None:
        headers = {**SSE_HEADERS, **admitted.headers}
        super().__init__((), media_type="text/event-stream", headers=headers)
        self.admitted = admitted
        self.stream = stream
        self.request_id = request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False
        chunks = self.stream.raw()
        try:
            with cancelled_by_hangup(scope, receive):
                await send(
                    {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                )
                started = True
                try:
                    async for chunk in chunks:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    if self.admitted.logs_answer:  # else its content is never built
                        self.admitted.answer = (await self.stream.final_message()).text
                except ClaudeArchError as exc:
                    event = error_event(exc, self.request_id, upstream=True)
                    await send({"type": "http.response.body", "body": event, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            # not the client's hangup (absorbed above): the server stopping, its grace over
            if started:
                await self._stopping(send)
            raise
        finally:
            await chunks.aclose()  # a stream not read to its end stops upstream
            await self.admitted.aclose()  # a client gone away still has its usage settled

    async def _stopping(self, send: Send) -> None:
        """End the stream with an ``overloaded_error`` event, so a caller's SDK raises a typed,
        retryable error instead of a dropped connection."""
        event = error_event(
            OverloadedError(
                "this replica is shutting down and the stream outlived its grace period; "
                "retry the request"
            ),
            self.request_id,
        )
        with contextlib.suppress(Exception):  # the client may be gone too
            async with asyncio.timeout(1):  # a client not reading cannot hold the shutdown
                await send({"type": "http.response.body", "body": event, "more_body": False})


def error_event(exc: ClaudeArchError, request_id: str, *, upstream: bool = False) -> bytes:
    """An SSE ``error`` event with the Anthropic error body: how a stream whose status line has
    gone out reports a failure."""
    _, body, _ = problem(exc, request_id, upstream=upstream)
    return b"event: error\ndata: " + encode_body(body) + b"\n\n"


@router.post("/v1/messages/count_tokens", summary="Count the input tokens of a request")
async def count_tokens(request: Request) -> Response:
    gateway, key = await caller(request)
    params = await read_json(request, limit=gateway.settings.max_body_bytes)
    refuse_client_options(params, ("extra_headers", "timeout", "deadline"))  # count_tokens(**)
    beta = beta_headers(request)
    if beta:
        params["extra_headers"] = beta
    # a request sent upstream like any other: one from the key's rpm (it is free: no tokens, no
    # cost), so one key cannot spend the organisation's count_tokens limit for every tenant
    quotas = gateway.quotas
    admission = await quotas.admit(key, input_tokens=0, max_output_tokens=0, max_cost_usd=_FREE)
    try:
        async with gateway.gate.slot():
            count = await gateway.client.count_tokens(**params)
    finally:
        await quotas.settle(admission, input_tokens=0, output_tokens=0, cost_usd=_FREE)
    return Response(
        encode_body({"input_tokens": count}),
        media_type="application/json",
        headers=limit_headers(gateway, admission.headers, str(params.get("model"))),
    )


def error_response(exc: ClaudeArchError, request: Request) -> Response:
    """The response for ``exc``; an error the gateway decided itself is counted, once, here."""
    upstream = from_upstream(exc)
    count_refusal(request.app, exc, request.url.path, upstream=upstream)
    status, body, headers = problem(exc, request_id_of(request), upstream=upstream)
    return Response(
        encode_body(body), status_code=status, media_type="application/json", headers=headers
    )


def count_refusal(app: Any, exc: ClaudeArchError, path: str, *, upstream: bool) -> None:
    """Hand ``exc`` to the app's
    :class:`~claude_arch.service.operations.endpoints.Refusals` (once started)."""
    refusals = getattr(app.state, "refusals", None)
    if refusals is not None:
        refusals.count(exc, path, upstream=upstream)


HOT_ROUTES = {"/v1/messages": create_message, "/v1/messages/count_tokens": count_tokens}
"""What :class:`~claude_arch.service.http.fastpath.GatewayApp` serves without FastAPI's layers."""
