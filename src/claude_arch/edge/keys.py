"""The service's API keys, checked at the edge: salted hashes in KV or a secret binding.

    >>> secret = "sk-ca-0123456789abcdef_" + "A" * 43
    >>> record = {"id": "key_0123456789abcdef", "name": "web", "rpm": 60, "revoked": False,
    ...           "secret_hash": salted_hash(secret, b"salt-1234567")}
    >>> keys = EdgeKeys(static={record["id"]: record}, kv=None, clock=lambda: 0.0)
    >>> import asyncio
    >>> asyncio.run(keys.authenticate({"x-api-key": secret})).id
    'key_0123456789abcdef'

A key made with ``claude-arch keys create`` works here unchanged: its secret names its key id
(``sk-ca-<16 hex>_<43 random>`` for ``key_<16 hex>``), the entry ``key:<id>`` holds the service's
salted SHA-256 (``s1$<salt>$<digest>``, :mod:`claude_arch.service.tenancy.keys` makes the same),
and the secret is checked against it in constant time. Keys made before salting
(``sk-ca-`` + 43 characters) are found under ``key:<plain SHA-256 hex>`` as before.
``claude-arch edge keys-export`` writes the service's keys as those KV entries (a JSON record of
:class:`EdgeKey`'s fields and ``secret_hash``), or as one JSON object for the
``CLAUDE_ARCH_EDGE_KEYS`` secret; ``docs/service-keys.md`` gives the reasoning.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from claude_arch.edge import protocol_data as protocol
from claude_arch.edge.platform import KeyValue
from claude_arch.edge.problems import EdgeProblem

__all__ = [
    "KV_KEY_PREFIX",
    "SALTED_PREFIX",
    "EdgeKey",
    "EdgeKeys",
    "hash_secret",
    "salted_hash",
    "secret_of",
    "verify_secret",
]

KV_KEY_PREFIX = "key:"
"""A key's KV entry is ``key:`` + its id (older keys: + the secret's plain SHA-256 hex)."""
_SECRET = re.compile(protocol.SERVICE_KEY_PATTERN)
_CACHE_SIZE = 10_000
SALTED_PREFIX = "s1$"


def hash_secret(secret: str) -> str:
    """The plain SHA-256 hex digest (the service's ``keys.hash_secret``): older keys' entries."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def salted_hash(secret: str, salt: bytes) -> str:
    """``s1$<salt>$<SHA-256(salt + secret)>``, base64url: the service's ``keys.salted_hash``."""
    digest = hashlib.sha256(salt + secret.encode("utf-8")).digest()
    return f"{SALTED_PREFIX}{_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: object) -> bool:
    """Whether ``stored`` (a salted hash) was made from ``secret``; constant-time compare."""
    if not isinstance(stored, str) or not stored.startswith(SALTED_PREFIX):
        return False
    salt_text = stored[len(SALTED_PREFIX) :].partition("$")[0]
    try:
        salt = base64.urlsafe_b64decode(salt_text + "=" * (-len(salt_text) % 4))
    except ValueError:
        return False
    return hmac.compare_digest(salted_hash(secret, salt), stored)


def secret_of(headers: Mapping[str, str]) -> str | None:
    """The caller's secret: ``x-api-key``, else ``Authorization: Bearer`` (the 2.x SDK's way).

    >>> secret_of({"authorization": "Bearer sk-ca-x"}), secret_of({})
    ('sk-ca-x', None)
    """
    direct = headers.get(protocol.HEADER_API_KEY)
    if direct:
        return direct.strip()
    scheme, _, value = (headers.get(protocol.HEADER_AUTHORIZATION) or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


@dataclass(frozen=True, slots=True)
class EdgeKey:
    """A key as the edge sees it: never its secret nor its hash."""

    id: str
    name: str
    rpm: int | None
    revoked: bool

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> EdgeKey:
        """Read a stored record; a malformed one is refused as if unknown (``ValueError``)."""
        key_id, name, rpm = record.get("id"), record.get("name", ""), record.get("rpm")
        if not isinstance(key_id, str) or not key_id:
            raise ValueError("a key record needs an id")
        if rpm is not None and (type(rpm) is not int or rpm < 1):
            raise ValueError("a key record's rpm must be a positive integer or null")
        return cls(key_id, str(name), rpm, bool(record.get("revoked", False)))


class EdgeKeys:
    """Authenticate callers against ``static`` records (a secret binding) and then ``kv``.

    Answers are remembered for ``cache_s`` seconds in this isolate (KV reads cost time and
    money), so a revocation reaches an isolate within ``cache_s`` plus KV's own propagation
    (up to a minute).
    """

    def __init__(
        self,
        *,
        static: Mapping[str, Mapping[str, object]] | None,
        kv: KeyValue | None,
        clock: Callable[[], float],
        cache_s: float = 10.0,
    ) -> None:
        self._static = static or {}
        self._kv = kv
        self._clock = clock
        self._cache_s = cache_s
        self._seen: dict[str, tuple[float, EdgeKey | None]] = {}

    async def authenticate(self, headers: Mapping[str, str]) -> EdgeKey:
        """The caller's key, or a 401 ``authentication_error`` that never repeats the secret."""
        secret = secret_of(headers)
        if not secret:
            raise EdgeProblem(
                401, "missing API key: send it in the x-api-key header or as Authorization: Bearer"
            )
        match = _SECRET.fullmatch(secret)
        if match is None:
            raise EdgeProblem(401, "invalid API key")
        key = await self._lookup(hash_secret(secret), secret, match.group("lookup"))
        if key is None:
            raise EdgeProblem(401, "invalid API key")
        if key.revoked:
            raise EdgeProblem(401, f"API key {key.id} has been revoked")
        return key

    async def _lookup(self, digest: str, secret: str, lookup: str | None) -> EdgeKey | None:
        # remembered by the secret's plain SHA-256, in this isolate's memory only
        now = self._clock()
        seen = self._seen.get(digest)
        if seen is not None and seen[0] > now:
            return seen[1]
        key = await self._read(digest if lookup is None else "key_" + lookup, secret, lookup)
        if len(self._seen) >= _CACHE_SIZE:
            self._seen.clear()  # a flood of made-up keys must not grow memory without bound
        self._seen[digest] = (now + self._cache_s, key)
        return key

    async def _read(self, entry: str, secret: str, lookup: str | None) -> EdgeKey | None:
        record: object = self._static.get(entry)
        if record is None and self._kv is not None:
            raw = await self._kv.get(KV_KEY_PREFIX + entry)
            if raw:
                try:
                    record = json.loads(raw)
                except ValueError:
                    record = None
        if not isinstance(record, Mapping):
            return None
        if lookup is not None and not verify_secret(secret, record.get("secret_hash")):
            return None  # a salted key's entry is found by its id: the secret must match it
        try:
            return EdgeKey.from_record(record)
        except ValueError:
            return None
