"""Drive the serverless variant: the HTTP handler under the real Lambda runtime client
(``awslambdaric``), one process per execution environment, as ``claude-arch lambda invoke``
runs it.

    samples, wall_s, cold_ms = drive_lambda(emulator_url, plan, environments=4, log_dir=tmp)

Each environment is a local Runtime API and ``python -m awslambdaric`` against it, so it answers
one invocation at a time, as Lambda does. Its cold start is timed apart: from the process's start
until the runtime first asks for work (imports, the handler module's set-up), plus its first
invocation (the client built on first use); the samples are the warm invocations after it, an
API Gateway HTTP API (2.0) event each, timed from the invoke to the answer. The
function does not stream: its first token is its whole answer.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from claude_arch.advisor.measure.errors import BenchError
from claude_arch.advisor.measure.figures import Sample
from claude_arch.advisor.measure.processes import child_env
from claude_arch.advisor.measure.workload import PlannedRequest, RequestPlan
from claude_arch.constants import EMULATOR_API_KEY

__all__ = ["HTTP_HANDLER", "drive_lambda", "http_event"]

HTTP_HANDLER = "claude_arch.serverless.aws_lambda.http_handler.handler"
_FUNCTION_TIMEOUT_S = 300.0
_INIT_TIMEOUT_S = 60.0


def http_event(body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event that POSTs ``body`` as the function's JSON.

    >>> http_event({"prompt": "Hi"})["requestContext"]["http"]["method"]
    'POST'
    """
    return {
        "version": "2.0",
        "routeKey": "POST /ask",
        "rawPath": "/ask",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/ask"}},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _function_body(plan: RequestPlan, request: PlannedRequest) -> dict[str, Any]:
    body = plan.body(request)
    return {k: body[k] for k in ("model", "max_tokens", "messages", "system") if k in body}


def _sample(latency_s: float, kind: str, payload: Any) -> Sample:
    if kind != "response" or not isinstance(payload, dict):
        return Sample(latency_s, None, 500, 0.0)
    status = int(payload.get("statusCode", 500))
    if status != 200:
        return Sample(latency_s, None, status, 0.0)
    answer = json.loads(payload.get("body") or "{}")
    return Sample(latency_s, None, 200, float(answer.get("cost_usd", 0.0)))


def drive_lambda(
    upstream_url: str,
    plan: RequestPlan,
    *,
    environments: int,
    log_dir: Path,
    on_done: Callable[[], None] | None = None,
) -> tuple[list[Sample], float, list[float]]:
    """Run every request of ``plan`` through ``environments`` warm execution environments;
    return the samples, the wall time of the warm run and each environment's cold start (ms:
    the start and the first invocation)."""
    from claude_arch.serverless.aws_lambda.runtime_api import (
        LambdaRuntimeApi,
        runtime_environment,
        start_runtime,
    )

    env = child_env(
        ANTHROPIC_API_KEY=EMULATOR_API_KEY,
        ANTHROPIC_BASE_URL=upstream_url,
        CLAUDE_ARCH_RATE_LIMIT_TIER="none",
        CLAUDE_ARCH_DEFAULT_MODEL=plan.model,
        POWERTOOLS_METRICS_NAMESPACE="claude-arch-bench",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    log_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        apis: list[Any] = []
        started: list[float] = []
        for n in range(environments):
            api = stack.enter_context(LambdaRuntimeApi())
            log = stack.enter_context((log_dir / f"lambda-{n}.log").open("wb"))
            started.append(time.perf_counter())
            process = start_runtime(HTTP_HANDLER, runtime_environment(api, env), output=log)
            stack.callback(_stop, process)
            apis.append(api)
        init_ms = [_await_init(api, t0) for api, t0 in zip(apis, started, strict=True)]
        first_ms = _first_invocations(apis, http_event(_function_body(plan, plan.requests[0])))
        work: queue.SimpleQueue[PlannedRequest] = queue.SimpleQueue()
        for request in plan.requests:
            work.put(request)
        samples: list[Sample] = []
        lock = threading.Lock()

        def environment(api: Any) -> None:
            while True:
                try:
                    request = work.get_nowait()
                except queue.Empty:
                    return
                t0 = time.perf_counter()
                event = http_event(_function_body(plan, request))
                done = api.invoke(event, timeout_s=_FUNCTION_TIMEOUT_S, wait_s=_FUNCTION_TIMEOUT_S)
                sample = _sample(time.perf_counter() - t0, done.kind, done.payload)
                with lock:
                    samples.append(sample)
                if on_done is not None:
                    on_done()

        threads = [threading.Thread(target=environment, args=(api,)) for api in apis]
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cold = [round(a + b, 1) for a, b in zip(init_ms, first_ms, strict=True)]
        return samples, time.perf_counter() - t0, cold


def _first_invocations(apis: list[Any], event: dict[str, Any]) -> list[float]:
    """Each environment's first invocation, all at once (the client is built, the request
    schema compiled): milliseconds each, not counted among the samples."""
    took = [0.0] * len(apis)

    def first(n: int) -> None:
        t0 = time.perf_counter()
        apis[n].invoke(event, timeout_s=_FUNCTION_TIMEOUT_S, wait_s=_FUNCTION_TIMEOUT_S)
        took[n] = (time.perf_counter() - t0) * 1000

    threads = [threading.Thread(target=first, args=(n,)) for n in range(len(apis))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return took


def _await_init(api: Any, started: float) -> float:
    give_up = time.monotonic() + _INIT_TIMEOUT_S
    while api.polls == 0 and not api.init_errors:
        if time.monotonic() > give_up:
            raise BenchError(f"a Lambda environment did not start within {_INIT_TIMEOUT_S:g} s")
        time.sleep(0.005)
    if api.init_errors:
        raise BenchError(f"the Lambda handler failed at init: {api.init_errors[0]}")
    return round((time.perf_counter() - started) * 1000, 1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait(10)
