"""``claude-arch route eval`` and ``route fit`` on the shipped labelled set and on broken input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from claude_arch.cli import app
from claude_arch.core.routing import shipped_policy
from claude_arch.core.routing.evaluation.dataset import Example
from claude_arch.core.routing.evaluation.scoring import evaluate

DATA = Path(__file__).parents[3] / "bench" / "data" / "routing"
runner = CliRunner()


def test_eval_json_has_the_promised_fields() -> None:
    result = runner.invoke(app, ["route", "eval", str(DATA / "test.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    for key in ("accuracy", "macro_f1", "under_routing", "over_routing", "cost_usd"):
        assert isinstance(body[key], float), key
    assert set(body["baselines"]) == {"always_balanced", "always_deep", "random"}
    assert (
        body["baselines"]["always_deep"]["cost_usd"]
        > body["baselines"]["always_balanced"]["cost_usd"]
    )
    assert body["n"] == sum(sum(row.values()) for row in body["confusion"].values())


def test_eval_table_names_the_baselines() -> None:
    terminal = {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    args = ["route", "eval", str(DATA / "test.jsonl"), "-c", "rules"]
    result = runner.invoke(app, args, env=terminal)
    assert result.exit_code == 0, result.output
    assert "always deep" in result.stdout
    assert "macro-F1" in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


def test_eval_piped_prints_tab_separated_tables_and_the_prose_on_stderr() -> None:
    result = runner.invoke(app, ["route", "eval", str(DATA / "test.jsonl"), "-c", "rules"])
    assert result.exit_code == 0, result.output
    confusion, costs = result.stdout.split("\n\n")
    header, *rows = (line.split("\t") for line in confusion.splitlines())
    assert header == ["label \\ routed", "fast", "balanced", "deep"]
    assert sum(int(n) for row in rows for n in row[1:]) > 0
    priced = dict(line.split("\t") for line in costs.splitlines()[1:])
    assert float(priced["always deep"]) > float(priced["this router"]) > 0
    assert "macro-F1" in result.stderr


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "hi", "tier": "fast"}\n\n{"prompt": "x", "tier": \n')
    result = runner.invoke(app, ["route", "eval", str(bad)])
    assert result.exit_code == 1
    assert "bad.jsonl:3: not JSON" in result.output.replace("\n", "")


def test_metrics_on_a_known_mix() -> None:
    policy = shipped_policy()
    examples = [
        Example("a", "fast"),
        Example("b", "balanced"),
        Example("c", "deep"),
        Example("d", "deep"),
    ]
    routed = {"a": "fast", "b": "fast", "c": "deep", "d": "balanced"}
    report = evaluate(examples, routed.__getitem__, policy)
    assert report.accuracy == 0.5
    assert report.under_routing == 0.5
    assert report.over_routing == 0.0
    assert report.confusion["deep"] == {"fast": 0, "balanced": 1, "deep": 1}
    assert report.baselines["always_deep"] > report.baselines["always_balanced"] > report.cost_usd
