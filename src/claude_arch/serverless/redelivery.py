"""When a throttled event comes back: the delay an event source is asked to wait before redelivery.

A function that meets a 429 or a 529 does not sleep out the ``retry-after`` while billed: it hands
the event back to its source (an SQS record's visibility, a Cloud Tasks ``Retry-After``) with
this delay, and returns at once.

    >>> from claude_arch.errors import OverloadedError, RateLimitError
    >>> redelivery_delay_s(RateLimitError("slow down", retry_after=20.0), jitter=0)
    20
    >>> redelivery_delay_s(OverloadedError("overloaded"), jitter=0)  # no retry-after sent
    10
    >>> redelivery_delay_s(RateLimitError("slow down", retry_after=4000.0), jitter=0)
    900
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from claude_arch.errors import APIStatusError, SpendLimitError

__all__ = ["DEFAULT_DELAY_S", "MAX_DELAY_S", "redelivery_delay_s"]

DEFAULT_DELAY_S = {429: 30.0, 529: 10.0}
"""The delay when the API sent no ``retry-after`` (a 529 usually does not)."""
MAX_DELAY_S = 900
"""The longest delay asked for (15 minutes; SQS allows 12 hours, Cloud Tasks' backoff is the
queue's). A spent budget (``SpendLimitError``) waits this long: it does not refill in seconds."""


def redelivery_delay_s(
    exc: APIStatusError,
    *,
    jitter: float = 0.2,
    cap_s: int = MAX_DELAY_S,
    rand: Callable[[], float] = random.random,
) -> int:
    """Whole seconds before ``exc``'s event should be delivered again: the ``retry-after`` (or a
    default for its status) plus up to ``jitter`` of it at random, so records handed back
    together do not all return in the same second; at least 1, at most ``cap_s``."""
    if isinstance(exc, SpendLimitError):
        return cap_s
    base = exc.retry_after
    if base is None or not math.isfinite(base) or base < 0:
        base = DEFAULT_DELAY_S.get(exc.status, 10.0)
    delay = base * (1 + jitter * rand())
    return max(1, min(cap_s, math.ceil(delay)))
