"""Every transport against a real HTTP server: bodies, headers, streams, early close, failures."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import httpx2
import pytest
from aiohttp import web

from claude_arch.core.transports import (
    AsyncTransport,
    MockResponse,
    MockTransport,
    SyncMockTransport,
    SyncTransport,
    WireRequest,
)
from claude_arch.core.transports.aiohttp_transport import AiohttpTransport
from claude_arch.core.transports.httpx_transport import HttpxAsyncTransport, HttpxTransport
from claude_arch.errors import APIConnectionError, APITimeoutError

ASYNC_TRANSPORTS: dict[str, Callable[[], AsyncTransport]] = {
    "aiohttp": AiohttpTransport,
    "httpx": HttpxAsyncTransport,
    "httpx2": lambda: HttpxAsyncTransport(module=httpx2),
}
SYNC_TRANSPORTS: dict[str, Callable[[], SyncTransport]] = {
    "httpx": HttpxTransport,
    "httpx2": lambda: HttpxTransport(module=httpx2),
}
DISCONNECTED = threading.Event()
CHUNKS = [b"event: a\n", b"data: 1\n\n", b"event: b\ndata: 2\n\n"]


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {"method": request.method, "auth": request.headers.get("authorization"), "len": len(body)},
        headers={"request-id": "req_echo", "anthropic-ratelimit-requests-limit": "50"},
        status=int(request.query.get("status", "200")),
    )


async def chunks(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    for chunk in CHUNKS:
        await response.write(chunk)
        await asyncio.sleep(0)
    await response.write_eof()
    return response


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    try:
        for i in range(100_000):
            await response.write(b"data: %d\n\n" % i)
            await asyncio.sleep(0.005)
    except (ConnectionResetError, asyncio.CancelledError):
        DISCONNECTED.set()
        raise
    return response


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(30)  # the client's timeout is what is under test
    return web.Response()


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    DISCONNECTED.clear()
    return {"/echo": echo, "/chunks": chunks, "/endless": endless, "/hang": hang}


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/echo"


def req(url: str, *, method: str = "GET", timeout: float | None = 10.0) -> WireRequest:
    headers = {"authorization": "Bearer sk-secret", "content-type": "application/json"}
    body = b'{"x": 1}' if method == "POST" else None
    return WireRequest(method, url, headers, body, timeout, 5.0)


async def _send_and_read(transport: AsyncTransport, request: WireRequest) -> bytes:
    return await (await transport.send(request)).read()


@pytest.mark.parametrize("name", ASYNC_TRANSPORTS)
async def test_async_round_trip(name: str, stub_server: Any) -> None:
    transport = ASYNC_TRANSPORTS[name]()
    try:
        response = await transport.send(req(stub_server.url + "/echo?status=529", method="POST"))
        assert response.status == 529
        assert response.headers["request-id"] == "req_echo"
        assert response.headers["Anthropic-RateLimit-Requests-Limit"] == "50"
        body = await response.read()
        assert b'"auth": "Bearer sk-secret"' in body
        assert b'"len": 8' in body
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", ASYNC_TRANSPORTS)
async def test_async_stream_chunks_arrive_in_order(name: str, stub_server: Any) -> None:
    transport = ASYNC_TRANSPORTS[name]()
    try:
        response = await transport.send(req(stub_server.url + "/chunks"))
        got = b"".join([c async for c in response.iter_chunks()])
        assert got == b"".join(CHUNKS)
        await response.aclose()
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", ASYNC_TRANSPORTS)
async def test_async_early_close_stops_the_server(name: str, stub_server: Any) -> None:
    transport = ASYNC_TRANSPORTS[name]()
    try:
        response = await transport.send(req(stub_server.url + "/endless"))
        async for _ in response.iter_chunks():
            break
        await response.aclose()
        assert await asyncio.to_thread(DISCONNECTED.wait, 10)
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", ASYNC_TRANSPORTS)
async def test_async_refused_and_timeout(name: str, stub_server: Any) -> None:
    transport = ASYNC_TRANSPORTS[name]()
    try:
        with pytest.raises(APIConnectionError) as refused:
            await transport.send(req(_closed_port_url()))
        assert "sk-secret" not in str(refused.value)
        with pytest.raises(APITimeoutError):
            await _send_and_read(transport, req(stub_server.url + "/hang", timeout=0.2))
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", SYNC_TRANSPORTS)
def test_sync_round_trip_stream_and_close(name: str, stub_server: Any) -> None:
    transport = SYNC_TRANSPORTS[name]()
    try:
        response = transport.send(req(stub_server.url + "/echo", method="POST"))
        assert response.status == 200
        assert response.headers["request-id"] == "req_echo"
        assert b'"len": 8' in response.read()
        streamed = transport.send(req(stub_server.url + "/chunks"))
        assert b"".join(streamed.iter_chunks()) == b"".join(CHUNKS)
        streamed.close()
        endless_stream = transport.send(req(stub_server.url + "/endless"))
        next(iter(endless_stream.iter_chunks()))
        endless_stream.close()
        assert DISCONNECTED.wait(10)
    finally:
        transport.close()


@pytest.mark.parametrize("name", SYNC_TRANSPORTS)
def test_sync_refused_and_timeout(name: str, stub_server: Any) -> None:
    transport = SYNC_TRANSPORTS[name]()
    try:
        with pytest.raises(APIConnectionError):
            transport.send(req(_closed_port_url()))
        with pytest.raises(APITimeoutError):
            transport.send(req(stub_server.url + "/hang", timeout=0.2)).read()
    finally:
        transport.close()


def test_request_repr_hides_headers() -> None:
    assert "sk-secret" not in repr(req("http://x/v1/messages"))


async def test_mock_transports_answer_and_record() -> None:
    def handler(request: WireRequest) -> MockResponse:
        return MockResponse.sse([{"type": "ping"}], headers={"Request-Id": "req_m"})

    transport = MockTransport(handler)
    response = await transport.send(req("http://mock/v1/messages"))
    assert response.headers["request-id"] == "req_m"
    assert [c async for c in response.iter_chunks()] == [b'event: ping\ndata: {"type": "ping"}\n\n']
    assert len(transport.requests) == 1

    async def async_handler(request: WireRequest) -> MockResponse:
        return MockResponse.json({"input_tokens": 3}, status=200)

    assert await (await MockTransport(async_handler).send(req("http://m"))).read() == (
        b'{"input_tokens": 3}'
    )
    sync = SyncMockTransport(lambda r: MockResponse(status=204))
    assert sync.send(req("http://m")).status == 204
    assert sync.requests[0].url == "http://m"


def test_httpx_is_the_default_sync_module() -> None:
    transport = HttpxTransport()
    assert transport._module is httpx
    transport.close()
