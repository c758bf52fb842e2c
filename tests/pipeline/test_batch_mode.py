"""Batch mode against the emulator's Message Batches API, through the Python API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from batch_proxy import BatchProxy
from test_local_dispatcher import MODEL, client_for, requests

from claude_arch.constants import MAX_BATCH_BYTES, MAX_BATCH_REQUESTS
from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.emulator.routes.batches import BATCHES_KEY
from claude_arch.pipeline import JobStatus, Ledger, NewJob
from claude_arch.pipeline.batch.dispatcher import BatchDispatcher, BatchStats
from claude_arch.pipeline.batch.ledger import BatchLedger
from claude_arch.pipeline.batch.results import ingest
from claude_arch.pipeline.batch.rows import BatchState, custom_id
from claude_arch.pipeline.dispatchers.local import LocalDispatcher, RunStats
from claude_arch.testing import EmulatorServer

FAST: dict[str, Any] = {"poll_s": 0.02, "max_poll_s": 0.2, "lease_s": 5.0}


def jobs(n: int, run: str = "r", *, text: str = "d", max_attempts: int = 8) -> list[NewJob]:
    return [
        NewJob(
            f"{run}-{i}",
            run,
            f"doc{i}.txt",
            {
                "model": MODEL,
                "max_tokens": 64,
                "messages": [{"role": "user", "content": f"{text}{i}"}],
            },
            MODEL,
            max_attempts=max_attempts,
        )
        for i in range(n)
    ]


@pytest.fixture
async def emu() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(speed=0, batch_seconds_per_request=0) as server:
        yield server


def api_batches(emu: EmulatorServer) -> list[Any]:
    """The emulator's own batches, oldest first."""
    return list(reversed(emu.app[BATCHES_KEY].newest_first()))


async def one_result_each(ledger: Ledger, n: int) -> list[Any]:
    rows = await ledger.jobs(limit=n * 2)
    assert len(rows) == n
    assert all(r.status == JobStatus.succeeded and r.result for r in rows)
    assert len({r.key for r in rows}) == n
    return rows


async def test_jobs_run_as_batches_at_half_the_price(
    emu: EmulatorServer, live_ledger: Ledger
) -> None:
    await live_ledger.submit(requests(250))
    async with client_for(emu) as client:
        stats = await BatchDispatcher(live_ledger, client, max_requests=100, **FAST).run()

    rows = await one_result_each(live_ledger, 250)
    assert all(r.attempts == 1 for r in rows)
    batches = await BatchLedger(live_ledger).rows()
    assert [b.requests for b in batches] == [100, 100, 50]
    assert all(b.state == BatchState.done and not b.uncertain for b in batches)
    assert sum(b.succeeded for b in batches) == stats.succeeded == 250
    assert (stats.batches_created, stats.batches_done, stats.batches_adopted) == (3, 3, 0)
    # the ledger and the emulator agree: one API batch per row, each request answered once
    seen = api_batches(emu)
    assert [b.id for b in seen] == [b.api_id for b in batches]
    assert [b.counts["succeeded"] for b in seen] == [100, 100, 50]
    totals = emu.stats()["totals"]
    assert totals["batch_requests"] == 250
    assert "requests" not in totals  # no plain Messages call
    counts = await live_ledger.counts()
    assert counts["input_tokens"] == totals["input_tokens"]
    assert counts["output_tokens"] == totals["output_tokens"]
    # the cost is the catalog's batch price of each usage: half the standard price
    catalog = default_catalog()
    standard = sum(catalog.cost(MODEL, r.usage or {}, batch=False) for r in rows)
    batch = sum(catalog.cost(MODEL, r.usage or {}, batch=True) for r in rows)
    assert batch == standard * Decimal("0.5")
    assert counts["cost_usd"] == pytest.approx(float(batch))
    assert sum(b.cost_usd for b in batches) == pytest.approx(float(batch))
    assert all(r.usage and r.usage["service_tier"] == "batch" for r in rows)


async def test_batches_stay_within_the_byte_limit(emu: EmulatorServer, live_ledger: Ledger) -> None:
    await live_ledger.submit(jobs(30, text="x" * 3000))
    async with client_for(emu) as client:
        await BatchDispatcher(live_ledger, client, max_bytes=20_000, **FAST).run()
        batches = await BatchLedger(live_ledger).rows()
        for row in batches:
            held = [await live_ledger.get(i) for i in row.job_ids]
            body = client.batches.check(
                [{"custom_id": custom_id(row.token, j.id), "params": j.request} for j in held if j]
            ).body()
            assert len(body) <= 20_000
            assert row.body_bytes <= 20_000
    await one_result_each(live_ledger, 30)
    assert len(batches) >= 5
    assert sum(b.requests for b in batches) == 30


def test_the_api_limits_bound_a_batch() -> None:
    ledger: Any = object()
    with pytest.raises(ValueError, match="100000"):
        BatchDispatcher(ledger, ledger, max_requests=MAX_BATCH_REQUESTS + 1)
    with pytest.raises(ValueError, match="bytes"):
        BatchDispatcher(ledger, ledger, max_bytes=MAX_BATCH_BYTES + 1)


async def test_expired_requests_go_into_a_new_batch(live_ledger: Ledger) -> None:
    """Each batch expires before it is through: what expired is sent again, and every job is
    answered once."""
    async with EmulatorServer(speed=0, batch_seconds_per_request=0.01, batch_expiry_s=0.25) as emu:
        await live_ledger.submit(jobs(60, max_attempts=40))
        async with client_for(emu) as client:
            stats = await BatchDispatcher(live_ledger, client, **FAST).run()
        totals = emu.stats()["totals"]
        seen = api_batches(emu)

    rows = await one_result_each(live_ledger, 60)
    batches = await BatchLedger(live_ledger).rows()
    assert len(batches) == len(seen) >= 2
    expired = sum(b.counts["expired"] for b in seen)
    assert expired > 0
    assert sum(b.retried for b in batches) == stats.retried == expired
    assert sum(r.attempts for r in rows) == 60 + expired
    assert totals["batch_requests"] == 60


@pytest.mark.parametrize("retry_via", ["batch", "sync"])
async def test_retryable_errors_are_retried_and_bad_requests_die(
    emu: EmulatorServer, live_ledger: Ledger, retry_via: Any
) -> None:
    emu.script(user="flaky", error={"status": 529, "type": "overloaded_error"})
    emu.script(user="poison", error={"status": 400, "type": "invalid_request_error"})
    await live_ledger.submit([*jobs(20), *jobs(5, "f", text="flaky"), *jobs(1, "p", text="poison")])

    def heal(stats: RunStats) -> None:
        if stats.retried >= 5:
            emu.clear_rules()  # the overload is over once the first batch is read

    async with client_for(emu) as client:
        stats = await BatchDispatcher(
            live_ledger, client, retry_via=retry_via, on_progress=heal, **FAST
        ).run()

    assert isinstance(stats, BatchStats)
    [dead] = await live_ledger.jobs(status=JobStatus.dead)
    assert dead.run == "p"
    assert dead.attempts == 1
    assert dead.last_error is not None
    assert "invalid_request_error" in dead.last_error
    done = await live_ledger.jobs(status=JobStatus.succeeded)
    assert len(done) == 25
    assert len({j.key for j in done}) == 25
    flaky = [j for j in done if j.run == "f"]
    assert all(j.attempts == 2 for j in flaky)
    totals = emu.stats()["totals"]
    if retry_via == "batch":
        assert totals["batch_requests"] == 25
        assert "requests" not in totals
        assert len(api_batches(emu)) == 2
        assert all(j.usage and j.usage["service_tier"] == "batch" for j in flaky)
    else:
        assert totals["batch_requests"] == 20
        assert totals["requests"] == 5  # the five went as plain calls
        assert stats.sync_succeeded == 5
        assert len(api_batches(emu)) == 1
        assert all(j.usage and j.usage.get("service_tier") != "batch" for j in flaky)


async def test_a_create_whose_answer_was_lost_is_found_not_sent_again(
    live_ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """The first create reaches the API and its answer is lost: the row is found again by
    listing the batches (waiting while the candidate is still in progress), never re-sent."""
    await live_ledger.submit(requests(150))
    # paced: the lost batch is still running when it is first looked for
    async with EmulatorServer(speed=0, batch_seconds_per_request=0.005) as emu:
        async with BatchProxy(emu.url) as proxy:
            proxy.lose_create_answers = 1
            async with ClaudeClient(api_key=emu.api_key, base_url=proxy.url, max_retries=0) as c:
                with caplog.at_level(logging.INFO, logger="claude_arch.pipeline"):
                    stats = await BatchDispatcher(live_ledger, c, max_requests=100, **FAST).run()
            assert proxy.creates_forwarded == 2
        seen = api_batches(emu)
        totals = emu.stats()["totals"]

    await one_result_each(live_ledger, 150)
    batches = await BatchLedger(live_ledger).rows()
    assert len(seen) == len(batches) == 2  # no batch created twice
    assert sorted(b.id for b in seen) == sorted(str(b.api_id) for b in batches)
    assert (stats.batches_created, stats.batches_adopted) == (1, 1)
    lost = next(b for b in batches if b.requests == 100)
    assert lost.create_attempts == 1
    assert lost.api_id == seen[0].id
    assert "waiting for" in caplog.text  # the candidate was in progress at first
    assert totals["batch_requests"] == 150


async def test_reading_results_again_writes_nothing_twice(
    emu: EmulatorServer, live_ledger: Ledger
) -> None:
    await live_ledger.submit(requests(40))
    async with client_for(emu) as client:
        await BatchDispatcher(live_ledger, client, **FAST).run()
        before = await live_ledger.jobs()
        batches = BatchLedger(live_ledger)
        [row] = await batches.rows()
        again = await ingest(client, batches, row)
    assert again["refused"] == 40
    assert again["succeeded"] == again["cost_usd"] == 0
    assert await live_ledger.jobs() == before
    [after] = await batches.rows()
    assert after.succeeded == 40


async def test_cancelled_jobs_cancel_their_batch(live_ledger: Ledger) -> None:
    async with EmulatorServer(speed=0, batch_seconds_per_request=0.02) as emu:
        await live_ledger.submit(requests(100))
        async with client_for(emu) as client:
            created = asyncio.Event()

            def watch(stats: RunStats) -> None:
                if isinstance(stats, BatchStats) and stats.batches_created:
                    created.set()

            dispatcher = BatchDispatcher(live_ledger, client, on_progress=watch, **FAST)
            task = asyncio.create_task(dispatcher.run())
            await asyncio.wait_for(created.wait(), 10)
            assert await live_ledger.cancel() == 100
            stats = await asyncio.wait_for(task, 30)
        [api] = api_batches(emu)

    assert api.counts["canceled"] > 0
    assert stats.succeeded == 0
    assert stats.refused == 100
    assert (await live_ledger.counts())["cancelled"] == 100
    [row] = await BatchLedger(live_ledger).rows()
    assert row.state == BatchState.done


async def test_the_cost_cap_stops_new_batches(emu: EmulatorServer, live_ledger: Ledger) -> None:
    await live_ledger.submit(requests(200))
    async with client_for(emu) as client:
        one = client.batches.check(
            [{"custom_id": f"c{j.key}", "params": j.request} for j in requests(50)]
        ).worst_case_usd
        cap = float(one) * 1.5  # room for one batch's worst case, not two
        stats = await BatchDispatcher(
            live_ledger, client, max_requests=50, max_cost_usd=cap, **FAST
        ).run()
    assert stats.stopped == "max_cost_usd"
    counts = await live_ledger.counts()
    assert counts["succeeded"] == 100  # the two batches open when the cap was reached
    assert counts["queued"] == 100
    assert counts["cost_usd"] < cap


async def test_the_sync_dispatcher_leaves_jobs_held_by_a_batch(live_ledger: Ledger) -> None:
    await live_ledger.submit(requests(10))
    batches = await BatchLedger.open(live_ledger)
    planned = await batches.record(
        "elsewhere", run=None, max_requests=6, max_bytes=10**6, lease_s=1
    )
    assert planned is not None
    assert len(planned.jobs) == 6
    async with EmulatorServer(speed=0) as emu, client_for(emu) as client:
        stats = await asyncio.wait_for(
            LocalDispatcher(live_ledger, client, lease_s=0.5).run(), timeout=10
        )
    assert stats.succeeded == 4  # the others wait for their batch, however long it takes
    held = await batches.held_jobs(planned.row)
    assert [j.id for j in held] == [j.id for j in planned.jobs]
    assert all(j.lease_expires is None for j in held)
