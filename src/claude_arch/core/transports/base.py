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

from claude_arch.errors import APIConnectionError, APITimeoutError

__all__ = [
    "AsyncResponse",
    "AsyncTransport",
    "SyncResponse",
    "SyncTransport",
    "WireRequest",
    "no_answer",
]

_MALFORMED = ("ClientResponseError", "LocalProtocolError", "DecodingError", "HttpProcessingError")
"""Exceptions for an answer that came but was not valid HTTP (their text holds no address)."""
# What failed, from the HTTP library's exception class names (aiohttp, httpx, the socket module)
_REASONS = (
    (("DNS", "gaierror", "NameResolution"), "the API's host name did not resolve"),
    (("SSL", "Certificate", "TLS"), "the TLS handshake with the API failed"),
    (
        ("Disconnected", "RemoteProtocol", "Reset", "ReadError", "Payload"),
        "the API's server closed the connection",
    ),
    (
        ("Connector", "ConnectError", "Refused", "OSError"),
        "the API's server refused the connection or could not be reached",
    ),
)


def no_answer(
    url: str, exc: BaseException, described: str, *, timed_out: bool = False
) -> APIConnectionError:
    """The error for a request to ``url`` that got no HTTP answer. Its message says what failed
    (from ``exc``'s class) but not the address: it reaches callers of a gateway, and a base URL's
    path can hold an account token. ``detail`` (for logs) has the URL and ``described``, the
    library's words.

        >>> err = no_answer("http://10.0.0.7:4010/acct-42/v1/messages", OSError(), "refused")
        >>> err.message.removeprefix("connection to the API failed: ")
        "the API's server refused the connection or could not be reached"
        >>> err.detail
        'http://10.0.0.7:4010/acct-42/v1/messages: refused'
    """
    if timed_out:
        return APITimeoutError("the request to the API timed out", detail=f"{url}: {described}")
    names = " ".join(cls.__name__ for cls in type(exc).__mro__)
    if any(key in names for key in _MALFORMED):  # the library's words name no address here
        return APIConnectionError(
            f"the API's answer was not valid HTTP: {described}", detail=f"{url}: {described}"
        )
    reason = next(
        (text for keys, text in _REASONS if any(key in names for key in keys)),
        f"the connection failed ({type(exc).__name__})",
    )
    return APIConnectionError(
        f"connection to the API failed: {reason}", detail=f"{url}: {described}"
    )


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
