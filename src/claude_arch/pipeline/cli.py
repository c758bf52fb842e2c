"""``claude-arch pipeline``: submit documents, run them, watch and collect (wiring only).

    claude-arch pipeline submit docs/ --template summarize --model claude-haiku-4-5 --run nightly
    claude-arch pipeline run --run nightly --concurrency 256 --max-cost-usd 20
    claude-arch pipeline worker --broker redis://redis:6379/0 --concurrency 64   # celery, N hosts
    claude-arch pipeline enqueue --run nightly
    claude-arch pipeline status --run nightly
    claude-arch pipeline results --run nightly --out results.jsonl

The ledger is ``CLAUDE_ARCH_DATABASE_URL`` (else SQLite in ``CLAUDE_ARCH_DATA_DIR``); the client
and its rate limiter come from the same settings. Behaviour lives in the package's modules.
"""

from __future__ import annotations

import asyncio
import enum
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from claude_arch.constants import MAX_BATCH_REQUESTS
from claude_arch.errors import ClaudeArchError
from claude_arch.tables import tsv

if TYPE_CHECKING:
    from claude_arch.pipeline.dispatchers.local import RunStats
    from claude_arch.pipeline.ledger import Ledger

__all__ = ["pipeline_app"]

T = TypeVar("T")
EXIT_COST_CAP = 3

pipeline_app = typer.Typer(
    name="pipeline",
    help="Queue pipeline: submit jobs to a ledger, run them under the rate limit, collect results.",
    no_args_is_help=True,
    add_completion=False,
)
dead_app = typer.Typer(help="Dead letters: jobs that failed for good.", no_args_is_help=True)
pipeline_app.add_typer(dead_app, name="dead")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

RunOpt = Annotated[str | None, typer.Option("--run", help="Only this run (default: all runs).")]


def _with_ledger(work: Callable[[Ledger], Awaitable[T]]) -> T:
    from claude_arch.pipeline.config import PipelineSettings
    from claude_arch.pipeline.ledger import Ledger
    from claude_arch.settings import Settings

    async def main() -> T:
        ledger = await Ledger.open(Settings().sqlalchemy_url, table_name=PipelineSettings().table)
        try:
            return await work(ledger)
        finally:
            await ledger.aclose()

    try:
        return asyncio.run(main())
    except ClaudeArchError as exc:
        err.print(f"[red]error[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None


@pipeline_app.command()
def submit(
    path: Annotated[Path, typer.Argument(help="A folder of text files or a JSONL of requests.")],
    template: Annotated[
        str | None,
        typer.Option(help="summarize, classify, extract, or a template file (for a folder)."),
    ] = None,
    model: Annotated[str, typer.Option(help="A catalog model ID, or auto.")] = "auto",
    run: Annotated[str, typer.Option("--run", help="The run's name.")] = "default",
    max_tokens: Annotated[int, typer.Option(min=1, help="max_tokens of each request.")] = 1024,
) -> None:
    """Check every input, then enqueue one job per document or request (none when any is bad)."""
    from claude_arch.pipeline.inputs import InputRejected, read_submission
    from claude_arch.pipeline.templates import load_template
    from claude_arch.settings import Settings

    try:
        chosen = load_template(template) if template is not None else None
        jobs = read_submission(
            path,
            run=run,
            model=model,
            template=chosen,
            max_tokens=max_tokens,
            default_model=Settings().default_model,
        )
    except InputRejected as exc:
        for problem in exc.problems:
            err.print(f"[red]refused[/red] {escape(str(problem))}", highlight=False)
        err.print("nothing was enqueued")
        raise typer.Exit(1) from None

    added = _with_ledger(lambda ledger: ledger.submit(jobs))
    console.print(f"run {run}: {added} new jobs, {len(jobs) - added} already in the ledger")


class Mode(enum.StrEnum):
    sync = "sync"
    batch = "batch"


class RetryVia(enum.StrEnum):
    batch = "batch"
    sync = "sync"


@pipeline_app.command("run")
def run_jobs(  # noqa: PLR0917 - typer takes the options as parameters
    run: RunOpt = None,
    mode: Annotated[
        Mode, typer.Option(help="sync: one Messages call per job; batch: Message Batches.")
    ] = Mode.sync,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Calls in flight (batch mode: its sync path's).")
    ] = 256,
    lease_s: Annotated[
        float, typer.Option(min=0.1, help="Lease duration in seconds (of jobs, or batches).")
    ] = 60.0,
    follow: Annotated[bool, typer.Option(help="Keep waiting for new jobs.", metavar="")] = False,
    max_cost_usd: Annotated[
        float | None, typer.Option(help="Stop taking new jobs once this much is spent.")
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(min=1, max=MAX_BATCH_REQUESTS, help="Batch mode: requests per batch."),
    ] = MAX_BATCH_REQUESTS,
    poll_s: Annotated[
        float, typer.Option(min=0.01, help="Batch mode: first wait between polls, doubling.")
    ] = 30.0,
    max_poll_s: Annotated[
        float, typer.Option(min=0.01, help="Batch mode: longest wait between polls.")
    ] = 600.0,
    retry_via: Annotated[
        RetryVia,
        typer.Option(
            help="Batch mode: expired and retryable errored requests go to a new "
            "batch, or are sent as plain calls."
        ),
    ] = RetryVia.batch,
) -> None:
    """Run due jobs; exit 0 once none is left (3: cost cap reached).

    sync (default): the local dispatcher, one call per job under the rate limit. batch: jobs
    grouped into Message Batches (half price, results within 24 h), recorded in the ledger
    before each is created, polled and collected."""
    from claude_arch.pipeline.job import pipeline_client

    progress = _Progress(sys.stdout.isatty())

    async def work(ledger: Ledger) -> RunStats:
        async with pipeline_client() as client:
            if mode is Mode.batch:
                from claude_arch.pipeline.batch.dispatcher import BatchDispatcher

                return await BatchDispatcher(
                    ledger,
                    client,
                    run=run,
                    lease_s=lease_s,
                    poll_s=poll_s,
                    max_poll_s=max(poll_s, max_poll_s),
                    max_requests=batch_size,
                    retry_via=retry_via.value,
                    concurrency=concurrency,
                    follow=follow,
                    max_cost_usd=max_cost_usd,
                    on_progress=progress.update,
                ).run()
            from claude_arch.pipeline.batch.ledger import BatchLedger
            from claude_arch.pipeline.dispatchers.local import LocalDispatcher

            held = (await (await BatchLedger.open(ledger)).summary(run))["batch_requests_open"]
            if held:
                err.print(
                    f"{held} jobs are in open Message Batches: `pipeline run --mode batch` "
                    "collects them; this run leaves them alone"
                )
            return await LocalDispatcher(
                ledger,
                client,
                run=run,
                concurrency=concurrency,
                lease_s=lease_s,
                follow=follow,
                max_cost_usd=max_cost_usd,
                on_progress=progress.update,
            ).run()

    with progress:
        stats = _with_ledger(work)
    console.print(_outcome_line(stats), highlight=False)
    if stats.stopped == "max_cost_usd":
        err.print(f"stopped: --max-cost-usd {max_cost_usd} reached; jobs remain queued")
        raise typer.Exit(EXIT_COST_CAP)


def _outcome_line(stats: RunStats) -> str:
    from claude_arch.pipeline.batch.dispatcher import BatchStats

    line = (
        f"succeeded {stats.succeeded}, retried {stats.retried}, dead {stats.dead}, "
        f"tokens {stats.input_tokens} in / {stats.output_tokens} out, ${stats.cost_usd:.4f}"
    )
    if isinstance(stats, BatchStats):
        line += (
            f"; batches created {stats.batches_created}, found again {stats.batches_adopted}, "
            f"done {stats.batches_done}; results already written {stats.refused}; "
            f"sent as plain calls {stats.sync_succeeded}"
        )
    return line


@pipeline_app.command()
def status(
    run: RunOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.", metavar="")] = False,
) -> None:
    """Jobs per status, tokens and cost so far, and the ETA at the last minute's pace."""
    from claude_arch.pipeline.progress import summary

    data = _with_ledger(lambda ledger: summary(ledger, run, batches=True))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    if not console.is_terminal:  # piped: one tab-separated name and value a line
        typer.echo(tsv(None, data.items()), nl=False)
        return
    width = max(map(len, data))
    for name, value in data.items():
        console.print(f"{name:>{width}}  {value}", highlight=False)


@pipeline_app.command()
def results(
    out: Annotated[Path, typer.Option("--out", help="Where to write the JSONL.")],
    run: RunOpt = None,
) -> None:
    """Write one line per succeeded job: id, source, result text, usage, cost."""
    from claude_arch.pipeline.progress import write_results

    n = _with_ledger(lambda ledger: write_results(ledger, out, run))
    console.print(f"{n} results written to {out}")


@pipeline_app.command()
def cancel(run: RunOpt = None) -> None:
    """Cancel every unfinished job (of the run); results still in flight are refused."""
    n = _with_ledger(lambda ledger: ledger.cancel(run))
    console.print(f"{n} jobs cancelled")


@dead_app.command("list")
def dead_list(run: RunOpt = None) -> None:
    """The dead letters: id, source, attempts and the last error."""
    from claude_arch.pipeline.jobs import JobStatus

    jobs = _with_ledger(lambda ledger: ledger.jobs(status=JobStatus.dead, run=run, limit=10_000))
    for job in jobs:
        console.print(
            f"{job.id}\t{escape(job.source)}\tattempts={job.attempts}\t"
            f"{escape(job.last_error or '')}",
            highlight=False,
        )
    console.print(f"{len(jobs)} dead jobs")


@dead_app.command("retry")
def dead_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Job ids to queue again.")] = None,
    all_jobs: Annotated[
        bool, typer.Option("--all", help="Every dead job (of the run).", metavar="")
    ] = False,
    run: RunOpt = None,
) -> None:
    """Queue dead jobs again with fresh attempts."""
    if not ids and not all_jobs:
        err.print("give job ids or --all")
        raise typer.Exit(2)
    n = _with_ledger(lambda ledger: ledger.requeue_dead(None if all_jobs else ids, run))
    console.print(f"{n} jobs queued again")


BrokerOpt = Annotated[
    str | None,
    typer.Option(help="redis://… or amqp://… (default: CLAUDE_ARCH_BROKER_URL, else Redis)."),
]


def _celery_config(broker: str | None) -> Any:
    from claude_arch.pipeline.config import PipelineSettings

    config = PipelineSettings()
    if broker:
        config = config.model_copy(update={"broker_url": broker})
    return config


@pipeline_app.command()
def worker(  # noqa: PLR0917 - typer takes the options as parameters
    broker: BrokerOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs in flight in this worker.")] = 64,
    pool: Annotated[
        str, typer.Option(help="threads (many calls per process) or prefork (one per child).")
    ] = "threads",
    beat: Annotated[
        bool,
        typer.Option(help="Also run the reconciler's schedule (one per fleet).", metavar=""),
    ] = False,
    events: Annotated[
        bool, typer.Option(help="Send task events (what Flower shows per task).", metavar="")
    ] = False,
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "info",
) -> None:
    """Run a Celery worker of the celery dispatcher (needs the ``pipeline`` extra)."""
    from claude_arch.pipeline.dispatchers.celery_app import make_app

    config = _celery_config(broker)
    argv = ["worker", f"--pool={pool}", f"--concurrency={concurrency}", f"--loglevel={loglevel}"]
    argv += [
        f"--queues={config.queue},{config.control_queue}",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        from claude_arch.settings import Settings

        Settings().data_dir.mkdir(parents=True, exist_ok=True)  # the beat's schedule file
        argv.append("--beat")
    if events:
        argv.append("--task-events")
    make_app(config).worker_main(argv)


@pipeline_app.command()
def enqueue(
    run: RunOpt = None,
    broker: BrokerOpt = None,
    max_cost_usd: Annotated[
        float | None,
        typer.Option(
            help="Cap the run's spending, across every worker (needs --run; raise it to go on)."
        ),
    ] = None,
) -> None:
    """Publish the ids of waiting jobs (of the run) for the celery workers."""
    from claude_arch.pipeline.dispatchers.broker import celery_publisher
    from claude_arch.pipeline.dispatchers.broker import enqueue as publish_waiting
    from claude_arch.pipeline.dispatchers.caps import SpendCaps
    from claude_arch.pipeline.dispatchers.celery_app import make_app

    if max_cost_usd is not None and run is None:
        err.print("--max-cost-usd caps one run: give --run")
        raise typer.Exit(2)
    config = _celery_config(broker)
    publisher = celery_publisher(make_app(config), config.queue)

    async def work(ledger: Ledger) -> int:
        if max_cost_usd is not None and run is not None:
            await (await SpendCaps.open(ledger)).set(run, max_cost_usd)
        return await publish_waiting(
            ledger, publisher, run=run, max_countdown_s=config.max_countdown_s
        )

    n = _with_ledger(work)
    capped = f" (run {run} capped at ${max_cost_usd:g})" if max_cost_usd is not None else ""
    console.print(f"{n} jobs published to the {config.queue} queue{capped}")


@pipeline_app.command()
def reconcile(broker: BrokerOpt = None) -> None:
    """Queue expired leases again and re-publish waiting jobs no worker touched for a while."""
    from claude_arch.pipeline.dispatchers.celery_app import make_app, reconcile_once

    config = _celery_config(broker)
    done = reconcile_once(make_app(config), config)
    console.print(
        f"{done['reclaimed']} expired leases queued again, "
        f"{done['republished']} waiting jobs published again"
    )


class _Progress:
    """A live bar on a terminal; otherwise a plain line every few seconds."""

    def __init__(self, live: bool, every_s: float = 5.0) -> None:
        self.live = live
        self.every_s = every_s
        self._last = 0.0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err
            )
            self._bar.start()
            self._task = self._bar.add_task("starting", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, stats: RunStats) -> None:
        from claude_arch.pipeline.batch.dispatcher import BatchStats

        flight = f"in flight {stats.in_flight}"
        if isinstance(stats, BatchStats):
            flight = f"batches open {stats.batches_open} ({stats.in_flight} requests)"
        line = (
            f"done {stats.succeeded} · {flight} · retried {stats.retried} · "
            f"dead {stats.dead} · tokens {stats.input_tokens + stats.output_tokens} · "
            f"${stats.cost_usd:.4f}"
        )
        if self._bar is not None:
            self._bar.update(self._task, description=line, completed=stats.succeeded)
        elif time.monotonic() - self._last >= self.every_s:
            self._last = time.monotonic()
            err.print(line, highlight=False)
