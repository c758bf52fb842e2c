"""The emulator's rate limits: per-key, per-family RPM/ITPM/OTPM buckets and their headers.

    >>> from claude_arch.emulator.config import EmulatorConfig
    >>> limits = EmulatorLimits(EmulatorConfig(limits={"haiku": {"rpm": 1, "itpm": 9000,
    ...                                                          "otpm": 900}}), clock=lambda: 0.0)
    >>> limits.admit("haiku", "key_1", input_tokens=10, output_tokens=100) is not None
    True
    >>> wait = limits.admit("haiku", "key_1", input_tokens=10, output_tokens=100)  # RPM spent
    >>> 0 < wait <= 60
    True
    >>> limits.headers("haiku", "key_1")["anthropic-ratelimit-requests-remaining"]
    '0'

Buckets come from ``claude_arch.core.ratelimit.LocalRateLimiter`` (the same code the client uses):
a tier preset of the catalog (default ``tier4``) with per-family overrides, or none at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from claude_arch.core.pricing.catalog import Catalog, Limits, default_catalog
from claude_arch.core.ratelimit import LocalRateLimiter, Reservation
from claude_arch.core.ratelimit.headers import bucket_headers
from claude_arch.emulator.config import EmulatorConfig

__all__ = ["EmulatorLimits"]

_UNLIMITED = Reservation("", "", 0, 0, 0, limited=False)


class EmulatorLimits:
    """Admission, settlement and headers; everything is a no-op when limits are disabled."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        catalog: Catalog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        catalog = catalog or default_catalog()
        tier = config.rate_limit_tier
        limits: dict[str, Limits] = {} if tier == "none" else catalog.limits(tier)
        for family, spec in config.limits.items():
            limits[family] = Limits(rpm=spec.rpm, itpm=spec.itpm, otpm=spec.otpm)
        self.enabled = bool(limits)
        self._limiter = LocalRateLimiter(limits, clock=clock)

    def admit(
        self, family: str, scope: str, *, input_tokens: int, output_tokens: int
    ) -> Reservation | float:
        """A reservation, or the seconds until this request would be admitted."""
        if not self.enabled:
            return _UNLIMITED
        return self._limiter.try_acquire(
            family, input_tokens=input_tokens, output_tokens=output_tokens, scope=scope
        )

    def settle(self, reservation: Reservation, *, input_tokens: int, output_tokens: int) -> None:
        if reservation.limited:
            self._limiter.settle(
                reservation, input_tokens=input_tokens, output_tokens=output_tokens
            )

    def headers(self, family: str, scope: str) -> dict[str, str]:
        """``anthropic-ratelimit-*`` headers for (scope, family); empty when unlimited."""
        if not self.enabled:
            return {}
        state = self._limiter.snapshot(family, scope=scope)
        if state is None:
            return {}
        return bucket_headers(state, time.time())

    @staticmethod
    def retry_after(wait_s: float) -> str:
        """Whole seconds, rounded up, as the API sends them (never 0)."""
        return str(max(1, math.ceil(wait_s)))
