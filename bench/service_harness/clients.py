"""Python load for what wrk cannot measure: time to first token, held streams, counted requests.

    ttft = asyncio.run(stream_ttft(url, body, ("x-api-key", key), concurrency=32, seconds=5))
    reports = asyncio.run(held_streams(url, body, ("x-api-key", key), streams=2000))
    asyncio.run(counted(url, body, ("x-api-key", key), concurrency=32, total=10_000))

A few lines of HTTP/1.1 on asyncio protocols instead of a client library: an aiohttp client
costs about as much CPU per request as the emulator, and both share one core here. Every
connection is keep-alive and sends its next request when the last answer has ended (the
``0\\r\\n\\r\\n`` of a chunked body, or ``content-length`` bytes).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

FIRST_TOKEN = b"content_block_delta"
CHUNKED_END = b"0\r\n\r\n"


def request_bytes(url: str, body: dict[str, Any], key_header: tuple[str, str]) -> bytes:
    host = url.removeprefix("http://").split("/", 1)[0]
    payload = json.dumps(body).encode()
    return (
        f"POST /v1/messages HTTP/1.1\r\nHost: {host}\r\n{key_header[0]}: {key_header[1]}\r\n"
        "anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\n\r\n"
    ).encode() + payload


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    return host, int(port)


@dataclass
class Exchange:
    """One answer as it arrives: when it started, its first token, its content gaps, its end."""

    started: float
    first_token: float | None = None
    last_token: float | None = None
    gaps: list[float] = field(default_factory=list)
    ok: bool = False
    ended: float | None = None


class _Connection(asyncio.Protocol):
    """Sends ``request`` again whenever an answer ends, while ``more()`` says so."""

    def __init__(self, request: bytes, sink: _Sink) -> None:
        self.request = request
        self.sink = sink
        self.in_head = True
        self.head = bytearray()
        self.body_left: int | None = None  # content-length bytes still due; None: chunked
        self.tail = b""
        self.current: Exchange | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.in_head = True
        self.head.clear()
        self.body_left = None
        self.tail = b""
        self.current = Exchange(time.monotonic())
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        exchange = self.current
        if exchange is None:
            return
        if self.in_head:
            self.head += data
            split = self.head.find(b"\r\n\r\n")
            if split < 0:
                return
            head, data = bytes(self.head[:split]).lower(), bytes(self.head[split + 4 :])
            self.in_head = False
            exchange.ok = head.startswith(b"http/1.1 200")
            at = head.find(b"content-length:")
            if at >= 0:
                self.body_left = int(head[at + 15 :].split(b"\r\n", 1)[0])
        if FIRST_TOKEN in data:
            if exchange.first_token is None:
                exchange.first_token = now
            elif exchange.last_token is not None:
                exchange.gaps.append(now - exchange.last_token)
            exchange.last_token = now
        if self.body_left is not None:
            self.body_left -= len(data)
            finished = self.body_left <= 0
        else:
            self.tail = (self.tail + data)[-len(CHUNKED_END) :]
            finished = self.tail == CHUNKED_END
        if finished:
            exchange.ended = now
            self.current = None
            self.sink.done(exchange)
            if self.sink.more():
                self.send()
            elif self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.current is not None:
            self.sink.done(self.current)  # cut short: ok stays as it was, ended stays None
            self.current = None
        if not self.closed.done():
            self.closed.set_result(None)


class _Sink:
    """Collects exchanges; ``more`` says whether a connection sends another request: until
    ``stop_at``, or while ``budget`` (requests still to send, beyond each connection's first)."""

    def __init__(
        self, *, stop_at: float = float("inf"), budget: int | None = None, warmup_end: float = 0
    ) -> None:
        self.stop_at = stop_at
        self.budget = budget
        self.warmup_end = warmup_end
        self.exchanges: list[Exchange] = []

    def done(self, exchange: Exchange) -> None:
        if exchange.started >= self.warmup_end:
            self.exchanges.append(exchange)

    def more(self) -> bool:
        if self.budget is not None:
            self.budget -= 1
            return self.budget >= 0
        return time.monotonic() < self.stop_at


async def _run(
    url: str,
    body: dict[str, Any],
    key_header: tuple[str, str],
    sink: _Sink,
    concurrency: int,
    *,
    spread_s: float = 0.0,
) -> list[Exchange]:
    loop = asyncio.get_running_loop()
    request = request_bytes(url, body, key_header)
    host, port = host_port(url)

    async def connect(delay: float) -> None:
        await asyncio.sleep(delay)
        started = time.monotonic()
        try:
            _, protocol = await loop.create_connection(
                lambda: _Connection(request, sink), host, port
            )
        except OSError:
            sink.done(Exchange(started))  # refused: counts as a failed exchange
            return
        await protocol.closed

    await asyncio.gather(*(connect(spread_s * i / concurrency) for i in range(concurrency)))
    return sink.exchanges


async def stream_ttft(
    url: str,
    body: dict[str, Any],
    key_header: tuple[str, str],
    *,
    concurrency: int,
    seconds: float,
    warmup_s: float = 1.0,
) -> list[Exchange]:
    """Closed loop of streamed requests for ``seconds`` after a warm-up; every exchange kept."""
    now = time.monotonic()
    sink = _Sink(stop_at=now + warmup_s + seconds, warmup_end=now + warmup_s)
    return await _run(url, body, key_header, sink, concurrency)


async def held_streams(
    url: str,
    body: dict[str, Any],
    key_header: tuple[str, str],
    *,
    streams: int,
    spread_s: float = 1.0,
) -> list[Exchange]:
    """``streams`` connections opened over ``spread_s``, one stream each, held to its end."""
    return await _run(url, body, key_header, _Sink(budget=0), streams, spread_s=spread_s)


async def counted(
    url: str, body: dict[str, Any], key_header: tuple[str, str], *, concurrency: int, total: int
) -> list[Exchange]:
    """Exactly ``total`` requests over ``concurrency`` connections."""
    connections = min(concurrency, total)
    return await _run(url, body, key_header, _Sink(budget=total - connections), connections)
