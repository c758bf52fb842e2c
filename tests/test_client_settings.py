"""A client's settings read without pydantic-settings hold what ``Settings()`` holds, for any
environment; where they cannot, ``Settings()`` itself answers (and raises its own error)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from claude_arch.constants import ENV_FILE, ENV_PREFIX
from claude_arch.core.client_settings import (
    ALIASES,
    FIELDS,
    ClientSettings,
    Secret,
    client_settings,
)
from claude_arch.settings import Settings

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)
integers = st.integers(-3, 30).map(str) | st.sampled_from(
    [" 5 ", "5.0", "5.5", "1e1", "0x10", "1_0", "", "x", "+3", "021"]
)
floats = st.floats(allow_nan=True).map(str) | st.sampled_from(
    ["0", "-1", "1.5", " 2 ", "inf", "-inf", "nan", "1e-3", "1_000", "", "x"]
)
booleans = st.sampled_from(
    [
        "true",
        "false",
        "1",
        "0",
        "yes",
        "no",
        "on",
        "off",
        "t",
        "f",
        "y",
        "n",
        "TRUE",
        " true",
        "maybe",
        "",
        "2",
    ]
)
urls = st.sampled_from(
    [
        "http://h",
        "https://h:1/p/",
        " http://h ",
        "",
        "  ",
        "ftp://h",
        "http://",
        "h",
        "http://u:p@h",
        "http://h?q=1",
        "http://h/#f",
        "https://api.example",
    ]
)
VALUES: dict[str, st.SearchStrategy[str]] = {
    "api_key": text,
    "base_url": urls | text,
    "upstream": st.sampled_from(["anthropic", "bedrock", "vertex", "Bedrock", "", "gcp"]),
    "default_model": text,
    "max_retries": integers,
    "timeout_s": floats,
    "connect_timeout_s": floats,
    "rate_limit_tier": st.sampled_from(["tier1", "tier4", "none", ""]) | text,
    "learn_limits": booleans,
    "redis_url": text,
    "emulator_speed": floats,
    "bedrock_inference_profile": st.sampled_from(["global", "us", ""]) | text,
    "vertex_region": text,
    # fields a client does not read, which Settings() reads beside them
    "data_dir": text,
    "bedrock_region": text,
}


def variables(field: str) -> list[str]:
    return [*ALIASES.get(field, ()), ENV_PREFIX + field.upper()]


@st.composite
def environments(draw: st.DrawFn) -> dict[str, str]:
    env: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 6))):
        field = draw(st.sampled_from(sorted(VALUES)))
        name = draw(st.sampled_from(variables(field)))
        name = draw(st.sampled_from([name, name.lower(), name.title()]))  # any case is read
        env[name] = draw(VALUES[field])
    env["UNRELATED_" + draw(st.sampled_from(["X", "API_KEY"]))] = "1"
    return env


def read(env: dict[str, str]) -> tuple[ClientSettings | Settings | str, Settings | str]:
    """``client_settings()`` and ``Settings()`` in ``env`` (a refusal as its message)."""
    with mock.patch.dict(os.environ, env, clear=True):
        try:
            light: ClientSettings | Settings | str = client_settings()
        except ValidationError as exc:
            light = str(exc)
        try:
            full: Settings | str = Settings()
        except ValidationError as exc:
            full = str(exc)
        if isinstance(light, ClientSettings):
            assert light.to_settings() == full  # the whole Settings, from the same values
    return light, full


def shown(value: Any) -> Any:
    """A value as a client uses it (a key: its text and whether it counts as set)."""
    if hasattr(value, "get_secret_value"):
        return ("secret", value.get_secret_value(), bool(value))
    return value


@settings(max_examples=400, deadline=None)
@given(environments())
def test_any_environment_reads_as_settings_reads_it(env: dict[str, str]) -> None:
    light, full = read(env)
    if isinstance(full, str):
        assert light == full  # refused: Settings() raised, in its own words
        return
    assert not isinstance(light, str)
    for name in FIELDS:
        assert shown(getattr(light, name)) == shown(getattr(full, name)), name


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"ANTHROPIC_API_KEY": "sk-ant-1", "anthropic_base_url": "http://127.0.0.1:9"},
        {"CLAUDE_ARCH_API_KEY": "sk-ant-2", "CLAUDE_ARCH_MAX_RETRIES": "5"},
        {"claude_arch_learn_limits": "off", "CLAUDE_ARCH_TIMEOUT_S": "2.5"},
        {"CLAUDE_ARCH_UPSTREAM": "vertex", "CLAUDE_ARCH_VERTEX_REGION": "us-east5"},
    ],
)
def test_plain_environments_are_read_without_pydantic_settings(env: dict[str, str]) -> None:
    light, full = read(env)
    assert isinstance(light, ClientSettings)
    assert isinstance(full, Settings)


def test_the_fields_are_settings_fields_with_their_defaults_and_variables() -> None:
    defaults = ClientSettings()
    for name in FIELDS:
        field = Settings.model_fields[name]
        assert getattr(defaults, name) == field.default, name
        aliases = getattr(field.validation_alias, "choices", ())
        assert tuple(aliases) == ALIASES.get(name, ()), name


def test_a_refused_value_is_settings_own_error() -> None:
    with (
        mock.patch.dict(os.environ, {"CLAUDE_ARCH_MAX_RETRIES": "-1"}, clear=True),
        pytest.raises(ValidationError, match="max_retries"),
    ):
        client_settings()


def test_a_named_dotenv_file_is_read_by_settings(tmp_path: Path) -> None:
    dotenv = tmp_path / "prod.env"
    dotenv.write_text("CLAUDE_ARCH_MAX_RETRIES=7\n")
    with mock.patch.dict(os.environ, {ENV_FILE: str(dotenv)}, clear=True):
        read_back = client_settings()
    assert isinstance(read_back, Settings)
    assert read_back.max_retries == 7


def test_the_key_is_never_shown() -> None:
    with mock.patch.dict(os.environ, {"ANTHROPIC_API_KEY": "sk-ant-canary-9"}, clear=True):
        read_back = client_settings()
    assert isinstance(read_back, ClientSettings)
    assert read_back.api_key == Secret("sk-ant-canary-9")
    assert "canary" not in repr(read_back)
    assert "canary" not in str(read_back.api_key)
    assert not read_back.uses_emulator
