"""``GET /v1/models`` (paged like the API) and ``GET /v1/models/{model_id}`` (aliases resolve):
the models the Anthropic routes serve, so one past its retirement day is neither listed nor
found (unless ``serve_retired``), as on the API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from aiohttp import web

from claude_arch.core.pricing.catalog import model_object
from claude_arch.core.wire import paging
from claude_arch.emulator.request_io import ErrorAnswer, json_response, request_id, require_key
from claude_arch.emulator.routes.messages import STATE_KEY
from claude_arch.errors import ClaudeArchError

__all__ = ["get_model", "list_models", "page"]

T = TypeVar("T")


def page(
    request: web.Request, items: Sequence[T], id_of: Callable[[T], str]
) -> tuple[list[T], bool]:
    """The page of ``items`` the query's ``limit`` / ``before_id`` / ``after_id`` select, and
    whether more lie beyond (:func:`claude_arch.core.wire.paging.page`, errors as answers)."""
    query = request.query
    try:
        return paging.page(
            items,
            id_of,
            limit=query.get("limit"),
            before_id=query.get("before_id"),
            after_id=query.get("after_id"),
        )
    except ClaudeArchError as exc:
        raise ErrorAnswer.of(exc) from None


async def list_models(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    chosen, more = page(request, [m for m in state.catalog if state.serves(m)], lambda m: m.id)
    body = paging.page_body([model_object(m) for m in chosen], more)
    return json_response(body, request_id(request))


async def get_model(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    name = request.match_info["model_id"]
    info = state.catalog.get(name)
    if info is None:
        raise ErrorAnswer(404, "not_found_error", f"model: {name[:100]!r} not found")
    try:
        state.refuse_retired(info)
    except ClaudeArchError as exc:
        raise ErrorAnswer.of(exc) from None
    return json_response(model_object(info), request_id(request))
