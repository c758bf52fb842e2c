"""One admitted upstream call: the key's quota, a slot at the gate, the core client, settlement.

Both the Anthropic-compatible routes and the chat endpoints go through here, so every way into
the service is limited, metered and settled the same way:

    async with Admitted(gateway, key, params) as call:       # 429 / 529 raised here
        message = await gateway.client.create(**call.params)
    # the key's quota is settled with what the call really cost

For a stream, :meth:`Admitted.stream` opens it (retrying failures before the first content) and
the block stays open while the caller reads.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from claude_arch.core.ratelimit.protocol import itpm_tokens
from claude_arch.core.schema import validate_create_params
from claude_arch.core.tokens import count_request
from claude_arch.core.types import Usage, UsageRecord

if TYPE_CHECKING:
    from claude_arch.core.async_stream import MessageStream
    from claude_arch.service.gateway import Gateway
    from claude_arch.service.keys import ApiKey
    from claude_arch.service.quota import Admission

__all__ = ["Admitted", "prepare_params"]

_log = logging.getLogger("claude_arch.service.calls")


def prepare_params(gateway: Gateway, params: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``model: "auto"`` through core and validate (400 naming the field)."""
    if params.get("model") == "auto":
        params["model"] = gateway.client.core.resolve("auto").id
    return validate_create_params(params, catalog=gateway.client.core.catalog)


class Admitted:
    """Async context manager around one call; ``headers`` are the key's limit headers."""

    def __init__(
        self,
        gateway: Gateway,
        key: ApiKey,
        params: dict[str, Any],
        *,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        self.gateway = gateway
        self.key = key
        self.params = params
        if extra_headers:
            self.params = {**params, "extra_headers": extra_headers}
        self.headers: dict[str, str] = {}
        self.records: list[UsageRecord] = []
        self.answer: str | None = None
        """The answer's text, for the call's log line when ``log_prompts`` is on."""
        self._admission: Admission | None = None
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Admitted:
        gateway = self.gateway
        catalog = gateway.client.core.catalog
        model = catalog.resolve(str(self.params["model"]))
        input_tokens = count_request(self.params)
        max_output = min(int(self.params["max_tokens"]), model.max_output)
        worst = catalog.cost(model.id, Usage(input_tokens=input_tokens, output_tokens=max_output))
        self._admission = await gateway.quotas.admit(
            self.key,
            input_tokens=input_tokens,
            max_output_tokens=max_output,
            max_cost_usd=worst,
        )
        self.headers = dict(self._admission.headers)
        try:
            await self._stack.enter_async_context(gateway.gate.slot())
            self.records = gateway.scoped.begin()
        except BaseException:
            await self._settle()
            raise
        return self

    async def stream(self) -> MessageStream:
        """Open the stream: its first content is ready (or its error raised) when this returns."""
        stream = self.gateway.client.stream(**self.params)
        await self._stack.enter_async_context(stream)
        return stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._stack.aclose()
        finally:
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
            "status": last.status if last else None,
            "error_type": last.error_type if last else None,
            "attempts": sum(r.attempts for r in records),
            "input_tokens": sum(r.usage.input_tokens for r in records),
            "output_tokens": sum(r.usage.output_tokens for r in records),
            "cost_usd": str(sum((r.cost_usd for r in records), Decimal(0))),
        }
        if self.gateway.settings.log_prompts:
            extra["prompt"] = last_user_text(self.params)
            extra["answer"] = self.answer
        _log.info("call finished", extra=extra)


def last_user_text(params: dict[str, Any]) -> str:
    """The text of the last user turn (what ``log_prompts`` logs as the prompt)."""
    for message in reversed(params.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))
    return ""
