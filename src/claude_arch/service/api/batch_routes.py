"""Message Batches through the gateway: ``/v1/messages/batches`` create, list, retrieve, cancel,
delete and results, for the official SDKs' ``client.messages.batches`` and
``client.beta.messages.batches`` (``?beta=true``; its ``anthropic-beta`` header goes upstream).

Each batch belongs to the service key that created it (:mod:`claude_arch.service.api.batch_store`):
any other key gets the 404 of an unknown batch, and a list shows the caller's own batches only.
A new batch is checked whole before anything is held or sent (size, each ``custom_id``, each
request's params like a single call's: a 400 naming ``requests.<i>…``), then admitted as one
request of the key's rpm with its worst case held from the key's budget, and settled at its real
cost once ended (:mod:`claude_arch.service.api.batch_ledger`). Every batch object a caller sees has
a ``results_url`` on this gateway, and the results stream through chunk by chunk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from claude_arch.core.wire import BATCHES_PATH, encode_body, paging
from claude_arch.errors import ConflictError, InvalidRequestError, NotFoundError
from claude_arch.service.api.batch_ledger import BatchLedger, ledger_of, store_call, to_the_end
from claude_arch.service.api.batch_store import OwnedBatch
from claude_arch.service.api.proxy import beta_headers, caller
from claude_arch.service.api.upstream import CALL_LOG_FIELDS
from claude_arch.service.http.bodies import read_json
from claude_arch.service.http.hangup import cancelled_by_hangup
from claude_arch.service.tenancy.budgets import BATCH_HOLD_TTL_S
from claude_arch.service.tenancy.quota import usd

__all__ = ["router"]

_log = logging.getLogger("claude_arch.service.batches")
router = APIRouter()
_ONE = BATCHES_PATH + "/{batch_id}"
LIST_CONCURRENCY = 8
"""Upstream retrieves at once while listing batches that have not ended."""
JSONL = "application/x-jsonl"

_LIST_PARAMETERS = paging.openapi_parameters("batch", newest_first=True)


def for_caller(request: Request, batch: Mapping[str, Any]) -> dict[str, Any]:
    """``batch`` with its ``results_url`` (when it has one) on this gateway, at the base URL the
    caller used."""
    data = dict(batch)
    if data.get("results_url"):
        base = str(request.base_url).rstrip("/")
        data["results_url"] = f"{base}{BATCHES_PATH}/{data.get('id')}/results"
    return data


def upstream_options(request: Request) -> dict[str, Any]:
    """How the upstream call goes: with the caller's ``anthropic-beta`` header, and to the beta
    endpoint (``?beta=true``) when the caller called that."""
    return {
        "extra_headers": beta_headers(request),
        "beta": request.query_params.get("beta") == "true",
    }


def json_response(data: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(encode_body(data), media_type="application/json", headers=headers)


def not_found(batch_id: str) -> NotFoundError:
    return NotFoundError(f"message batch {batch_id[:80]!r} not found")


async def owned_by_caller(request: Request, batch_id: str) -> tuple[BatchLedger, OwnedBatch]:
    """The caller's batch ``batch_id``: a 404 when it is unknown or another key's (nothing is
    asked upstream)."""
    gateway, key = await caller(request)
    ledger = ledger_of(gateway)
    owned = await store_call(ledger.owners.get(batch_id, key.id))
    if owned is None:
        raise not_found(batch_id)
    return ledger, owned


@router.post(BATCHES_PATH, summary="Create a Message Batch (checked whole before it is sent)")
async def create_batch(request: Request) -> Response:
    gateway, key = await caller(request)
    body = await read_json(request, limit=gateway.settings.max_batch_body_bytes)
    extra = next((name for name in body if name != "requests"), None)
    if extra is not None:
        raise InvalidRequestError(f"{extra}: Extra inputs are not permitted", field=extra)
    checked = gateway.client.batches.check(body.get("requests"))  # 400 naming requests.<i>…
    ledger = ledger_of(gateway)
    await store_call(ledger.owners.init())  # unreachable: refused before anything is held
    # one request of the key's rpm; no tokens of its tpm (a batch is not per-minute traffic);
    # its worst case from the key's budget, held until the batch is settled
    admission = await gateway.quotas.admit(
        key,
        input_tokens=0,
        max_output_tokens=0,
        max_cost_usd=checked.worst_case_usd,
        hold_ttl_s=BATCH_HOLD_TTL_S,
    )
    held = admission.hold.amount if admission.hold is not None else 0
    batch = await to_the_end(ledger.create(key, checked, admission, **upstream_options(request)))
    request.scope["state"][CALL_LOG_FIELDS] = {
        "key_id": key.id,
        "batch_id": batch.id,
        "batch_requests": len(checked.requests),
        "held_usd": str(usd(held)),
    }
    return json_response(for_caller(request, batch.raw), admission.headers)


@router.get(
    BATCHES_PATH,
    summary="List the caller's Message Batches, newest first",
    openapi_extra={"parameters": _LIST_PARAMETERS},
)
async def list_batches(request: Request) -> Response:
    gateway, key = await caller(request)
    query = request.query_params
    ledger = ledger_of(gateway)
    rows, more = await store_call(
        ledger.owners.page(
            key.id,
            limit=query.get("limit"),
            before_id=query.get("before_id"),
            after_id=query.get("after_id"),
        )
    )
    options = upstream_options(request)
    slots = asyncio.Semaphore(LIST_CONCURRENCY)

    async def describe(owned: OwnedBatch) -> dict[str, Any] | None:
        if owned.ended_batch is not None:
            ledger.observe(owned)
            return owned.ended_batch
        async with slots, gateway.gate.slot():
            try:
                batch = await gateway.client.batches.retrieve(owned.id, **options)
            except NotFoundError:
                _log.warning("batch %s of key %s is gone upstream", owned.id, owned.key_id)
                return None
        ledger.observe(owned, batch)
        return batch.raw

    found = await asyncio.gather(*(describe(owned) for owned in rows))
    data = [for_caller(request, batch) for batch in found if batch is not None]
    return json_response(
        {
            "data": data,
            "has_more": more,
            # the page's cursors are the rows', so paging goes on past a batch gone upstream
            "first_id": rows[0].id if rows else None,
            "last_id": rows[-1].id if rows else None,
        }
    )


@router.get(_ONE, summary="One of the caller's Message Batches")
async def retrieve_batch(request: Request, batch_id: str) -> Response:
    ledger, owned = await owned_by_caller(request, batch_id)
    gateway = ledger.gateway
    async with gateway.gate.slot():
        batch = await gateway.client.batches.retrieve(batch_id, **upstream_options(request))
    ledger.observe(owned, batch)
    return json_response(for_caller(request, batch.raw))


@router.post(_ONE + "/cancel", summary="Cancel one of the caller's Message Batches")
async def cancel_batch(request: Request, batch_id: str) -> Response:
    ledger, owned = await owned_by_caller(request, batch_id)
    gateway = ledger.gateway
    async with gateway.gate.slot():
        batch = await gateway.client.batches.cancel(batch_id, **upstream_options(request))
    ledger.observe(owned, batch)
    return json_response(for_caller(request, batch.raw))


@router.delete(_ONE, summary="Delete one of the caller's ended Message Batches")
async def delete_batch(request: Request, batch_id: str) -> Response:
    ledger, owned = await owned_by_caller(request, batch_id)
    gateway = ledger.gateway
    options = upstream_options(request)
    if not owned.settled:
        # its results go with it: the batch is settled first (a batch not ended yet is
        # refused by the upstream, as the API refuses it)
        async with gateway.gate.slot():
            batch = await gateway.client.batches.retrieve(batch_id, **options)
        if batch.ended:
            await ledger.settle(owned)
            again = await store_call(ledger.owners.get(batch_id, owned.key_id))
            if again is None:
                raise not_found(batch_id)
            if not again.settled:
                raise ConflictError(
                    f"message batch {batch_id} is being settled (its cost charged to this key); "
                    "retry the delete shortly"
                )
    async with gateway.gate.slot():
        deleted = await gateway.client.batches.delete(batch_id, **options)
    await store_call(ledger.owners.remove(batch_id))
    return json_response(deleted)


@router.get(_ONE + "/results", summary="The results (JSONL) of one of the caller's batches")
async def batch_results(request: Request, batch_id: str) -> Response:
    ledger, owned = await owned_by_caller(request, batch_id)
    gateway = ledger.gateway
    chunks = gateway.client.batches.raw_results(batch_id, **upstream_options(request))
    try:
        async with gateway.gate.slot():  # the upstream call; not the slow reader's download
            first = await anext(chunks, b"")
    except BaseException:
        await chunks.aclose()
        raise
    ledger.observe(owned)
    return ForwardedResults(first, chunks)


class ForwardedResults(StreamingResponse):
    """The results file, forwarded chunk by chunk as the upstream sends it (never held whole),
    from the request's own task, which the client hanging up cancels. A failure upstream
    mid-file drops the connection: the caller sees a cut transfer, never a short file that
    looks complete."""

    def __init__(self, first: bytes, chunks: AsyncGenerator[bytes, None]) -> None:
        super().__init__((), media_type=JSONL)
        self.first = first
        self.chunks = chunks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with cancelled_by_hangup(scope, receive):
                await send(
                    {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                )
                if self.first:
                    await send(
                        {"type": "http.response.body", "body": self.first, "more_body": True}
                    )
                try:
                    async for chunk in self.chunks:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except Exception as exc:
                    _log.warning("batch results cut short by the upstream: %s", exc)
                    raise
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self.chunks.aclose()
