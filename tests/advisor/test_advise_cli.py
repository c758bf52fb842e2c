"""``claude-arch advise`` through Typer's runner: table, JSON, Markdown, plan, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from claude_arch.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"
runner = CliRunner()


def test_the_table_names_the_choice_and_every_variant() -> None:
    result = runner.invoke(app, ["advise", str(EXAMPLES / "chat-ui.yaml")], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "recommended: service" in result.output
    for variant in ("serverless", "pipeline-batch", "edge+service", "service+orchestrator"):
        assert variant in result.output


def test_json_names_recommended_with_the_variant_ids() -> None:
    result = runner.invoke(app, ["advise", str(EXAMPLES / "etl.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["recommended"] == "pipeline-batch"
    ids = {v["id"] for v in body["variants"]}
    assert {"serverless", "service", "pipeline", "pipeline-batch", "orchestrator", "edge"} <= ids
    assert "service+orchestrator" in ids
    assert body["capacity_note"].endswith("needs batch mode")


def test_markdown_and_plan() -> None:
    path = str(EXAMPLES / "event-triggers.yaml")
    result = runner.invoke(app, ["advise", path, "--markdown", "--plan"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("## Advice for event-triggers: **serverless**")
    assert "## Plan for serverless" in result.output
    assert "| Lambda |" in result.output
    assert "| **bill** |" in result.output


def test_plan_of_another_variant_in_json() -> None:
    path = str(EXAMPLES / "chat-ui.yaml")
    result = runner.invoke(app, ["advise", path, "--plan", "--variant", "pipeline", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)["plan"]
    assert plan["variant"] == "pipeline"
    assert plan["workers"] >= 1
    assert [line["item"] for line in plan["lines"]][-2:] == ["queue workers", "Redis"]


def test_flags_alone_make_a_profile_and_override_a_file() -> None:
    flags = ["--rpm", "20", "--input-tokens", "500", "--output-tokens", "100"]
    flags += ["-m", "claude-haiku-5-5", "--tier", "tier2", "--tolerance", "1m", "--json"]
    result = runner.invoke(app, ["advise", *flags])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["recommended"] == "serverless"
    path = str(EXAMPLES / "chat-ui.yaml")
    result = runner.invoke(app, ["advise", path, "--tier", "tier1", "--json"])
    assert "tier1 does not hold it" in result.output


def test_a_bad_profile_names_the_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\ntraffic:\n  mean_rpm: 10\ntokens:\n  input: {p50: 100}\n"
        "  output: {p50: 100}\nlatency:\n  ttft_ms: 5\nmodels: [claude-opus-5-5]\n"
    )
    result = runner.invoke(app, ["advise", str(bad)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # the error console wraps long lines
    assert f"{bad}:8: latency.ttft_ms: 5 ms is below claude-opus-5-5" in said
    assert "Traceback" not in result.output


def test_a_syntax_error_and_a_missing_file_are_errors_not_tracebacks(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("traffic: [\n")
    result = runner.invoke(app, ["advise", str(broken)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "broken.yaml:2" in said
    assert "not valid YAML" in said
    missing = runner.invoke(app, ["advise", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 1
    assert "cannot read it" in " ".join(missing.output.split())


def test_at_80_columns_the_table_fits_and_says_what_it_left_out() -> None:
    terminal = {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    result = runner.invoke(app, ["advise", str(EXAMPLES / "chat-ui.yaml")], env=terminal)
    assert result.exit_code == 0, result.output
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
    table = [line for line in lines if not line.startswith(("recommended", "  -", "  capacity"))]
    assert all(len(line) <= 80 for line in table), "\n".join(table)
    heading = next(line for line in lines if line.startswith("variant"))
    assert heading.split() == ["variant", "fit", "TTFT", "p95", "total", "p95", "all", "in",
                               "$/mo", "complexity"]  # fmt: skip
    assert "pipeline-batch+orchestrator" in result.stdout  # ids are never cut
    assert "bill, capacity, latency source: 110+ columns" in result.stdout
    assert "recommended: service" in result.stdout


def test_piped_the_table_is_tab_separated_and_the_verdict_goes_to_stderr() -> None:
    result = runner.invoke(app, ["advise", str(EXAMPLES / "chat-ui.yaml"), "--plan"])
    assert result.exit_code == 0, result.output
    advice, plan = result.stdout.split("\n\n", 1)
    header, *rows = (line.split("\t") for line in advice.splitlines())
    assert header[:3] == ["variant", "fit", "TTFT p95"]
    assert all(len(row) == len(header) for row in rows)
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_id["service"]["fit"] == "yes"
    assert float(by_id["service"]["all in $/mo"]) > 0  # no thousands separators
    sizing, bill = plan.split("\n\n")
    assert sizing.splitlines()[0] == "capacity\tvalue"
    assert bill.splitlines()[0] == "item\tquantity\tunit\tUSD/month\tnote"
    assert any(line.startswith("bill\t") for line in bill.splitlines())
    assert "recommended: service" in result.stderr
    assert "recommended" not in result.stdout
