"""A stream client that stops reading cannot hold its in-flight slot for ever: once its
connection's write buffer has stayed full for ``send_timeout_s``, the service drops it as if it
had hung up (upstream call stopped, usage settled, slot freed), so other callers are served."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

SLOTS = 2
LONG = {
    "model": "claude-haiku-4-5", "max_tokens": 60_000, "stream": True,
    "messages": [{"role": "user", "content": "Write at length."}],
}  # fmt: skip


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[ServiceServer]:
    """Long unpaced answers (megabytes of SSE) behind a service with two slots, no queueing,
    and a short send timeout."""
    async with (
        EmulatorServer(reply_tokens=(50_000, 50_000)) as emu,
        ServiceServer.for_emulator(
            emu, tmp_path, dev=True, max_inflight=SLOTS, queue_timeout_s=0, send_timeout_s=0.5
        ) as server,
    ):
        yield server


async def open_and_never_read(svc: ServiceServer) -> socket.socket:
    """A raw connection with a tiny receive window that sends a streamed request and reads
    nothing of the answer."""
    host, port = svc.url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    # the server's side of this connection gets a small kernel send buffer too (Linux grows it
    # to megabytes, which would hold a whole answer): the client is behind a slow link
    mine = sock.getsockname()[1]
    assert svc.server is not None
    connections = svc.server.server_state.connections
    await until(lambda: any(c.client and c.client[1] == mine for c in connections))
    served = next(c for c in connections if c.client and c.client[1] == mine)
    served.transport.get_extra_info("socket").setsockopt(  # type: ignore[attr-defined]
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
    )
    body = json.dumps(LONG).encode()
    head = (
        f"POST /v1/messages HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"anthropic-version: 2023-06-01\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    await asyncio.get_running_loop().sock_sendall(sock, head + body)
    return sock


async def until(condition: object, limit_s: float = 15.0) -> float:
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - started < limit_s, "not within the limit"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def until_closed(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(15):
        try:
            while await loop.sock_recv(sock, 65536):
                pass
        except ConnectionResetError:
            pass


async def test_readers_that_stall_are_dropped_and_their_slots_freed(svc: ServiceServer) -> None:
    gate = svc.gateway.gate
    stalled = [await open_and_never_read(svc) for _ in range(SLOTS)]
    try:
        await until(lambda: gate.inflight == SLOTS)  # both hold a slot, writing to nobody
        # dropped after the send timeout; their slots come back
        await until(lambda: gate.inflight == 0)
        for sock in stalled:  # the service closed them: reading on ends (EOF or reset)
            await until_closed(sock)
        # and a caller that reads is served again
        async with httpx.AsyncClient(base_url=svc.url, timeout=30) as http:
            small = {**LONG, "max_tokens": 16, "stream": False}
            answer = await http.post(
                "/v1/messages", json=small, headers={"anthropic-version": "2023-06-01"}
            )
        assert answer.status_code == 200, answer.text
    finally:
        for sock in stalled:
            sock.close()
