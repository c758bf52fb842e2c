"""Transports that answer from a function: for unit tests of code that uses ``ClaudeClient``.

    def handler(request: WireRequest) -> MockResponse:
        return MockResponse.json({"input_tokens": 7})

    client = ClaudeClient(api_key="sk-test", base_url="http://mock",
                          transport=MockTransport(handler))
    assert await client.count_tokens(model="claude-haiku-4-5", messages=[...]) == 7

``SyncMockTransport`` does the same for ``SyncClaudeClient``. Each keeps the requests it saw in
``.requests``. To test against the real protocol end to end, prefer the emulator
(``claude_arch.testing``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from claude_arch.core.transports.base import WireRequest

__all__ = ["MockResponse", "MockTransport", "SyncMockTransport"]


@dataclass(slots=True)
class MockResponse:
    """A canned answer; ``chunks`` is the body as delivered piece by piece."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    closed: bool = False

    def __post_init__(self) -> None:
        self.headers = {k.lower(): v for k, v in self.headers.items()}

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> MockResponse:
        return cls(
            status,
            {"content-type": "application/json", **(headers or {})},
            [json.dumps(data).encode()],
        )

    @classmethod
    def sse(
        cls, events: Iterable[Mapping[str, Any]], headers: Mapping[str, str] | None = None
    ) -> MockResponse:
        """A stream of SSE events, one chunk each (``{"type": "ping"}`` → ``event: ping``)."""
        chunks = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]
        return cls(200, {"content-type": "text/event-stream", **(headers or {})}, chunks)

    def read(self) -> bytes:
        self.closed = True
        return b"".join(self.chunks)

    def iter_chunks(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if self.closed:
                return
            yield chunk

    def close(self) -> None:
        self.closed = True


class _AsyncMockResponse:
    __slots__ = ("_inner", "headers", "status")

    def __init__(self, inner: MockResponse) -> None:
        self._inner = inner
        self.status = inner.status
        self.headers = inner.headers

    async def read(self) -> bytes:
        return self._inner.read()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._inner.iter_chunks():
            yield chunk

    async def aclose(self) -> None:
        self._inner.close()


Handler = Callable[[WireRequest], "MockResponse | Awaitable[MockResponse]"]


class MockTransport:
    """An async transport whose answers come from ``handler`` (sync or async function)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[WireRequest] = []

    async def send(self, request: WireRequest) -> _AsyncMockResponse:
        self.requests.append(request)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return _AsyncMockResponse(answer)

    async def aclose(self) -> None:
        return None


class SyncMockTransport:
    """A sync transport whose answers come from ``handler``."""

    def __init__(self, handler: Callable[[WireRequest], MockResponse]) -> None:
        self._handler = handler
        self.requests: list[WireRequest] = []

    def send(self, request: WireRequest) -> MockResponse:
        self.requests.append(request)
        return self._handler(request)

    def close(self) -> None:
        return None
