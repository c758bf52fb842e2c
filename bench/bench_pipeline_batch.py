"""The same job set through the pipeline in sync mode and in batch mode: what each costs.

    .venv/bin/python bench/bench_pipeline_batch.py [--jobs 2000] [--models a,b] [--batch-size N]

A folder of ``--jobs`` synthetic documents (50 to 2,500 words, seeded) is submitted with the
``summarize`` template, as ``claude-arch pipeline submit`` does, once per model into two fresh
SQLite ledgers. One runs with the local dispatcher (sync: one Messages call per job), the other
with the batch dispatcher (Message Batches of at most ``--batch-size`` requests), each against a
fresh unpaced emulator (speed 0, rate limits off: this compares cost, not goodput; see
bench_pipeline.py for that). Both ledgers' tokens are checked against their emulator's own
counts, and each side's usage is priced at the other side's price too, so the table shows the
batch discount on identical tokens as well as on what each run used.

Wall times are the emulator's, not the API's: a real batch takes minutes to hours (within 24 h).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import platform
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.pipeline import Ledger
from claude_arch.pipeline.batch.dispatcher import BatchDispatcher
from claude_arch.pipeline.dispatchers.local import LocalDispatcher
from claude_arch.pipeline.inputs import read_submission
from claude_arch.pipeline.templates import load_template
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

WORDS = [
    "ledger",
    "batch",
    "model",
    "token",
    "request",
    "queue",
    "worker",
    "result",
    "summary",
    "invoice",
    "contract",
    "report",
    "revenue",
    "customer",
    "policy",
    "budget",
    "forecast",
    "incident",
    "release",
    "schedule",
    "review",
    "audit",
]


def write_documents(folder: Path, n: int, seed: int = 13) -> None:
    rng = random.Random(seed)
    folder.mkdir()
    for i in range(n):
        words = rng.randint(50, 2500)
        text = " ".join(rng.choice(WORDS) for _ in range(words))
        (folder / f"doc{i:06d}.txt").write_text(text + ".\n", encoding="utf-8")


async def run_mode(
    mode: str, model: str, docs: Path, work: Path, batch_size: int
) -> dict[str, Any]:
    settings = Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]
    jobs = read_submission(
        docs,
        run=f"{mode}-{model}",
        model=model,
        template=load_template("summarize"),
        max_tokens=512,
        default_model=settings.default_model,
    )
    ledger = await Ledger.open(f"sqlite:///{work / f'{mode}-{model}.db'}")
    try:
        await ledger.submit(jobs)
        with EmulatorServer(speed=0, rate_limit_tier="none", batch_seconds_per_request=0) as emu:
            async with ClaudeClient(
                settings, base_url=emu.url, api_key=emu.api_key, max_retries=0, limiter=None
            ) as client:
                started = time.perf_counter()
                if mode == "sync":
                    await LocalDispatcher(ledger, client, concurrency=128).run()
                else:
                    await BatchDispatcher(
                        ledger, client, max_requests=batch_size, poll_s=0.05, max_poll_s=1.0
                    ).run()
                took = time.perf_counter() - started
            totals = emu.stats()["totals"]
        counts = await ledger.counts()
        usages = [j.usage or {} for j in await ledger.jobs(limit=len(jobs) + 1)]
    finally:
        await ledger.aclose()
    assert counts["succeeded"] == len(jobs), counts
    assert counts["input_tokens"] == totals["input_tokens"], (counts, totals)
    assert counts["output_tokens"] == totals["output_tokens"], (counts, totals)
    catalog = default_catalog()
    return {
        "jobs": len(jobs),
        "seconds": took,
        "input_tokens": counts["input_tokens"],
        "output_tokens": counts["output_tokens"],
        "cost_usd": Decimal(str(counts["cost_usd"])),
        "at_standard": sum(catalog.cost(model, u, batch=False) for u in usages),
        "at_batch": sum(catalog.cost(model, u, batch=True) for u in usages),
        "emulator_calls": totals.get("requests", 0) + totals.get("batch_requests", 0),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--models", default="claude-haiku-5-5,claude-sonnet-5-5")
    parser.add_argument("--batch-size", type=int, default=100_000)
    args = parser.parse_args()
    print(f"# {datetime.date.today()} {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"{args.jobs} summarize jobs per model (50-2,500 words each, max_tokens 512)")
    print(
        "| model | mode | wall s | input tokens | output tokens | cost $ (ledger) "
        "| $ / 1,000 jobs | same tokens at standard $ | at batch $ | batch / sync |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        write_documents(docs, args.jobs)
        for model in args.models.split(","):
            sync = await run_mode("sync", model, docs, Path(tmp), args.batch_size)
            batch = await run_mode("batch", model, docs, Path(tmp), args.batch_size)
            for mode, r in (("sync", sync), ("batch", batch)):
                ratio = r["cost_usd"] / sync["cost_usd"]
                print(
                    f"| {model} | {mode} | {r['seconds']:.1f} | {r['input_tokens']:,} "
                    f"| {r['output_tokens']:,} | {r['cost_usd']:.4f} "
                    f"| {r['cost_usd'] * 1000 / r['jobs']:.4f} | {r['at_standard']:.4f} "
                    f"| {r['at_batch']:.4f} | {ratio:.3f} |"
                )


if __name__ == "__main__":
    asyncio.run(main())
