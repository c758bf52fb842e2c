"""One client per execution environment, and each call's deadline from the platform's clock.

    claude = WarmClient()                         # at module level: built on first use
    def handler(event, context):
        msg = claude.get().create(..., deadline=call_deadline(context, margin_s=1.0))

A warm invocation reuses the client, its connection pool and its rate limiter's state; only a
cold start builds them. With ``CLAUDE_ARCH_API_KEY_SECRET`` set, the key comes from a secret
store (:mod:`claude_arch.serverless.secrets`), cached with a TTL; a rotated key builds a new
client on the next invocation.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Protocol

from claude_arch.errors import APITimeoutError, AuthenticationError, PermissionDeniedError

if TYPE_CHECKING:
    from claude_arch.core.routing import Router
    from claude_arch.core.sync_client import SyncClaudeClient
    from claude_arch.serverless.idempotency import OnceOnly
    from claude_arch.serverless.secrets import CachedSecret

__all__ = [
    "ENV_ROUTING_CLASSIFIER",
    "ENV_ROUTING_POLICY",
    "RemainingTime",
    "WarmClient",
    "WarmOnceOnly",
    "call_deadline",
    "preload_if_ahead",
    "router_from_env",
]

_UNSET: Any = object()

_log = logging.getLogger("claude_arch.serverless")


class RemainingTime(Protocol):
    """What a handler needs of the Lambda context (the GCP adapters provide the same)."""

    def get_remaining_time_in_millis(self) -> int: ...


def call_deadline(context: RemainingTime, margin_s: float) -> float:
    """Seconds the call may take: what the platform has left minus ``margin_s``.

    Raises :class:`~claude_arch.errors.APITimeoutError` when nothing is left, so the function
    answers with a timeout error instead of being killed without one.
    """
    left = context.get_remaining_time_in_millis() / 1000 - margin_s
    if left <= 0:
        raise APITimeoutError(
            "the function's time ran out before the call could start "
            f"({margin_s:g} s are kept to answer)"
        )
    return left


AHEAD_OF_TRAFFIC = ("snap-start", "provisioned-concurrency")
"""Lambda's ``AWS_LAMBDA_INITIALIZATION_TYPE`` values for an init that no request waits for."""


def preload_if_ahead() -> bool:
    """Import the client's modules now when this init runs ahead of traffic (SnapStart's
    snapshot, provisioned concurrency), so the first request does not pay for them; an
    on-demand init leaves them to the first call, as every request then waits for the init.
    Reads no secret and opens no connection: a snapshot holds neither a key nor a socket."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") not in AHEAD_OF_TRAFFIC:
        return False
    import claude_arch.core.sync_client
    import claude_arch.core.transports.httpx_transport
    import claude_arch.settings  # noqa: F401

    return True


ENV_ROUTING_POLICY = "CLAUDE_ARCH_ROUTING_POLICY"
ENV_ROUTING_CLASSIFIER = "CLAUDE_ARCH_ROUTING_CLASSIFIER"


def router_from_env(api_key: str | None = None) -> Router | None:
    """The router of ``model: "auto"`` requests when ``CLAUDE_ARCH_ROUTING_POLICY`` names a
    policy (a shipped name or a file), with ``CLAUDE_ARCH_ROUTING_CLASSIFIER`` behind its rules
    (``rules``, the default: no network, microseconds; ``embedding``: a local model, more cold
    start; ``llm``: a call through a client of its own), as the service and the pipeline route;
    None otherwise. Its circuit breakers live in the execution environment."""
    policy = os.environ.get(ENV_ROUTING_POLICY, "").strip()
    if not policy:
        return None
    from claude_arch.core.routing.building import build_router

    kind = os.environ.get(ENV_ROUTING_CLASSIFIER, "").strip() or "rules"
    client = None
    if kind == "llm":
        from claude_arch.core.sync_client import SyncClaudeClient

        client = SyncClaudeClient(api_key=api_key) if api_key else SyncClaudeClient()
    return build_router(policy, kind, client=client)


class WarmClient:
    """Builds a :class:`SyncClaudeClient` on first use and hands the same one out afterwards.

    ``options`` go to the client (``max_retries=0`` for a queue consumer that lets the queue
    redeliver); ``created`` counts the clients built, one per execution environment (and one
    more per rotation of a key read from a secret store). ``api_key_secret`` defaults to the one
    ``CLAUDE_ARCH_API_KEY_SECRET`` names (None: the key comes from the environment as usual).
    """

    def __init__(self, *, api_key_secret: CachedSecret | None = _UNSET, **options: Any) -> None:
        if api_key_secret is _UNSET:
            from claude_arch.serverless.secrets import api_key_secret_from_env

            api_key_secret = api_key_secret_from_env()
        self.api_key_secret: CachedSecret | None = api_key_secret
        self.options = options
        self.created = 0
        self._client: SyncClaudeClient | None = None
        self._key: str | None = None
        self._lock = threading.Lock()

    def get(self) -> SyncClaudeClient:
        """The client of this execution environment."""
        key = self.api_key_secret.get() if self.api_key_secret is not None else None
        client = self._client
        if client is not None and key == self._key:
            return client
        with self._lock:
            if self._client is not None and key != self._key:
                self._client.close()  # the secret was rotated: a client with the new key
                self._client = None
            if self._client is None:
                from claude_arch.core.sync_client import SyncClaudeClient

                options = dict(self.options)
                if key is not None:
                    options["api_key"] = key
                if "router" not in options:
                    options["router"] = router_from_env(key)
                self._client = SyncClaudeClient(**options)
                self._key = key
                self.created += 1
                _log.info("claude client created", extra={"clients_created": self.created})
            return self._client

    def refused(self, exc: BaseException) -> None:
        """Tell the client's keeper that a call failed with ``exc``: a refused key read from a
        secret store is read again on the next invocation (it may have been rotated)."""
        if self.api_key_secret is not None and isinstance(
            exc, AuthenticationError | PermissionDeniedError
        ):
            self.api_key_secret.invalidate()

    def close(self) -> None:
        """Close the client (its connections); the next :meth:`get` builds a new one."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class WarmOnceOnly:
    """The execution environment's :class:`~claude_arch.serverless.idempotency.OnceOnly`, built
    on first use from ``CLAUDE_ARCH_FUNCTION_IDEMPOTENCY`` (None when it is not set: nothing of
    Powertools' idempotency or a store client is imported then)."""

    def __init__(self) -> None:
        self._once: OnceOnly | None = None
        self._built = False
        self._lock = threading.Lock()

    def get(self) -> OnceOnly | None:
        """The store-backed guard, or None when idempotency is off."""
        if self._built:
            return self._once
        with self._lock:
            if not self._built:
                if os.environ.get("CLAUDE_ARCH_FUNCTION_IDEMPOTENCY", "").strip():
                    from claude_arch.serverless.idempotency import once_only_from_env

                    self._once = once_only_from_env()
                self._built = True
            return self._once
