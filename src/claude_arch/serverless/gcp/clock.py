"""The time a Cloud Function has left: its timeout counted from the request's start.

Lambda tells a handler its remaining time; Cloud Functions does not, so the handlers count it
themselves from the configured timeout: ``CLAUDE_ARCH_FUNCTION_TIMEOUT_S``, else the
``CLOUD_RUN_TIMEOUT_SECONDS`` the platform sets, else 60 s (the platform's default).

    >>> clock = RequestClock(timeout_s=60, now=lambda: 100.0)
    >>> clock.get_remaining_time_in_millis()
    60000
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from claude_arch.errors import ConfigError

__all__ = ["DEFAULT_TIMEOUT_S", "ENV_FUNCTION_TIMEOUT_S", "RequestClock", "function_timeout_s"]

ENV_FUNCTION_TIMEOUT_S = "CLAUDE_ARCH_FUNCTION_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 60.0


def function_timeout_s(environ: Mapping[str, str] | None = None) -> float:
    """The function's timeout in seconds, from the environment."""
    env = os.environ if environ is None else environ
    for name in (ENV_FUNCTION_TIMEOUT_S, "CLOUD_RUN_TIMEOUT_SECONDS"):
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
        if value > 0:
            return value
    return DEFAULT_TIMEOUT_S


class RequestClock:
    """A request's remaining time, shaped like Lambda's context (``RemainingTime``)."""

    def __init__(
        self, timeout_s: float | None = None, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._now = now
        self._ends = now() + (function_timeout_s() if timeout_s is None else timeout_s)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the platform ends the request (never negative)."""
        return max(0, int((self._ends - self._now()) * 1000))
