"""``keys list`` with Redis unreachable: exit 1 and one line naming the limits store, not a
redis ConnectionError traceback (the spending column comes from Redis)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from claude_arch.service.keys_cli import keys_app


def test_keys_list_with_redis_down_exits_1_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    app = typer.Typer()
    app.add_typer(keys_app, name="keys")

    @app.callback()
    def _root() -> None:
        """claude-arch (test root)."""

    env = {
        "CLAUDE_ARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
        "CLAUDE_ARCH_REDIS_URL": "",
    }
    created = CliRunner().invoke(app, ["keys", "create", "a"], env=env)
    assert created.exit_code == 0, created.output
    env["CLAUDE_ARCH_REDIS_URL"] = "redis://127.0.0.1:1/0"
    result = CliRunner().invoke(app, ["keys", "list"], env=env)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "limits store is unreachable" in result.stderr
    assert "127.0.0.1" not in result.output


@pytest.mark.parametrize("command", [["list"], ["create", "a"], ["revoke", "key_0"]])
def test_keys_with_the_database_down_exit_1_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    app.add_typer(keys_app, name="keys")

    @app.callback()
    def _root() -> None:
        """claude-arch (test root)."""

    env = {"CLAUDE_ARCH_DATABASE_URL": "postgresql://claude@127.0.0.1:1/gone"}
    result = CliRunner().invoke(app, ["keys", *command], env=env)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "database cannot be reached" in result.stderr
