"""Service settings: keys are required but in loopback dev mode, which is refused elsewhere."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from claude_arch.service.config import ServiceSettings, is_loopback
from claude_arch.service.tenancy.auth import key_from_headers, key_from_subprotocols


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "example.internal", ""])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_keys_are_required_by_default_even_on_loopback() -> None:
    assert ServiceSettings(_env_file=None).requires_keys  # type: ignore[call-arg]


def test_dev_mode_on_a_public_interface_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="dev: development mode"):
        ServiceSettings(_env_file=None, dev=True, host="0.0.0.0")  # type: ignore[call-arg]


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_ARCH_MAX_INFLIGHT", "7")
    monkeypatch.setenv("CLAUDE_ARCH_FALLBACKS", '{"claude-sonnet-4-5": ["claude-haiku-4-5"]}')
    s = ServiceSettings(_env_file=None)  # type: ignore[call-arg]
    assert s.max_inflight == 7
    assert s.fallbacks == {"claude-sonnet-4-5": ["claude-haiku-4-5"]}


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"x-api-key": "sk-ca-1"}, "sk-ca-1"),
        ({"authorization": "Bearer sk-ca-2"}, "sk-ca-2"),
        ({"authorization": "bearer   sk-ca-3  "}, "sk-ca-3"),
        ({"x-api-key": "sk-ca-4", "authorization": "Bearer other"}, "sk-ca-4"),
        ({"authorization": "Basic abc"}, None),
        ({"authorization": "Bearer "}, None),
        ({}, None),
    ],
)
def test_keys_from_both_sdk_header_styles(headers: dict[str, str], key: str | None) -> None:
    assert key_from_headers(headers) == key


def test_a_key_from_websocket_subprotocols() -> None:
    assert key_from_subprotocols(["claude-arch.v1", "claude-arch.key.sk-ca-x"]) == "sk-ca-x"
    assert key_from_subprotocols(["claude-arch.v1"]) is None
    assert key_from_subprotocols(["claude-arch.key."]) is None
