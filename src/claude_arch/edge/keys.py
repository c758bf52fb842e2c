"""The service's API keys, checked at the edge: the secret's SHA-256 looked up in KV or a secret.

    >>> record = {"id": "key_1", "name": "web", "rpm": 60, "revoked": False}
    >>> secret = "sk-ca-" + "A" * 43
    >>> keys = EdgeKeys(static={hash_secret(secret): record}, kv=None, clock=lambda: 0.0)
    >>> import asyncio
    >>> asyncio.run(keys.authenticate({"x-api-key": secret})).id
    'key_1'

A key made with ``claude-arch keys create`` works here unchanged: the service stores the hex
SHA-256 of the secret (``claude_arch.service.tenancy.keys.hash_secret``) and so does the
edge. A secret is
256 random bits, so one unsalted SHA-256 cannot be reversed or guessed (a salt defends low-entropy
passwords, which these are not); ``docs/service-keys.md`` gives the reasoning. ``claude-arch edge
keys-export`` writes the service's keys as KV entries ``key:<sha256>`` → a JSON record
(:class:`EdgeKey`'s fields), or as one JSON object for the ``CLAUDE_ARCH_EDGE_KEYS`` secret.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from claude_arch.edge import protocol_data as protocol
from claude_arch.edge.platform import KeyValue
from claude_arch.edge.problems import EdgeProblem

__all__ = ["KV_KEY_PREFIX", "EdgeKey", "EdgeKeys", "hash_secret", "secret_of"]

KV_KEY_PREFIX = "key:"
"""A key's KV entry is ``key:`` + the secret's SHA-256 hex digest."""
_SECRET = re.compile(protocol.SERVICE_KEY_PATTERN)
_CACHE_SIZE = 10_000


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest stored for a secret (the service's ``keys.hash_secret``)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


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
        if _SECRET.fullmatch(secret) is None:
            raise EdgeProblem(401, "invalid API key")
        key = await self._lookup(hash_secret(secret))
        if key is None:
            raise EdgeProblem(401, "invalid API key")
        if key.revoked:
            raise EdgeProblem(401, f"API key {key.id} has been revoked")
        return key

    async def _lookup(self, digest: str) -> EdgeKey | None:
        now = self._clock()
        seen = self._seen.get(digest)
        if seen is not None and seen[0] > now:
            return seen[1]
        key = await self._read(digest)
        if len(self._seen) >= _CACHE_SIZE:
            self._seen.clear()  # a flood of made-up keys must not grow memory without bound
        self._seen[digest] = (now + self._cache_s, key)
        return key

    async def _read(self, digest: str) -> EdgeKey | None:
        record: object = self._static.get(digest)
        if record is None and self._kv is not None:
            raw = await self._kv.get(KV_KEY_PREFIX + digest)
            if raw:
                try:
                    record = json.loads(raw)
                except ValueError:
                    record = None
        if not isinstance(record, Mapping):
            return None
        try:
            return EdgeKey.from_record(record)
        except ValueError:
            return None
