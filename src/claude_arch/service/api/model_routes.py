"""``GET /v1/models`` (paged like the API) and ``GET /v1/models/{model_id}`` (aliases resolve),
from the gateway's catalog: the models its upstream serves. On the Claude API a model past its
retirement day is neither listed nor found (a 404 naming the day); Bedrock and Vertex retire
models on their own schedules, so with either upstream every catalog model stays.

A list pages with ``limit`` (1 to 1000, default 20), ``after_id`` or ``before_id``, so an official
SDK's auto-pager (``for m in client.models.list(limit=5)``) walks every model once and stops. A
``limit`` out of range is a 400 naming it, both cursors at once a 400, a cursor that names no
model a 404: :mod:`claude_arch.core.wire.paging`, as the emulator answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from claude_arch.core.pricing.catalog import Catalog, ModelInfo, model_object, refuse_retired
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
    catalog = gateway.client.catalog
    chosen, more = paging.page(
        [m for m in catalog if not _retired_upstream(catalog, m)],
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
    if _retired_upstream(gateway.client.catalog, info):
        refuse_retired(info)
    return model_object(info)


def _retired_upstream(catalog: Catalog, info: ModelInfo) -> bool:
    """Whether the upstream that serves ``info`` has retired it: the Claude API by the
    catalog's retirement day, the platforms never by it."""
    return (info.provider or catalog.placement.upstream) == "anthropic" and info.retired()
