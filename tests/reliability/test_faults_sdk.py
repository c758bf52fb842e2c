"""An upstream failing ~20% of attempts (429, 529, 500, resets, cut streams, mid-stream errors)
behind a live gateway that passes them on (service keys, Redis, its retries off), driven by the
official SDK 2.x with its own retries off and on, JSON and streamed, a few hundred requests:

- every request ends in an answer or a typed ``APIStatusError`` whose body is the Anthropic error
  shape — never a connection error, never another exception;
- a stream either completes (``message_stop``, a stop reason) or the SDK raises from an ``error``
  event, after content;
- every answer's usage is what the gateway logged for its request id;
- the key's spend in the store (Redis) equals the sum of the costs in the gateway's access lines
  for that key, to the micro-dollar, once every attempt is logged.

The fault mix is seeded; the emulator's counters prove each kind fired.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import jsonschema
import pytest
from error_shape import ERROR_SCHEMA, check_error_body
from live_gateway import LiveGateway, start_gateway

from claude_arch.core.sql import make_engine
from claude_arch.service.tenancy.keys import KeyStore
from claude_arch.service.tenancy.quota import Quotas

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

REQUESTS = 160
CONCURRENCY = 20
SEED = 1111
# ~20% of attempts in all: 14% of JSON requests, ~26% of streams. The stream-only kinds come on
# a schedule (every 12th and 17th stream, after one delta of a long answer), listed first so they
# always draw; the rest by a seeded coin. Each spec draws in turn; the first to fire wins.
FAULTS = [
    {"kind": "mid_stream_error", "every": 12, "after_deltas": 1},
    {"kind": "stream_cut", "every": 17, "after_deltas": 1},
    {"kind": "429", "probability": 0.04, "seconds": 1},
    {"kind": "529", "probability": 0.04, "seconds": 1},
    {"kind": "500", "probability": 0.03},
    {"kind": "reset", "probability": 0.03},
]
FAULT_KINDS = {f"fault_{f['kind']}" for f in FAULTS}


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, module_redis_url: str
) -> Iterator[LiveGateway]:
    """A gateway that passes every upstream failure on (no retries of its own: the SDK's
    retries are the ones under test)."""
    yield from start_gateway(
        tmp_path_factory.mktemp("faults"),
        module_redis_url,
        env={"CLAUDE_ARCH_MAX_RETRIES": "0"},
        reply_tokens=(60, 120),
    )


def access_lines(log: Path, key_id: str) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text(errors="replace").split("\n"):
        if '"claude_arch.service.access"' in line and key_id in line:
            record = json.loads(line)
            if record.get("key_id") == key_id:
                lines.append(record)
    return lines


async def key_record_and_spend(gateway: LiveGateway, secret: str) -> tuple[str, Decimal]:
    """The key's id, and what the store (Redis) says it has spent."""
    engine = make_engine(gateway.database_url)
    quotas = Quotas(redis_url=gateway.redis_url)
    try:
        store = KeyStore(engine)
        key = await store.authenticate(secret)
        await store.aclose()
        return key.id, await quotas.spent(key)
    finally:
        await quotas.aclose()
        await engine.dispose()


async def settled_stats(gateway: LiveGateway) -> dict[str, int]:
    """The emulator's totals once every stream it started has ended there (a stream's fault
    is counted when it ends, which can come just after the client read the error event)."""
    async with asyncio.timeout(10):
        while True:
            totals: dict[str, int] = gateway.upstream.stats()["totals"]
            ended = sum(totals.get(f"streams_{k}", 0) for k in ("completed", "failed", "cancelled"))
            if ended >= totals.get("streams_started", 0):
                return totals
            await asyncio.sleep(0.02)


class Run:
    """What the clients saw: outcomes by kind, each answer's request id and usage."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.usage: dict[str, tuple[int, int]] = {}
        self.attempts = 0


async def one(client: anthropic.AsyncAnthropic, n: int, run: Run, leaks: Any) -> None:
    params: dict[str, Any] = {
        "model": "claude-haiku-4-5",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": f"question {n}"}],
    }
    try:
        if n % 2:
            async with client.messages.stream(**params) as stream:
                async for _event in stream:
                    pass
                message = await stream.get_final_message()
                request_id = stream.response.headers["request-id"]
                leaks.seen(message.model_dump_json())
            assert message.stop_reason is not None
            run.outcomes["stream_ok"] += 1
        else:
            raw = await client.messages.with_raw_response.create(**params)
            message = await raw.parse()
            request_id = raw.headers["request-id"]
            leaks.seen(message.model_dump_json(), json.dumps(dict(raw.headers)))
            run.outcomes["json_ok"] += 1
        run.usage[request_id] = (message.usage.input_tokens, message.usage.output_tokens)
    except anthropic.APIStatusError as exc:  # any other exception fails the test
        failed(exc, n, run, leaks)


def failed(error: anthropic.APIStatusError, n: int, run: Run, leaks: Any) -> None:
    """A typed error: an HTTP error in the Anthropic shape with its request id, or an error
    event after a stream started (status 200)."""
    headers = error.response.headers
    leaks.seen(json.dumps(error.body), json.dumps(dict(headers)))
    body: dict[str, Any] = error.body  # type: ignore[assignment]
    if error.response.status_code == 200:
        assert n % 2, body  # only a stream can fail after its status line
        # the upstream's own error event is forwarded as it came (without the request id)
        jsonschema.validate({"request_id": headers["request-id"], **body}, ERROR_SCHEMA)
        run.outcomes[f"stream_event_{body['error']['type']}"] += 1
        return
    check_error_body(body, error.status_code)
    assert headers["request-id"] == body["request_id"]
    run.outcomes[f"{'stream' if n % 2 else 'json'}_{error.status_code}"] += 1


@pytest.mark.parametrize("sdk_retries", [0, 2], ids=["sdk-retries-off", "sdk-retries-on"])
async def test_faults_end_well_formed_and_spend_matches_the_log(
    gateway: LiveGateway, sdk_retries: int
) -> None:
    gateway.upstream.set_faults(*FAULTS, seed=SEED + sdk_retries)
    before = gateway.upstream.stats()["totals"]
    secret = await gateway.new_key(f"faults-{sdk_retries}", budget_usd=100)
    run = Run()

    async def count(_response: object) -> None:
        run.attempts += 1

    http = anthropic.DefaultAsyncHttpxClient(event_hooks={"response": [count]})
    client = anthropic.AsyncAnthropic(
        base_url=gateway.url, api_key=secret, max_retries=sdk_retries, http_client=http
    )
    limit = asyncio.Semaphore(CONCURRENCY)

    async def limited(n: int) -> None:
        async with limit:
            await one(client, n, run, gateway.leaks)

    async with client:
        await asyncio.gather(*(limited(n) for n in range(REQUESTS)))
    gateway.upstream.set_faults()

    outcomes = run.outcomes
    assert sum(outcomes.values()) == REQUESTS, outcomes
    assert outcomes["json_ok"] + outcomes["stream_ok"] > REQUESTS * 0.6, outcomes
    after = await settled_stats(gateway)
    fired = {k: after.get(k, 0) - before.get(k, 0) for k in FAULT_KINDS}
    assert all(fired.values()), fired  # every kind of fault happened in this run
    assert any(k.startswith("stream_event_") for k in outcomes), outcomes
    failed = sum(v for k, v in outcomes.items() if not k.endswith("_ok"))
    if sdk_retries:  # the SDK retried what the gateway passed on, and most then succeeded
        assert run.attempts > REQUESTS, (run.attempts, outcomes)
        assert failed < sum(fired.values()), (fired, outcomes)
    else:  # every fault reached a client, as an HTTP error or an error event
        assert run.attempts == REQUESTS
        assert failed == sum(fired.values()), (fired, outcomes)

    # every attempt has its access line; each answer's usage is what was logged for it
    key_id, spent = await key_record_and_spend(gateway, secret)
    async with asyncio.timeout(10):
        while len(lines := access_lines(gateway.proc.log_path, key_id)) < run.attempts:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert len(lines) == run.attempts
    logged = {line["request_id"]: line for line in lines}
    for request_id, (input_tokens, output_tokens) in run.usage.items():
        line = logged[request_id]
        assert (line["input_tokens"], line["output_tokens"]) == (input_tokens, output_tokens)
        assert Decimal(line["cost_usd"]) > 0, line
    # the store charged exactly what the access lines say was spent
    key_id, spent = await key_record_and_spend(gateway, secret)
    charged = sum((Decimal(line.get("cost_usd", "0")) for line in lines), Decimal(0))
    assert spent == charged, (spent, charged, outcomes)
    assert spent > 0
