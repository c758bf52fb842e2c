"""What both limiter backends share: the limits in force, learning them, and waiting for admission.

A backend supplies ``try_acquire`` / ``atry_acquire`` (one non-blocking, all-or-nothing attempt);
:class:`BaseRateLimiter` turns them into ``aacquire`` (asyncio) and ``acquire`` (threads),
which sleep exactly the wait the buckets computed and give up early when a deadline cannot be met.

``learn`` reads a response's ``anthropic-ratelimit-*`` headers: the ``-limit`` values become the
limits (marked as the API's, which the Redis backend shares with processes still on a preset),
and the ``-remaining`` values are kept on the answered reservation, to lower the buckets when it
is settled (:meth:`~claude_arch.core.ratelimit.buckets.FamilyBuckets.observe` has the rule).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from claude_arch.constants import RATELIMIT_HEADER_PREFIX
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit.protocol import Reservation
from claude_arch.errors import ConfigError, InvalidRequestError, LimiterTimeoutError

__all__ = ["BaseRateLimiter", "limits_from_headers", "read_headers"]

Clock = Callable[[], float]

Triple = tuple[int | None, int | None, int | None]
"""Requests, input tokens, output tokens; None where a response says nothing."""

_KINDS = ("requests", "input-tokens", "output-tokens")
_LIMIT_HEADERS = tuple(f"{RATELIMIT_HEADER_PREFIX}{kind}-limit" for kind in _KINDS)
_REMAINING_HEADERS = tuple(f"{RATELIMIT_HEADER_PREFIX}{kind}-remaining" for kind in _KINDS)
_NOTHING: Triple = (None, None, None)
_PREFIX_LEN = len(RATELIMIT_HEADER_PREFIX)


def _whole(raw: str | None) -> int | None:
    """A header's whole number ("12", " 12.0 "), else None."""
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        try:
            return int(float(raw.strip()))
        except (ValueError, OverflowError):  # OverflowError: "inf" or "1e400" from a proxy
            return None


def _positive_int(raw: str | None) -> int | None:
    """A ``limit`` value: a whole number > 0, else None."""
    value = _whole(raw)
    return value if value is not None and value > 0 else None


def _count(raw: str | None) -> int | None:
    """A ``remaining`` value: a whole number >= 0 (zero is news), else None."""
    value = _whole(raw)
    return value if value is not None and value >= 0 else None


def read_headers(headers: Mapping[str, str]) -> tuple[Triple, Triple] | None:
    """The ``-limit`` and ``-remaining`` values of the requests, input-tokens and output-tokens
    kinds, or None when a response carries none of them (the common case off the API: one
    lookup). Names are matched without regard to case.

        >>> read_headers({"anthropic-ratelimit-requests-limit": "50",
        ...               "Anthropic-RateLimit-Requests-Remaining": "7"})
        ((50, None, None), (7, None, None))
    """
    get = headers.get
    limits = (get(_LIMIT_HEADERS[0]), get(_LIMIT_HEADERS[1]), get(_LIMIT_HEADERS[2]))
    remaining = (get(_REMAINING_HEADERS[0]), get(_REMAINING_HEADERS[1]), get(_REMAINING_HEADERS[2]))
    if None in limits or None in remaining:  # absent, or spelt in another case in a plain dict
        lowered = {
            k.lower(): v
            for k, v in headers.items()
            if k[:_PREFIX_LEN].lower() == RATELIMIT_HEADER_PREFIX
        }
        if not lowered:
            return None
        get = lowered.get
        limits = (get(_LIMIT_HEADERS[0]), get(_LIMIT_HEADERS[1]), get(_LIMIT_HEADERS[2]))
        remaining = (
            get(_REMAINING_HEADERS[0]),
            get(_REMAINING_HEADERS[1]),
            get(_REMAINING_HEADERS[2]),
        )
    found = (
        (_positive_int(limits[0]), _positive_int(limits[1]), _positive_int(limits[2])),
        (_count(remaining[0]), _count(remaining[1]), _count(remaining[2])),
    )
    if found[0] == _NOTHING and found[1] == _NOTHING:
        return None
    return found


def _merged(found: Triple, current: Limits | None) -> Limits | None:
    if found == _NOTHING:
        return None
    rpm, itpm, otpm = found
    if current is None:
        if rpm is None or itpm is None or otpm is None:
            return None
        return Limits(rpm=rpm, itpm=itpm, otpm=otpm)
    return Limits(rpm=rpm or current.rpm, itpm=itpm or current.itpm, otpm=otpm or current.otpm)


def limits_from_headers(headers: Mapping[str, str], current: Limits | None) -> Limits | None:
    """The limits announced by ``anthropic-ratelimit-*-limit`` headers, merged over ``current``.

    Returns None when the headers say nothing usable (or only part of it, for a family with no
    limits yet).

        >>> limits_from_headers({"anthropic-ratelimit-requests-limit": "50"}, Limits(5, 10, 10))
        Limits(rpm=50, itpm=10, otpm=10)
    """
    read = read_headers(headers)
    return None if read is None else _merged(read[0], current)


def observed_remaining(limits: Limits, said: tuple[Triple, Triple]) -> Triple | None:
    """What a response says is left in each of ``limits``' buckets, or None when nothing.

    A kind counts only when its ``-limit`` header is there and equals the bucket's capacity
    (its ``remaining`` is about that very bucket, not a gateway key's or a stale limit's).

        >>> observed_remaining(Limits(50, 4000, 800), ((50, 4000, 900), (7, 3000, 100)))
        (7, 3000, None)
    """
    caps, remaining = said
    found = (
        remaining[0] if caps[0] == limits.rpm else None,
        remaining[1] if caps[1] == limits.itpm else None,
        remaining[2] if caps[2] == limits.otpm else None,
    )
    return None if found == _NOTHING else found


def check_limits(family: str, limits: Limits) -> Limits:
    if min(limits.rpm, limits.itpm, limits.otpm) <= 0:
        raise ConfigError(f"rate limits of family {family!r} must be positive, got {limits}")
    return limits


def check_amounts(requests: int, input_tokens: int, output_tokens: int) -> None:
    if requests < 0 or input_tokens < 0 or output_tokens < 0:
        raise InvalidRequestError(
            f"a reservation cannot be negative (requests={requests}, "
            f"input_tokens={input_tokens}, output_tokens={output_tokens})"
        )


def raise_if_oversized(
    family: str, limits: Limits, requests: int, input_tokens: int, output_tokens: int
) -> None:
    """A request larger than a bucket can never be admitted: say which limit it breaks."""
    if input_tokens > limits.itpm:
        raise InvalidRequestError(
            f"messages: {input_tokens} input tokens exceed the input-tokens-per-minute limit "
            f"({limits.itpm}) of family {family!r}; this request can never be admitted",
            field="messages",
        )
    if output_tokens > limits.otpm:
        raise InvalidRequestError(
            f"max_tokens: {output_tokens} exceeds the output-tokens-per-minute limit "
            f"({limits.otpm}) of family {family!r}; this request can never be admitted",
            field="max_tokens",
        )
    if requests > limits.rpm:
        raise InvalidRequestError(
            f"{requests} requests exceed the requests-per-minute limit ({limits.rpm}) "
            f"of family {family!r}"
        )


class BaseRateLimiter:
    """Limits by family (and learned per-scope overrides), learning, and the waiting loops."""

    def __init__(self, limits: Mapping[str, Limits] | None = None, *, clock: Clock) -> None:
        self._clock = clock
        self._family_limits: dict[str, Limits] = {
            family: check_limits(family, lim) for family, lim in (limits or {}).items()
        }
        self._scoped_limits: dict[tuple[str, str], Limits] = {}
        self._learned: set[tuple[str, str]] = set()
        """(scope, family) whose limits came from response headers, not from configuration."""

    def limits_for(self, family: str, *, scope: str = "") -> Limits | None:
        """The limits in force for (scope, family), or None when unlimited."""
        if self._scoped_limits:
            scoped = self._scoped_limits.get((scope, family))
            if scoped is not None:
                return scoped
        return self._family_limits.get(family)

    def limits_learned(self, family: str, *, scope: str = "") -> bool:
        """Whether the limits in force for (scope, family) are the server's (learned from
        response headers) rather than configured (a tier preset, ``set_limits``)."""
        if self._scoped_limits and (scope, family) in self._scoped_limits:
            return (scope, family) in self._learned
        return ("", family) in self._learned

    def set_limits(self, family: str, limits: Limits, *, scope: str = "") -> None:
        """Replace the limits of a family (``scope=""``: for every scope without its own)."""
        self._adopt(family, limits, scope, learned=False)

    def _adopt(self, family: str, limits: Limits, scope: str, *, learned: bool) -> None:
        check_limits(family, limits)
        if learned:
            self._learned.add((scope, family))
        else:
            self._learned.discard((scope, family))
        if scope:
            self._scoped_limits[(scope, family)] = limits
        else:
            self._family_limits[family] = limits
        self._limits_changed(family, scope)

    def learn(
        self,
        family: str,
        headers: Mapping[str, str],
        *,
        scope: str = "",
        reservation: Reservation | None = None,
    ) -> None:
        """Adopt what a response's ``anthropic-ratelimit-*`` headers say (cheap when nothing
        changed): the ``-limit`` values become the limits; a ``-remaining`` below this
        limiter's own view lowers its bucket (never raises it), aged from ``reservation``, the
        one the answered request was admitted with (``docs/rate-limits.md``, "What the server
        says is left")."""
        said = read_headers(headers)
        if said is None:
            return
        if reservation is not None:
            family, scope = reservation.family, reservation.scope
        current = self.limits_for(family, scope=scope)
        caps = said[0]
        if current is None or caps != (current.rpm, current.itpm, current.otpm):
            learned = _merged(caps, current)
            if learned is not None and learned != current:
                self._adopt(family, learned, scope, learned=True)
                current = learned
        elif not self.limits_learned(family, scope=scope):
            self._adopt(family, current, scope, learned=True)  # the API's, as configured
        if current is None or said[1] == _NOTHING:
            return
        remaining = observed_remaining(current, said)
        if remaining is not None:
            self._observe(family, scope, remaining, reservation)

    def _observe(
        self, family: str, scope: str, remaining: Triple, reservation: Reservation | None
    ) -> None:
        """Keep what the server said on the reservation: both backends apply it when that
        reservation is settled (Redis in the same round trip; in-process under the same lock),
        after its own refund. A reservation settled already is aged from all the same; without
        one, the figures count as of now."""
        mark = reservation.mark if reservation is not None else None
        if reservation is not None and mark is not None and not reservation.settled:
            reservation.observed = remaining
        else:
            self._observe_now(family, scope, remaining, mark)

    def _observe_now(
        self, family: str, scope: str, remaining: Triple, mark: tuple[Any, ...] | None
    ) -> None:
        """Hook: lower (scope, family)'s buckets to ``remaining``, aged from ``mark`` (None: as
        of now). A backend that would need I/O for it does nothing (``learn`` runs on the event
        loop)."""

    def _limits_changed(self, family: str, scope: str) -> None:
        """Hook for backends that keep per-bucket state sized by the limits."""

    def close(self) -> None:
        """Release connections; nothing to do for a backend without any."""

    async def aclose(self) -> None:
        self.close()

    # --- waiting -------------------------------------------------------------------------------
    def try_acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        requests: int = 1,
        scope: str = "",
    ) -> Reservation | float:
        raise NotImplementedError

    async def atry_acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        requests: int = 1,
        scope: str = "",
    ) -> Reservation | float:
        raise NotImplementedError

    def _check_deadline(self, family: str, wait: float, deadline: float | None) -> None:
        if deadline is not None and self._clock() + wait > deadline:
            raise LimiterTimeoutError(
                f"rate limit of family {family!r} admits this request in {wait:.3f}s, "
                "after the caller's deadline"
            )

    async def aacquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        scope: str = "",
        deadline: float | None = None,
    ) -> Reservation:
        """Wait (``asyncio.sleep`` on the computed wait) until admitted.

        ``deadline`` is a ``time.monotonic()`` instant (the limiter's clock); when the wait would
        end after it, ``LimiterTimeoutError`` is raised at once instead of sleeping in vain.
        """
        import asyncio  # here, not at the top: the blocking clients never load it

        while True:
            got = await self.atry_acquire(
                family, input_tokens=input_tokens, output_tokens=output_tokens, scope=scope
            )
            if isinstance(got, Reservation):
                return got
            self._check_deadline(family, got, deadline)
            await asyncio.sleep(got)

    def acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        scope: str = "",
        deadline: float | None = None,
    ) -> Reservation:
        """Blocking twin of :meth:`aacquire` (``time.sleep``), for threads and sync workers."""
        while True:
            got = self.try_acquire(
                family, input_tokens=input_tokens, output_tokens=output_tokens, scope=scope
            )
            if isinstance(got, Reservation):
                return got
            self._check_deadline(family, got, deadline)
            time.sleep(got)
