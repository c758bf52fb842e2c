"""An upstream that fails 20% of the time, seeded: every client request through the service either
succeeds or ends in a well-formed Anthropic error (an HTTP error, or an ``error`` event once a
stream has started), never a traceback; and the upstream key (a canary) appears in no response and
no log line, whole or in part.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from error_shape import ERROR_SCHEMA, assert_anthropic_error, assert_no_trace, message_body
from error_shape import sse_events as decode_sse
from jsonschema import validate
from log_capture import json_logs

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

REQUESTS = 200
CONCURRENCY = 12
SEED = 20240
# About 20% in all, over every failure the emulator can inject (retry-after 1 s where it applies).
# The stream-only kinds come on a schedule, listed first so they always count: every 20th and
# 33rd stream fails after its first content, so each run has mid-stream failures to check.
FAULTS = [
    {"kind": "mid_stream_error", "every": 20},
    {"kind": "stream_cut", "every": 33},
    *(
        {"kind": kind, "probability": p, "seconds": 1}
        for kind, p in (("429", 0.04), ("529", 0.04), ("500", 0.03), ("504", 0.02), ("reset", 0.02))
    ),
]
OK_STATUSES = {200, 429, 500, 502, 504, 529}


@dataclass
class Seen:
    """What the clients got: outcomes by kind, and every byte of every response."""

    outcomes: Counter[str] = field(default_factory=Counter)
    transcripts: list[str] = field(default_factory=list)


@pytest.fixture
def canary() -> str:
    return "sk-ant-canary-" + secrets.token_hex(16)


@pytest.fixture
async def upstream(canary: str) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(speed=0, api_keys=[canary]) as emu:
        yield emu


async def one_json(http: httpx.AsyncClient, n: int, seen: Seen) -> None:
    r = await http.post("/v1/messages", json=message_body(f"question {n}"))
    seen.transcripts.append(f"{r.status_code} {r.headers} {r.text}")
    assert r.status_code in OK_STATUSES, r.text
    if r.status_code == 200:
        assert r.json()["type"] == "message"
        seen.outcomes["json_ok"] += 1
        return
    assert_anthropic_error(r)
    seen.outcomes[f"json_{r.status_code}"] += 1


async def one_stream(http: httpx.AsyncClient, n: int, seen: Seen) -> None:
    r = await http.post("/v1/messages", json=message_body(f"question {n}", stream=True))
    seen.transcripts.append(f"{r.status_code} {r.headers} {r.text}")
    assert r.status_code in OK_STATUSES, r.text
    if r.status_code != 200:
        assert_anthropic_error(r)
        seen.outcomes[f"stream_{r.status_code}"] += 1
        return
    assert r.headers["content-type"].startswith("text/event-stream")
    events = decode_sse(r.text)
    names = [name for name, _ in events]
    assert names[0] == "message_start", names
    if names[-1] == "message_stop":
        seen.outcomes["stream_ok"] += 1
        return
    # content went out before the failure: the end is one error event in the Anthropic shape
    assert names[-1] == "error", r.text[-2000:]
    assert "content_block_delta" in names
    body = events[-1][1]
    validate(body, ERROR_SCHEMA)
    assert body["request_id"] == r.headers["request-id"]
    seen.outcomes[f"stream_error_event_{body['error']['type']}"] += 1


@pytest.mark.parametrize("retries", [0, 2], ids=["faults-passed-on", "faults-retried"])
async def test_twenty_percent_faults_end_well_formed_and_never_leak_the_key(
    upstream: EmulatorServer, canary: str, tmp_path: Path, retries: int
) -> None:
    upstream.set_faults(*FAULTS, seed=SEED)
    seen = Seen()
    with json_logs("DEBUG") as logs:
        async with ServiceServer.for_emulator(
            upstream, tmp_path, dev=True, max_retries=retries, max_inflight=64
        ) as svc:
            assert svc.settings.api_key is not None
            assert svc.settings.api_key.get_secret_value() == canary  # the service's upstream key
            limit = asyncio.Semaphore(CONCURRENCY)

            async def run(n: int) -> None:
                async with limit:
                    await (one_stream if n % 2 else one_json)(http, n, seen)

            async with httpx.AsyncClient(base_url=svc.url, timeout=60) as http:
                await asyncio.gather(*(run(n) for n in range(REQUESTS)))
                metrics = (await http.get("/metrics")).text
                seen.transcripts.append(metrics)
                seen.transcripts.append((await http.get("/readyz")).text)

    outcomes = seen.outcomes
    assert sum(outcomes.values()) == REQUESTS
    assert outcomes["json_ok"] + outcomes["stream_ok"] > REQUESTS * 0.7, outcomes
    faults = {k: v for k, v in upstream.stats()["totals"].items() if k.startswith("fault_")}
    assert len(faults) >= 5, (faults, outcomes)  # the mix really was mixed
    failed = {k: v for k, v in outcomes.items() if not k.endswith("_ok")}
    # a failure after content cannot be retried: each one reached its client as an error event
    error_events = sum(v for k, v in failed.items() if k.startswith("stream_error_event_"))
    mid_stream = faults.get("fault_mid_stream_error", 0) + faults.get("fault_stream_cut", 0)
    assert error_events == mid_stream >= 5, (outcomes, faults)
    if retries == 0:  # every fault reached a client, each kind in its own shape
        assert sum(failed.values()) == sum(faults.values()), (outcomes, faults)

    everything = "\n".join(seen.transcripts) + "\n" + logs.text()
    assert_no_trace("\n".join(seen.transcripts))
    assert logs.lines(), "no log captured"
    assert any(line.get("level") == "debug" for line in logs.lines())
    secret = canary.removeprefix("sk-ant-canary-")
    assert canary not in everything
    leaks = [secret[i : i + 8] for i in range(len(secret) - 7) if secret[i : i + 8] in everything]
    assert not leaks, leaks
