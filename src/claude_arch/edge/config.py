"""The edge's settings, read from Worker vars and secrets (or the environment under CPython).

    >>> config = EdgeConfig.from_env({"CLAUDE_ARCH_EDGE_MAX_TOKENS": "4096",
    ...                               "CLAUDE_ARCH_EDGE_ALLOWED_MODELS": "claude-haiku-4-5"})
    >>> config.max_tokens, config.allowed_models, config.cache_ttl_s
    (4096, frozenset({'claude-haiku-4-5'}), 300)

Every name is in :data:`ENV_NAMES`; ``deploy/cloudflare-worker/wrangler.toml`` sets the vars,
``wrangler secret put`` the secrets (``ANTHROPIC_API_KEY``, ``CLAUDE_ARCH_EDGE_KEYS``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from claude_arch.edge import protocol_data as protocol

__all__ = ["ENV_NAMES", "EdgeConfig", "EdgeConfigError"]

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_CACHE_TTL_S = 300
DEFAULT_KEY_CACHE_S = 10

ENV_NAMES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_ARCH_EDGE_ALLOWED_MODELS",
    "CLAUDE_ARCH_EDGE_CACHE_SHARED",
    "CLAUDE_ARCH_EDGE_CACHE_TTL_S",
    "CLAUDE_ARCH_EDGE_CORS_ORIGINS",
    "CLAUDE_ARCH_EDGE_DEFAULT_RPM",
    "CLAUDE_ARCH_EDGE_KEY_CACHE_S",
    "CLAUDE_ARCH_EDGE_KEYS",
    "CLAUDE_ARCH_EDGE_MAX_BODY_BYTES",
    "CLAUDE_ARCH_EDGE_MAX_TOKENS",
)
"""Every setting the edge reads; a Worker copies these from its ``env``."""


class EdgeConfigError(ValueError):
    """A setting is malformed; the message names it (never its value: it may be a secret)."""


def _int(env: Mapping[str, str], name: str, default: int | None, least: int) -> int | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EdgeConfigError(f"{name}: must be a whole number") from None
    if value < least:
        raise EdgeConfigError(f"{name}: must be at least {least}")
    return value


def _names(raw: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (raw or "").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    """What the edge admits and where it sends it.

    ``allowed_models`` empty means every model of the catalog; names may be aliases.
    ``max_tokens`` None means each model's own maximum. ``default_rpm`` applies to keys without
    an ``rpm`` of their own (None: unlimited). ``cache_ttl_s`` 0 turns the cache off.
    ``static_keys`` maps a key's SHA-256 to its record, for a few keys kept in a secret.
    """

    upstream_url: str = protocol.ANTHROPIC_API_URL
    upstream_key: str = ""
    allowed_models: frozenset[str] = frozenset()
    max_tokens: int | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cache_ttl_s: int = DEFAULT_CACHE_TTL_S
    cache_shared: bool = False
    default_rpm: int | None = None
    cors_origins: frozenset[str] = frozenset()
    key_cache_s: int = DEFAULT_KEY_CACHE_S
    static_keys: Mapping[str, Mapping[str, object]] | None = None

    def __repr__(self) -> str:
        # the upstream key and the static keys stay out of logs and tracebacks
        return (
            f"EdgeConfig(upstream_url={self.upstream_url!r}, "
            f"allowed_models={sorted(self.allowed_models)!r}, max_tokens={self.max_tokens}, "
            f"cache_ttl_s={self.cache_ttl_s}, default_rpm={self.default_rpm})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EdgeConfig:
        """Read the settings in :data:`ENV_NAMES` from ``env``; missing ones take defaults."""
        unknown = sorted(_names(env.get("CLAUDE_ARCH_EDGE_ALLOWED_MODELS")) - _known_models())
        if unknown:
            raise EdgeConfigError(
                f"CLAUDE_ARCH_EDGE_ALLOWED_MODELS: not in the catalog: {', '.join(unknown)}"
            )
        max_body = _int(env, "CLAUDE_ARCH_EDGE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1)
        if max_body is not None and max_body > protocol.MAX_REQUEST_BYTES:
            raise EdgeConfigError(
                f"CLAUDE_ARCH_EDGE_MAX_BODY_BYTES: at most {protocol.MAX_REQUEST_BYTES}, "
                "the Messages API's own limit"
            )
        return cls(
            upstream_url=(env.get("ANTHROPIC_BASE_URL") or protocol.ANTHROPIC_API_URL).rstrip("/"),
            upstream_key=env.get("ANTHROPIC_API_KEY") or "",
            allowed_models=_names(env.get("CLAUDE_ARCH_EDGE_ALLOWED_MODELS")),
            max_tokens=_int(env, "CLAUDE_ARCH_EDGE_MAX_TOKENS", None, 1),
            max_body_bytes=max_body or DEFAULT_MAX_BODY_BYTES,
            cache_ttl_s=_int(env, "CLAUDE_ARCH_EDGE_CACHE_TTL_S", DEFAULT_CACHE_TTL_S, 0) or 0,
            cache_shared=(env.get("CLAUDE_ARCH_EDGE_CACHE_SHARED") or "").strip().lower()
            in ("1", "true", "yes"),
            default_rpm=_int(env, "CLAUDE_ARCH_EDGE_DEFAULT_RPM", None, 1),
            cors_origins=_names(env.get("CLAUDE_ARCH_EDGE_CORS_ORIGINS")),
            key_cache_s=_int(env, "CLAUDE_ARCH_EDGE_KEY_CACHE_S", DEFAULT_KEY_CACHE_S, 0) or 0,
            static_keys=_static_keys(env.get("CLAUDE_ARCH_EDGE_KEYS")),
        )


def _known_models() -> frozenset[str]:
    return frozenset(protocol.MODELS) | frozenset(protocol.ALIASES)


def _static_keys(raw: str | None) -> dict[str, Mapping[str, object]] | None:
    if not raw or not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise EdgeConfigError(
            "CLAUDE_ARCH_EDGE_KEYS: must be a JSON object of SHA-256 hex -> key record "
            "(claude-arch edge keys-export --format env)"
        )
    return {str(k).lower(): v for k, v in data.items()}
