"""Bodies nested deeper than the documented bound (``MAX_NESTING`` levels of objects and arrays)
are a 400 naming the bound and the path, on every route that walks a body, never a 500 from a
``RecursionError``: deep ``metadata``, a tool ``input_schema`` nested through ``properties``."""

from __future__ import annotations

import httpx
import pytest

from claude_arch.core.validation.schema import MAX_NESTING
from claude_arch.service.testing import ServiceServer


def deep_metadata(levels: int) -> str:
    """``metadata``'s JSON, ``levels`` objects deep (written as text: the standard library's
    encoder itself runs out of stack on a thousand levels)."""
    return '{"x":' * levels + '{"user_id":"u"}' + "}" * levels


def deep_schema(levels: int) -> str:
    """A tool ``input_schema`` nested through ``properties``: two levels a step."""
    return '{"type":"object","properties":{"next":' * levels + '{"type":"string"}' + "}}" * levels


def tools(schema: str) -> str:
    return '[{"name":"t","input_schema":' + schema + "}]"


CASES = {  # (field, its JSON) for /v1/messages; count_tokens takes no metadata: tools there
    "metadata_1000": ("metadata", deep_metadata(1000)),
    "schema_500": ("tools", tools(deep_schema(500))),
    "just_over": ("metadata", deep_metadata(MAX_NESTING)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("route", ["json", "stream", "count_tokens"])
async def test_too_deep_is_a_400_naming_the_bound(
    service: ServiceServer, hits: list[str], case: str, route: str
) -> None:
    key = await service.create_key("deep")
    field, deep = CASES[case]
    path = "/v1/messages/count_tokens" if route == "count_tokens" else "/v1/messages"
    extra = ""
    if route == "count_tokens":
        field = "tools"
        deep = tools(deep_schema(500)) if case == "metadata_1000" else deep
        if case == "just_over":
            deep = tools(deep_schema(MAX_NESTING // 2))
    else:
        extra = ',"max_tokens":16' + (',"stream":true' if route == "stream" else "")
    body = (
        '{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hello"}]'
        f'{extra},"{field}":{deep}}}'
    )
    headers = {
        "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json"
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=service.url, headers=headers) as http:
        answer = await http.post(path, content=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert f"more than {MAX_NESTING} levels deep" in error["message"]
    assert hits == []  # refused before anything went upstream


async def test_nesting_up_to_the_bound_is_served(service: ServiceServer) -> None:
    key = await service.create_key("deep-enough")
    body = (  # the body and user_id's object are two of the levels
        '{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hi"}],'
        f'"metadata":{deep_metadata(MAX_NESTING - 2)}}}'
    )
    headers = {
        "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json"
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=service.url, headers=headers) as http:
        answer = await http.post("/v1/messages", content=body)
    assert answer.status_code != 500, answer.text
    assert "levels deep" not in answer.text
