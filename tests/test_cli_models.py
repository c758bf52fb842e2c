"""``claude-arch models``: unpublished prices show as unknown (Haiku 5.5 above its prompt-size
tier), prompt-size tiers as a row; at 80 columns the table drops the cache prices instead of
breaking, and piped it is tab-separated."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from typer.testing import CliRunner

from claude_arch.cli import app

runner = CliRunner()


def test_the_table_shows_unpublished_prices_as_unknown_and_the_tier_row() -> None:
    result = runner.invoke(app, ["models"], env={"COLUMNS": "160", "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    fable = next(line for line in lines if "claude-fable-5-1 " in line)
    assert fable.split()[1:] == ["1M", "128k", "10", "50", "12.50", "20", "0.25"]
    haiku = lines.index(next(line for line in lines if "claude-haiku-5-5" in line))
    assert "prompt ≤ 100k" in lines[haiku]
    assert lines[haiku].split()[-5:] == ["0.10", "0.50", "0.125", "0.20", "0.01"]
    assert lines[haiku + 1].split() == [
        "prompt",
        ">",
        "100k",
        "0.50",
        "2.50",
        "0.625",
        "unknown",
        "unknown",
    ]
    assert "unknown cache price is not published" in " ".join(result.output.split())


def test_json_has_null_for_unpublished_prices_and_lists_the_tiers() -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.output)}
    assert rows["claude-fable-5-1"]["prices"] == {
        "input": "10",
        "output": "50",
        "cache_write_5m": "12.50",
        "cache_write_1h": "20",
        "cache_read": "0.25",
    }
    assert rows["claude-fable-5-1"]["family"] == "fable"
    assert rows["claude-haiku-5-5"]["price_tiers"] == [
        {
            "above_prompt_tokens": 100_000,
            "prices": {
                "input": "0.50",
                "output": "2.50",
                "cache_write_5m": "0.625",
                "cache_write_1h": None,
                "cache_read": None,
            },
        }
    ]
    assert rows["claude-sonnet-5"]["prices"]["cache_write_1h"] == "4"
    assert rows["claude-haiku-4-5"]["price_tiers"] == []


def test_at_80_columns_every_line_fits_and_the_cache_prices_are_left_out() -> None:
    terminal = {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    result = runner.invoke(app, ["models"], env=terminal)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.split()[:1] == ["model"])
    assert header.split() == ["model", "context", "max", "out", "input", "output"]
    assert any(line.split()[:1] == ["claude-haiku-4-5"] for line in lines)
    assert "Cache prices: a terminal of 100+ columns, or --json." in result.output


def test_piped_it_prints_one_tab_separated_row_per_price() -> None:
    result = runner.invoke(app, ["models"])  # not a terminal
    assert result.exit_code == 0, result.output
    header, *rows = (line.split("\t") for line in result.output.splitlines())
    assert header == [
        "model",
        "prompt_above",
        "context",
        "max_output",
        "input",
        "output",
        "cache_write_5m",
        "cache_write_1h",
        "cache_read",
    ]
    assert all(len(row) == len(header) for row in rows)
    haiku = [row for row in rows if row[0] == "claude-haiku-5-5"]
    assert [row[1] for row in haiku] == ["0", "100000"]
    assert haiku[1][4:] == ["0.50", "2.50", "0.625", "", ""]  # unpublished: empty


def test_a_model_past_its_retirement_day_is_shown_retired() -> None:
    result = runner.invoke(app, ["models"], env={"COLUMNS": "160", "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "(retired 2026-11-30)" in next(x for x in lines if "claude-sonnet-4-5" in x)
    opus = next(x for x in lines if "claude-opus-4-5" in x)  # deprecated: its day to come
    retired = datetime.now(UTC).date() >= date(2027, 1, 22)
    assert f"({'retired' if retired else 'retires'} 2027-01-22)" in opus


def test_at_100_columns_no_figure_is_cut_short() -> None:
    """The model column wraps (a retirement mark onto a second line); the figures never give
    way to it."""
    terminal = {"COLUMNS": "100", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    result = runner.invoke(app, ["models"], env=terminal)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 100
    table = lines[: next(i for i, x in enumerate(lines) if x.startswith("Message Batches"))]
    assert not any("…" in line for line in table), result.output
    header = next(line for line in lines if line.split()[:1] == ["model"])
    assert header.split()[-3:] == ["w", "1h", "read"]
    haiku = next(line for line in lines if line.split()[:1] == ["claude-haiku-5-5"])
    assert haiku.split()[-5:] == ["0.10", "0.50", "0.125", "0.20", "0.01"]
