"""Each response leaves the service in one write: :class:`CoalescedWrites` holds a connection's
writes for the rest of the loop turn, and the service's protocol flushes it as a response
completes. Checked on the live server (a recording layer under the wrapper counts the writes that
reach the socket) and at the edges: pipelined requests, ``connection: close``, a stream, a closed
connection, ``abort``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from error_shape import message_body

from claude_arch.service.http.coalesced import CoalescedWrites
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


class Recorded:
    """A real transport, with the bytes of each ``write`` that reaches it noted."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def dev_service(emulator: EmulatorServer, tmp_path: Path) -> ServiceServer:
    return ServiceServer.for_emulator(emulator, tmp_path, dev=True)


@asynccontextmanager
async def connected(
    emulator: EmulatorServer, tmp_path: Path
) -> AsyncIterator[tuple[ServiceServer, asyncio.StreamReader, asyncio.StreamWriter]]:
    """The dev service, and one raw HTTP/1.1 connection to it."""
    async with dev_service(emulator, tmp_path) as svc:
        host, port = svc.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            yield svc, reader, writer
        finally:
            writer.close()


async def recorded_connection(svc: ServiceServer) -> Recorded:
    """The server side of the one open connection, its writes recorded under the wrapper."""
    assert svc.server is not None
    for _ in range(200):
        connections = list(svc.server.server_state.connections)
        if connections:
            break
        await asyncio.sleep(0.01)
    (connection,) = connections
    wrapper = connection.transport
    assert isinstance(wrapper, CoalescedWrites)
    recorded = Recorded(wrapper._transport)
    wrapper._transport = recorded  # type: ignore[assignment]
    return recorded


def request(method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> bytes:
    raw = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(raw)}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append("content-type: application/json")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return status, await reader.readexactly(length)


async def test_a_json_answer_leaves_in_one_write(emulator: EmulatorServer, tmp_path: Path) -> None:
    async with connected(emulator, tmp_path) as (svc, reader, writer):
        writer.write(request("GET", "/healthz"))
        assert (await read_response(reader))[0] == 200  # the connection is up and known
        recorded = await recorded_connection(svc)
        writer.write(request("POST", "/v1/messages", message_body("one write")))
        status, body = await read_response(reader)
        assert status == 200
        assert json.loads(body)["type"] == "message"
        (written,) = recorded.writes  # status line, headers and body together
        assert written.startswith(b"HTTP/1.1 200 OK\r\n")
        assert written.endswith(body)


def count_body(content: str) -> dict[str, Any]:
    """A count_tokens body (which takes no ``max_tokens``)."""
    return {k: v for k, v in message_body(content).items() if k != "max_tokens"}


async def test_pipelined_requests_are_answered_in_order(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with connected(emulator, tmp_path) as (_, reader, writer):
        writer.write(
            request("POST", "/v1/messages", message_body("first"))
            + request("GET", "/healthz")
            + request("POST", "/v1/messages/count_tokens", count_body("third"))
        )
        first, second, third = [await read_response(reader) for _ in range(3)]
        assert json.loads(first[1])["type"] == "message"
        assert second[0] == 200
        assert "input_tokens" in json.loads(third[1])


async def test_connection_close_ends_after_the_whole_answer(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with connected(emulator, tmp_path) as (_, reader, writer):
        writer.write(request("POST", "/v1/messages", message_body("bye"), connection="close"))
        status, body = await read_response(reader)
        assert status == 200
        assert json.loads(body)["type"] == "message"
        assert await reader.read() == b""  # then the server closed the connection


async def test_a_stream_still_arrives_event_by_event(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with (
        dev_service(emulator, tmp_path) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=30) as http,
        http.stream("POST", "/v1/messages", json=message_body("s", stream=True)) as response,
    ):
        events = [line async for line in response.aiter_lines() if line.startswith("event:")]
    assert events[0] == "event: message_start"
    assert events[-1] == "event: message_stop"


# --- the wrapper alone, over a real socket ---------------------------------------------------


_open: list[Any] = []


@pytest.fixture(autouse=True)
async def close_pairs() -> AsyncIterator[None]:
    yield
    for thing in _open:
        thing.close()
    _open.clear()


async def wrapped_pair() -> tuple[CoalescedWrites, Recorded, asyncio.StreamReader]:
    """A wrapper over the client side of a real TCP connection; the reader is the server side."""
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))  # kept: a writer collected closes its connection

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    recorded = Recorded(writer.transport)
    peer, peer_writer = await accepted.get()
    _open.extend([writer, peer_writer, server])
    return CoalescedWrites(recorded), recorded, peer  # type: ignore[arg-type]


async def test_writes_of_one_turn_go_out_together_when_it_ends() -> None:
    wrapped, recorded, peer = await wrapped_pair()
    wrapped.write(b"a")
    wrapped.writelines([bytearray(b"b"), memoryview(b"c")])
    assert recorded.writes == []
    assert wrapped.get_write_buffer_size() == 3
    await asyncio.sleep(0)  # the turn ends
    assert recorded.writes == [b"abc"]
    assert await peer.readexactly(3) == b"abc"
    wrapped.write(b"d")
    wrapped.close()  # what is held goes first
    assert await peer.read() == b"d"


async def test_abort_and_a_closed_connection_write_nothing_more() -> None:
    wrapped, recorded, peer = await wrapped_pair()
    wrapped.write(b"dropped")
    wrapped.abort()
    await asyncio.sleep(0)
    assert recorded.writes == []
    wrapped, recorded, peer = await wrapped_pair()
    wrapped.write(b"late")
    recorded.transport.close()  # the connection went before the turn ended
    await asyncio.sleep(0)
    assert recorded.writes == []
    assert await peer.read() == b""


@pytest.mark.parametrize("first", [b"x", b""])
async def test_write_eof_writes_what_is_held_first(first: bytes) -> None:
    wrapped, _, peer = await wrapped_pair()
    wrapped.write(first + b"tail")
    wrapped.write_eof()
    assert await peer.read() == first + b"tail"
