"""One system call per response: writes held for the rest of the event-loop turn, sent as one.

uvicorn's protocols write a response's status line and headers, then its body, each with a
``transport.write`` of its own: two system calls and two TCP segments for one small answer, where
aiohttp's server sends one. On loopback, where a gateway and its load balancer or sidecar often
talk, a send costs the sender the receiver's side of the network stack too (figures:
bench/README.md § bench_service.py). :class:`CoalescedWrites` wraps a
connection's transport, and the service's protocol
(:class:`~claude_arch.service.http.hangup.HangupProtocol`) flushes it when a response is complete.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CoalescedWrites"]


class CoalescedWrites:
    """A connection's transport whose writes are held and sent as one: at :meth:`flush` (the
    protocol calls it when a response is complete), else when the loop turn ends, so a stream's
    chunks wait no longer than that. Everything else is the wrapped transport's; closing and
    ``write_eof`` write what is held first, ``abort`` drops it, so nothing is reordered."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Write what is held now (nothing, once the connection is closing: it would be lost)."""
        held = self._held
        if held:
            self._held = []
            if not self._transport.is_closing():
                self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
