"""The pure arithmetic of the limiter: token buckets with continuous refill, taken all or nothing.

A :class:`Bucket` holds up to ``capacity`` units and refills at ``capacity / 60`` per second, so a
per-minute limit of 600 refills 10 units a second. :class:`FamilyBuckets` groups the three buckets
of one model family (requests, input tokens, output tokens) and takes from all three or none.

    >>> from claude_arch.core.pricing.catalog import Limits
    >>> fb = FamilyBuckets.full(Limits(rpm=60, itpm=600, otpm=120), now=0.0)
    >>> fb.try_take(0.0, 1, 500, 100)     # admitted: nothing to wait for
    0.0
    >>> fb.try_take(0.0, 1, 200, 10)      # 100 input tokens short, refilled at 10/s
    10.0
    >>> fb.try_take(10.0, 1, 200, 10)
    0.0

The guarantee (``docs/rate-limits.md``): over any window of ``w`` seconds, the units admitted minus
the units refunded in that window never exceed ``capacity + capacity / 60 * w`` for each bucket.
Charges for usage above the reservation (settled after the fact) put the bucket in debt, which
delays later admissions but can never make that bound fail.

What the server says is left (``anthropic-ratelimit-*-remaining``) can only lower a bucket, never
raise it: :meth:`Bucket.lower_to` below, with the target :meth:`FamilyBuckets.observe` computes from
the buckets' flows a reservation noted when it was taken (``docs/rate-limits.md``, "What the
server says is left").

The Redis Lua script (``buckets.lua``) implements exactly this arithmetic on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from claude_arch.core.pricing.catalog import Limits

__all__ = ["SECONDS_PER_WINDOW", "Bucket", "FamilyBuckets"]

SECONDS_PER_WINDOW = 60.0
"""Limits are per minute; a bucket refills its whole capacity in this many seconds."""


class Bucket:
    """One token bucket. ``level`` may go below zero (debt) after an over-budget settle.

    ``flow`` (``level + offset``) counts what came in and went out through refill, takes and
    refunds only: what a cap spilled, a resize moved or an adjustment took away goes into
    ``offset``. Its change between two instants is what this process's own traffic and the
    passing time did to the bucket then, which the server's bucket saw too.
    """

    __slots__ = ("capacity", "level", "offset", "rate", "stamp")

    def __init__(self, capacity: float, *, now: float, level: float | None = None) -> None:
        self.capacity = float(capacity)
        self.rate = self.capacity / SECONDS_PER_WINDOW
        self.level = self.capacity if level is None else float(level)
        self.offset = 0.0
        self.stamp = now

    @property
    def flow(self) -> float:
        return self.level + self.offset

    def refill(self, now: float) -> None:
        """Bring ``level`` up to date; a clock that steps backwards adds nothing."""
        if now > self.stamp:
            level = self.level + (now - self.stamp) * self.rate
            if level > self.capacity:
                self.offset += level - self.capacity
                level = self.capacity
            self.level = level
            self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (0.0 if it is now). Call after :meth:`refill`."""
        short = amount - self.level
        if short <= 0:
            return 0.0
        return short / self.rate

    def give(self, amount: float) -> None:
        """Add (refund, ``amount`` > 0) or charge (``amount`` < 0); never above capacity."""
        level = self.level + amount
        if level > self.capacity:
            self.offset += level - self.capacity
            level = self.capacity
        self.level = level

    def resize(self, capacity: float) -> None:
        """Adopt a new capacity, keeping what is in use (so a raised limit is usable at once)."""
        in_use = self.capacity - self.level
        self.capacity = float(capacity)
        self.rate = self.capacity / SECONDS_PER_WINDOW
        level = min(self.capacity, self.capacity - in_use)
        self.offset += self.level - level
        self.level = level

    def lower_to(self, target: float) -> float:
        """Lower ``level`` to ``target`` (never below zero, never upwards); returns the drop.

        A bucket already at or below zero is left alone: a debt is only made by usage charged
        after the fact, and a server's word adds none.
        """
        if target >= self.level or self.level <= 0.0:
            return 0.0
        level = target if target > 0.0 else 0.0
        drop = self.level - level
        self.offset += drop
        self.level = level
        return drop

    def seconds_to_full(self) -> float:
        return max(0.0, (self.capacity - self.level) / self.rate)


@dataclass(slots=True)
class FamilyBuckets:
    """The requests, input-token and output-token buckets of one (scope, family)."""

    requests: Bucket
    input_tokens: Bucket
    output_tokens: Bucket

    @classmethod
    def full(cls, limits: Limits, *, now: float) -> FamilyBuckets:
        return cls(
            Bucket(limits.rpm, now=now),
            Bucket(limits.itpm, now=now),
            Bucket(limits.otpm, now=now),
        )

    @property
    def limits(self) -> Limits:
        return Limits(
            rpm=round(self.requests.capacity),
            itpm=round(self.input_tokens.capacity),
            otpm=round(self.output_tokens.capacity),
        )

    def refill(self, now: float) -> None:
        self.requests.refill(now)
        self.input_tokens.refill(now)
        self.output_tokens.refill(now)

    def try_take(self, now: float, requests: int, input_tokens: int, output_tokens: int) -> float:
        """Take from all three buckets and return 0.0, or take nothing and return the wait."""
        self.refill(now)
        wait = max(
            self.requests.wait_for(requests),
            self.input_tokens.wait_for(input_tokens),
            self.output_tokens.wait_for(output_tokens),
        )
        if wait > 0.0:
            return wait
        self.requests.level -= requests
        self.input_tokens.level -= input_tokens
        self.output_tokens.level -= output_tokens
        return 0.0

    def observe(
        self,
        now: float,
        remaining: tuple[int | None, int | None, int | None],
        marks: tuple[float, float, float] | None,
    ) -> float:
        """Lower each bucket to what the server said was left, aged to ``now``.

        ``remaining`` is what the server had left (per kind, None: not said) right after it
        admitted the request whose reservation noted ``marks`` (each bucket's ``flow`` right
        after it was taken). Since then this process's own
        traffic moved its bucket by ``flow - mark`` (refill in, later admissions out, refunds
        back in), and it moved the server's the same way; what others spent since is not
        known yet. So the server now holds at most ``remaining + flow - mark``, and a bucket
        above that comes down to it. ``marks`` None: the figures are as of ``now``.

        The rule is idempotent: a second, equal or older, observation finds the bucket already
        at or under its target (an adjustment goes into ``offset``, not ``flow``). Returns the
        largest drop.
        """
        self.refill(now)
        drop = 0.0
        for k, bucket in enumerate((self.requests, self.input_tokens, self.output_tokens)):
            left = remaining[k]
            if left is None:
                continue
            target = left + (bucket.flow - marks[k]) if marks is not None else float(left)
            drop = max(drop, bucket.lower_to(target))
        return drop

    def is_full(self, now: float) -> bool:
        """Whether all three buckets have refilled to capacity (nothing is owed or in use)."""
        self.refill(now)
        return all(
            b.level >= b.capacity for b in (self.requests, self.input_tokens, self.output_tokens)
        )

    def give(self, now: float, input_tokens: int, output_tokens: int) -> None:
        """Refund (positive) or charge (negative) tokens after the fact."""
        self.refill(now)
        self.input_tokens.give(input_tokens)
        self.output_tokens.give(output_tokens)

    def resize(self, limits: Limits, now: float) -> None:
        self.refill(now)
        self.requests.resize(limits.rpm)
        self.input_tokens.resize(limits.itpm)
        self.output_tokens.resize(limits.otpm)
