"""Message Batches through the gateway with the official 2.x SDK, against the emulator: a batch
of 1,000 requests runs to its end, its results iterate through the SDK, the key is charged
exactly the results' cost at the batch price (held at the worst case meanwhile), and no other
key can see, read, cancel or delete it; cancel, delete, the beta paths, paging and the results
streaming through chunk by chunk.
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from aiohttp import web
from batch_support import (
    MICRO,
    MODEL,
    UpstreamSeen,
    batch_requests,
    batch_upstream,
    ended,
    key_of,
    results_cost,
    settled,
    until,
)
from error_shape import assert_anthropic_error

from claude_arch.constants import HEADER_BUDGET_REMAINING
from claude_arch.core.batches import check_batch
from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.wire import BATCHES_PATH
from claude_arch.service.tenancy.quota import usd
from claude_arch.service.testing import ServiceServer

BUDGET = Decimal(50)


def sdk_for(server: ServiceServer, secret: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.url, api_key=secret, max_retries=0)


async def budget_remaining(server: ServiceServer, secret: str) -> Decimal:
    """The key's budget minus what it spent and holds, as an admitted call's header says."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/v1/messages/count_tokens",
            headers={"x-api-key": secret},
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
    assert r.status_code == 200, r.text
    return Decimal(r.headers[HEADER_BUDGET_REMAINING])


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_batch_of_1000_requests_is_the_keys_alone_and_billed_at_the_batch_price(
    tmp_path: Path,
) -> None:
    requests = batch_requests(1000, max_tokens=32)
    async with (
        batch_upstream() as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        owner = await svc.create_key("owner", rpm=1000, budget_usd=BUDGET)
        other = await svc.create_key("other", rpm=1000, budget_usd=BUDGET)
        async with sdk_for(svc, owner) as sdk, sdk_for(svc, other) as stranger:
            await check_a_batch_of_1000(svc, seen, sdk, stranger, requests=requests, other=other)


async def check_a_batch_of_1000(
    svc: ServiceServer,
    seen: UpstreamSeen,
    sdk: anthropic.AsyncAnthropic,
    stranger: anthropic.AsyncAnthropic,
    *,
    requests: list[dict[str, Any]],
    other: str,
) -> None:
    worst = check_batch(requests, catalog=default_catalog(), default_model=MODEL).worst_case_usd
    owner = sdk.api_key
    raw = await sdk.messages.batches.with_raw_response.create(requests=requests)
    batch = await raw.parse()
    # the worst case is held at once: estimated input + max_tokens, at half the list price
    held = worst.quantize(MICRO, rounding=ROUND_CEILING)
    assert Decimal(raw.headers[HEADER_BUDGET_REMAINING]) == BUDGET - held
    assert worst < BUDGET
    assert batch.request_counts.processing == 1000
    assert batch.results_url is None

    done = await ended(sdk, batch.id)
    assert done.request_counts.succeeded == 1000
    assert done.results_url == f"{svc.url}{BATCHES_PATH}/{batch.id}/results"

    results = [r async for r in await sdk.messages.batches.results(batch.id)]
    assert sorted(r.custom_id for r in results) == sorted(q["custom_id"] for q in requests)
    assert {r.result.type for r in results} == {"succeeded"}
    assert {r.result.message.usage.service_tier for r in results} == {"batch"}

    key = await key_of(svc, owner)
    row = await settled(svc, batch.id, key)
    cost = results_cost(results)
    assert cost > 0
    assert usd(row.cost_micro_usd or 0) == cost
    assert await svc.gateway.quotas.spent(key) == cost
    catalog = default_catalog()
    full_price = sum(
        (catalog.cost(MODEL, r.result.message.usage.model_dump(), batch=False) for r in results),
        Decimal(0),
    )
    assert cost < full_price
    # the hold is gone: what remains is the budget less the real cost
    assert await budget_remaining(svc, owner) == BUDGET - cost

    # another key: a 404 for everything, nothing asked upstream, not in its list
    upstream_before = len(seen.batch_calls())
    with pytest.raises(anthropic.NotFoundError):
        await stranger.messages.batches.retrieve(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        await stranger.messages.batches.results(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        await stranger.messages.batches.cancel(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        await stranger.messages.batches.delete(batch.id)
    async with httpx.AsyncClient(base_url=svc.url) as http:
        r = await http.get(done.results_url, headers={"x-api-key": other})
    assert "not found" in assert_anthropic_error(r, 404, "not_found_error")
    assert [b.id async for b in stranger.messages.batches.list()] == []
    assert len(seen.batch_calls()) == upstream_before
    assert await svc.gateway.quotas.spent(await key_of(svc, other)) == 0

    # settled once: reading the results again, listing, retrieving charge nothing more
    again = [r async for r in await sdk.messages.batches.results(batch.id)]
    assert len(again) == 1000
    assert [b.id async for b in sdk.messages.batches.list()] == [batch.id]
    await sdk.messages.batches.retrieve(batch.id)
    assert await svc.gateway.quotas.spent(key) == cost


async def test_cancel_then_delete_settles_what_ran_and_forgets_the_batch(tmp_path: Path) -> None:
    # one request is answered at once, the next waits an hour: the cancel finds it running
    async with (
        batch_upstream(batch_seconds_per_request=3600) as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        secret = await svc.create_key("owner", budget_usd=BUDGET)
        async with sdk_for(svc, secret) as sdk:
            batch = await sdk.messages.batches.create(requests=batch_requests(3))

            # a batch still running cannot be deleted (the upstream says why); it stays the key's
            with pytest.raises(anthropic.BadRequestError) as refused:
                await sdk.messages.batches.delete(batch.id)
            assert "cancel it first" in str(refused.value)
            assert (await sdk.messages.batches.retrieve(batch.id)).id == batch.id

            canceling = await sdk.messages.batches.cancel(batch.id)
            assert canceling.processing_status in ("canceling", "ended")
            done = await ended(sdk, batch.id)
            assert done.request_counts.succeeded == 1
            assert done.request_counts.canceled == 2
            results = [r async for r in await sdk.messages.batches.results(batch.id)]
            cost = results_cost(results)

            deleted = await sdk.messages.batches.delete(batch.id)
            assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
            key = await key_of(svc, secret)
            assert await svc.gateway.quotas.spent(key) == cost  # settled before the results went
            assert await budget_remaining(svc, secret) == BUDGET - cost

            calls = len(seen.batch_calls())
            with pytest.raises(anthropic.NotFoundError):
                await sdk.messages.batches.retrieve(batch.id)
            assert [b.id async for b in sdk.messages.batches.list()] == []
            assert len(seen.batch_calls()) == calls  # the gateway knows it is gone


async def test_a_delete_right_after_the_end_waits_for_the_settlement(tmp_path: Path) -> None:
    async with (
        batch_upstream() as (emu, _seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
        anthropic.AsyncAnthropic(base_url=emu.url, api_key=emu.api_key) as direct,
    ):
        secret = await svc.create_key("owner")
        async with sdk_for(svc, secret) as sdk:
            batch = await sdk.messages.batches.create(requests=batch_requests(5))

            # watched upstream, not through the gateway: nothing settled it before the delete
            async def upstream_ended() -> Any:
                b = await direct.messages.batches.retrieve(batch.id)
                return b if b.processing_status == "ended" else None

            await until(upstream_ended, "the batch ended upstream")
            results = [r async for r in await direct.messages.batches.results(batch.id)]
            await sdk.messages.batches.delete(batch.id)
        key = await key_of(svc, secret)
        # a key without a budget holds nothing, but its spend is still counted
        assert await svc.gateway.quotas.spent(key) == results_cost(results) > 0


async def test_the_beta_paths_pass_their_header_upstream(tmp_path: Path) -> None:
    betas = ["message-batches-2024-09-24"]
    async with (
        batch_upstream() as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        secret, other = await svc.create_key("owner"), await svc.create_key("other")
        async with sdk_for(svc, secret) as sdk, sdk_for(svc, other) as stranger_sdk:
            beta = sdk.beta.messages.batches
            batch = await beta.create(requests=batch_requests(4), betas=betas)
            # the 2.x SDK marks the beta calls with their header (0.x adds ?beta=true too)
            assert ("POST", BATCHES_PATH, "", betas[0]) in seen.calls
            done = await until(
                lambda: _ended_or_none(beta.retrieve(batch.id, betas=betas)), "beta batch ended"
            )
            assert done.results_url == f"{svc.url}{BATCHES_PATH}/{batch.id}/results"
            assert [b.id async for b in beta.list(betas=betas)] == [batch.id]
            results = [r async for r in await beta.results(batch.id, betas=betas)]
            assert sorted(r.custom_id for r in results) == ["r0", "r1", "r2", "r3"]

            stranger = stranger_sdk.beta.messages.batches
            with pytest.raises(anthropic.NotFoundError):
                await stranger.retrieve(batch.id, betas=betas)
            assert [b.id async for b in stranger.list(betas=betas)] == []

            # the beta endpoint is called upstream as it was called here
            async with httpx.AsyncClient(base_url=svc.url) as http:
                r = await http.get(
                    f"{BATCHES_PATH}/{batch.id}?beta=true",
                    headers={"x-api-key": secret, "anthropic-beta": betas[0]},
                )
            assert r.json()["id"] == batch.id
            assert seen.calls[-1] == ("GET", f"{BATCHES_PATH}/{batch.id}", "beta=true", betas[0])

            deleted = await beta.delete(batch.id, betas=betas)
            assert deleted.id == batch.id
        key = await key_of(svc, secret)
        assert await svc.gateway.quotas.spent(key) == results_cost(results)


async def _ended_or_none(retrieving: Any) -> Any:
    batch = await retrieving
    return batch if batch.processing_status == "ended" else None


async def test_a_list_pages_over_the_callers_own_batches_newest_first(tmp_path: Path) -> None:
    async with (
        batch_upstream() as (emu, _seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        mine, theirs = await svc.create_key("mine"), await svc.create_key("theirs")
        async with sdk_for(svc, mine) as sdk, sdk_for(svc, theirs) as other:
            await check_paging(svc, sdk, other)


async def check_paging(
    svc: ServiceServer, sdk: anthropic.AsyncAnthropic, other: anthropic.AsyncAnthropic
) -> None:
    created = []
    for i in range(5):
        created.append((await sdk.messages.batches.create(requests=batch_requests(1))).id)
        if i % 2:
            await other.messages.batches.create(requests=batch_requests(1))
    newest_first = created[::-1]

    # the SDK's auto-pager walks every one of the caller's batches once, in order
    assert [b.id async for b in sdk.messages.batches.list(limit=2)] == newest_first
    assert len([b.id async for b in other.messages.batches.list()]) == 2

    first = await sdk.messages.batches.list(limit=2)
    assert [b.id for b in first.data] == newest_first[:2]
    assert (first.has_more, first.first_id, first.last_id) == (
        True,
        newest_first[0],
        newest_first[1],
    )
    after = await sdk.messages.batches.list(limit=2, after_id=newest_first[1])
    assert [b.id for b in after.data] == newest_first[2:4]
    assert after.has_more
    last = await sdk.messages.batches.list(limit=2, after_id=newest_first[3])
    assert [b.id for b in last.data] == newest_first[4:]
    assert not last.has_more
    before = await sdk.messages.batches.list(limit=2, before_id=newest_first[4])
    assert [b.id for b in before.data] == newest_first[2:4]
    assert before.has_more
    before = await sdk.messages.batches.list(limit=2, before_id=newest_first[2])
    assert [b.id for b in before.data] == newest_first[:2]
    assert not before.has_more

    # every listed batch shows its results where the caller can fetch them: here
    for batch_id in created:
        await until(lambda b=batch_id: _ended_or_none(sdk.messages.batches.retrieve(b)), "ended")
    listed = [b async for b in sdk.messages.batches.list()]
    assert [b.results_url for b in listed] == [
        f"{svc.url}{BATCHES_PATH}/{batch_id}/results" for batch_id in newest_first
    ]


async def test_the_results_stream_through_before_the_upstream_has_sent_them_all(
    tmp_path: Path,
) -> None:
    """The upstream sends half the file, then waits until the caller has read the first lines
    (or, if the gateway held the file back, a bound): what released it says which happened."""
    caller_read_first = asyncio.Event()
    released_by: list[str] = []

    @web.middleware
    async def in_two_halves(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if not request.path.endswith("/results") or not isinstance(response, web.Response):
            return response
        body = bytes(response.body)  # type: ignore[arg-type]
        half = body.index(b"\n", len(body) // 2) + 1
        streamed = web.StreamResponse(headers={"content-type": "application/x-jsonl"})
        await streamed.prepare(request)
        await streamed.write(body[:half])
        try:
            await asyncio.wait_for(caller_read_first.wait(), timeout=20)
            released_by.append("caller")
        except TimeoutError:
            released_by.append("bound")
        await streamed.write(body[half:])
        await streamed.write_eof()
        return streamed

    async with (
        batch_upstream(in_two_halves) as (emu, _seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        secret = await svc.create_key("owner")
        async with sdk_for(svc, secret) as sdk:
            batch = await sdk.messages.batches.create(requests=batch_requests(200))
            done = await ended(sdk, batch.id)
        lines: list[bytes] = []
        async with (
            httpx.AsyncClient(timeout=60) as http,
            http.stream("GET", done.results_url, headers={"x-api-key": secret}) as r,
        ):
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/x-jsonl"
            async for line in r.aiter_lines():
                lines.append(line.encode())
                caller_read_first.set()
        # the gateway's own read of the results (its settlement) waited for the caller too
        assert released_by
        assert set(released_by) == {"caller"}
        assert len([line for line in lines if line.strip()]) == 200


async def test_the_hold_prices_every_factor_a_request_asks_for(tmp_path: Path) -> None:
    """A request that marks its prompt for the 1-hour cache may be billed its whole input as
    cache writes (2x the input price): the batch's hold counts it."""
    prompt = "context " * 2000
    cached = [{"type": "text", "text": prompt, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    async with (
        batch_upstream() as (emu, _seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        secret = await svc.create_key("owner", budget_usd=BUDGET)
        async with sdk_for(svc, secret) as sdk:
            batches = sdk.messages.batches.with_raw_response
            plain = await batches.create(requests=batch_requests(10, system=prompt, max_tokens=1))
            after_plain = Decimal(plain.headers[HEADER_BUDGET_REMAINING])
            marked = await batches.create(requests=batch_requests(10, system=cached, max_tokens=1))
            after_marked = Decimal(marked.headers[HEADER_BUDGET_REMAINING])
        plain_hold = BUDGET - after_plain
        marked_hold = after_plain - after_marked
        assert plain_hold > 0
        assert marked_hold >= plain_hold * Decimal("1.9")
