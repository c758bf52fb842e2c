"""A request's head is bounded: more than ``MAX_HEAD_BYTES`` of request line and headers (finished
or still coming) or more than ``MAX_HEADERS`` headers is a 431 in the Anthropic error shape and
the connection is closed, before the app sees anything; a large body is not a large head, and a
kept-alive connection's next request starts a new count. Raw sockets against a live service."""

from __future__ import annotations

import asyncio
import json

import httpx

from claude_arch.service.http.hangup import MAX_HEAD_BYTES, MAX_HEADERS
from claude_arch.service.testing import ServiceServer


async def exchange(svc: ServiceServer, head: bytes, *, finish: bool = True) -> bytes:
    """Send ``head`` (and the blank line ending it, if ``finish``); everything read until the
    server closes the connection."""
    host, port = svc.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + (b"\r\n" if finish else b""))
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()


def status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


async def test_a_huge_header_is_a_431(dev_service: ServiceServer) -> None:
    head = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: " + b"a" * 100_000 + b"\r\n"
    status, body = status_and_body(await exchange(dev_service, head))
    assert status == 431
    assert body["type"] == "error"
    assert f"limit of {MAX_HEAD_BYTES} bytes" in body["error"]["message"]  # type: ignore[index]


async def test_an_unfinished_head_is_refused_before_it_ends(dev_service: ServiceServer) -> None:
    """A head that never ends (a slow-headers attack holding memory) is answered and closed
    once it passes the bound: the answer comes though the blank line never does."""
    head = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n" + b"x-slow: b\r\n" * 10_000
    assert len(head) > MAX_HEAD_BYTES
    status, _ = status_and_body(await exchange(dev_service, head, finish=False))
    assert status == 431


async def test_too_many_headers_is_a_431(dev_service: ServiceServer) -> None:
    many = b"".join(b"x-h%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    head = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n" + many
    status, body = status_and_body(await exchange(dev_service, head))
    assert status == 431
    assert f"more than {MAX_HEADERS} request headers" in body["error"]["message"]  # type: ignore[index]


async def test_a_large_body_and_a_kept_alive_connection_are_served(
    dev_service: ServiceServer,
) -> None:
    payload = {
        "model": "claude-haiku-4-5", "max_tokens": 8,
        "messages": [{"role": "user", "content": "x " * 300_000}],
    }  # fmt: skip
    headers = {"anthropic-version": "2023-06-01", "x-fill": "f" * 30_000}
    async with httpx.AsyncClient(base_url=dev_service.url, timeout=30) as http:
        # one connection: each request's head is counted anew (60 kB of heads in all)
        for _ in range(2):
            answer = await http.post("/v1/messages", json=payload, headers=headers)
            assert answer.status_code == 200, answer.text
        assert (await http.get("/healthz", headers=headers)).status_code == 200
