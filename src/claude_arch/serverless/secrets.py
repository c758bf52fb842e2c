"""The API key read at run time from a secret store, cached per execution environment with a TTL.

    CLAUDE_ARCH_API_KEY_SECRET=aws-secretsmanager:claude-arch/anthropic-api-key
    CLAUDE_ARCH_API_KEY_SECRET=aws-secretsmanager:prod/app#anthropic_key   # a key of a JSON secret
    CLAUDE_ARCH_API_KEY_SECRET=aws-ssm:/claude-arch/anthropic-api-key      # a SecureString
    CLAUDE_ARCH_API_KEY_SECRET=gcp-secretmanager:projects/my-project/secrets/anthropic-api-key
    CLAUDE_ARCH_SECRET_TTL_S=300

The key is then in neither the image nor the function's configuration: the first invocation
of an environment reads it, later ones reuse it until the TTL runs out, and a rotated key is
picked up within the TTL (at once when the API refuses the old one:
:meth:`CachedSecret.invalidate`). A store that fails after a value was read keeps the old value
in use (logged) and is asked again ten seconds later, so a short outage of the secret store does
not stop a function whose key still works.

- AWS: through Powertools parameters (``get_secret``, ``get_parameter(decrypt=True)``), so boto3
  is imported on the first read, not when the handler module loads. ``AWS_ENDPOINT_URL_*``
  variables point boto3 at another endpoint (a VPC endpoint, a local emulator in the tests).
- Google Cloud: Secret Manager's REST ``…/versions/latest:access`` with the function's service
  account token from the metadata server (no client library, no gRPC on the cold start);
  ``CLAUDE_ARCH_GCP_SECRETMANAGER_URL`` names a regional endpoint, ``GCE_METADATA_HOST`` another
  metadata server (as for google-auth).

Nothing here logs a secret's value.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import orjson

from claude_arch.errors import ConfigError, InternalServerError

__all__ = [
    "ENV_API_KEY_SECRET",
    "ENV_GCP_SECRETMANAGER_URL",
    "ENV_SECRET_TTL_S",
    "CachedSecret",
    "SecretRef",
    "SecretUnavailableError",
    "api_key_secret_from_env",
    "read_secret",
]

ENV_API_KEY_SECRET = "CLAUDE_ARCH_API_KEY_SECRET"  # noqa: S105 - a variable's name
ENV_SECRET_TTL_S = "CLAUDE_ARCH_SECRET_TTL_S"  # noqa: S105 - a variable's name
ENV_GCP_SECRETMANAGER_URL = "CLAUDE_ARCH_GCP_SECRETMANAGER_URL"
DEFAULT_TTL_S = 300.0
RETRY_AFTER_FAILURE_S = 10.0

SecretKind = Literal["aws-secretsmanager", "aws-ssm", "gcp-secretmanager"]
_KINDS: tuple[SecretKind, ...] = ("aws-secretsmanager", "aws-ssm", "gcp-secretmanager")

_log = logging.getLogger("claude_arch.serverless")


class SecretUnavailableError(InternalServerError):
    """The key could not be read and none is cached: a 503 the caller (or the queue) retries.
    The message names no secret; the log says which and why."""

    status = 503


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret lives: its store, its name, and the key of a JSON secret to read (or None).

    >>> SecretRef.parse("aws-secretsmanager:prod/app#anthropic_key")
    SecretRef(kind='aws-secretsmanager', name='prod/app', json_key='anthropic_key')
    >>> SecretRef.parse("gcp-secretmanager:projects/p/secrets/k").name
    'projects/p/secrets/k/versions/latest'
    """

    kind: SecretKind
    name: str
    json_key: str | None = None

    @classmethod
    def parse(cls, value: str) -> SecretRef:
        """A reference written ``KIND:NAME[#JSON_KEY]``; a bad one names what is expected."""
        kind, sep, rest = value.strip().partition(":")
        name, _, json_key = rest.partition("#")
        if not sep or kind not in _KINDS or not name:
            raise ConfigError(
                f"{ENV_API_KEY_SECRET}={value!r}: write KIND:NAME, KIND one of {', '.join(_KINDS)}"
            )
        if kind == "gcp-secretmanager":
            if not name.startswith("projects/") or "/secrets/" not in name:
                raise ConfigError(
                    f"{ENV_API_KEY_SECRET}={value!r}: a Secret Manager name is "
                    "projects/PROJECT/secrets/SECRET[/versions/VERSION]"
                )
            if "/versions/" not in name:
                name = f"{name}/versions/latest"
        return cls(kind, name, json_key or None)


def read_secret(ref: SecretRef, environ: Mapping[str, str] | None = None) -> str:
    """The secret's current value, read from its store now (no cache)."""
    env = os.environ if environ is None else environ
    if ref.kind == "gcp-secretmanager":
        raw = _read_gcp(ref.name, env)
    else:
        from aws_lambda_powertools.utilities import parameters

        if ref.kind == "aws-secretsmanager":
            value = parameters.get_secret(ref.name, force_fetch=True)
        else:
            value = parameters.get_parameter(ref.name, decrypt=True, force_fetch=True)
        raw = value.decode() if isinstance(value, bytes) else str(value)
    if ref.json_key is None:
        return raw.strip()
    try:
        doc = orjson.loads(raw)
        return str(doc[ref.json_key]).strip()
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ConfigError(
            f"secret {ref.name}: not a JSON object with a {ref.json_key!r} key"
        ) from None


def _read_gcp(name: str, env: Mapping[str, str]) -> str:
    import httpx

    metadata = env.get("GCE_METADATA_HOST", "metadata.google.internal")
    base = env.get(ENV_GCP_SECRETMANAGER_URL, "https://secretmanager.googleapis.com").rstrip("/")
    with httpx.Client(timeout=10.0) as http:
        token = http.get(
            f"http://{metadata}/computeMetadata/v1/instance/service-accounts/default/token",
            headers={"Metadata-Flavor": "Google"},
        )
        token.raise_for_status()
        answer = http.get(
            f"{base}/v1/{name}:access",
            headers={"authorization": f"Bearer {token.json()['access_token']}"},
        )
        answer.raise_for_status()
    return base64.b64decode(answer.json()["payload"]["data"]).decode()


class CachedSecret:
    """A secret read at most once per ``ttl_s``; thread-safe.

    ``read`` is the store (default :func:`read_secret` of ``ref``); ``clock`` is monotonic
    seconds.
    """

    def __init__(
        self,
        ref: SecretRef,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        read: Callable[[SecretRef], str] = read_secret,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ref = ref
        self.ttl_s = ttl_s
        self.reads = 0
        """Reads from the store so far (one per cold start, then one per TTL)."""
        self._read = read
        self._clock = clock
        self._value: str | None = None
        self._fresh_until = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        """The value: cached while fresh, else read from the store."""
        with self._lock:
            now = self._clock()
            if self._value is not None and now < self._fresh_until:
                return self._value
            try:
                value = self._read(self.ref)
                self.reads += 1
            except Exception as exc:
                if self._value is None:
                    _log.error(
                        "api key secret could not be read",
                        extra={
                            "secret": f"{self.ref.kind}:{self.ref.name}",
                            "error": type(exc).__name__,
                        },
                    )
                    raise SecretUnavailableError(
                        "the function's API key could not be read from its secret store"
                    ) from exc
                _log.warning(
                    "secret store failed; the cached key stays in use",
                    extra={
                        "secret": f"{self.ref.kind}:{self.ref.name}",
                        "error": type(exc).__name__,
                    },
                )
                self._fresh_until = now + RETRY_AFTER_FAILURE_S
                return self._value
            if not value:
                raise ConfigError(f"the API key secret {self.ref.kind}:{self.ref.name} is empty")
            _log.info(
                "api key read from the secret store",
                extra={
                    "secret": f"{self.ref.kind}:{self.ref.name}",
                    "reads": self.reads,
                    "changed": self._value is not None and value != self._value,
                },
            )
            self._value = value
            self._fresh_until = now + self.ttl_s
            return value

    def invalidate(self) -> None:
        """Read the store again on the next :meth:`get` (the API refused the cached key)."""
        with self._lock:
            self._fresh_until = 0.0


def api_key_secret_from_env(environ: Mapping[str, str] | None = None) -> CachedSecret | None:
    """The :class:`CachedSecret` that ``CLAUDE_ARCH_API_KEY_SECRET`` names, or None."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_API_KEY_SECRET, "").strip()
    if not value:
        return None
    raw_ttl = env.get(ENV_SECRET_TTL_S, "").strip()
    try:
        ttl = float(raw_ttl) if raw_ttl else DEFAULT_TTL_S
    except ValueError:
        raise ConfigError(f"{ENV_SECRET_TTL_S}={raw_ttl!r} is not a number") from None
    if ttl < 0:
        raise ConfigError(f"{ENV_SECRET_TTL_S}={raw_ttl!r} must not be negative")
    return CachedSecret(SecretRef.parse(value), ttl_s=ttl)


def main() -> int:
    """``python -m claude_arch.serverless.secrets``: print the key ``CLAUDE_ARCH_API_KEY_SECRET``
    names (for a start script that hands it to a process reading ``ANTHROPIC_API_KEY``, as the
    streaming function's ``run.sh`` does); exit 2 when none is named or it cannot be read."""
    import sys

    try:
        secret = api_key_secret_from_env()
        if secret is None:
            print(f"{ENV_API_KEY_SECRET} is not set", file=sys.stderr)
            return 2
        sys.stdout.write(secret.get())
    except (ConfigError, InternalServerError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
