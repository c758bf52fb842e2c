"""A JSON answer is settled (the key's spend and budget hold, the gate slot, the call's fields on
the access-log line) once it has been handed to the server: :class:`SettledAfter`. Settled it must
be, however the sending ends: sent, sent to a client that is gone, or cut by a shutdown.

The answer's write is made to wait for real: a client that pipelines two requests and does not
read leaves the first (a ~6 MB answer) in the server's write buffer, so the second one's answer
waits in uvicorn's flow control (``FlowControl.drain``) until the client reads, goes, or the
server gives up on it.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from error_shape import message_body
from log_capture import CapturedLogs, json_logs
from upstream_watch import until

from claude_arch.core.types import Usage
from claude_arch.service.tenancy.keys import ApiKey
from claude_arch.service.tenancy.quota import to_micro, usd
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

BIG_MODEL = "claude-opus-5-5"  # 128k output tokens
WIDE = "\U0001d400"  # a word character (4 to a token) that JSON writes as 12 bytes
BIG_TEXT = WIDE * 4 * 128_000  # ~6 MB of JSON: more than the loopback socket buffers hold


@pytest.fixture(params=["in-process", pytest.param("redis", marks=pytest.mark.redis)])
def limits_url(request: pytest.FixtureRequest) -> str | None:
    """Where the keys' spend lives: this process, or Redis (fails under CI=true without it)."""
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return url
    return None


def access_line(logs: CapturedLogs, request_id: str) -> dict[str, Any] | None:
    for line in logs.lines():
        if line["logger"] == "claude_arch.service.access" and line["request_id"] == request_id:
            return line
    return None


async def settled_line(logs: CapturedLogs, request_id: str) -> dict[str, Any]:
    """The request's access-log line: written once its call has been settled."""
    await until(lambda: access_line(logs, request_id) is not None, timeout_s=5)
    line = access_line(logs, request_id)
    assert line is not None
    return line


async def held(svc: ServiceServer, key: ApiKey) -> int:
    quotas = svc.gateway.quotas
    state = await quotas._budgets.state(quotas._slot(key, quotas._now())[0])
    return state.held


def charged(*lines: dict[str, Any]) -> Decimal:
    """What the key must have been charged for these calls, as the budget counts (micro-USD)."""
    return usd(sum(to_micro(Decimal(line["cost_usd"])) for line in lines))


@pytest.mark.parametrize("budget_usd", [None, 50])
async def test_a_json_answer_is_charged_and_logged_with_its_call(
    emulator: EmulatorServer, tmp_path: Path, limits_url: str | None, budget_usd: int | None
) -> None:
    with json_logs() as logs:
        async with (
            ServiceServer.for_emulator(emulator, tmp_path, redis_url=limits_url) as svc,
            httpx.AsyncClient(base_url=svc.url, timeout=30) as http,
        ):
            secret = await svc.create_key("json", budget_usd=budget_usd)
            key = await svc.gateway.keys.authenticate(secret)
            catalog = svc.gateway.client.catalog
            lines = []
            for n in range(3):
                r = await http.post(
                    "/v1/messages", headers={"x-api-key": secret}, json=message_body(f"Hi {n}")
                )
                assert r.status_code == 200, r.text
                answer = r.json()
                usage = answer["usage"]
                line = await settled_line(logs, r.headers["request-id"])
                lines.append(line)
                cost = catalog.cost(
                    answer["model"],
                    Usage(input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"]),
                )
                assert cost > 0
                assert line["status"] == 200
                assert line["key_id"] == key.id
                assert line["model"] == answer["model"]
                assert line["call_status"] == 200
                assert line["attempts"] == 1
                assert line["input_tokens"] == usage["input_tokens"]
                assert line["output_tokens"] == usage["output_tokens"]
                assert Decimal(line["cost_usd"]) == cost
                assert await svc.gateway.quotas.spent(key) == charged(*lines)
                assert await held(svc, key) == 0
            assert svc.gateway.gate.inflight == 0


# --- a write that has to wait ---------------------------------------------------------------------


def raw_request(secret: str, request_id: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"x-api-key: {secret}\r\nx-request-id: {request_id}\r\ncontent-length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def pipelined_without_reading(url: str, *requests: bytes) -> socket.socket:
    """A client that sends ``requests`` on one connection and reads nothing back."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (parts.hostname, parts.port))
    await loop.sock_sendall(sock, b"".join(requests))
    return sock


def awaited(task: asyncio.Task[Any]) -> Iterator[str]:
    """The qualified names of the coroutines ``task`` is suspended in, outermost first."""
    coro: Any = task.get_coro()
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        yield coro.cr_frame.f_code.co_qualname
        coro = coro.cr_await


def answer_waits_to_be_written(svc: ServiceServer) -> bool:
    """A request's answer, handed over by :class:`SettledAfter`, waits in uvicorn's flow control
    for the client to make room."""
    assert svc.server is not None
    for task in svc.server.server_state.tasks:
        names = list(awaited(task))
        if "SettledAfter.__call__" in names and "FlowControl.drain" in names:
            return True
    return False


async def stall_an_answer(svc: ServiceServer, secret: str) -> socket.socket:
    """A big answer the client does not read, then a second answer stuck behind it."""
    big = message_body("big", model=BIG_MODEL, max_tokens=128_000)
    sock = await pipelined_without_reading(
        svc.url,
        raw_request(secret, "req-test-big-answer", big),
        raw_request(secret, "req-test-stuck-answer", message_body("Hello")),
    )
    try:
        await until(lambda: answer_waits_to_be_written(svc), timeout_s=10)
    except TimeoutError:
        sock.close()
        raise AssertionError(
            "the second answer never had to wait: were ~6 MB not more than the socket buffers?"
        ) from None
    # the upstream call is over: its gate slot is back though the answer waits to be written
    assert svc.gateway.gate.inflight == 0
    return sock


async def test_an_answer_whose_client_goes_while_it_waits_to_be_written_is_settled(
    emulator: EmulatorServer, service: ServiceServer
) -> None:
    emulator.script(user="^big", text=BIG_TEXT)
    secret = await service.create_key("pipelining", budget_usd=100)
    key = await service.gateway.keys.authenticate(secret)
    with json_logs() as logs:
        sock = await stall_an_answer(service, secret)
        assert access_line(logs, "req-test-stuck-answer") is None
        sock.close()  # the client goes, its answer unsent
        stuck = await settled_line(logs, "req-test-stuck-answer")
        big = await settled_line(logs, "req-test-big-answer")
    assert big["model"] == BIG_MODEL
    assert big["output_tokens"] > 100_000
    assert stuck["model"] == "claude-haiku-4-5"
    assert stuck["output_tokens"] > 0
    assert Decimal(stuck["cost_usd"]) > 0
    assert await service.gateway.quotas.spent(key) == charged(big, stuck)
    assert await held(service, key) == 0
    assert service.gateway.gate.inflight == 0


async def test_an_answer_cut_by_a_shutdown_while_it_waits_to_be_written_is_settled(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """The server gives up on the stalled client after its grace period and cancels the request
    in the middle of sending its answer: the send raises, the call is settled all the same."""
    emulator.script(user="^big", text=BIG_TEXT)
    svc = ServiceServer.for_emulator(emulator, tmp_path, shutdown_grace_s=0.2)
    await svc.start_async()
    server = svc.server
    assert server is not None
    sock: socket.socket | None = None
    try:
        secret = await svc.create_key("pipelining", budget_usd=100)
        key = await svc.gateway.keys.authenticate(secret)
        with json_logs() as logs:
            sock = await stall_an_answer(svc, secret)
            await svc.close_async()  # graceful shutdown: grace period over, the request cancelled
            stuck = await settled_line(logs, "req-test-stuck-answer")
            big = await settled_line(logs, "req-test-big-answer")
        assert any("Cancel 1 running task" in line["msg"] for line in logs.lines())
        assert stuck["model"] == "claude-haiku-4-5"
        assert stuck["output_tokens"] > 0
        assert await svc.gateway.quotas.spent(key) == charged(big, stuck)
        assert await held(svc, key) == 0
        assert svc.gateway.gate.inflight == 0
    finally:
        if sock is not None:
            sock.close()  # uvicorn's 500 for the cancelled request waits on this client too
        await svc.close_async()
        await until(lambda: not server.server_state.tasks, timeout_s=5)
