"""Settings: one pydantic-settings class, read from the environment.

A client built without settings reads its dozen fields through
:func:`claude_arch.core.client_settings.client_settings` instead (the same variables, schemas and
defaults, without importing pydantic-settings); ``client.settings`` is still this class.

A dotenv file is read only when asked for: ``CLAUDE_ARCH_ENV_FILE=path/.env`` in the environment
(or ``Settings(_env_file=path)``), never a ``.env`` that happens to lie in the working directory.
The service's start-up log line names the file it read, if any.

With nothing set, everything runs on embedded defaults: the built-in emulator as upstream,
in-process rate limits, SQLite in the data directory.

    >>> s = Settings(_env_file=None)
    >>> s.uses_emulator
    True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    ENV_FILE,
    ENV_PREFIX,
)
from claude_arch.core.client_settings import ALIASES, check_base_url

__all__ = ["Settings", "SettingsBase"]


class SettingsBase(BaseSettings):
    """What every settings class of claude-arch shares: a dotenv file is read only when
    ``CLAUDE_ARCH_ENV_FILE`` names one (or ``_env_file=`` is given)."""

    def __init__(self, **values: Any) -> None:
        values.setdefault("_env_file", os.environ.get(ENV_FILE) or None)
        super().__init__(**values)


class Settings(SettingsBase):
    """Every knob of claude-arch, each with the environment variable that sets it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=None,
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,  # a rejected URL or key must not be echoed into a log
    )

    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(*ALIASES["api_key"]),
        description="ANTHROPIC_API_KEY: the real API key. Unset: the embedded emulator is used.",
    )
    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(*ALIASES["base_url"]),
        description="ANTHROPIC_BASE_URL: where the Messages API lives (default: Anthropic's).",
    )
    data_dir: Path = Field(
        default=Path("data"), description="CLAUDE_ARCH_DATA_DIR: SQLite files and other state."
    )
    database_url: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_DATABASE_URL: SQLAlchemy URL; unset means SQLite in data_dir.",
    )
    redis_url: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_REDIS_URL: share rate limits through Redis; unset: in-process.",
    )
    default_model: str = Field(
        default=DEFAULT_MODEL, description="CLAUDE_ARCH_DEFAULT_MODEL: used for model 'auto'."
    )
    max_retries: int = Field(
        default=DEFAULT_MAX_RETRIES,
        ge=0,
        le=20,
        description="CLAUDE_ARCH_MAX_RETRIES: retries of a failed attempt (429, 5xx, 529, "
        "connection errors) before falling back or giving up.",
    )
    timeout_s: float = Field(
        default=DEFAULT_TIMEOUT_S,
        gt=0,
        description="CLAUDE_ARCH_TIMEOUT_S: seconds one attempt may take, end to end.",
    )
    connect_timeout_s: float = Field(
        default=DEFAULT_CONNECT_TIMEOUT_S,
        gt=0,
        description="CLAUDE_ARCH_CONNECT_TIMEOUT_S: seconds to open a connection.",
    )
    rate_limit_tier: str = Field(
        default=DEFAULT_RATE_LIMIT_TIER,
        description="CLAUDE_ARCH_RATE_LIMIT_TIER: preset of RPM/ITPM/OTPM per family "
        "(tier1..tier4, 'none' to disable client-side limiting).",
    )
    learn_limits: bool = Field(
        default=DEFAULT_LEARN_LIMITS,
        description="CLAUDE_ARCH_LEARN_LIMITS: adopt the limits that responses' "
        "anthropic-ratelimit-*-limit headers announce.",
    )
    emulator_speed: float = Field(
        default=DEFAULT_EMULATOR_SPEED,
        ge=0,
        description="CLAUDE_ARCH_EMULATOR_SPEED: pace of the embedded emulator "
        "(1 realistic, 100 for tests, 0 no pacing).",
    )

    def __init__(self, **values: Any) -> None:
        values.setdefault("_env_file", os.environ.get(ENV_FILE) or None)
        super().__init__(**values)

    upstream: Literal["anthropic", "bedrock", "vertex"] = Field(
        default=DEFAULT_UPSTREAM,
        description="CLAUDE_ARCH_UPSTREAM: where Claude is called: 'anthropic' (the Messages "
        "API at ANTHROPIC_BASE_URL), 'bedrock' (Amazon Bedrock) or 'vertex' (Google Vertex "
        "AI); a fallback chain may name a model on another one ('bedrock:claude-sonnet-4-6').",
    )
    bedrock_region: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_BEDROCK_REGION: the Bedrock runtime's region (else AWS_REGION).",
    )
    bedrock_profile: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_BEDROCK_PROFILE: an AWS profile to sign with (else the standard "
        "chain: environment, AWS_PROFILE, the Lambda or instance role).",
    )
    bedrock_inference_profile: str = Field(
        default=DEFAULT_BEDROCK_INFERENCE_PROFILE,
        description="CLAUDE_ARCH_BEDROCK_INFERENCE_PROFILE: the geography models are called "
        "through (global, us, eu, apac, jp, au), or '' for the in-region model ID.",
    )
    bedrock_base_url: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_BEDROCK_BASE_URL: another Bedrock runtime endpoint (a VPC "
        "endpoint, the emulator).",
    )
    vertex_project: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_VERTEX_PROJECT: the Google Cloud project (else the "
        "credentials' or GOOGLE_CLOUD_PROJECT).",
    )
    vertex_region: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_VERTEX_REGION: the Vertex AI region (else CLOUD_ML_REGION).",
    )
    vertex_access_token: SecretStr | None = Field(
        default=None,
        description="CLAUDE_ARCH_VERTEX_ACCESS_TOKEN: a static OAuth token instead of "
        "Application Default Credentials.",
    )
    vertex_base_url: str | None = Field(
        default=None,
        description="CLAUDE_ARCH_VERTEX_BASE_URL: another Vertex endpoint (the emulator: "
        "http://host:port/v1).",
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return check_base_url(value)

    @property
    def uses_emulator(self) -> bool:
        """True when no API key and no base URL are set and the upstream is the Anthropic API:
        requests go to the embedded emulator."""
        return self.api_key is None and self.base_url is None and self.upstream == "anthropic"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'claude-arch.db'}"
