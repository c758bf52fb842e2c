"""``FunctionConfig``: what a serverless handler reads from its environment, read once.

    config = FunctionConfig.from_env()
    config.deadline_margin_s      # answered this long before the platform kills the function

Every field has a default that works; the environment variable of each is named beside it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from claude_arch.errors import ConfigError

__all__ = [
    "ENV_CORS_ORIGINS",
    "ENV_DEADLINE_MARGIN_S",
    "ENV_DEFAULT_MAX_TOKENS",
    "ENV_DEFAULT_MODEL",
    "ENV_MAX_BODY_BYTES",
    "FunctionConfig",
]

N = TypeVar("N", int, float)

ENV_DEFAULT_MODEL = "CLAUDE_ARCH_DEFAULT_MODEL"
ENV_DEFAULT_MAX_TOKENS = "CLAUDE_ARCH_FUNCTION_MAX_TOKENS"
ENV_MAX_BODY_BYTES = "CLAUDE_ARCH_FUNCTION_MAX_BODY_BYTES"
ENV_DEADLINE_MARGIN_S = "CLAUDE_ARCH_FUNCTION_DEADLINE_MARGIN_S"
ENV_CORS_ORIGINS = "CLAUDE_ARCH_FUNCTION_CORS_ORIGINS"


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """The settings of one function; :meth:`from_env` reads them from the environment."""

    default_model: str = "claude-haiku-4-5"
    """``CLAUDE_ARCH_DEFAULT_MODEL``: the model of a request that names none."""
    default_max_tokens: int = 1024
    """``CLAUDE_ARCH_FUNCTION_MAX_TOKENS``: ``max_tokens`` of a request that sets none."""
    max_body_bytes: int = 256 * 1024
    """``CLAUDE_ARCH_FUNCTION_MAX_BODY_BYTES``: a larger body is refused before it is parsed."""
    deadline_margin_s: float = 1.0
    """``CLAUDE_ARCH_FUNCTION_DEADLINE_MARGIN_S``: each call ends this long before the
    platform's own timeout, leaving time to send the error."""
    cors_origins: tuple[str, ...] = ()
    """``CLAUDE_ARCH_FUNCTION_CORS_ORIGINS``: comma-separated allowed origins, or ``*``;
    empty: no CORS headers (the API Gateway or Function URL CORS settings may add them)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FunctionConfig:
        """The config from ``environ`` (default ``os.environ``); a bad value names its variable."""
        env = os.environ if environ is None else environ
        default = cls()
        origins = tuple(o.strip() for o in env.get(ENV_CORS_ORIGINS, "").split(",") if o.strip())
        return cls(
            default_model=env.get(ENV_DEFAULT_MODEL, default.default_model),
            default_max_tokens=_number(env, ENV_DEFAULT_MAX_TOKENS, default.default_max_tokens),
            max_body_bytes=_number(env, ENV_MAX_BODY_BYTES, default.max_body_bytes),
            deadline_margin_s=_number(env, ENV_DEADLINE_MARGIN_S, default.deadline_margin_s),
            cors_origins=origins,
        )


def _number(env: Mapping[str, str], name: str, default: N) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a {type(default).__name__}") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must not be negative")
    return value
