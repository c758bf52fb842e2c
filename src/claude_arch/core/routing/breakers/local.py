"""A circuit breaker per model: open after ``failures`` failures within ``window_s``, let one probe
through after ``cooldown_s`` (half-open), close on its success and reopen on its failure.

    >>> from claude_arch.testing import ManualClock
    >>> clock = ManualClock()
    >>> b = LocalBreaker(failures=2, window_s=10, cooldown_s=30, clock=clock)
    >>> b.record_failure("m"); b.record_failure("m"); b.state("m")
    'open'
    >>> b.allow("m")
    False
    >>> clock.advance(30); b.allow("m"), b.allow("m")    # one probe at a time
    (True, False)
    >>> b.record_success("m"); b.state("m")
    'closed'
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = ["BreakerState", "CircuitBreaker", "LocalBreaker"]

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker(Protocol):
    """What the router asks before sending to a model, and tells after."""

    def allow(self, model: str) -> bool:
        """Whether a request may go to ``model`` now (a half-open model admits one probe)."""
        ...

    def record_success(self, model: str) -> None: ...

    def record_failure(self, model: str) -> None: ...

    def state(self, model: str) -> BreakerState: ...


@dataclass(slots=True)
class _Model:
    failures: deque[float] = field(default_factory=deque)
    opened_at: float | None = None
    probing: bool = False


class LocalBreaker:
    """An in-process breaker; thread-safe; ``clock`` is injectable (monotonic seconds)."""

    def __init__(
        self,
        *,
        failures: int = 5,
        window_s: float = 30.0,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or window_s <= 0 or cooldown_s < 0:
            raise ValueError("failures >= 1, window_s > 0 and cooldown_s >= 0 are required")
        self.failures = failures
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()

    def _get(self, model: str) -> _Model:
        return self._models.setdefault(model, _Model())

    def state(self, model: str) -> BreakerState:
        m = self._models.get(model)  # asked for every model of every decision: no lock, no entry
        opened_at = None if m is None else m.opened_at  # for a model that never failed
        if opened_at is None:
            return "closed"
        return "half_open" if self.clock() - opened_at >= self.cooldown_s else "open"

    def allow(self, model: str) -> bool:
        with self._lock:
            m = self._get(model)
            if m.opened_at is None:
                return True
            if self.clock() - m.opened_at < self.cooldown_s or m.probing:
                return False
            m.probing = True
            return True

    def record_success(self, model: str) -> None:
        with self._lock:
            m = self._get(model)
            m.failures.clear()
            m.opened_at = None
            m.probing = False

    def record_failure(self, model: str) -> None:
        with self._lock:
            m = self._get(model)
            now = self.clock()
            if m.opened_at is not None:  # a failed probe (or a straggler): open again from now
                m.opened_at = now
                m.probing = False
                return
            m.failures.append(now)
            while m.failures and now - m.failures[0] > self.window_s:
                m.failures.popleft()
            if len(m.failures) >= self.failures:
                m.opened_at = now
                m.failures.clear()
