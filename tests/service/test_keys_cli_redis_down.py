"""``keys list`` with Redis unreachable: exit 1 and one line naming the limits store, not a
redis ConnectionError traceback (the spending column comes from Redis)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_keys_cli import keys


def test_keys_list_with_redis_down_exits_1_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    database_url = f"sqlite:///{tmp_path / 'k.db'}"
    created = keys(database_url, "create", "a")
    assert created.exit_code == 0, created.output
    result = keys(database_url, "list", redis_url="redis://127.0.0.1:1/0")
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "limits store is unreachable" in result.stderr
    assert "127.0.0.1" not in result.output


@pytest.mark.parametrize("command", [["list"], ["create", "a"], ["revoke", "key_0"]])
def test_keys_with_the_database_down_exit_1_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = keys("postgresql://claude@127.0.0.1:1/gone", *command)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "database cannot be reached" in result.stderr
