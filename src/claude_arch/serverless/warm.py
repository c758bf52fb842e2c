"""One client per execution environment, and each call's deadline from the platform's clock.

    claude = WarmClient()                         # at module level: built on first use
    def handler(event, context):
        msg = claude.get().create(..., deadline=call_deadline(context, margin_s=1.0))

A warm invocation reuses the client, its connection pool and its rate limiter's state; only a
cold start builds them.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Protocol

from claude_arch.errors import APITimeoutError

if TYPE_CHECKING:
    from claude_arch.core.sync_client import SyncClaudeClient

__all__ = ["RemainingTime", "WarmClient", "call_deadline"]

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


class WarmClient:
    """Builds a :class:`SyncClaudeClient` on first use and hands the same one out afterwards.

    ``options`` go to the client (``max_retries=0`` for a queue consumer that lets the queue
    redeliver); ``created`` counts the clients built, one per execution environment.
    """

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.created = 0
        self._client: SyncClaudeClient | None = None
        self._lock = threading.Lock()

    def get(self) -> SyncClaudeClient:
        """The client of this execution environment."""
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                from claude_arch.core.sync_client import SyncClaudeClient

                self._client = SyncClaudeClient(**self.options)
                self.created += 1
                _log.info("claude client created", extra={"clients_created": self.created})
            return self._client

    def close(self) -> None:
        """Close the client (its connections); the next :meth:`get` builds a new one."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
