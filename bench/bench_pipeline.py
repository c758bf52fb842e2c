"""Pipeline goodput: jobs answered per minute against the emulator's rate limit, ours vs the seed's.

    .venv/bin/python bench/bench_pipeline.py [--rpm 600] [--jobs 1500] [--only local,celery-2]
    BENCH_CLIENT_TIER=tier2 .venv/bin/python bench/bench_pipeline.py --rpm 1000   # limits known

Without ``BENCH_CLIENT_TIER`` every client starts from the settings' default preset (tier 4:
4,000 RPM for Haiku) and learns the emulator's limits from its answers: the case a fleet meets
when nobody set ``CLAUDE_ARCH_RATE_LIMIT_TIER`` (bench/README.md has both).

Needs Redis (broker and shared limiter) and PostgreSQL (the ledger) on loopback; each case gets a
fresh emulator process (``--speed 100``, limits ``RPM / RPM*1000 ITPM / RPM*200 OTPM`` on the
haiku family, so RPM binds), a fresh ledger table and fresh Redis databases. The same ``--jobs``
requests go through each case in one run:

- ``local``: ``claude-arch pipeline run --concurrency 64`` (one process);
- ``celery-1/2/4``: that many ``claude-arch pipeline worker --concurrency 32`` processes, the
  jobs published with ``pipeline enqueue``, one Redis limiter shared by all;
- ``seed-2``: the seed's Variant 3, two Celery workers with the same pool and slots whose task
  calls the official SDK (``anthropic.Anthropic()``, its own two retries) and, on a
  ``RateLimitError``, ``self.retry(countdown=retry-after)``, at most 3 times, results in Redis.

Figures: ``% of limit`` is successes divided by what the emulator's token bucket admits over the
run, from the first publish to the last success (a full bucket, RPM, plus RPM/60 per second): the
share of the binding limit turned into answers; ``429 %`` is the share of the emulator's answers
that were 429s; ``succeeded`` below ``jobs`` means jobs lost (the seed drops a job after its
retries).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis

HERE = Path(__file__).resolve().parent
MODEL = "claude-haiku-4-5"
PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
BROKER_DB, LIMITER_DB, SEED_DB = 12, 13, 11
T = TypeVar("T")
CLIENT_TIER = os.environ.get("BENCH_CLIENT_TIER", "")  # the limits our client starts from
API_KEY = "bench-key"  # the emulator accepts any key; its buckets are per key

# --- the seed's approach (Variant 3 of the brief), as the baseline ------------------------------
# Loaded by its workers (`celery -A bench_pipeline:seed_app`); it keeps the seed's shape: the SDK
# called in the task, retry on RateLimitError only, after retry-after, at most 3 times.
try:
    from celery import Celery

    seed_app = Celery("seed", broker=os.environ.get("BENCH_SEED_BROKER", f"{REDIS}/{SEED_DB}"))
    seed_app.conf.update(worker_hijack_root_logger=False, task_ignore_result=True)

    @seed_app.task(name="seed.process_document", bind=True, max_retries=3, default_retry_delay=30)
    def process_document(self: Any, doc_id: str, content: str) -> None:
        import anthropic

        try:
            client = anthropic.Anthropic()
            msg = client.messages.create(
                model=MODEL, max_tokens=64, messages=[{"role": "user", "content": content}]
            )
            store = redis.Redis.from_url(os.environ["BENCH_SEED_RESULTS"])
            store.hset("seed:results", doc_id, json.dumps([time.time(), msg.content[0].text]))
        except anthropic.RateLimitError as e:
            wait = int(e.response.headers.get("retry-after", 30))
            raise self.retry(exc=e, countdown=wait) from e

except ImportError:  # the bench needs the pipeline extra; the message comes from main()
    seed_app = None


# --- measurement ---------------------------------------------------------------------------------
@dataclass
class Result:
    case: str
    jobs: int
    succeeded: int
    seconds: float
    overall_pct: float
    answers: int
    pct_429: float


def goodput(
    case: str, *, jobs: int, finishes: list[float], started: float, rpm: int, stats: dict[str, Any]
) -> Result:
    finishes = sorted(finishes)
    elapsed = (finishes[-1] - started) if finishes else 0.0
    allowed = rpm + rpm / 60 * elapsed
    totals = stats.get("totals", {})
    answered = int(totals.get("requests", 0))
    errors = sum(int(v) for k, v in totals.items() if k.startswith("errors_"))
    too_many = int(totals.get("errors_429", 0))
    return Result(
        case,
        jobs,
        len(finishes),
        round(elapsed, 1),
        round(len(finishes) / allowed * 100, 1),
        answered + errors,
        round(too_many / max(1, answered + errors) * 100, 2),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_emulator(port: int, rpm: int) -> None:
    """Run an emulator until stdin closes (a process of its own, so it has a core's share)."""
    from claude_arch.testing import EmulatorServer

    limits = {"haiku": {"rpm": rpm, "itpm": rpm * 1000, "otpm": rpm * 200}}
    with EmulatorServer(port=port, speed=100, limits=limits):
        print("ready", flush=True)
        sys.stdin.read()


class Emulator:
    def __init__(self, rpm: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-emulator", str(self.port), "--rpm", str(rpm)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == b"ready"

    def stats(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/_emulator/stats", headers={"x-api-key": API_KEY})
        return dict(answer.raise_for_status().json())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def requests(n: int, run: str) -> list[Any]:
    from claude_arch.pipeline import NewJob

    return [
        NewJob(
            f"{run}-{i}",
            run,
            f"doc{i}.txt",
            {
                "model": MODEL,
                "max_tokens": 64,
                "messages": [{"role": "user", "content": f"Summarize document {i}."}],
            },
            MODEL,
        )
        for i in range(n)
    ]


def base_env(emu: Emulator) -> dict[str, str]:
    env = {**os.environ, "ANTHROPIC_BASE_URL": emu.url, "ANTHROPIC_API_KEY": API_KEY}
    env.pop("CLAUDE_ARCH_REDIS_URL", None)
    if CLIENT_TIER:
        env["CLAUDE_ARCH_RATE_LIMIT_TIER"] = CLIENT_TIER
    return env


def flush(*dbs: int) -> None:
    for db in dbs:
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


def with_ledger(table: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(ledger)`` on the bench's ledger table."""
    from claude_arch.pipeline import Ledger

    async def main() -> T:
        ledger = await Ledger.open(PG, table_name=table)
        try:
            return await work(ledger)
        finally:
            await ledger.aclose()

    return asyncio.run(main())


def run_ours(case: str, workers: int, jobs: int, rpm: int, deadline_s: float) -> Result:
    flush(BROKER_DB, LIMITER_DB)
    emu = Emulator(rpm)
    table = f"bench_jobs_{uuid.uuid4().hex[:8]}"
    env = {
        **base_env(emu),
        "CLAUDE_ARCH_DATABASE_URL": PG,
        "CLAUDE_ARCH_PIPELINE_TABLE": table,
        "CLAUDE_ARCH_BROKER_URL": f"{REDIS}/{BROKER_DB}",
    }
    procs: list[subprocess.Popen[bytes]] = []
    cli = [sys.executable, "-m", "claude_arch.cli", "pipeline"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        with_ledger(table, lambda ledger: ledger.submit(requests(jobs, case)))
        if workers == 0:
            started = time.time()
            procs.append(subprocess.Popen([*cli, "run", "--concurrency", "64"], env=env, **quiet))
        else:
            env["CLAUDE_ARCH_REDIS_URL"] = f"{REDIS}/{LIMITER_DB}"
            worker = [*cli, "worker", "--concurrency", "32", "--loglevel", "error"]
            procs += [subprocess.Popen(worker, env=env, **quiet) for _ in range(workers)]
            time.sleep(4)  # let the workers connect: start-up is not counted against goodput
            started = time.time()
            subprocess.run([*cli, "enqueue"], env=env, check=True, capture_output=True)
        while time.time() - started < deadline_s:
            counts = with_ledger(table, lambda ledger: ledger.counts())
            if counts["succeeded"] >= jobs:
                break
            time.sleep(0.5)
        rows = with_ledger(table, lambda ledger: ledger.jobs(limit=jobs * 2))
        finishes = [j.finished_at for j in rows if j.finished_at is not None and j.result]
        return goodput(
            case, jobs=jobs, finishes=finishes, started=started, rpm=rpm, stats=emu.stats()
        )
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
        with_ledger(table, lambda ledger: ledger.drop())
        emu.close()


def run_seed(workers: int, jobs: int, rpm: int, deadline_s: float) -> Result:
    flush(SEED_DB, SEED_DB + 1)
    emu = Emulator(rpm)
    results = f"{REDIS}/{SEED_DB + 1}"
    env = {**base_env(emu), "BENCH_SEED_RESULTS": results, "PYTHONPATH": str(HERE)}
    log = (Path(os.environ.get("TMPDIR", "/tmp")) / "bench_pipeline_seed.log").open("wb")  # noqa: S108
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bench_pipeline:seed_app",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "32",
                "--loglevel",
                "error",
            ],
            env=env,
            cwd=HERE,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for _ in range(workers)
    ]
    store = redis.Redis.from_url(results)
    try:
        time.sleep(4)
        started = time.time()
        with seed_app.producer_or_acquire() as producer:
            for i in range(jobs):
                process_document.apply_async(
                    (f"doc{i}", f"Summarize document {i}."), producer=producer
                )
        while time.time() - started < deadline_s and store.hlen("seed:results") < jobs:
            time.sleep(0.5)
        finishes = [json.loads(v)[0] for v in store.hvals("seed:results")]
        return goodput(
            f"seed-{workers}",
            jobs=jobs,
            finishes=finishes,
            started=started,
            rpm=rpm,
            stats=emu.stats(),
        )
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
        log.close()
        emu.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--jobs", type=int, default=0, help="default: 2 x RPM (a minute of refill)")
    parser.add_argument("--only", default="local,celery-1,celery-2,celery-4,seed-2")
    parser.add_argument("--serve-emulator", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulator:
        serve_emulator(args.serve_emulator, args.rpm)
        return
    if seed_app is None:
        sys.exit("needs the pipeline extra: pip install -e '.[pipeline,sdk]'")
    jobs = args.jobs or 2 * args.rpm
    deadline = 4 * 60 * jobs / args.rpm + 60
    rows = []
    for case in args.only.split(","):
        if case == "local":
            row = run_ours(case, 0, jobs, args.rpm, deadline)
        elif case.startswith("celery-"):
            row = run_ours(case, int(case.split("-")[1]), jobs, args.rpm, deadline)
        else:
            row = run_seed(int(case.split("-")[1]), jobs, args.rpm, deadline)
        rows.append(row)
        print(json.dumps(row.__dict__), flush=True)
    print(
        f"\nlimits: {args.rpm} RPM / {args.rpm * 1000} ITPM / {args.rpm * 200} OTPM, "
        f"{jobs} jobs per case, emulator speed 100\n"
    )
    print("| case | succeeded | seconds | % of limit | answers | 429 % |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.case} | {r.succeeded}/{r.jobs} | {r.seconds} | "
            f"{r.overall_pct} | {r.answers} | {r.pct_429} |"
        )


if __name__ == "__main__":
    main()
