"""Rate limits like the real API: per key and family, 429 with retry-after, admitted totals."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
from api_shapes import assert_error_shape, body, headers

from claude_arch.testing import EmulatorServer, ManualClock

BIG = 10_000_000


def test_429_carries_a_correct_retry_after_and_limits_are_per_key() -> None:
    clock = ManualClock()
    limits = {"haiku": {"rpm": 2, "itpm": BIG, "otpm": BIG}}
    with EmulatorServer(limits=limits, clock=clock) as emu, httpx.Client(base_url=emu.url) as http:
        for _ in range(2):
            assert http.post("/v1/messages", json=body(), headers=headers("a")).status_code == 200
        r = http.post("/v1/messages", json=body(), headers=headers("a"))
        assert "rate limit" in assert_error_shape(r, 429, "rate_limit_error")
        assert r.headers["retry-after"] == "30"
        assert r.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert http.post("/v1/messages", json=body(), headers=headers("b")).status_code == 200
        clock.advance(29)
        r = http.post("/v1/messages", json=body(), headers=headers("a"))
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        clock.advance(1)
        assert http.post("/v1/messages", json=body(), headers=headers("a")).status_code == 200
        assert emu.stats()["totals"]["rate_limited"] == 2


def test_admitted_per_minute_matches_the_bucket_within_2_percent() -> None:
    clock = ManualClock()
    rpm = 300
    limits = {"haiku": {"rpm": rpm, "itpm": BIG, "otpm": BIG}}
    with (
        EmulatorServer(limits=limits, clock=clock) as emu,
        httpx.Client(base_url=emu.url, headers=headers()) as http,
    ):

        def greedy_burst() -> int:
            """A client that ignores limits: send until refused."""
            admitted = 0
            while http.post("/v1/messages", json=body()).status_code == 200:
                admitted += 1
            return admitted

        assert greedy_burst() == rpm  # a full bucket to start with
        admitted = 0
        for _ in range(600):  # one simulated minute in 0.1 s steps
            clock.advance(0.1)
            admitted += greedy_burst()
        assert abs(admitted - rpm) <= 0.02 * rpm


async def test_output_reservation_is_max_tokens_and_unused_part_is_refunded() -> None:
    limits = {"haiku": {"rpm": 1000, "itpm": BIG, "otpm": 10_000}}
    slow = {"haiku": {"ttft_s": 0, "tokens_per_s": 50, "jitter": 0}}
    server = EmulatorServer(limits=limits, speed=1, latency=slow, reply_tokens=(3000, 3000))
    async with server as emu, aiohttp.ClientSession() as http:
        url, long, quick = (
            emu.url + "/v1/messages",
            body(max_tokens=4000),
            body("quick", max_tokens=4000),
        )
        emu.script(user="quick", text="ok")
        for _ in range(5):  # sequential: each refunds ~3,999 of its 4,000 reserved tokens
            async with http.post(url, json=quick, headers=headers()) as r:
                assert r.status == 200
        # Two long streams hold 8,000 reserved output tokens while they run...
        streams = [
            await http.post(url, json={**long, "stream": True}, headers=headers()) for _ in range(2)
        ]
        async with http.post(url, json=quick, headers=headers()) as r:
            assert r.status == 429  # ...so a third 4,000 reservation does not fit
            assert int(r.headers["retry-after"]) >= 1
        for stream in streams:
            stream.close()
        for _ in range(200):  # the cancelled streams settle what they had sent
            if emu.stats()["totals"].get("streams_cancelled") == 2:
                break
            await asyncio.sleep(0.01)
        async with http.post(url, json=quick, headers=headers()) as r:
            assert r.status == 200


def test_limits_can_be_disabled() -> None:
    with EmulatorServer(rate_limit_tier="none") as emu:
        r = httpx.post(emu.url + "/v1/messages", json=body(), headers=headers())
        assert r.status_code == 200
        assert "anthropic-ratelimit-requests-limit" not in r.headers


def test_a_request_larger_than_a_bucket_is_400_naming_the_field() -> None:
    limits = {"haiku": {"rpm": 100, "itpm": BIG, "otpm": 1000}}
    with EmulatorServer(limits=limits) as emu:
        r = httpx.post(emu.url + "/v1/messages", json=body(max_tokens=2000), headers=headers())
        assert assert_error_shape(r, 400, "invalid_request_error").startswith("max_tokens")
