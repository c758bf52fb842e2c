"""A model past its retirement day is one the Claude API no longer serves (404
``not_found_error``): the catalog says so (``claude-arch models`` shows it:
tests/test_cli_models.py) and :func:`refuse_retired` is the API's 404 for it (the emulator's
Anthropic routes: tests/emulator/test_emulator_retired_models.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import ModelInfo, default_catalog, refuse_retired
from claude_arch.errors import NotFoundError

CATALOG = default_catalog()


def test_retired_is_the_retirement_day_or_later() -> None:
    sonnet = CATALOG.resolve("claude-sonnet-4-5")
    assert sonnet.retires == date(2026, 11, 30)
    assert not sonnet.retired(date(2026, 11, 29))
    assert sonnet.retired(date(2026, 11, 30))
    assert sonnet.retired(date(2027, 1, 1))
    assert not CATALOG.resolve("claude-sonnet-5-5").retired(date(2099, 1, 1))  # no day set


RETIRING = [m for m in CATALOG if m.retires is not None]


@given(
    model=st.sampled_from(RETIRING),
    days=st.integers(-3650, 3650),
)
def test_refuse_retired_is_a_404_naming_the_model_and_day_from_that_day_on(
    model: ModelInfo, days: int
) -> None:
    assert model.retires is not None
    today = model.retires + timedelta(days=days)
    if days < 0:
        refuse_retired(model, today)  # served until its day
        return
    with pytest.raises(NotFoundError) as refused:
        refuse_retired(model, today)
    assert (refused.value.status, refused.value.error_type) == (404, "not_found_error")
    assert refused.value.message.startswith(
        f"model: {model.id} was retired on {model.retires.isoformat()}"
    )


@given(today=st.dates())
def test_a_model_without_a_retirement_day_is_never_refused(today: date) -> None:
    for model in CATALOG:
        if model.retires is None:
            refuse_retired(model, today)
