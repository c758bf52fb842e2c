"""A bad Message Batch is refused before anything reaches the upstream, in the API's error shape,
naming the first bad request's index and field; nothing is left behind (no ownership row, no
budget hold). Unknown batch ids and paging cursors are 404s, bad paging parameters 400s; a key's
rpm counts a create as one request, its budget refuses a batch whose worst case it cannot hold,
and a batch the upstream refuses releases its hold.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from batch_support import MODEL, UpstreamSeen, batch_requests, batch_upstream, params
from error_shape import assert_anthropic_error, check_error_body
from sqlalchemy import text

from claude_arch.constants import HEADER_BUDGET_REMAINING, MAX_BATCH_BYTES, MAX_BATCH_REQUESTS
from claude_arch.core.wire import BATCHES_PATH
from claude_arch.service.api.batch_store import batches_table
from claude_arch.service.testing import ServiceServer

BUDGET = Decimal(5)
MAX_BODY = 16 * 1024
MAX_BATCH_BODY = 256 * 1024


class Gateway:
    """The service (small body limits) on an emulator that records what reaches it, a key with
    a budget, and an HTTP client."""

    def __init__(self, svc: ServiceServer, seen: UpstreamSeen, secret: str) -> None:
        self.svc = svc
        self.seen = seen
        self.secret = secret
        self.http = httpx.AsyncClient(base_url=svc.url, headers={"x-api-key": secret}, timeout=60)

    async def create(self, body: Any) -> httpx.Response:
        return await self.http.post(BATCHES_PATH, json=body)

    async def nothing_left(self) -> None:
        """No batch call reached the upstream, the key has no batch, and nothing is held."""
        assert self.seen.batch_calls() == []
        listed = await self.http.get(BATCHES_PATH)
        assert listed.json()["data"] == []
        counted = await self.http.post(
            "/v1/messages/count_tokens",
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert Decimal(counted.headers[HEADER_BUDGET_REMAINING]) == BUDGET


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with (
        batch_upstream() as (emu, seen),
        ServiceServer.for_emulator(
            emu, tmp_path, max_body_bytes=MAX_BODY, max_batch_body_bytes=MAX_BATCH_BODY
        ) as svc,
    ):
        secret = await svc.create_key("owner", budget_usd=BUDGET)
        g = Gateway(svc, seen, secret)
        try:
            yield g
        finally:
            await g.http.aclose()


def item(custom_id: Any = "a", **change: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "params": params(**change)}


BAD_BATCHES: list[tuple[str, Any, str]] = [
    ("no requests", {}, "requests: expected a list of requests"),
    ("requests not a list", {"requests": {"a": 1}}, "requests: expected a list of requests"),
    ("empty", {"requests": []}, "requests: a batch needs at least one request"),
    ("an unknown top-level field", {"requests": [item()], "colour": 1}, "colour: Extra inputs"),
    ("a request not an object", {"requests": [item(), 3]}, "requests.1: expected an object"),
    (
        "an unknown request field",
        {"requests": [{**item(), "colour": 1}]},
        "requests.0.colour: Extra inputs are not permitted",
    ),
    ("no custom_id", {"requests": [{"params": params()}]}, "requests.0.custom_id: expected"),
    ("a custom_id with a space", {"requests": [item("has space")]}, "requests.0.custom_id: "),
    ("a custom_id too long", {"requests": [item("x" * 65)]}, "requests.0.custom_id: "),
    ("an empty custom_id", {"requests": [item("")]}, "requests.0.custom_id: "),
    ("a custom_id not a string", {"requests": [item(7)]}, "requests.0.custom_id: "),
    ("a custom_id ending in a newline", {"requests": [item("a\n")]}, "requests.0.custom_id: "),
    (
        "a duplicate custom_id",
        {"requests": [item("a"), item("b"), item("a")]},
        "requests.2.custom_id: 'a' is used twice; custom_id must be unique",
    ),
    (
        "params not an object",
        {"requests": [{"custom_id": "a", "params": [1]}]},
        "requests.0.params: expected an object",
    ),
    (
        "max_tokens missing in the fourth request",
        {
            "requests": [
                *batch_requests(3),
                {"custom_id": "d", "params": {"model": MODEL, "messages": params()["messages"]}},
            ]
        },
        "requests.3.params.max_tokens: ",
    ),
    (
        "max_tokens over the model's maximum",
        {"requests": [item(max_tokens=10**6)]},
        "requests.0.params.max_tokens: 1000000 > 64000",
    ),
    (
        "a message with the wrong first role",
        {"requests": [item(messages=[{"role": "assistant", "content": "hi"}])]},
        "requests.0.params.messages.0.role: ",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), [c[1:] for c in BAD_BATCHES], ids=[c[0] for c in BAD_BATCHES]
)
async def test_a_bad_batch_is_refused_whole_naming_where(
    gateway: Gateway, body: Any, message: str
) -> None:
    r = await gateway.create(body)
    assert message in assert_anthropic_error(r, 400, "invalid_request_error")
    await gateway.nothing_left()


async def test_an_unknown_model_is_refused_with_the_closest_ids(gateway: Gateway) -> None:
    requests = [item("a"), item("b", model="claude-haiku-4-20250514")]
    r = await gateway.create({"requests": requests})
    message = assert_anthropic_error(r, 400, "invalid_request_error")
    assert message.startswith("requests.1.params.model: unknown model 'claude-haiku-4-20250514'")
    assert "claude-haiku-4-5" in message
    await gateway.nothing_left()


async def test_malformed_json_is_refused(gateway: Gateway) -> None:
    r = await gateway.http.post(BATCHES_PATH, content=b'{"requests": [')
    assert "body: malformed JSON" in assert_anthropic_error(r, 400, "invalid_request_error")
    await gateway.nothing_left()


async def test_more_than_100000_requests_are_refused(tmp_path: Path) -> None:
    tiny = {"custom_id": "a", "params": {}}  # counted before any request is looked at
    body = json.dumps({"requests": [tiny] * (MAX_BATCH_REQUESTS + 1)}).encode()
    async with (
        batch_upstream() as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=60) as http,
    ):
        secret = await svc.create_key("owner", budget_usd=BUDGET)
        r = await http.post(BATCHES_PATH, content=body, headers={"x-api-key": secret})
        message = assert_anthropic_error(r, 400, "invalid_request_error")
        assert message == (
            f"requests: a batch holds at most {MAX_BATCH_REQUESTS} requests, "
            f"got {MAX_BATCH_REQUESTS + 1}"
        )
        g = Gateway(svc, seen, secret)
        try:
            await g.nothing_left()
        finally:
            await g.http.aclose()


async def test_a_body_over_the_batch_limit_is_a_413_announced_or_not(gateway: Gateway) -> None:
    filler = "x" * 1000
    body = json.dumps({"requests": batch_requests(300, system=filler)}).encode()
    assert len(body) > MAX_BATCH_BODY
    # announced: refused from its content-length, before it is read
    r = await gateway.http.post(BATCHES_PATH, content=body)
    message = assert_anthropic_error(r, 413, "request_too_large")
    assert str(MAX_BATCH_BODY) in message
    # chunked, with no length announced: refused once the limit is passed

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    r = await gateway.http.post(BATCHES_PATH, content=chunks())
    assert str(MAX_BATCH_BODY) in assert_anthropic_error(r, 413, "request_too_large")
    await gateway.nothing_left()


async def test_the_batch_limit_is_its_own(gateway: Gateway) -> None:
    """A batch larger than a single call may be (``max_body_bytes``) is accepted."""
    requests = batch_requests(40, system="y" * 1000)
    body = json.dumps({"requests": requests}).encode()
    assert MAX_BODY < len(body) < MAX_BATCH_BODY
    single = await gateway.http.post(
        "/v1/messages", content=json.dumps(params(system="z" * MAX_BODY))
    )
    assert_anthropic_error(single, 413, "request_too_large")
    r = await gateway.http.post(BATCHES_PATH, content=body)
    assert r.status_code == 200, r.text
    assert r.json()["request_counts"]["processing"] == 40


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", "/cancel"), ("DELETE", ""), ("GET", "/results")],
)
async def test_an_unknown_batch_is_a_404(gateway: Gateway, method: str, suffix: str) -> None:
    r = await gateway.http.request(method, f"{BATCHES_PATH}/msgbatch_nope{suffix}")
    message = assert_anthropic_error(r, 404, "not_found_error")
    assert message == "message batch 'msgbatch_nope' not found"
    await gateway.nothing_left()


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("after_id=msgbatch_nope", 404, "after_id: no object with id 'msgbatch_nope'"),
        ("before_id=msgbatch_nope", 404, "before_id: no object with id 'msgbatch_nope'"),
        ("before_id=a&after_id=b", 400, "before_id: use before_id or after_id, not both"),
        ("limit=0", 400, "limit: must be an integer between 1 and 1000"),
        ("limit=1001", 400, "limit: must be an integer between 1 and 1000"),
        ("limit=many", 400, "limit: must be an integer between 1 and 1000"),
    ],
)
async def test_bad_paging_is_refused(
    gateway: Gateway, query: str, status: int, message: str
) -> None:
    r = await gateway.http.get(f"{BATCHES_PATH}?{query}")
    assert assert_anthropic_error(r, status) == message
    await gateway.nothing_left()


async def test_another_keys_batch_is_no_cursor(gateway: Gateway) -> None:
    other = await gateway.svc.create_key("other")
    r = await gateway.http.post(
        BATCHES_PATH, json={"requests": batch_requests(1)}, headers={"x-api-key": other}
    )
    theirs = r.json()["id"]
    r = await gateway.http.get(f"{BATCHES_PATH}?after_id={theirs}")
    assert "no object with id" in assert_anthropic_error(r, 404, "not_found_error")


async def test_a_budget_that_cannot_hold_the_worst_case_refuses_the_batch(tmp_path: Path) -> None:
    async with (
        batch_upstream() as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
        httpx.AsyncClient(base_url=svc.url) as http,
    ):
        secret = await svc.create_key("poor", budget_usd=Decimal("0.001"))
        # 100 requests x 1,000 output tokens at $2.50/M (half of Haiku 4.5's $5): $0.25 at most
        body = {"requests": batch_requests(100, max_tokens=1000)}
        r = await http.post(BATCHES_PATH, json=body, headers={"x-api-key": secret})
        # a spent budget does not refill: no retry-after, and the SDKs are told not to retry
        assert r.status_code == 429
        check_error_body(r.json(), 429)
        error = r.json()["error"]
        assert error["type"] == "rate_limit_error"
        assert "cannot cover this request" in error["message"]
        assert error["details"] == {"error_code": "enforced_spend_limit_reached"}
        assert r.headers["x-should-retry"] == "false"
        assert seen.batch_calls() == []
        listed = await http.get(BATCHES_PATH, headers={"x-api-key": secret})
        assert listed.json()["data"] == []


async def test_a_create_is_one_request_of_the_keys_rpm(tmp_path: Path) -> None:
    async with (
        batch_upstream() as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
        httpx.AsyncClient(base_url=svc.url) as http,
    ):
        secret = await svc.create_key("slow", rpm=1)
        body = {"requests": batch_requests(50)}
        first = await http.post(BATCHES_PATH, json=body, headers={"x-api-key": secret})
        assert first.status_code == 200, first.text
        assert first.headers["anthropic-ratelimit-requests-remaining"] == "0"
        second = await http.post(BATCHES_PATH, json=body, headers={"x-api-key": secret})
        assert "1 requests per minute" in assert_anthropic_error(second, 429, "rate_limit_error")
        assert seen.creates() == 1


async def test_a_batch_the_upstream_refuses_leaves_no_hold_and_no_row(tmp_path: Path) -> None:
    # the upstream takes smaller batches than the gateway: it refuses this one with a 413
    async with (
        batch_upstream(max_batch_bytes=4096) as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        secret = await svc.create_key("owner", budget_usd=BUDGET)
        g = Gateway(svc, seen, secret)
        try:
            r = await g.create({"requests": batch_requests(100)})
            assert_anthropic_error(r, 413, "request_too_large")
            assert seen.creates() == 1
            seen.calls.clear()
            await g.nothing_left()
        finally:
            await g.http.aclose()


async def test_the_default_batch_limit_is_the_apis_256_mb(tmp_path: Path) -> None:
    """Announced larger than 256 MB: a 413 at once, the body never read (none is sent)."""
    async with (
        batch_upstream() as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        secret = await svc.create_key("owner")
        host, port = svc.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(
                f"POST {BATCHES_PATH} HTTP/1.1\r\nhost: {host}:{port}\r\nx-api-key: {secret}\r\n"
                f"content-type: application/json\r\ncontent-length: {MAX_BATCH_BYTES + 1}\r\n"
                "\r\n".encode()
            )
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            length = int(head.lower().split("content-length: ")[1].split("\r\n")[0])
            body = json.loads(await reader.readexactly(length))
        finally:
            writer.close()
        assert head.startswith("HTTP/1.1 413")
        assert body["error"]["type"] == "request_too_large"
        assert str(MAX_BATCH_BYTES) in body["error"]["message"]
        assert seen.batch_calls() == []


async def test_a_batch_that_cannot_be_recorded_is_cancelled_and_its_hold_released(
    tmp_path: Path,
) -> None:
    # the upstream answers one request, then waits: the cancel finds the batch running
    async with (
        batch_upstream(batch_seconds_per_request=3600) as (emu, seen),
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        secret = await svc.create_key("owner", budget_usd=BUDGET)
        g = Gateway(svc, seen, secret)
        try:
            await g.nothing_left()  # the ownership table exists now
            async with svc.gateway.engine.begin() as conn:  # and is gone: no row can be written
                await conn.execute(text(f"DROP TABLE {batches_table.name}"))
            r = await g.create({"requests": batch_requests(3)})
            assert "the batch was cancelled" in assert_anthropic_error(r, 502, "api_error")
            created, cancelled = [c for c in seen.batch_calls() if c[0] == "POST"]
            assert created[1] == BATCHES_PATH
            assert cancelled[1].endswith("/cancel")
            counted = await g.http.post(
                "/v1/messages/count_tokens",
                json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
            )
            assert Decimal(counted.headers[HEADER_BUDGET_REMAINING]) == BUDGET
        finally:
            await g.http.aclose()
