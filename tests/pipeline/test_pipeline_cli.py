"""``claude-arch pipeline``: submit checks everything first; submit twice adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claude_arch.cli import app
from claude_arch.testing import EmulatorServer

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAUDE_ARCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CLAUDE_ARCH_DATABASE_URL", raising=False)
    return tmp_path


def docs(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"doc{i}.txt").write_text(f"document number {i}")
    return folder


def test_submit_run_results_and_resubmit(env: Path) -> None:
    folder = docs(env / "docs", 5)
    args = ["pipeline", "submit", str(folder), "--template", "summarize", "--run", "n"]
    args += ["--model", "claude-haiku-4-5"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "5 new jobs" in first.output
    again = runner.invoke(app, args)
    assert "0 new jobs, 5 already" in again.output

    with EmulatorServer(speed=0) as emu:
        import os

        os.environ["ANTHROPIC_BASE_URL"], os.environ["ANTHROPIC_API_KEY"] = emu.url, emu.api_key
        try:
            ran = runner.invoke(app, ["pipeline", "run", "--run", "n"])
        finally:
            del os.environ["ANTHROPIC_BASE_URL"], os.environ["ANTHROPIC_API_KEY"]
    assert ran.exit_code == 0, ran.output
    assert "succeeded 5" in ran.output

    status = runner.invoke(app, ["pipeline", "status", "--run", "n", "--json"])
    assert json.loads(status.output)["succeeded"] == 5
    piped = runner.invoke(app, ["pipeline", "status", "--run", "n"])  # not a terminal: TSV
    pairs = dict(line.split("\t") for line in piped.output.splitlines())
    assert pairs["succeeded"] == "5"
    assert pairs["queued"] == "0"
    terminal = {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    shown = runner.invoke(app, ["pipeline", "status", "--run", "n"], env=terminal)
    assert all(len(line) <= 80 for line in shown.output.splitlines())
    assert any(line.split() == ["succeeded", "5"] for line in shown.output.splitlines())
    out = env / "results.jsonl"
    assert runner.invoke(app, ["pipeline", "results", "--out", str(out)]).exit_code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["source"] for line in lines) == sorted(str(p) for p in folder.iterdir())
    assert all(line["result"] and line["usage"]["output_tokens"] for line in lines)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"model": "claude-haiku-4-5", "max_tokens": 10, "messages": []}\n', "bad.jsonl:2"),
        ("not json\n", "bad.jsonl:2: not JSON"),
        (
            '{"model": "claude-haiku-4-20250514", "max_tokens": 1, "messages": '
            '[{"role": "user", "content": "x"}]}\n',
            "bad.jsonl:2",
        ),
    ],
)
def test_a_bad_jsonl_line_refuses_the_whole_file(env: Path, content: str, expected: str) -> None:
    good = (
        json.dumps(
            {
                "model": "claude-haiku-4-5",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "hi"}],
            }
        )
        + "\n"
    )
    bad = env / "bad.jsonl"
    bad.write_text(good + content)
    result = runner.invoke(app, ["pipeline", "submit", str(bad)])
    assert result.exit_code == 1
    assert expected in result.output
    assert "nothing was enqueued" in result.output
    status = runner.invoke(app, ["pipeline", "status", "--json"])
    assert json.loads(status.output)["queued"] == 0


def test_empty_files_unknown_placeholders_and_models_are_refused(env: Path) -> None:
    folder = docs(env / "docs", 2)
    (folder / "empty.txt").write_text("  \n")
    result = runner.invoke(app, ["pipeline", "submit", str(folder), "--template", "summarize"])
    assert result.exit_code == 1
    assert f"{folder / 'empty.txt'}: empty input" in result.output

    (folder / "empty.txt").unlink()
    template = env / "t.txt"
    template.write_text("Translate {txt}")
    result = runner.invoke(app, ["pipeline", "submit", str(folder), "--template", str(template)])
    assert "unknown placeholder {txt}" in result.output

    result = runner.invoke(
        app, ["pipeline", "submit", str(folder), "--template", "classify", "--model", "gpt-4"]
    )
    assert result.exit_code == 1
    assert "--model" in result.output
    assert json.loads(runner.invoke(app, ["pipeline", "status", "--json"]).output)["queued"] == 0


def test_model_auto_routes_each_job_on_its_own(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = {"hi": "Hi!", "proof": "Prove that the square root of 2 is irrational."}
    jsonl = env / "mixed.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps(
                {"model": "auto", "max_tokens": 32, "messages": [{"role": "user", "content": p}]}
            )
            + "\n"
            for p in prompts.values()
        )
    )
    submitted = runner.invoke(app, ["pipeline", "submit", str(jsonl), "--run", "auto"])
    assert submitted.exit_code == 0, submitted.output
    with EmulatorServer(speed=0) as emu:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", emu.api_key)
        ran = runner.invoke(app, ["pipeline", "run", "--run", "auto"])
        answered = sorted(m for m, s in emu.stats()["by_model"].items() if s.get("requests"))
    assert ran.exit_code == 0, ran.output
    # the rules send the greeting to the fast tier and the proof to the deep one
    assert answered == ["claude-haiku-5-5", "claude-opus-5-5"]
