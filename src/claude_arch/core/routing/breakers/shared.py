"""A circuit breaker shared through Redis that never blocks an event loop: for the service.

:class:`~claude_arch.core.routing.breakers.redis.RedisBreaker` asks Redis on every call, which a
synchronous router would do from inside the event loop. This one keeps a local view of which
models are open and brings Redis up to date in the background: a failure or success is written
by a task of its own (the same Lua script and keys as ``RedisBreaker``, so both kinds of process
share one state), and the view is refreshed from Redis at most every ``refresh_s`` seconds,
triggered by reads. A replica thus learns within about ``refresh_s`` that another opened a
breaker; its own failures count at once.

    breaker = AsyncRedisBreaker("redis://redis:6379/0", failures=5, window_s=30, cooldown_s=30)
    router = Router(policy, breaker=breaker)
    ...
    await breaker.aclose()       # waits for the writes still in flight
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from claude_arch.core.routing.breakers.local import BreakerState
from claude_arch.core.routing.breakers.redis import (
    BREAKER_KEY_PREFIX,
    FAILURE_SCRIPT,
    RedisBreakerKeys,
)

__all__ = ["AsyncRedisBreaker"]

_log = logging.getLogger("claude_arch.routing")


class AsyncRedisBreaker(RedisBreakerKeys):
    """A breaker whose state lives in Redis and whose reads come from a local view."""

    def __init__(
        self,
        url: str,
        *,
        failures: int = 5,
        window_s: float = 30.0,
        cooldown_s: float = 30.0,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        prefix: str = BREAKER_KEY_PREFIX,
    ) -> None:
        super().__init__(
            failures=failures, window_s=window_s, cooldown_s=cooldown_s, clock=clock, prefix=prefix
        )
        import redis.asyncio as aioredis

        self.refresh_s = refresh_s
        self._redis: Any = aioredis.Redis.from_url(url)
        self._failure = self._redis.register_script(FAILURE_SCRIPT)
        self._opened: dict[str, float] = {}
        """The local view: models whose breaker is open, and since when (wall clock)."""
        self._known: set[str] = set()
        self._refreshed_at = float("-inf")
        self._pending: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:  # no loop (a sync caller): the local view still counts
            work.close()
            return
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.warning("circuit breaker store unreachable: %s", task.exception())

    # --- the CircuitBreaker protocol ------------------------------------------------------
    def state(self, model: str) -> BreakerState:
        self._known.add(model)
        if self.clock() - self._refreshed_at >= self.refresh_s:
            self._refreshed_at = self.clock()
            self._spawn(self.refresh())
        opened = self._opened.get(model)
        if opened is None:
            return "closed"
        return "half_open" if self.clock() - opened >= self.cooldown_s else "open"

    def allow(self, model: str) -> bool:
        return self.state(model) != "open"

    def record_success(self, model: str) -> None:
        self._opened.pop(model, None)
        self._spawn(self._redis.delete(*self._keys(model)))

    def record_failure(self, model: str) -> None:
        self._known.add(model)
        if model in self._opened:  # a failed probe: open again from now
            self._opened[model] = self.clock()
        self._spawn(self._count_failure(model, self._failure_args()))

    async def _count_failure(self, model: str, args: list[Any]) -> None:
        if await self._failure(keys=self._keys(model), args=args):
            self._opened[model] = float(args[0])

    # --- keeping the view current ---------------------------------------------------------
    async def refresh(self, models: list[str] | None = None) -> None:
        """Read the open breakers of ``models`` (default: every model asked about) from Redis."""
        names = sorted(self._known if models is None else models)
        if not names:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hget(self._keys(name)[0], "opened_at")
            opened = await pipe.execute()
        for name, value in zip(names, opened, strict=True):
            if value is None:
                self._opened.pop(name, None)
            else:
                self._opened[name] = float(value)

    async def flush(self) -> None:
        """Wait for the writes and refreshes in flight."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        """Finish the writes in flight, then close the connection pool."""
        await self.flush()
        await self._redis.aclose()
