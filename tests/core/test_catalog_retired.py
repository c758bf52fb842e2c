"""A model past its retirement day is one the Claude API no longer serves (404
``not_found_error``): the catalog says so (``claude-arch models`` shows it:
tests/test_cli_models.py)."""

from __future__ import annotations

from datetime import date

from claude_arch.core.pricing.catalog import default_catalog

CATALOG = default_catalog()


def test_retired_is_the_retirement_day_or_later() -> None:
    sonnet = CATALOG.resolve("claude-sonnet-4-5")
    assert sonnet.retires == date(2026, 11, 30)
    assert not sonnet.retired(date(2026, 11, 29))
    assert sonnet.retired(date(2026, 11, 30))
    assert sonnet.retired(date(2027, 1, 1))
    assert not CATALOG.resolve("claude-sonnet-5-5").retired(date(2099, 1, 1))  # no day set
