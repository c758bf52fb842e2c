"""A call the API runs in the US only (``inference_geo: "us"``) bills 1.1x every token: the
usage the API answers with says where it ran, and every record, budget and spend reads it.

Through the gateway with the official SDK (2.x), JSON and streamed: the caller sees
``usage.inference_geo``, and the key is charged 1.1x what the same usage costs at list price.
In the catalog: the factor applies on the Claude API only, to ``"us"`` and no other geography.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import pytest

from claude_arch.core.pricing.catalog import Placement, default_catalog
from claude_arch.core.pricing.worst_case import worst_case_cost
from claude_arch.core.types import Usage
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

MODEL = "claude-sonnet-5-5"
HI = [{"role": "user", "content": "Where does this run?"}]
CATALOG = default_catalog()
US = Decimal("1.1")


def at_list_price(usage: Any) -> Decimal:
    """The usage's cost as if it had run anywhere (its geography dropped)."""
    fields = usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)
    fields.pop("inference_geo", None)
    return CATALOG.cost(MODEL, fields)


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
async def test_a_us_only_call_is_charged_at_the_us_price(tmp_path: Path, streamed: bool) -> None:
    async with (
        EmulatorServer() as emu,
        ServiceServer.for_emulator(emu, tmp_path) as svc,
    ):
        charged: dict[str | None, Decimal] = {}
        listed: dict[str | None, Decimal] = {}
        for geo in ("us", None):
            secret = await svc.create_key(f"geo-{geo}")
            extra = {"inference_geo": geo} if geo else {}
            async with anthropic.AsyncAnthropic(
                base_url=svc.url, api_key=secret, max_retries=0
            ) as sdk:
                if streamed:
                    async with sdk.messages.stream(
                        model=MODEL, max_tokens=64, messages=HI, extra_body=extra
                    ) as stream:
                        message = await stream.get_final_message()
                else:
                    message = await sdk.messages.create(
                        model=MODEL, max_tokens=64, messages=HI, extra_body=extra
                    )
            assert getattr(message.usage, "inference_geo", None) == geo
            key = await svc.gateway.keys.authenticate(secret)
            charged[geo] = await svc.gateway.quotas.spent(key)
            listed[geo] = at_list_price(message.usage)
    assert listed["us"] > 0
    assert charged["us"] == (listed["us"] * US).quantize(Decimal("0.000001"))
    assert charged[None] == listed[None]


def test_the_catalog_prices_the_geography_the_usage_reports() -> None:
    tokens = {"input_tokens": 12_000, "output_tokens": 900, "cache_read_input_tokens": 4_000}
    plain = CATALOG.cost(MODEL, tokens)
    for usage in ({**tokens, "inference_geo": "us"}, Usage(**tokens, inference_geo="us")):
        assert CATALOG.cost(MODEL, usage) == (plain * US).quantize(Decimal("0.000001"))
    for geo in ("global", "eu-unpriced", None):  # a geography with no price: list price
        assert CATALOG.cost(MODEL, {**tokens, "inference_geo": geo}) == plain
    # on a cloud platform the endpoint sets the price; inference_geo is the Claude API's
    on_bedrock = CATALOG.placed(Placement("bedrock"))
    assert on_bedrock.cost(MODEL, {**tokens, "inference_geo": "us"}) == on_bedrock.cost(
        MODEL, tokens
    )
    # batch results too: the discount and the geography both apply
    batch = {**tokens, "service_tier": "batch", "inference_geo": "us"}
    assert CATALOG.cost(MODEL, batch) == (plain * US * CATALOG.batch_discount).quantize(
        Decimal("0.000001")
    )


def test_the_worst_case_holds_what_the_usage_will_be_charged() -> None:
    params = {"messages": HI, "inference_geo": "us"}
    worst = worst_case_cost(CATALOG, MODEL, params, input_tokens=5_000, output_tokens=800)
    usage = Usage(input_tokens=5_000, output_tokens=800, inference_geo="us")
    assert worst == CATALOG.cost(MODEL, usage)
    assert worst == (CATALOG.cost(MODEL, Usage(input_tokens=5_000, output_tokens=800)) * US)
