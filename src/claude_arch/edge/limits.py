"""A per-key requests-per-minute limit counted in Workers KV: approximate, cheap, no coordination.

    >>> import asyncio
    >>> from claude_arch.edge.platform import MemoryKeyValue
    >>> limiter = WindowLimiter(MemoryKeyValue(clock=lambda: 30.0), clock=lambda: 30.0)
    >>> async def three_requests() -> list[bool]:
    ...     admitted = []
    ...     for _ in range(3):
    ...         admission = await limiter.admit("key_1", 2)
    ...         if admission.record is not None:
    ...             await admission.record()    # or after the response: platform.defer
    ...         admitted.append(admission.allowed)
    ...     return admitted
    >>> asyncio.run(three_requests())
    [True, True, False]

Each key counts its requests in the current minute (a fixed window: ``rl:<key id>:<minute>``),
read, compared and written back. That is a read-modify-write without a lock, and KV is eventually
consistent across locations and takes one write per key per second, so concurrent requests (in
one location or several) can each see the same count: the limit holds on average and may be
exceeded by the requests in flight together, more so across locations. A Durable Object per key
counts exactly (one object serialises its requests) at the price of a round trip to the object's
location on every request; ``docs/edge.md`` weighs the two. Under ``claude-arch edge serve`` the KV
is one process's memory, so the count is exact there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from claude_arch.edge import protocol_data as protocol
from claude_arch.edge.platform import KeyValue

__all__ = ["KV_LIMIT_PREFIX", "Admission", "WindowLimiter"]

KV_LIMIT_PREFIX = "rl:"
WINDOW_S = 60
_KV_MIN_TTL_S = 60  # Workers KV refuses a shorter expirationTtl


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request may go on, with the ``anthropic-ratelimit-requests-*`` headers to send.

    ``record()`` makes the write that counts the request: await it now, or after the response.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    record: Callable[[], Coroutine[Any, Any, None]] | None = None

    def headers(self) -> dict[str, str]:
        """The limit headers the service sends for a key's own limit."""
        prefix = protocol.RATELIMIT_HEADER_PREFIX + "requests-"
        return {
            prefix + "limit": str(self.limit),
            prefix + "remaining": str(self.remaining),
            prefix + "reset": _rfc3339(self.reset_s),
        }


def _rfc3339(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


class WindowLimiter:
    """Count each key's requests per minute in ``kv``."""

    def __init__(self, kv: KeyValue, *, clock: Callable[[], float]) -> None:
        self._kv = kv
        self._clock = clock

    async def admit(self, key_id: str, rpm: int) -> Admission:
        """Admit one request of ``key_id`` under ``rpm``; a refusal counts nothing."""
        now = self._clock()
        window = int(now // WINDOW_S)
        reset = (window + 1) * WINDOW_S
        name = f"{KV_LIMIT_PREFIX}{key_id}:{window}"
        raw = await self._kv.get(name)
        try:
            used = max(0, int(raw)) if raw else 0
        except ValueError:
            used = 0
        if used >= rpm:
            return Admission(False, rpm, 0, reset)
        kv, count, ttl_s = self._kv, str(used + 1), max(_KV_MIN_TTL_S, 2 * WINDOW_S)

        def record() -> Coroutine[Any, Any, None]:
            return kv.put(name, count, ttl_s=ttl_s)

        # the admitted request itself is already spent: remaining excludes it
        return Admission(True, rpm, rpm - used - 1, reset, record)

    def retry_after_s(self, admission: Admission) -> int:
        """Seconds until ``admission``'s window ends (at least 1)."""
        return max(1, admission.reset_s - int(self._clock()))
