"""Send a request through the router: decide, then walk the chain past failing models.

    async with ClaudeClient(max_retries=0) as claude:
        routed = await create_routed(claude, router, max_tokens=512, messages=[...])
        routed.message.text, routed.decision.model, routed.decision.fallback_from

This is the loop ``model: "auto"`` runs in the client and the service: the client's own retries
apply per model, then the next model of the chain is tried on 529/5xx/timeouts/lost connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claude_arch.core.client import ClaudeClient
from claude_arch.core.routing.decision import Decision
from claude_arch.core.routing.router import Router, is_fallback_error
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.core.types import Message

__all__ = ["RoutedMessage", "create_routed", "create_routed_sync"]


@dataclass(frozen=True, slots=True)
class RoutedMessage:
    """The answer and the decision that produced it (``decision.model`` answered)."""

    message: Message
    decision: Decision


async def create_routed(client: ClaudeClient, router: Router, **params: Any) -> RoutedMessage:
    """``client.create`` on the routed model, falling back along the chain."""
    params.pop("model", None)
    decision = await router.adecide(params)
    last: BaseException | None = None
    for model in router.chain(decision, params):
        if not router.breaker.allow(model):
            continue
        try:
            message = await client.create(model=model, **params)
        except Exception as exc:
            router.record_failure(model, exc)
            if not is_fallback_error(exc):
                raise
            last = exc
            continue
        router.record_success(model)
        return RoutedMessage(message, decision.with_model(model))
    raise last or _all_open(decision)


def create_routed_sync(client: SyncClaudeClient, router: Router, **params: Any) -> RoutedMessage:
    """The same as :func:`create_routed` for the sync client."""
    params.pop("model", None)
    decision = router.decide(params)
    last: BaseException | None = None
    for model in router.chain(decision, params):
        if not router.breaker.allow(model):
            continue
        try:
            message = client.create(model=model, **params)
        except Exception as exc:
            router.record_failure(model, exc)
            if not is_fallback_error(exc):
                raise
            last = exc
            continue
        router.record_success(model)
        return RoutedMessage(message, decision.with_model(model))
    raise last or _all_open(decision)


def _all_open(decision: Decision) -> Exception:
    from claude_arch.errors import OverloadedError

    return OverloadedError(
        f"every model for tier {decision.tier!r} has an open circuit breaker",
        model=decision.model,
    )
