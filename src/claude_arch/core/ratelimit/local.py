"""The in-process limiter: one lock, one :class:`FamilyBuckets` per (scope, family).

    >>> from claude_arch.core.pricing.catalog import Limits
    >>> now = [0.0]
    >>> limits = {"haiku": Limits(rpm=2, itpm=1000, otpm=100)}
    >>> limiter = LocalRateLimiter(limits, clock=lambda: now[0])
    >>> res = limiter.try_acquire("haiku", input_tokens=400, output_tokens=100)
    >>> limiter.try_acquire("haiku", input_tokens=400, output_tokens=100)   # OTPM empty: wait
    60.0
    >>> limiter.settle(res, input_tokens=400, output_tokens=10)             # 90 unused: refunded
    >>> isinstance(limiter.try_acquire("haiku", input_tokens=400, output_tokens=90), Reservation)
    True

Thread-safe (the sync client runs in threads); the clock is injectable so tests drive time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit.base import (
    BaseRateLimiter,
    Clock,
    check_amounts,
    raise_if_oversized,
)
from claude_arch.core.ratelimit.buckets import Bucket, FamilyBuckets
from claude_arch.core.ratelimit.protocol import BucketState, KindState, Reservation

__all__ = ["PRUNE_AT", "LocalRateLimiter"]

PRUNE_AT = 10_000
"""Buckets kept before the full ones are forgotten."""


def _kind(bucket: Bucket) -> KindState:
    return KindState(
        limit=round(bucket.capacity),
        remaining=max(0, math.floor(bucket.level)),
        reset=bucket.seconds_to_full(),
    )


class LocalRateLimiter(BaseRateLimiter):
    """RPM + ITPM + OTPM buckets in this process. A family absent from ``limits`` is unlimited."""

    def __init__(
        self, limits: Mapping[str, Limits] | None = None, *, clock: Clock = time.monotonic
    ) -> None:
        super().__init__(limits, clock=clock)
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], FamilyBuckets] = {}
        self._paused: dict[tuple[str, str], float] = {}
        self._prune_at = PRUNE_AT

    def try_acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        requests: int = 1,
        scope: str = "",
    ) -> Reservation | float:
        key = (scope, family)
        limits = self.limits_for(family, scope=scope)
        with self._lock:
            now = self._clock()
            if self._paused:
                until = self._paused.get(key)
                if until is not None:
                    if until > now:
                        return until - now
                    del self._paused[key]
            if limits is None:
                check_amounts(requests, input_tokens, output_tokens)
                return Reservation(
                    family, scope, requests, input_tokens, output_tokens, limited=False
                )
            buckets = self._buckets.get(key)
            if buckets is None:
                if len(self._buckets) >= self._prune_at:
                    self._prune(now)
                buckets = self._buckets[key] = FamilyBuckets.full(limits, now=now)
            if requests < 0 or input_tokens < 0 or output_tokens < 0:
                check_amounts(requests, input_tokens, output_tokens)
            wait = buckets.try_take(now, requests, input_tokens, output_tokens)
            if wait == 0.0:
                return Reservation(
                    family,
                    scope,
                    requests,
                    input_tokens,
                    output_tokens,
                    mark=(
                        buckets,
                        buckets.requests.level + buckets.requests.offset,
                        buckets.input_tokens.level + buckets.input_tokens.offset,
                        buckets.output_tokens.level + buckets.output_tokens.offset,
                    ),
                )
            raise_if_oversized(family, buckets.limits, requests, input_tokens, output_tokens)
            return wait

    async def atry_acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        requests: int = 1,
        scope: str = "",
    ) -> Reservation | float:
        """Same as :meth:`try_acquire` (it never blocks on I/O)."""
        return self.try_acquire(
            family,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            requests=requests,
            scope=scope,
        )

    def settle(self, reservation: Reservation, *, input_tokens: int, output_tokens: int) -> None:
        """Refund ``reserved - used`` per kind (a negative difference is charged), then apply
        what the answer said is left (``learn``). Idempotent."""
        with self._lock:
            if reservation.settled:
                return
            reservation.settled = True
            if not reservation.limited:
                return
            buckets = self._buckets.get((reservation.scope, reservation.family))
            if buckets is not None:
                now = self._clock()
                buckets.give(
                    now,
                    reservation.input_tokens - input_tokens,
                    reservation.output_tokens - output_tokens,
                )
                observed, mark = reservation.observed, reservation.mark
                if observed is not None and mark is not None and mark[0] is buckets:
                    buckets.observe(now, observed, mark[1:])

    async def asettle(
        self, reservation: Reservation, *, input_tokens: int, output_tokens: int
    ) -> None:
        self.settle(reservation, input_tokens=input_tokens, output_tokens=output_tokens)

    def pause(self, family: str, seconds: float, *, scope: str = "") -> None:
        """Admit nothing for (scope, family) during ``seconds`` (the later end wins)."""
        if not seconds > 0:
            return
        key = (scope, family)
        with self._lock:
            until = self._clock() + seconds
            if until > self._paused.get(key, -math.inf):
                self._paused[key] = until

    async def apause(self, family: str, seconds: float, *, scope: str = "") -> None:
        self.pause(family, seconds, scope=scope)

    def snapshot(self, family: str, *, scope: str = "") -> BucketState | None:
        limits = self.limits_for(family, scope=scope)
        if limits is None:
            return None
        key = (scope, family)
        with self._lock:
            now = self._clock()
            buckets = self._buckets.get(key)
            if buckets is None:
                buckets = FamilyBuckets.full(limits, now=now)
            buckets.refill(now)
            paused_for = max(0.0, self._paused.get(key, now) - now)
            return BucketState(
                requests=_kind(buckets.requests),
                input_tokens=_kind(buckets.input_tokens),
                output_tokens=_kind(buckets.output_tokens),
                paused_for=paused_for,
            )

    async def asnapshot(self, family: str, *, scope: str = "") -> BucketState | None:
        return self.snapshot(family, scope=scope)

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled completely (an absent bucket is a full one, as in
        Redis), so one bucket per caller ever seen (the emulator scopes by API key) cannot grow
        without bound. Amortised: the next prune waits until the table has doubled."""
        for key in [k for k, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[key]
        for key in [k for k, until in self._paused.items() if until <= now]:
            del self._paused[key]
        self._prune_at = max(PRUNE_AT, 2 * len(self._buckets))

    def _observe_now(
        self,
        family: str,
        scope: str,
        remaining: tuple[int | None, int | None, int | None],
        mark: tuple[Any, ...] | None,
    ) -> None:
        """Lower the buckets to ``remaining``, aged from ``mark`` when it is of these very
        buckets (else as of now)."""
        limits = self.limits_for(family, scope=scope)
        if limits is None:
            return
        key = (scope, family)
        with self._lock:
            now = self._clock()
            buckets = self._buckets.get(key)
            if buckets is None:
                if len(self._buckets) >= self._prune_at:
                    self._prune(now)
                buckets = self._buckets[key] = FamilyBuckets.full(limits, now=now)
            marks = mark[1:] if mark is not None and mark[0] is buckets else None
            buckets.observe(now, remaining, marks)

    def _limits_changed(self, family: str, scope: str) -> None:
        with self._lock:
            now = self._clock()
            for (b_scope, b_family), buckets in self._buckets.items():
                if b_family != family or (scope and b_scope != scope):
                    continue
                limits = self.limits_for(family, scope=b_scope)
                if limits is not None:
                    buckets.resize(limits, now)
