"""The service against a bare aiohttp proxy, LiteLLM's proxy and the emulator itself, in one run.

    .venv/bin/python bench/bench_service.py --quick                 # smoke run, about two minutes
    .venv/bin/python bench/bench_service.py                         # every scenario (~12 min)
    .venv/bin/python bench/bench_service.py --latency --throughput  # some of them
    .venv/bin/python bench/bench_service.py --no-litellm            # skip LiteLLM (and its install)

Needs wrk (``apt-get install -y wrk``) and ``taskset``. The first run with LiteLLM installs
``litellm[proxy]`` into ``$XDG_CACHE_HOME/claude-arch-bench/litellm-venv`` (never the repo).

Layout on two cores: each proxy (the service, the bare proxy, LiteLLM) pinned to core 0, one
loaded at a time; the emulator, wrk and this script (with its Python clients) on core 1. The
service runs as ``claude-arch serve`` with a real service key (auth on), no rate limits (tier
``none``: the emulator's limits are not measured) and its default logging (one JSON access line
per request, to a file). Scenarios (each prints a Markdown table):

``--latency``     c=1, wrk: p50/p99 of each target and what it adds over direct-to-emulator.
``--throughput``  c=32 and c=128 (``--concurrency``), wrk, small non-streaming messages: req/s,
                  latency, CPU of each side, RSS; the service's share of the bare proxy's rate
                  and its factor over LiteLLM's.
``--sse``         c=32 and c=128, wrk, streamed requests against a stub upstream that answers
                  each with 20 deltas, every event written on its own: streams/s, latency of the
                  whole stream, CPU; the service's share of the bare proxy's rate.
``--ttft``        c=32 streams, Python client, against a paced emulator with no jitter: time to
                  the first ``content_block_delta``, service and bare proxy against direct.
``--streams``     2,000 paced streams (speed 1, Sonnet pacing) opened within a second, through
                  the service and direct: done, stalls (a content gap > 0.5 s), gaps, CPU.
``--rss``         VmRSS of a fresh service after 10k and 100k requests (c=32).
``--scaling``     ``uvicorn --workers 1`` against ``--workers 2`` at c=128, nothing pinned.
``--floor``       adds ``asgi-floor`` to the latency, throughput and sse tables: uvicorn running a
                  raw ASGI app that forwards through aiohttp, the service's stack without the
                  gateway.

Targets are interleaved (A, B, C, A, B, C, …) over ``--rounds`` rounds; tables give medians.
Every table is followed by the CPU other processes used meanwhile: compare figures within a run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the service_harness package beside this file

from service_harness import scenarios_streams as streams
from service_harness import scenarios_wrk as wrk_scenarios
from service_harness.processes import CORES, Processes, Server, pinned
from service_harness.report import OtherLoad
from service_harness.wrk import require_wrk

SCENARIOS = ("latency", "throughput", "sse", "ttft", "streams", "rss", "scaling")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in SCENARIOS:
        parser.add_argument(f"--{name}", action="store_true", help=f"run the {name} scenario")
    parser.add_argument("--quick", action="store_true", help="tiny runs: checks the harness only")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5; quick 1)")
    parser.add_argument("--seconds", type=int, help="seconds per measured run (5; quick 1)")
    parser.add_argument("--concurrency", default="32,128", help="throughput connections")
    parser.add_argument("--held", type=int, help="paced streams held (2000; quick 200)")
    parser.add_argument("--rss-at", help="request counts for RSS (10000,100000; quick 500,2000)")
    parser.add_argument("--no-litellm", dest="litellm", action="store_false")
    parser.add_argument(
        "--floor", action="store_true", help="add the uvicorn + raw ASGI forwarder (wrk scenarios)"
    )
    parser.add_argument("--dev", action="store_true", help="service in dev mode (no key check)")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs)")
    args = parser.parse_args()
    if not any(getattr(args, name) for name in SCENARIOS):
        for name in SCENARIOS:
            setattr(args, name, True)
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.seconds = args.seconds or (1 if args.quick else 5)
    args.held = args.held or (200 if args.quick else 2000)
    args.rss_at = [
        int(n) for n in (args.rss_at or ("500,2000" if args.quick else "10000,100000")).split(",")
    ]
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    return args


def header() -> None:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    print(f"# bench_service.py, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{cpu}; usable cores {CORES}; taskset: {'yes' if pinned(0) else 'no (unpinned)'}")
    print(f"Python {platform.python_version()}, {platform.platform()}")
    print(f"load average at start: {Path('/proc/loadavg').read_text().split()[0]}")


def section(title: str, procs: Processes, body: Callable[[], str]) -> None:
    print(f"\n## {title}", flush=True)
    with OtherLoad(lambda: [p for s in procs.servers for p in s.pids]) as other:
        text = body()
    print(text)
    print(other.describe(), flush=True)


def proxies(procs: Processes, emulator: Server, args: argparse.Namespace) -> list[Server]:
    """direct (the emulator itself), the bare proxy, the service and, if asked, LiteLLM."""
    targets = [
        emulator,
        procs.bare_proxy(emulator, core=0),
        procs.service(emulator, core=0, dev=args.dev),
    ]
    if args.floor:
        targets.append(procs.asgi_forwarder(emulator, core=0))
    if args.litellm:
        targets.append(procs.litellm(emulator, core=0))
    emulator.name = "direct"
    return targets


def run_wrk_scenarios(args: argparse.Namespace, run_dir: Path) -> None:
    with Processes(run_dir) as procs:
        emulator = procs.emulator(core=1, speed=0)
        targets = proxies(procs, emulator, args)

        def measure(connections: int) -> list[wrk_scenarios.Measured]:
            return wrk_scenarios.measure(
                targets, emulator, connections=connections, seconds=args.seconds,
                rounds=args.rounds, run_dir=run_dir,
            )  # fmt: skip

        if args.latency:
            section(
                "Added latency, concurrency 1",
                procs,
                lambda: wrk_scenarios.latency_table(measure(1)),
            )
        for connections in args.concurrency if args.throughput else []:
            section(
                f"Throughput, concurrency {connections}",
                procs,
                partial(lambda c: wrk_scenarios.throughput_table(measure(c), c), connections),
            )


def run_sse(args: argparse.Namespace, run_dir: Path) -> None:
    with Processes(run_dir) as procs:
        stub = procs.stub_upstream(core=1)
        only = argparse.Namespace(**{**vars(args), "litellm": False})  # LiteLLM: JSON figures
        targets = proxies(procs, stub, only)
        for connections in args.concurrency:

            def body(c: int = connections) -> str:
                results = wrk_scenarios.measure(
                    targets, stub, connections=c, seconds=args.seconds, rounds=args.rounds,
                    run_dir=run_dir, body=wrk_scenarios.STREAMED,
                )  # fmt: skip
                return wrk_scenarios.throughput_table(results, c, unit="streams/s", goal="≥ 0.9×")

            section(f"Streamed throughput (20 deltas), concurrency {connections}", procs, body)


def run_ttft(args: argparse.Namespace, run_dir: Path) -> None:
    with Processes(run_dir) as procs:
        emulator = procs.emulator(core=1, **streams.TTFT_EMULATOR)
        # streams: neither LiteLLM (its own figures) nor the floor (it forwards JSON only)
        only = argparse.Namespace(**{**vars(args), "litellm": False, "floor": False})
        targets = proxies(procs, emulator, only)
        section(
            "Streaming: time to first token, concurrency 32",
            procs,
            lambda: streams.ttft_table(
                streams.measure_ttft(
                    targets, concurrency=32, seconds=args.seconds, rounds=args.rounds
                ),
                32,
            ),
        )


def run_held(args: argparse.Namespace, run_dir: Path) -> None:
    with Processes(run_dir) as procs:
        emulator = procs.emulator(core=1, **streams.PACED_EMULATOR)
        # one replica holding N streams must be allowed N upstream calls at once
        service = procs.service(
            emulator, core=0, dev=args.dev, max_inflight=str(args.held + 100), queue_timeout_s="30"
        )
        emulator.name = "direct"

        def body() -> str:
            rows = [streams.held_row(emulator, emulator, args.held)]
            rows.append(streams.held_row(service, emulator, args.held))
            return streams.held_table(rows)

        section(f"Held paced streams: {args.held:,} through one replica", procs, body)


def run_rss(args: argparse.Namespace, run_dir: Path) -> None:
    with Processes(run_dir) as procs:
        emulator = procs.emulator(core=1, speed=0)
        service = procs.service(emulator, core=0, dev=args.dev)
        section(
            "Memory: service RSS over requests",
            procs,
            lambda: streams.rss_table(streams.rss_rows(service, args.rss_at, 32), 32),
        )


def run_scaling(args: argparse.Namespace, run_dir: Path) -> None:
    with Processes(run_dir) as procs:
        emulator = procs.emulator(core=None, speed=0)
        emulator.name = "direct"
        targets = [emulator, procs.uvicorn_workers(emulator, 1), procs.uvicorn_workers(emulator, 2)]

        def body() -> str:
            results = wrk_scenarios.measure(
                targets, emulator, connections=128, seconds=args.seconds, rounds=args.rounds,
                run_dir=run_dir, load_core=None,
            )  # fmt: skip
            return wrk_scenarios.scaling_table(results, 128)

        section("Scaling: uvicorn workers on all cores (emulator and wrk share them)", procs, body)


def main() -> None:
    args = parse_args()
    require_wrk()
    if len(CORES) >= 2:
        os.sched_setaffinity(0, {CORES[1]})  # this script's Python clients are load: core 1
    run_dir = Path(tempfile.mkdtemp(prefix="bench-service-"))
    header()
    try:
        if args.latency or args.throughput:
            run_wrk_scenarios(args, run_dir)
        if args.sse:
            run_sse(args, run_dir)
        if args.ttft:
            run_ttft(args, run_dir)
        if args.streams:
            run_held(args, run_dir)
        if args.rss:
            run_rss(args, run_dir)
        if args.scaling:
            run_scaling(args, run_dir)
    except BaseException:
        print(f"\nfailed; logs kept in {run_dir}", file=sys.stderr)
        raise
    print(f"\nload average at end: {Path('/proc/loadavg').read_text().split()[0]}")
    if args.keep:
        print(f"logs: {run_dir}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
