"""``MessageStream``: one streamed Messages call on the async client.

    async with client.stream(model="claude-haiku-4-5", max_tokens=512, messages=msgs) as stream:
        async for event in stream:            # typed events (claude_arch.core.wire)
            ...
    message = await stream.final_message()    # with .record (usage, cost, TTFT, attempts)

``stream.text_stream`` yields only text; ``await stream.until_done()`` drains it. Leaving the
``async with`` early, ``await stream.aclose()`` or cancelling the task closes the HTTP response,
so the server stops generating.

Retries: until the first content event reaches the caller, a failed attempt (error status,
mid-stream ``error`` event, cut stream) is retried like any call; afterwards the failure is
raised as its typed error (:class:`~claude_arch.errors.StreamInterruptedError` for a cut stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from claude_arch.core.streams.state import StreamState
from claude_arch.core.types import Message
from claude_arch.core.wire import MESSAGES_PATH, ContentBlockDelta, StreamEvent
from claude_arch.errors import (
    APIConnectionError,
    APITimeoutError,
    ClaudeArchError,
    StreamInterruptedError,
)

if TYPE_CHECKING:
    from claude_arch.core.calls import Call
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.pricing.catalog import ModelInfo
    from claude_arch.core.ratelimit import Reservation
    from claude_arch.core.transports.base import AsyncResponse

__all__ = ["MessageStream"]


@dataclass(slots=True)
class _Attempt:
    """The attempt that delivered content: its response is the one the caller reads."""

    model: ModelInfo
    response: AsyncResponse
    state: StreamState
    chunks: AsyncIterator[bytes]
    first: list[StreamEvent]
    first_raw: bytes
    """The bytes that carried ``first`` (a proxy forwards them unchanged)."""
    reservation: Reservation | None


class MessageStream:
    """Async context manager and async iterator of :data:`~claude_arch.core.wire.StreamEvent`."""

    def __init__(self, client: ClaudeClient, call: Call, *, keep_content: bool = True) -> None:
        self._client = client
        self._call = call
        self._keep_content = keep_content
        self._attempt: _Attempt | None = None
        self._finished = False
        self._ended: StreamState | None = None
        """The state of the stream read to its end: its message, built when asked for."""
        # One event iterator for every way of reading (events, text_stream, final_message): a
        # loop left with break leaves it where it was, and final_message() reads on from there.
        self._iterator: AsyncIterator[StreamEvent] | None = None

    async def open(self) -> MessageStream:
        """Send the call: returns when its first content is ready (or raises its error). For
        a stream whose life is not one block; ``async with`` is this plus :meth:`aclose`."""
        await self._open()
        return self

    async def __aenter__(self) -> MessageStream:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._shared()

    def _shared(self) -> AsyncIterator[StreamEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Only the text of the text deltas."""
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        async for event in self._shared():
            if isinstance(event, ContentBlockDelta) and event.delta.get("type") == "text_delta":
                yield event.text

    @property
    def finished(self) -> bool:
        """Read to its end, failed or closed: closing it now waits for nothing."""
        return self._finished and self._attempt is None

    async def until_done(self) -> None:
        async for _ in self._shared():
            pass

    async def final_message(self) -> Message:
        """The complete message (reads the rest of the stream first)."""
        await self.until_done()
        if self._ended is None:
            raise StreamInterruptedError("the stream was closed before it finished")
        return self._ended.message()

    async def close(self) -> None:
        """:meth:`aclose`, under the name the official SDK's stream uses."""
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: close the response (the server stops generating) and account for the partial
        call (``error_type`` "cancelled", status 499). Closing twice does nothing more."""
        attempt, self._attempt = self._attempt, None
        if attempt is None:
            self._finished = True  # closed before it was opened: it never will be
            self._iterator = None
            return
        await attempt.response.aclose()
        if not self._finished:
            self._finished = True
            usage = attempt.state.partial_usage()
            self._client.core.record_cancelled(self._call, usage)
            # Shielded: a close() that runs because the caller was cancelled (a client gone
            # away under anyio, whose cancellation hits every await) still gives the limiter
            # back what the stream did not use.
            await asyncio.shield(self._client.settle(attempt.reservation, usage))
        # Last: a closed stream yields nothing more, and dropping the iterator may finalize it
        # at once, which calls close() again.
        self._iterator = None

    async def _open(self) -> _Attempt | None:
        """The attempt the caller reads; None when the stream was closed while it opened."""
        if self._attempt is None:
            if self._finished:
                raise StreamInterruptedError("this stream was already consumed or closed")
            attempt = await self._client.run(self._call, self._try)
            self._attempt = attempt
            if self._finished:
                # close() came (from another task) while this opened: it found nothing to close
                # or account for then, so it does now; the caller reads nothing
                self._finished = False
                await self.aclose()
                return None
        return self._attempt

    async def _next_chunk(self, chunks: AsyncIterator[bytes]) -> bytes:
        """The next chunk, within the call's deadline (the transport's timeout is per read)."""
        left = self._call.deadline.remaining()
        if left is None:
            return await chunks.__anext__()
        try:
            async with asyncio.timeout(max(left, 0.0)):
                return await chunks.__anext__()
        except TimeoutError:
            raise APITimeoutError("the call's deadline passed while streaming") from None

    async def _try(self, call: Call, model: ModelInfo) -> _Attempt:
        """One attempt: send, then read until the first content event (or fail)."""
        client = self._client
        reservation = await client.reserve(call, model)
        body = client.core.body_for(call, model, stream=True)
        request = client.core.request("POST", MESSAGES_PATH, body, call, call.attempts - 1)
        response: AsyncResponse | None = None
        try:
            response = await client.send(request, model.id)
            client.learn(model, response.headers, reservation)
            state = StreamState(
                started=call.started, model=model.id, keep_content=self._keep_content
            )
            chunks = response.iter_chunks().__aiter__()
            raw: list[bytes] = []
            while True:
                try:
                    chunk = await self._next_chunk(chunks)
                except StopAsyncIteration:
                    state.end()
                    raise StreamInterruptedError("the stream ended before any content") from None
                except APITimeoutError:
                    raise
                except APIConnectionError as exc:
                    raise StreamInterruptedError(f"stream lost: {exc.message}") from exc
                raw.append(chunk)
                first = state.feed(chunk)
                if state.has_content:
                    return _Attempt(
                        model, response, state, chunks, first, b"".join(raw), reservation
                    )
        except BaseException:
            if response is not None:
                await response.aclose()
            await client.settle(reservation)
            raise

    def raw(self) -> AsyncGenerator[bytes, None]:
        """The response body as it arrives, chunk by chunk, for a proxy to forward unchanged.

        Accounting, retries and errors are those of iterating the events: a failed attempt
        before content is retried unseen, a failure after content raises its typed error. A
        stream made with ``keep_content=False`` stores its content events without parsing them
        (nor yields them as events): :meth:`final_message` builds the content from them when
        called, the same message either way."""
        return self._read(None)

    async def _events(self) -> AsyncIterator[StreamEvent]:
        events: list[StreamEvent] = []
        async for _ in self._read(events):
            for event in events:
                yield event
            events.clear()

    async def _read(self, events: list[StreamEvent] | None) -> AsyncGenerator[bytes, None]:
        """Each chunk, the events it completed added to ``events`` (None: a proxy's raw read,
        which gets no empty chunk); accounts for the call when it ends."""
        if self._finished:
            return
        attempt = await self._open()
        if attempt is None:
            return
        state = attempt.state
        chunks = attempt.chunks
        timed = self._call.deadline.at is not None
        try:
            first, attempt.first = attempt.first, []
            first_raw, attempt.first_raw = attempt.first_raw, b""
            if events is not None:
                events.extend(first)
            yield first_raw
            while not state.done:
                try:
                    chunk = await (self._next_chunk(chunks) if timed else chunks.__anext__())
                except StopAsyncIteration:
                    ended = state.end()
                    if events is not None:
                        events.extend(ended)
                        yield b""
                    break
                except APITimeoutError:
                    raise
                except APIConnectionError as exc:
                    raise StreamInterruptedError(
                        f"stream lost after content was delivered: {exc.message}"
                    ) from exc
                fed = state.feed(chunk)
                if events is not None:
                    events.extend(fed)
                    yield chunk
                elif chunk:
                    yield chunk
        except ClaudeArchError as exc:
            await self._fail(attempt, exc)
            raise
        except BaseException:  # cancelled, or the caller dropped the iterator: stop upstream
            await self.aclose()
            raise
        self._ended = state
        await self._finish(attempt)

    async def _finish(self, attempt: _Attempt) -> None:
        self._finished = True
        self._attempt = None
        message = attempt.state.head()  # the content, when deferred, is built if asked for
        usage = message.usage
        await self._client.settle(attempt.reservation, usage)
        message.record = self._client.core.record(
            self._call,
            message=message,
            request_id=attempt.response.headers.get("request-id"),
            ttft_s=attempt.state.ttft_s,
        )
        await attempt.response.aclose()

    async def _fail(self, attempt: _Attempt, exc: ClaudeArchError) -> None:
        if self._finished:  # closed meanwhile (by another task): close() did the accounting
            return
        self._finished = True
        self._attempt = None
        await attempt.response.aclose()
        usage = attempt.state.partial_usage()
        await self._client.settle(attempt.reservation, usage)
        exc.model = exc.model or attempt.model.id
        exc.request_id = exc.request_id or attempt.response.headers.get("request-id")
        self._client.core.fail(self._call, exc, usage)  # billed for what it delivered
