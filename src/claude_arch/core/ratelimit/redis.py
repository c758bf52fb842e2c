"""The shared limiter: every process and machine on one Redis draws from the same buckets.

    limiter = RedisRateLimiter.from_url("redis://cache:6379/0", catalog.limits("tier2"))
    res = await limiter.aacquire("sonnet", input_tokens=1200, output_tokens=1024)
    ...
    await limiter.asettle(res, input_tokens=1180, output_tokens=310)

One Lua script (``buckets.lua``, loaded once and run with EVALSHA) does each all-or-nothing
check-and-take atomically on the server, timed by the server's clock. Keys live under
``REDIS_RATELIMIT_PREFIX`` and expire once their buckets would be full again (an hour after the
last call when they hold limits learned from the API). What an answer says is left
(``-remaining``) is applied in the round trip that settles its reservation. Sync methods use a
``redis.Redis`` client, async ones (``atry_acquire``, ``acquire``, ``asettle``, ``apause``,
``asnapshot``) a ``redis.asyncio.Redis`` client; both are created on first use. The async client
belongs to the event loop it first ran in: call ``aclose()`` before that loop ends (a later loop
gets a client of its own, but the first one's sockets would be left for the garbage collector).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from claude_arch.constants import REDIS_RATELIMIT_PREFIX
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit.base import (
    BaseRateLimiter,
    Clock,
    check_amounts,
    raise_if_oversized,
)
from claude_arch.core.ratelimit.protocol import BucketState, KindState, Reservation
from claude_arch.errors import ConfigError, StoreUnavailableError

if TYPE_CHECKING:
    import redis as redis_sync
    import redis.asyncio as redis_async
    from redis.commands.core import AsyncScript, Script

__all__ = ["RedisRateLimiter"]

INSTALL_HINT = "pip install 'claude-arch[redis]'"
OUTAGE_LOG_INTERVAL_S = 30.0
MAX_PAUSE_S = 86_400.0

log = logging.getLogger(__name__)


def _redacted(url: str) -> str:
    """host:port/db of a Redis URL: never its password."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def _script_source() -> str:
    return resources.files("claude_arch.core.ratelimit").joinpath("buckets.lua").read_text("utf-8")


def _import_redis() -> Any:
    try:
        import redis
        import redis.asyncio
    except ImportError as exc:
        raise ConfigError(f"the Redis rate limiter needs redis-py: {INSTALL_HINT}") from exc
    return redis


def _admission(reply: Sequence[Any] | None, candidate: Reservation) -> Reservation | float:
    """The script's answer to ``take``: the reservation (marked with the flows after the take),
    or the wait. None: Redis is down and the limiter fails open, so the reservation holds
    nothing to settle."""
    if reply is None:
        candidate.limited = False
        return candidate
    if int(reply[0]) != 1:
        return max(float(reply[1]), 1e-6)
    if len(reply) >= 5:
        candidate.mark = (reply[1], float(reply[2]), float(reply[3]), float(reply[4]))
    return candidate


def _caps_in(reply: Sequence[Any] | None, at: int) -> Limits | None:
    """The capacities the script used, when its reply carries them."""
    if reply is None or len(reply) < at + 3:
        return None
    return Limits(rpm=int(reply[at]), itpm=int(reply[at + 1]), otpm=int(reply[at + 2]))


class RedisRateLimiter(BaseRateLimiter):
    """RPM + ITPM + OTPM buckets in Redis. A family absent from ``limits`` is unlimited.

    Limits travel with every call, so processes agree as long as they are configured alike.
    Limits learned from response headers are stored beside the buckets: a process still on its
    configured preset (a worker that just started) uses them where they are lower, and adopts
    them, instead of resizing the shared buckets to its preset.

    When Redis is unreachable the limiter fails open by default: it admits (``limited=False``
    reservations), logs a warning at most every 30 s, and the API's own 429s remain the backstop.
    ``fail_open=False`` raises ``StoreUnavailableError`` instead.
    """

    def __init__(
        self,
        url: str,
        limits: Mapping[str, Limits] | None = None,
        *,
        prefix: str = REDIS_RATELIMIT_PREFIX,
        fail_open: bool = True,
        socket_timeout: float = 2.0,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(limits, clock=clock)
        self._redis = _import_redis()
        self.url = url
        self.prefix = prefix
        self.fail_open = fail_open
        self._connection_options = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        }
        exceptions = self._redis.exceptions
        self._outages: tuple[type[BaseException], ...] = (
            exceptions.ConnectionError,
            exceptions.TimeoutError,
        )
        self._last_outage_log = -math.inf
        self._init_lock = threading.Lock()
        self._source = _script_source()
        self._sync: redis_sync.Redis | None = None
        self._sync_script: Script | None = None
        self._async: redis_async.Redis | None = None
        self._async_script: AsyncScript | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_url(
        cls, url: str, limits: Mapping[str, Limits] | None = None, **kwargs: Any
    ) -> RedisRateLimiter:
        return cls(url, limits, **kwargs)

    def key(self, family: str, scope: str = "") -> str:
        """The Redis key of one (scope, family) bucket hash."""
        return f"{self.prefix}{family}:{scope}"

    # --- connections ---------------------------------------------------------------------------
    def _sync_call(self, key: str, args: Sequence[Any]) -> Any:
        script = self._sync_script
        if script is None:
            with self._init_lock:  # threads share one client (redis-py's pool is thread-safe)
                if self._sync_script is None:
                    self._sync = self._redis.Redis.from_url(self.url, **self._connection_options)
                    self._sync_script = self._sync.register_script(self._source)
                script = self._sync_script
        try:
            return script(keys=[key], args=list(args))
        except self._outages as exc:
            self._outage(exc)
            return None

    async def _async_call(self, key: str, args: Sequence[Any]) -> Any:
        loop = asyncio.get_running_loop()
        if self._async_script is None or self._async_loop is not loop:
            # a redis.asyncio client belongs to the loop that made its connections
            self._async = self._redis.asyncio.Redis.from_url(self.url, **self._connection_options)
            self._async_script = self._async.register_script(self._source)
            self._async_loop = loop
        script: AsyncScript = self._async_script
        try:
            return await script(keys=[key], args=list(args))
        except self._outages as exc:
            self._outage(exc)
            return None

    def _outage(self, exc: BaseException) -> None:
        """Redis is unreachable: admit (fail open, logged) or raise ``StoreUnavailableError``."""
        where = _redacted(self.url)
        if not self.fail_open:
            raise StoreUnavailableError(f"rate-limit store {where} unreachable: {exc}") from exc
        now = time.monotonic()
        if now - self._last_outage_log >= OUTAGE_LOG_INTERVAL_S:
            self._last_outage_log = now
            log.warning(
                "rate-limit store %s unreachable (%s): admitting without shared limits", where, exc
            )

    def close(self) -> None:
        """Close the sync connection pool (the async one needs :meth:`aclose`)."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None
            self._sync_script = None

    async def aclose(self) -> None:
        """Close both connection pools."""
        if self._async is not None:
            # A pool of another (likely closed) loop cannot be closed from this one: dropped.
            if self._async_loop is asyncio.get_running_loop():
                await self._async.aclose()
            self._async = None
            self._async_script = None
            self._async_loop = None
        self.close()

    # --- the interface -------------------------------------------------------------------------
    def _learned_flag(self, family: str, scope: str) -> int:
        return 1 if self._learned and self.limits_learned(family, scope=scope) else 0

    def _take_args(
        self, family: str, scope: str, requests: int, input_tokens: int, output_tokens: int
    ) -> tuple[Limits | None, list[Any]]:
        limits = self.limits_for(family, scope=scope)
        check_amounts(requests, input_tokens, output_tokens)
        if limits is not None:
            raise_if_oversized(family, limits, requests, input_tokens, output_tokens)
            learned = self._learned_flag(family, scope)
            return limits, ["take", *_caps(limits), learned, requests, input_tokens, output_tokens]
        return None, ["take", 1, 1, 1, 0, 0, 0, 0]

    def _taken(
        self,
        candidate: Reservation,
        reply: Sequence[Any] | None,
        limits: Limits | None,
        args: list[Any],
    ) -> Reservation | float:
        family, scope = candidate.family, candidate.scope
        got = _admission(reply, candidate)
        if limits is not None and args[4] == 0:
            # configured limits met lower ones another process learned from the API: the
            # script used those, and so does this process from now on (until it learns its own)
            caps = _caps_in(reply, 5 if isinstance(got, Reservation) else 2)
            if caps is not None and caps != limits:
                self._adopt(family, caps, scope, learned=False)
                if not isinstance(got, Reservation):
                    raise_if_oversized(family, caps, *args[5:8])
        return got

    def try_acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        requests: int = 1,
        scope: str = "",
    ) -> Reservation | float:
        limits, args = self._take_args(family, scope, requests, input_tokens, output_tokens)
        reply = self._sync_call(self.key(family, scope), args)
        candidate = Reservation(
            family, scope, requests, input_tokens, output_tokens, limited=limits is not None
        )
        return self._taken(candidate, reply, limits, args)

    async def atry_acquire(
        self,
        family: str,
        *,
        input_tokens: int,
        output_tokens: int,
        requests: int = 1,
        scope: str = "",
    ) -> Reservation | float:
        limits, args = self._take_args(family, scope, requests, input_tokens, output_tokens)
        reply = await self._async_call(self.key(family, scope), args)
        candidate = Reservation(
            family, scope, requests, input_tokens, output_tokens, limited=limits is not None
        )
        return self._taken(candidate, reply, limits, args)

    def _give_args(
        self, reservation: Reservation, input_tokens: int, output_tokens: int
    ) -> list[Any] | None:
        if reservation.settled:
            return None
        reservation.settled = True
        limits = self.limits_for(reservation.family, scope=reservation.scope)
        if not reservation.limited or limits is None:
            return None
        d_in = reservation.input_tokens - input_tokens
        d_out = reservation.output_tokens - output_tokens
        observed, mark = reservation.observed, reservation.mark
        learned = self._learned_flag(reservation.family, reservation.scope)
        args = ["give", *_caps(limits), learned, 0, d_in, d_out]
        if observed is not None and mark is not None:
            return [*args, *mark, *(-1 if r is None else r for r in observed)]
        if d_in == 0 and d_out == 0:
            return None
        return args

    def settle(self, reservation: Reservation, *, input_tokens: int, output_tokens: int) -> None:
        """Refund ``reserved - used`` per kind (a negative difference is charged), and apply
        what the answer said is left (``learn``), in one round trip. Idempotent."""
        args = self._give_args(reservation, input_tokens, output_tokens)
        if args is not None:
            self._sync_call(self.key(reservation.family, reservation.scope), args)

    async def asettle(
        self, reservation: Reservation, *, input_tokens: int, output_tokens: int
    ) -> None:
        args = self._give_args(reservation, input_tokens, output_tokens)
        if args is not None:
            await self._async_call(self.key(reservation.family, reservation.scope), args)

    def _pause_args(self, family: str, seconds: float, scope: str) -> list[Any]:
        limits = self.limits_for(family, scope=scope)
        caps = _caps(limits) if limits is not None else (1, 1, 1)
        learned = self._learned_flag(family, scope) if limits is not None else 0
        # Lua cannot parse "inf"; a day is longer than any retry-after the API sends
        return ["pause", *caps, learned, repr(min(float(seconds), MAX_PAUSE_S)), 0, 0]

    def pause(self, family: str, seconds: float, *, scope: str = "") -> None:
        """Admit nothing for (scope, family) during ``seconds``, in every process."""
        if seconds > 0:
            self._sync_call(self.key(family, scope), self._pause_args(family, seconds, scope))

    async def apause(self, family: str, seconds: float, *, scope: str = "") -> None:
        if seconds > 0:
            args = self._pause_args(family, seconds, scope)
            await self._async_call(self.key(family, scope), args)

    def _peek_args(self, family: str, scope: str) -> list[Any] | None:
        limits = self.limits_for(family, scope=scope)
        if limits is None:
            return None
        return ["peek", *_caps(limits), self._learned_flag(family, scope), 0, 0, 0]

    def snapshot(self, family: str, *, scope: str = "") -> BucketState | None:
        args = self._peek_args(family, scope)
        if args is None:
            return None
        reply = self._sync_call(self.key(family, scope), args)
        return None if reply is None else _state(reply)

    async def asnapshot(self, family: str, *, scope: str = "") -> BucketState | None:
        args = self._peek_args(family, scope)
        if args is None:
            return None
        reply = await self._async_call(self.key(family, scope), args)
        return None if reply is None else _state(reply)


def _caps(limits: Limits) -> tuple[int, int, int]:
    return (limits.rpm, limits.itpm, limits.otpm)


def _kind(limit: int, level: float) -> KindState:
    return KindState(
        limit=limit,
        remaining=max(0, math.floor(level)),
        reset=max(0.0, (limit - level) * 60.0 / limit),
    )


def _state(reply: Sequence[Any]) -> BucketState:
    """A ``peek`` reply (levels, pause, and the capacities in force) as a bucket state."""
    levels = [float(x) for x in reply[1:4]]
    caps = [int(x) for x in reply[5:8]]
    return BucketState(
        requests=_kind(caps[0], levels[0]),
        input_tokens=_kind(caps[1], levels[1]),
        output_tokens=_kind(caps[2], levels[2]),
        paused_for=float(reply[4]),
    )
