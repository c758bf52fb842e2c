"""``GET /v1/models`` (paged like the API) and ``GET /v1/models/{model_id}`` (aliases resolve)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from aiohttp import web

from claude_arch.core.catalog import model_object
from claude_arch.emulator.messages import STATE_KEY
from claude_arch.emulator.request_io import ApiError, json_response, request_id, require_key

__all__ = ["get_model", "list_models", "page"]

T = TypeVar("T")


def page(request: web.Request, items: Sequence[T], id_of: Any) -> tuple[list[T], bool]:
    """The slice ``limit`` / ``before_id`` / ``after_id`` select, and whether more lie beyond."""
    query = request.query
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        raise ApiError(400, "invalid_request_error", "limit: expected an integer") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "invalid_request_error", "limit: must be between 1 and 1000")
    ids = [id_of(item) for item in items]
    before, after = query.get("before_id"), query.get("after_id")
    if before is not None and after is not None:
        raise ApiError(400, "invalid_request_error", "use before_id or after_id, not both")
    cursor = before if before is not None else after
    if cursor is not None and cursor not in ids:
        field = "before_id" if before is not None else "after_id"
        raise ApiError(404, "not_found_error", f"{field}: no object with id {cursor!r}")
    if before is not None:
        end = ids.index(before)
        start = max(0, end - limit)
        return list(items[start:end]), start > 0
    start = ids.index(after) + 1 if after is not None else 0
    return list(items[start : start + limit]), start + limit < len(items)


def page_body(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


async def list_models(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    chosen, more = page(request, list(state.catalog), lambda m: m.id)
    body = page_body([model_object(m) for m in chosen], more)
    return json_response(body, request_id(request))


async def get_model(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    name = request.match_info["model_id"]
    info = state.catalog.get(name)
    if info is None:
        raise ApiError(404, "not_found_error", f"model: {name[:100]!r} not found")
    return json_response(model_object(info), request_id(request))
