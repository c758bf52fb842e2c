"""Rate limiter throughput: acquisitions per second, in-process and through Redis.

    .venv/bin/python bench/bench_limiter.py [--redis-url redis://127.0.0.1:6379/15] [--scale 1.0]

Each figure is admitted ``try_acquire`` calls per second (limits set high enough that every call
is admitted, so the figure measures the limiter, not the limits); the "+settle" rows count
acquire-and-settle pairs per second (two script calls each through Redis) and have no target.
The "+learn+settle" rows are what a client does per answer: acquire, ``learn`` the answer's
headers (an API response's, with its 12 ``anthropic-ratelimit-*`` ones, as aiohttp hands them
over), settle; "learn, no rate-limit headers" is ``learn`` alone on an answer without any (a
gateway's canned upstream). Targets: >= 20k/s in-process, >= 3k/s through Redis. The machine
should be otherwise idle.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter, RedisRateLimiter, Reservation

HUGE = {"haiku": Limits(rpm=10**12, itpm=10**15, otpm=10**15)}


def _answer_headers() -> Mapping[str, str]:
    """A Messages answer's headers as aiohttp hands them over (case-insensitive), rate limits
    matching ``HUGE`` so that ``-remaining`` is about the limiter's own buckets."""
    head = CIMultiDict(
        {
            "Date": "Wed, 03 Dec 2026 10:00:00 GMT",
            "Content-Type": "application/json",
            "Content-Length": "412",
            "Connection": "keep-alive",
            "request-id": "req_011CSLsW7mFqvHHnzrKdKjAE",
            "anthropic-organization-id": "36562039-1ae4-48e6-ae28-1e517e3d2d12",
            "via": "1.1 google",
            "cf-cache-status": "DYNAMIC",
            "server": "cloudflare",
        }
    )
    limits = {"requests": 10**12, "input-tokens": 10**15, "output-tokens": 10**15}
    for kind, limit in {**limits, "tokens": 10**15}.items():
        head[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
        head[f"anthropic-ratelimit-{kind}-remaining"] = str(limit - 10**6)
        head[f"anthropic-ratelimit-{kind}-reset"] = "2026-12-03T10:00:01Z"
    return CIMultiDictProxy(head)


ANSWER = _answer_headers()
BARE = {"content-type": "application/json", "request-id": "req_upstream"}


def _learner(limiter: Any, headers: Mapping[str, str]) -> Callable[[Reservation], None]:
    """``learn`` with the answered reservation (the code before ``learn(reservation=)`` is
    measured by the same script: it gets the headers alone)."""
    if "reservation" in inspect.signature(limiter.learn).parameters:
        return lambda res: limiter.learn("haiku", headers, reservation=res)
    return lambda res: limiter.learn("haiku", headers)


def _rate(n: int, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return n / (time.perf_counter() - started)


def local_single(n: int, *, settle: bool = False, learn: bool = False) -> float:
    limiter = LocalRateLimiter(HUGE)
    learned = _learner(limiter, ANSWER)

    def run() -> None:
        for _ in range(n):
            res = limiter.try_acquire("haiku", input_tokens=1200, output_tokens=1024)
            assert isinstance(res, Reservation)
            if learn:
                learned(res)
            if settle:
                limiter.settle(res, input_tokens=1100, output_tokens=300)

    return _rate(n, run)


def local_learn_bare(n: int) -> float:
    limiter = LocalRateLimiter(HUGE)
    res = limiter.try_acquire("haiku", input_tokens=1200, output_tokens=1024)
    assert isinstance(res, Reservation)
    learned = _learner(limiter, BARE)

    def run() -> None:
        for _ in range(n):
            learned(res)

    return _rate(n, run)


def local_threads(n: int, threads: int) -> float:
    limiter = LocalRateLimiter(HUGE)
    per_thread = n // threads

    def work() -> None:
        for _ in range(per_thread):
            limiter.try_acquire("haiku", input_tokens=1200, output_tokens=1024)

    def run() -> None:
        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

    return _rate(per_thread * threads, run)


def redis_sync(url: str, n: int, *, settle: bool = False, learn: bool = False) -> float:
    limiter = RedisRateLimiter(url, HUGE, prefix=f"bench:{uuid.uuid4().hex}:")
    limiter.try_acquire("haiku", input_tokens=0, output_tokens=0)  # connect, load the script
    learned = _learner(limiter, ANSWER)

    def run() -> None:
        for _ in range(n):
            res = limiter.try_acquire("haiku", input_tokens=1200, output_tokens=1024)
            assert isinstance(res, Reservation)
            if learn:
                learned(res)
            if settle:
                limiter.settle(res, input_tokens=1100, output_tokens=300)

    try:
        return _rate(n, run)
    finally:
        limiter.close()


def redis_async(url: str, n: int, concurrency: int) -> float:
    async def main() -> float:
        limiter = RedisRateLimiter(url, HUGE, prefix=f"bench:{uuid.uuid4().hex}:")
        await limiter.atry_acquire("haiku", input_tokens=0, output_tokens=0)
        per_task = n // concurrency

        async def work() -> None:
            for _ in range(per_task):
                await limiter.atry_acquire("haiku", input_tokens=1200, output_tokens=1024)

        started = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await limiter.aclose()
        return per_task * concurrency / elapsed

    return asyncio.run(main())


def redis_reachable(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.close()
    except (redis.RedisError, OSError):
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("CLAUDE_ARCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the call counts")
    args = parser.parse_args()
    n_local = int(200_000 * args.scale)
    n_redis = int(20_000 * args.scale)

    rows: list[tuple[str, float, float | None]] = [
        ("in-process, 1 thread", local_single(n_local), 20_000),
        ("in-process, 1 thread, +settle", local_single(n_local, settle=True), None),
        (
            "in-process, 1 thread, +learn+settle",
            local_single(n_local, settle=True, learn=True),
            None,
        ),
        ("in-process, learn, no rate-limit headers", local_learn_bare(n_local), None),
        ("in-process, 2 threads", local_threads(n_local, 2), 20_000),
    ]
    if redis_reachable(args.redis_url):
        rows += [
            ("Redis sync, 1 connection", redis_sync(args.redis_url, n_redis), 3_000),
            ("Redis sync, +settle", redis_sync(args.redis_url, n_redis // 2, settle=True), None),
            (
                "Redis sync, +learn+settle",
                redis_sync(args.redis_url, n_redis // 2, settle=True, learn=True),
                None,
            ),
            ("Redis async, 16 concurrent", redis_async(args.redis_url, n_redis, 16), 3_000),
            ("Redis async, 64 concurrent", redis_async(args.redis_url, n_redis, 64), 3_000),
        ]
    else:
        print(f"(Redis not reachable at {args.redis_url}: Redis rows skipped)")

    width = max(len(name) for name, _, _ in rows)
    print(f"{'limiter':<{width}}  {'acq/s':>10}  {'target':>8}")
    for name, rate, target in rows:
        if target is None:
            print(f"{name:<{width}}  {rate:>10,.0f}  {'-':>8}")
        else:
            verdict = "ok" if rate >= target else "BELOW"
            print(f"{name:<{width}}  {rate:>10,.0f}  {target:>8,.0f}  {verdict}")


if __name__ == "__main__":
    main()
