"""``claude-arch lambda invoke EVENT.json``: one event through a shipped handler under the real
runtime client, against an emulator started for the run; the function's answer is printed, and a
failed invocation exits 1."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from claude_arch.cli import app

EVENTS = Path(__file__).resolve().parent / "events"
runner = CliRunner()


def test_an_http_event_is_answered() -> None:
    result = runner.invoke(
        app, ["lambda", "invoke", str(EVENTS / "http_api_v2.json")], env={"ANTHROPIC_API_KEY": ""}
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["kind"] == "response"
    assert answer["payload"]["statusCode"] == 200
    body = json.loads(answer["payload"]["body"])
    assert body["text"]
    assert body["usage"]["output_tokens"] > 0


def test_an_sqs_batch_reports_its_bad_record_and_a_failed_function_exits_1(
    tmp_path: Path,
) -> None:
    result = runner.invoke(
        app,
        ["lambda", "invoke", str(EVENTS / "sqs_batch.json"), "--handler", "sqs"],
        env={"ANTHROPIC_API_KEY": ""},
    )
    assert result.exit_code == 0, result.output  # the SQS handler reports failures per record
    report = json.loads(result.stdout)["payload"]
    assert len(report["batchItemFailures"]) == 1  # the fixture's malformed record
    failed = runner.invoke(  # an HTTP event is not an SQS one: the function raises
        app,
        ["lambda", "invoke", str(EVENTS / "http_api_v2.json"), "--handler", "sqs"],
        env={"ANTHROPIC_API_KEY": ""},
    )
    assert failed.exit_code == 1, failed.output
    assert json.loads(failed.stdout)["kind"] == "error"
    not_json = tmp_path / "event.json"
    not_json.write_text("{nope")
    refused = runner.invoke(app, ["lambda", "invoke", str(not_json)])
    assert refused.exit_code == 2
    assert "event.json" in refused.output
