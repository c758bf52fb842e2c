"""Clients that share an organisation's limit without sharing its configuration: the emulator's
429 count stays tiny. Counts, not timings: each test checks how many answers were 429s.

- Three worker processes on one Redis limiter, each starting from the tier-4 preset (4,000 RPM
  for Haiku) against an organisation limited to 240 RPM. The first drains the bucket; the two
  others join afterwards, as a fleet's late workers do. Before the limiter kept learned limits
  beside its buckets and adopted ``-remaining``, each late worker resized the shared buckets to
  its preset and sent its whole concurrency at once (the bench saw ~12 429s per worker).
- One client with an in-process limiter, after someone else in the organisation spent nearly
  all of it: only its first wave (sent before any answer) can be turned away.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Limits, default_catalog
from claude_arch.core.ratelimit import LocalRateLimiter, RedisRateLimiter
from claude_arch.errors import RateLimitError
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

MODEL = "claude-haiku-4-5"
RPM = 240  # 4 a second: the organisation's limit, binding (tokens are plentiful)
ORG = {"haiku": {"rpm": RPM, "itpm": RPM * 1000, "otpm": RPM * 200}}
BODY = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
PRIVATE_DB = 14


def settings_for(url: str, key: str) -> Settings:
    return Settings(_env_file=None, base_url=url, api_key=key, rate_limit_tier="tier4")  # type: ignore[call-arg]


async def drive(client: ClaudeClient, take_job: Any, concurrency: int) -> tuple[int, int]:
    """``concurrency`` loops calling until no job is left; a 429 retries the same job."""
    done = refused = 0

    async def loop() -> None:
        nonlocal done, refused
        while take_job():
            while True:
                try:
                    await client.create(**BODY)
                except RateLimitError:
                    refused += 1
                    continue
                done += 1
                break

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done, refused


# --- a fleet on one Redis limiter ---------------------------------------------------------------
def _worker(emu_url: str, key: str, redis_url: str, prefix: str, shared: tuple[Any, ...]) -> None:
    go, jobs, out = shared

    def take_job() -> bool:
        with jobs.get_lock():
            if jobs.value <= 0:
                return False
            jobs.value -= 1
            return True

    async def main() -> tuple[int, int]:
        limiter = RedisRateLimiter(redis_url, default_catalog().limits("tier4"), prefix=prefix)
        client = ClaudeClient(settings_for(emu_url, key), max_retries=0, limiter=limiter)
        try:
            return await drive(client, take_job, concurrency=16)
        finally:
            await client.close()
            await limiter.aclose()

    if go.wait(timeout=120):
        out.put(asyncio.run(main()))


@pytest.mark.redis
@pytest.mark.slow
def test_late_workers_on_a_preset_keep_429s_rare(redis_url: str) -> None:
    private = urlunsplit(urlsplit(redis_url)._replace(path=f"/{PRIVATE_DB}"))
    ctx = multiprocessing.get_context("spawn")
    jobs = ctx.Value("i", RPM + 40)  # a full bucket, then 10 s of refill shared by three
    out = ctx.Queue()
    gates = [ctx.Event() for _ in range(3)]
    prefix = f"test:{uuid.uuid4().hex}:"
    with EmulatorServer(limits=ORG) as emu:
        workers = [
            ctx.Process(
                target=_worker,
                args=(emu.url, emu.api_key, private, prefix, (gate, jobs, out)),
            )
            for gate in gates
        ]
        for w in workers:
            w.start()
        try:
            gates[0].set()
            deadline = time.monotonic() + 120
            while emu.stats()["totals"].get("requests", 0) < RPM:  # the first drained it
                assert time.monotonic() < deadline, "the first worker never drained the bucket"
                time.sleep(0.05)
            gates[1].set()
            gates[2].set()
            results = [out.get(timeout=180) for _ in workers]
        finally:
            for gate in gates:
                gate.set()
            for w in workers:
                w.join(timeout=30)
                if w.is_alive():
                    w.kill()
        totals = emu.stats()["totals"]
    assert sum(done for done, _ in results) == RPM + 40
    assert all(done > 0 for done, _ in results[1:])  # the late ones did work too
    refused = totals.get("errors_429", 0)
    assert refused == sum(r for _, r in results)
    assert refused <= 3, f"{refused} answers of {totals['requests'] + refused} were 429s"


# --- one client, after others spent the organisation's limit ----------------------------------
async def test_a_client_learns_what_others_left() -> None:
    async with EmulatorServer(limits=ORG) as emu:
        key = emu.api_key
        async with ClaudeClient(  # someone else in the organisation: no limiter at all
            Settings(_env_file=None, base_url=emu.url, api_key=key, rate_limit_tier="none"),  # type: ignore[call-arg]
            max_retries=0,
        ) as other:
            for _ in range(RPM - 10):
                await other.create(**BODY)
        # a fresh process: its in-process limiter believes the bucket is full
        limiter = LocalRateLimiter({"haiku": Limits(RPM, RPM * 1000, RPM * 200)})
        async with ClaudeClient(settings_for(emu.url, key), max_retries=0, limiter=limiter) as ours:
            left = [40]

            def take_job() -> bool:
                left[0] -= 1
                return left[0] >= 0

            done, refused = await drive(ours, take_job, concurrency=4)
        totals = emu.stats()["totals"]
    assert done == 40
    assert totals.get("errors_429", 0) == refused
    # only what was sent before any answer came back: 10 were left, 4 went at once, and every
    # answer after that told the limiter how many remained (without it: ~30 429s)
    assert refused <= 4, refused
