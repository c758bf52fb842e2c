"""The contract both limiter backends keep, and the values they hand out.

    limiter: RateLimiter = LocalRateLimiter({"haiku": Limits(rpm=50, itpm=50_000, otpm=10_000)})
    res = await limiter.aacquire("haiku", input_tokens=estimate, output_tokens=max_tokens)
    try:
        message = await send(...)
    finally:
        await limiter.asettle(res, **settled_amounts(usage))

A bucket is identified by ``(scope, family)``: ``scope=""`` is the client's own organisation-wide
limit; the emulator uses one scope per API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.types import Usage

__all__ = [
    "BucketState",
    "KindState",
    "RateLimiter",
    "Reservation",
    "itpm_tokens",
    "settled_amounts",
]


def itpm_tokens(usage: Usage) -> int:
    """The input tokens that count against ITPM: input plus cache writes; cache reads are free."""
    return usage.input_tokens + usage.cache_creation_input_tokens


def settled_amounts(usage: Usage | None) -> dict[str, int]:
    """``settle`` keywords for what a call used (``None``: it used nothing, e.g. it failed)."""
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    return {"input_tokens": itpm_tokens(usage), "output_tokens": usage.output_tokens}


@dataclass(slots=True)
class Reservation:
    """What one admission took from the buckets; hand it back to ``settle`` when the call ends.

    ``limited`` is False for a family without limits (nothing was taken, settling is a no-op).
    ``mark`` is where the buckets stood right after this admission (which buckets, and each
    one's flow), so that what the answer's headers say is left can be aged to the moment it is
    read (``learn(..., reservation=)``); ``observed`` holds that, for a backend that applies it
    when the reservation is settled (Redis: the same round trip).
    """

    family: str
    scope: str
    requests: int
    input_tokens: int
    output_tokens: int
    limited: bool = True
    settled: bool = False
    mark: tuple[Any, float, float, float] | None = None
    observed: tuple[int | None, int | None, int | None] | None = None


@dataclass(frozen=True, slots=True)
class KindState:
    """One bucket as response headers describe it."""

    limit: int
    remaining: int
    reset: float
    """Seconds until the bucket is full again."""


@dataclass(frozen=True, slots=True)
class BucketState:
    """The three buckets of a (scope, family), plus how long a 429 pause still lasts."""

    requests: KindState
    input_tokens: KindState
    output_tokens: KindState
    paused_for: float = 0.0


@runtime_checkable
class RateLimiter(Protocol):
    """RPM + ITPM + OTPM token buckets per model family, acquired all or nothing."""

    def try_acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        requests: int = 1,
        scope: str = "",
    ) -> Reservation | float:
        """A :class:`Reservation` if admitted now, else the seconds until it could be (> 0)."""
        ...

    async def atry_acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        requests: int = 1,
        scope: str = "",
    ) -> Reservation | float:
        """Async twin of :meth:`try_acquire`."""
        ...

    async def aacquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        scope: str = "",
        deadline: float | None = None,
    ) -> Reservation:
        """Wait until admitted; ``LimiterTimeoutError`` if not possible before ``deadline``."""
        ...

    def acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        scope: str = "",
        deadline: float | None = None,
    ) -> Reservation:
        """Blocking twin of :meth:`aacquire` for threads (Lambda, Celery)."""
        ...

    def settle(self, reservation: Reservation, *, input_tokens: int, output_tokens: int) -> None:
        """Refund the unused part of a reservation, or charge usage beyond it. Idempotent."""
        ...

    async def asettle(
        self, reservation: Reservation, *, input_tokens: int, output_tokens: int
    ) -> None:
        """Async twin of :meth:`settle`."""
        ...

    def pause(self, family: str, seconds: float, *, scope: str = "") -> None:
        """After a 429: admit nothing from this bucket for ``seconds``."""
        ...

    async def apause(self, family: str, seconds: float, *, scope: str = "") -> None:
        """Async twin of :meth:`pause`."""
        ...

    def learn(
        self,
        family: str,
        headers: Mapping[str, str],
        *,
        scope: str = "",
        reservation: Reservation | None = None,
    ) -> None:
        """Adopt limits from ``anthropic-ratelimit-*-limit`` response headers, and lower the
        buckets to what ``-remaining`` says is left (aged from ``reservation``, the answered
        request's admission)."""
        ...

    def snapshot(self, family: str, *, scope: str = "") -> BucketState | None:
        """The buckets as response headers describe them; None when the family is unlimited."""
        ...

    async def asnapshot(self, family: str, *, scope: str = "") -> BucketState | None:
        """Async twin of :meth:`snapshot`."""
        ...

    def close(self) -> None:
        """Release connections (a no-op in-process)."""
        ...

    async def aclose(self) -> None:
        """Release connections, async ones included."""
        ...

    def limits_for(self, family: str, *, scope: str = "") -> Limits | None:
        """The limits in force for (scope, family), or None when unlimited."""
        ...
