"""Answer an event once, however often it is delivered: Powertools' idempotency on our stores.

Event sources deliver at least once: SQS redelivers a record whose batch failed or whose
visibility ran out, Pub/Sub and Cloud Tasks retry a push, a client retries a POST. With
``CLAUDE_ARCH_FUNCTION_IDEMPOTENCY`` set, each event's work (the Claude call and the answer's
delivery) runs under `Powertools' idempotency utility`_, keyed by the event's own id (an SQS
``messageId``, a CloudEvent ``id``, a Cloud Tasks task name, an ``Idempotency-Key`` header):

- the first delivery saves an ``INPROGRESS`` record, calls Claude, and saves the answer as
  ``COMPLETED``; a later delivery gets that answer back without a second call or a second
  delivery of the answer (:attr:`Once.replayed`);
- a delivery while the first is still running fails with :class:`InProgressError` (the source
  redelivers it later); the ``INPROGRESS`` record expires when the first invocation's time is up,
  so a function killed mid-call does not block its event for ever;
- a call that fails deletes its record, so the redelivery tries again;
- the same key with another body is refused (:class:`KeyReusedError`).

Where the records live, by URL::

    CLAUDE_ARCH_FUNCTION_IDEMPOTENCY=redis://cache:6379/0        # Powertools' Redis layer
    CLAUDE_ARCH_FUNCTION_IDEMPOTENCY=dynamodb:claude-idempotency # Powertools' DynamoDB layer
    CLAUDE_ARCH_FUNCTION_IDEMPOTENCY=postgresql://app@db/claude  # SQL: claude_arch_idempotency
    CLAUDE_ARCH_FUNCTION_IDEMPOTENCY=sqlite:////mnt/efs/once.db

Nothing here is imported by a handler unless the variable is set.

.. _Powertools' idempotency utility:
   https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from claude_arch.errors import APIStatusError, ConfigError, InvalidRequestError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from claude_arch.serverless.warm import RemainingTime

__all__ = [
    "ENV_IDEMPOTENCY",
    "ENV_IDEMPOTENCY_TTL_S",
    "InProgressError",
    "KeyReusedError",
    "Once",
    "OnceOnly",
    "StoreError",
    "once_only_from_env",
    "persistence_layer",
]

ENV_IDEMPOTENCY = "CLAUDE_ARCH_FUNCTION_IDEMPOTENCY"
ENV_IDEMPOTENCY_TTL_S = "CLAUDE_ARCH_FUNCTION_IDEMPOTENCY_TTL_S"
DEFAULT_TTL_S = 24 * 3600


class InProgressError(APIStatusError):
    """Another delivery of this event is being answered right now: try again later."""

    status = 409
    error_type = "conflict_error"


class KeyReusedError(InvalidRequestError):
    """An idempotency key seen before with a different body."""

    status = 422


class StoreError(APIStatusError):
    """The idempotency store could not be reached: nothing was called (better than twice)."""

    status = 503
    error_type = "api_error"


@dataclass(frozen=True, slots=True)
class Once:
    """The answer to an event, and whether it was answered by an earlier delivery."""

    answer: dict[str, Any]
    replayed: bool


class OnceOnly:
    """Runs each event's work at most once per key (until ``ttl_s`` after its answer).

    ``persistence`` is a Powertools persistence layer (:func:`persistence_layer` builds one
    from a URL); the work is a function of no arguments returning a JSON-able dict.
    """

    def __init__(
        self,
        persistence: BasePersistenceLayer,
        *,
        ttl_s: int = DEFAULT_TTL_S,
        namespace: str | None = None,
    ) -> None:
        self.persistence = persistence
        self.ttl_s = ttl_s
        self.namespace = namespace or _function_name()
        """Keys are ``NAMESPACE#hash``: the function's name (Lambda's or Cloud Run's), so two
        functions sharing a store do not answer each other's events."""

    def close(self) -> None:
        """Close the store's connections (a SQL engine's pool)."""
        close = getattr(self.persistence, "close", None)
        if close is not None:
            close()

    def run(
        self,
        key: str,
        work: Callable[[], dict[str, Any]],
        *,
        body: str = "",
        context: RemainingTime,
    ) -> Once:
        """``work()``'s answer for ``key``, calling it only when no delivery answered before.

        ``body`` is compared with the first delivery's (a different one is a
        :class:`KeyReusedError`); ``context`` (the invocation's clock) bounds how long the
        ``INPROGRESS`` record holds the key if this invocation never finishes.
        """
        from aws_lambda_powertools.utilities.idempotency import (
            IdempotencyConfig,
            idempotent_function,
        )
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyInconsistentStateError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        replayed = False

        def on_replay(response: Any, idempotent_data: DataRecord) -> Any:
            nonlocal replayed
            replayed = True
            return response

        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="body",
            expires_after_seconds=self.ttl_s,
            raise_on_no_idempotency_key=True,
            response_hook=on_replay,
        )
        config.register_lambda_context(context)  # type: ignore[arg-type]

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="event",
            persistence_store=self.persistence,
            config=config,
            key_prefix=self.namespace,
        )
        def answer_once(event: dict[str, str]) -> dict[str, Any]:
            return work()

        try:
            answer = answer_once(event={"key": key, "body": body})
        except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError):
            raise InProgressError(
                f"event {key!r} is being answered by another delivery; try again later"
            ) from None
        except IdempotencyValidationError:
            raise KeyReusedError(
                f"idempotency_key: {key!r} was used before with a different body",
                field="idempotency_key",
            ) from None
        except IdempotencyPersistenceLayerError as exc:
            raise StoreError(f"the idempotency store failed: {exc.args[0]}") from exc
        return Once(answer, replayed)


def _function_name() -> str:
    env = os.environ
    return env.get("AWS_LAMBDA_FUNCTION_NAME") or env.get("K_SERVICE") or "claude-arch"


def persistence_layer(url: str) -> BasePersistenceLayer:
    """The Powertools persistence layer for ``url`` (``redis://``, ``rediss://``,
    ``dynamodb:TABLE``, or a SQL URL: ``postgresql://``, ``sqlite:///``)."""
    scheme = url.partition(":")[0].lower()
    if scheme in ("redis", "rediss"):
        return _redis_layer(url)
    if scheme == "dynamodb":
        table = url.partition(":")[2].lstrip("/")
        if not table:
            raise ConfigError(f"{ENV_IDEMPOTENCY}={url!r}: name the table (dynamodb:TABLE)")
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=table)
    if scheme.startswith(("postgresql", "postgres", "sqlite")):
        from claude_arch.serverless.idempotency_sql import SqlPersistenceLayer

        return SqlPersistenceLayer(url)
    raise ConfigError(
        f"{ENV_IDEMPOTENCY}={url!r}: use redis://…, dynamodb:TABLE, postgresql://… or sqlite:///…"
    )


def _redis_layer(url: str) -> BasePersistenceLayer:
    # Powertools 3.x marks the class deprecated under both its names (CachePersistenceLayer is
    # an alias of it) while it stays the Redis layer until 4.0: its warning says nothing to act on
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from aws_lambda_powertools.utilities.idempotency.persistence.cache import (
            CachePersistenceLayer,
        )

        class RedisLayer(CachePersistenceLayer):
            """Powertools' Redis layer, keeping the body's hash when the answer is saved: its
            own ``_update_record`` (3.x) drops it, so every redelivery looked like a reused key."""

            def _update_record(self, data_record: DataRecord) -> None:
                mapping: dict[str, Any] = {
                    self.data_attr: data_record.response_data,
                    self.status_attr: data_record.status,
                    self.expiry_attr: data_record.expiry_timestamp,
                }
                if self.payload_validation_enabled:
                    mapping[self.validation_key_attr] = data_record.payload_hash
                self.client.set(
                    name=data_record.idempotency_key,
                    value=self._json_serializer(mapping),
                    ex=self._get_expiry_second(data_record.expiry_timestamp),
                )

        layer: BasePersistenceLayer = RedisLayer(url=url)
    return layer


def once_only_from_env(environ: Mapping[str, str] | None = None) -> OnceOnly | None:
    """The :class:`OnceOnly` that ``CLAUDE_ARCH_FUNCTION_IDEMPOTENCY`` names, or None."""
    env = os.environ if environ is None else environ
    url = env.get(ENV_IDEMPOTENCY, "").strip()
    if not url:
        return None
    raw_ttl = env.get(ENV_IDEMPOTENCY_TTL_S, "").strip()
    try:
        ttl = int(raw_ttl) if raw_ttl else DEFAULT_TTL_S
    except ValueError:
        raise ConfigError(f"{ENV_IDEMPOTENCY_TTL_S}={raw_ttl!r} is not a whole number") from None
    if ttl <= 0:
        raise ConfigError(f"{ENV_IDEMPOTENCY_TTL_S}={raw_ttl!r} must be positive")
    return OnceOnly(persistence_layer(url), ttl_s=ttl)
