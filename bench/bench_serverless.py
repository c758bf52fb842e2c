"""Cold start and warm overhead of the Lambda HTTP handler under the real runtime client.

    .venv/bin/python bench/bench_serverless.py [--runs 7] [--warm 300] [--before REV] [--floor]
                                               [--in-venv]

Cold start: from spawning ``python -m awslambdaric HANDLER`` to the first response posted to
a local Runtime API, for our handler and for the seed's (the official SDK, a client per
invocation), alternated in one run against one emulator. Each handler runs as Lambda loads it:
the base interpreter without its site-packages (``-S``), with only its deployment package on
``PYTHONPATH`` (``pip install --target``: claude-arch's dependencies with the ``aws`` extra,
our source first; the seed's ``anthropic``; awslambdaric in both), built once into
``~/.cache/claude-arch-bench``. Every module goes in compiled, as ``pip install`` leaves a
package: our source is a copy of ``src/claude_arch`` with its bytecode, and the handler files
are compiled too (run from the tree, where this environment sets ``PYTHONDONTWRITEBYTECODE``,
each start would compile every module of ours again, 40-50 ms). ``--in-venv`` runs them in
this venv instead, where every dev dependency is importable (opentelemetry-api, for one, which
the client then loads). The process's CPU time (user + system, from ``wait4``) is reported
beside the wall time, as it moves less on a shared machine.
``--before REV`` adds our handler as it was at a git revision (a worktree of it, first on
``PYTHONPATH``), alternated with the others, so a change is measured against its baseline in
the same minutes; ``--floor`` adds a bare handler (Powertools' logger and metrics, one httpx
POST) to show what the core's own work costs above it. Warm overhead: the p50 of an invocation
minus the p50 of the same Messages call sent straight to the emulator with httpx, the invocation
timed twice: end to end through the local Runtime API (this process's threads included: the
test harness's own round trip) and as Lambda bills it (from the event handed to the runtime
client to its answer received, in the Runtime API's event loop).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from contextlib import ExitStack
from pathlib import Path

import httpx

from claude_arch.serverless.aws_lambda.runtime_api import (
    LambdaRuntimeApi,
    runtime_environment,
    start_runtime,
)
from claude_arch.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-ant-bench"
OURS = "claude_arch.serverless.aws_lambda.http_handler.handler"
SEED = "seed_lambda_function.handler"
# the seed's Variant 1 handler; only its retired model ID is replaced, so that it gets an answer
SEED_SOURCE = """
import anthropic
import json
def handler(event, context):
    client = anthropic.Anthropic()  # Key from Lambda env var
    body = json.loads(event["body"])
    msg = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=512,
        messages=[{"role": "user", "content": body["prompt"]}]
    )
    return {
        "statusCode": 200,
        "body": json.dumps({
            "text": msg.content[0].text,
            "tokens": msg.usage.input_tokens + msg.usage.output_tokens
        })
    }
"""
FLOOR = "floor_lambda_function.handler"
# the least a handler can do: Powertools' logger and metrics, one httpx client, one POST, no
# validation, no catalog, no settings; what ours costs above it is the core's work
FLOOR_SOURCE = """
import json, os
import httpx
from aws_lambda_powertools import Logger, Metrics
logger, metrics = Logger(), Metrics(namespace="floor")
client = None
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    global client
    client = client or httpx.Client(base_url=os.environ["ANTHROPIC_BASE_URL"])
    body = json.loads(event["body"])
    answer = client.post("/v1/messages", json={"model": "claude-haiku-4-5", "max_tokens": 512,
        "messages": [{"role": "user", "content": body["prompt"]}]},
        headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01"})
    return {"statusCode": 200, "body": answer.text}
"""
EVENT = json.loads((ROOT / "tests/serverless/events/http_api_v2.json").read_text())


CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claude-arch-bench"
BASE_PYTHON = str(
    Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
)


def ours_requirements() -> list[str]:
    """claude-arch's dependencies with the ``aws`` extra, and the runtime client."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["aws"], "awslambdaric"]


def deployment_package(name: str, requirements: list[str]) -> Path:
    """``pip install --target`` of ``requirements``, cached by their list."""
    stamp = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    target = CACHE / f"lambda-{name}-{stamp}"
    if not (target / ".complete").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), *requirements],
            check=True,
        )
        (target / ".complete").touch()
    return target


def cold_start(
    handler: str, emu: EmulatorServer, paths: list[str], packaged: bool
) -> tuple[float, float]:
    """(wall ms, CPU ms) from spawning the runtime to the first response posted."""
    with LambdaRuntimeApi() as api:
        env = runtime_environment(api)
        env.update(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=emu.url)
        if packaged:  # only the function's package: no venv, no site-packages
            env["PYTHONPATH"] = os.pathsep.join(paths)
            python, options = BASE_PYTHON, ["-S"]
        else:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (*paths, env.get("PYTHONPATH")) if p)
            python, options = sys.executable, []
        start = time.perf_counter()
        proc = start_runtime(
            handler, env, output=subprocess.DEVNULL, python=python, python_options=options
        )
        try:
            result = api.invoke(EVENT, timeout_s=30, wait_s=60)
            elapsed = (time.perf_counter() - start) * 1000
        finally:
            proc.kill()
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
    assert result.payload["statusCode"] == 200, result.payload
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


def warm_overhead(emu: EmulatorServer, n: int) -> tuple[float, float, float]:
    """p50s of a warm call, ms: straight to the emulator, end to end through the runtime, and
    as Lambda bills it (the Runtime API's view: event handed over to answer received)."""
    body = json.loads(EVENT["body"])
    params = {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": body["prompt"]}],
        "max_tokens": body["max_tokens"],
    }
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    with httpx.Client() as direct:
        upstream = []
        for _ in range(n):
            t = time.perf_counter()
            direct.post(f"{emu.url}/v1/messages", json=params, headers=headers).raise_for_status()
            upstream.append((time.perf_counter() - t) * 1000)
    with LambdaRuntimeApi() as api:
        env = runtime_environment(api)
        env.update(
            ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=emu.url, POWERTOOLS_LOG_LEVEL="WARNING"
        )
        proc = start_runtime(OURS, env, output=subprocess.DEVNULL)
        try:
            api.invoke(EVENT)
            through, billed = [], []
            for _ in range(n):
                t = time.perf_counter()
                result = api.invoke(EVENT)
                through.append((time.perf_counter() - t) * 1000)
                assert result.payload["statusCode"] == 200
                assert result.duration_ms is not None
                billed.append(result.duration_ms)
        finally:
            proc.kill()
            proc.wait()
    return statistics.median(upstream), statistics.median(through), statistics.median(billed)


def compiled(src: Path, into: Path) -> Path:
    """A copy of the package under ``src`` with its bytecode, as ``pip install`` leaves it."""
    shutil.copytree(src / "claude_arch", into / "claude_arch")
    subprocess.run([BASE_PYTHON, "-m", "compileall", "-q", str(into)], check=True)
    return into


def worktree(stack: ExitStack, rev: str, tmp: Path) -> Path:
    """A checkout of ``rev`` (removed at the end); its ``src`` goes first on PYTHONPATH."""
    path = tmp / f"before-{rev[:12]}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
        check=True,
        capture_output=True,
    )
    stack.callback(
        subprocess.run,
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
        check=False,
        capture_output=True,
    )
    return path / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--before", help="also run our handler as it was at this git revision")
    parser.add_argument(
        "--floor", action="store_true", help="also run a bare Powertools + httpx handler"
    )
    parser.add_argument(
        "--in-venv", action="store_true", help="run the handlers in this venv, not packaged"
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        emu = stack.enter_context(EmulatorServer(api_keys=[KEY]))
        (tmp / "seed_lambda_function.py").write_text(SEED_SOURCE)
        (tmp / "floor_lambda_function.py").write_text(FLOOR_SOURCE)
        subprocess.run([BASE_PYTHON, "-m", "compileall", "-q", "-l", str(tmp)], check=True)
        packaged = not args.in_venv
        ours_pkg: list[str] = []
        seed_pkg: list[str] = []
        if packaged:
            ours_pkg = [str(deployment_package("ours", ours_requirements()))]
            seed_pkg = [str(deployment_package("seed", ["anthropic", "awslambdaric"]))]
        src = [str(compiled(ROOT / "src", tmp / "ours"))] if packaged else []
        variants: dict[str, tuple[str, list[str]]] = {"ours": (OURS, [*src, *ours_pkg])}
        if args.before:
            before = worktree(stack, args.before, tmp)
            if packaged:
                before = compiled(before, tmp / "before")
            variants[f"ours at {args.before}"] = (OURS, [str(before), *ours_pkg])
        if args.floor:
            variants["floor (Powertools + httpx)"] = (FLOOR, [str(tmp), *ours_pkg])
        variants["seed"] = (SEED, [str(tmp), *seed_pkg])
        walls: dict[str, list[float]] = {name: [] for name in variants}
        cpus: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, (handler, paths) in variants.items():
                wall, cpu = cold_start(handler, emu, paths, packaged)
                walls[name].append(wall)
                cpus[name].append(cpu)
        up, through, billed = warm_overhead(emu, args.warm)
    where = "each in its deployment package" if not args.in_venv else "in this venv"
    print(f"cold start, spawn to first response ({where}; median of {args.runs}, alternated):")
    for name in variants:
        w, c = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"  {name:<28} wall {w:7.1f} ms [{min(walls[name]):.0f}..{max(walls[name]):.0f}]"
            f"   CPU {c:7.1f} ms [{min(cpus[name]):.0f}..{max(cpus[name]):.0f}]"
        )
    ours_w, seed_w = statistics.median(walls["ours"]), statistics.median(walls["seed"])
    ours_c, seed_c = statistics.median(cpus["ours"]), statistics.median(cpus["seed"])
    print(f"  seed / ours: {seed_w / ours_w:.2f}x wall, {seed_c / ours_c:.2f}x CPU")
    print(f"warm invocation, p50 of {args.warm}:")
    print(f"  straight to the emulator (httpx):       {up:6.2f} ms")
    print(f"  through awslambdaric + our handler:     {through:6.2f} ms   ({through - up:+.2f} ms)")
    print(f"  as Lambda bills it (event to answer):   {billed:6.2f} ms   ({billed - up:+.2f} ms)")


if __name__ == "__main__":
    sys.exit(main())
