"""``claude-arch bench`` end to end: a small profile through every built variant against the
emulator (real processes: the service, the edge, Lambda environments under awslambdaric; the
pipeline's dispatcher in the bench's own process), the JSON figures, the HTML report, and the
report in headless Chromium. Bad input: exit 2 naming the field, no traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from claude_arch.advisor.measure.variants import edge_available
from claude_arch.cli import app
from claude_arch.core.pricing.catalog import default_catalog

from .headless import check_pages, chromium_driver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PNG = b"\x89PNG\r\n\x1a\n"
PROFILE = """\
name: small
traffic: {mean_rpm: 30, peak_rpm: 60}
tokens:
  input: {p50: 300, p95: 900}
  output: {p50: 60, p95: 150}
rate_limit_tier: tier4
delay_tolerance: 1m
models: [claude-haiku-5-5]
"""
LEVELS = (1, 3)
REQUESTS = 12
STREAMING = {"service", "orchestrator", "edge"}
NOT_STREAMING = {"pipeline", "pipeline-batch", "serverless"}


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claude_arch.cli", "bench", *args],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One run of the command on the small profile: its JSON and the HTML report's path."""
    where = tmp_path_factory.mktemp("bench")
    profile = where / "small.yaml"
    profile.write_text(PROFILE)
    html = where / "report.html"
    done = _bench(
        str(profile), "--requests", str(REQUESTS), "--concurrency", ",".join(map(str, LEVELS)),
        "--speed", "100", "--json", "--html", str(html),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout), html


def test_every_built_variant_is_measured_and_the_rest_shown(
    bench_run: tuple[dict[str, Any], Path],
) -> None:
    body, _ = bench_run
    status = {v["id"]: v["status"] for v in body["variants"]}
    expected = {"service", "orchestrator", "pipeline", "pipeline-batch", "serverless"}
    if edge_available():
        expected.add("edge")
    else:
        assert status["edge"] == "not built"
    for vid in expected:
        reason = next(v["reason"] for v in body["variants"] if v["id"] == vid)
        assert status[vid] == "measured", (vid, reason)
    assert body["speed"] == 100
    assert body["concurrency"] == list(LEVELS)


def test_the_figures_are_sane(bench_run: tuple[dict[str, Any], Path]) -> None:
    body, _ = bench_run
    measured = [v for v in body["variants"] if v["status"] == "measured"]
    assert measured
    for v in measured:
        assert [r["concurrency"] for r in v["runs"]] == list(LEVELS), v["id"]
        for run in v["runs"]:
            assert run["ok"] == run["requests"] == REQUESTS, (v["id"], run)
            assert run["latency_p99_ms"] >= run["latency_p50_ms"] > 0, (v["id"], run)
            assert run["ttft_p99_ms"] >= run["ttft_p50_ms"] > 0, (v["id"], run)
            assert run["throughput_rps"] > 0
            assert run["cost_per_1k_usd"] > 0
            assert 0 <= run["upstream_429_share"] <= 1
        figures = v["figures"]
        assert figures == {k: v["runs"][-1][k] for k in figures}  # the highest concurrency
        if v["id"] in NOT_STREAMING:
            assert figures["ttft_p50_ms"] == figures["latency_p50_ms"]
        else:
            assert v["id"] in STREAMING
            assert figures["ttft_p50_ms"] < figures["latency_p50_ms"]


def test_cost_per_1000_matches_the_catalog(bench_run: tuple[dict[str, Any], Path]) -> None:
    """Priced on what was drawn: within a factor of two of the median request at list price."""
    body, _ = bench_run
    median = {"input_tokens": int(body["tokens"]["input_p50"]),
              "output_tokens": int(body["tokens"]["output_p50"])}  # fmt: skip
    per_1k = float(default_catalog().cost("claude-haiku-5-5", median) * Decimal(1000))
    for vid in ("service", "pipeline", "serverless"):
        cost = next(v for v in body["variants"] if v["id"] == vid)["figures"]["cost_per_1k_usd"]
        assert per_1k / 2 < cost < per_1k * 2, (vid, cost, per_1k)


def test_batch_mode_costs_half_of_sync_mode(bench_run: tuple[dict[str, Any], Path]) -> None:
    """The same drawn requests through the pipeline, sync and batch: the catalog's discount."""
    body, _ = bench_run
    cost = {
        v["id"]: v["figures"]["cost_per_1k_usd"]
        for v in body["variants"]
        if v["id"] in ("pipeline", "pipeline-batch")
    }
    assert cost["pipeline-batch"] == pytest.approx(cost["pipeline"] * 0.5, rel=0.01)
    batch = next(v for v in body["variants"] if v["id"] == "pipeline-batch")
    assert all("one Message Batch" in " ".join(run["notes"]) for run in batch["runs"])


def test_serverless_and_orchestrator_say_what_else_they_saw(
    bench_run: tuple[dict[str, Any], Path],
) -> None:
    body, _ = bench_run
    serverless = next(v for v in body["variants"] if v["id"] == "serverless")
    assert len(serverless["cold_start_ms"]) == sum(LEVELS)  # one per execution environment
    assert all(ms > 0 for ms in serverless["cold_start_ms"])
    orchestrator = next(v for v in body["variants"] if v["id"] == "orchestrator")
    assert sum(orchestrator["models"].values()) == REQUESTS * len(LEVELS)


def test_the_html_report_is_self_contained(bench_run: tuple[dict[str, Any], Path]) -> None:
    _, html = bench_run
    text = html.read_text("utf-8")
    assert text.count("<svg") == 3
    assert "<script" not in text
    for outside in ("http://", "https://", "//fonts", "@import", "url("):
        assert outside not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


async def test_the_html_report_renders_in_chromium(
    bench_run: tuple[dict[str, Any], Path], pytestconfig: pytest.Config, tmp_path: Path
) -> None:
    body, html = bench_run
    chromium, driver = chromium_driver(pytestconfig)
    shot = tmp_path / "report.png"
    seen = await check_pages(driver, chromium, reportUrl=html.as_uri(), reportShot=str(shot))
    assert seen["problems"] == []  # no console error, no request outside the file
    page = seen["report"]
    assert page["charts"] == 3
    assert page["scripts"] == 0
    assert page["lines"] >= 2 * sum(v["status"] == "measured" for v in body["variants"])
    assert page["chartWidth"] > 300
    assert [row[0] for row in page["rows"]] == [v["id"] for v in body["variants"]]
    assert shot.read_bytes().startswith(PNG)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--requests", "0"], "requests"),
        (["--concurrency", "0,4"], "concurrency"),
        (["--concurrency", "many"], "concurrency"),
        (["--speed", "0"], "speed"),
        (["--variant", "mainframe"], "variant"),
    ],
)
def test_bad_options_exit_2_naming_the_option(args: list[str], field: str, tmp_path: Path) -> None:
    profile = tmp_path / "small.yaml"
    profile.write_text(PROFILE)
    result = CliRunner().invoke(app, ["bench", str(profile), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert f"{field}:" in result.output
    assert "Traceback" not in result.output
    assert "bench:" not in result.output  # refused before anything ran


def test_a_bad_profile_exits_2_naming_the_field(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text(PROFILE.replace("mean_rpm: 30", "mean_rpm: -5"))
    result = CliRunner().invoke(app, ["bench", str(profile)], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "traffic.mean_rpm" in result.output
    assert "bad.yaml:2" in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def small_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    profile = tmp_path_factory.mktemp("tables") / "small.yaml"
    profile.write_text(PROFILE)
    return profile


def test_piped_the_table_is_tab_separated(small_profile: Path) -> None:
    done = _bench(
        str(small_profile), "--variant", "pipeline", "--requests", "4",
        "--concurrency", "1", "--speed", "100",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    header, *rows = (line.split("\t") for line in done.stdout.splitlines())
    assert header[:3] == ["variant", "p50 ms", "p99 ms"]
    assert header[-1] == "$ / 1k req"
    by_variant = {row[0]: row for row in rows}
    assert all(len(row) == len(header) for row in rows)
    measured = by_variant["pipeline"]
    assert float(measured[1]) > 0  # numbers as numbers: no thousands separators
    assert float(measured[-1]) > 0


def test_at_80_columns_every_line_fits(small_profile: Path) -> None:
    terminal = {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    args = ["--variant", "pipeline", "--requests", "4", "--concurrency", "1", "--speed", "100"]
    result = CliRunner().invoke(app, ["bench", str(small_profile), *args], env=terminal)
    assert result.exit_code == 0, result.output
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    heading = next(line for line in lines if "p50 ms" in line)
    assert "TTFT p50" in heading
    assert "TTFT p99" not in heading  # left out, and said so
    assert "429" not in heading
    assert any(line.strip().startswith("pipeline ") for line in lines)
    assert "TTFT p99 and 429 %: a terminal of 100+ columns" in "\n".join(lines)
