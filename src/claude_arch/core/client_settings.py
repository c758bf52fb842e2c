"""The settings a client reads, from the environment, without pydantic-settings.

:class:`~claude_arch.settings.Settings` is every knob of claude-arch, one pydantic-settings class.
A client built without settings (``SyncClaudeClient()``, ``ClaudeClient()``) reads a dozen of
them, and importing pydantic-settings and building that class loads most of pydantic with it:
a third of a Lambda function's cold start. :func:`client_settings` reads those fields as
``Settings()`` does (the same variables, matched without regard to case, an alias before the
prefixed name) and checks them with the same field schemas, run by pydantic-core; the values it
hands back (:class:`ClientSettings`) are the ones ``Settings()`` would hold.

Whenever it is not the plain case it leaves the answer to ``Settings()`` itself: when
``CLAUDE_ARCH_ENV_FILE`` names a dotenv file, or when a value is refused (``Settings()`` then
raises its own error, naming the field). ``tests/test_client_settings.py`` checks that both
read any environment alike.

    >>> import os
    >>> os.environ["CLAUDE_ARCH_MAX_RETRIES"] = "5"
    >>> client_settings().max_retries
    5
    >>> del os.environ["CLAUDE_ARCH_MAX_RETRIES"]
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from claude_arch.constants import (
    DEFAULT_BEDROCK_INFERENCE_PROFILE,
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_EMULATOR_SPEED,
    DEFAULT_LEARN_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MODEL,
    DEFAULT_RATE_LIMIT_TIER,
    DEFAULT_TIMEOUT_S,
    DEFAULT_UPSTREAM,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_FILE,
    ENV_PREFIX,
    PROVIDERS,
)

if TYPE_CHECKING:
    from pydantic_core import CoreSchema, SchemaValidator

    from claude_arch.settings import Settings

__all__ = ["ALIASES", "FIELDS", "ClientSettings", "Secret", "check_base_url", "client_settings"]

ALIASES: dict[str, tuple[str, ...]] = {
    "api_key": (ENV_API_KEY, ENV_PREFIX + "API_KEY"),
    "base_url": (ENV_BASE_URL, ENV_PREFIX + "BASE_URL"),
}
"""The variables a field is read from before ``CLAUDE_ARCH_<FIELD>`` (``Settings``' aliases)."""


def check_base_url(value: str | None) -> str | None:
    """A base URL as the settings take it: None when blank; else an http(s) URL with a host and
    nothing that belongs elsewhere (credentials in it would be sent as Basic auth beside the key,
    and shown wherever the URL is). Raises ValueError."""
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL with a host, got {value!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "a base URL must not carry credentials (user:password@): give the API key as "
            "ANTHROPIC_API_KEY (it is sent as the x-api-key header)"
        )
    if parts.query or parts.fragment:
        raise ValueError("a base URL has no query string or fragment; the client adds paths")
    return value.strip()


class Secret:
    """A key that is not shown: ``repr`` and ``str`` hide it, as pydantic's ``SecretStr`` does
    (and, like it, an empty one is false)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""


class ClientSettings(NamedTuple):  # a NamedTuple: a tenth of a dataclass's import time
    """What a client reads of :class:`~claude_arch.settings.Settings`, the same fields with the
    same defaults; :meth:`to_settings` gives the whole ``Settings``."""

    api_key: Secret | None = None
    base_url: str | None = None
    upstream: str = DEFAULT_UPSTREAM
    default_model: str = DEFAULT_MODEL
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout_s: float = DEFAULT_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    rate_limit_tier: str = DEFAULT_RATE_LIMIT_TIER
    learn_limits: bool = DEFAULT_LEARN_LIMITS
    redis_url: str | None = None
    emulator_speed: float = DEFAULT_EMULATOR_SPEED
    bedrock_inference_profile: str = DEFAULT_BEDROCK_INFERENCE_PROFILE
    vertex_region: str | None = None
    read: tuple[str, ...] = ()
    """The fields the environment set (the rest are defaults)."""

    @property
    def uses_emulator(self) -> bool:
        """As :attr:`Settings.uses_emulator <claude_arch.settings.Settings.uses_emulator>`."""
        return self.api_key is None and self.base_url is None and self.upstream == "anthropic"

    def to_settings(self) -> Settings:
        """The whole :class:`~claude_arch.settings.Settings`: these values, and the fields a
        client does not read from the environment."""
        from claude_arch.settings import Settings

        values: dict[str, Any] = {name: getattr(self, name) for name in self.read}
        if self.api_key is not None and "api_key" in values:
            values["api_key"] = self.api_key.get_secret_value()
        return Settings(**values)


FIELDS: tuple[str, ...] = tuple(name for name in ClientSettings._fields if name != "read")


def client_settings() -> ClientSettings | Settings:
    """The client's settings from the environment: a :class:`ClientSettings`, or ``Settings()``
    when a dotenv file is named or a value is refused (raising its error)."""
    if os.environ.get(ENV_FILE):
        return _full_settings()
    environ = {name.lower(): value for name, value in os.environ.items()}
    found: dict[str, str] = {}
    for name in FIELDS:
        for variable in (*ALIASES.get(name, ()), ENV_PREFIX + name.upper()):
            value = environ.get(variable.lower())
            if value is not None:
                found[name] = value
                break
    if not found:
        return ClientSettings()
    from pydantic_core import ValidationError

    try:
        values: dict[str, Any] = _validator().validate_python(found)
    except ValidationError:
        return _full_settings()  # which raises the error, in Settings' words
    if values.get("api_key") is not None:
        values["api_key"] = Secret(values["api_key"])
    return ClientSettings(**values, read=tuple(found))


def _full_settings() -> Settings:
    from claude_arch.settings import Settings

    return Settings()


@functools.cache
def _validator() -> SchemaValidator:
    """The fields' schemas as ``Settings`` has them (lax: values are the environment's text)."""
    from pydantic_core import SchemaValidator
    from pydantic_core import core_schema as cs

    def field(schema: CoreSchema) -> Any:
        return cs.typed_dict_field(schema, required=False)

    text = cs.str_schema()
    maybe_text = cs.nullable_schema(text)
    return SchemaValidator(
        cs.typed_dict_schema(
            {
                "api_key": field(maybe_text),
                "base_url": field(cs.no_info_after_validator_function(check_base_url, maybe_text)),
                "upstream": field(cs.literal_schema(list(PROVIDERS))),
                "default_model": field(text),
                "max_retries": field(cs.int_schema(ge=0, le=20)),
                "timeout_s": field(cs.float_schema(gt=0)),
                "connect_timeout_s": field(cs.float_schema(gt=0)),
                "rate_limit_tier": field(text),
                "learn_limits": field(cs.bool_schema()),
                "redis_url": field(maybe_text),
                "emulator_speed": field(cs.float_schema(ge=0)),
                "bedrock_inference_profile": field(text),
                "vertex_region": field(maybe_text),
            }
        )
    )
