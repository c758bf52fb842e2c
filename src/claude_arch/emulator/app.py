"""The emulator as an aiohttp application, and the way to serve it: the Anthropic API, and
Claude's APIs on Amazon Bedrock (:mod:`.bedrock_routes`) and Google Vertex AI
(:mod:`.vertex_routes`) beside it.

    >>> app = create_app(EmulatorConfig(speed=0))
    >>> sorted({r.method for r in app.router.routes()})
    ['DELETE', 'GET', 'HEAD', 'POST', 'PUT']

``claude-arch emulator --host --port …`` calls :func:`serve`; tests and the embedded mode use
``claude_arch.testing`` (which runs :func:`create_app` on a free port). Both run with handler
cancellation on, so a client that disconnects stops its generation at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from claude_arch.constants import HEADER_REQUEST_ID
from claude_arch.core.pricing.catalog import Catalog
from claude_arch.emulator.batches import BatchStore
from claude_arch.emulator.config import EmulatorConfig
from claude_arch.emulator.control import add_control_routes
from claude_arch.emulator.request_io import ErrorAnswer, error_response, request_id
from claude_arch.emulator.routes.batches import BATCHES_KEY, add_batch_routes
from claude_arch.emulator.routes.bedrock import add_bedrock_routes
from claude_arch.emulator.routes.messages import STATE_KEY, count_tokens, create_message
from claude_arch.emulator.routes.models import get_model, list_models
from claude_arch.emulator.routes.vertex import add_vertex_routes
from claude_arch.emulator.state import Clock, EmulatorState
from claude_arch.errors import error_type_for_status

__all__ = ["create_app", "serve"]

log = logging.getLogger("claude_arch.emulator")


@web.middleware
async def answer_in_api_shape(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Errors in the Anthropic shape; a request-id on every response; never a raw 500."""
    try:
        response = await handler(request)
    except ErrorAnswer as exc:
        request.app[STATE_KEY].stats.error(exc.status)
        return error_response(
            exc.status,
            exc.error_type,
            exc.message,
            request_id(request),
            exc.headers,
            details=exc.details,
        )
    except web.HTTPException as exc:  # no such route, wrong method, body over the server limit
        request.app[STATE_KEY].stats.error(exc.status)
        etype = error_type_for_status(exc.status)
        message = f"{request.method} {request.path[:200]}: {exc.reason}"
        return error_response(exc.status, etype, message, request_id(request))
    except ConnectionAbortedError:  # an injected reset: drop the connection, answer nothing
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("emulator: unexpected error on %s %s", request.method, request.path[:200])
        request.app[STATE_KEY].stats.error(500)
        return error_response(500, "api_error", "Internal server error", request_id(request))
    if not response.prepared and HEADER_REQUEST_ID not in response.headers:
        response.headers[HEADER_REQUEST_ID] = request_id(request)
    return response


def create_app(
    config: EmulatorConfig | None = None,
    *,
    catalog: Catalog | None = None,
    clock: Clock = time.monotonic,
) -> web.Application:
    """An emulator application (``config`` defaults to realistic speed, tier 4 limits)."""
    config = config or EmulatorConfig()
    state = EmulatorState(config, catalog=catalog, clock=clock)
    app = web.Application(
        middlewares=[answer_in_api_shape], client_max_size=config.max_batch_bytes + 1
    )
    app[STATE_KEY] = state
    store = BatchStore(state)
    app[BATCHES_KEY] = store
    app.router.add_post("/v1/messages", create_message)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    add_batch_routes(app)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model_id}", get_model)
    add_control_routes(app)
    add_bedrock_routes(app)
    add_vertex_routes(app)

    async def close_batches(_: web.Application) -> None:
        await store.close()

    app.on_cleanup.append(close_batches)
    return app


def serve(config: EmulatorConfig) -> None:
    """Run the emulator in the foreground on ``config.host:config.port`` (the CLI's entry)."""
    log.info(
        "claude-arch emulator on http://%s:%s (speed %s, limits %s)",
        config.host,
        config.port,
        config.speed,
        config.rate_limit_tier,
    )
    web.run_app(
        create_app(config),
        host=config.host,
        port=config.port,
        handler_cancellation=True,
        access_log=None,
        print=None,
    )
