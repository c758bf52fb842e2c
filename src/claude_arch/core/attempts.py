"""The attempts of one call: retries on one model, then its fallbacks, within the deadline.

Both clients drive an :class:`AttemptPlan` the same way, so the loop below is the only retry loop
in claude-arch (its sync twin differs by ``time.sleep``):

    plan = core.attempts(call)
    while (model := plan.next()) is not None:
        try:
            return await once(call, model)
        except APIError as exc:
            await asyncio.sleep(plan.failed(exc))
    raise core.fail(call, plan.last_error())
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from claude_arch.core.retry import falls_back
from claude_arch.errors import (
    APIError,
    LimiterTimeoutError,
    RateLimitError,
    SpendLimitError,
    StoreUnavailableError,
)

if TYPE_CHECKING:
    from claude_arch.core.calls import Call
    from claude_arch.core.client_core import ClientCore
    from claude_arch.core.pricing.catalog import ModelInfo

__all__ = ["AttemptPlan", "log_retry"]

_log = logging.getLogger("claude_arch")


class AttemptPlan:
    """Which model the next attempt uses, and how long to wait before it."""

    __slots__ = ("_call", "_core", "_models", "_next", "_tries", "error")

    def __init__(self, core: ClientCore, call: Call) -> None:
        self._core = core
        self._call = call
        self._models = iter(list(core.chain(call)))
        self._next: ModelInfo | None = next(self._models)
        self._tries = 0
        self.error: APIError | None = None

    def next(self) -> ModelInfo | None:
        """The model of the next attempt (``None``: stop and raise :attr:`error`)."""
        model = self._next
        if model is not None:
            if model is not self._call.model:
                self._tries = 0
            self._call.model = model
            self._call.attempts += 1
            self._tries += 1
        return model

    def failed(self, exc: APIError) -> float:
        """Account for a failed attempt; the seconds to wait before :meth:`next`."""
        self.error = exc
        call = self._call
        # our own limiter said no (waiting again cannot help) or its store failed: in both
        # cases nothing was sent and the model itself is fine
        refused = isinstance(exc, LimiterTimeoutError)
        ours = refused or isinstance(exc, StoreUnavailableError)
        if isinstance(exc, RateLimitError) and not isinstance(exc, SpendLimitError):
            roomy = self._roomier_model()
            if roomy is not None:  # not the model's fault: no cooldown, no breaker failure
                self._next = roomy
                return 0.0
        if not refused:
            delay = self._core.retry.next_delay(exc, self._tries, call.deadline)
            if delay is not None:
                return delay
        self._next = None
        if falls_back(exc) and not call.deadline.expired:
            if not ours:
                self._core.cooldowns.mark(call.current.id)
                if call.route is not None and self._core.router is not None:
                    self._core.router.record_failure(call.current.id, exc)
            self._next = next(self._models, None)
        return 0.0

    def _roomier_model(self) -> ModelInfo | None:
        """After a 429: the first model left in the chain, of another family, that the limiter
        would admit now (taken out of the chain), or None (then the 429 is waited out)."""
        if not self._call.fallback:
            return None
        family = self._call.current.family
        rest = list(self._models)
        for i, model in enumerate(rest):
            if model.family != family and self._core.has_headroom(self._call, model):
                self._models = iter(rest[:i] + rest[i + 1 :])
                return model
        self._models = iter(rest)
        return None

    @property
    def done(self) -> bool:
        return self._next is None

    def last_error(self) -> APIError:
        """The error to raise once :meth:`next` returned ``None``."""
        if self.error is None:  # only reachable if next() was never called
            raise RuntimeError("no attempt was made")
        return self.error

    def pause_for(self, exc: APIError, delay: float) -> tuple[str, float] | None:
        """After a 429: the (family, seconds) the shared limiter should stop admitting."""
        if not isinstance(exc, RateLimitError) or isinstance(exc, SpendLimitError):
            return None
        if self._core.limiter is None:
            return None
        # The server's word first: even when this call gives up, others should hold back.
        hint = exc.retry_after if exc.retry_after and exc.retry_after > 0 else delay
        return (self._call.current.family, hint) if hint > 0 else None


def log_retry(call: Call, exc: APIError, delay: float, plan: AttemptPlan) -> None:
    """One debug line per failed attempt (errors never carry the API key)."""
    if _log.isEnabledFor(logging.DEBUG):
        what = "giving up" if plan.done else f"next attempt in {delay:.3f}s"
        _log.debug(
            "%s attempt %d on %s failed (%r); %s",
            call.operation,
            call.attempts,
            call.current.id,
            exc,
            what,
        )
