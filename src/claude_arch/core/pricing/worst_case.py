"""What a call may cost at most, before it is sent: what a budget must hold for it.

Every price factor the request asks for counts: the prompt-size tier its input reaches, cache
writes (every input token may be written, at the dearest TTL its ``cache_control`` marks ask
for: 1.25x the input price for 5 minutes, 2x for an hour), where the call runs (the catalog's
placement: a cloud platform's regional endpoint bills 1.1x) and, on the Claude API,
``inference_geo`` (``"us"``: 1.1x every token category). A call that may fall back to other
models costs at most the dearest of them.

    >>> from claude_arch.core.pricing.catalog import default_catalog
    >>> cat = default_catalog()
    >>> plain = {"messages": [{"role": "user", "content": "hi"}]}
    >>> str(worst_case_cost(cat, "claude-haiku-4-5", plain, input_tokens=1000, output_tokens=100))
    '0.001500'
    >>> cached = {"system": [{"type": "text", "text": "…",
    ...                       "cache_control": {"type": "ephemeral", "ttl": "1h"}}], **plain}
    >>> str(worst_case_cost(cat, "claude-haiku-4-5", cached, input_tokens=1000, output_tokens=100))
    '0.002500'
    >>> str(worst_case_cost(cat, "claude-haiku-4-5", {**cached, "inference_geo": "us"},
    ...                     input_tokens=1000, output_tokens=100))
    '0.002750'
    >>> from claude_arch.core.pricing.catalog import Placement
    >>> regional = cat.placed(Placement("anthropic", {"vertex": "regional"}))
    >>> str(worst_case_cost(regional, "claude-haiku-4-5", plain, input_tokens=1000,
    ...                     output_tokens=100, fallbacks=["vertex:claude-haiku-4-5"]))
    '0.001650'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from claude_arch.core.types import Usage

if TYPE_CHECKING:
    from claude_arch.core.pricing.catalog import Catalog

__all__ = ["cache_ttls", "worst_case_cost"]

_MAX_NODES = 1_000_000
"""A walk's bound: a body is already bounded in size and depth before it gets here."""


def cache_ttls(params: Mapping[str, Any]) -> set[str]:
    """The cache TTLs (``"5m"``, ``"1h"``) the request's ``cache_control`` marks ask for, at the top
    level, on tools, system and message blocks (a mark without ``ttl`` is 5 minutes). Walks the
    body iteratively: no depth of nesting can exhaust the stack."""
    ttls: set[str] = set()
    stack: list[Any] = [params]
    seen = 0
    while stack and seen < _MAX_NODES:
        node = stack.pop()
        seen += 1
        if isinstance(node, Mapping):
            control = node.get("cache_control")
            if isinstance(control, Mapping):
                ttls.add("1h" if control.get("ttl") == "1h" else "5m")
            stack.extend(v for v in node.values() if isinstance(v, Mapping | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, Mapping | list))
    return ttls


def worst_case_cost(
    catalog: Catalog,
    model: str,
    params: Mapping[str, Any],
    *,
    input_tokens: int,
    output_tokens: int,
    batch: bool = False,
    fallbacks: Iterable[str] = (),
) -> Decimal:
    """USD the call may cost at most: ``input_tokens`` (all written to the cache, at the dearest
    TTL asked for, when the request marks any) and ``output_tokens``, priced where the call runs
    (``catalog``'s placement) times the request's ``inference_geo`` factor; ``batch``: at the
    Message Batches discount. With ``fallbacks`` (the models the call may fall back to, a
    ``bedrock:…`` one among them), the dearest of the model and them."""
    ttls = cache_ttls(params)
    if not ttls:
        usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    elif "1h" in ttls:
        usage = Usage(
            cache_creation_input_tokens=input_tokens,
            cache_creation_1h=input_tokens,
            output_tokens=output_tokens,
        )
    else:
        usage = Usage(
            cache_creation_input_tokens=input_tokens,
            cache_creation_5m=input_tokens,
            output_tokens=output_tokens,
        )
    geo = params.get("inference_geo")
    usage.inference_geo = geo if isinstance(geo, str) else None  # priced as the usage will be
    return max(catalog.cost(name, usage, batch=batch) for name in (model, *fallbacks))
