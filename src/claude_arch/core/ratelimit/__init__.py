"""Client- and server-side rate limits: RPM + ITPM + OTPM token buckets per model family.

Two backends behind one :class:`RateLimiter` interface: :class:`LocalRateLimiter` (in-process) and
:class:`RedisRateLimiter` (one Lua script shared by every process and machine on the same Redis).

    >>> from claude_arch.settings import Settings
    >>> from claude_arch.core.pricing.catalog import default_catalog
    >>> limiter = limiter_from_settings(Settings(_env_file=None), default_catalog())
    >>> type(limiter).__name__
    'LocalRateLimiter'

``docs/rate-limits.md`` explains the buckets, the guarantee they give and how to share them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_arch.core.pricing.catalog import Catalog, Limits
from claude_arch.core.ratelimit.base import BaseRateLimiter, limits_from_headers
from claude_arch.core.ratelimit.local import LocalRateLimiter
from claude_arch.core.ratelimit.protocol import (
    BucketState,
    KindState,
    RateLimiter,
    Reservation,
    itpm_tokens,
)

if TYPE_CHECKING:
    from claude_arch.core.client_settings import ClientSettings
    from claude_arch.core.ratelimit.redis import RedisRateLimiter
    from claude_arch.settings import Settings

__all__ = [
    "BaseRateLimiter",
    "BucketState",
    "KindState",
    "Limits",
    "LocalRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "Reservation",
    "itpm_tokens",
    "limiter_from_settings",
    "limits_from_headers",
]


def __getattr__(name: str) -> object:
    # The Redis backend is imported on first use, so ``import claude_arch`` never imports redis.
    if name == "RedisRateLimiter":
        from claude_arch.core.ratelimit.redis import RedisRateLimiter

        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def limiter_from_settings(
    settings: Settings | ClientSettings, catalog: Catalog
) -> RateLimiter | None:
    """The limiter the settings ask for: Redis when ``redis_url`` is set, in-process otherwise,
    None when ``rate_limit_tier`` is ``"none"``. Limits come from the catalog's tier preset."""
    if settings.rate_limit_tier == "none":
        return None
    limits = catalog.limits(settings.rate_limit_tier)
    if settings.redis_url:
        from claude_arch.core.ratelimit.redis import RedisRateLimiter

        return RedisRateLimiter.from_url(settings.redis_url, limits)
    return LocalRateLimiter(limits)
