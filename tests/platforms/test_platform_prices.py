"""Platform prices: a call is priced by where it ran (provider and endpoint kind). The cloud
platforms bill their global endpoints at the Anthropic list prices and their regional ones 10%
above, for every model in the catalog (Sonnet 4.5 and later); usage records and budgets' worst
cases follow the client's placement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.platforms import (
    AwsCredentials,
    BedrockTransport,
    StaticAwsCredentials,
    VertexTransport,
)
from claude_arch.core.platforms.providers import ProviderTransport
from claude_arch.core.pricing.catalog import Catalog, Placement, default_catalog
from claude_arch.core.pricing.worst_case import worst_case_cost
from claude_arch.core.transports.aiohttp_transport import AiohttpTransport
from claude_arch.core.types import Usage
from claude_arch.errors import ConfigError
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

LIST = default_catalog()
PRICE_NAMES = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
USAGE = Usage(
    input_tokens=1200,
    output_tokens=345,
    cache_read_input_tokens=5000,
    cache_creation_input_tokens=700,
    cache_creation_5m=300,
    cache_creation_1h=400,
)
HI = [{"role": "user", "content": "hi"}]


def about(cost: Decimal, listed: Decimal, factor: str) -> bool:
    """``cost`` is ``listed`` times ``factor``, to the millionth of a dollar both are rounded to."""
    return abs(cost - listed * Decimal(factor)) <= Decimal("0.000001")


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", ["bedrock", "vertex"])
def test_regional_endpoints_bill_every_price_of_every_model_ten_percent_more(
    provider: str,
) -> None:
    regional = LIST.placed(Placement(provider, {provider: "regional"}))
    global_ = LIST.placed(Placement(provider, {provider: "global"}))
    for model in LIST:
        for prompt in (0, 150_000):
            listed = LIST.billed_prices(model.id, prompt)
            assert global_.billed_prices(model.id, prompt) == listed
            dearer = regional.billed_prices(model.id, prompt)
            for name in PRICE_NAMES:
                assert getattr(dearer, name) == getattr(listed, name) * Decimal("1.1"), model.id
        for batch in (False, True):
            cost = LIST.cost(model.id, USAGE, batch=batch)
            assert global_.cost(model.id, USAGE, batch=batch) == cost
            assert about(regional.cost(model.id, USAGE, batch=batch), cost, "1.1"), model.id


def test_the_prompt_size_tier_and_the_factor_both_apply() -> None:
    regional = LIST.placed(Placement("vertex", {"vertex": "regional"}))
    long_prompt = {"input_tokens": 150_000, "output_tokens": 1000}
    # Haiku 5.5 above 100,000 prompt tokens: $0.50 / $2.50, times 1.1
    assert regional.cost("claude-haiku-5-5", long_prompt) == Decimal("0.085250")


def test_a_qualified_name_is_priced_where_its_provider_runs() -> None:
    placed = LIST.placed(Placement("anthropic", {"bedrock": "regional", "vertex": "global"}))
    usage = {"input_tokens": 1_000_000}
    assert placed.cost("claude-sonnet-4-5", usage) == Decimal("3")
    assert placed.cost("bedrock:claude-sonnet-4-5", usage) == Decimal("3.3")
    assert placed.cost("vertex:claude-sonnet-4-5", usage) == Decimal("3")
    assert placed.where("bedrock:claude-sonnet-4-5") == ("bedrock", "regional")
    assert placed.where("claude-sonnet-4-5") == ("anthropic", "global")


def test_the_default_placement_is_the_list_prices_and_the_same_catalog() -> None:
    assert LIST.placed(Placement()) is LIST
    assert LIST.placed(Placement.of_settings(settings(), env={})) is LIST
    assert LIST.where("claude-haiku-4-5") == ("anthropic", "global")


@pytest.mark.parametrize(
    ("values", "env", "expected"),
    [
        ({}, {}, {"bedrock": "global", "vertex": "global"}),
        ({"bedrock_inference_profile": "us"}, {}, {"bedrock": "regional", "vertex": "global"}),
        ({"bedrock_inference_profile": ""}, {}, {"bedrock": "regional", "vertex": "global"}),
        ({"vertex_region": "us-east5"}, {}, {"bedrock": "global", "vertex": "regional"}),
        ({"vertex_region": "eu"}, {}, {"bedrock": "global", "vertex": "regional"}),
        ({}, {"CLOUD_ML_REGION": "europe-west1"}, {"bedrock": "global", "vertex": "regional"}),
        ({"vertex_region": "global"}, {"CLOUD_ML_REGION": "x"}, {"vertex": "global"}),
    ],
)
def test_the_settings_say_where_calls_run(
    values: dict[str, str], env: dict[str, str], expected: dict[str, str]
) -> None:
    placement = Placement.of_settings(settings(**values), env=env)
    for provider, kind in expected.items():
        assert placement.kind(provider) == kind


def test_the_transports_say_where_their_calls_run() -> None:
    creds = StaticAwsCredentials(AwsCredentials("AKIDEXAMPLE", "secret"))
    bedrock_global = BedrockTransport(region="us-east-1", credentials=creds)
    bedrock_eu = BedrockTransport(region="eu-west-1", credentials=creds, inference_profile="eu")
    vertex = VertexTransport(project="p", region="us-east5", access_token="t")
    assert bedrock_global.placement == Placement("bedrock", {"bedrock": "global"})
    assert bedrock_eu.placement == Placement("bedrock", {"bedrock": "regional"})
    assert vertex.placement == Placement("vertex", {"vertex": "regional"})
    several = ProviderTransport(
        {"anthropic": AiohttpTransport(), "bedrock": bedrock_eu, "vertex": vertex}
    )
    assert several.placement == Placement(
        "anthropic", {"bedrock": "regional", "vertex": "regional"}
    )


def test_an_endpoint_kind_the_catalog_does_not_price_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\[endpoints.bedrock\] has no 'moon' endpoint"):
        LIST.placed(Placement("bedrock", {"bedrock": "moon"}))


def test_the_endpoint_table_is_checked_when_the_catalog_loads(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "src/claude_arch/core/models.toml").read_text()
    bad = tmp_path / "models.toml"
    bad.write_text(text.replace('regional = "1.1"', 'regional = "-1"', 1))
    with pytest.raises(ConfigError, match="is not a factor"):
        Catalog.load(bad)
    bad.write_text(text.replace("[endpoints.vertex]", "[endpoints.azure]"))
    with pytest.raises(ConfigError, match=r"\[endpoints.azure\]"):
        Catalog.load(bad)
    bad.write_text(text.replace("regional_premium = true", "regional_premium = false"))
    flat = Catalog.load(bad).placed(Placement("bedrock", {"bedrock": "regional"}))
    assert flat.cost("claude-haiku-4-5", USAGE) == LIST.cost("claude-haiku-4-5", USAGE)


def test_the_worst_case_is_priced_where_the_call_may_run() -> None:
    params = {"messages": HI, "inference_geo": "us"}
    on_vertex = LIST.placed(Placement("vertex", {"vertex": "regional"}))
    cost = LIST.cost("claude-opus-5", {"input_tokens": 1000, "output_tokens": 100})
    # inference_geo is the Claude API's: the platforms place a call by their endpoint
    assert about(
        worst_case_cost(on_vertex, "claude-opus-5", params, input_tokens=1000, output_tokens=100),
        cost,
        "1.1",
    )
    anthropic_first = LIST.placed(Placement("anthropic", {"bedrock": "regional"}))
    plain = {"messages": HI}
    alone = worst_case_cost(
        anthropic_first, "claude-opus-5", plain, input_tokens=1000, output_tokens=100
    )
    with_fallback = worst_case_cost(
        anthropic_first,
        "claude-opus-5",
        plain,
        input_tokens=1000,
        output_tokens=100,
        fallbacks=["bedrock:claude-opus-5", "claude-haiku-4-5"],
    )
    assert alone == cost
    assert about(with_fallback, cost, "1.1")


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(vertex_projects=["claude-arch-test"]) as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.aws_access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.aws_secret_key)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        yield server


@pytest.mark.parametrize(
    ("upstream", "values", "factor"),
    [
        ("bedrock", {"bedrock_inference_profile": "global"}, "1"),
        ("bedrock", {"bedrock_inference_profile": "eu"}, "1.1"),
        ("vertex", {"vertex_region": "global"}, "1"),
        ("vertex", {"vertex_region": "us-east5"}, "1.1"),
    ],
)
async def test_usage_records_price_platform_calls_where_they_ran(
    emu: EmulatorServer, upstream: str, values: dict[str, str], factor: str
) -> None:
    chosen = settings(
        upstream=upstream,
        bedrock_region="us-east-1",
        bedrock_base_url=emu.url,
        vertex_project="claude-arch-test",
        vertex_base_url=f"{emu.url}/v1",
        vertex_access_token=emu.vertex_token,
        **values,
    )
    async with ClaudeClient(chosen) as claude:
        for model in ("claude-haiku-4-5", "claude-opus-5-5"):  # InvokeModel and Messages API
            message = await claude.create(model=model, max_tokens=32, messages=HI)
            assert message.record is not None
            listed = LIST.cost(model, message.usage)
            assert about(message.record.cost_usd, listed, factor)


async def test_a_fallback_to_a_regional_platform_is_recorded_at_its_price(
    emu: EmulatorServer,
) -> None:
    chosen = settings(
        bedrock_region="us-east-1", bedrock_base_url=emu.url, bedrock_inference_profile="us"
    )
    async with ClaudeClient(
        chosen,
        api_key=emu.api_key,
        base_url=emu.url,
        max_retries=0,
        fallbacks={"claude-sonnet-4-6": ["bedrock:claude-sonnet-4-6"]},
    ) as claude:
        emu.set_faults({"kind": "529", "endpoint": "anthropic", "every": 1})
        message = await claude.create(model="claude-sonnet-4-6", max_tokens=16, messages=HI)
    assert message.record is not None
    assert message.record.model == "bedrock:claude-sonnet-4-6"
    listed = LIST.cost("claude-sonnet-4-6", message.usage)
    assert about(message.record.cost_usd, listed, "1.1")
