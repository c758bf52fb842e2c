"""A Celery worker killed with SIGKILL again and again: no job lost, none answered twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery_fleet import Fleet, broker_for, kill, wait_until
from test_local_dispatcher import requests

from claude_arch.pipeline import JobStatus
from claude_arch.testing import EmulatorServer

# the 500 jobs through four kills: about 20 s per broker on two shared cores (each
# restart costs a worker's start-up, about 2 s)
JOBS = 500
KILL_AT = (50, 150, 250, 350)  # succeeded jobs at which the victim worker is killed
VICTIM_SLOTS = 32
# the sizes take 20-75 s per broker on two cores, depending on what else runs there
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> str:
    return broker_for(request)


async def test_sigkilled_workers_lose_nothing_and_answer_once(
    broker: str, redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    with EmulatorServer(speed=0) as emu:
        emu.set_faults({"kind": "529", "probability": 0.05}, seed=5)
        fleet = Fleet(
            emu,
            broker=broker,
            database=postgres_url,
            limiter_redis=redis_url,
            log_dir=tmp_path,
            # short leases and a fast reconciler, so the dead worker's jobs come back quickly
            lease_s="1",
            reconcile_every_s="0.5",
            stale_s="5",
            max_countdown_s="5",
            time_limit_s="30",
        )
        ledger = await fleet.ledger()
        try:
            await ledger.submit(requests(JOBS))
            fleet.start(concurrency=8, beat=True)  # survives, and runs the reconciler
            kills = 0
            victim = fleet.start(concurrency=VICTIM_SLOTS)
            fleet.cli("enqueue")
            for target in KILL_AT:

                async def reached(target: int = target) -> bool:
                    return (await ledger.counts())[JobStatus.succeeded] >= target

                await wait_until(reached, fleet, what=f"{target} succeeded", polls=1200)
                kill(victim)
                kills += 1
                victim = fleet.start(concurrency=VICTIM_SLOTS)

            async def all_done() -> bool:
                return (await ledger.counts())[JobStatus.succeeded] == JOBS

            await wait_until(all_done, fleet, what=f"all {JOBS} succeeded", polls=2400)
            counts = await ledger.counts()
            rows = await ledger.jobs(limit=JOBS * 2)
        finally:
            fleet.stop()
            await ledger.drop()
            await ledger.aclose()
        totals = emu.stats()["totals"]

    assert kills == len(KILL_AT)
    assert counts[JobStatus.succeeded] == JOBS  # zero lost jobs
    assert all(r.status == JobStatus.succeeded and r.result for r in rows)
    assert len({r.key for r in rows}) == len(rows) == JOBS  # one result per job
    upstream = totals["requests"] + totals.get("fault_529", 0)
    assert upstream <= counts["attempts"]  # no call outside a lease (jobs + retries + expiries)
    # double work only for calls in flight when a worker died: at most its slots per kill
    assert JOBS <= totals["requests"] <= JOBS + kills * VICTIM_SLOTS
