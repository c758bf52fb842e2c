"""The service's own API keys: created once, stored hashed, checked on every request.

    store = KeyStore(make_engine("sqlite:///data/claude-arch.db"))
    await store.init()
    key, secret = await store.create("billing-team", rpm=60, budget_usd=Decimal("25"))
    print(secret)                        # sk-ca-…: shown once, never stored
    assert (await store.authenticate(secret)).id == key.id
    await store.revoke(key.id)           # every replica refuses it within cache_ttl_s

A secret is ``sk-ca-``, the key's lookup id (16 hex digits: its id is ``key_`` + the same), ``_``
and 32 random bytes (``secrets.token_urlsafe(32)``). The table keeps only a salted SHA-256 of it
(``s1$<salt>$<digest>``, a random 96-bit salt per key) and a short prefix for display; the lookup
id finds the row, the salted digest is compared in constant time. A slow password hash (bcrypt,
argon2) protects low-entropy passwords from guessing; a 256-bit random secret cannot be guessed, so
one SHA-256 is as safe and keeps the per-request check cheap. Keys made before salting
(``sk-ca-`` + 43 characters, stored as the plain SHA-256 hex) keep working.
``docs/service-keys.md`` tells the whole story.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Literal, get_args

from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Table, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from claude_arch.constants import SERVICE_KEY_SECRET_PREFIX
from claude_arch.core.sql import create_tables
from claude_arch.errors import AuthenticationError, InvalidRequestError, NotFoundError
from claude_arch.service.db import metadata

__all__ = [
    "ApiKey",
    "BudgetPeriod",
    "KeyStore",
    "hash_secret",
    "keys_table",
    "lookup_id",
    "salted_hash",
    "verify_secret",
]

BudgetPeriod = Literal["day", "month", "total"]
BUDGET_PERIODS: tuple[str, ...] = get_args(BudgetPeriod)
MICRO = Decimal("0.000001")
CACHE_SIZE = 10_000
"""Positive and negative cache entries kept each; a flood of bad keys cannot evict good ones."""
REFRESH_AHEAD = 0.2
"""A key used in the last fifth of its cache entry's life is read again in the background."""

_SECRET_BODY_CHARS = 43  # token_urlsafe(32): 32 bytes in unpadded base64url
_LOOKUP_CHARS = 16  # token_hex(8): the key id's random part, public
_SECRET_RE = re.compile(
    re.escape(SERVICE_KEY_SECRET_PREFIX)
    + f"(?:(?P<lookup>[0-9a-f]{{{_LOOKUP_CHARS}}})_)?[A-Za-z0-9_-]{{{_SECRET_BODY_CHARS}}}"
)
_PREFIX_CHARS = 6  # characters shown in listings: of the lookup id (older keys: of the secret)
_SALT_BYTES = 12
_SALTED = "s1$"  # the stored form: s1$<salt, base64url>$<SHA-256 of salt + secret, base64url>
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# the columns' ranges: beyond them PostgreSQL refuses the row and SQLite overflows
_MAX_INT32 = 2**31 - 1
_MAX_INT64 = 2**63 - 1

keys_table = Table(
    "service_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("rpm", Integer, nullable=True),
    Column("tpm", BigInteger, nullable=True),
    # micro-dollars as an integer: exact everywhere (SQLite has no decimal type)
    Column("budget_micro_usd", BigInteger, nullable=True),
    Column("budget_period", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


def hash_secret(secret: str) -> str:
    """The plain SHA-256 hex digest: what the table stored for keys made before salting, and
    the in-memory cache's key."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def salted_hash(secret: str, salt: bytes) -> str:
    """What the table stores for a secret: ``s1$`` + the salt + ``$`` + SHA-256(salt + secret),
    both unpadded base64url (63 characters for a 12-byte salt).

    >>> salted_hash("sk-ca-x", bytes(12))
    's1$AAAAAAAAAAAAAAAA$aHlySP2Up13W3LfusmQjFB8Vyd_Fn4N9Cr8lmFkEBfA'
    """
    digest = hashlib.sha256(salt + secret.encode("utf-8")).digest()
    return f"{_SALTED}{_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` (salted or, for older keys, plain) was made from;
    compared in constant time.

    >>> stored = salted_hash("sk-ca-x", b"salt-1234567")
    >>> verify_secret("sk-ca-x", stored), verify_secret("sk-ca-y", stored)
    (True, False)
    >>> verify_secret("sk-ca-x", hash_secret("sk-ca-x"))
    True
    """
    if not stored.startswith(_SALTED):
        return hmac.compare_digest(hash_secret(secret), stored)
    salt_text, _, _ = stored[len(_SALTED) :].partition("$")
    try:
        salt = base64.urlsafe_b64decode(salt_text + "=" * (-len(salt_text) % 4))
    except ValueError:
        return False
    return hmac.compare_digest(salted_hash(secret, salt), stored)


def lookup_id(secret: str) -> str | None:
    """The id of the key a well-formed secret names (``key_`` + its lookup part), or None for a
    key made before salting (found by its plain hash) or a malformed one.

    >>> lookup_id("sk-ca-0123456789abcdef_" + "A" * 43)
    'key_0123456789abcdef'
    >>> lookup_id("sk-ca-" + "A" * 43) is None
    True
    """
    match = _SECRET_RE.fullmatch(secret)
    lookup = match.group("lookup") if match else None
    return None if lookup is None else "key_" + lookup


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One service key as the gateway sees it; never holds the secret or its hash."""

    id: str
    name: str
    prefix: str
    rpm: int | None
    tpm: int | None
    budget_usd: Decimal | None
    budget_period: BudgetPeriod
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def anonymous(cls) -> ApiKey:
        """The caller of a dev-mode service on loopback: no limits, no budget.

        >>> ApiKey.anonymous().id, ApiKey.anonymous().rpm
        ('anonymous', None)
        """
        return cls("anonymous", "anonymous", "", None, None, None, "total", _EPOCH, None)


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything written here was UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _from_row(row: Any) -> ApiKey:
    micro = row.budget_micro_usd
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        rpm=row.rpm,
        tpm=row.tpm,
        budget_usd=None if micro is None else (Decimal(micro) * MICRO).normalize(),
        budget_period=row.budget_period,
        created_at=_utc(row.created_at),
        revoked_at=None if row.revoked_at is None else _utc(row.revoked_at),
    )


def _check_limit(name: str, value: int | None, most: int) -> None:
    if value is not None and (isinstance(value, bool) or not 1 <= value <= most):
        raise InvalidRequestError(
            f"{name}: must be an integer from 1 to {most}, got {value!r}", field=name
        )


def _budget_micro(budget_usd: Decimal | int | str | None) -> int | None:
    if budget_usd is None:
        return None
    try:
        value = Decimal(budget_usd)
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or not MICRO <= value <= _MAX_INT64 * MICRO:
        raise InvalidRequestError(
            f"budget_usd: must be from 0.000001 to {_MAX_INT64 * MICRO} USD, got {budget_usd!r}",
            field="budget_usd",
        )
    return int(value / MICRO)  # whole micro-dollars, anything finer dropped


class KeyStore:
    """Keys in the ``service_keys`` table of any SQLAlchemy async engine (SQLite, PostgreSQL).

    The engine belongs to the caller (it is shared with other tables); :meth:`aclose` only drops
    this store's cache. ``authenticate`` answers from memory for ``cache_ttl_s``, so a revocation
    reaches every replica within that time (at once on the replica that revoked).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cache_ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.cache_ttl_s = cache_ttl_s
        self._clock = clock
        self._known: OrderedDict[str, tuple[float, ApiKey]] = OrderedDict()
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._pending: dict[str, asyncio.Future[ApiKey | None]] = {}
        self._revocations = 0
        """Counts :meth:`revoke`'s starts and ends: a read that overlapped one is not cached."""

    async def init(self) -> None:
        """Create the table when it is missing (replicas starting together may race: fine)."""
        await create_tables(self.engine, keys_table)

    async def create(
        self,
        name: str,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        budget_usd: Decimal | None = None,
        budget_period: BudgetPeriod = "month",
    ) -> tuple[ApiKey, str]:
        """A new key and its secret; the secret is not kept anywhere, show it to the user now."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidRequestError("name: must be 1 to 200 characters", field="name")
        _check_limit("rpm", rpm, _MAX_INT32)
        _check_limit("tpm", tpm, _MAX_INT64)
        micro = _budget_micro(budget_usd)
        if budget_period not in BUDGET_PERIODS:
            raise InvalidRequestError(
                f"budget_period: must be one of {', '.join(BUDGET_PERIODS)}, got {budget_period!r}",
                field="budget_period",
            )
        lookup = secrets.token_hex(_LOOKUP_CHARS // 2)
        secret = f"{SERVICE_KEY_SECRET_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
        row = {
            "id": "key_" + lookup,
            "name": name,
            "prefix": secret[: len(SERVICE_KEY_SECRET_PREFIX) + _PREFIX_CHARS],
            "secret_hash": salted_hash(secret, secrets.token_bytes(_SALT_BYTES)),
            "rpm": rpm,
            "tpm": tpm,
            "budget_micro_usd": micro,
            "budget_period": budget_period,
            "created_at": datetime.now(UTC),
            "revoked_at": None,
        }
        async with self.engine.begin() as conn:
            await conn.execute(keys_table.insert().values(**row))
        return _from_row(SimpleNamespace(**row)), secret

    async def list(self, *, include_revoked: bool = False) -> builtins.list[ApiKey]:
        """Keys, oldest first; revoked ones only when asked."""
        query = select(keys_table).order_by(keys_table.c.created_at, keys_table.c.id)
        if not include_revoked:
            query = query.where(keys_table.c.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def revoke(self, key_id_or_prefix: str) -> ApiKey:
        """Revoke the key with this id (or display prefix). Revoking twice keeps the first time.

        ``NotFoundError`` when no key matches; ``InvalidRequestError`` when a prefix matches
        several (use the id)."""
        wanted = key_id_or_prefix.strip()
        match = (keys_table.c.id == wanted) | (keys_table.c.prefix == wanted)
        self._revocations += 1
        try:
            return await self._revoke(match, wanted)
        finally:
            self._revocations += 1

    async def _revoke(self, match: Any, wanted: str) -> ApiKey:
        async with self.engine.begin() as conn:
            rows = (await conn.execute(select(keys_table).where(match))).all()
            if not rows:
                raise NotFoundError(f"no service key has the id or prefix {wanted!r}")
            if len(rows) > 1:
                ids = ", ".join(sorted(row.id for row in rows))
                raise InvalidRequestError(
                    f"{wanted!r} is the prefix of {len(rows)} keys ({ids}); revoke one by its id"
                )
            row = rows[0]
            if row.revoked_at is None:
                await conn.execute(
                    update(keys_table)
                    .where(keys_table.c.id == row.id, keys_table.c.revoked_at.is_(None))
                    .values(revoked_at=datetime.now(UTC))
                )
                row = (await conn.execute(select(keys_table).where(match))).one()
        for digest in [d for d, (_, key) in self._known.items() if key.id == row.id]:
            del self._known[digest]
        return _from_row(row)

    async def authenticate(self, secret: str | None) -> ApiKey:
        """The key whose secret this is; ``AuthenticationError`` (401) for a missing, unknown or
        revoked one. The error never repeats the secret."""
        if not secret:
            raise AuthenticationError(
                "missing API key: send it in the x-api-key header or as Authorization: Bearer"
            )
        if _SECRET_RE.fullmatch(secret) is None:
            raise AuthenticationError("invalid API key")
        key = await self._lookup(hash_secret(secret), secret)
        if key is None:
            raise AuthenticationError("invalid API key")
        if key.revoked_at is not None:
            raise AuthenticationError(f"API key {key.id} has been revoked")
        return key

    async def _lookup(self, digest: str, secret: str) -> ApiKey | None:
        # cached by the secret's plain SHA-256 (memory only: the table holds salted digests)
        now = self._clock()
        known = self._known.get(digest)
        if known is not None and known[0] > now:
            if known[0] - now < self.cache_ttl_s * REFRESH_AHEAD and digest not in self._pending:
                # a key in use is read again before its entry expires, in the background: no
                # request waits for the query (on a busy replica, every request arriving while
                # it ran did, a stall every cache_ttl_s); the entry is never used past its TTL
                self._query_once(digest, secret)
            return known[1]
        unknown_until = self._unknown.get(digest)
        if unknown_until is not None and unknown_until > now:
            return None
        # One query per key at a time: when a busy key's entry expires, every request in flight
        # would otherwise query the database at once (seen as p99 spikes every cache_ttl_s).
        # The query is a task of its own, so a caller that gives up does not fail the others.
        pending = self._pending.get(digest) or self._query_once(digest, secret)
        return await asyncio.shield(pending)

    def _query_once(self, digest: str, secret: str) -> asyncio.Future[ApiKey | None]:
        pending = asyncio.ensure_future(self._query(digest, secret))
        self._pending[digest] = pending
        pending.add_done_callback(lambda done: self._settled(digest, done))
        return pending

    def _settled(self, digest: str, done: asyncio.Future[ApiKey | None]) -> None:
        self._pending.pop(digest, None)
        if not done.cancelled():
            done.exception()  # retrieved, even when every waiter gave up

    async def _query(self, digest: str, secret: str) -> ApiKey | None:
        revocations = self._revocations
        key_id = lookup_id(secret)
        column, value = (
            (keys_table.c.secret_hash, digest) if key_id is None else (keys_table.c.id, key_id)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(keys_table).where(column == value))).first()
        key = None if row is None or not verify_secret(secret, row.secret_hash) else _from_row(row)
        if revocations != self._revocations:
            return key  # a revocation here overlapped the read: what it read may be stale
        until = self._clock() + self.cache_ttl_s
        if key is None:
            _remember(self._unknown, digest, until)
        else:
            self._unknown.pop(digest, None)
            _remember(self._known, digest, (until, key))
        return key

    async def ping(self) -> None:
        """One trivial query: raises when the database is unreachable (for ``/readyz``)."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def aclose(self) -> None:
        """Forget cached keys (the engine is the caller's to dispose)."""
        self._known.clear()
        self._unknown.clear()


def _remember(cache: OrderedDict[str, Any], digest: str, value: Any) -> None:
    cache[digest] = value
    cache.move_to_end(digest)
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
