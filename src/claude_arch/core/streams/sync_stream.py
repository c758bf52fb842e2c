"""``SyncMessageStream``: one streamed Messages call on the blocking client.

    with client.stream(model="claude-haiku-4-5", max_tokens=512, messages=msgs) as stream:
        for text in stream.text_stream:
            print(text, end="")
    message = stream.final_message()

Same contract as the async :class:`~claude_arch.core.streams.async_stream.MessageStream`: failures
before the first content event are retried, later ones raise their typed error; leaving the ``with``
block early closes the response. The call's deadline is checked between chunks (httpx bounds each
read, not the whole exchange).
"""

from __future__ import annotations

from collections.abc import Iterator
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
    from claude_arch.core.pricing.catalog import ModelInfo
    from claude_arch.core.ratelimit import Reservation
    from claude_arch.core.sync_client import SyncClaudeClient
    from claude_arch.core.transports.base import SyncResponse

__all__ = ["SyncMessageStream"]


@dataclass(slots=True)
class _Attempt:
    """The attempt that delivered content: its response is the one the caller reads."""

    model: ModelInfo
    response: SyncResponse
    state: StreamState
    chunks: Iterator[bytes]
    first: list[StreamEvent]
    reservation: Reservation | None


class SyncMessageStream:
    """Context manager and iterator of :data:`~claude_arch.core.wire.StreamEvent`."""

    def __init__(self, client: SyncClaudeClient, call: Call) -> None:
        self._client = client
        self._call = call
        self._attempt: _Attempt | None = None
        self._finished = False
        self._message: Message | None = None
        # One event iterator for every way of reading (events, text_stream, final_message): a
        # loop left with break leaves it where it was, and final_message() reads on from there.
        self._iterator: Iterator[StreamEvent] | None = None

    def __enter__(self) -> SyncMessageStream:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[StreamEvent]:
        return self._shared()

    def _shared(self) -> Iterator[StreamEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the text of the text deltas."""
        for event in self._shared():
            if isinstance(event, ContentBlockDelta) and event.delta.get("type") == "text_delta":
                yield event.text

    def until_done(self) -> None:
        for _ in self._shared():
            pass

    def final_message(self) -> Message:
        """The complete message (reads the rest of the stream first)."""
        self.until_done()
        if self._message is None:
            raise StreamInterruptedError("the stream was closed before it finished")
        return self._message

    def close(self) -> None:
        """Stop: close the response and account for the partial call (status 499)."""
        attempt, self._attempt = self._attempt, None
        if attempt is None:
            self._finished = True  # closed before it was opened: it never will be
            self._iterator = None
            return
        attempt.response.close()
        if not self._finished:
            self._finished = True
            usage = attempt.state.partial_usage()
            self._client.settle(attempt.reservation, usage)
            self._client.core.record_cancelled(self._call, usage)
        # Last: a closed stream yields nothing more, and dropping the iterator may finalize it
        # at once, which calls close() again.
        self._iterator = None

    def _open(self) -> _Attempt | None:
        """The attempt the caller reads; None when the stream was closed while it opened."""
        if self._attempt is None:
            if self._finished:
                raise StreamInterruptedError("this stream was already consumed or closed")
            attempt = self._client.run(self._call, self._try)
            self._attempt = attempt
            if self._finished:
                # close() came (from another task) while this opened: it found nothing to close
                # or account for then, so it does now; the caller reads nothing
                self._finished = False
                self.close()
                return None
        return self._attempt

    def _next_chunk(self, chunks: Iterator[bytes]) -> bytes | None:
        if self._call.deadline.expired:
            raise APITimeoutError("the call's deadline passed while streaming")
        try:
            return next(chunks)
        except StopIteration:
            return None

    def _try(self, call: Call, model: ModelInfo) -> _Attempt:
        """One attempt: send, then read until the first content event (or fail)."""
        client = self._client
        reservation = client.reserve(call, model)
        body = client.core.body_for(call, model, stream=True)
        request = client.core.request("POST", MESSAGES_PATH, body, call, call.attempts - 1)
        response: SyncResponse | None = None
        try:
            response = client.send(request, model.id)
            client.learn(model, response.headers, reservation)
            state = StreamState(started=call.started, model=model.id)
            chunks = iter(response.iter_chunks())
            while True:
                try:
                    chunk = self._next_chunk(chunks)
                except APITimeoutError:
                    raise
                except APIConnectionError as exc:
                    raise StreamInterruptedError(f"stream lost: {exc.message}") from exc
                if chunk is None:
                    state.end()
                    raise StreamInterruptedError("the stream ended before any content")
                first = state.feed(chunk)
                if state.has_content:
                    return _Attempt(model, response, state, chunks, first, reservation)
        except BaseException:
            if response is not None:
                response.close()
            client.settle(reservation)
            raise

    def _events(self) -> Iterator[StreamEvent]:
        if self._finished:
            return
        attempt = self._open()
        if attempt is None:
            return
        state = attempt.state
        try:
            first, attempt.first = attempt.first, []
            yield from first
            while not state.done:
                try:
                    chunk = self._next_chunk(attempt.chunks)
                except APITimeoutError:
                    raise
                except APIConnectionError as exc:
                    raise StreamInterruptedError(
                        f"stream lost after content was delivered: {exc.message}"
                    ) from exc
                if chunk is None:
                    yield from state.end()
                    break
                yield from state.feed(chunk)
        except ClaudeArchError as exc:
            self._fail(attempt, exc)
            raise
        except BaseException:  # the caller dropped the iterator: stop upstream
            self.close()
            raise
        self._message = state.message()
        self._finish(attempt)

    def _finish(self, attempt: _Attempt) -> None:
        self._finished = True
        self._attempt = None
        message = attempt.state.message()
        usage = message.usage
        self._client.settle(attempt.reservation, usage)
        message.record = self._client.core.record(
            self._call,
            message=message,
            request_id=attempt.response.headers.get("request-id"),
            ttft_s=attempt.state.ttft_s,
        )
        attempt.response.close()

    def _fail(self, attempt: _Attempt, exc: ClaudeArchError) -> None:
        if self._finished:  # closed meanwhile (by another task): close() did the accounting
            return
        self._finished = True
        self._attempt = None
        attempt.response.close()
        usage = attempt.state.partial_usage()
        self._client.settle(attempt.reservation, usage)
        exc.model = exc.model or attempt.model.id
        exc.request_id = exc.request_id or attempt.response.headers.get("request-id")
        self._client.core.fail(self._call, exc, usage)  # billed for what it delivered
