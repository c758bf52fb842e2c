"""Drive an Anthropic-compatible HTTP endpoint (the service, the edge) with streamed requests,
``concurrency`` at a time, and time each one: to its first text and to its end.

    samples, wall_s = await drive_http(url, plan, concurrency=8, key="sk-...", model="auto")

Each request is ``POST /v1/messages`` with ``"stream": true``; the first ``content_block_delta``
is its time to first token, ``message_stop`` its end. The usage of ``message_start`` and
``message_delta`` is priced by the catalog on the model that answered (for ``"auto"``, the
routed one). An error status, or an ``error`` event, is the sample's status.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp

from claude_arch.advisor.measure.figures import Sample
from claude_arch.advisor.measure.workload import PlannedRequest, RequestPlan
from claude_arch.core.pricing.catalog import Catalog, default_catalog

__all__ = ["drive_http"]

_STATUS_OF_EVENT_ERROR = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500}


def _status_of_error_event(data: dict[str, Any]) -> int:
    kind = str((data.get("error") or {}).get("type", "api_error"))
    return _STATUS_OF_EVENT_ERROR.get(kind, 500)


async def _one(
    http: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    catalog: Catalog,
    models: Counter[str],
) -> Sample:
    started = time.perf_counter()
    first: float | None = None
    usage: dict[str, int] = {}
    model = str(body["model"])
    event = ""
    async with http.post(f"{url}/v1/messages", json={**body, "stream": True}) as resp:
        if resp.status != 200:
            await resp.read()
            return Sample(time.perf_counter() - started, None, resp.status, 0.0)
        async for raw in resp.content:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "content_block_delta" and first is None:
                    first = time.perf_counter() - started
                continue
            if not line.startswith("data:"):
                continue
            if event == "message_start":
                message = json.loads(line[5:])["message"]
                model = str(message.get("model", model))
                usage.update({k: int(v) for k, v in message["usage"].items() if _count(v)})
            elif event == "message_delta":
                usage.update(
                    {k: int(v) for k, v in json.loads(line[5:])["usage"].items() if _count(v)}
                )
            elif event == "error":
                status = _status_of_error_event(json.loads(line[5:]))
                return Sample(time.perf_counter() - started, first, status, 0.0)
    models[model] += 1
    cost = float(catalog.cost(model, usage))
    return Sample(time.perf_counter() - started, first, 200, cost)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def drive_http(
    url: str,
    plan: RequestPlan,
    *,
    concurrency: int,
    key: str,
    model: str | None = None,
    on_done: Callable[[], None] | None = None,
    timeout_s: float = 600.0,
) -> tuple[list[Sample], float, Counter[str]]:
    """Send every request of ``plan`` to ``url``, ``concurrency`` at a time; return the samples,
    the wall time in seconds and how many answers each model gave."""
    catalog = default_catalog()
    queue: asyncio.Queue[PlannedRequest] = asyncio.Queue()
    for request in plan.requests:
        queue.put_nowait(request)
    samples: list[Sample] = []
    models: Counter[str] = Counter()
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=timeout_s)

    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as http:

        async def worker() -> None:
            while not queue.empty():
                request = queue.get_nowait()
                started = time.perf_counter()
                try:
                    sample = await _one(http, url, plan.body(request, model=model), catalog, models)
                except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
                    # a broken connection or a malformed stream: an error like any other
                    sample = Sample(time.perf_counter() - started, None, 502, 0.0)
                samples.append(sample)
                if on_done is not None:
                    on_done()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return samples, wall, models
