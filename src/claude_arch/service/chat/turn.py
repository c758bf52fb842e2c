"""One chat turn, shared by ``POST /v1/chat`` (SSE) and ``/v1/chat/ws`` (WebSocket).

    turn = ChatTurn(gateway, key, ChatRequest(text="Hello"))
    await turn.start()                       # 400/404/429/529 here, before anything is sent
    try:
        async for text in turn.deltas():
            ...                              # send it on
        done = await turn.finish()           # stored; {"session_id", "usage", "cost_usd", …}
    finally:
        await turn.stop()                    # no-op after finish; else closes upstream at once

A turn loads its session (or makes a new one once the stream has opened, so a refused request
leaves no empty session), appends the user's text, trims the history to the model's window
(:mod:`claude_arch.service.chat.context`), and streams through
:class:`~claude_arch.service.api.upstream.Admitted`, so it is limited, metered and settled like
every other call.

What the session keeps is what the user saw: a finished turn stores the question and the answer;
a turn stopped early (cancel, disconnect, upstream failure) stores the question and the partial
answer if any text was delivered, and nothing if none was (the client can simply resend).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from claude_arch.constants import AUTO_MODEL
from claude_arch.core.types import Usage, UsageRecord
from claude_arch.errors import (
    ClaudeArchError,
    InvalidRequestError,
)
from claude_arch.service.api.upstream import Admitted, finish_anyway
from claude_arch.service.chat.context import trim_for_model
from claude_arch.service.chat.sessions import sessions_of
from claude_arch.service.http.problems import crash, from_upstream, problem

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from claude_arch.core.streams.async_stream import MessageStream
    from claude_arch.service.chat.sessions import Session
    from claude_arch.service.gateway import Gateway
    from claude_arch.service.tenancy.keys import ApiKey

__all__ = ["MAX_TEXT_CHARS", "ChatRequest", "ChatTurn", "error_body", "parse_chat_request"]

MAX_TEXT_CHARS = 100_000
"""Longest user text per turn (about 25k tokens); longer is a 400 naming ``text``."""
MAX_SYSTEM_CHARS = 100_000
DEFAULT_MAX_TOKENS = 1024


class ChatRequest(BaseModel):
    """The body of ``POST /v1/chat`` (and a WebSocket ``user`` frame, less its ``type``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    model: str | None = Field(default=None, min_length=1, max_length=200)
    session_id: str | None = Field(default=None, min_length=1, max_length=64)
    max_tokens: int | None = Field(default=None, ge=1)
    system: str | None = Field(default=None, max_length=MAX_SYSTEM_CHARS)

    @field_validator("system")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # a session keeps its system prompt as text, which PostgreSQL cannot hold with NUL:
        # refused here, before the upstream call, not when the session is stored after it
        if value is not None and "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
        return value


def parse_chat_request(data: dict[str, Any]) -> ChatRequest:
    """``data`` as a :class:`ChatRequest`, or a 400 naming the first bad field.

    >>> parse_chat_request({"text": ""})
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: text: String should have at least 1 character
    """
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        raise InvalidRequestError(f"{where}: {message}", field=where) from None


def error_body(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The Anthropic error body for a failure after a chat turn started."""
    if not isinstance(exc, ClaudeArchError):
        exc = crash(exc, "chat turn failed")
    upstream = from_upstream(exc)
    return problem(exc, request_id, upstream=upstream)[1]


class ChatTurn:
    """One question and its streamed answer; see the module doc for the order of calls."""

    def __init__(
        self, gateway: Gateway, key: ApiKey, request: ChatRequest, *, session_id: str | None = None
    ) -> None:
        self.gateway = gateway
        self.key = key
        self.request = request
        self.sessions = sessions_of(gateway)
        self.session_id = request.session_id or session_id
        self.model: str | None = None
        self.trimmed = 0
        self.delivered: list[str] = []
        self.cancelled = False
        self._session: Session | None = None
        self._user: dict[str, Any] = {"role": "user", "content": request.text}
        self._admitted: Admitted | None = None
        self._stream: MessageStream | None = None
        self._answer: list[dict[str, Any]] | None = None
        self._stopped = False
        self._records: list[UsageRecord] = []

    async def start(self) -> None:
        """Load, trim, admit, open the upstream stream; then make the session if it is new."""
        request, client = self.request, self.gateway.client
        if self.session_id is not None:
            self._session = await self.sessions.get(self.session_id, self.key.id)
        session = self._session
        name = request.model or (session.model if session else None) or AUTO_MODEL
        # "auto" with a router is routed by core per turn; the default model's window bounds the
        # trim (every routed model's is at least as large in the shipped policies)
        routed = name == AUTO_MODEL and client.router is not None
        model = client.resolve(name)
        system = request.system
        if system is None and session is not None:
            system = session.system
        max_tokens = request.max_tokens or min(DEFAULT_MAX_TOKENS, model.max_output)
        history = [*(session.messages if session else []), self._user]
        kept = trim_for_model(history, model, max_tokens=max_tokens, system=system, field="text")
        self.trimmed = kept.dropped
        params: dict[str, Any] = {
            "model": AUTO_MODEL if routed else model.id,
            "max_tokens": max_tokens,
            "messages": kept.messages,
        }
        if system:
            params["system"] = system
        route = await client.aroute(params)  # an LLM or embedding classifier's, if any
        admitted = Admitted(self.gateway, self.key, params, stream=True, route=route)
        self.model = admitted.call.current.id
        await admitted.open()
        self._admitted = admitted
        self._stream = await admitted.stream()
        if self._session is None:
            self._session = await self.sessions.create(  # a routed session stays "auto"
                self.key.id, model=None if routed else model.id, system=request.system
            )
            self.session_id = self._session.id

    @property
    def headers(self) -> dict[str, str]:
        """The key's rate-limit headers for this call."""
        return self._admitted.headers if self._admitted else {}

    async def deltas(self) -> AsyncIterator[str]:
        """The answer's text as it arrives (kept, so a stopped turn stores what was seen)."""
        if self._stream is None:
            raise RuntimeError("start() first")
        async for text in self._stream.text_stream:
            self.delivered.append(text)
            yield text

    async def finish(self) -> dict[str, Any]:
        """After the last delta: settle, store the whole turn, and say what it cost."""
        if self._stream is None:
            raise RuntimeError("start() first")
        message = await self._stream.final_message()
        self._answer = message.content
        await self.stop()
        return self.summary()

    async def stop(self, *, cancelled: bool = False) -> None:
        """End the turn however it went: close the upstream stream first (the model stops
        generating), then settle the key's quota and store what the user saw. Idempotent.

        The work runs in a task of its own that a cancellation of the caller does not stop (a
        client that went away still has its usage settled and its turn stored)."""
        if self._stopped:
            return
        self._stopped = True
        self.cancelled = cancelled
        await finish_anyway(self._stop())

    async def _stop(self) -> None:
        admitted, self._admitted = self._admitted, None
        if admitted is not None:
            self._records = admitted.records  # filled as the call is accounted for
            await admitted.aclose()
        answer = self._answer
        if answer is None and self.delivered:
            answer = [{"type": "text", "text": "".join(self.delivered)}]
        if answer is not None and self._session is not None:
            turn: list[dict[str, Any]] = [self._user, {"role": "assistant", "content": answer}]
            await self.sessions.append(self._session.id, self.key.id, turn)

    def summary(self) -> dict[str, Any]:
        """The ``done`` payload: session, model, usage and cost of what was used so far."""
        records = self._admitted.records if self._admitted else self._records
        usage = records[-1].usage if records else Usage()  # one call: one record
        cost = sum((r.cost_usd for r in records), Decimal(0))
        done: dict[str, Any] = {
            "type": "done",
            "session_id": self.session_id,
            "model": self.model,
            "usage": usage.to_dict(),
            "cost_usd": str(cost),
        }
        if self.trimmed:
            done["trimmed_messages"] = self.trimmed
        if self.cancelled:
            done["cancelled"] = True
        return done
