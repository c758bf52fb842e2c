"""``/v1/messages/batches``: create, retrieve, list, cancel, delete, results (JSONL)."""

from __future__ import annotations

from aiohttp import web

from claude_arch.constants import HEADER_BETA, HEADER_REQUEST_ID
from claude_arch.core.validation.fields import betas_of
from claude_arch.core.wire.paging import page_body
from claude_arch.emulator.batches import BatchRecord, BatchStore, parse_requests
from claude_arch.emulator.request_io import (
    ErrorAnswer,
    json_response,
    read_json,
    request_id,
    require_key,
    require_version,
)
from claude_arch.emulator.routes.messages import STATE_KEY
from claude_arch.emulator.routes.models import page
from claude_arch.errors import ClaudeArchError

__all__ = ["BATCHES_KEY", "add_batch_routes"]

BATCHES_KEY = web.AppKey("emulator_batches", BatchStore)


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _batch(request: web.Request) -> BatchRecord:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    batch_id = request.match_info["batch_id"]
    batch = request.app[BATCHES_KEY].get(batch_id)
    if batch is None:
        raise ErrorAnswer(404, "not_found_error", f"message batch {batch_id[:80]!r} not found")
    return batch


async def create_batch(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    key_id = require_key(request, state.allowed_keys)
    require_version(request)
    body = await read_json(request, state.config.max_batch_bytes)
    try:
        requests = parse_requests(body)
    except ClaudeArchError as exc:
        raise ErrorAnswer.of(exc) from None
    betas = betas_of(request.headers.get(HEADER_BETA))
    batch = request.app[BATCHES_KEY].create(requests, key_id, betas)
    return json_response(batch.to_api(_base_url(request)), request_id(request))


async def retrieve_batch(request: web.Request) -> web.Response:
    return json_response(_batch(request).to_api(_base_url(request)), request_id(request))


async def list_batches(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    chosen, more = page(request, request.app[BATCHES_KEY].newest_first(), lambda b: b.id)
    base = _base_url(request)
    return json_response(page_body([b.to_api(base) for b in chosen], more), request_id(request))


async def cancel_batch(request: web.Request) -> web.Response:
    batch = _batch(request)
    request.app[BATCHES_KEY].cancel(batch)
    return json_response(batch.to_api(_base_url(request)), request_id(request))


async def delete_batch(request: web.Request) -> web.Response:
    batch = _batch(request)
    if batch.processing_status != "ended":
        raise ErrorAnswer(
            400,
            "invalid_request_error",
            f"message batch {batch.id} is still {batch.processing_status}; cancel it first",
        )
    request.app[BATCHES_KEY].delete(batch)
    body = {"id": batch.id, "type": "message_batch_deleted"}
    return json_response(body, request_id(request))


async def batch_results(request: web.Request) -> web.Response:
    batch = _batch(request)
    if batch.processing_status != "ended":
        raise ErrorAnswer(
            400, "invalid_request_error", f"message batch {batch.id} has not ended; no results yet"
        )
    return web.Response(
        body=request.app[BATCHES_KEY].results_jsonl(batch),
        content_type="application/x-jsonl",
        headers={HEADER_REQUEST_ID: request_id(request)},
    )


def add_batch_routes(app: web.Application) -> None:
    prefix = "/v1/messages/batches"
    app.router.add_post(prefix, create_batch)
    app.router.add_get(prefix, list_batches)
    app.router.add_get(prefix + "/{batch_id}", retrieve_batch)
    app.router.add_delete(prefix + "/{batch_id}", delete_batch)
    app.router.add_post(prefix + "/{batch_id}/cancel", cancel_batch)
    app.router.add_get(prefix + "/{batch_id}/results", batch_results)
