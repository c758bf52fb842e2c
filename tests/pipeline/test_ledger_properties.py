"""Random interleavings of leasing, renewing, finishing and time passing, against a model."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.pipeline import Completion, Job, JobStatus, Ledger, NewJob
from claude_arch.testing import ManualClock

LEASE_S = 10.0
ops = st.lists(
    st.one_of(
        st.tuples(st.just("lease"), st.integers(0, 2), st.integers(1, 4)),
        st.tuples(st.just("complete"), st.integers(0, 2), st.integers(0, 10)),
        st.tuples(st.just("retry"), st.integers(0, 2), st.integers(0, 10)),
        st.tuples(st.just("renew"), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("advance"), st.integers(1, 15), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_no_job_is_held_twice_and_no_result_is_written_twice(
    steps: list[tuple[str, int, int]],
) -> None:
    asyncio.run(_check(steps))


async def _check(steps: list[tuple[str, int, int]]) -> None:
    clock = ManualClock()
    ledger = await Ledger.open("sqlite:///:memory:", clock=clock)
    await ledger.submit(
        [NewJob(f"k{i}", "r", f"{i}.txt", {}, "m", max_attempts=50) for i in range(5)]
    )
    held: dict[int, list[Job]] = {0: [], 1: [], 2: []}  # what each worker believes it holds
    results: dict[int, int] = {}
    current: dict[int, str | None] = {}  # each job's lease token as the ledger has it
    try:
        for op, a, b in steps:
            if op == "advance":
                clock.now += a
            elif op == "lease":
                got = await ledger.lease(f"w{a}", b, lease_s=LEASE_S)
                for job in got:
                    for worker, jobs in held.items():
                        for other in jobs:
                            assert not (
                                other.id == job.id
                                and current.get(other.id) == other.lease_token
                                and (other.lease_expires or 0) >= clock.now
                            ), f"job {job.id} leased to w{a} while w{worker} holds it"
                    current[job.id] = job.lease_token
                held[a].extend(got)
            elif op == "renew":
                tokens = [j.lease_token for j in held[a] if j.lease_token]
                await ledger.renew(tokens, lease_s=LEASE_S)
                held[a] = [
                    Job(**{**j.__dict__, "lease_expires": clock.now + LEASE_S})
                    if current.get(j.id) == j.lease_token
                    else j
                    for j in held[a]
                ]
            elif held[a]:
                job = held[a].pop(b % len(held[a]))
                holds = current.get(job.id) == job.lease_token
                if op == "complete":
                    written = await ledger.complete(job, Completion("x", {}, {}, 0.0))
                    if written:
                        results[job.id] = results.get(job.id, 0) + 1
                else:
                    written = await ledger.retry(job, after_s=1, error="429")
                assert written == holds  # only the current holder may finish a job
                if written:
                    current[job.id] = None
        assert all(n == 1 for n in results.values())
        rows = await ledger.jobs()
        assert {j.id for j in rows if j.status == JobStatus.succeeded} == set(results)
    finally:
        await ledger.aclose()
