"""Cold start and warm overhead of the Lambda HTTP handler under the real runtime client.

    .venv/bin/python bench/bench_serverless.py [--runs 7] [--warm 300]

Cold start: from spawning ``python -m awslambdaric HANDLER`` to the first response posted to
a local Runtime API, for our handler and for the seed's (the official SDK, a client per
invocation), alternated in one run against one emulator. Warm overhead: the p50 of an
invocation through the runtime (handler, client, runtime API round trip) minus the p50 of the
same Messages call sent straight to the emulator with httpx.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from claude_arch.serverless.aws_lambda.runtime_api import (
    LambdaRuntimeApi,
    runtime_environment,
    start_runtime,
)
from claude_arch.testing import EmulatorServer

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
EVENT = json.loads(
    (Path(__file__).resolve().parents[1] / "tests/serverless/events/http_api_v2.json").read_text()
)


def cold_start_ms(handler: str, emu: EmulatorServer, extra_path: str) -> float:
    with LambdaRuntimeApi() as api:
        env = runtime_environment(api)
        env.update(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=emu.url)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH")) if p)
        start = time.perf_counter()
        proc = start_runtime(handler, env, output=subprocess.DEVNULL)
        try:
            result = api.invoke(EVENT, timeout_s=30, wait_s=60)
            elapsed = (time.perf_counter() - start) * 1000
        finally:
            proc.kill()
            proc.wait()
    assert result.payload["statusCode"] == 200, result.payload
    return elapsed


def warm_overhead(emu: EmulatorServer, n: int) -> tuple[float, float]:
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
            through = []
            for _ in range(n):
                t = time.perf_counter()
                assert api.invoke(EVENT).payload["statusCode"] == 200
                through.append((time.perf_counter() - t) * 1000)
        finally:
            proc.kill()
            proc.wait()
    return statistics.median(upstream), statistics.median(through)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warm", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(api_keys=[KEY]) as emu:
        (Path(tmp) / "seed_lambda_function.py").write_text(SEED_SOURCE)
        ours, seed = [], []
        for _ in range(args.runs):
            ours.append(cold_start_ms(OURS, emu, tmp))
            seed.append(cold_start_ms(SEED, emu, tmp))
        up, through = warm_overhead(emu, args.warm)
    o, s = statistics.median(ours), statistics.median(seed)
    print(f"cold start, spawn to first response (median of {args.runs}, alternated):")
    print(f"  ours (claude_arch http_handler): {o:7.1f} ms   [{min(ours):.0f}..{max(ours):.0f}]")
    print(f"  seed (anthropic SDK per call):   {s:7.1f} ms   [{min(seed):.0f}..{max(seed):.0f}]")
    print(f"  ratio: {s / o:.1f}x")
    print(f"warm invocation, p50 of {args.warm}:")
    print(f"  straight to the emulator (httpx):       {up:6.2f} ms")
    print(f"  through awslambdaric + our handler:     {through:6.2f} ms")
    print(f"  overhead:                               {through - up:+6.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
