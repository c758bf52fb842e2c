from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import anthropic
import pydantic
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import Catalog, Limits, default_catalog, model_object
from claude_arch.core.ratelimit import LocalRateLimiter, Reservation, limiter_from_settings
from claude_arch.core.types import Usage
from claude_arch.emulator.config import EmulatorConfig
from claude_arch.emulator.limits import EmulatorLimits
from claude_arch.errors import ConfigError, UnknownModelError
from claude_arch.settings import Settings

CATALOG = default_catalog()


TIERS = ("tier1", "tier2", "tier3", "tier4")


def test_every_family_has_limits_in_every_tier_or_in_none() -> None:
    for family in CATALOG.families:
        presets = [tier for tier in TIERS if family in CATALOG.limits(tier)]
        assert presets in ([], list(TIERS)), family
    # no published figures for Fable: no preset rather than a guess
    assert all("fable" not in CATALOG.limits(tier) for tier in TIERS)
    assert all(f in CATALOG.limits("tier1") for f in ("opus", "sonnet", "haiku"))


def test_a_family_without_a_preset_is_admitted_until_headers_give_its_limits() -> None:
    limiter = limiter_from_settings(Settings(_env_file=None, rate_limit_tier="tier1"), CATALOG)
    assert isinstance(limiter, LocalRateLimiter)
    assert limiter.limits_for("fable") is None
    admitted = limiter.try_acquire("fable", input_tokens=10**6, output_tokens=10**5)
    assert isinstance(admitted, Reservation)
    assert not admitted.limited
    limiter.learn(
        "fable",
        {
            "anthropic-ratelimit-requests-limit": "40",
            "anthropic-ratelimit-input-tokens-limit": "20000",
            "anthropic-ratelimit-output-tokens-limit": "4000",
        },
    )
    assert limiter.limits_for("fable") == Limits(rpm=40, itpm=20_000, otpm=4_000)
    emulator = EmulatorLimits(EmulatorConfig(rate_limit_tier="tier1"), catalog=CATALOG)
    assert emulator.headers("fable", "key") == {}
    assert isinstance(
        emulator.admit("fable", "key", input_tokens=10**6, output_tokens=10**5), Reservation
    )


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


# --- the November 2026 models ---------------------------------------------------------------------
M = 1_000_000


@pytest.mark.parametrize(
    ("model", "family", "context", "max_output"),
    [
        ("claude-fable-5-1", "fable", 1_000_000, 128_000),
        ("claude-fable-5", "fable", 1_000_000, 128_000),
        ("claude-opus-5-5", "opus", 1_000_000, 128_000),
        ("claude-opus-5", "opus", 1_000_000, 128_000),
        ("claude-sonnet-5-5", "sonnet", 1_000_000, 128_000),
        ("claude-sonnet-5", "sonnet", 1_000_000, 128_000),
        ("claude-haiku-5-5", "haiku", 1_000_000, 128_000),
        ("claude-haiku-4-5", "haiku", 200_000, 64_000),
    ],
)
def test_models_resolve_with_the_fact_sheets_windows(
    model: str, family: str, context: int, max_output: int
) -> None:
    info = CATALOG.resolve(model)
    assert (info.id, info.family, info.context_window, info.max_output) == (
        model,
        family,
        context,
        max_output,
    )


def test_sonnet_5_is_priced_like_sonnet_5_5() -> None:
    p = CATALOG.resolve("claude-sonnet-5").prices
    assert (p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read) == (
        Decimal(2),
        Decimal(10),
        Decimal("2.50"),
        Decimal(4),
        Decimal("0.20"),
    )


def test_fable_cache_prices_are_the_published_ones_not_derived() -> None:
    """Fable 5.1 reads its cache at a quarter of Fable 5's price (0.025x input, where the rule
    of thumb would derive 0.1x): the catalog bills what is published."""
    expected = {"claude-fable-5": Decimal("1.00"), "claude-fable-5-1": Decimal("0.25")}
    for model, read in expected.items():
        info = CATALOG.resolve(model)
        assert info.prices.unknown == ()
        prices = (info.prices.input, info.prices.output, info.prices.cache_read)
        assert prices == (Decimal(10), Decimal(50), read)
        assert (info.prices.cache_write_5m, info.prices.cache_write_1h) == (
            Decimal("12.50"),
            Decimal(20),
        )
        usage = {
            "input_tokens": M,
            "output_tokens": M,
            "cache_read_input_tokens": M,
            "cache_creation_input_tokens": 2 * M,
            "cache_creation": {"ephemeral_5m_input_tokens": M, "ephemeral_1h_input_tokens": M},
        }
        assert CATALOG.cost(model, usage) == Decimal("92.5") + read  # 10 + 50 + 12.5 + 20


# --- Haiku 5.5's prompt-size tier ----------------------------------------------------------------
HAIKU55 = "claude-haiku-5-5"


def test_haiku_5_5_prices_by_prompt_size_in_data() -> None:
    info = CATALOG.resolve(HAIKU55)
    assert [t.above_prompt_tokens for t in info.price_tiers] == [100_000]
    assert info.prices_for(100_000) == info.prices
    above = info.prices_for(100_001)
    assert (above.input, above.output, above.cache_write_5m) == (
        Decimal("0.50"),
        Decimal("2.50"),
        Decimal("0.625"),
    )
    assert above.unknown == ("cache_write_1h", "cache_read")
    billed = CATALOG.billed_prices(HAIKU55, 100_001)
    assert (billed.cache_write_1h, billed.cache_read) == (Decimal("1.00"), Decimal("0.050"))
    below = CATALOG.billed_prices(HAIKU55, 100_000)
    assert below == info.prices  # everything published below the tier


def test_the_tier_starts_after_100000_prompt_tokens() -> None:
    # 100,000 tokens at $0.10 and 100,001 at $0.50 per million; 1,000 output at $0.50 / $2.50
    at = {"input_tokens": 100_000, "output_tokens": 1000}
    past = {"input_tokens": 100_001, "output_tokens": 1000}
    assert CATALOG.cost(HAIKU55, at) == Decimal("0.010500")
    assert CATALOG.cost(HAIKU55, past) == Decimal("0.052500")  # 0.0500005 + 0.0025


def test_cache_tokens_count_toward_the_prompt_size() -> None:
    below = {
        "input_tokens": 40_000,
        "cache_creation_input_tokens": 40_000,
        "cache_read_input_tokens": 20_000,
    }
    # 40k x 0.10 + 40k x 0.125 (5m write) + 20k x 0.01 = 0.0092
    assert CATALOG.cost(HAIKU55, below) == Decimal("0.009200")
    above = {**below, "cache_read_input_tokens": 20_001}
    # 40k x 0.50 + 40k x 0.625 + 20,001 x 0.05 (derived) = 0.04600005
    assert CATALOG.cost(HAIKU55, above) == Decimal("0.046000")
    only_cache = {"cache_creation_input_tokens": 100_001}
    assert CATALOG.cost(HAIKU55, only_cache) == Decimal("0.062501")  # 100,001 x 0.625
    split = {
        "cache_creation_input_tokens": 100_001,
        "cache_creation": {"ephemeral_5m_input_tokens": 1, "ephemeral_1h_input_tokens": 100_000},
    }
    assert CATALOG.cost(HAIKU55, split) == Decimal("0.100001")  # 1h at the derived 1.00


def test_the_batch_discount_applies_on_top_of_the_tier() -> None:
    usage = {"input_tokens": 200_000, "output_tokens": 10_000}
    standard = CATALOG.cost(HAIKU55, usage)
    assert standard == Decimal("0.125000")  # 200k x 0.50 + 10k x 2.50
    assert CATALOG.cost(HAIKU55, {**usage, "service_tier": "batch"}) == Decimal("0.062500")
    assert CATALOG.cost(HAIKU55, usage, batch=True) == standard / 2
    short = {"input_tokens": 100_000, "service_tier": "batch"}
    assert CATALOG.cost(HAIKU55, short) == Decimal("0.005000")


def test_a_usage_object_and_its_dict_cost_the_same() -> None:
    usage = Usage(
        input_tokens=60_000,
        output_tokens=700,
        cache_creation_input_tokens=30_000,
        cache_read_input_tokens=20_000,
        cache_creation_5m=10_000,
        cache_creation_1h=20_000,
    )
    assert CATALOG.cost(HAIKU55, usage) == CATALOG.cost(HAIKU55, usage.to_dict()) > 0


def test_a_ttl_split_larger_than_the_total_is_billed_as_split() -> None:
    usage = {
        "cache_creation_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": M, "ephemeral_1h_input_tokens": M},
    }
    assert CATALOG.cost("claude-haiku-4-5", usage) == Decimal("3.25")  # 1.25 + 2


GROWABLE = ("input_tokens", "output_tokens", "cache_read_input_tokens", "w5m", "w1h")


def _wire(fields: dict[str, int]) -> dict[str, object]:
    return {
        "input_tokens": fields["input_tokens"],
        "output_tokens": fields["output_tokens"],
        "cache_read_input_tokens": fields["cache_read_input_tokens"],
        "cache_creation_input_tokens": fields["w5m"] + fields["w1h"],
        "cache_creation": {
            "ephemeral_5m_input_tokens": fields["w5m"],
            "ephemeral_1h_input_tokens": fields["w1h"],
        },
    }


def _tier(model: str, fields: dict[str, int]) -> int:
    prompt = fields["input_tokens"] + fields["cache_read_input_tokens"]
    prompt += fields["w5m"] + fields["w1h"]
    tiers = CATALOG.resolve(model).price_tiers
    return sum(prompt > t.above_prompt_tokens for t in tiers)


@given(
    model=st.sampled_from([m.id for m in CATALOG]) | st.just(HAIKU55),  # half: the tiered one
    fields=st.fixed_dictionaries({name: st.integers(0, 40_000) for name in GROWABLE}),
    grown=st.sampled_from(GROWABLE),
    by=st.integers(1, 40_000),
)
def test_cost_never_decreases_when_a_field_grows_within_a_tier(
    model: str, fields: dict[str, int], grown: str, by: int
) -> None:
    more = {**fields, grown: fields[grown] + by}
    assume(_tier(model, fields) == _tier(model, more))
    before, after = CATALOG.cost(model, _wire(fields)), CATALOG.cost(model, _wire(more))
    assert Decimal(0) <= before <= after
    assert CATALOG.cost(model, _wire(more), batch=True) <= after


# --- catalog files -------------------------------------------------------------------------------
PRICES = 'prices = { input = "1", output = "2", cache_write_5m = "1.25", cache_write_1h = "2", cache_read = "0.1" }\n'  # noqa: E501


def write_catalog(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(body)
    return path


def test_a_price_left_out_is_a_config_error_that_says_how_to_mark_it(tmp_path: Path) -> None:
    body = '[[model]]\nid = "m"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n'
    body += 'prices = { input = "1", output = "2" }\n'
    with pytest.raises(ConfigError, match=r'missing cache_read.*"unknown"'):
        Catalog.load(write_catalog(tmp_path, body))


def test_input_and_output_prices_must_be_known(tmp_path: Path) -> None:
    body = '[[model]]\nid = "m"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n'
    body += PRICES.replace('input = "1"', 'input = "unknown"')
    with pytest.raises(ConfigError, match="input price must be known"):
        Catalog.load(write_catalog(tmp_path, body))


def test_an_unknown_cache_price_needs_a_multiplier_to_derive_it(tmp_path: Path) -> None:
    body = '[[model]]\nid = "m"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n'
    body += PRICES.replace('cache_read = "0.1"', 'cache_read = "unknown"')
    with pytest.raises(ConfigError, match=r"cache_multipliers\.cache_read"):
        Catalog.load(write_catalog(tmp_path, body))
    with_multiplier = '[defaults]\ncache_multipliers = { cache_read = "0.2" }\n' + body
    catalog = Catalog.load(write_catalog(tmp_path, with_multiplier))
    assert catalog.billed_prices("m").cache_read == Decimal("0.2")
    assert catalog.cost("m", {"cache_read_input_tokens": M}) == Decimal("0.2")


def test_price_tiers_must_rise(tmp_path: Path) -> None:
    body = '[[model]]\nid = "m"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n' + PRICES
    body += "[[model.price_tier]]\nabove_prompt_tokens = 50\n" + PRICES
    body += "[[model.price_tier]]\nabove_prompt_tokens = 50\n" + PRICES
    with pytest.raises(ConfigError, match="increasing above_prompt_tokens"):
        Catalog.load(write_catalog(tmp_path, body))


def test_two_tiers_bill_each_prompt_at_its_own(tmp_path: Path) -> None:
    body = '[[model]]\nid = "m"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n' + PRICES
    body += "[[model.price_tier]]\nabove_prompt_tokens = 10\n"
    body += PRICES.replace('input = "1"', 'input = "3"')
    body += "[[model.price_tier]]\nabove_prompt_tokens = 20\n"
    body += PRICES.replace('input = "1"', 'input = "5"')
    catalog = Catalog.load(write_catalog(tmp_path, body))
    costs = [catalog.cost("m", {"input_tokens": n}) * M / n for n in (10, 11, 20, 21)]
    assert costs == [1, 3, 3, 5]


# --- capabilities and model objects ---------------------------------------------------------------
def test_capabilities_come_from_defaults_family_and_model(tmp_path: Path) -> None:
    body = '[[model]]\nid = "a"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n' + PRICES
    body += '[[model]]\nid = "b"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n' + PRICES
    body += 'capabilities = { effort = ["low", "high"] }\n'
    body += '[[model]]\nid = "c"\nfamily = "g"\nmax_output = 1\ncontext_window = 10\n' + PRICES
    body += '[capabilities.default]\nbatch = true\nthinking = ["enabled", "disabled"]\n'
    body += '[capabilities.f]\nserver_tools = ["web_search"]\n'
    catalog = Catalog.load(write_catalog(tmp_path, body))
    a, b, c = (catalog.resolve(m).capabilities for m in "abc")
    assert all(caps.batch for caps in (a, b, c))
    assert a.server_tools == b.server_tools == frozenset({"web_search"})
    assert c.server_tools == frozenset()
    assert b.effort == frozenset({"low", "high"})
    assert a.effort == frozenset()
    api = model_object(catalog.resolve("b"))["capabilities"]
    assert api["effort"]["supported"] is True
    assert api["effort"]["high"] == {"supported": True}
    assert api["effort"]["max"] == {"supported": False}
    assert api["thinking"]["types"]["adaptive"] == {"supported": False}


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ("[capabilities.default]\nvision = true\n", "unknown capability 'vision'"),
        ("[capabilities.default]\nthinking = ['sometimes']\n", "thinking must list"),
        ("[capabilities.default]\nbatch = 'yes'\n", "batch must be true or false"),
        ("[capabilities.nosuchfamily]\nbatch = true\n", "names no family"),
    ],
)
def test_a_wrong_capability_is_a_config_error(tmp_path: Path, table: str, match: str) -> None:
    body = '[[model]]\nid = "m"\nfamily = "f"\nmax_output = 1\ncontext_window = 10\n' + PRICES
    with pytest.raises(ConfigError, match=match):
        Catalog.load(write_catalog(tmp_path, body + table))


def test_every_model_object_is_a_valid_sdk_model_info() -> None:
    for info in CATALOG:
        obj = model_object(info)
        sdk = anthropic.types.ModelInfo.model_validate(obj)  # strict: types and required keys
        assert (sdk.max_input_tokens, sdk.max_tokens) == (info.context_window, info.max_output)
        assert sdk.capabilities is not None
        assert _every_key_present(sdk.capabilities)
        assert sdk.line == info.family
    opus45 = anthropic.types.ModelInfo.model_validate(
        model_object(CATALOG.resolve("claude-opus-4-5"))
    )
    assert opus45.lifecycle == "deprecated"
    assert opus45.retires_at is not None
    assert opus45.retires_at.date().isoformat() == "2027-01-22"
    fable = model_object(CATALOG.resolve("claude-fable-5"))
    assert (fable["max_input_tokens"], fable["max_tokens"]) == (1_000_000, 128_000)
    assert fable["lifecycle"] == "active"


def _every_key_present(model: pydantic.BaseModel) -> bool:
    """Every field of the SDK's capability types is in the object, optional ones too."""
    for name in type(model).model_fields:
        if name not in model.model_fields_set:
            return False
        value = getattr(model, name)
        if isinstance(value, pydantic.BaseModel) and not _every_key_present(value):
            return False
    return True
