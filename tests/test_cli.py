from __future__ import annotations

import json

from typer.testing import CliRunner

from claude_arch.cli import app
from claude_arch.core.catalog import default_catalog

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
