"""What both limiter backends share: the limits in force, learning them, and waiting for admission.

A backend supplies ``try_acquire`` / ``atry_acquire`` (one non-blocking, all-or-nothing attempt);
:class:`BaseRateLimiter` turns them into ``aacquire`` (asyncio) and ``acquire`` (threads),
which sleep exactly the wait the buckets computed and give up early when a deadline cannot be met.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from claude_arch.constants import RATELIMIT_HEADER_PREFIX
from claude_arch.core.catalog import Limits
from claude_arch.core.ratelimit.protocol import Reservation
from claude_arch.errors import ConfigError, InvalidRequestError, LimiterTimeoutError

__all__ = ["BaseRateLimiter", "limits_from_headers"]

Clock = Callable[[], float]

_LIMIT_HEADERS = {
    "rpm": RATELIMIT_HEADER_PREFIX + "requests-limit",
    "itpm": RATELIMIT_HEADER_PREFIX + "input-tokens-limit",
    "otpm": RATELIMIT_HEADER_PREFIX + "output-tokens-limit",
}


def _positive_int(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(float(raw.strip()))
    except (ValueError, OverflowError):  # OverflowError: "inf" or "1e400" from a proxy
        return None
    return value if value > 0 else None


def limits_from_headers(headers: Mapping[str, str], current: Limits | None) -> Limits | None:
    """The limits announced by ``anthropic-ratelimit-*-limit`` headers, merged over ``current``.

    Returns None when the headers say nothing usable (or only part of it, for a family with no
    limits yet).

        >>> limits_from_headers({"anthropic-ratelimit-requests-limit": "50"}, Limits(5, 10, 10))
        Limits(rpm=50, itpm=10, otpm=10)
    """
    found: dict[str, int | None] = {}
    for name, header in _LIMIT_HEADERS.items():
        raw = headers.get(header)
        if raw is None:
            raw = next((v for k, v in headers.items() if k.lower() == header), None)
        found[name] = _positive_int(raw)
    if all(v is None for v in found.values()):
        return None
    if current is None:
        if any(v is None for v in found.values()):
            return None
        return Limits(**{k: v for k, v in found.items() if v is not None})
    return Limits(
        rpm=found["rpm"] or current.rpm,
        itpm=found["itpm"] or current.itpm,
        otpm=found["otpm"] or current.otpm,
    )


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

    def limits_for(self, family: str, *, scope: str = "") -> Limits | None:
        """The limits in force for (scope, family), or None when unlimited."""
        if self._scoped_limits:
            scoped = self._scoped_limits.get((scope, family))
            if scoped is not None:
                return scoped
        return self._family_limits.get(family)

    def set_limits(self, family: str, limits: Limits, *, scope: str = "") -> None:
        """Replace the limits of a family (``scope=""``: for every scope without its own)."""
        check_limits(family, limits)
        if scope:
            self._scoped_limits[(scope, family)] = limits
        else:
            self._family_limits[family] = limits
        self._limits_changed(family, scope)

    def learn(self, family: str, headers: Mapping[str, str], *, scope: str = "") -> None:
        """Adopt limits from ``anthropic-ratelimit-*-limit`` headers (cheap when unchanged)."""
        current = self.limits_for(family, scope=scope)
        learned = limits_from_headers(headers, current)
        if learned is not None and learned != current:
            self.set_limits(family, learned, scope=scope)

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
