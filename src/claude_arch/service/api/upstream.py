"""One admitted upstream call: the key's quota, a slot at the gate, the core client, settlement.

Both the Anthropic-compatible routes and the chat endpoints go through here, so every way into
the service is limited, metered and settled the same way:

    admitted = Admitted(gateway, key, params)       # validated here: 400 naming the field
    async with admitted:                            # 429 / 529 raised here
        message = await admitted.create()
    # the key's quota is settled with what the call really cost

For a stream (``Admitted(..., stream=True)``), :meth:`Admitted.stream` opens it (retrying
failures before the first content) and the block stays open while the caller reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from claude_arch.constants import HEADER_PROVIDER
from claude_arch.core.pricing.worst_case import worst_case_cost
from claude_arch.core.ratelimit.headers import tighter
from claude_arch.core.ratelimit.protocol import itpm_tokens
from claude_arch.core.types import UsageRecord

if TYPE_CHECKING:
    from claude_arch.core.routing import Decision
    from claude_arch.core.streams.async_stream import MessageStream
    from claude_arch.core.types import Message
    from claude_arch.service.gateway import Gateway
    from claude_arch.service.tenancy.keys import ApiKey
    from claude_arch.service.tenancy.quota import Admission

__all__ = ["CALL_LOG_FIELDS", "Admitted", "finish_anyway", "finishing", "limit_headers"]

_log = logging.getLogger("claude_arch.service.calls")
_FREE = Decimal(0)
CALL_LOG_FIELDS = "call_log_fields"
"""Where :class:`Admitted` leaves its fields in a request's state for the access-log line."""


_finishing: set[asyncio.Task[Any]] = set()  # held until done: asyncio keeps weak references


async def finish_anyway(work: Coroutine[Any, Any, None]) -> None:
    """Await ``work`` in a task of its own, which cancelling the caller does not stop (the
    caller gets its ``CancelledError`` at once; ``work`` runs on to its end): how a call is
    settled and a turn stored however its request ends. anyio's ``CancelScope(shield=True)``
    does not do this under asyncio: it guards against anyio's scopes, not ``Task.cancel()``,
    which is what uvicorn sends (tests/service/test_finish_anyway.py)."""
    task = asyncio.ensure_future(work)
    _finishing.add(task)
    task.add_done_callback(_finishing.discard)
    await asyncio.shield(task)


async def finishing(timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for the work :func:`finish_anyway` still runs (at shutdown,
    before the stores it writes to are closed)."""
    if _finishing:
        await asyncio.wait(list(_finishing), timeout=timeout_s)


class Admitted:
    """Async context manager around one call; ``headers`` are the key's limit headers."""

    def __init__(
        self,
        gateway: Gateway,
        key: ApiKey,
        params: dict[str, Any],
        *,
        stream: bool = False,
        extra_headers: dict[str, str] | None = None,
        log_into: dict[str, Any] | None = None,
        route: Decision | None = None,
    ) -> None:
        self.gateway = gateway
        self.key = key
        self._log_into = log_into
        """A request's state: the call's fields join its one access-log line instead of a
        line of their own."""
        if extra_headers:
            params = {**params, "extra_headers": extra_headers}
        # Core validates once ("auto" resolved, 400 naming the field) and estimates the tokens.
        # The per-attempt timeout is the gateway's: a long non-streamed answer is the caller's
        # choice, not a mistake to refuse.
        self.call = gateway.client.build_call(
            "stream" if stream else "create",
            params,
            timeout=gateway.settings.timeout_s,
            route=route,
        )
        self.params = self.call.params
        self.headers: dict[str, str] = {}
        self.records: list[UsageRecord] = []
        self.answer: str | None = None
        """The answer's text, for the call's log line when ``log_prompts`` is on."""
        self._admission: Admission | None = None
        self._holding = False  # a slot at the gate
        self._stream: MessageStream | None = None

    async def open(self) -> Admitted:
        """Admit the call: the key's quotas and budget (its worst case), then a gate slot.
        Raises the refusal (429, 402, 503) with nothing held. ``async with`` is this plus
        :meth:`aclose`."""
        gateway = self.gateway
        call = self.call
        model = call.requested
        input_tokens = call.input_estimate
        max_output = min(call.max_tokens, model.max_output)
        # what the call may cost at most (cache writes, price tiers, inference_geo included):
        # only a budget needs it reserved
        worst = (
            _FREE
            if self.key.budget_usd is None
            else worst_case_cost(
                gateway.client.catalog,
                model.id,
                call.params,
                input_tokens=input_tokens,
                output_tokens=max_output,
                fallbacks=gateway.client.fallbacks_of(call),  # a dearer fallback may answer
            )
        )
        self._admission = await gateway.quotas.admit(
            self.key,
            input_tokens=input_tokens,
            max_output_tokens=max_output,
            max_cost_usd=worst,
        )
        self.headers = dict(self._admission.headers)
        try:
            await gateway.gate.acquire()
        except BaseException:
            await self._settle()
            raise
        self._holding = True
        self.records = gateway.scoped.begin()
        return self

    async def create(self) -> Message:
        """Send the (non-streamed) call."""
        return await self.gateway.client.send_call(self.call)

    async def stream(self, *, raw: bool = False) -> MessageStream:
        """Open the stream: its first content is ready (or its error raised) when this returns.

        ``raw``: the caller forwards ``stream.raw()`` and needs no content (unless prompts are
        logged), so content deltas are parsed only if the final message is asked for."""
        keep = not raw or self.logs_answer
        stream = self.gateway.client.stream_call(self.call, keep_content=keep)
        await stream.open()
        self._stream = stream
        return stream

    def answer_headers(self) -> dict[str, str]:
        """The headers of the call's answer: the key's budget, what binds this caller now
        (:func:`limit_headers` for the model that answered) and, for a routed ``"auto"``, the
        route taken (``x-claude-arch-route``, ``x-claude-arch-route-reason``)."""
        call = self.call
        headers = limit_headers(self.gateway, self.headers, call.current.id)
        if call.route is not None:
            headers.update(call.route.with_model(call.current.id).to_headers())
        upstream = self.gateway.settings.upstream
        if call.current.provider is not None or upstream != "anthropic":
            headers[HEADER_PROVIDER] = call.current.provider or upstream
        return headers

    @property
    def logs_answer(self) -> bool:
        """Whether the call's log line carries the answer's text (``log_prompts``)."""
        return self.gateway.settings.log_prompts

    def release_slot(self) -> None:
        """Give the gate slot back now (the upstream call is over) though settling comes later:
        an answer waiting to be written to a slow client must not hold a slot."""
        if self._holding:
            self._holding = False
            self.gateway.gate.release()

    async def __aenter__(self) -> Admitted:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End the call: close its stream, give the slot back, settle the quotas with what it
        used. Completes even if the caller's task is cancelled meanwhile (the client gone, the
        server stopping): a call is always settled (:func:`finish_anyway`). With the counts in
        this process and no stream left to close, settling never waits, so nothing can cancel
        it, and it runs here without a task of its own. Closing twice does nothing more."""
        stream = self._stream
        if (stream is None or stream.finished) and not self.gateway.quotas.shared:
            await self._end()
        else:
            await finish_anyway(self._end())

    async def _end(self) -> None:
        stream, self._stream = self._stream, None
        try:
            if stream is not None:
                await stream.aclose()
        finally:
            self.release_slot()
            await self._settle()

    async def _settle(self) -> None:
        admission, self._admission = self._admission, None
        if admission is None:
            return
        records = self.records
        self._log(records)
        await self.gateway.quotas.settle(
            admission,
            input_tokens=sum(itpm_tokens(r.usage) for r in records),
            output_tokens=sum(r.usage.output_tokens for r in records),
            cost_usd=sum((r.cost_usd for r in records), Decimal(0)),
        )

    def _log(self, records: list[UsageRecord]) -> None:
        """One line per call: who, which model, tokens, cost; text only with ``log_prompts``."""
        last = records[-1] if records else None
        extra: dict[str, Any] = {
            "key_id": self.key.id,
            "model": last.model if last else self.params.get("model"),
            "call_status": last.status if last else None,
            "error_type": last.error_type if last else None,
            "attempts": sum(r.attempts for r in records),
            "input_tokens": sum(r.usage.input_tokens for r in records),
            "output_tokens": sum(r.usage.output_tokens for r in records),
            "cost_usd": str(sum((r.cost_usd for r in records), Decimal(0))),
        }
        if last is not None and last.route is not None:
            extra["route"] = last.route
        if self.gateway.settings.log_prompts:
            extra["prompt"] = last_user_text(self.params)
            extra["answer"] = self.answer
        if self._log_into is not None:
            self._log_into[CALL_LOG_FIELDS] = extra
        else:
            _log.info("call finished", extra=extra)


def limit_headers(gateway: Gateway, own: dict[str, str], model: str) -> dict[str, str]:
    """``own`` (a key's admission headers) with its ``anthropic-ratelimit-*`` headers replaced,
    kind by kind, by the tighter of the key's limits and the organisation's for ``model``'s
    family (the upstream's latest headers, or the core limiter's state: no I/O)."""
    org = gateway.client.rate_limits(model)
    if not org:
        return own
    return {**own, **tighter(own, org)}


def last_user_text(params: dict[str, Any]) -> str:
    """The text of the last user turn (what ``log_prompts`` logs as the prompt)."""
    for message in reversed(params.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))
    return ""
