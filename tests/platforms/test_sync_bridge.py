"""``SyncBridge``: an async transport used from blocking code. A stream's chunks are read ahead on
the bridge's loop and handed over in batches; every chunk arrives once and in order, an error
arrives after the chunks read before it, reading pauses when the reader falls behind, and closing
stops it (from the reading thread or another one)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest

from claude_arch.core.transports.base import WireRequest
from claude_arch.core.transports.sync_bridge import READ_AHEAD, SyncBridge
from claude_arch.errors import APIConnectionError

REQUEST = WireRequest("POST", "http://upstream.invalid/v1/messages", {}, b"{}", 5.0, 5.0)


class Source:
    """A stream of ``n`` numbered chunks (then ``error``, if any), gated by ``gate`` when set."""

    def __init__(self, n: int, error: Exception | None = None, gated: bool = False) -> None:
        self.n = n
        self.error = error
        self.produced = 0
        self.closed = False
        self.gated = gated
        self.gate: asyncio.Event | None = None

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        try:
            for i in range(self.n):
                if self.gated:
                    if self.gate is None:
                        self.gate = asyncio.Event()
                    await self.gate.wait()
                self.produced += 1
                yield b"%d," % i
            if self.error is not None:
                raise self.error
        finally:
            self.closed = True


class Response:
    status = 200
    headers: dict[str, str] = {}  # noqa: RUF012 - a stand-in, never mutated

    def __init__(self, source: Source) -> None:
        self.source = source
        self.aclosed = False

    async def read(self) -> bytes:
        return b"".join([c async for c in self.source.iter_chunks()])

    def iter_chunks(self) -> AsyncIterator[bytes]:
        return self.source.iter_chunks()

    async def aclose(self) -> None:
        self.aclosed = True


class Transport:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.responses: list[Response] = []

    async def send(self, request: WireRequest) -> Response:
        self.responses.append(Response(self.source))
        return self.responses[-1]

    async def aclose(self) -> None:
        return None


def bridge_over(source: Source) -> tuple[SyncBridge, Transport]:
    transport = Transport(source)
    return SyncBridge(lambda: transport), transport  # type: ignore[arg-type,return-value]


def eventually(check: object, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


@pytest.mark.parametrize("n", [0, 1, READ_AHEAD - 1, READ_AHEAD, 5 * READ_AHEAD + 3])
def test_every_chunk_arrives_once_in_order(n: int) -> None:
    bridge, _ = bridge_over(Source(n))
    try:
        response = bridge.send(REQUEST)
        assert b"".join(response.iter_chunks()) == b"".join(b"%d," % i for i in range(n))
        response.close()
    finally:
        bridge.close()


def test_an_error_arrives_after_the_chunks_read_before_it() -> None:
    bridge, _ = bridge_over(Source(3, APIConnectionError("connection reset")))
    try:
        got: list[bytes] = []
        with pytest.raises(APIConnectionError, match="connection reset"):
            got.extend(bridge.send(REQUEST).iter_chunks())
        assert got == [b"0,", b"1,", b"2,"]
    finally:
        bridge.close()


def test_reading_pauses_when_the_reader_falls_behind() -> None:
    source = Source(10 * READ_AHEAD)
    bridge, _ = bridge_over(source)
    try:
        chunks = bridge.send(REQUEST).iter_chunks()
        first = next(chunks)
        eventually(lambda: source.produced >= READ_AHEAD)
        time.sleep(0.05)  # time enough to read far ahead, were it not paused
        assert source.produced <= 2 * READ_AHEAD + 1
        rest = list(chunks)
        assert len(rest) + 1 == 10 * READ_AHEAD
        assert first == b"0,"
    finally:
        bridge.close()


def test_closing_mid_stream_stops_the_reading() -> None:
    source = Source(10 * READ_AHEAD)
    bridge, transport = bridge_over(source)
    try:
        response = bridge.send(REQUEST)
        chunks = response.iter_chunks()
        assert next(chunks) == b"0,"
        response.close()
        assert source.closed
        assert transport.responses[0].aclosed
        produced = source.produced
        time.sleep(0.02)
        assert source.produced == produced
    finally:
        bridge.close()


def test_closing_from_another_thread_ends_a_waiting_reader() -> None:
    source = Source(5, gated=True)
    bridge, _ = bridge_over(source)
    try:
        response = bridge.send(REQUEST)
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.extend(response.iter_chunks()))
        reader.start()
        time.sleep(0.05)  # the reader waits for a first chunk that does not come
        response.close()
        reader.join(5)
        assert not reader.is_alive()
        assert got == []
        assert source.closed
    finally:
        bridge.close()


def test_many_threads_share_one_bridge() -> None:
    bridge, _ = bridge_over(Source(3 * READ_AHEAD))
    results: list[bytes] = []
    lock = threading.Lock()

    def read() -> None:
        response = bridge.send(REQUEST)
        joined = b"".join(response.iter_chunks())
        response.close()
        with lock:
            results.append(joined)

    try:
        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        expected = b"".join(b"%d," % i for i in range(3 * READ_AHEAD))
        assert results == [expected] * 8
    finally:
        bridge.close()


def test_a_transport_that_cannot_be_built_leaves_no_thread_behind() -> None:
    def make() -> Transport:
        raise ValueError("no region: set AWS_REGION")

    before = set(threading.enumerate())
    with pytest.raises(ValueError, match="AWS_REGION"):
        SyncBridge(make)  # type: ignore[arg-type]
    eventually(lambda: not [t for t in set(threading.enumerate()) - before if t.daemon])
