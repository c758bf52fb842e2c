"""The celery dispatcher: real worker processes on Redis and on RabbitMQ, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery_fleet import Fleet, broker_for, wait_until
from test_local_dispatcher import requests

from claude_arch.pipeline import JobStatus
from claude_arch.pipeline.config import PipelineSettings
from claude_arch.pipeline.dispatchers.broker import celery_publisher
from claude_arch.pipeline.dispatchers.celery_app import make_app
from claude_arch.testing import EmulatorServer

# the 1,000 jobs: about 25 s per broker on two shared cores, most of it the injected
# 429s pausing the shared limiter for their retry-after
JOBS = 1000
# the sizes take 20-75 s per broker on two cores, depending on what else runs there
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> str:
    return broker_for(request)


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(speed=0) as server:  # a thread: it serves while the test's loop polls
        yield server


@pytest.fixture
def fleet(
    emu: EmulatorServer, broker: str, redis_url: str, postgres_url: str, tmp_path: Path
) -> Iterator[Fleet]:
    fleet = Fleet(
        emu, broker=broker, database=postgres_url, limiter_redis=redis_url, log_dir=tmp_path
    )
    try:
        yield fleet
    finally:
        fleet.stop()


async def test_workers_run_every_job_once_through_429s_and_529s(
    emu: EmulatorServer, fleet: Fleet
) -> None:
    """10% of calls answered 429 or 529: every job succeeds once, every call is an attempt."""
    emu.set_faults(
        {"kind": "429", "probability": 0.05}, {"kind": "529", "probability": 0.05}, seed=11
    )
    ledger = await fleet.ledger()
    try:
        await ledger.submit(requests(JOBS))
        fleet.start()
        fleet.start()
        assert f"{JOBS} jobs published" in fleet.cli("enqueue")

        async def finished() -> bool:
            counts = await ledger.counts()
            return bool(counts[JobStatus.succeeded] + counts[JobStatus.dead] == JOBS)

        await wait_until(finished, fleet, what=f"{JOBS} jobs finished", polls=2400)
        counts = await ledger.counts()
        rows = await ledger.jobs(limit=JOBS * 2)
    finally:
        await ledger.drop()
        await ledger.aclose()
    totals = emu.stats()["totals"]

    assert counts[JobStatus.succeeded] == JOBS
    assert all(r.status == JobStatus.succeeded and r.result for r in rows)
    assert len({r.key for r in rows}) == len(rows) == JOBS
    faults = totals.get("fault_429", 0) + totals.get("fault_529", 0)
    assert faults > JOBS // 20  # the faults really fired
    assert totals["requests"] == JOBS  # the model answered each job exactly once
    assert totals["requests"] + faults == counts["attempts"]  # every call was a leased attempt
    assert counts["input_tokens"] == totals["input_tokens"]


@pytest.mark.parametrize("broker", ["redis"], indirect=True)  # broker-neutral: one is enough
async def test_a_bad_request_is_a_dead_letter_and_resent_messages_cost_no_call(
    emu: EmulatorServer, fleet: Fleet
) -> None:
    emu.script(user="poison", error={"status": 400, "type": "invalid_request_error"})
    ledger = await fleet.ledger()
    try:
        poison = requests(1, run="p")[0]
        poison.request["messages"][0]["content"] = "poison"
        await ledger.submit([poison, *requests(20)])
        fleet.start(concurrency=1)  # one slot: messages are taken in the order they were sent
        fleet.cli("enqueue")

        async def finished() -> bool:
            counts = await ledger.counts()
            return bool(counts[JobStatus.succeeded] == 20 and counts[JobStatus.dead] == 1)

        await wait_until(finished, fleet, what="20 succeeded, 1 dead", polls=1200)
        [dead] = await ledger.jobs(status=JobStatus.dead)
        assert dead.attempts == 1
        assert dead.last_error is not None
        assert "400" in dead.last_error
        assert "0 jobs published" in fleet.cli("enqueue")  # nothing waits

        # messages sent again for the 20 finished jobs, then the dead letter queued again: once
        # the worker has run the dead letter, it has dropped the 20 before it without a call
        before = emu.stats()["totals"]
        done = [j.id for j in await ledger.jobs(status=JobStatus.succeeded)]
        config = PipelineSettings(broker_url=fleet.broker, queue=fleet.queue, table=fleet.table)
        publish = celery_publisher(make_app(config), fleet.queue)
        publish([(i, 0.0) for i in done])
        assert await ledger.requeue_dead([dead.id]) == 1
        publish([(dead.id, 0.0)])

        async def dead_again() -> bool:
            job = await ledger.get(dead.id)
            return job is not None and job.status == JobStatus.dead and job.attempts == 1

        await wait_until(dead_again, fleet, what="the dead letter ran again", polls=1200)
        counts = await ledger.counts()
    finally:
        await ledger.drop()
        await ledger.aclose()
    after = emu.stats()["totals"]
    assert counts["attempts"] == 21  # 20 successes, one fresh attempt of the dead letter
    assert after["requests"] - before["requests"] <= 1  # the dead letter's call, nothing else
    assert after["output_tokens"] == before["output_tokens"]
