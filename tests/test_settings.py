from __future__ import annotations

import pytest

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
