from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from claude_arch.cli import app
from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.testing import EmulatorServer

runner = CliRunner()


def test_models_json_lists_the_whole_catalog() -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == [m.id for m in default_catalog()]
    haiku = next(r for r in rows if r["id"] == "claude-haiku-4-5")
    assert haiku["prices"]["input"] == "1"
    assert "claude-haiku-4-5-20251001" in haiku["aliases"]


def test_models_table_shows_every_id() -> None:
    result = runner.invoke(app, ["models"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for model in default_catalog():
        assert model.id in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert "claude-arch 0.1.0" in result.output


def test_ask_streams_through_the_client_and_prints_cost() -> None:
    with EmulatorServer() as emu:
        emu.script(user="ping", text="pong from the emulator")
        env = {"ANTHROPIC_BASE_URL": emu.url, "ANTHROPIC_API_KEY": "sk-ant-test", "COLUMNS": "200"}
        result = runner.invoke(app, ["ask", "ping", "--model", "claude-haiku-4-5"], env=env)
        assert result.exit_code == 0, result.output
        assert "pong from the emulator" in result.stdout
        assert "$0.0000" in result.stderr
        assert emu.stats()["totals"]["requests"] == 1


def test_ask_keeps_its_summary_on_one_line_at_80_columns() -> None:
    long_answer = " ".join(["word"] * 60)
    with EmulatorServer() as emu:
        emu.script(user="ping", text=long_answer)
        env = {"ANTHROPIC_BASE_URL": emu.url, "ANTHROPIC_API_KEY": "sk-ant-test", "COLUMNS": "80"}
        result = runner.invoke(app, ["ask", "ping", "--model", "claude-haiku-4-5"], env=env)
    assert result.exit_code == 0, result.output
    summary = [line for line in result.stderr.splitlines() if "first token" in line]
    assert len(summary) == 1
    assert summary[0].startswith("claude-haiku-4-5 · ")
    assert summary[0].rstrip().endswith("stop end_turn")
    assert long_answer in result.stdout  # the answer is not broken into lines either


def test_ask_with_the_seed_model_id_fails_before_any_request() -> None:
    with EmulatorServer() as emu:
        env = {"ANTHROPIC_BASE_URL": emu.url, "ANTHROPIC_API_KEY": "sk-ant-test", "COLUMNS": "200"}
        result = runner.invoke(app, ["ask", "hi", "-m", "claude-haiku-4-20250514"], env=env)
        assert result.exit_code == 1
        assert "not_found_error (model)" in result.stderr
        assert "claude-haiku-4-5" in result.stderr
        assert emu.stats()["totals"].get("requests", 0) == 0


def test_demo_runs_the_emulator_and_a_streamed_answer() -> None:
    # it ends after its answer unless --serve keeps the emulator up
    result = runner.invoke(app, ["demo", "--port", "0", "--speed", "0"])
    assert result.exit_code == 0, result.output
    assert "Emulator" in result.stderr
    assert "in /" in result.stderr  # the usage line after the streamed answer


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--fault", "529:2"], "KIND:PROBABILITY"),
        (["--fault", "bogus:0.1"], "KIND:PROBABILITY"),
        (["--tier", "tier9"], "tier1"),
        (["--port", "70000"], "--port"),
    ],
)
def test_emulator_rejects_bad_options_naming_them(args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["emulator", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert needle in result.output


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's path below ``command`` (a group has ``commands``)."""
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += _command_paths(sub, (*path, name))
    return paths


@pytest.mark.parametrize("path", _command_paths(typer.main.get_command(app)), ids=" ".join)
def test_on_off_flags_show_no_value_marker(path: tuple[str, ...]) -> None:
    """An on/off flag takes no value, so its help shows none (typer printed ``<bool>``); only
    typer's own ``--help`` line keeps it."""
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    marked = [line for line in result.output.splitlines() if "<bool>" in line]
    assert all("--help" in line for line in marked), marked


@pytest.mark.parametrize(("args", "serves_retired"), [([], False), (["--serve-retired"], True)])
def test_emulator_serve_retired_flag_reaches_its_config(
    monkeypatch: pytest.MonkeyPatch, args: list[str], serves_retired: bool
) -> None:
    started: list[Any] = []
    monkeypatch.setattr("claude_arch.emulator.serve", started.append)
    result = runner.invoke(app, ["emulator", "--port", "0", *args])
    assert result.exit_code == 0, result.output
    assert [c.serve_retired for c in started] == [serves_retired]
    assert started[0].today is None  # the real date
