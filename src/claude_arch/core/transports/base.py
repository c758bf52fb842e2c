"""The transport boundary: the only place HTTP libraries appear.

A transport sends one :class:`WireRequest` and hands back a response whose status and headers are
known and whose body is still to be read (so a stream can be consumed chunk by chunk and closed
early). Failures without an HTTP answer raise :class:`~claude_arch.errors.APIConnectionError` or
:class:`~claude_arch.errors.APITimeoutError`; an error *status* is not an exception here, the
wire layer decides what it means.

Header mappings of responses must answer lower-case names (case-insensitive mappings do).

    class MyTransport:
        async def send(self, request: WireRequest) -> AsyncResponse: ...
        async def aclose(self) -> None: ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["AsyncResponse", "AsyncTransport", "SyncResponse", "SyncTransport", "WireRequest"]


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One HTTP request: ``timeout`` bounds each wait for the server (the answer's head, then
    each read of its body; None: no limit), ``connect_timeout`` the connection set-up."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    timeout: float | None = None
    connect_timeout: float | None = None

    def __repr__(self) -> str:
        # Headers carry the API key: never part of a repr, a log line or an error message.
        return f"WireRequest({self.method} {self.url})"


class AsyncResponse(Protocol):
    status: int
    headers: Mapping[str, str]

    async def read(self) -> bytes:
        """The whole body; the response is released afterwards."""
        ...

    def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        ...

    async def aclose(self) -> None:
        """Stop reading: drop the connection if the body was not fully read."""
        ...


class SyncResponse(Protocol):
    status: int
    headers: Mapping[str, str]

    def read(self) -> bytes: ...

    def iter_chunks(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    async def send(self, request: WireRequest) -> AsyncResponse: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class SyncTransport(Protocol):
    def send(self, request: WireRequest) -> SyncResponse: ...

    def close(self) -> None: ...
