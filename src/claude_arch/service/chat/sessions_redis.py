"""Chat sessions in Redis: ``CLAUDE_ARCH_SESSION_URL=redis://cache:6379/2``.

    store = RedisSessionStore("redis://127.0.0.1:6379/2")
    session = await store.create("key_1")
    await store.append(session.id, "key_1", [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "Hello!"}])
    await store.aclose()

Two keys per session, both under ``REDIS_SESSION_PREFIX`` with the id as a hash tag (so a Redis
Cluster keeps them on one node): ``…{sess_…}`` is a hash (owner, model, system, times, bytes
held) and ``…{sess_…}:turns`` a list of turns as JSON. Appending is one Lua script: check the
owner, push the turn, drop the oldest turns beyond the limits, renew the expiry (``ttl_s``) on
both keys, atomically, so replicas appending at once cannot break the bounds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from claude_arch.constants import REDIS_SESSION_PREFIX
from claude_arch.errors import ConfigError
from claude_arch.service.chat.sessions import (
    Session,
    SessionLimits,
    new_session_id,
    outages_as_502,
    session_not_found,
    utcnow,
)

if TYPE_CHECKING:
    import redis.asyncio as redis_async
    from redis.commands.core import AsyncScript

__all__ = ["RedisSessionStore"]

INSTALL_HINT = "pip install 'claude-arch[redis]'"

# KEYS: meta hash, turns list. ARGV: key id, turn JSON, max turns, max bytes, ttl s, now (ISO).
_APPEND = """
if redis.call('HGET', KEYS[1], 'key_id') ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
local total = redis.call('HINCRBY', KEYS[1], 'bytes', string.len(ARGV[2]))
local n = redis.call('LLEN', KEYS[2])
while n > 1 and (n > tonumber(ARGV[3]) or total > tonumber(ARGV[4])) do
  local old = redis.call('LPOP', KEYS[2])
  total = redis.call('HINCRBY', KEYS[1], 'bytes', -string.len(old))
  n = n - 1
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""


def _import_redis() -> Any:
    try:
        import redis.asyncio
    except ImportError as exc:  # pragma: no cover - the extra is installed where tests run
        raise ConfigError(f"Redis sessions need redis-py: {INSTALL_HINT}") from exc
    return redis.asyncio


class RedisSessionStore:
    """:class:`~claude_arch.service.chat.sessions.SessionStore` in Redis; ``prefix`` keeps tests (or
    two services on one Redis) apart."""

    def __init__(
        self,
        url: str,
        *,
        limits: SessionLimits | None = None,
        prefix: str = REDIS_SESSION_PREFIX,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.url = url
        self.limits = limits or SessionLimits()
        self.prefix = prefix
        self._now = now
        self._client: redis_async.Redis | None = None
        self._append: AsyncScript | None = None
        _import_redis()
        from redis import exceptions

        self.outages: tuple[type[BaseException], ...] = (
            exceptions.ConnectionError,
            exceptions.TimeoutError,
            OSError,
        )
        """Redis cannot be reached: a 502 naming the session store (not a 500)."""

    @property
    def client(self) -> redis_async.Redis:
        # made on first use: a redis.asyncio client belongs to the loop it first runs in
        if self._client is None:
            self._client = _import_redis().Redis.from_url(
                self.url, socket_timeout=2.0, socket_connect_timeout=2.0
            )
        return self._client

    def _script(self) -> AsyncScript:
        if self._append is None or self._client is None:
            self._append = self.client.register_script(_APPEND)
        return self._append

    def _keys(self, session_id: str) -> tuple[str, str]:
        meta = f"{self.prefix}{{{session_id}}}"
        return meta, meta + ":turns"

    @property
    def _ttl(self) -> int:
        return max(1, int(self.limits.ttl_s))

    async def init(self) -> None:
        """Nothing to create; checks that Redis answers."""
        await self.ping()

    @outages_as_502
    async def create(
        self, key_id: str, *, model: str | None = None, system: str | None = None
    ) -> Session:
        now = self._now()
        session = Session(new_session_id(), key_id, model, system, now, now)
        meta, _ = self._keys(session.id)
        fields: dict[Any, Any] = {
            "key_id": key_id,
            "created_at": now.isoformat(),
            "updated_at": now.isoformat(),
        }
        if model is not None:
            fields["model"] = model
        if system is not None:
            fields["system"] = system
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(meta, mapping={**fields, "bytes": 0})
            pipe.expire(meta, self._ttl)
            await pipe.execute()
        return session

    @outages_as_502
    async def get(self, session_id: str, key_id: str) -> Session:
        meta, turns = self._keys(session_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(meta)
            pipe.lrange(turns, 0, -1)
            fields, raw_turns = await pipe.execute()
        values = {k.decode(): v.decode() for k, v in fields.items()}
        if values.get("key_id") != key_id:
            raise session_not_found(session_id)
        return Session(
            session_id,
            key_id,
            values.get("model"),
            values.get("system"),
            datetime.fromisoformat(values["created_at"]),
            datetime.fromisoformat(values["updated_at"]),
            [json.loads(t) for t in raw_turns],
        )

    @outages_as_502
    async def append(self, session_id: str, key_id: str, turn: list[dict[str, Any]]) -> None:
        encoded = json.dumps(turn, separators=(",", ":"), ensure_ascii=False)
        limits = self.limits
        done = await self._script()(
            keys=self._keys(session_id),
            args=(
                key_id,
                encoded,
                limits.max_turns,
                limits.max_bytes,
                self._ttl,
                self._now().isoformat(),
            ),
        )
        if not done:
            raise session_not_found(session_id)

    @outages_as_502
    async def delete(self, session_id: str, key_id: str) -> None:
        meta, turns = self._keys(session_id)
        owner = await self.client.hget(meta, "key_id")
        if owner is None or (owner.decode() if isinstance(owner, bytes) else owner) != key_id:
            raise session_not_found(session_id)
        await self.client.delete(meta, turns)

    async def ping(self) -> None:
        await self.client.ping()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        self._append = None
        if client is not None:
            await client.aclose()
