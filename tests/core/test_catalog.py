from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.catalog import Catalog, default_catalog
from claude_arch.errors import ConfigError, UnknownModelError

CATALOG = default_catalog()


def test_every_model_has_a_family_with_limits_in_every_tier() -> None:
    for tier in ("tier1", "tier2", "tier3", "tier4"):
        limits = CATALOG.limits(tier)
        for model in CATALOG:
            assert model.family in limits, (tier, model.id)


def test_aliases_resolve_to_their_model() -> None:
    assert CATALOG.resolve("claude-haiku-4-5-20251001").id == "claude-haiku-4-5"
    assert CATALOG.resolve("claude-sonnet-4-5-20250929").id == "claude-sonnet-4-5"


def test_the_seed_model_id_is_rejected_with_the_closest_real_ids() -> None:
    with pytest.raises(UnknownModelError) as info:
        CATALOG.resolve("claude-haiku-4-20250514")
    err = info.value
    assert err.status == 404
    assert err.field == "model"
    assert "claude-haiku-4-5" in err.suggestions
    assert "claude-haiku-4-5" in str(err)


def test_unknown_family_word_still_gets_suggestions() -> None:
    with pytest.raises(UnknownModelError) as info:
        CATALOG.resolve("sonnet")
    assert all("sonnet" in s for s in info.value.suggestions)
    assert info.value.suggestions


def test_cost_counts_every_token_kind() -> None:
    usage = {
        "input_tokens": 1_000_000,
        "output_tokens": 1_000_000,
        "cache_read_input_tokens": 1_000_000,
        "cache_creation_input_tokens": 2_000_000,
        "cache_creation": {
            "ephemeral_5m_input_tokens": 1_000_000,
            "ephemeral_1h_input_tokens": 1_000_000,
        },
    }
    # sonnet-4-5: 3 + 15 + 0.30 + 3.75 + 6
    assert CATALOG.cost("claude-sonnet-4-5", usage) == Decimal("28.05")


def test_cache_writes_without_a_ttl_split_are_priced_as_five_minute_writes() -> None:
    usage = {"cache_creation_input_tokens": 1_000_000}
    assert CATALOG.cost("claude-haiku-4-5", usage) == Decimal("1.25")


def test_batch_tier_is_half_price() -> None:
    usage = {"input_tokens": 1_000_000, "output_tokens": 0, "service_tier": "batch"}
    assert CATALOG.cost("claude-opus-4-5", usage) == Decimal("2.5")
    assert CATALOG.cost("claude-opus-4-5", usage, batch=False) == Decimal("5")


@given(
    inp=st.integers(0, 10**7),
    out=st.integers(0, 10**6),
    read=st.integers(0, 10**7),
    w5=st.integers(0, 10**6),
    w1=st.integers(0, 10**6),
)
def test_cost_is_linear_and_never_negative(inp: int, out: int, read: int, w5: int, w1: int) -> None:
    usage = {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": w5 + w1,
        "cache_creation": {"ephemeral_5m_input_tokens": w5, "ephemeral_1h_input_tokens": w1},
    }
    cost = CATALOG.cost("claude-haiku-4-5", usage)
    assert cost >= 0
    p = CATALOG.resolve("claude-haiku-4-5").prices
    expected = (inp * p.input + out * p.output + read * p.cache_read) + (
        w5 * p.cache_write_5m + w1 * p.cache_write_1h
    )
    assert abs(cost - expected / 1_000_000) <= Decimal("0.000001")


def test_unknown_tier_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="tier1"):
        CATALOG.limits("tier9")


def test_a_malformed_catalog_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text('[[model]]\nid = "x"\n')
    with pytest.raises(ConfigError, match="malformed"):
        Catalog.load(path)


def test_a_duplicate_name_is_a_config_error(tmp_path: Path) -> None:
    model = (
        '[[model]]\nid = "m"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n'
        'prices = { input = "1", output = "1", cache_write_5m = "1", cache_write_1h = "1",'
        ' cache_read = "1" }\n'
    )
    path = tmp_path / "models.toml"
    path.write_text(model + model)
    with pytest.raises(ConfigError, match="twice"):
        Catalog.load(path)


def test_deprecated_models_carry_their_retirement_day() -> None:
    sonnet = CATALOG.resolve("claude-sonnet-4-5-20250929")
    assert sonnet.retires is not None
    assert sonnet.retires.isoformat() == "2026-11-30"
    assert CATALOG.resolve("claude-haiku-4-5").retires is None
