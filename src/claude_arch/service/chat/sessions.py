"""Chat sessions: a conversation kept on the server, so a client that reconnects continues it.

    store = sessions_from_settings(settings, gateway.engine)   # SQL or Redis, by session_url
    session = await store.create(key.id, model="claude-haiku-4-5")
    await store.append(session.id, key.id, [user_message, assistant_message])
    session = await store.get(session.id, key.id)             # .messages: every kept turn

Where: ``settings.session_url`` unset → the service database (SQLite by default, PostgreSQL at
scale); a SQLAlchemy URL → that database; ``redis://…`` → Redis
(:mod:`claude_arch.service.chat.sessions_redis`). Both implementations share these rules:

- A session belongs to the key that created it. Another key asking for it gets the same 404 as
  for a session that does not exist, so ids cannot be probed.
- A *turn* (the user message and the answer, with any tool exchange between) is stored whole and
  dropped whole, oldest first, so a stored history never starts inside a tool exchange.
- Bounded: at most ``max_turns`` turns and ``max_bytes`` of JSON per session (the newest turn is
  always kept). What is *sent* to the model is cut again by :mod:`claude_arch.service.chat.context`.
- Expiry: a session not used for ``ttl_s`` (30 days by default) is gone (404). Redis expires the
  keys; SQL treats them as missing and deletes them in passing (at most once an hour per replica).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from claude_arch.errors import NotFoundError, StoreUnavailableError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from claude_arch.service.config import ServiceSettings
    from claude_arch.service.gateway import Gateway

__all__ = [
    "Session",
    "SessionLimits",
    "SessionStore",
    "new_session_id",
    "outages_as_502",
    "session_not_found",
    "sessions_from_settings",
    "sessions_of",
    "unreachable_as_502",
]

P = ParamSpec("P")
R = TypeVar("R")

_log = logging.getLogger("claude_arch.service")

SESSION_ID_PREFIX = "sess_"
EXTRAS_NAME = "sessions"
"""The store's name in ``Gateway.extras``."""


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """How much one session keeps, and for how long after its last use."""

    max_turns: int = 200
    max_bytes: int = 1_000_000
    ttl_s: float = 30 * 24 * 3600.0


@dataclass(slots=True)
class Session:
    """One conversation: its owner, the model and system prompt it was created with, its turns."""

    id: str
    key_id: str
    model: str | None
    system: str | None
    created_at: datetime
    updated_at: datetime
    turns: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The kept turns as one Messages API ``messages`` list."""
        return [message for turn in self.turns for message in turn]


class SessionStore(Protocol):
    """What the chat endpoints need from a session store (SQL and Redis implement it)."""

    limits: SessionLimits

    async def init(self) -> None:
        """Create what is missing (tables); safe to call more than once."""

    async def create(
        self, key_id: str, *, model: str | None = None, system: str | None = None
    ) -> Session: ...

    async def get(self, session_id: str, key_id: str) -> Session:
        """The session, or :class:`NotFoundError` (missing, expired, or another key's)."""

    async def append(self, session_id: str, key_id: str, turn: list[dict[str, Any]]) -> None:
        """Add one turn, then drop the oldest turns beyond the limits (404 as :meth:`get`)."""

    async def delete(self, session_id: str, key_id: str) -> None: ...

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


def new_session_id() -> str:
    """``sess_`` and 24 random hex digits.

    >>> len(new_session_id()), new_session_id().startswith("sess_")
    (29, True)
    """
    return SESSION_ID_PREFIX + secrets.token_hex(12)


def session_not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"session_id: no session {session_id[:64]!r} for this key")


@contextmanager
def unreachable_as_502(outages: tuple[type[BaseException], ...]) -> Iterator[None]:
    """``outages`` raised inside become a 502 ``StoreUnavailableError`` naming the session store;
    the detail (host, port, driver message) goes to the log, never to the caller."""
    try:
        yield
    except outages as exc:
        _log.warning("the session store is unreachable: %s", exc)
        raise StoreUnavailableError("the session store is unreachable; try again shortly") from exc


def outages_as_502(
    method: Callable[Concatenate[Any, P], Awaitable[R]],
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]:
    """A store method whose ``self.outages`` (the driver's "cannot reach it" exceptions) become
    :func:`unreachable_as_502`'s 502, as a key-store outage does."""

    @functools.wraps(method)
    async def wrapped(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with unreachable_as_502(self.outages):
            return await method(self, *args, **kwargs)

    return wrapped


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_redis_url(url: str) -> bool:
    return url.partition("://")[0] in ("redis", "rediss", "unix")


def sessions_from_settings(
    settings: ServiceSettings, engine: AsyncEngine, *, limits: SessionLimits | None = None
) -> SessionStore:
    """The store ``settings.session_url`` names; unset, the service's own database (``engine``).

    Nothing is connected yet: the first use (or :meth:`SessionStore.init`) does it."""
    from claude_arch.service.chat.sessions_sql import SqlSessionStore

    limits = limits or SessionLimits()
    url = settings.session_url
    if not url:
        return SqlSessionStore(engine, limits=limits)
    if is_redis_url(url):
        from claude_arch.service.chat.sessions_redis import RedisSessionStore

        return RedisSessionStore(url, limits=limits)
    from claude_arch.core.sql import make_engine

    return SqlSessionStore(make_engine(url), limits=limits, owns_engine=True)


def sessions_of(gateway: Gateway) -> SessionStore:
    """The gateway's session store, made from its settings on first use (``extras["sessions"]``;
    the gateway closes it at shutdown)."""
    store: SessionStore | None = gateway.extras.get(EXTRAS_NAME)
    if store is None:
        store = sessions_from_settings(gateway.settings, gateway.engine)
        gateway.extras[EXTRAS_NAME] = store
    return store
