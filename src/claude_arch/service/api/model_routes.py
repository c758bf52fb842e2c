"""``GET /v1/models`` (paged like the API) and ``GET /v1/models/{model_id}`` (aliases resolve),
from the gateway's catalog.

A list pages with ``limit`` (1 to 1000, default 20), ``after_id`` or ``before_id``, so an official
SDK's auto-pager (``for m in client.models.list(limit=5)``) walks every model once and stops. A
``limit`` out of range is a 400 naming it, both cursors at once a 400, a cursor that names no
model a 404: :mod:`claude_arch.core.wire.paging`, as the emulator answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from claude_arch.core.pricing.catalog import model_object
from claude_arch.core.wire import paging
from claude_arch.errors import NotFoundError
from claude_arch.service.api.proxy import caller

__all__ = ["router"]

router = APIRouter()

_LIST_PARAMETERS = paging.openapi_parameters("model")


@router.get(
    "/v1/models",
    summary="List the models this gateway serves",
    # read from the query by core's paging (the emulator's rules and messages), documented here
    openapi_extra={"parameters": _LIST_PARAMETERS},
)
async def list_models(request: Request) -> dict[str, Any]:
    gateway, _key = await caller(request)
    query = request.query_params
    chosen, more = paging.page(
        list(gateway.client.catalog),
        lambda m: m.id,
        limit=query.get("limit"),
        before_id=query.get("before_id"),
        after_id=query.get("after_id"),
    )
    return paging.page_body([model_object(m) for m in chosen], more)


@router.get("/v1/models/{model_id}", summary="One model (aliases resolve)")
async def get_model(request: Request, model_id: str) -> dict[str, Any]:
    gateway, _key = await caller(request)
    info = gateway.client.catalog.get(model_id)
    if info is None:
        raise NotFoundError(f"model: {model_id[:100]!r} not found")
    return model_object(info)
