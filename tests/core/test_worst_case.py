"""``worst_case_cost``: never below what the call can really cost, whatever the API reports."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.pricing.worst_case import cache_ttls, worst_case_cost
from claude_arch.core.types import Usage

CATALOG = default_catalog()
MODELS = [m.id for m in CATALOG]


def marked(ttl: str | None) -> dict[str, Any]:
    control: dict[str, Any] = {"type": "ephemeral"}
    if ttl is not None:
        control["ttl"] = ttl
    return {
        "tools": [{"name": "t", "input_schema": {"type": "object"}, "cache_control": control}],
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_ttls_are_found_wherever_the_marks_are() -> None:
    assert cache_ttls({"messages": []}) == set()
    assert cache_ttls(marked(None)) == {"5m"}
    assert cache_ttls(marked("1h")) == {"1h"}
    assert cache_ttls({"cache_control": {"type": "ephemeral"}}) == {"5m"}
    nested = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "a", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "tool_result", "content": [
            {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}]},
    ]}]}  # fmt: skip
    assert cache_ttls(nested) == {"5m", "1h"}


def test_any_nesting_is_walked_without_exhausting_the_stack() -> None:
    deep: dict[str, Any] = {"cache_control": {"type": "ephemeral", "ttl": "1h"}}
    for _ in range(100_000):
        deep = {"metadata": [deep]}
    assert cache_ttls(deep) == {"1h"}


@given(
    model=st.sampled_from(MODELS),
    ttl=st.sampled_from([None, "5m", "1h"]),
    geo=st.sampled_from([None, "us", "global"]),
    prompt=st.integers(0, 400_000),
    written=st.integers(0, 400_000),
    read=st.integers(0, 400_000),
    max_output=st.integers(0, 128_000),
    output=st.integers(0, 128_000),
)
def test_the_worst_case_covers_every_split_the_api_may_report(
    *,
    model: str,
    ttl: str | None,
    geo: str | None,
    prompt: int,
    written: int,
    read: int,
    max_output: int,
    output: int,
) -> None:
    """The API reports a prompt of ``prompt`` tokens as input, cache writes (at the TTL asked
    for) and cache reads in any split, and at most ``max_output`` output tokens."""
    params: dict[str, Any] = marked(ttl) if ttl is not None else {"messages": []}
    if ttl is None and written:
        params = marked(None)  # a cache write needs a mark
    if geo is not None:
        params["inference_geo"] = geo
    written, read = min(written, prompt), min(read, prompt - min(written, prompt))
    output = min(output, max_output)
    usage = Usage(
        input_tokens=prompt - written - read,
        cache_creation_input_tokens=written,
        cache_creation_1h=written if ttl == "1h" else 0,
        cache_creation_5m=0 if ttl == "1h" else written,
        cache_read_input_tokens=read,
        output_tokens=output,
        inference_geo=geo,  # the API reports where the call ran; "us" bills 1.1x
    )
    real = CATALOG.cost(model, usage)
    worst = worst_case_cost(CATALOG, model, params, input_tokens=prompt, output_tokens=max_output)
    assert worst >= real
