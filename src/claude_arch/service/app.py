"""``create_app``: the FastAPI application of the streaming microservice.

    app = create_app(ServiceSettings())          # what `claude-arch serve` runs under uvicorn

Routes: the Anthropic-compatible API (``/v1/messages``, ``/v1/messages/count_tokens``,
``/v1/models``), the chat endpoints (``/v1/chat`` SSE, ``/v1/chat/ws`` WebSocket), the web page at
``/`` with its dashboard, and ``/healthz``, ``/readyz``, ``/metrics``. Every error, ours or
upstream's, leaves as one response in the Anthropic error shape.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from claude_arch.constants import ENV_FILE
from claude_arch.core.validation.schema import CountTokensParams, CreateParams
from claude_arch.core.wire import BATCHES_PATH, encode_body
from claude_arch.errors import (
    ClaudeArchError,
    InvalidRequestError,
    error_type_for_status,
)
from claude_arch.service import advise_routes
from claude_arch.service.api import batch_routes, model_routes, proxy
from claude_arch.service.chat import routes as chat
from claude_arch.service.config import ServiceSettings
from claude_arch.service.gateway import Gateway
from claude_arch.service.http.fastpath import GatewayApp
from claude_arch.service.http.hangup import SEND_TIMEOUT_STATE
from claude_arch.service.http.problems import crash
from claude_arch.service.operations import dashboard
from claude_arch.service.operations import endpoints as ops
from claude_arch.service.operations.dashboard import Dashboard
from claude_arch.service.operations.logs import LOG_LEVEL_ENV, configure_logging

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient

__all__ = ["app_from_env", "create_app"]

_log = logging.getLogger("claude_arch.service")


def create_app(
    settings: ServiceSettings | None = None, *, client: ClaudeClient | None = None
) -> FastAPI:
    """The service; ``client`` replaces the upstream client the settings describe (tests)."""
    settings = settings or ServiceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        board = Dashboard()
        gateway = await Gateway.start(settings, client=client, meters=(board,))
        gateway.extras[dashboard.EXTRA_NAME] = board
        app.state.gateway = gateway
        app.state.gauges = ops.GatewayGauges(gateway)
        app.state.refusals = ops.Refusals(gateway, app.state.gauges.registry)
        _log.info(
            "claude-arch service ready",
            extra={
                "upstream": "embedded emulator" if settings.uses_emulator else "configured",
                "keys_required": settings.requires_keys,
                "limits": "redis" if settings.redis_url else "in-process",
                "env_file": os.environ.get(ENV_FILE) or "none",
            },
        )
        restore_signals = gateway.drain_on_signals()
        # The objects of startup (FastAPI's routes, pydantic's and SQLAlchemy's models) live as
        # long as the process: out of the collector's sight, its full collections stay short.
        gc.collect()
        gc.freeze()
        try:
            # the lifespan state the server hands its connections: the send timeout
            yield {SEND_TIMEOUT_STATE: settings.send_timeout_s}
        finally:
            restore_signals()
            await gateway.aclose()

    app = GatewayApp(
        max_body_bytes=settings.max_body_bytes,
        error_response=proxy.error_response,
        on_refusal=lambda exc, path: proxy.count_refusal(app, exc, path, upstream=False),
        loopback_only=not settings.requires_keys,  # no keys: no other site's pages either
        body_limits={BATCHES_PATH: settings.max_batch_body_bytes},
        title="claude-arch service",
        summary="An Anthropic-compatible Claude gateway with chat, keys, limits and budgets.",
        version="1",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.include_router(proxy.router)
    app.include_router(model_routes.router)
    app.include_router(batch_routes.router)
    app.include_router(chat.router)
    app.include_router(dashboard.router)
    app.include_router(ops.router)
    app.include_router(advise_routes.router)
    for path, handler in proxy.HOT_ROUTES.items():
        app.fast_post(path, handler)
    _document_request_bodies(app)
    _install_error_handlers(app)
    return app


def _document_request_bodies(app: FastAPI) -> None:
    """The Anthropic routes read their bodies themselves (validated by core, not FastAPI), so the
    OpenAPI document gets core's request models as their bodies, for ``/docs`` and API tools."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for path, model in (
            ("/v1/messages", CreateParams),
            ("/v1/messages/count_tokens", CountTokensParams),
        ):
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(body.pop("$defs", {}))
            schemas[model.__name__] = body
            ref = {"$ref": f"#/components/schemas/{model.__name__}"}
            spec["paths"][path]["post"]["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref}},
            }
        _document_responses(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error, the gateway's or the upstream's: the Anthropic error shape.",
    "required": ["type", "error"],
    "properties": {
        "type": {"type": "string", "enum": ["error"]},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
        "request_id": {"type": "string"},
    },
}
_ERRORS = {
    "400": "Invalid request: a field (named in the message), malformed JSON, a bad parameter",
    "401": "The service key is missing, unknown or revoked",
    "403": "The key may not use this route",
    "404": "Not found: an unknown model (the closest IDs named), batch or session",
    "429": "The key's rpm, tpm or budget is used up (retry-after), or the API's limit",
    "502": "The upstream, the key store or the limits store could not be reached",
    "504": "The upstream did not answer in time",
    "529": "Overloaded: this replica's in-flight bound, or the upstream's",
}
_BODY_ERRORS = {"413": "The request body is larger than the service's limit"}
_SSE = "text/event-stream"


def _sse_schema(events: list[str]) -> dict[str, Any]:
    """One server-sent event: its name and its data (a JSON object, as text)."""
    return {
        "type": "object",
        "description": "One server-sent event; its data is a JSON object with the same type.",
        "required": ["event", "data"],
        "properties": {"event": {"type": "string", "enum": events}, "data": {"type": "string"}},
    }


_CHAT_EVENTS = ["delta", "done", "error"]
_MESSAGE_EVENTS = [
    "message_start", "content_block_start", "ping", "content_block_delta",
    "content_block_stop", "message_delta", "message_stop", "error",
]  # fmt: skip


def _document_responses(spec: dict[str, Any]) -> None:
    """The answers each route really gives, so API tools (and schemathesis's conformance
    checks) can hold the service to its document: every error status in the Anthropic error
    shape (the service answers a bad parameter with a 400, never FastAPI's 422), the SSE
    content type of ``/v1/chat`` and of a streamed ``/v1/messages``."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            responses.pop("422", None)
            statuses = dict(_ERRORS)
            if method in ("post", "put", "patch"):
                statuses.update(_BODY_ERRORS)
            for status, description in statuses.items():
                responses.setdefault(status, {"description": description, **error})
            ok = responses.get("200", {}).setdefault("content", {})
            if path == "/v1/chat":
                ok.clear()
                ok[_SSE] = {"schema": _sse_schema(_CHAT_EVENTS)}
            elif path == "/v1/messages" and method == "post":
                ok[_SSE] = {"schema": _sse_schema(_MESSAGE_EVENTS)}
            elif path.endswith("/results"):
                ok.clear()
                ok["application/x-jsonl"] = {"schema": {"type": "string"}}


def app_from_env() -> FastAPI:
    """The app from the environment's settings: the factory each ``--workers`` process calls
    (``uvicorn --factory claude_arch.service.app:app_from_env``)."""
    configure_logging(os.environ.get(LOG_LEVEL_ENV, "INFO"))
    app = create_app(ServiceSettings())
    tune_gc()
    return app


GC_YOUNG_THRESHOLD = 7000
"""Net allocations between two young-generation collections (CPython's default: 700)."""


def tune_gc() -> None:
    """The garbage collector's young-generation threshold for a process that serves
    (``claude-arch serve`` and each of its workers; an app embedded elsewhere leaves the host
    process's settings alone, and the lifespan's ``gc.freeze()`` applies either way).

    A request's objects are freed by reference counting when it ends (no cycles:
    tests/service/test_reference_cycles.py). With CPython's default threshold, a hundred
    requests in flight pass it every few milliseconds, so most of their objects would be scanned
    and promoted before they die; at this one they mostly die first. A higher threshold already
    set is kept."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_ours(request: Request, exc: Exception) -> Response:
        return proxy.error_response(cast("ClaudeArchError", exc), request)

    async def on_validation(request: Request, exc: Exception) -> Response:
        errors = cast("RequestValidationError", exc).errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        message = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return proxy.error_response(InvalidRequestError(message, field=where or None), request)

    async def on_http(request: Request, exc: Exception) -> Response:
        exc = cast("HTTPException", exc)
        error_type = error_type_for_status(exc.status_code)
        body = {"type": "error", "error": {"type": error_type, "message": str(exc.detail)}}
        body["request_id"] = request.state.request_id
        return Response(
            encode_body(body),
            status_code=exc.status_code,
            media_type="application/json",
            headers=exc.headers,
        )

    async def on_crash(request: Request, exc: Exception) -> Response:
        return proxy.error_response(crash(exc), request)

    app.add_exception_handler(ClaudeArchError, on_ours)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
