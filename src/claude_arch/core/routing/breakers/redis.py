"""A circuit breaker whose state every process shares through Redis (``pip install
'claude-arch[redis]'``).

Same behaviour as :class:`~claude_arch.core.routing.breakers.local.LocalBreaker`; each step is
one Lua script, so processes agree on who probes a half-open model. Keys live under
``claude-arch:breaker:{model}`` and expire after the window and cooldown have passed. The clock
is wall time (``time.time``), comparable between machines; tests inject their own.

    breaker = RedisBreaker("redis://127.0.0.1:6379/0", failures=5, window_s=30, cooldown_s=30)
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

from claude_arch.core.routing.breakers.local import BreakerState
from claude_arch.errors import ConfigError

__all__ = ["BREAKER_KEY_PREFIX", "FAILURE_SCRIPT", "RedisBreaker", "RedisBreakerKeys"]

BREAKER_KEY_PREFIX = "claude-arch:breaker:"

# KEYS[1] the model's hash (opened_at, probing), KEYS[2] its failure timestamps (sorted set).
_ALLOW = """
local opened = redis.call('HGET', KEYS[1], 'opened_at')
if not opened then return 1 end
if tonumber(ARGV[1]) - tonumber(opened) < tonumber(ARGV[2]) then return 0 end
if redis.call('HSETNX', KEYS[1], 'probing', '1') == 1 then return 1 end
return 0
"""
FAILURE_SCRIPT = """
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[4])
if redis.call('HGET', KEYS[1], 'opened_at') then
  redis.call('HSET', KEYS[1], 'opened_at', ARGV[1])
  redis.call('HDEL', KEYS[1], 'probing')
  redis.call('EXPIRE', KEYS[1], ttl)
  return 1
end
redis.call('ZADD', KEYS[2], now, ARGV[1] .. ':' .. ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[2], ttl)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'opened_at', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


class RedisBreakerKeys:
    """What the Redis breakers share: their settings, keys and the failure script's arguments."""

    def __init__(
        self,
        *,
        failures: int,
        window_s: float,
        cooldown_s: float,
        clock: Callable[[], float],
        prefix: str,
    ) -> None:
        if importlib.util.find_spec("redis") is None:
            raise ConfigError(
                "a Redis circuit breaker needs redis: pip install 'claude-arch[redis]'"
            )
        if failures < 1 or window_s <= 0 or cooldown_s < 0:
            raise ValueError("failures >= 1, window_s > 0 and cooldown_s >= 0 are required")
        self.failures = failures
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.prefix = prefix
        self._seq = 0
        self._ttl = int(window_s + cooldown_s) * 10 + 60

    def _keys(self, model: str) -> list[str]:
        return [f"{self.prefix}{model}", f"{self.prefix}{model}:failures"]

    def _failure_args(self) -> list[float | int | str]:
        """The failure script's arguments: now, window, threshold, TTL, a unique member."""
        self._seq += 1
        return [self.clock(), self.window_s, self.failures, self._ttl, f"{id(self)}:{self._seq}"]


class RedisBreaker(RedisBreakerKeys):
    """A breaker shared through Redis; ``clock`` gives wall-clock seconds."""

    def __init__(
        self,
        url: str,
        *,
        failures: int = 5,
        window_s: float = 30.0,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        prefix: str = BREAKER_KEY_PREFIX,
    ) -> None:
        super().__init__(
            failures=failures, window_s=window_s, cooldown_s=cooldown_s, clock=clock, prefix=prefix
        )
        import redis

        self._redis: Any = redis.Redis.from_url(url)
        self._allow = self._redis.register_script(_ALLOW)
        self._failure = self._redis.register_script(FAILURE_SCRIPT)

    def allow(self, model: str) -> bool:
        return bool(self._allow(keys=self._keys(model), args=[self.clock(), self.cooldown_s]))

    def record_success(self, model: str) -> None:
        self._redis.delete(*self._keys(model))

    def record_failure(self, model: str) -> None:
        self._failure(keys=self._keys(model), args=self._failure_args())

    def state(self, model: str) -> BreakerState:
        opened = self._redis.hget(self._keys(model)[0], "opened_at")
        if opened is None:
            return "closed"
        return "half_open" if self.clock() - float(opened) >= self.cooldown_s else "open"

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()
