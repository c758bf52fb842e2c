from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from claude_arch.pipeline.config import PipelineSettings
from claude_arch.service.config import ServiceSettings
from claude_arch.settings import Settings


def test_embedded_defaults_use_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    s = Settings(_env_file=None)
    assert s.uses_emulator
    assert s.sqlalchemy_url.startswith("sqlite:///")


def test_the_key_is_read_from_the_environment_and_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-canary-123")
    s = Settings(_env_file=None)
    assert not s.uses_emulator
    assert s.api_key is not None
    assert s.api_key.get_secret_value() == "sk-ant-canary-123"
    assert "canary" not in repr(s)
    assert "canary" not in str(s.model_dump())


def test_prefixed_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_ARCH_REDIS_URL", "redis://example:6379/0")
    monkeypatch.setenv("CLAUDE_ARCH_MAX_RETRIES", "5")
    s = Settings(_env_file=None)
    assert s.redis_url == "redis://example:6379/0"
    assert s.max_retries == 5


def test_bad_values_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_ARCH_MAX_RETRIES", "-1")
    with pytest.raises(ValueError, match="max_retries"):
        Settings(_env_file=None)


def test_a_dotenv_file_in_the_working_directory_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("CLAUDE_ARCH_MAX_RETRIES=7\nANTHROPIC_API_KEY=sk-ant-stray\n")
    monkeypatch.chdir(tmp_path)
    for name in ("CLAUDE_ARCH_ENV_FILE", "CLAUDE_ARCH_MAX_RETRIES", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.max_retries != 7
    assert s.api_key is None


def test_claude_arch_env_file_names_the_dotenv_file_to_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / "prod.env"
    env.write_text("CLAUDE_ARCH_MAX_RETRIES=7\n")
    monkeypatch.delenv("CLAUDE_ARCH_MAX_RETRIES", raising=False)
    monkeypatch.setenv("CLAUDE_ARCH_ENV_FILE", str(env))
    assert Settings().max_retries == 7
    assert ServiceSettings().max_retries == 7
    assert Settings(_env_file=None).max_retries != 7  # an explicit argument wins


@pytest.mark.parametrize("cls", [Settings, ServiceSettings, PipelineSettings])
def test_every_field_names_its_variable_and_says_what_it_does(cls: type[BaseSettings]) -> None:
    for name, field in cls.model_fields.items():
        description = field.description or ""
        variable, _, what = description.partition(": ")
        aliases = getattr(field.validation_alias, "choices", ())
        prefix = cls.model_config.get("env_prefix", "")
        assert variable in {f"{prefix}{name.upper()}", *aliases}, (name, description)
        assert len(what) > 10, (name, description)
