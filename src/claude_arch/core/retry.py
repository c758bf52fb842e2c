"""Which failures are retried, how long to wait, and the deadline that bounds every attempt.

The policy is sans-IO: the async and the sync client run the same five-line loop around it.

    policy = RetryPolicy(max_retries=2)
    deadline = Deadline.within(30.0)            # e.g. a Lambda's remaining time
    attempt = 0
    while True:
        attempt += 1
        try:
            return send()
        except APIError as exc:
            delay = policy.next_delay(exc, attempt, deadline)
            if delay is None:
                raise
            sleep(delay)

Order of decisions: a spend-limit 429 and 400/401/403/404/413 are final; then ``x-should-retry``
decides when the server sent it; else 408, 409, 429, 5xx, 529, connection errors, timeouts and
interrupted streams are retried. The wait is ``retry-after-ms`` / ``retry-after`` when the server
gave one (waited out exactly), else ``min(0.5·2ⁿ, 8)·(1 − 0.25·rand)`` like the official SDK.
A retry whose wait would run past the deadline is not attempted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from claude_arch.errors import (
    APIConnectionError,
    APIStatusError,
    SpendLimitError,
    StreamInterruptedError,
)

__all__ = ["NEVER_RETRIED", "Cooldowns", "Deadline", "RetryPolicy", "falls_back"]

NEVER_RETRIED = frozenset({400, 401, 403, 404, 413})
_RETRIED = frozenset({408, 409, 429})
_FALLBACK_STATUSES = frozenset({429, 529})


class Deadline:
    """A moment on the monotonic clock by which a call must be over (``None``: no bound).

    >>> Deadline.within(None).remaining() is None
    True
    >>> 0 < Deadline.within(5).remaining() <= 5
    True
    """

    __slots__ = ("at",)

    def __init__(self, at: float | None) -> None:
        self.at = at

    @classmethod
    def within(cls, seconds: float | None) -> Deadline:
        return cls(None if seconds is None else time.monotonic() + seconds)

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def clip(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to what remains (never below a millisecond)."""
        left = self.remaining()
        if left is None:
            return timeout
        left = max(left, 0.001)
        return left if timeout is None else min(timeout, left)


@dataclass(slots=True)
class RetryPolicy:
    """Retry decisions and waits. ``max_retries`` counts retries (attempts = retries + 1)."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    rng: random.Random = field(default_factory=random.Random)

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether this failure may succeed when tried again (ignoring budget and deadline)."""
        if isinstance(exc, SpendLimitError):
            return False
        if isinstance(exc, APIStatusError):
            status = _effective_status(exc)
            if status in NEVER_RETRIED:
                return False
            if exc.should_retry is not None:
                return exc.should_retry
            return status in _RETRIED or status >= 500
        return isinstance(exc, APIConnectionError | StreamInterruptedError)

    def backoff(self, retry_index: int) -> float:
        """The jittered exponential wait before retry number ``retry_index`` (0 = first retry)."""
        base = min(self.initial_delay * 2.0 ** min(retry_index, 1000), self.max_delay)
        return base * (1 - self.jitter * self.rng.random())

    def delay_for(self, exc: BaseException, retry_index: int) -> float:
        """The server's ``retry-after`` when it gave a positive one, else :meth:`backoff`."""
        hint = getattr(exc, "retry_after", None)
        if isinstance(hint, float | int) and hint > 0:
            return float(hint)
        return self.backoff(retry_index)

    def next_delay(self, exc: BaseException, attempts: int, deadline: Deadline) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up and raise ``exc``.

        ``attempts`` is how many attempts were made so far (1 after the first failure)."""
        if attempts > self.max_retries or not self.is_retryable(exc):
            return None
        delay = self.delay_for(exc, attempts - 1)
        left = deadline.remaining()
        if left is not None and delay >= left:
            return None
        return delay


def falls_back(exc: BaseException) -> bool:
    """Whether exhausting retries on this error should move on to a fallback model: capacity and
    availability problems (429 but not a spend limit, 529, 5xx, timeouts, lost connections)."""
    if isinstance(exc, SpendLimitError):
        return False
    if isinstance(exc, APIStatusError):
        status = _effective_status(exc)
        return status in _FALLBACK_STATUSES or status >= 500
    return isinstance(exc, APIConnectionError | StreamInterruptedError)


def _effective_status(exc: APIStatusError) -> int:
    # A mid-stream error event arrives under HTTP 200: its class (from its error type) decides.
    return type(exc).status if exc.status == 200 else exc.status


class Cooldowns:
    """Models that just failed, skipped by fallback chains until their cooldown passes.

    >>> c = Cooldowns(seconds=30)
    >>> c.mark("claude-opus-5"); c.cooling("claude-opus-5"), c.cooling("claude-haiku-4-5")
    (True, False)
    """

    __slots__ = ("_clock", "_until", "seconds")

    def __init__(
        self, seconds: float = 30.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._until: dict[str, float] = {}

    def mark(self, model: str, seconds: float | None = None) -> None:
        self._until[model] = self._clock() + (self.seconds if seconds is None else seconds)

    def cooling(self, model: str) -> bool:
        until = self._until.get(model)
        if until is None:
            return False
        if self._clock() >= until:
            # pop, not del: the threads of a shared SyncClaudeClient may both get here
            self._until.pop(model, None)
            return False
        return True
