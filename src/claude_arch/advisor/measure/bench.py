"""Run every built variant against the emulator with a profile's traffic, and measure it.

    report = run_bench(load_profile("examples/profiles/chat-ui.yaml"),
                       BenchOptions(requests=100, concurrency=(1, 8), speed=20))
    report.variant("service").headline.latency_p50_ms

For each variant that is built: a fresh emulator (the profile's tier, time compressed by
``speed``, see :mod:`.upstream`) and the variant in front of it, then ``requests`` requests drawn
from the profile's token spreads at each ``concurrency`` in turn, the emulator's counts read
before and after each run. A variant that is not built is reported as such; one that fails to
start or run is reported with the reason, and the others still run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import tempfile
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from claude_arch.advisor.measure.errors import BenchError, BenchInputError
from claude_arch.advisor.measure.figures import Run, Sample
from claude_arch.advisor.measure.http_load import drive_http
from claude_arch.advisor.measure.lambda_load import drive_lambda
from claude_arch.advisor.measure.pipeline_load import drive_pipeline, drive_pipeline_batch
from claude_arch.advisor.measure.processes import free_port
from claude_arch.advisor.measure.report import BenchReport, VariantResult
from claude_arch.advisor.measure.upstream import upstream_config, upstream_counts, upstream_process
from claude_arch.advisor.measure.variants import (
    BENCH_KEY,
    BenchVariant,
    bench_variants,
    edge_process,
    service_process,
)
from claude_arch.advisor.measure.workload import RequestPlan, plan_requests
from claude_arch.advisor.profile import WorkloadProfile

__all__ = ["BenchOptions", "ProgressSink", "run_bench"]

MAX_REQUESTS = 100_000
MAX_CONCURRENCY = 1024
_BATCH_NOTE = (
    "one Message Batch, whatever the concurrency; latency is until the result was written, at "
    "the emulator's batch pace (the API takes up to 24 h, most batches under an hour)"
)


class ProgressSink(Protocol):
    """Told when a run starts (its label and how many requests) and as each one ends."""

    def begin(self, label: str, total: int) -> None: ...

    def advance(self) -> None: ...


@dataclass(frozen=True)
class BenchOptions:
    """How much to send, how many at once, how fast the emulator answers, which variants.

    ``lambda_environments`` caps the concurrency of the serverless variant: each execution
    environment is a process of its own."""

    requests: int = 100
    concurrency: tuple[int, ...] = (1, 8, 32)
    speed: float = 20.0
    seed: int = 0
    variants: tuple[str, ...] | None = None
    lambda_environments: int = 8
    work_dir: Path | None = None

    def check(self) -> None:
        """:class:`BenchInputError` naming the first option out of range."""
        if not 1 <= self.requests <= MAX_REQUESTS:
            raise BenchInputError("requests", f"must be between 1 and {MAX_REQUESTS:,}")
        if not self.concurrency:
            raise BenchInputError("concurrency", "give at least one level, e.g. 1,8,32")
        for level in self.concurrency:
            if not 1 <= level <= MAX_CONCURRENCY:
                raise BenchInputError("concurrency", f"{level} is not between 1 and 1,024")
        if not 0 < self.speed <= 10_000:
            raise BenchInputError("speed", "must be more than 0 and at most 10,000")
        if self.lambda_environments < 1:
            raise BenchInputError("lambda_environments", "must be at least 1")
        known = [v.id for v in bench_variants()]
        for name in self.variants or ():
            if name not in known:
                raise BenchInputError("variant", f"{name!r} is not one of {', '.join(known)}")


def _machine() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    return {"cores": os.cpu_count() or 1, "cpu": model, "python": platform.python_version()}


class _Runner:
    def __init__(
        self,
        profile: WorkloadProfile,
        options: BenchOptions,
        plan: RequestPlan,
        work: Path,
        progress: ProgressSink | None,
    ) -> None:
        self.profile = profile
        self.options = options
        self.plan = plan
        self.work = work
        self.progress = progress

    def _tick(self) -> Callable[[], None] | None:
        return None if self.progress is None else self.progress.advance

    def _begin(self, variant: str, level: int) -> None:
        if self.progress is not None:
            self.progress.begin(f"{variant} c={level}", len(self.plan.requests))

    def variant(self, spec: BenchVariant) -> VariantResult:
        result = VariantResult(spec.id, spec.title, spec.how, "measured")
        if not spec.built:
            result.status, result.reason = "not built", spec.why_not
            return result
        speed = self.options.speed
        config = upstream_config(self.profile, self.plan, speed=speed, port=free_port())
        try:
            with ExitStack() as stack:
                emulator = stack.enter_context(upstream_process(config, self.work / spec.id))
                self._measure(spec.id, emulator.url, stack, result)
        except BenchError as exc:
            result.status, result.reason = "failed", str(exc)
        except (OSError, ImportError) as exc:
            result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"
        return result

    def _measure(self, vid: str, upstream: str, stack: ExitStack, result: VariantResult) -> None:
        work = self.work / vid
        work.mkdir(parents=True, exist_ok=True)
        server = None
        if vid in ("service", "orchestrator"):
            server = stack.enter_context(service_process(upstream, work, routing=vid != "service"))
        elif vid == "edge":
            server = stack.enter_context(edge_process(upstream, work))
        models: Counter[str] = Counter()
        for level in self.options.concurrency:
            before = upstream_counts(upstream)
            self._begin(vid, level)
            run = Run(vid, level, 0.0)
            if server is not None:
                samples, wall, seen = asyncio.run(
                    drive_http(
                        server.url,
                        self.plan,
                        concurrency=level,
                        key=BENCH_KEY,
                        model="auto" if vid == "orchestrator" else None,
                        on_done=self._tick(),
                    )
                )
                models.update(seen)
            elif vid == "pipeline":
                samples, wall = asyncio.run(
                    drive_pipeline(
                        upstream,
                        self.plan,
                        concurrency=level,
                        data_dir=work,
                        on_done=self._tick(),
                    )
                )
            elif vid == "pipeline-batch":
                samples, wall = asyncio.run(
                    drive_pipeline_batch(
                        upstream,
                        self.plan,
                        data_dir=work,
                        run=f"bench-batch-c{level}",
                        on_done=self._tick(),
                    )
                )
                run.notes.append(_BATCH_NOTE)
            else:
                samples, wall = self._lambda(level, upstream, work, run, result)
            after = upstream_counts(upstream)
            run.samples, run.wall_s = samples, wall
            run.upstream_calls = after["calls"] - before["calls"]
            run.upstream_429 = after["rate_limited"] - before["rate_limited"]
            result.runs.append(run)
        if vid == "orchestrator":
            result.extras["models"] = dict(models.most_common())
        statuses = Counter(s.status for run in result.runs for s in run.samples)
        if not statuses.get(200):
            answers = ", ".join(f"{n}× {status}" for status, n in statuses.most_common())
            log = f"; its log: {server.log_tail(200)}" if server is not None else ""
            raise BenchError(f"no request succeeded ({answers or 'none sent'}){log}")

    def _lambda(
        self, level: int, upstream: str, work: Path, run: Run, result: VariantResult
    ) -> tuple[list[Sample], float]:
        environments = min(level, self.options.lambda_environments)
        if environments < level:
            run.notes.append(f"{environments} execution environments (capped), not {level}")
        samples, wall, cold = drive_lambda(
            upstream,
            self.plan,
            environments=environments,
            log_dir=work / f"c{level}",
            on_done=self._tick(),
        )
        result.extras.setdefault("cold_start_ms", []).extend(cold)
        return samples, wall


def run_bench(
    profile: WorkloadProfile, options: BenchOptions, progress: ProgressSink | None = None
) -> BenchReport:
    """Measure every variant of ``options`` (all, by default) with ``profile``'s traffic."""
    options.check()
    plan = plan_requests(profile, options.requests, seed=options.seed)
    report = BenchReport(
        profile=profile.name,
        model=plan.model,
        speed=options.speed,
        requests=options.requests,
        concurrency=options.concurrency,
        tier=profile.rate_limit_tier,
        machine=_machine(),
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        tokens={
            "input_p50": plan.median("input_tokens") + plan.prefix_tokens,
            "output_p50": plan.median("output_tokens"),
            "cached_prefix": plan.prefix_tokens if plan.cache_prefix else 0,
        },
    )
    with ExitStack() as stack:
        work = options.work_dir
        if work is None:
            temporary = tempfile.TemporaryDirectory(prefix="claude-arch-bench-")
            work = Path(stack.enter_context(temporary))
        runner = _Runner(profile, options, plan, work, progress)
        for spec in bench_variants():
            if options.variants is not None and spec.id not in options.variants:
                continue
            report.variants.append(runner.variant(spec))
    return report
